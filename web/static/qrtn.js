// qrtn.js: the browser client of a qrtn access node.
//
// It speaks the websocket protocol of signaling/PROTOCOL.md and runs the two
// RTCPeerConnections that a participant has: a publisher (this side offers:
// simulcast VP8 with rids "s" and "l", Opus with audio/red first when the
// browser has it) and a subscriber (the node offers, this side answers).
// It has no dependencies and no build step: import it as an ES module.
//
//   import { join } from '/qrtn.js';
//   const session = await join(location.origin, token, { mode: 'meeting' });
//   session.addEventListener('track', (e) => attach(e.detail));
//   await session.publish(await navigator.mediaDevices.getUserMedia({ audio: true, video: true }));
//   session.prefer(otherId, 'large');   // main view
//   session.mute('audio', true);
//   console.log(await session.stats());
//   session.leave();
//
// Events (CustomEvent, the payload in event.detail):
//   participant_joined {participant}         participant_left {participant: id}
//   track_published {participant, track}     track_unpublished {participant, track: id}
//   track {participant, trackId, kind, track: MediaStreamTrack}   a remote track to render
//   trackended {participant, trackId, kind, track}                 it is gone
//   track_muted {participant, track, kind, muted}
//   layer {participant, track, layer}        the layer this client now receives
//   speaker {participants}                   active speakers, loudest first
//   connection_quality {participants: {id: grade}, paths: {id: {node, path, hops, latency_ms}}}
//                                            connection quality per participant, graded by the node,
//                                            and the route of each one's media to the node
//   connectionstate {target, state}          a peer connection's state changed
//   error {code, message}                    an error message from the node
//   data {from, to, topic, data, lossy}      a data message (join with {data: true})
//   data_error {code, message}               the node dropped a data message of ours
//   reconnecting {kind, step, attempt}       recovering: kind 'ice'|'resume'|'migrate' (qrtn-reconnect.js)
//   reconnected {kind, gap_ms, node}         recovered; gap_ms is the longest time without media
//   closed {reason}                          the session is over (leave, replaced, or recovery gave up)
//
// A session recovers by itself (qrtn-reconnect.js): ICE restarts, a resume
// when the websocket drops, a move to another access node when its node is
// gone or draining. session.state is 'connected', 'reconnecting' or 'closed';
// opts.recover === false turns recovery off.

import { outboundStats, selectedRTT } from './qrtn-stats.js';
import { selectedLocalCandidate } from './qrtn-candidates.js';
import { Recovery } from './qrtn-reconnect.js';
import { FrameClock } from './qrtn-frames.js';
import { startQuality } from './qrtn-quality.js';
import { joinFields, restrictReceive, addBackup, offerFields, subscribeMessage } from './qrtn-subscribe.js';

/** How long a participant the node moved to does not list yet may take to appear. */
const MOVE_SETTLE_MS = 5000;

/**
 * A screen share's simulcast layers: full resolution at up to 15 fps, and
 * half resolution at 5 fps. With contentHint 'detail' and degradation
 * preference 'maintain-resolution' the encoder gives up frame rate, not
 * sharpness, when it runs short of bits or CPU.
 */
export const SCREEN_LAYERS = {
  s: { scaleResolutionDownBy: 2, maxBitrate: 300_000, maxFramerate: 5 },
  l: { scaleResolutionDownBy: 1, maxBitrate: 2_500_000, maxFramerate: 15 },
};

