// app.js: the qrtn demo page, on top of qrtn.js.
//
// A pre-join screen (camera preview, devices, name; a role only for an
// interactive live room), then the room: tiles that fill the window in a
// grid or a speaker view (a shared screen takes the main view), a name card
// when a camera is off, inline SVG icons, a connection-quality indicator
// per tile (graded by the node), the path to each remote person (hops and
// trunk latency, sent by the node with the quality), a participant list, chat on the data
// channel, screen sharing, and for live viewers a raised hand that a host
// can answer with an invitation to speak.
//
// The testing contract (architecture.md, "Contracts"):
//   /?room=R&name=N&mode=meeting|live&role=host|viewer&autojoin=1 joins with no clicks;
//   window.qrtn.stats() resolves to the session's media statistics;
//   window.qrtn.prefer(participant, 'large'|'small') sets a view preference.
// Extra parameters: token=T (skip /api/token), video=WxH[@fps] (camera size),
// codec=vp8|h264|vp9|av1 (what the page publishes),
// relay=1 (media only through the node's TURN: iceTransportPolicy 'relay'),
// subscribe=none|Ann,Bob (receive nobody, or only these, until
// window.qrtn.subscribe(name)), recv=vp8[,h264] (decode only these video
// codecs: a VP9, AV1 or H.264 camera then arrives as its VP8 backup), declare=0
// (with recv: restrict the receivers but do not tell the node, which then reads
// the answers, as for a client other than qrtn.js), backup=0 (a
// VP9, AV1 or H.264 camera or screen is sent without its VP8 backup).

import { join } from './qrtn.js';
import { ICONS, Tile, layoutGrid, qualityIcon, initials, hue } from './app-ui.js';
import { prejoin } from './app-prejoin.js';
import { place, joinPlaced, placementLabel } from './qrtn-join.js';
import { subscribeByName } from './qrtn-subscribe.js';

const $ = (sel) => document.querySelector(sel);
const params = new URLSearchParams(location.search);

const app = {
  session: null,
  localStream: null,
  tiles: new Map(), // tile id ('self', participant id, 'participant/screen') → Tile
  layout: 'grid', // or 'speaker'
  pinned: null, // tile id pinned to the main view by a click
  overrides: new Map(), // participant → layer set through window.qrtn.prefer
  sentLayer: new Map(), // tile id → the layer last sent to the node
  quality: {}, // participant → grade, from the node
  paths: new Map(), // participant → {path, hops, latency_ms}
  hands: new Set(), // participants with a raised hand
  // Last N: only the N most recent speakers' cameras are received (&lastn=N;
  // null: all); the others are 'off' and show their card.
  lastN: params.has('lastn') ? Math.max(0, parseInt(params.get('lastn'), 10) || 0) : null,
  recent: [], // participants, most recent speaker first
  hidden: new Set(), // tile ids scrolled out of view (adaptive stream)
  chat: [], // {from, text, self, at}
  unread: 0,
  side: null, // 'people' | 'chat' | null
  error: null,
  // Join timing in ms since start() began (token fetch included): when the
  // node accepted the join, and each participant's first video frame shown.
  timing: { startedAt: 0, joinedMs: null, firstFrameMs: {} },
};

