// qrtn-quality.js: the quality reports a session sends its node
// (signaling/PROTOCOL.md, "Quality reports"). qrtn.js starts one reporter
// per joined session; it is not an API of its own.
//
// Every 250 ms it samples the progress of every received track from
// getStats() (video: frames decoded; audio: samples played and concealed),
// and every 5 s it sends one `quality` message: per received track the
// cumulative counters and the series since the last report, per published
// track the encoder's quality limitation, and once the join's timings.
// The node finds the stalls in the series (600 ms of video, 200 ms of
// audio not rendered) and attributes them.

const SAMPLE_MS = 250;
const REPORT_MS = 5000;
const MAX_SAMPLES = 80; // the node refuses more per track and report
const AUDIO_RATE = 48; // WebRTC plays Opus at 48 kHz: samples per ms

/** Starts reporting for a joined session; returns {stop()}. */
export function startQuality(session) {
  const r = new Reporter(session);
  r.start();
  return r;
}

class Reporter {
  constructor(s) {
    this.s = s;
    this.seq = 0;
    this.tracks = new Map(); // "participant/track" → {kind, age, v, c, last}
    this.timings = {};
    this.joinSent = false;
    this.busy = false;
  }

  start() {
    const s = this.s;
    this.t0 = joinStart(s._t0 ?? performance.now());
    const token = tokenEntry(s._t0);
    if (token) this.timings.token_ms = token.responseEnd - this.t0;
    if (s._wsOpenAt) this.timings.ws_ms = s._wsOpenAt - this.t0;
    this.sampler = setInterval(() => this.sample(), SAMPLE_MS);
    this.reporter = setInterval(() => this.report().catch(() => {}), REPORT_MS);
  }

  stop() {
    clearInterval(this.sampler);
    clearInterval(this.reporter);
  }

  // sample records one progress point of every received track.
  async sample() {
    const pc = this.s._sub;
    if (this.busy || !pc || pc.signalingState === 'closed') return;
    this.busy = true;
    try {
      const now = performance.now();
      this.phases(now);
      const stats = await pc.getStats();
      for (const [key, st] of this.inbound(stats)) {
        let t = this.tracks.get(key);
        if (!t) {
          t = { kind: st.kind, participant: st.participant, track: st.track, at: [], v: [], c: [], last: null, prev: null };
          this.tracks.set(key, t);
        }
        t.last = st.s;
        if (st.kind === 'video' && (st.s.framesDecoded ?? 0) > 0 && !this.timings.first_frame_ms) {
          this.timings.first_frame_ms = now - this.t0;
        }
        if (t.at.length >= MAX_SAMPLES) continue;
        const expected = !st.muted && st.layer !== 'paused' && document.visibilityState !== 'hidden';
        t.at.push(now);
        if (st.kind === 'video') {
          t.v.push(expected ? st.s.framesDecoded ?? 0 : -1);
        } else {
          t.v.push(expected ? (st.s.totalSamplesReceived ?? 0) / AUDIO_RATE : -1);
          t.c.push((st.s.concealedSamples ?? 0) / AUDIO_RATE);
        }
      }
    } finally {
      this.busy = false;
    }
  }

  // phases notes when ICE and DTLS first came up, on either connection.
  phases(now) {
    for (const pc of [this.s._sub, this.s._pub]) {
      if (!pc) continue;
      if (!this.timings.ice_ms && ['connected', 'completed'].includes(pc.iceConnectionState)) this.timings.ice_ms = now - this.t0;
      if (!this.timings.dtls_ms && pc.connectionState === 'connected') this.timings.dtls_ms = now - this.t0;
    }
  }

  // inbound maps the subscriber's inbound-rtp stats to received tracks.
  inbound(report) {
    const s = this.s;
    const byTrackId = new Map();
    for (const tr of s._sub.getTransceivers()) if (tr.mid) byTrackId.set(tr.receiver.track.id, tr.mid);
    const best = new Map();
    report.forEach((x) => {
      if (x.type !== 'inbound-rtp') return;
      const mid = x.mid ?? byTrackId.get(x.trackIdentifier);
      const info = mid && s._mids.get(mid);
      if (!info || !info.active) return;
      const key = `${info.participant}/${info.track}`;
      const prev = best.get(key);
      if (!prev || (x.lastPacketReceivedTimestamp ?? 0) >= (prev.s.lastPacketReceivedTimestamp ?? 0)) {
        best.set(key, {
          kind: info.kind, participant: info.participant, track: info.track, s: x,
          muted: !!s.participants.get(info.participant)?.tracks.get(info.track)?.muted,
          layer: s.layer(info.participant, info.track),
        });
      }
    });
    return best;
  }

