// app.js: the qrtn demo page, on top of qrtn.js.
//
// Meeting mode: everyone publishes; tiles in a grid, a click makes a tile the
// main view (its video preferred 'large') and the others thumbnails ('small').
// Interactive-live mode: hosts publish, viewers only watch.
//
// The testing contract (architecture.md, "Contracts"):
//   /?room=R&name=N&mode=meeting|live&role=host|viewer&autojoin=1 joins with no clicks;
//   window.qrtn.stats() resolves to the session's media statistics;
//   window.qrtn.prefer(participant, 'large'|'small') sets a view preference.
// Extra parameters: token=T (skip /api/token), video=WxH[@fps] (camera size),
// codec=vp8|h264|vp9|av1 (what the page publishes).

import { join } from './qrtn.js';

const $ = (sel) => document.querySelector(sel);
const params = new URLSearchParams(location.search);

const app = {
  session: null,
  localStream: null,
  tiles: new Map(), // participant id (or 'self') → Tile
  main: null, // participant id shown as the main view, or null for the grid
  overrides: new Map(), // participant → layer set through window.qrtn.prefer
  sentLayer: new Map(), // participant → the layer last sent to the node
  prevStats: new Map(), // key → {t, bytes, lost, recv} for rates
  chat: [], // {from, text, self, at}
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
    s.timing = { joinedMs: app.timing.joinedMs, firstFrameMs: { ...app.timing.firstFrameMs } };
    return s;
  },
  prefer: (participant, layer) => {
    const id = resolveParticipant(participant);
    app.overrides.set(id, layer);
    sendPreference(id, layer);
    render();
  },
  mute: (kind, muted) => setMuted(kind, muted),
  // shareScreen({fake: true}) shares an animated canvas instead of asking
  // for a screen (tests, and machines without a display).
  shareScreen: (opts) => shareScreen(opts),
  // chat(text) sends a chat message to the room; messages() lists the chat.
  chat: (text) => sendChat(text),
  messages: () => app.chat.map((m) => ({ ...m })),
  stopScreen: () => stopScreen(),
  leave: () => leave(),
  get session() {
    return app.session;
  },
  get error() {
    return app.error;
  },
};

// --- joining ---

// codecParam is the video codec the page publishes (&codec=vp8|h264|vp9|av1).
function codecParam() {
  const c = (params.get('codec') || 'vp8').toLowerCase();
  return ['vp8', 'h264', 'vp9', 'av1'].includes(c) ? c : 'vp8';
}

function formValues() {
  return {
    room: params.get('room') || '',
    name: params.get('name') || '',
    mode: params.get('mode') === 'live' ? 'live' : 'meeting',
    role: params.get('role') || (params.get('mode') === 'live' ? 'viewer' : 'host'),
    token: params.get('token') || '',
  };
}

function showForm() {
  const v = formValues();
  const f = $('#join');
  f.room.value = v.room || 'demo';
  f.name.value = v.name || `guest-${Math.floor(Math.random() * 1000)}`;
  f.mode.value = v.mode;
  f.role.value = v.role;
  f.token.value = v.token;
  f.hidden = false;
  f.onsubmit = (e) => {
    e.preventDefault();
    const q = new URLSearchParams(location.search);
    for (const k of ['room', 'name', 'mode', 'role']) q.set(k, f[k].value);
    history.replaceState(null, '', `?${q}`);
    f.hidden = true;
    start({ room: f.room.value, name: f.name.value, mode: f.mode.value, role: f.role.value, token: f.token.value.trim() });
  };
}

async function fetchToken(v) {
  const q = new URLSearchParams({ room: v.room, name: v.name, role: v.role });
  const r = await fetch(`/api/token?${q}`);
  if (r.status === 404) throw new Error('this node does not mint tokens (not in dev mode): paste a token into the form');
  if (!r.ok) throw new Error(`GET /api/token: ${r.status} ${await r.text()}`);
  return (await r.json()).token;
}