// The contract object exists from the first moment, so a test can poll it.
window.qrtn = {
  stats: async () => {
    const s = app.session ? await app.session.stats() : { joined: false, participant: null, publishing: [], subscribed: [] };
    s.error = app.error;
    s.timing = { startedMs: app.timing.startedAt, joinedMs: app.timing.joinedMs, firstFrameMs: { ...app.timing.firstFrameMs } };
    const pl = app.session?.placement;
    s.placement = pl ? { node: pl.joined, chosen: pl.node, reason: pl.reason, reasons: pl.reasons, rtts: pl.rtts, failed: pl.failed, answeredBy: pl.answered_by, ms: pl.ms } : null;
    return s;
  },
  // prefer(participant, layer, {fps}) also caps the frame rate received
  // (VP9/AV1 temporal layers; 0 takes it off).
  prefer: (participant, layer, opts) => {
    const id = resolveParticipant(participant);
    app.overrides.set(id, layer);
    if (opts?.fps !== undefined && app.session) {
      app.sentLayer.set(id, layer);
      app.session.prefer(id, layer, undefined, { fps: opts.fps });
      return;
    }
    sendPreference(id, layer);
  },
  // subscribe(participant, on = true, track) turns receiving a participant
  // (id or name) on or off; with &subscribe=none nothing is received until then.
  subscribe: (participant, on = true, track) => app.session.subscribe(resolveParticipant(participant), on, track),
  mute: (kind, muted) => setMuted(kind, muted),
  leave: () => leave(),
  // shareScreen({fake: true}) shares an animated canvas instead of asking
  // for a screen (tests, and machines without a display).
  shareScreen: (opts) => shareScreen(opts),
  stopScreen: () => stopScreen(),
  // chat(text) sends a chat message to the room; messages() lists the chat.
  chat: (text) => sendChat(text),
  messages: () => app.chat.map((m) => ({ ...m })),
  raiseHand: (up) => raiseHand(up),
  get session() {
    return app.session;
  },
  get error() {
    return app.error;
  },
};

// --- joining ---

// subscribeOnly: the names of &subscribe=Ann,Bob ([] for none), or null
// for everyone.
function subscribeOnly() {
  const v = params.get('subscribe');
  if (v === null || v === 'all') return null;
  return v.split(',').filter((x) => x && x !== 'none');
}

function subscribeOptions() {
  const o = {};
  if (subscribeOnly()) o.autoSubscribe = false;
  if (params.get('recv')) o.receiveCodecs = params.get('recv').split(',');
  if (params.get('declare') === '0') o.declareCodecs = false;
  if (params.get('backup') === '0') o.backup = false;
  return o;
}

function codecParam(v) {
  const c = String(v || params.get('codec') || 'vp8').toLowerCase();
  return ['vp8', 'h264', 'vp9', 'av1'].includes(c) ? c : 'vp8';
}

function urlValues() {
  const mode = params.get('mode') === 'live' ? 'live' : 'meeting';
  const role = mode === 'live' ? (params.get('role') === 'host' ? 'host' : 'viewer') : (params.get('role') || 'host');
  return { room: params.get('room') || '', name: params.get('name') || '', mode, role, codec: codecParam(), token: params.get('token') || '' };
}

async function fetchToken(v) {
  const q = new URLSearchParams({ room: v.room, name: v.name, role: v.role });
  const r = await fetch(`/api/token?${q}`);
  if (r.status === 404) throw new Error('this node does not mint tokens (not in dev mode): paste a token under Advanced');
  if (!r.ok) throw new Error(`GET /api/token: ${r.status} ${await r.text()}`);
  return (await r.json()).token;
}

// joinScheduled joins the node the scheduler picks (qrtn-join.js), honouring
// &region= (a location hint) and &node= (a pinned node); a node without a
// scheduler is joined directly, as before.
// &relay=1: media only through the node's TURN (iceTransportPolicy 'relay').
const relayOption = () => (params.get('relay') === '1' ? { iceTransportPolicy: 'relay' } : {});

async function joinScheduled(v, opts) {
  const d = await place(location.href, { ...v, region: params.get('region') || '', node: params.get('node') || '' });
  const o = { ...opts, ...recoveryOptions(v), ...relayOption() };
  if (!d) return join(location.href, v.token || (await fetchToken(v)), o);
  return joinPlaced(d, v, o);
}

// recoveryOptions let a session that must move to another node
// (qrtn-reconnect.js) ask the scheduler again and get tokens from other
// nodes, for the same identity.
function recoveryOptions(v) {
  return { getToken: (url) => tokenFor(url, v), reschedule: () => reschedule(v) };
}

async function reschedule(v) {
  const d = await place(location.href, { ...v, identity: app.session?.self?.id ?? '', region: params.get('region') || '' });
  if (!d) return [];
  return [{ url: d.url, token: d.token || null }, ...(d.alternatives || []).map((a) => ({ url: a.url, token: null }))];
}

