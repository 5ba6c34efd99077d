// qrtn-reconnect.js: how a qrtn.js session survives trouble by itself.
// Created by every Session (qrtn.js); not an API of its own.
//
// In increasing order of cost:
//  - 'ice': a peer connection went disconnected or failed, or the
//    browser's network changed, or nothing at all (media, RTCP, STUN)
//    arrived on its selected path for 1 s while media flowed on it (2.5 s
//    on an idle path, which only keepalives cross): a watchdog polls
//    getStats four times a second, as browsers take 5 s or more to call a
//    dead path 'disconnected'. The publisher connection offers again
//    with iceRestart; the subscriber connection asks the node for an offer
//    that restarts ICE ('restart_ice'). Tried three times, then a move.
//  - 'resume': the websocket dropped without a leave. Reconnect to the same
//    node with backoff and the resume token (signaling/PROTOCOL.md,
//    "Resume"); the node held the participant, so the room sees nothing and
//    media never stopped.
//  - 'migrate': the node is gone, refused the resume, or asked the client to
//    move ('migrate', when draining). Join another access node as the same
//    identity, republish the same tracks, restore preferences and mutes.
//    Candidates in order: the node named by 'migrate'; when the node is
//    unreachable, its last list of alternatives (no round trip), then the
//    scheduler (opts.reschedule, qrtn-join.js), then the same node; when
//    the node answered but refused, the same node first. Tokens come with
//    the scheduler's answer, else from opts.getToken(url), else the
//    session's token. The old connections keep running until the new
//    ones carry media, so a planned move has no gap.
//
// Every recovery is recorded in list() as {kind, gap_ms, at, node, reason}:
// gap_ms is the longest time any remote participant's media (video, else
// audio) was not arriving, from the trouble until media flows again, on the
// old or the new connections, sampled from getStats every 200 ms (null
// when nothing was received). About a second after it, qrtn-frames.js adds
// frame_gap_ms, frame_gaps and frame_source: the longest interval between
// two video frames shown (rendered, else decoded) across the recovery, the
// gap a person sees.

import { switchNode, lastPackets, expected, pathPackets, sleep, hostOf } from './qrtn-move.js';

const ICE_DISCONNECTED_WAIT = 0; // ms of 'disconnected' before a restart (browsers say it late already)
const ICE_RESTART_CHECK = 6000; // ms for a restart to connect before the next
const ICE_MAX_RESTARTS = 3;
const WATCH_EVERY = 250; // ms between looks at the selected paths
const PATH_SILENT = 2500; // ms without any packet on an idle path that make it dead
const MEDIA_SILENT = 1000; // ms without any packet on a path that carried media (0.5 s restarted healthy paths of loaded browsers)
const MEDIA_PACKETS = 2; // packets per look (8/s: media, or the node's feedback on it) that mean media flows
const MOVE_DEADLINE = 60_000; // ms of trying nodes before giving up
const SAMPLE_EVERY = 200;
const SETTLE_MAX = 20_000; // ms after recovery to wait for media to flow again
const FRESH = 400; // ms: media this recent is flowing

const RANK = { ice: 0, resume: 1, migrate: 2 };

export class Recovery {
  constructor(session) {
    this.s = session;
    this.token = '';
    this.graceMs = 15_000;
    this.alternatives = [];
    this.records = [];
    this.ep = null; // the episode in progress: {kind, reason, at, worst, recovered, ...}
    this.busy = false; // a resume or a move is running
    this.iceTimer = null;
    this.iceCheck = null;
    this.iceAttempts = 0;
    this.stopped = false;
    this.paths = new Map(); // pc → {count, at}: what the watchdog last saw
    this.restarting = new Set(); // connections restarted and not yet heard from
    this.watchdog = setInterval(() => this.watch(), WATCH_EVERY);
    this.onNetwork = () => this.scheduleIce(0, true);
    if (typeof window !== 'undefined') window.addEventListener('online', this.onNetwork);
    if (typeof navigator !== 'undefined' && navigator.connection) navigator.connection.addEventListener('change', this.onNetwork);
  }

  /** The recoveries so far (the stats() field `reconnects`). */
  list() {
    return this.records.map((r) => ({ ...r }));
  }