function mediaConstraints() {
  const m = (params.get('video') || '1280x720@30').match(/^(\d+)x(\d+)(?:@(\d+))?$/);
  const video = m ? { width: { ideal: +m[1] }, height: { ideal: +m[2] }, frameRate: { ideal: +(m[3] || 30) } } : true;
  return { audio: true, video };
}

async function getMedia() {
  const c = mediaConstraints();
  for (const attempt of [c, { video: c.video }, { audio: true }]) {
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
  $('#room-label').textContent = `${v.room} · ${v.mode} · ${v.role}`;
  document.body.dataset.mode = v.mode;
  try {
    const token = v.token || (await fetchToken(v));
    const publish = v.role === 'host';
    // Ask for the camera while the websocket connects: both take time.
    const media = publish ? getMedia() : Promise.resolve(null);
    const session = await join(location.href, token, { mode: v.mode, codec: codecParam(), data: true });
    app.session = session;
    app.timing.joinedMs = performance.now() - app.timing.startedAt;
    wire(session);
    app.localStream = await media;
    if (app.localStream && session.self.publish) {
      addTile('self', `${session.self.name} (you)`, app.localStream, true);
      await session.publish(app.localStream);
    }
    $('#controls').hidden = false;
    setStatus(`in ${session.room} as ${session.self.name}`);
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
  session.on('track', ({ participant, kind, source, track }) => {
    const p = session.participants.get(participant);
    const screen = source === 'screen';
    const id = screen ? `${participant}/screen` : participant;
    const tile = addTile(id, `${p ? p.name : participant}${screen ? ' (screen)' : ''}`, null, false);
    tile.addTrack(track);
    if (screen) app.main = id; // a shared screen takes the main view
    if (kind === 'video') render();
  });
  session.on('trackended', ({ participant, source, track }) => {
    const id = source === 'screen' ? `${participant}/screen` : participant;
    const tile = app.tiles.get(id);
    if (!tile) return;
    if (track) tile.removeTrack(track);
    if (tile.stream.getTracks().length === 0) removeTile(id);
  });
  session.on('participant_left', ({ participant }) => {
    removeTile(participant);
    removeTile(`${participant}/screen`);
  });
  session.on('track_muted', ({ participant, kind, muted }) => app.tiles.get(participant)?.setMuted(kind, muted));
  session.on('speaker', ({ participants }) => {
    for (const [id, t] of app.tiles) t.el.classList.toggle('speaking', id === participants[0] || (id === 'self' && participants[0] === session.self.id));
  });
  session.on('error', ({ code, message }) => setStatus(`${code}: ${message}`, true));
  session.on('data', (m) => {
    if (m.topic === 'chat') addChat(session.participants.get(m.from)?.name ?? m.from, m.data, false);
  });
  session.on('data_error', ({ code, message }) => setStatus(`data: ${code}: ${message}`, true));
  session.on('closed', ({ reason }) => setStatus(`session closed: ${reason}`, reason !== 'left'));
  setInterval(updateStats, 1000);
}

function leave() {
  if (app.session) app.session.leave();
  for (const id of [...app.tiles.keys()]) removeTile(id);
  $('#controls').hidden = true;
}

function setMuted(kind, muted) {
  if (!app.session) return;
  app.session.mute(kind, muted);
  app.tiles.get('self')?.setMuted(kind, muted);
  $(`#mute-${kind}`).textContent = `${muted ? 'unmute' : 'mute'} ${kind === 'audio' ? 'mic' : 'camera'}`;
  $(`#mute-${kind}`).dataset.muted = muted ? '1' : '';
}

// --- chat, on the session's reliable data channel ---

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
  li.append(who, document.createTextNode(` ${text}`));
  const list = $('#chat-log');
  list.append(li);
  while (list.children.length > 500) list.firstChild.remove();
  list.scrollTop = list.scrollHeight;
}

// --- screen sharing ---

async function shareScreen(opts = {}) {
  if (!app.session) throw new Error('not joined');
  const track = opts.fake ? fakeScreen() : (await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: 15 }, audio: false })).getVideoTracks()[0];
  await app.session.publishScreen(track);
  addTile('self/screen', 'your screen', new MediaStream([track]), true);
  track.addEventListener('ended', () => removeTile('self/screen'));
  $('#share').textContent = 'stop sharing';
  $('#share').dataset.muted = '1';
}