// tokenFor gets a token from another node for the same identity; the
// session's own token is the fallback (nodes of one network share their
// API key).
async function tokenFor(url, v) {
  const fallback = v.token || app.session?._token;
  if (v.token || !app.session) return fallback;
  try {
    const base = new URL(url);
    base.protocol = base.protocol === 'wss:' ? 'https:' : 'http:';
    const q = new URLSearchParams({ room: v.room, name: v.name, role: v.role, identity: app.session.self.id });
    const r = await fetch(`${base.origin}/api/token?${q}`, { cache: 'no-store' });
    if (r.ok) return (await r.json()).token;
  } catch (e) {
    console.warn('qrtn: token from', url, e);
  }
  return fallback;
}

function mediaConstraints(v) {
  const m = (params.get('video') || '1280x720@30').match(/^(\d+)x(\d+)(?:@(\d+))?$/);
  const video = m ? { width: { ideal: +m[1] }, height: { ideal: +m[2] }, frameRate: { ideal: +(m[3] || 30) } } : {};
  if (v.camera) video.deviceId = { exact: v.camera };
  const audio = v.microphone ? { deviceId: { exact: v.microphone } } : true;
  return { audio, video };
}

async function getMedia(v) {
  const c = mediaConstraints(v);
  for (const attempt of [c, { video: c.video }, { audio: c.audio }]) {
    try {
      return await navigator.mediaDevices.getUserMedia(attempt);
    } catch (e) {
      console.warn('qrtn: getUserMedia', attempt, e);
    }
  }
  throw new Error('no camera or microphone could be opened');
}

async function start(v) {
  app.timing.startedAt = performance.now();
  setStatus(`joining ${v.room}…`);
  $('#room-label').textContent = v.room;
  document.body.dataset.mode = v.mode;
  document.body.dataset.role = v.role;
  $('#room').hidden = false;
  try {
    const publish = v.role === 'host';
    // Ask for the camera while the scheduler and the websocket work: all take time.
    const media = publish ? getMedia(v) : Promise.resolve(null);
    const session = await joinScheduled(v, { mode: v.mode, codec: codecParam(v.codec), data: true, svc: params.get('svc') === '1' ? 'always' : params.get('svc') !== '0', ...subscribeOptions() });
    app.session = session;
    if (subscribeOnly()) subscribeByName(session, subscribeOnly());
    app.timing.joinedMs = performance.now() - app.timing.startedAt;
    document.body.dataset.role = session.self.publish ? 'host' : 'viewer';
    wire(session);
    app.localStream = await media;
    if (app.localStream && session.self.publish) {
      const t = addTile('self', session.self.id, `${session.self.name} (you)`, 'camera', true);
      for (const tr of app.localStream.getTracks()) t.addTrack(tr);
      await session.publish(app.localStream);
      if (v.audioOff) setMuted('audio', true);
      if (v.videoOff) setMuted('video', true);
    }
    const where = session.placement ? placementLabel(session.placement, session.placement.joined) : '';
    const live = session.mode === 'live' ? (session.self.publish ? 'live: you are a host' : 'live: you are watching') : '';
    setStatus([live, where].filter(Boolean).join(' · '));
    renderPeople();
  } catch (e) {
    fail(e);
  }
}

function fail(e) {
  console.error('qrtn:', e);
  app.error = String(e && e.message ? e.message : e);
  setStatus(app.error, true);
}

function setStatus(text, isError = false) {
  const s = $('#status');
  s.textContent = text;
  s.classList.toggle('error', isError);
}