  stop() {
    this.stopped = true;
    clearInterval(this.watchdog);
    clearTimeout(this.iceTimer);
    clearTimeout(this.iceCheck);
    if (this.ep) clearInterval(this.ep.sampler);
    if (typeof window !== 'undefined') window.removeEventListener('online', this.onNetwork);
    if (typeof navigator !== 'undefined' && navigator.connection) navigator.connection.removeEventListener('change', this.onNetwork);
  }

  // onAccepted: 'joined' or 'resumed' from a node.
  onAccepted(msg) {
    this.take(msg);
  }

  onMessage(msg) {
    if (msg.type === 'resume_token') this.take(msg);
    if (msg.type === 'migrate') this.move([msg.url], 'migrate', msg.reason || 'asked by the node');
  }

  take(msg) {
    if (msg.resume && msg.resume.token) {
      this.token = msg.resume.token;
      this.graceMs = msg.resume.grace_ms || this.graceMs;
    }
    if (Array.isArray(msg.alternatives)) this.alternatives = msg.alternatives.map((a) => a.url).filter(Boolean);
  }

  // onSocketClose decides what a dropped websocket means; true when it
  // handles it (the session is not over).
  onSocketClose(e, lastError) {
    // During a move, the node being left may replace this session by our
    // own new one before the move adopted it: that is no end.
    if (this.moving && (lastError === 'replaced' || e.reason === 'replaced')) return true;
    if (this.stopped || lastError === 'replaced' || e.reason === 'replaced') return false;
    if (e.code === 1001 || lastError === 'draining') {
      this.move([], 'migrate', 'the node is going away', true);
    } else {
      this.resume();
    }
    return true;
  }

  onConnectionState(target, pc) {
    const st = pc.connectionState;
    if (st === 'failed') this.scheduleIce(0);
    else if (st === 'disconnected') this.scheduleIce(ICE_DISCONNECTED_WAIT);
    else if (st === 'connected') {
      this.restarting.delete(pc);
      if (this.ep && !this.busy && this.restarting.size === 0 && this.connected()) this.recovered();
    }
  }

  connected() {
    const ok = (pc) => !pc || pc.connectionState === 'connected';
    return ok(this.s._pub) && ok(this.s._sub);
  }

  scheduleIce(delay, force = false) {
    if (this.stopped || this.iceTimer) return;
    this.iceTimer = setTimeout(() => {
      this.iceTimer = null;
      this.restartIce(force);
    }, delay);
  }

  // watch restarts ICE on a connection whose selected path went silent:
  // no packet of any kind (media, RTCP, STUN requests or responses) for
  // PATH_SILENT. The node sends RTCP and, when idle, STUN keepalives every
  // 2 s, so silence means the path is dead.
  async watch() {
    const s = this.s;
    if (this.stopped || this.busy || s._closed) return;
    for (const pc of [s._pub, s._sub]) {
      if (!pc || pc.connectionState !== 'connected') {
        this.paths.delete(pc);
        continue;
      }
      let path = null;
      try {
        path = pathPackets(await pc.getStats());
      } catch (e) {
        if (pc.signalingState !== 'closed') console.warn('qrtn: watching the path:', e);
        continue;
      }
      const now = Date.now();
      const prev = this.paths.get(pc);
      const count = path && path.count;
      if (!prev || !path || path.id !== prev.id || count !== prev.count) {
        const active = !!prev && !!path && path.id === prev.id && count - prev.count >= MEDIA_PACKETS;
        this.paths.set(pc, { id: path && path.id, count, at: now, active });
        // Packets on a restarted connection: its new path works.
        if (prev && path && this.restarting.delete(pc) && this.restarting.size === 0 && this.connected()) this.recovered();
      } else if (now - prev.at >= (prev.active ? MEDIA_SILENT : PATH_SILENT)) {
        this.paths.delete(pc);
        this.restartIce(false, pc);
      }
    }
  }

