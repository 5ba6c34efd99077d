// qrtn-frames.js: the video gap a person sees. Created by every Session
// (qrtn.js); not an API of its own. It knows nothing of how a session
// recovers: qrtn-reconnect.js asks it for the gap across each recovery.
//
// Two sources, the finer first:
//  - rendered frames: every <video> element of the document that shows a
//    remote participant's video track (whoever created it: the demo page's
//    tiles, or an application's) is watched with requestVideoFrameCallback.
//    Only elements a person can see count (in the page, not hidden, not
//    transparent). Each callback gives when its latest frame was presented; when the
//    page's main thread was too busy to run a callback per frame
//    (presentedFrames grew by more than one), the frames in between are
//    taken as evenly spaced. A participant shown in several elements
//    counts by the one that showed the most recent frame.
//  - decoded frames, the fallback when no element shows a participant (or
//    the browser has no requestVideoFrameCallback): while a recovery runs,
//    getStats every 50 ms, a frame whenever framesDecoded of any of the
//    participant's video tracks (on the current subscriber connection or
//    on one a move is leaving) grew.
//
// report() is the stats() field `frames`: {shown: {participant: frames
// rendered}, gaps: [{participant, name, ms, at, source}]}, the last
// MAX_GAPS intervals of LONG ms or more between two rendered frames of a
// participant (at: epoch ms of the frame that ended it). fill(rec, from)
// adds to a recovery record, FILL_AFTER after it ended, frame_gap_ms (the
// longest interval between two frames of any remote participant's video
// that overlaps the recovery, null when none showed video), frame_gaps
// ({name: ms}) and frame_source ('render', 'decode' or 'mixed').

import { progress } from './qrtn-handover.js';

const RING = 512; // frame times kept per participant and source (34 s at 15 fps)
const LONG = 100; // ms: an interval reported in frames.gaps
const MAX_GAPS = 200;
const DECODE_EVERY = 50; // ms between getStats looks while a recovery runs
const SCAN_EVERY = 500; // ms between looks for new <video> elements
const RENDERING = 2000; // ms: a participant with a frame rendered this recently is being shown
const FILL_AFTER = 1000; // ms after a recovery ended that its frame gap is taken

// Ring holds the last RING frame times (epoch ms) of one participant.
class Ring {
  constructor() {
    this.t = new Float64Array(RING);
    this.n = 0;
  }

  push(t) {
    this.t[this.n % RING] = t;
    this.n++;
  }

  last() {
    return this.n ? this.t[(this.n - 1) % RING] : 0;
  }

  // longest is the longest interval between two frames that overlaps
  // [from, to], counting the one still open at `to`; 0 when none is kept.
  longest(from, to, open) {
    let best = 0;
    const first = Math.max(0, this.n - RING);
    for (let i = first + 1; i < this.n; i++) {
      const a = this.t[(i - 1) % RING];
      const b = this.t[i % RING];
      if (b > from && a < to) best = Math.max(best, b - a);
    }
    const last = this.last();
    if (open && this.n && last < to) best = Math.max(best, to - last);
    return best;
  }
}

export class FrameClock {
  constructor(session) {
    this.s = session;
    this.owner = new Map(); // MediaStreamTrack id → participant id
    this.watched = new WeakSet(); // <video> elements with a callback running
    this.render = new Map(); // participant → Ring of rendered frames
    this.decode = new Map(); // participant → Ring of decoded frames (during recoveries)
    this.decoded = new WeakMap(); // subscriber connection → participant → framesDecoded last seen
    this.shown = {}; // participant → frames rendered
    this.gaps = [];
    this.episodes = 0; // recoveries running or waiting for their fill
    this.decodeTimer = null;
    this.stopped = false;
    this.canRender = typeof document !== 'undefined' && typeof HTMLVideoElement !== 'undefined' && 'requestVideoFrameCallback' in HTMLVideoElement.prototype;
    session.on('track', ({ participant, kind, track }) => {
      if (kind !== 'video' || !track) return;
      this.owner.set(track.id, participant);
      if (this.owner.size > 1000) this.owner.delete(this.owner.keys().next().value);
      setTimeout(() => this.scan(), 0);
    });
    this.scanner = this.canRender ? setInterval(() => this.scan(), SCAN_EVERY) : null;
  }

  stop() {
    this.stopped = true;
    clearInterval(this.scanner);
    clearInterval(this.decodeTimer);
  }

  report() {
    return { shown: { ...this.shown }, gaps: this.gaps.map((g) => ({ ...g })) };
  }

  // scan starts watching every <video> that shows a remote video track.
  scan() {
    if (this.stopped || !this.canRender) return;
    for (const el of document.querySelectorAll('video')) {
      if (this.watched.has(el) || !this.participantOf(el)) continue;
      this.watched.add(el);
      this.watch(el);
    }
  }