function wire(session) {
  session.on('track', ({ participant, trackId, kind, source, track }) => {
    const p = session.participants.get(participant);
    const screen = source === 'screen';
    const id = screen ? `${participant}/screen` : participant;
    const tile = addTile(id, participant, p ? p.name : participant, screen ? 'screen' : 'camera', false);
    tile.addTrack(track);
    const info = p?.tracks.get(trackId);
    if (info && !screen) tile.setMuted(kind, !!info.muted);
    if (app.quality[participant]) tile.setQuality(app.quality[participant]);
    render();
  });
  session.on('trackended', ({ participant, source, track }) => {
    const id = source === 'screen' ? `${participant}/screen` : participant;
    const tile = app.tiles.get(id);
    if (!tile) return;
    if (track) tile.removeTrack(track);
    // A participant that moved or reconnected is still here: its new
    // camera tracks come to the same tile. A screen share that ended goes.
    if (tile.stream.getTracks().length === 0 && (id !== participant || !session.participants.has(participant))) removeTile(id);
  });
  session.on('participant_joined', () => renderPeople());
  session.on('participant_left', ({ participant }) => {
    removeTile(participant);
    removeTile(`${participant}/screen`);
    app.hands.delete(participant);
    renderPeople();
  });
  session.on('track_muted', ({ participant, kind, muted }) => {
    app.tiles.get(participant)?.setMuted(kind, muted);
    renderPeople();
  });
  session.on('speaker', ({ participants }) => {
    const loud = participants[0];
    for (const id of [...participants].reverse()) app.recent = [id, ...app.recent.filter((x) => x !== id)].slice(0, 100);
    if (app.lastN !== null) render();
    for (const [id, t] of app.tiles) t.el.classList.toggle('speaking', !!loud && t.participant === loud && t.source === 'camera');
    if (app.layout === 'speaker' && !app.pinned) render();
  });
  session.on('connection_quality', ({ participants, paths }) => {
    app.quality = participants;
    for (const [id, p] of Object.entries(paths || {})) app.paths.set(id, p);
    for (const t of app.tiles.values()) if (!t.local) t.setQuality(participants[t.participant]);
    renderPeople();
  });
  session.on('data', (m) => onData(session, m));
  session.on('data_error', ({ code, message }) => setStatus(`data: ${code}: ${message}`, true));
  session.on('error', ({ code, message }) => setStatus(`${code}: ${message}`, true));
  session.on('closed', ({ reason }) => {
    document.body.classList.remove('reconnecting');
    setStatus(`session closed: ${reason}`, reason !== 'left');
  });
  session.on('reconnecting', ({ step }) => {
    document.body.classList.add('reconnecting');
    setStatus(`reconnecting… ${step}`);
  });
  session.on('reconnected', ({ kind, gap_ms, node }) => {
    document.body.classList.remove('reconnecting');
    const gap = gap_ms === null ? '' : `, media gap ${gap_ms} ms`;
    setStatus(`in ${session.room} as ${session.self.name} on ${node?.name ?? 'the node'} (recovered: ${kind}${gap})`);
  });
  setInterval(updateStats, 2000);
}

function leave() {
  if (app.session) app.session.leave();
  for (const id of [...app.tiles.keys()]) removeTile(id);
  $('#controls').hidden = true;
  setStatus('you left the room');
}

function setMuted(kind, muted) {
  if (!app.session) return;
  app.session.mute(kind, muted);
  app.tiles.get('self')?.setMuted(kind, muted);
  const b = $(`#mute-${kind}`);
  b.setAttribute('aria-pressed', String(!!muted));
  b.querySelector('.i').innerHTML = kind === 'audio' ? (muted ? ICONS.micOff : ICONS.mic) : muted ? ICONS.camOff : ICONS.cam;
  b.querySelector('.t').textContent = kind === 'audio' ? (muted ? 'Unmute' : 'Mute') : muted ? 'Start video' : 'Stop video';
}

// resolveParticipant accepts an id or a display name.
function resolveParticipant(p) {
  const s = app.session;
  if (!s || s.participants.has(p)) return p;
  for (const [id, rec] of s.participants) if (rec.name === p) return id;
  return p;
}

// --- data: chat, raised hands, invitations ---