  // restartIce restarts ICE on the connections that lost it (all of them
  // after a network change; silent, a dead one the watchdog found). While a resume or a move runs it waits: they
  // check ICE when they are done.
  restartIce(force, silent = null) {
    const s = this.s;
    if (this.stopped || this.busy || s._closed) return;
    const bad = [s._pub, s._sub].filter((pc) => pc && (force || pc === silent || pc.connectionState === 'disconnected' || pc.connectionState === 'failed'));
    if (bad.length === 0) return;
    this.begin('ice', force ? 'network change' : silent ? 'path silent' : 'connection lost');
    if (++this.iceAttempts > ICE_MAX_RESTARTS) {
      this.move([], 'migrate', 'ICE restarts failed');
      return;
    }
    this.step(`restarting ICE (attempt ${this.iceAttempts})`);
    for (const pc of bad) {
      this.restarting.add(pc);
      this.paths.set(pc, { id: null, count: null, at: Date.now(), active: false });
      if (pc === s._pub) s._negotiatePublisher({ iceRestart: true }).catch(() => {});
      else s._send({ type: 'restart_ice', target: 'subscriber' });
    }
    clearTimeout(this.iceCheck);
    this.iceCheck = setTimeout(() => {
      if (!this.connected()) this.restartIce(false);
    }, ICE_RESTART_CHECK);
  }

  // resume reconnects to the same node with the resume token, with
  // backoff, within the grace period; when the node refuses or cannot be
  // reached it moves.
  async resume() {
    if (this.busy || this.stopped) return;
    this.busy = true;
    this.begin('resume', 'signaling connection lost');
    const s = this.s;
    const deadline = Date.now() + this.graceMs - 500;
    let delay = 0;
    let unreachable = 0;
    let outcome = 'expired';
    for (let attempt = 1; Date.now() < deadline && !this.stopped; attempt++) {
      await sleep(delay);
      this.step(`resuming (attempt ${attempt})`, attempt);
      try {
        await s._connect(s.url, { type: 'resume', token: this.token }, (msg) => this.onResumed(msg));
        outcome = 'resumed';
        break;
      } catch (e) {
        if (e.code === 'bad_resume' || e.code === 'resume_expired') {
          outcome = 'refused';
          break;
        }
        // A node that is gone refuses connections at once; twice is enough.
        if (e.code === 'unreachable' && ++unreachable >= 2) {
          outcome = 'unreachable';
          break;
        }
      }
      delay = Math.min(2000, delay ? delay * 2 : 250);
    }
    this.busy = false;
    if (this.stopped) return;
    if (outcome === 'resumed') {
      if (this.connected()) this.recovered();
      else this.scheduleIce(0, true);
      return;
    }
    // The same node first when it answered (it forgot the session), the
    // others first when it did not.
    if (outcome === 'unreachable') this.move([], 'migrate', 'node unreachable', true);
    else this.move([s.url], 'migrate', outcome === 'refused' ? 'resume refused' : 'resume timed out');
  }

  onResumed(msg) {
    const s = this.s;
    s.node = msg.node ?? s.node;
    s._reconcileParticipants(msg.participants || []);
    this.take(msg);
    // A publisher offer whose answer was lost with the old socket goes again.
    if (s._pubAnswer && s._pub && s._pub.localDescription) s._send({ type: 'offer', target: 'publisher', sdp: s._pub.localDescription.sdp });
    for (const m of s._prefs.values()) s._send(m);
    for (const [kind, muted] of s._mutes) s._send({ type: 'mute', kind, muted });
  }

  // move joins another node, trying candidates (see the top of the file)
  // until MOVE_DEADLINE; gone says the current node is unreachable.
  async move(targets, kind, reason, gone = false) {
    if (this.stopped) return;
    if (this.busy && kind !== 'migrate') return;
    if (this.moving) return;
    this.moving = true;
    this.busy = true;
    this.begin(kind, reason);
    const s = this.s;
    const deadline = Date.now() + MOVE_DEADLINE;
    let delay = 0;
    let done = false;
    while (!done && !this.stopped && Date.now() < deadline) {
      await sleep(delay);
      for await (const c of this.candidates(targets, gone)) {
        if (this.stopped) break;
        this.step(`moving to ${hostOf(c.url)}`);
        try {
          await switchNode(s, c.url, c.token);
          done = true;
          break;
        } catch (e) {
          if (e.code === 'replaced') {
            s._shutdown('replaced: this identity joined elsewhere');
            return;
          }
          console.warn('qrtn: move to', c.url, 'failed:', e.message);
        }
      }
      delay = Math.min(4000, delay ? delay * 2 : 500);
    }
    this.moving = false;
    this.busy = false;
    if (this.stopped) return;
    if (!done) {
      s._shutdown('could not reconnect to any node');
      return;
    }
    this.iceAttempts = 0;
    this.recovered();
  }