async function stopScreen() {
  if (!app.session) return;
  await app.session.stopScreen();
  removeTile('self/screen');
  $('#share').textContent = 'share screen';
  $('#share').dataset.muted = '';
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
  const timer = setInterval(draw, 100);
  const track = c.captureStream(10).getVideoTracks()[0];
  track.addEventListener('ended', () => clearInterval(timer));
  return track;
}

// resolveParticipant accepts an id or a display name.
function resolveParticipant(p) {
  const s = app.session;
  if (!s || s.participants.has(p)) return p;
  for (const [id, rec] of s.participants) if (rec.name === p) return id;
  return p;
}

// --- tiles and layout ---

class Tile {
  constructor(id, name, stream, local) {
    this.id = id;
    this.stream = stream || new MediaStream();
    this.el = document.createElement('div');
    this.el.className = 'tile';
    this.el.dataset.participant = id;
    this.video = document.createElement('video');
    this.video.autoplay = true;
    this.video.playsInline = true;
    this.video.muted = local; // never play our own microphone back
    this.video.srcObject = this.stream;
    this.label = document.createElement('div');
    this.label.className = 'label';
    this.label.textContent = name;
    this.overlay = document.createElement('pre');
    this.overlay.className = 'stats';
    this.el.append(this.video, this.label, this.overlay);
    if (!local) this.watchFirstFrame();
    this.el.onclick = () => {
      if (local) return;
      app.overrides.clear(); // a click takes over from programmatic preferences
      app.main = app.main === id ? null : id;
      render();
    };
  }

  // watchFirstFrame records when this participant's first video frame is shown.
  watchFirstFrame() {
    const mark = () => {
      if (this.id in app.timing.firstFrameMs || this.video.videoWidth === 0) return false;
      app.timing.firstFrameMs[this.id] = performance.now() - app.timing.startedAt;
      return true;
    };
    const onFrame = () => {
      if (!mark() && this.video.requestVideoFrameCallback) this.video.requestVideoFrameCallback(onFrame);
    };
    if (this.video.requestVideoFrameCallback) this.video.requestVideoFrameCallback(onFrame);
    this.video.addEventListener('loadeddata', mark);
  }

  addTrack(track) {
    if (!this.stream.getTracks().includes(track)) this.stream.addTrack(track);
    this.play();
  }

  removeTrack(track) {
    this.stream.removeTrack(track);
  }

  play() {
    this.video.play().catch(() => {
      // Autoplay with sound needs a user gesture in normal browsers.
      this.video.muted = true;
      this.video.play().catch(() => {});
      this.label.textContent += ' (click page to unmute)';
      document.addEventListener('click', () => (this.video.muted = false), { once: true });
    });
  }

  setMuted(kind, muted) {
    this.el.classList.toggle(`muted-${kind}`, !!muted);
  }
}

function addTile(id, name, stream, local) {
  let t = app.tiles.get(id);
  if (!t) {
    t = new Tile(id, name, stream, local);
    app.tiles.set(id, t);
    render();
  }
  return t;
}

function removeTile(id) {
  const t = app.tiles.get(id);
  if (!t) return;
  t.el.remove();
  app.tiles.delete(id);
  app.sentLayer.delete(id);
  app.overrides.delete(id);
  if (app.main === id) app.main = null;
  render();
}

// desiredLayer is the preference for a remote participant's video under the current layout.
function desiredLayer(id, remoteCount) {
  if (app.overrides.has(id)) return app.overrides.get(id);
  if (app.main) return app.main === id ? 'large' : 'small';
  return remoteCount <= 2 ? 'large' : 'small';
}

function sendPreference(id, layer) {
  if (!app.session || app.sentLayer.get(id) === layer) return;
  app.sentLayer.set(id, layer);
  app.session.prefer(id, layer);
}