function onData(session, m) {
  const name = session.participants.get(m.from)?.name ?? m.from;
  if (m.topic === 'chat') addChat(name, m.data, false);
  if (m.topic === 'hand') {
    if (m.data === 'up') app.hands.add(m.from);
    else app.hands.delete(m.from);
    renderPeople();
    if (m.data === 'up' && session.self.publish) setStatus(`${name} raised a hand`);
  }
  if (m.topic === 'invite' && !session.self.publish) showInvite(name);
}

function sendChat(text) {
  text = String(text).trim();
  if (!text || !app.session) return;
  app.session.sendData(text, { topic: 'chat' });
  addChat('you', text, true);
}

function addChat(from, text, self) {
  app.chat.push({ from, text, self, at: Date.now() });
  if (app.chat.length > 500) app.chat.shift();
  const li = document.createElement('li');
  li.className = self ? 'self' : '';
  const who = document.createElement('b');
  who.textContent = from;
  const body = document.createElement('span');
  body.textContent = text;
  li.append(who, body);
  const list = $('#chat-log');
  list.append(li);
  while (list.children.length > 500) list.firstChild.remove();
  list.scrollTop = list.scrollHeight;
  if (!self && app.side !== 'chat') app.unread++;
  $('#chat-unread').textContent = app.unread ? String(app.unread) : '';
  $('#chat-btn').dataset.badge = app.unread ? String(app.unread) : '';
}

function raiseHand(up) {
  if (!app.session) return;
  const b = $('#hand');
  up = up ?? b.getAttribute('aria-pressed') !== 'true';
  app.session.sendData(up ? 'up' : 'down', { topic: 'hand' });
  b.setAttribute('aria-pressed', String(up));
  b.querySelector('.t').textContent = up ? 'Lower hand' : 'Raise hand';
}

function showInvite(host) {
  setStatus(`${host} invites you to speak`);
  const b = document.createElement('button');
  b.className = 'primary invite';
  b.textContent = 'Join as host';
  b.onclick = () => {
    const q = new URLSearchParams(location.search);
    q.set('role', 'host');
    q.set('autojoin', '1');
    q.set('room', app.session.room);
    q.set('name', app.session.self.name);
    leave();
    location.search = `?${q}`;
  };
  $('#status').append(' ', b);
}

// --- screen sharing ---

async function shareScreen(opts = {}) {
  if (!app.session) throw new Error('not joined');
  const track = opts.fake ? fakeScreen() : (await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: 15 }, audio: false })).getVideoTracks()[0];
  await app.session.publishScreen(track);
  const t = addTile('self/screen', app.session.self.id, 'your screen', 'screen', true);
  t.addTrack(track);
  track.addEventListener('ended', () => stopScreen());
  $('#share').setAttribute('aria-pressed', 'true');
  $('#share .t').textContent = 'Stop sharing';
  render();
}

async function stopScreen() {
  if (!app.session) return;
  await app.session.stopScreen();
  removeTile('self/screen');
  if (app.fakeTimer) clearInterval(app.fakeTimer);
  $('#share').setAttribute('aria-pressed', 'false');
  $('#share .t').textContent = 'Share';
}

// fakeScreen is a 1280x720 canvas with text and a moving bar at 10 fps:
// detail a screen share must keep sharp.
function fakeScreen() {
  const c = document.createElement('canvas');
  c.width = 1280;
  c.height = 720;
  const g = c.getContext('2d');
  let n = 0;
  const draw = () => {
    g.fillStyle = '#f4f4f4';
    g.fillRect(0, 0, c.width, c.height);
    g.fillStyle = '#222';
    g.font = '28px monospace';
    for (let y = 60; y < c.height; y += 40) g.fillText(`line ${y / 40} of a shared document · frame ${n}`, 40, y);
    g.fillStyle = '#36c';
    g.fillRect((n * 16) % c.width, 0, 40, c.height);
    n++;
  };
  draw();
  app.fakeTimer = setInterval(draw, 100);
  return c.captureStream(10).getVideoTracks()[0];
}

// --- tiles and layout ---