  participantOf(el) {
    const stream = el.srcObject;
    if (!stream || typeof stream.getVideoTracks !== 'function') return null;
    for (const t of stream.getVideoTracks()) {
      const p = this.owner.get(t.id);
      if (p) return p;
    }
    return null;
  }

  watch(el) {
    let prev = null; // {t, n} of the last callback
    const onFrame = (_now, meta) => {
      if (this.stopped) return;
      // A frame counts when a person can see it: the element is in the
      // page and neither it nor an ancestor is hidden or transparent.
      const seen = el.isConnected && (!el.checkVisibility || el.checkVisibility({ opacityProperty: true, visibilityProperty: true }));
      const p = seen ? this.participantOf(el) : null;
      const t = performance.timeOrigin + meta.presentationTime;
      if (p && prev && prev.p === p && meta.presentedFrames > prev.n && t > prev.t) {
        const k = Math.min(meta.presentedFrames - prev.n, 30);
        for (let i = 1; i <= k; i++) this.rendered(p, prev.t + ((t - prev.t) * i) / k);
      } else if (p) {
        this.rendered(p, t);
      }
      prev = p ? { p, t, n: meta.presentedFrames } : null;
      el.requestVideoFrameCallback(onFrame);
    };
    el.requestVideoFrameCallback(onFrame);
  }

  // rendered records a frame of participant p shown at t (epoch ms).
  rendered(p, t) {
    let ring = this.render.get(p);
    if (!ring) this.render.set(p, (ring = new Ring()));
    if (t <= ring.last()) return; // another element showed a newer frame already
    const gap = ring.n ? t - ring.last() : 0;
    ring.push(t);
    this.shown[p] = (this.shown[p] ?? 0) + 1;
    if (gap >= LONG) {
      this.gaps.push({ participant: p, name: this.s.participants.get(p)?.name ?? p, ms: Math.round(gap), at: Math.round(t), source: 'render' });
      if (this.gaps.length > MAX_GAPS) this.gaps.shift();
    }
  }

  // episodeStart: a recovery began; the decoded-frames fallback runs until
  // its fill is done.
  episodeStart() {
    this.episodes++;
    if (this.decodeTimer || this.stopped) return;
    this.decodeTimer = setInterval(() => this.lookDecoded(), DECODE_EVERY);
    this.lookDecoded();
  }

  async lookDecoded() {
    if (this.looking) return;
    this.looking = true;
    const s = this.s;
    const conns = [[s._sub, s._mids], ...(s._recovery?.leaving ? [s._recovery.leaving] : [])];
    const now = Date.now();
    const grew = new Set();
    for (const [pc, mids] of conns) {
      if (!pc) continue;
      const seen = this.decoded.get(pc) ?? new Map();
      this.decoded.set(pc, seen);
      for (const [p, n] of await decodedOf(pc, mids)) {
        if (n > (seen.get(p) ?? Infinity)) grew.add(p);
        seen.set(p, n);
      }
    }
    for (const p of grew) {
      let ring = this.decode.get(p);
      if (!ring) this.decode.set(p, (ring = new Ring()));
      ring.push(now);
    }
    this.looking = false;
  }

  // fill adds the frame gap across a recovery that began at `from` to its
  // record rec, FILL_AFTER from now.
  fill(rec, from) {
    setTimeout(() => {
      const to = Date.now();
      const by = {};
      const sources = new Set();
      let worst = null;
      for (const [p, info] of this.s.participants) {
        if (p === this.s.self?.id || !sendsVideo(info)) continue;
        const r = this.render.get(p);
        // Rendered frames count when the participant was being shown as
        // the recovery began or since (a freeze then shows as one gap).
        const rendered = r && r.n >= 2 && r.last() > from - RENDERING;
        const ring = rendered ? r : this.decode.get(p);
        if (!ring || ring.n < 2) continue;
        const ms = Math.round(ring.longest(from, to, true));
        by[info.name ?? p] = ms;
        sources.add(rendered ? 'render' : 'decode');
        worst = Math.max(worst ?? 0, ms);
      }
      rec.frame_gap_ms = worst;
      rec.frame_gaps = by;
      rec.frame_source = sources.size === 0 ? null : sources.size > 1 ? 'mixed' : [...sources][0];
      if (--this.episodes <= 0) {
        this.episodes = 0;
        clearInterval(this.decodeTimer);
        this.decodeTimer = null;
        this.decoded = new WeakMap();
      }
    }, FILL_AFTER);
  }
}

// sendsVideo: the participant publishes unmuted video.
function sendsVideo(info) {
  return [...(info.tracks?.values() ?? [])].some((t) => t.kind === 'video' && !t.muted);
}

// decodedOf maps participant → frames decoded of its video on pc.
async function decodedOf(pc, mids) {
  const out = new Map();
  for (const [key, n] of await progress(pc, mids)) {
    if (key.endsWith('/video')) out.set(key.slice(0, -'/video'.length), n);
  }
  return out;
}