function render() {
  const grid = $('#grid');
  const main = $('#main');
  const thumbs = $('#thumbs');
  const focus = app.main && app.tiles.has(app.main);
  document.body.classList.toggle('focus', !!focus);
  const remote = [...app.tiles.keys()].filter((id) => id !== 'self' && !id.endsWith('/screen') && id !== 'self/screen');
  for (const [id, t] of app.tiles) {
    const parent = !focus ? grid : id === app.main ? main : thumbs;
    if (t.el.parentElement !== parent) parent.append(t.el);
    t.el.classList.toggle('main', focus && id === app.main);
  }
  grid.dataset.count = String(app.tiles.size);
  for (const id of remote) {
    const tile = app.tiles.get(id);
    if (tile.stream.getVideoTracks().length) sendPreference(id, desiredLayer(id, remote.length));
  }
}

// --- stats overlay ---

function rate(key, t, bytes, lost, recv) {
  const prev = app.prevStats.get(key);
  app.prevStats.set(key, { t, bytes, lost, recv });
  if (!prev || t <= prev.t) return { kbps: 0, loss: 0 };
  const kbps = ((bytes - prev.bytes) * 8) / (t - prev.t);
  const dl = lost - prev.lost;
  const dr = recv - prev.recv;
  return { kbps, loss: dl + dr > 0 ? (100 * Math.max(dl, 0)) / (dl + dr) : 0 };
}

async function updateStats() {
  if (!app.session || !app.session.joined) return;
  let s;
  try {
    s = await app.session.stats();
  } catch {
    return;
  }
  const now = performance.now();
  const byParticipant = new Map();
  for (const e of s.subscribed) {
    if (!byParticipant.has(e.participant)) byParticipant.set(e.participant, []);
    byParticipant.get(e.participant).push(e);
  }
  for (const [id, tile] of app.tiles) {
    if (id === 'self') {
      tile.overlay.textContent = publishingText(s, now);
      continue;
    }
    const list = byParticipant.get(id) || [];
    const v = list.find((e) => e.kind === 'video');
    let bytes = 0;
    let lost = 0;
    let recv = 0;
    for (const e of list) {
      bytes += e.bytesReceived;
      lost += e.packetsLost;
      recv += e.packetsReceived;
    }
    const r = rate(id, now, bytes, lost, recv);
    const lines = [`${(r.kbps / 1000).toFixed(2)} Mbit/s  rtt ${s.rtt.subscriber ?? '–'} ms  loss ${r.loss.toFixed(1)}%`];
    if (v) lines.push(`${v.frameWidth}x${v.frameHeight} ${Math.round(v.framesPerSecond)} fps  layer ${v.layer ?? '–'}  freezes ${v.freezeCount}`);
    tile.overlay.textContent = lines.join('\n');
  }
}

function publishingText(s, now) {
  const lines = [];
  let bytes = 0;
  for (const o of s.publishing) bytes += o.bytesSent;
  const r = rate('self', now, bytes, 0, 0);
  lines.push(`sending ${(r.kbps / 1000).toFixed(2)} Mbit/s  rtt ${s.rtt.publisher ?? '–'} ms`);
  for (const o of s.publishing) {
    if (o.kind === 'video') lines.push(`${o.rid ?? '-'}: ${o.frameWidth}x${o.frameHeight} ${Math.round(o.framesPerSecond)} fps${o.qualityLimitationReason && o.qualityLimitationReason !== 'none' ? ` (${o.qualityLimitationReason})` : ''}`);
  }
  return lines.join('\n');
}

// --- boot ---

$('#mute-audio').onclick = (e) => setMuted('audio', !e.target.dataset.muted);
$('#mute-video').onclick = (e) => setMuted('video', !e.target.dataset.muted);
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
$('#share').onclick = (e) => (e.target.dataset.muted ? stopScreen() : shareScreen()).catch((err) => setStatus(`screen share: ${err.message}`, true));

if (params.get('autojoin') === '1') {
  start(formValues());
} else {
  showForm();
}