function addTile(id, participant, name, source, local) {
  let t = app.tiles.get(id);
  if (!t) {
    t = new Tile({ id, participant, name, source, local, onClick: (tile) => pin(tile.id) });
    if (!local) {
      watchFirstFrame(t);
      visibility.observe(t.el);
    }
    app.tiles.set(id, t);
    render();
  }
  return t;
}

function removeTile(id) {
  const t = app.tiles.get(id);
  if (!t) return;
  t.el.remove();
  visibility.unobserve(t.el);
  app.hidden.delete(id);
  app.tiles.delete(id);
  app.sentLayer.delete(id);
  if (app.pinned === id) app.pinned = null;
  render();
}

// watchFirstFrame records when this participant's first video frame is shown.
function watchFirstFrame(tile) {
  const v = tile.video;
  const mark = () => {
    if (tile.participant in app.timing.firstFrameMs || v.videoWidth === 0) return false;
    app.timing.firstFrameMs[tile.participant] = performance.now() - app.timing.startedAt;
    return true;
  };
  const onFrame = () => {
    if (!mark() && v.requestVideoFrameCallback) v.requestVideoFrameCallback(onFrame);
  };
  if (v.requestVideoFrameCallback) v.requestVideoFrameCallback(onFrame);
  v.addEventListener('loadeddata', mark);
}

function pin(id) {
  app.overrides.clear(); // a click takes over from programmatic preferences
  app.pinned = app.pinned === id ? null : id;
  if (app.pinned) app.layout = 'speaker';
  render();
}

// mainTile picks the main view of the speaker layout: a pinned tile, else
// a shared screen, else the active speaker, else the first remote tile.
function mainTile() {
  if (app.pinned && app.tiles.has(app.pinned)) return app.pinned;
  const ids = [...app.tiles.keys()];
  const screen = ids.find((id) => id.endsWith('/screen') && id !== 'self/screen') || ids.find((id) => id.endsWith('/screen'));
  if (screen) return screen;
  const loud = app.session?.speakers?.[0];
  if (loud && app.tiles.has(loud)) return loud;
  return ids.find((id) => id !== 'self') || ids[0] || null;
}

function render() {
  window.__renders = (window.__renders || 0) + 1;
  const grid = $('#grid');
  const main = $('#main');
  const thumbs = $('#thumbs');
  const hasScreen = [...app.tiles.keys()].some((id) => id.endsWith('/screen'));
  const speaker = app.layout === 'speaker' || hasScreen;
  const mainId = speaker ? mainTile() : null;
  document.body.classList.toggle('speaker', speaker && !!mainId);
  for (const [id, t] of app.tiles) {
    const parent = !mainId ? grid : id === mainId ? main : thumbs;
    if (t.el.parentElement !== parent) parent.append(t.el);
    t.el.classList.toggle('main', id === mainId);
  }
  $('#layout .i').innerHTML = speaker ? ICONS.grid : ICONS.speaker;
  $('#layout .t').textContent = speaker ? 'Grid' : 'Speaker';
  const tileW = layoutGrid(grid, grid.children.length);
  preferences(mainId, tileW);
}

// preferences asks the node for each remote camera's layer from the size
// the tile is drawn at: large for the main view, for a grid of up to two
// remote cameras, and for grid tiles at least 360 px wide (or when the
// grid is not laid out yet); small for thumbnails and small grid tiles (a
// preference set through window.qrtn.prefer wins).
function preferences(mainId, tileW) {
  const cams = [...app.tiles.values()].filter((t) => !t.local && t.source === 'camera');
  const shown = lastN(cams, mainId);
  for (const [id, t] of app.tiles) {
    if (t.local || t.source === 'screen' || !t.stream.getVideoTracks().length) continue;
    const big = cams.length <= 2 || tileW === 0 || tileW >= 360;
    let auto = id === mainId || (!mainId && big) ? 'large' : 'small';
    const off = !shown.has(id) || app.hidden.has(id);
    if (off) auto = 'off';
    t.el.classList.toggle('off', off);
    t.update();
    sendPreference(id, app.overrides.get(id) ?? auto);
  }
}