/** The rids of the simulcast layers, smallest first, and their defaults. */
export const LAYERS = {
  s: { scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  m: { scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  l: { scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
};

/**
 * Joins a room and resolves to a Session once the node has accepted the join.
 * @param {string} url  the node's websocket URL (ws://host/ws) or its HTTP base URL (http://host/)
 * @param {string} token an access token (PROTOCOL.md, "Access tokens")
 * @param {object} [opts]
 * @param {'meeting'|'live'} [opts.mode] the room's mode if this join creates it
 * @param {MediaStream} [opts.stream] published right after the join, when the token grants publish
 * @param {string[]} [opts.layers] simulcast rids to send, default ['s','l']
 * @param {'vp8'|'h264'|'vp9'|'av1'} [opts.codec] the video codec to publish, default VP8
 * @param {RTCIceServer[]} [opts.iceServers] overrides the node's list
 * @param {'all'|'relay'} [opts.iceTransportPolicy] 'relay' sends media only through TURN
 * @param {{name: string, region: string}} [opts.node] the node url belongs to, for stats().node
 * @param {(url: string) => Promise<string>} [opts.getToken] a token for another node, when the session moves there
 * @param {() => Promise<{url: string, token: ?string}[]>} [opts.reschedule] ask the scheduler where to move (qrtn-join.js)
 * @param {boolean} [opts.recover] false: never reconnect (qrtn-reconnect.js)
 * @param {boolean} [opts.autoSubscribe] false: receive nothing until subscribe() (qrtn-subscribe.js)
 * @param {string[]} [opts.receiveCodecs] the video codecs to decode, default all the browser has
 * @param {boolean} [opts.declareCodecs] false: do not send them in the join (the node reads the answers)
 * @param {false|'vp8'} [opts.backup] a VP9, AV1 or H.264 camera or screen share is also sent in VP8 unless false
 * @param {boolean|'always'} [opts.svc] true: VP9 is sent as one SVC stream (L3T3_KEY);
 *   'always': AV1 too (layers read by the node from the dependency descriptor)
 */
export async function join(url, token, opts = {}) {
  const s = new Session(url, opts);
  await s._open(token);
  if (opts.stream && s.self && s.self.publish) await s.publish(opts.stream);
  return s;
}

/** A participant's session in one room. Make it with join(). */
export class Session extends EventTarget {
  constructor(url, opts) {
    super();
    this.url = wsURL(url);
    this.opts = opts;
    this._t0 = performance.now(); // the join's start, for quality reports
    /** {name, region} of the access node this session is on (opts.node; qrtn-join.js sets it) */
    this.node = opts.node ?? null;
    /** @type {boolean} true between the node's "joined" and the end of the session */
    this.joined = false;
    /** the local participant {id, name, publish, subscribe} */
    this.self = null;
    this.room = '';
    this.mode = '';
    /** remote participants by id: {id, name, publish, subscribe, tracks: Map(id → track)} */
    this.participants = new Map();
    /** active speakers, loudest first */
    this.speakers = [];
    this._ws = null;
    this._pub = null; // publisher RTCPeerConnection
    this._sub = null; // subscriber RTCPeerConnection
    this._pubQueue = Promise.resolve();
    this._subQueue = Promise.resolve();
    this._pubAnswer = null; // resolve function of the outstanding publisher offer
    this._pendingCandidates = { publisher: [], subscriber: [] };
    // Local candidates wait until their connection's first SDP went out.
    this._sdpSent = { publisher: false, subscriber: false };
    this._localCandidates = { publisher: [], subscriber: [] };
    this._mids = new Map(); // subscriber mid → {participant, track, kind, active}
    this._announced = new Map(); // mid → "participant/track" announced with a 'track' event
    this._layers = new Map(); // "participant/track" → layer
    this._published = []; // {kind, source, track: MediaStreamTrack, sender, stream}
    this._channels = {}; // data channels by label
    this._dataStats = { sent: 0, received: 0, errors: 0 };
    this._closed = false;
    /** 'connected' | 'reconnecting' | 'closed' */
    this.state = 'connected';
    this._token = '';
    this._prefs = new Map(); // participant (or participant/track) → prefer message, re-sent after a resume or a move
    this._mutes = new Map(); // kind → muted
    this._pendingLeaves = new Map(); // participant → timer: missing after a move, not yet gone
    this._frames = new FrameClock(this); // the video gaps shown (qrtn-frames.js)
    this._recovery = opts.recover === false ? null : new Recovery(this);
  }

  /** Adds a listener; returns a function that removes it. */
  on(type, fn) {
    const h = (e) => fn(e.detail);
    this.addEventListener(type, h);
    return () => this.removeEventListener(type, h);
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  _send(msg) {
    if (this._ws && this._ws.readyState === WebSocket.OPEN) this._ws.send(JSON.stringify(msg));
  }

  _open(token) {
    this._token = token;
    return this._connect(this.url, this._joinMessage(token), (msg) => this._onJoined(msg), true).then(
      () => this,
      (e) => {
        this._shutdown(e.message);
        throw e;
      },
    );
  }

  _urlFor(url) {
    return wsURL(url);
  }

  _joinMessage(token) {
    const m = { type: 'join', token };
    if (this.opts.mode) m.mode = this.opts.mode;
    if (this.opts.data) m.data = true;
    return Object.assign(m, joinFields(this.opts));
  }

  // _connect opens a websocket to url, sends first (join or resume) and
  // resolves once the node accepts it ('joined' or 'resumed'); accepted runs
  // synchronously on that message, before any later one is dispatched, and
  // the socket becomes the session's. It rejects with err.code: the node's
  // error code, or 'unreachable' when the socket failed or closed first.
  _connect(url, first, accepted, reportErrors = false) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      let settled = false;
      const fail = (err) => {
        if (settled) return;
        settled = true;
        reject(err);
        if (ws.readyState <= WebSocket.OPEN) ws.close();
      };
      ws.onopen = () => {
        this._wsOpenAt ??= performance.now(); // the first join's, for quality reports
        ws.send(JSON.stringify(first));
      };
      ws.onerror = () => fail(Object.assign(new Error(`qrtn: websocket ${url} failed`), { code: 'unreachable' }));
      ws.onclose = (e) => {
        if (!settled) fail(Object.assign(new Error(`qrtn: websocket closed before join (code ${e.code})`), { code: 'unreachable', closeCode: e.code }));
        else if (ws === this._ws) this._onSocketClose(e);
      };
      ws.onmessage = (e) => {
        let msg;
        try {
          msg = JSON.parse(e.data);
        } catch {
          return;
        }
        if (!settled) {
          if (msg.type === 'joined' || msg.type === 'resumed') {
            settled = true;
            const prev = this._ws;
            this._ws = ws;
            // A move (qrtn-move.js) closes the old one itself, when it lets go.
            if (prev && prev !== ws && !this._keepPrevSocket && prev.readyState <= WebSocket.OPEN) prev.close(1000, 'moved');
            accepted(msg);
            resolve(msg);
          } else if (msg.type === 'error') {
            if (reportErrors) this._dispatch(msg);
            fail(Object.assign(new Error(`qrtn: ${msg.code}: ${msg.message}`), { code: msg.code }));
          }
          return;
        }
        if (ws === this._ws) this._dispatch(msg);
      };
    });
  }

  // _onSocketClose: the session's websocket closed without a leave.
  _onSocketClose(e) {
    if (this._closed) return;
    if (this._recovery && this._recovery.onSocketClose(e, this._lastErrorCode)) return;
    this._shutdown(this._closeReason || `websocket closed (${e.code}${e.reason ? ` ${e.reason}` : ''})`);
  }

  _onJoined(msg) {
    this.joined = true;
    this.self = msg.participant;
    this.room = msg.room;
    this.mode = msg.mode;
    this.node = msg.node ?? this.node; // the node says who it is; qrtn-join.js may have said first
    this._iceServers = this.opts.iceServers || msg.iceServers || [];
    // After a move, the new node may not have mirrored everyone yet: the
    // missing get a few seconds to appear before they count as gone.
    this._reconcileParticipants(msg.participants || [], this._reconciled ? MOVE_SETTLE_MS : 0);
    if (this.self.subscribe !== false) {
      this._sub = this._newPC('subscriber');
      this._sub.ondatachannel = (e) => this._onDataChannel(e.channel);
    }
    this._quality ??= startQuality(this); // qrtn-quality.js: once per session, across resumes and moves
    this._recovery?.onAccepted(msg);
  }

  // _reconcileParticipants makes the room what the node says it is (a
  // join, or a resume or move that may have missed events), announcing the
  // differences as events; those missing leave after settleMs unless they
  // come back first.
  _reconcileParticipants(list, settleMs = 0) {
    const fresh = !this._reconciled; // the first join announces nothing: the app reads participants
    this._reconciled = true;
    const seen = new Set();
    for (const p of list) {
      seen.add(p.id);
      const old = this.participants.get(p.id);
      this._arrived(p.id);
      const rec = this._addParticipant(p);
      if (fresh) continue;
      if (!old) {
        this._emit('participant_joined', { participant: rec });
        for (const t of rec.tracks.values()) this._emit('track_published', { participant: p.id, track: t });
        continue;
      }
      for (const [id, t] of old.tracks) if (!rec.tracks.has(id)) this._emit('track_unpublished', { participant: p.id, track: id });
      for (const [id, t] of rec.tracks) if (!old.tracks.has(id)) this._emit('track_published', { participant: p.id, track: t });
    }
    for (const id of [...this.participants.keys()]) {
      if (seen.has(id)) continue;
      if (settleMs > 0) this._leaveLater(id, settleMs);
      else this._left(id);
    }
  }

  _leaveLater(id, ms) {
    if (this._pendingLeaves.has(id)) return;
    this._pendingLeaves.set(
      id,
      setTimeout(() => {
        this._pendingLeaves.delete(id);
        this._left(id);
      }, ms),
    );
  }

  // _arrived cancels a pending leave; true when there was one.
  _arrived(id) {
    const t = this._pendingLeaves.get(id);
    if (t === undefined) return false;
    clearTimeout(t);
    this._pendingLeaves.delete(id);
    return true;
  }

  _left(id) {
    this._arrived(id);
    if (!this.participants.delete(id)) return;
    this._emit('participant_left', { participant: id });
  }

  // _onDataChannel takes one of the node's two data channels (_reliable,
  // _lossy) and turns its messages into 'data' and 'data_error' events.
  _onDataChannel(ch) {
    this._channels[ch.label] = ch;
    ch.onmessage = (e) => {
      let m;
      try {
        m = JSON.parse(e.data);
      } catch {
        return;
      }
      if (m.error) {
        this._dataStats.errors++;
        this._emit('data_error', m.error);
        return;
      }
      this._dataStats.received++;
      this._emit('data', { from: m.from, to: m.to || [], topic: m.topic || '', data: m.data, lossy: ch.label === '_lossy' });
    };
  }

  /**
   * Sends a data message to the room, or to the participants named in
   * opts.to, on the reliable channel (ordered, retransmitted) or with
   * opts.lossy on the lossy one. data is a string (JSON-encode objects).
   * Needs join(..., {data: true}). Throws when the channel is not open or
   * the message is over the node's limit (15 KiB reliable, 1200 bytes lossy).
   * The node drops messages past its rate limit and answers with a
   * 'data_error' event {code: 'rate_limited', message}.
   */
  sendData(data, opts = {}) {
    const ch = this._channels[opts.lossy ? '_lossy' : '_reliable'];
    if (!ch || ch.readyState !== 'open') throw new Error('qrtn: the data channel is not open (join with {data: true})');
    const m = { data: String(data) };
    if (opts.to && opts.to.length) m.to = opts.to;
    if (opts.topic) m.topic = opts.topic;
    const text = JSON.stringify(m);
    const limit = opts.lossy ? 1200 : 15 * 1024;
    if (new TextEncoder().encode(text).length > limit) throw new Error(`qrtn: data message over ${limit} bytes`);
    ch.send(text);
    this._dataStats.sent++;
  }

  _addParticipant(p) {
    const rec = { id: p.id, name: p.name || p.id, publish: p.publish, subscribe: p.subscribe, tracks: new Map() };
    for (const t of p.tracks || []) rec.tracks.set(t.id, t);
    this.participants.set(p.id, rec);
    return rec;
  }

  _dispatch(msg) {
    switch (msg.type) {
      case 'participant_joined': {
        const back = this._arrived(msg.participant.id); // mirrored on the node we moved to: not news
        const rec = this._addParticipant(msg.participant);
        if (!back) this._emit('participant_joined', { participant: rec });
        break;
      }
      case 'participant_left':
        this._left(msg.participant);
        break;
      case 'track_published': {
        this._arrived(msg.participant);
        let p = this.participants.get(msg.participant);
        if (!p) p = this._addParticipant({ id: msg.participant });
        p.tracks.set(msg.track.id, msg.track);
        this._emit('track_published', { participant: msg.participant, track: msg.track });
        break;
      }
      case 'track_unpublished': {
        const p = this.participants.get(msg.participant);
        if (p) p.tracks.delete(msg.track);
        this._emit('track_unpublished', { participant: msg.participant, track: msg.track });
        break;
      }
      case 'track_muted': {
        const t = this.participants.get(msg.participant)?.tracks.get(msg.track);
        if (t) t.muted = msg.muted;
        this._emit('track_muted', { participant: msg.participant, track: msg.track, kind: msg.kind, muted: msg.muted });
        break;
      }
      case 'offer':
        if (msg.target === 'subscriber') this._subQueue = this._subQueue.then(() => this._onSubscriberOffer(msg.sdp)).catch((e) => this._localError(e));
        break;
      case 'answer':
        if (msg.target === 'publisher' && this._pubAnswer) this._pubAnswer(msg.sdp);
        break;
      case 'candidate':
        this._onRemoteCandidate(msg.target, msg.candidate);
        break;
      case 'layer':
        this._layers.set(`${msg.participant}/${msg.track}`, msg.layer);
        this._emit('layer', { participant: msg.participant, track: msg.track, layer: msg.layer });
        break;
      case 'publish_layers':
        this._setActiveLayers(msg.mid, msg.layers || []).catch((e) => this._localError(e));
        break;
      case 'connection_quality':
        this.quality = msg.participants || {};
        this.paths = msg.paths || {};
        this._emit('connection_quality', { participants: this.quality, paths: this.paths });
        break;
      case 'speaker':
        this.speakers = msg.participants || [];
        this._emit('speaker', { participants: this.speakers });
        break;
      case 'resume_token':
      case 'migrate':
        this._recovery?.onMessage(msg);
        break;
      case 'error':
        this._lastErrorCode = msg.code;
        // A refused publisher offer never gets an answer: fail the negotiation.
        if (msg.code === 'forbidden' && this._pubReject) this._pubReject(new Error(`qrtn: forbidden: ${msg.message}`));
        // unsupported_codec also names the track (participant, track, codecs, decodes).
        this._emit('error', { code: msg.code, message: msg.message, participant: msg.participant, track: msg.track });
        break;
      default:
        break; // newer nodes may send more; ignoring them keeps old clients working
    }
  }

  _localError(e) {
    console.error('qrtn:', e);
    this._emit('error', { code: 'client', message: String(e && e.message ? e.message : e) });
  }

  _newPC(target) {
    const pc = new RTCPeerConnection({ iceServers: this._iceServers, bundlePolicy: 'max-bundle', iceTransportPolicy: this.opts.iceTransportPolicy || 'all' });
    this._sdpSent[target] = false;
    this._localCandidates[target] = [];
    this._pendingCandidates[target] = [];
    const current = () => pc === (target === 'publisher' ? this._pub : this._sub);
    pc.onicecandidate = (e) => {
      if (!current()) return; // a connection left behind by a move
      const m = { type: 'candidate', target, candidate: e.candidate ? e.candidate.toJSON() : null };
      if (this._sdpSent[target]) this._send(m);
      else this._localCandidates[target].push(m);
    };
    pc.onconnectionstatechange = () => {
      if (!current()) return;
      this._emit('connectionstate', { target, state: pc.connectionState });
      this._recovery?.onConnectionState(target, pc);
    };
    return pc;
  }

  // _sendSDP sends an offer or answer, then the candidates gathered before it.
  _sendSDP(type, target, sdp, extra = {}) {
    this._send({ type, target, sdp, ...extra });
    this._sdpSent[target] = true;
    for (const m of this._localCandidates[target]) this._send(m);
    this._localCandidates[target] = [];
  }

  _onRemoteCandidate(target, cand) {
    const pc = target === 'publisher' ? this._pub : this._sub;
    if (!cand) return; // end-of-candidates: nothing to do for a browser
    if (!pc || !pc.remoteDescription) {
      this._pendingCandidates[target].push(cand);
      return;
    }
    pc.addIceCandidate(cand).catch((e) => this._localError(e));
  }

  async _flushCandidates(target, pc) {
    const list = this._pendingCandidates[target];
    this._pendingCandidates[target] = [];
    for (const c of list) await pc.addIceCandidate(c).catch((e) => this._localError(e));
  }

  async _onSubscriberOffer(sdp) {
    const pc = this._sub;
    if (!pc) return;
    this._mids = parseMediaSections(sdp);
    await pc.setRemoteDescription({ type: 'offer', sdp });
    await this._flushCandidates('subscriber', pc);
    restrictReceive(pc, this.opts);
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    this._sendSDP('answer', 'subscriber', pc.localDescription.sdp);
    this._announceTracks();
  }

  // _announceTracks compares the transceivers with what the last offer says
  // and emits 'track'/'trackended'. It does not rely on ontrack, which does not
  // fire when the node reuses an m-line for another participant's track.
  _announceTracks() {
    const seen = new Set();
    for (const tr of this._sub.getTransceivers()) {
      const info = tr.mid && this._mids.get(tr.mid);
      const key = info && info.active ? `${info.participant}/${info.track}` : '';
      const prev = this._announced.get(tr.mid);
      if (prev && prev.key !== key) {
        this._announced.delete(tr.mid);
        this._emit('trackended', { participant: prev.participant, trackId: prev.track, kind: prev.kind, source: this.source(prev.participant, prev.track), track: tr.receiver.track });
      }
      if (!key) continue;
      seen.add(tr.mid);
      if (!this._announced.has(tr.mid)) {
        this._announced.set(tr.mid, { key, ...info });
        this._emit('track', { participant: info.participant, trackId: info.track, kind: info.kind, source: this.source(info.participant, info.track), track: tr.receiver.track });
      }
    }
    for (const [mid, prev] of this._announced) {
      if (!seen.has(mid)) {
        this._announced.delete(mid);
        this._emit('trackended', { participant: prev.participant, trackId: prev.track, kind: prev.kind, track: null });
      }
    }
  }

  /**
   * Publishes the audio and video tracks of a stream: video as simulcast
   * VP8, audio as Opus with audio/red first when the browser supports it.
   * Resolves when the node has answered the offer.
   */
  async publish(stream) {
    if (!this.joined) throw new Error('qrtn: publish before join');
    if (!this.self.publish) throw new Error('qrtn: the token does not grant publish');
    if (!this._pub) this._pub = this._newPC('publisher');
    for (const track of stream.getTracks()) {
      const p = { kind: track.kind, source: track.kind === 'video' ? 'camera' : 'microphone', track, stream };
      this._addSender(p);
      this._published.push(p);
    }
    await this._negotiatePublisher().catch((e) => {
      if (e.code !== 'moved') throw e; // a move republished it on the new node
    });
  }

  // _addSender adds a published track to the publisher connection, with
  // its source's encodings (a camera: simulcast LAYERS, or one SVC stream
  // with opts.svc; a screen: SCREEN_LAYERS, resolution kept over frame
  // rate) and the chosen codec first; a move (qrtn-move.js) calls it again
  // on the new node.
  // p is a _published entry {kind, source, track, stream}; its sender and
  // transceiver are set.
  _addSender(p) {
    const init = { direction: 'sendonly', streams: [p.stream] };
    if (p.source === 'screen') init.sendEncodings = Object.entries(SCREEN_LAYERS).map(([rid, e]) => ({ rid, ...e }));
    else if (p.kind === 'video') init.sendEncodings = this._svc() ? [{ scalabilityMode: 'L3T3_KEY', maxBitrate: 1_700_000 }] : this._encodings();
    const tr = this._pub.addTransceiver(p.track, init);
    preferCodecs(tr, p.kind, this.opts.codec);
    p.sender = tr.sender;
    p.transceiver = tr;
    addBackup(this, p, init, preferCodecs);
    if (p.source !== 'screen') return Promise.resolve();
    const params = tr.sender.getParameters();
    params.degradationPreference = 'maintain-resolution';
    return tr.sender.setParameters(params).catch((e) => console.warn('qrtn: degradationPreference', e));
  }

  /**
   * Publishes a screen share (a video track from getDisplayMedia or a canvas
   * capture) as the participant's second video source, marked 'screen':
   * simulcast SCREEN_LAYERS, content hint 'detail', resolution kept over
   * frame rate. The node gives it the main view's priority. Resolves when
   * the node has answered; stopScreen() ends it.
   */
  async publishScreen(track) {
    if (!this.joined) throw new Error('qrtn: publish before join');
    if (!this.self.publish) throw new Error('qrtn: the token does not grant publish');
    if (this._published.some((p) => p.source === 'screen')) throw new Error('qrtn: a screen share is already published');
    if (!this._pub) this._pub = this._newPC('publisher');
    if ('contentHint' in track) track.contentHint = 'detail';
    const p = { kind: 'video', source: 'screen', track, stream: new MediaStream([track]) };
    await this._addSender(p);
    this._published.push(p);
    track.addEventListener('ended', () => this.stopScreen().catch((e) => this._localError(e)));
    await this._negotiatePublisher();
  }

  /** Ends the screen share, if any: the node unpublishes it for everyone. */
  async stopScreen() {
    const i = this._published.findIndex((p) => p.source === 'screen');
    if (i < 0 || !this._pub) return;
    const [p] = this._published.splice(i, 1);
    p.track.stop();
    p.transceiver.stop();
    p.backup?.stop();
    await this._negotiatePublisher();
  }

  /** The source ('camera', 'screen', 'microphone') of a remote track, from the node's announcements. */
  source(participant, track) {
    return this.participants.get(participant)?.tracks.get(track)?.source ?? null;
  }

  // _setActiveLayers is dynacast: the node asks to keep sending only the
  // simulcast layers somebody watches; the others stop at the encoder.
  // Changes run one after another, and one that Chromium refuses with
  // InvalidStateError (seen once under load: "getParameters() has never
  // been called on this sender") is tried again with fresh parameters: a
  // lost resume would leave the video paused for everyone.
  _setActiveLayers(mid, layers) {
    const apply = () => this._applyLayers(mid, layers);
    const run = (this._layerChain ?? Promise.resolve()).then(apply).catch(async (e) => {
      if (e?.name !== 'InvalidStateError') throw e;
      console.warn('qrtn: dynacast: setParameters refused, trying again:', e.message);
      await new Promise((r) => setTimeout(r, 100));
      return apply();
    });
    this._layerChain = run.catch(() => {});
    return run;
  }

  async _applyLayers(mid, layers) {
    const tr = this._pub?.getTransceivers().find((t) => t.mid === mid);
    if (!tr) return;
    const params = tr.sender.getParameters();
    if (params.encodings?.length === 1 && params.encodings[0].scalabilityMode) {
      // One SVC stream: paused whole while nobody watches (layers []).
      const active = layers.length > 0;
      if (params.encodings[0].active === active) return;
      params.encodings[0].active = active;
      await tr.sender.setParameters(params);
      return;
    }
    if (!params.encodings || params.encodings.length < 2) return;
    let changed = false;
    for (const enc of params.encodings) {
      const active = layers.includes(enc.rid);
      if (enc.active !== active) {
        enc.active = active;
        changed = true;
      }
    }
    if (changed) await tr.sender.setParameters(params);
  }

  // _svc: with opts.svc (the demo page sets it for VP9 unless &svc=0),
  // VP9 is published as one SVC stream of up to three spatial and three
  // temporal layers (L3T3_KEY) instead of simulcast; the node forwards
  // each subscriber the spatial layers it needs (sfu/svc.go). AV1 is
  // published so with opts.svc 'always' (&svc=1): the node reads its
  // layers from the dependency descriptor extension.
  _svc() {
    const codec = (this.opts.codec || '').toLowerCase();
    return (codec === 'vp9' && !!this.opts.svc) || (codec === 'av1' && this.opts.svc === 'always');
  }

  _encodings() {
    const rids = this.opts.layers || ['s', 'l'];
    return rids.map((rid) => ({ rid, ...LAYERS[rid], ...(this.opts.encodings?.[rid] || {}) }));
  }

  // _negotiatePublisher runs one offer/answer round at a time, in order;
  // offerOpts {iceRestart: true} restarts ICE.
  _negotiatePublisher(offerOpts) {
    const run = async () => {
      const pc = this._pub;
      const offer = await pc.createOffer(offerOpts);
      await pc.setLocalDescription(offer);
      const answered = new Promise((resolve, reject) => {
        this._pubAnswer = resolve;
        this._pubReject = reject;
      });
      const sources = {};
      for (const p of this._published) if (p.transceiver.mid) sources[p.transceiver.mid] = p.source;
      const backup = offerFields(this._published);
      if (backup) Object.assign(sources, backup.sources);
      this._sendSDP('offer', 'publisher', pc.localDescription.sdp, backup ? { sources, backups: backup.backups } : { sources });
      const sdp = await answered;
      this._pubAnswer = null;
      await pc.setRemoteDescription({ type: 'answer', sdp });
      await this._flushCandidates('publisher', pc);
    };
    this._pubQueue = this._pubQueue.then(run, run);
    return this._pubQueue;
  }

  /**
   * Asks for a participant's video as 'large' (main view) or 'small'
   * (thumbnail), or 'off' for no video at all (a hidden tile, or a
   * participant outside the last N speakers: the node pauses what nobody
   * watches at the publisher); with a track id, for that track only.
   * opts.fps caps the frame rate received (VP9 and AV1 with temporal
   * layers: the node forwards 1/2 or 1/4 of the frames; 0 takes the cap
   * off); without it the cap set before stays.
   */
  prefer(participant, layer, track, opts = {}) {
    if (layer !== 'large' && layer !== 'small' && layer !== 'off') throw new Error(`qrtn: layer ${layer} is not large, small or off`);
    const m = { type: 'prefer', participant, layer };
    if (track) m.track = track;
    const key = track ? `${participant}/${track}` : participant;
    const fps = opts.fps ?? this._prefs.get(key)?.fps; // a cap outlives layer changes, and is re-sent with them
    if (fps !== undefined) {
      if (!(fps >= 0 && fps <= 240)) throw new Error(`qrtn: fps ${fps} is not 0 to 240`);
      m.fps = fps;
    }
    this._prefs.set(key, m); // re-sent after a resume or a move
    this._send(m);
  }

  /**
   * Turns receiving a participant's tracks on or off (on defaults to
   * true); with a track id, that track only. With join option
   * autoSubscribe: false nothing is received until subscribed. The node
   * stops forwarding what nobody receives, and stops pulling it across
   * trunks.
   */
  subscribe(participant, on = true, track) {
    const m = subscribeMessage(participant, on, track);
    this._prefs.set(`subscribe:${participant}/${track ?? ''}`, m); // re-sent after a resume or a move
    this._send(m);
  }

  /** Mutes or unmutes the local track of a kind ('audio'|'video') and tells the room. */
  mute(kind, muted) {
    for (const p of this._published) if (p.kind === kind && p.source !== 'screen') p.track.enabled = !muted;
    this._mutes.set(kind, !!muted);
    this._send({ type: 'mute', kind, muted: !!muted });
  }

  /** The layer the node last said this client receives for a track, or null. */
  layer(participant, track) {
    return this._layers.get(`${participant}/${track}`) ?? null;
  }

  /** Leaves the room and closes everything. Never reconnects. */
  leave() {
    if (this._closed) return;
    this._send({ type: 'leave' });
    this._closeReason = 'left';
    this._shutdown('left');
  }

  _shutdown(reason) {
    if (this._closed) return;
    this._closed = true;
    this.joined = false;
    this.state = 'closed';
    this._recovery?.stop();
    this._frames.stop();
    for (const t of this._pendingLeaves.values()) clearTimeout(t);
    this._pendingLeaves.clear();
    this._quality?.stop();
    if (this._pubReject) this._pubReject(new Error('qrtn: session closed'));
    for (const p of this._published) p.track.stop();
    if (this._pub) this._pub.close();
    if (this._sub) this._sub.close();
    if (this._ws && this._ws.readyState <= WebSocket.OPEN) this._ws.close();
    this._emit('closed', { reason });
  }

  /**
   * Media statistics from getStats(): the testing contract of the demo page.
   * Resolves to {joined, participant, publishing: [...], subscribed: [{participant,
   * name, track, kind, muted, framesDecoded, framesPerSecond, frameWidth, frameHeight,
   * bytesReceived, packetsReceived, packetsLost, fecPacketsReceived,
   * fecPacketsDiscarded, freezeCount, totalFreezesDuration, jitter, layer}],
   * rtt: {publisher, subscriber}, speakers, node: {name, region}, reconnects:
   * [{kind: 'ice'|'resume'|'migrate', gap_ms, at, node, reason}]} (rtt in ms;
   * speakers as the node last announced them; node is the access node joined
   * now; gap_ms the longest time without inbound media around a recovery,
   * null when nothing was received); candidates: {publisher, subscriber}, the
   * local candidate type of each connection's selected pair ('host', 'srflx',
   * 'prflx', 'relay'), and relayProtocols: {publisher, subscriber}, 'udp',
   * 'tcp' or 'tls' for a relay. Rendered video (qrtn-frames.js): frames:
   * {shown, gaps}, and each reconnect's frame_gap_ms, frame_gaps and
   * frame_source, the longest interval between two frames shown across it.
   */
  async stats() {
    const out = { joined: this.joined, participant: this.self?.id ?? null, node: this.node, publishing: [], subscribed: [], rtt: {}, speakers: [...this.speakers], data: { ...this._dataStats } };
    out.reconnects = this._recovery ? this._recovery.list() : [];
    out.frames = this._frames.report();
    out.candidates = { publisher: null, subscriber: null };
    out.relayProtocols = { publisher: null, subscriber: null };
    if (this._pub && this._pub.signalingState !== 'closed') {
      const r = await this._pub.getStats();
      out.publishing = outboundStats(r);
      out.rtt.publisher = selectedRTT(r);
      ({ type: out.candidates.publisher, relayProtocol: out.relayProtocols.publisher } = selectedLocalCandidate(r));
    }
    if (this._sub && this._sub.signalingState !== 'closed') {
      const r = await this._sub.getStats();
      out.subscribed = this._inboundStats(r);
      out.rtt.subscriber = selectedRTT(r);
      ({ type: out.candidates.subscriber, relayProtocol: out.relayProtocols.subscriber } = selectedLocalCandidate(r));
    }
    return out;
  }

  _inboundStats(report) {
    const byTrackId = new Map();
    for (const tr of this._sub.getTransceivers()) if (tr.mid) byTrackId.set(tr.receiver.track.id, tr.mid);
    const best = new Map(); // mid → the inbound-rtp that received last
    report.forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      const mid = s.mid ?? byTrackId.get(s.trackIdentifier);
      const info = mid && this._mids.get(mid);
      if (!info || !info.active) return;
      const prev = best.get(mid);
      if (!prev || (s.lastPacketReceivedTimestamp ?? 0) >= (prev.lastPacketReceivedTimestamp ?? 0)) best.set(mid, s);
    });
    const list = [];
    for (const [mid, s] of best) {
      const info = this._mids.get(mid);
      list.push({
        participant: info.participant,
        name: this.participants.get(info.participant)?.name ?? info.participant,
        track: info.track,
        kind: info.kind,
        source: this.source(info.participant, info.track),
        muted: !!this.participants.get(info.participant)?.tracks.get(info.track)?.muted,
        codec: mimeSubtype(report.get(s.codecId)?.mimeType),
        framesDecoded: s.framesDecoded ?? 0,
        framesPerSecond: s.framesPerSecond ?? 0,
        frameWidth: s.frameWidth ?? 0,
        frameHeight: s.frameHeight ?? 0,
        bytesReceived: s.bytesReceived ?? 0,
        packetsReceived: s.packetsReceived ?? 0,
        packetsLost: s.packetsLost ?? 0,
        fecPacketsReceived: s.fecPacketsReceived ?? 0,
        fecPacketsDiscarded: s.fecPacketsDiscarded ?? 0,
        freezeCount: s.freezeCount ?? 0,
        totalFreezesDuration: s.totalFreezesDuration ?? 0,
        jitter: s.jitter ?? 0,
        layer: this.layer(info.participant, info.track),
      });
    }
    return list;
  }
}

