// qrtn-move.js: the parts of qrtn-reconnect.js that move a session to
// another node and read getStats for it. Imported by qrtn-reconnect.js;
// not an API of its own.

import { handOver } from './qrtn-handover.js';

// switchNode joins url as the same identity and carries the session over:
// new websocket and peer connections, the same tracks republished,
// preferences and mutes restored, then the old connections closed once the
// new ones carry what they did (qrtn-handover.js: their tracks end after
// the new ones showed a frame). The old websocket is closed without a
// leave (the room must see a move), and only with the old connections: the
// old node keeps the session while it is open (trunk/move.go).
export async function switchNode(s, url, given) {
  const rec = s._recovery;
  const old = { pub: s._pub, sub: s._sub, announced: s._announced, mids: s._mids, ws: s._ws };
  s._keepPrevSocket = true;
  if (old.sub) rec.leaving = [old.sub, old.mids];
  let accepted = false;
  try {
    const token = given || (typeof s.opts.getToken === 'function' ? await s.opts.getToken(url) : s._token) || s._token;
    if (s._pubReject) s._pubReject(Object.assign(new Error('qrtn: moved to another node'), { code: 'moved' }));
    let joinedSub = null;
    await s._connect(url, s._joinMessage(token), (msg) => {
      accepted = true;
      s._lastErrorCode = null; // a `replaced` from the node being left was ours
      s.url = url;
      s._token = token;
      s._sub = null;
      s._pub = null;
      s._announced = new Map();
      s._mids = new Map();
      s._pubQueue = Promise.resolve();
      s._subQueue = Promise.resolve();
      s._pubAnswer = null;
      s._pubReject = null;
      s._onJoined(msg);
      joinedSub = s._sub;
    });
    if (s._published.length && s.self.publish) {
      s._pub = s._newPC('publisher');
      for (const p of s._published) s._addSender(p);
      await s._negotiatePublisher();
    }
    for (const m of s._prefs.values()) s._send(m);
    for (const [kind, muted] of s._mutes) s._send({ type: 'mute', kind, muted });
    await waitConnected([s._pub, joinedSub], 5000);
    // Keep the old connections until the new ones carry what they did
    // (qrtn-handover.js), when there is an old one to overlap with.
    const live = (pc) => pc && pc.connectionState === 'connected';
    if (live(old.sub) || live(old.pub)) await handOver(s, old);
  } catch (e) {
    rec.leaving = null;
    s._keepPrevSocket = false;
    if (accepted) closeOld(s, old);
    throw e;
  }
  rec.leaving = null;
  s._keepPrevSocket = false;
  closeOld(s, old);
}

// closeOld ends what a move left behind: the old tracks, then connections.
function closeOld(s, old) {
  // With the old receiver's track, so that a page can take it out of what
  // it shows (it has ended or is about to).
  const receivers = new Map((old.sub?.getTransceivers() ?? []).filter((tr) => tr.mid).map((tr) => [tr.mid, tr.receiver.track]));
  for (const [mid, prev] of old.announced) {
    s._emit('trackended', { participant: prev.participant, trackId: prev.track, kind: prev.kind, source: s.source(prev.participant, prev.track), track: receivers.get(mid) ?? null });
  }
  if (old.pub) old.pub.close();
  if (old.sub) old.sub.close();
  if (old.ws && old.ws !== s._ws && old.ws.readyState <= WebSocket.OPEN) old.ws.close(1000, 'moved');
}

// pathPackets is the selected candidate pair and the packets received on it
// (media and RTCP, STUN requests and responses); null when none is selected.
export function pathPackets(report) {
  let pairId = null;
  report.forEach((st) => {
    if (st.type === 'transport' && st.selectedCandidatePairId) pairId = st.selectedCandidatePairId;
  });
  const pair = pairId && report.get(pairId);
  if (!pair) return null;
  return { id: pair.id, count: (pair.packetsReceived ?? 0) + (pair.requestsReceived ?? 0) + (pair.responsesReceived ?? 0) };
}

function waitConnected(pcs, timeout) {
  const list = pcs.filter(Boolean);
  return new Promise((resolve) => {
    const check = () => list.every((pc) => pc.connectionState === 'connected' || pc.connectionState === 'closed');
    if (check()) return resolve();
    const t = setTimeout(done, timeout);
    function done() {
      clearTimeout(t);
      for (const pc of list) pc.removeEventListener('connectionstatechange', on);
      resolve();
    }
    function on() {
      if (check()) done();
    }
    for (const pc of list) pc.addEventListener('connectionstatechange', on);
  });
}

// lastPackets raises lastSeen (participant → epoch ms) to the arrival of
// each participant's freshest packet on pc: video for participants that
// publish unmuted video, else audio.
export async function lastPackets(s, pc, mids, lastSeen) {
  if (!pc || pc.signalingState === 'closed') return;
  const report = await pc.getStats();
  const byTrackId = new Map();
  for (const tr of pc.getTransceivers()) if (tr.mid) byTrackId.set(tr.receiver.track.id, tr.mid);
  report.forEach((st) => {
    if (st.type !== 'inbound-rtp' || !st.lastPacketReceivedTimestamp) return;
    const mid = st.mid ?? byTrackId.get(st.trackIdentifier);
    const info = mid && mids.get(mid);
    if (!info || !info.active || info.kind !== mainKind(s, info.participant)) return;
    lastSeen.set(info.participant, Math.max(lastSeen.get(info.participant) ?? 0, st.lastPacketReceivedTimestamp));
  });
}

// mainKind is the kind whose arrival tells a participant's media flows.
function mainKind(s, id) {
  const tracks = [...(s.participants.get(id)?.tracks.values() ?? [])].filter((t) => !t.muted);
  return tracks.some((t) => t.kind === 'video') ? 'video' : 'audio';
}

// expected: the participant is still here and sends something unmuted.
export function expected(s, id) {
  const p = s.participants.get(id);
  return !!p && [...p.tracks.values()].some((t) => !t.muted);
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

export function hostOf(url) {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