function sendPreference(id, layer) {
  if (!app.session || app.sentLayer.get(id) === layer) return;
  app.sentLayer.set(id, layer);
  (window.__prefs ||= []).push([Math.round(performance.now()), id, layer]);
  app.session.prefer(id, layer);
}

// lastN picks the camera tiles whose video is received: all without a
// limit; else the main view and the N most recent speakers (filled up in
// join order while fewer have spoken).
function lastN(cams, mainId) {
  if (app.lastN === null) return new Set(cams.map((t) => t.id));
  const order = [...app.recent.filter((id) => cams.some((t) => t.id === id)), ...cams.map((t) => t.id).filter((id) => !app.recent.includes(id))];
  const shown = new Set(order.slice(0, app.lastN));
  if (mainId) shown.add(mainId);
  return shown;
}

// Adaptive stream: a thumbnail scrolled out of view is 'off'.
const visibility = new IntersectionObserver((entries) => {
  let changed = false;
  for (const e of entries) {
    const id = e.target.dataset.tile;
    if (!e.isIntersecting && e.target.parentElement?.id === 'thumbs') {
      if (!app.hidden.has(id)) {
        app.hidden.add(id);
        changed = true;
      }
    } else if (app.hidden.delete(id)) {
      changed = true;
    }
  }
  if (changed) render();
});

// --- people ---

function renderPeople() {
  const s = app.session;
  if (!s) return;
  const list = $('#people');
  list.textContent = '';
  const rows = [{ id: s.self.id, name: `${s.self.name} (you)`, publish: s.self.publish, self: true }, ...s.participants.values()];
  $('#people-count').textContent = String(rows.length);
  for (const p of rows) {
    const li = document.createElement('li');
    li.dataset.participant = p.id;
    const av = document.createElement('span');
    av.className = 'avatar small';
    av.textContent = initials(p.name);
    av.style.background = `hsl(${hue(p.name)} 45% 38%)`;
    const nm = document.createElement('span');
    nm.className = 'pname';
    nm.textContent = p.name;
    const role = document.createElement('span');
    role.className = 'role';
    role.textContent = s.mode === 'live' ? (p.publish ? 'host' : 'viewer') : '';
    const icons = document.createElement('span');
    icons.className = 'picons';
    const audio = p.tracks && [...p.tracks.values()].find((t) => t.kind === 'audio');
    if (p.publish && audio?.muted) icons.insertAdjacentHTML('beforeend', `<span title="microphone off">${ICONS.micOff}</span>`);
    if (app.hands.has(p.id)) icons.insertAdjacentHTML('beforeend', `<span class="handup" title="hand raised">${ICONS.hand}</span>`);
    if (!p.self && app.quality[p.id]) icons.insertAdjacentHTML('beforeend', `<span title="connection: ${app.quality[p.id]}">${qualityIcon(app.quality[p.id])}</span>`);
    li.append(av, nm, role, icons);
    if (!p.self && s.self.publish && s.mode === 'live' && !p.publish) {
      const b = document.createElement('button');
      b.textContent = 'Invite to speak';
      b.onclick = () => s.sendData('host', { topic: 'invite', to: [p.id] });
      li.append(b);
    }
    list.append(li);
  }
}

function openSide(tab) {
  app.side = app.side === tab ? null : tab;
  $('#side').hidden = !app.side;
  document.body.classList.toggle('side-open', !!app.side);
  for (const el of document.querySelectorAll('#side .tab')) el.hidden = el.id !== app.side;
  for (const b of document.querySelectorAll('#side nav [data-tab]')) b.classList.toggle('on', b.dataset.tab === app.side);
  if (app.side === 'chat') {
    app.unread = 0;
    $('#chat-unread').textContent = '';
    $('#chat-btn').dataset.badge = '';
  }
  render();
}

// --- figures on the tiles ---