// preferCodecs puts the chosen video codec (VP8 unless opts.codec names
// another: 'vp8', 'h264', 'vp9', 'av1') or audio/red then Opus (audio)
// first. The node answers with the first codec it supports, so this is a
// preference, not a restriction. H.264 prefers packetization-mode=1 in
// Constrained Baseline, which every browser decodes.
function preferCodecs(transceiver, kind, codec) {
  if (!transceiver.setCodecPreferences) return;
  const caps = (RTCRtpSender.getCapabilities && RTCRtpSender.getCapabilities(kind)) || RTCRtpReceiver.getCapabilities(kind);
  if (!caps) return;
  const video = `video/${(codec || 'vp8').toLowerCase()}`;
  const first = kind === 'video' ? [video] : ['audio/red', 'audio/opus'];
  const rank = (c) => {
    const i = first.indexOf(c.mimeType.toLowerCase());
    if (i < 0) return 10;
    const f = c.sdpFmtpLine || '';
    if (c.mimeType.toLowerCase() === 'video/h264') return i + (f.includes('packetization-mode=1') ? 0 : 2) + (f.includes('profile-level-id=42e01f') ? 0 : 1) / 2;
    return i;
  };
  const codecs = [...caps.codecs].sort((a, b) => rank(a) - rank(b));
  try {
    transceiver.setCodecPreferences(codecs);
  } catch (e) {
    console.warn('qrtn: setCodecPreferences', e);
  }
}