  // candidates yields {url, token} to try, each URL once; the scheduler is
  // asked only when the earlier ones failed.
  async *candidates(targets, gone) {
    const s = this.s;
    const here = s.url;
    const seen = new Set();
    const fresh = (u) => {
      const url = s._urlFor(u);
      if (seen.has(url)) return null;
      seen.add(url);
      return url;
    };
    const others = this.alternatives.filter((u) => s._urlFor(u) !== here);
    const first = gone ? [...targets, ...others] : [...targets, here, ...others];
    for (const u of first) {
      const url = fresh(u);
      if (url) yield { url, token: null };
    }
    let scheduled = [];
    if (typeof s.opts.reschedule === 'function') {
      try {
        scheduled = (await s.opts.reschedule()) || [];
      } catch (e) {
        console.warn('qrtn: the scheduler could not place the move:', e.message || e);
      }
    }
    for (const c of scheduled) {
      const url = c.url && fresh(c.url);
      if (url) yield { url, token: c.token || null };
    }
    const url = fresh(here);
    if (url) yield { url, token: null };
  }

  // begin starts (or escalates) the recovery episode.
  begin(kind, reason) {
    const s = this.s;
    if (!this.ep) {
      this.ep = { kind, reason, at: Date.now(), worst: 0, lastSeen: new Map(), recovered: 0, sampler: null };
      this.ep.sampler = setInterval(() => this.sample(), SAMPLE_EVERY);
      this.sample();
      s._frames?.episodeStart();
    } else if (RANK[kind] > RANK[this.ep.kind]) {
      this.ep.kind = kind;
      this.ep.reason = reason;
      this.ep.recovered = 0;
    }
    s.state = 'reconnecting';
    this.step(reason);
  }

  step(step, attempt = 1) {
    if (this.ep) this.s._emit('reconnecting', { kind: this.ep.kind, step, attempt });
  }

  // recovered: connectivity is back; the episode ends once media flows
  // again (or SETTLE_MAX later), when its gap is known.
  recovered() {
    this.restarting.clear();
    if (!this.ep || this.ep.recovered) return;
    this.ep.recovered = Date.now();
    this.iceAttempts = 0;
    clearTimeout(this.iceCheck);
    this.s.state = 'connected';
  }

  // sample records when each remote participant's media last arrived (on
  // the current subscriber connection, or one a move is leaving) and the
  // longest silence so far.
  async sample() {
    const ep = this.ep;
    if (!ep || ep.sampling) return;
    ep.sampling = true;
    const conns = [[this.s._sub, this.s._mids], ...(this.leaving ? [this.leaving] : [])];
    for (const [pc, mids] of conns) {
      try {
        await lastPackets(this.s, pc, mids, ep.lastSeen);
      } catch {
        // a connection closed under us: nothing to read
      }
    }
    ep.sampling = false;
    if (ep !== this.ep) return;
    const now = Date.now();
    let stale = null;
    for (const [id, t] of ep.lastSeen) {
      if (!expected(this.s, id)) continue;
      stale = Math.max(stale ?? 0, now - t);
    }
    if (stale !== null) ep.worst = Math.max(ep.worst, stale);
    if (!ep.recovered) return;
    const flowing = stale !== null && stale < FRESH;
    if (flowing || now - ep.recovered > SETTLE_MAX) this.finish(ep.lastSeen.size > 0);
  }

  finish(measured) {
    const ep = this.ep;
    clearInterval(ep.sampler);
    this.ep = null;
    const rec = { kind: ep.kind, gap_ms: measured ? Math.round(ep.worst) : null, at: ep.at, node: this.s.node?.name ?? null, reason: ep.reason };
    this.records.push(rec);
    if (this.records.length > 100) this.records.shift();
    this.s._frames?.fill(rec, ep.at);
    this.s._emit('reconnected', { kind: rec.kind, gap_ms: rec.gap_ms, node: this.s.node });
  }
}