async function updateStats() {
  if (!app.session || !app.session.joined) return;
  let s;
  try {
    s = await app.session.stats();
  } catch {
    return;
  }
  for (const [id, t] of app.tiles) {
    if (t.local) {
      const v = s.publishing.filter((o) => o.kind === 'video' && o.frameWidth).sort((a, b) => b.frameWidth - a.frameWidth)[0];
      t.info.textContent = t.source === 'camera' && v ? `sending ${v.frameWidth}×${v.frameHeight} · rtt ${s.rtt.publisher ?? '–'} ms` : '';
      const rtt = s.rtt.publisher ?? s.rtt.subscriber;
      t.setQuality(rtt == null ? null : rtt < 300 ? 'excellent' : rtt < 600 ? 'good' : 'poor');
      continue;
    }
    const v = s.subscribed.find((e) => e.participant === t.participant && e.kind === 'video' && (e.source === 'screen') === (t.source === 'screen'));
    const path = app.paths.get(t.participant);
    const parts = [];
    if (path) parts.push(path.hops ? `${path.path.join(' → ')} · ${path.hops} hop${path.hops > 1 ? 's' : ''} · ${Math.round(path.latency_ms)} ms` : `on ${path.node}, no trunk`);
    if (v && v.frameWidth) parts.push(`${v.frameWidth}×${v.frameHeight} ${Math.round(v.framesPerSecond)} fps ${v.codec ?? ''} ${v.layer ?? ''}`);
    t.info.textContent = parts.join('\n');
    t.el.dataset.hops = path ? String(path.hops) : '';
  }
}

// --- boot ---

function controls() {
  $('#mute-audio .i').innerHTML = ICONS.mic;
  $('#mute-audio .t').textContent = 'Mute';
  $('#mute-video .i').innerHTML = ICONS.cam;
  $('#mute-video .t').textContent = 'Stop video';
  $('#share .i').innerHTML = ICONS.screen;
  $('#hand .i').innerHTML = ICONS.hand;
  $('#people-btn .i').innerHTML = ICONS.people;
  $('#chat-btn .i').innerHTML = ICONS.chat;
  $('#leave .i').innerHTML = ICONS.leave;
  $('#side-close').innerHTML = ICONS.close;
  $('#mute-audio').onclick = (e) => setMuted('audio', e.currentTarget.getAttribute('aria-pressed') !== 'true');
  $('#mute-video').onclick = (e) => setMuted('video', e.currentTarget.getAttribute('aria-pressed') !== 'true');
  $('#share').onclick = (e) => (e.currentTarget.getAttribute('aria-pressed') === 'true' ? stopScreen() : shareScreen()).catch((err) => setStatus(`screen share: ${err.message}`, true));
  $('#hand').onclick = () => raiseHand();
  $('#layout').onclick = () => {
    const speaker = document.body.classList.contains('speaker');
    app.layout = speaker ? 'grid' : 'speaker';
    if (speaker) app.pinned = null;
    render();
  };
  $('#people-btn').onclick = () => openSide('people');
  $('#chat-btn').onclick = () => openSide('chat');
  $('#side-close').onclick = () => openSide(app.side);
  for (const b of document.querySelectorAll('#side nav [data-tab]')) b.onclick = () => openSide(b.dataset.tab);
  $('#leave').onclick = () => leave();
  $('#chat-form').onsubmit = (e) => {
    e.preventDefault();
    try {
      sendChat($('#chat-input').value);
      $('#chat-input').value = '';
    } catch (err) {
      setStatus(`chat: ${err.message}`, true);
    }
  };
  new ResizeObserver(() => render()).observe($('#stage'));
  window.addEventListener('resize', () => render());
}

controls();
if (params.get('autojoin') === '1') {
  start(urlValues());
} else {
  prejoin(urlValues()).then((v) => {
    const q = new URLSearchParams(location.search);
    for (const k of ['room', 'name', 'mode']) q.set(k, v[k]);
    if (v.mode === 'live') q.set('role', v.role);
    else q.delete('role');
    history.replaceState(null, '', `?${q}`);
    start(v);
  });
}