/** The MIME subtype of a codec as stats() reports it ("VP8", "H264", ...), or null. */
export function mimeSubtype(mime) {
  if (!mime) return null;
  const i = mime.indexOf('/');
  return i < 0 ? mime : mime.slice(i + 1);
}

/**
 * Parses the media sections of an SDP: mid → {participant, track, kind, active}.
 * The node's subscriber offers carry msid "<participant id> <track id>".
 */
export function parseMediaSections(sdp) {
  const out = new Map();
  const parts = sdp.split(/\r?\n(?=m=)/);
  const session = parts.shift() || '';
  const sessionDir = (session.match(/^a=(sendrecv|sendonly|recvonly|inactive)\s*$/m) || [])[1] || 'sendrecv';
  for (const m of parts) {
    const head = m.match(/^m=(\w+) (\d+)/);
    const mid = (m.match(/^a=mid:(\S+)/m) || [])[1];
    if (!head || mid === undefined) continue;
    const msid = m.match(/^a=msid:(\S+) (\S+)/m);
    const dir = (m.match(/^a=(sendrecv|sendonly|recvonly|inactive)\s*$/m) || [])[1] || sessionDir;
    const active = head[2] !== '0' && msid !== null && msid[1] !== '-' && (dir === 'sendonly' || dir === 'sendrecv');
    out.set(mid, { participant: msid ? msid[1] : null, track: msid ? msid[2] : null, kind: head[1], active });
  }
  return out;
}

// wsURL turns an HTTP base URL into the node's websocket URL.
function wsURL(url) {
  const u = new URL(url, typeof location !== 'undefined' ? location.href : undefined);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  if (u.protocol === 'https:') u.protocol = 'wss:';
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/ws';
  return u.toString();
}
