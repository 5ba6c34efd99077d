// qrtn-handover.js: when a move (qrtn-move.js) may let go of the old
// connections. Imported by qrtn-move.js; not an API of its own.
//
// A move is make before break, and "the new connection looks connected" is
// not enough: a subscriber connection still waiting for the node's offer
// counts as connected, and a connected one still needs a key frame before
// its video shows. So the old connections go only when nothing is lost:
//  - the old subscriber connection, once the new one has decoded a video
//    frame (received audio) of every remote participant and kind the old
//    one was still delivering; until then the page keeps showing the old
//    tracks (the new ones join the same tiles, and the old ones are only
//    removed now);
//  - the old publisher connection, PUB_OVERLAP after the new one is
//    connected (the subscribers that move with us, a drained node's, show
//    the new tracks by then), or once it lost its path. Holding it until
//    the old node let go of the session (3 s) was measured with the
//    loadtest clients and made gaps more frequent, not less.
// The old node keeps feeding the old subscriber connection while it sends
// feedback (trunk/move.go). The subscriber's wait is bounded, so a move
// never hangs on a participant that left. The loadtest clients do the same
// (loadtest/handover.go).

const SUB_WAIT = 3000; // ms: the longest the old subscriber connection is kept
const PUB_OVERLAP = 1000; // ms the old publisher connection keeps sending
const LOOK_EVERY = 100; // ms between looks at getStats

// handOver resolves when old ({pub, sub, mids}) may be closed, the session
// s having moved to its new connections (s._sub, s._mids).
export async function handOver(s, old) {
  const start = Date.now();
  const prev = await progress(old.sub, old.mids); // what the old one delivered so far
  for (;;) {
    await sleep(LOOK_EVERY);
    const elapsed = Date.now() - start;
    const subDone = elapsed >= SUB_WAIT || (await subscriberDone(s, old, prev));
    const pubDone = elapsed >= PUB_OVERLAP || !old.pub || old.pub.connectionState !== 'connected';
    if ((subDone && pubDone) || s._closed) return;
  }
}

// subscriberDone: every participant/kind whose media still arrives on the
// old subscriber connection (since the last look) has shown a decoded frame
// on the new one. prev is updated to this look's counts.
async function subscriberDone(s, old, prev) {
  const now = await progress(old.sub, old.mids);
  const carried = new Set();
  for (const [key, n] of now) if (n > (prev.get(key) ?? 0)) carried.add(key);
  prev.clear();
  for (const [key, n] of now) prev.set(key, n);
  if (carried.size === 0) return true;
  const got = await progress(s._sub, s._mids);
  for (const key of carried) if (!(got.get(key) > 0)) return false;
  return true;
}

// progress maps "participant/kind" to what pc has rendered of it: frames
// decoded for video, packets received for audio (summed over the tracks).
export async function progress(pc, mids) {
  const out = new Map();
  if (!pc || pc.connectionState === 'closed' || !mids) return out;
  let report;
  try {
    report = await pc.getStats();
  } catch {
    return out;
  }
  const byTrackId = new Map();
  for (const tr of pc.getTransceivers()) if (tr.mid) byTrackId.set(tr.receiver.track.id, tr.mid);
  report.forEach((st) => {
    if (st.type !== 'inbound-rtp') return;
    const mid = st.mid ?? byTrackId.get(st.trackIdentifier);
    const info = mid && mids.get(mid);
    if (!info || !info.active) return;
    const key = `${info.participant}/${info.kind}`;
    const n = info.kind === 'video' ? st.framesDecoded ?? 0 : st.packetsReceived ?? 0;
    out.set(key, (out.get(key) ?? 0) + n);
  });
  return out;
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