  async report() {
    const s = this.s;
    if (!s.joined) return;
    const now = performance.now();
    const rep = { seq: ++this.seq, recv: [], send: [] };
    if (s._sub && s._sub.signalingState !== 'closed') {
      const rtt = rttOf(await s._sub.getStats());
      if (rtt !== null) rep.rtt_ms = rtt;
    }
    for (const [key, t] of this.tracks) {
      const x = t.last;
      if (!x) continue;
      const p = t.prev || {};
      const emitted = (x.jitterBufferEmittedCount ?? 0) - (p.jitterBufferEmittedCount ?? 0);
      const jb = emitted > 0 ? (1000 * ((x.jitterBufferDelay ?? 0) - (p.jitterBufferDelay ?? 0))) / emitted : 0;
      const r = {
        participant: t.participant, track: t.track, kind: t.kind,
        frames_decoded: x.framesDecoded ?? 0, freeze_count: x.freezeCount ?? 0,
        freeze_ms: 1000 * (x.totalFreezesDuration ?? 0), jitter_buffer_ms: Math.max(jb, 0),
        packets_lost: Math.max(x.packetsLost ?? 0, 0), packets_received: x.packetsReceived ?? 0,
        concealed_ms: (x.concealedSamples ?? 0) / AUDIO_RATE, layer: s.layer(t.participant, t.track) ?? '',
        width: x.frameWidth ?? 0, height: x.frameHeight ?? 0,
        series: { age_ms: t.at.map((a) => Math.max(0, Math.round(now - a))), v: t.v },
      };
      if (t.kind === 'audio') r.series.c = t.c;
      rep.recv.push(r);
      t.prev = x;
      t.at = [];
      t.v = [];
      t.c = [];
      if (!this.live(key)) this.tracks.delete(key);
    }
    if (s._pub && s._pub.signalingState !== 'closed') rep.send = sendTracks(await s._pub.getStats());
    if (!this.joinSent && (this.timings.first_frame_ms || this.timings.dtls_ms)) {
      rep.join = { token_ms: 0, ws_ms: 0, ice_ms: 0, dtls_ms: 0, first_frame_ms: 0 };
      for (const [k, v] of Object.entries(this.timings)) rep.join[k] = Math.max(0, Math.round(v));
      // Without video to receive, the media connection ends the join.
      this.joinSent = !!this.timings.first_frame_ms || now - this.t0 > 15000;
    }
    s._send({ type: 'quality', report: rep });
  }

  // live: the track is still announced (else it ended and is forgotten).
  live(key) {
    for (const a of this.s._announced.values()) if (a.key === key) return true;
    return false;
  }
}

// joinStart is when the join began: the token request just before the
// session, when there was one, else the session itself.
function joinStart(t0) {
  const e = tokenEntry(t0);
  return e ? Math.min(e.startTime, t0) : t0;
}

function tokenEntry(t0) {
  if (typeof performance.getEntriesByType !== 'function') return null;
  const list = performance.getEntriesByType('resource').filter((e) =>
    /\/api\/(token|join)/.test(e.name) && e.startTime <= t0 + 1 && t0 - e.startTime < 30000);
  return list.length ? list[list.length - 1] : null;
}

function rttOf(report) {
  let pairId = null;
  report.forEach((x) => {
    if (x.type === 'transport' && x.selectedCandidatePairId) pairId = x.selectedCandidatePairId;
  });
  const pair = pairId && report.get(pairId);
  return pair && pair.currentRoundTripTime !== undefined ? Math.round(pair.currentRoundTripTime * 1000) : null;
}

// sendTracks sums the publisher's outbound streams per kind: the encoder's
// limitation and frame rate of its largest active layer, the bytes sent,
// and the loss and RTT the node reported back.
function sendTracks(report) {
  const out = new Map();
  report.forEach((x) => {
    if (x.type !== 'outbound-rtp') return;
    const t = out.get(x.kind) || { track: x.kind, kind: x.kind, limitation: 'none', fps: 0, bytes_sent: 0, fraction_lost: 0, rtt_ms: 0, width: -1 };
    t.bytes_sent += x.bytesSent ?? 0;
    if (x.kind === 'video' && (x.active ?? true) && (x.frameWidth ?? 0) > t.width) {
      t.width = x.frameWidth ?? 0;
      t.fps = x.framesPerSecond ?? 0;
      t.limitation = x.qualityLimitationReason ?? 'none';
    }
    const remote = x.remoteId && report.get(x.remoteId);
    if (remote) {
      t.fraction_lost = Math.max(t.fraction_lost, Math.min(1, Math.max(0, remote.fractionLost ?? 0)));
      t.rtt_ms = Math.max(t.rtt_ms, 1000 * (remote.roundTripTime ?? 0));
    }
    out.set(x.kind, t);
  });
  return [...out.values()].map(({ width, ...t }) => t);
}
