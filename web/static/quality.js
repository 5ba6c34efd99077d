// quality.js: the /quality investigation page. It reads the node's quality
// API (node/quality_api.go): rooms and SLA figures of a time window, the
// alerts, a room's calls with every stall attributed, and one call's
// timeline with the series of each trunk hop on its route. Plots are SVG,
// drawn here with no library.

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const SVG = 'http://www.w3.org/2000/svg';
const WINDOWS = { '15m': 15 * 60e3, '1h': 3600e3, '6h': 6 * 3600e3, '24h': 24 * 3600e3, '168h': 7 * 24 * 3600e3 };
const COLORS = ['#6cb6ff', '#ff9f43', '#3fb97a', '#c38cff', '#e3b341', '#4fc3f7', '#f16a6a'];

// el builds an element (SVG when ns is given) with attributes and children.
function el(tag, attrs = {}, children = [], ns = null) {
  const e = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') e.textContent = v;
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v);
  }
  for (const c of [].concat(children)) if (c) e.append(c);
  return e;
}
const svg = (tag, attrs, children) => el(tag, attrs, children, SVG);

const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const day = (ms) => new Date(ms).toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
const pct = (x, d = 1) => `${(100 * x).toFixed(d)}%`;

function status(msg, error = false) {
  $('status').textContent = msg;
  $('status').className = error ? 'status error' : 'status';
}

async function api(path) {
  const r = await fetch(path, { cache: 'no-store' });
  let body = {};
  try {
    body = await r.json();
  } catch {
    /* not JSON: the status says enough */
  }
  if (!r.ok) throw new Error(body.error || `${path}: ${r.status}`);
  return body;
}

function window_() {
  const since = params.get('since') || '24h';
  const to = Date.now();
  return { from: to - (WINDOWS[since] || WINDOWS['24h']), to, since };
}

// --- the filter form ---------------------------------------------------

function initForm() {
  const f = $('find');
  f.room.value = params.get('room') || '';
  f.participant.value = params.get('participant') || '';
  f.since.value = params.get('since') || '24h';
  f.addEventListener('submit', (e) => {
    e.preventDefault();
    for (const k of ['room', 'participant', 'since']) {
      const v = f[k].value.trim();
      if (v) params.set(k, v);
      else params.delete(k);
    }
    params.delete('session');
    history.replaceState(null, '', `?${params}`);
    load();
  });
}

// --- overview: SLA, rooms, alerts ---------------------------------------

function card(k, v, note, good) {
  return el('div', { class: `card ${good === undefined ? '' : good ? 'ok' : 'bad'}` }, [
    el('div', { class: 'v', text: v }), el('div', { class: 'k', text: k }), el('div', { class: 't', text: note })]);
}

async function loadSLA(w) {
  const s = await api(`/api/quality/sla?from=${w.from}&to=${w.to}`);
  const t = s.total;
  $('sla-scope').textContent = `· ${t.calls} calls, ${t.minutes} participant-minutes`;
  const latency = t.e2e_p95_ms ? `${Math.round(t.e2e_p95_ms)} ms` : '–';
  $('sla').replaceChildren(
    card('stall compliance', pct(t.stall_compliance, 2), 'minutes without a stall · SLA ≥ 99.5%', t.stall_compliance >= 0.995),
    card('join time p95', t.join_p95_ms ? `${Math.round(t.join_p95_ms)} ms` : '–', `p50 ${Math.round(t.join_p50_ms)} ms · SLA < 5 s`, !t.join_p95_ms || t.join_p95_ms < 5000),
    card('end to end p95', latency, `${t.e2e_estimated ? 'estimated from routes · ' : ''}SLA < 400 ms`, !t.e2e_p95_ms || t.e2e_p95_ms < 400),
    card('stalls', `${t.video_stalls + t.audio_stalls}`, `${t.video_stalls} video (600 ms) · ${t.audio_stalls} audio (200 ms)`),
  );
  const pairs = Object.entries(s.region_pairs || {}).filter(([k]) => !k.startsWith('→'));
  for (const [k, f] of pairs.slice(0, 4)) {
    $('sla').append(card(`${k}`, pct(f.stall_compliance, 2), `${f.minutes} stream-minutes · e2e p95 ${Math.round(f.e2e_p95_ms)} ms`, f.stall_compliance >= 0.995));
  }
}

async function loadRooms(w) {
  const { rooms } = await api(`/api/quality/rooms?from=${w.from}&to=${w.to}`);
  $('room-list').replaceChildren(...rooms.map((r) => el('option', { value: r.room })));
  const items = rooms.map((r) => {
    const a = el('a', { href: `?room=${encodeURIComponent(r.room)}&since=${w.since}`, text: r.room });
    return el('li', {}, [el('span', { class: 'grow' }, a), el('span', { class: 'muted small', text: `${r.participants} people · ${r.calls} calls` }),
      el('span', { class: 'muted small', text: day(r.last) })]);
  });
  $('rooms').replaceChildren(...(items.length ? items : [el('li', { class: 'empty', text: 'No calls in this window.' })]));
}

async function loadAlerts(w) {
  const { alerts } = await api(`/api/quality/alerts?from=${w.from}&to=${w.to}`);
  const items = (alerts || []).slice(0, 100).map((a) => el('li', {}, [
    el('span', { class: `pill ${a.state}`, text: a.state }),
    el('span', { class: 'grow', title: a.message, text: a.message }),
    el('span', { class: 'muted small', text: `${a.node} · ${clock(a.at)}` })]));
  $('alerts').replaceChildren(...(items.length ? items : [el('li', { class: 'empty', text: 'No alerts: every link and node stayed within the SLA.' })]));
}

// --- a room's calls -------------------------------------------------------

async function loadCalls(w) {
  const room = params.get('room');
  if (!room) {
    $('calls-panel').hidden = true;
    return [];
  }
  const q = new URLSearchParams({ room, from: w.from, to: w.to });
  if (params.get('participant')) q.set('participant', params.get('participant'));
  const { calls } = await api(`/api/quality/calls?${q}`);
  $('calls-panel').hidden = false;
  $('calls-h').textContent = `Calls in ${room}`;
  const opt = [2, 4, 6]; // columns a phone leaves out
  const head = el('tr', {}, ['Participant', 'Node', 'Joined', 'Join time', 'Minutes', 'Video stalls', 'Audio stalls', 'Compliance']
    .map((h, i) => el('th', { class: `${i >= 3 ? 'num' : ''} ${opt.includes(i) ? 'opt' : ''}`, text: h })));
  const rows = calls.map((c) => {
    const tr = el('tr', { class: `row${params.get('session') === c.session ? ' sel' : ''}`, tabindex: 0 }, [
      el('td', { text: c.name && c.name !== c.participant ? `${c.name}` : c.participant, title: c.participant }),
      el('td', { text: c.node }), el('td', { class: 'opt', text: day(c.joined_at) }),
      el('td', { class: `num ${c.join_ms >= 5000 ? 'bad-t' : ''}`, text: c.join_ms ? `${c.join_ms} ms` : '–' }),
      el('td', { class: 'num opt', text: c.minutes }),
      el('td', { class: `num ${c.video_stalls ? 'bad-t' : ''}`, text: c.video_stalls }),
      el('td', { class: `num opt ${c.audio_stalls ? 'bad-t' : ''}`, text: c.audio_stalls }),
      el('td', { class: `num ${c.stall_compliance < 0.995 ? 'bad-t' : 'ok-t'}`, text: pct(c.stall_compliance, 2) })]);
    const open = () => {
      params.set('session', c.session);
      history.replaceState(null, '', `?${params}`);
      for (const r of $('calls').querySelectorAll('tr.sel')) r.classList.remove('sel');
      tr.classList.add('sel');
      loadCall(c.session).catch((e) => status(e.message, true));
    };
    tr.addEventListener('click', open);
    tr.addEventListener('keydown', (e) => e.key === 'Enter' && open());
    return tr;
  });
  $('calls').replaceChildren(el('thead', {}, head), el('tbody', {}, rows.length ? rows : [el('tr', {}, el('td', { colspan: 8, class: 'muted', text: 'No calls match.' }))]));
  return calls;
}

// --- one call ------------------------------------------------------------

function causeText(c) {
  return c.where + (c.hop ? ` ${c.hop}` : c.node ? ` ${c.node}` : '');
}

async function loadCall(session) {
  const tl = await api(`/api/quality/call?session=${encodeURIComponent(session)}`);
  const c = tl.call;
  const end = c.left_at || Date.now();
  $('call-panel').hidden = false;
  $('call-h').textContent = `${c.name || c.participant} on ${c.node}`;
  $('call-head').replaceChildren(
    el('span', {}, [el('b', { text: c.name || c.participant }), ` ${c.participant}`]),
    el('span', { text: `${c.node} (${c.region})` }),
    el('span', { text: `${day(c.joined_at)} → ${c.left_at ? clock(c.left_at) : 'in call'}` }),
    el('span', { text: `join ${c.join_ms ? `${c.join_ms} ms` : '–'}` }),
    el('span', { class: c.stall_compliance < 0.995 ? 'bad-t' : 'ok-t', text: `compliance ${pct(c.stall_compliance, 2)}` }));
  const stalls = c.stalls || [];
  $('stalls').replaceChildren(...(stalls.length ? stalls.map((s) => el('li', {}, [
    el('span', { class: 'when', text: `${clock(s.at)} · ${s.kind} ${s.duration_ms} ms from ${s.publisher}` }),
    el('span', { class: `cause ${s.cause.where}`, text: causeText(s.cause) }),
    el('span', { class: 'evidence', text: s.cause.evidence })])) : [el('li', { class: 'muted', text: 'No stalls: every frame and every audio packet came in time.' })]));
  $('timeline').replaceChildren(timeline(tl, c.joined_at, end));
  shown = { tl, t0: c.joined_at, t1: end };
  drawRecv(tl, c.joined_at, end, stalls);
  drawHops(tl, c.joined_at, end, stalls);
  $('call-panel').scrollIntoView({ behavior: 'smooth', block: 'start' });
}

// timeline draws the call's rows: join phases, layer switches, stalls and
// other events, against wall-clock time.
function timeline(tl, t0, t1) {
  // Drawn at the container's width, so that its text stays legible on a phone.
  const W = Math.max(320, Math.round($('timeline').clientWidth || 900));
  const left = W < 500 ? 52 : 86, right = 12, rowH = 26, rows = ['join', 'layers', 'stalls', 'events'];
  const H = rows.length * rowH + 24;
  const span = Math.max(t1 - t0, 1000);
  const x = (t) => left + ((Math.min(Math.max(t, t0), t1) - t0) / span) * (W - left - right);
  const g = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'call timeline' });
  rows.forEach((r, i) => {
    g.append(svg('text', { x: 4, y: i * rowH + 17, text: r }));
    g.append(svg('line', { x1: left, x2: W - right, y1: i * rowH + 13, y2: i * rowH + 13, class: 'grid', stroke: '#262b33' }));
  });
  const c = tl.call;
  const phases = [['token', c.token_ms], ['websocket', c.ws_ms], ['ICE', c.ice_ms], ['DTLS', c.dtls_ms], ['first frame', c.first_frame_ms]];
  let prev = 0;
  phases.forEach(([name, ms], i) => {
    if (!ms || ms <= prev) return;
    const a = x(c.joined_at + prev), b = Math.max(x(c.joined_at + ms), a + 2);
    g.append(svg('rect', { x: a, y: 4, width: b - a, height: 18, fill: ['#3949ab', '#5c6bc0', '#7986cb', '#9fa8da', '#c5cae9'][i] }, svg('title', { text: `${name}: ${ms} ms` })));
    prev = ms;
  });
  for (const e of tl.events || []) {
    const isLayer = e.kind === 'layer';
    const row = isLayer ? 1 : 3;
    g.append(svg('rect', { x: x(e.at) - 1.5, y: row * rowH + 4, width: 3, height: 18, fill: isLayer ? '#6cb6ff' : '#e3b341' },
      svg('title', { text: `${clock(e.at)} ${e.kind}: ${e.detail}` })));
  }
  for (const s of c.stalls || []) {
    const a = x(s.at), b = Math.max(x(s.at + s.duration_ms), a + 3);
    g.append(svg('rect', { x: a, y: 2 * rowH + 4, width: b - a, height: 18, rx: 2, fill: '#f16a6a' },
      svg('title', { text: `${clock(s.at)} ${s.kind} stall ${s.duration_ms} ms: ${causeText(s.cause)} — ${s.cause.evidence}` })));
  }
  const n = Math.max(2, Math.floor((W - left) / 110));
  ticks(t0, t1, n).forEach((t, i) => {
    const anchor = i === 0 ? 'start' : i === n ? 'end' : 'middle';
    g.append(svg('text', { x: x(t), y: H - 4, 'text-anchor': anchor, text: clock(t) }));
  });
  return g;
}

function ticks(t0, t1, n) {
  const out = [];
  for (let i = 0; i <= n; i++) out.push(t0 + ((t1 - t0) * i) / n);
  return out;
}

// plot draws one small line chart: series [{name, points: [[t, v]]}].
function plot(title, unit, series, t0, t1, stalls, fmt = num) {
  const W = 320, H = 120, left = 34, right = 6, top = 6, bottom = 16;
  let yMax = 0;
  for (const s of series) for (const [, v] of s.points) yMax = Math.max(yMax, v);
  yMax = yMax > 0 ? niceMax(yMax) : 1;
  const span = Math.max(t1 - t0, 1000);
  const x = (t) => left + ((t - t0) / span) * (W - left - right);
  const y = (v) => top + (1 - v / yMax) * (H - top - bottom);
  const g = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title });
  for (const s of stalls) {
    const a = x(Math.max(s.at, t0)), b = Math.max(x(Math.min(s.at + s.duration_ms, t1)), a + 2);
    g.append(svg('rect', { x: a, y: top, width: b - a, height: H - top - bottom, class: 'stallband' }));
  }
  for (const f of [0, 0.5, 1]) {
    g.append(svg('line', { x1: left, x2: W - right, y1: y(f * yMax), y2: y(f * yMax), class: 'grid' }));
    g.append(svg('text', { x: left - 3, y: y(f * yMax) + 3, 'text-anchor': 'end', text: fmt(f * yMax) }));
  }
  g.append(svg('text', { x: left, y: H - 3, text: clock(t0) }));
  g.append(svg('text', { x: W - right, y: H - 3, 'text-anchor': 'end', text: clock(t1) }));
  series.forEach((s, i) => {
    const pts = s.points.filter(([t]) => t >= t0 - 5000 && t <= t1 + 5000);
    if (!pts.length) return;
    const d = pts.map(([t, v], j) => `${j ? 'L' : 'M'}${x(Math.min(Math.max(t, t0), t1)).toFixed(1)},${y(v).toFixed(1)}`).join('');
    g.append(svg('path', { d, class: 'series', stroke: s.color || COLORS[i % COLORS.length] }, svg('title', { text: s.name })));
  });
  const last = series.map((s) => s.points.at(-1)?.[1]).filter((v) => v !== undefined);
  const box = el('div', { class: 'plot' }, [el('div', { class: 'title' }, [el('span', { text: title }),
    el('span', { text: last.length ? `${series.map((s) => s.name).join(' / ')} · now ${last.map(fmt).join(' / ')} ${unit}` : 'no data' })]), g]);
  return box;
}

// num prints a figure with the precision its size needs.
function num(v) {
  if (Number.isInteger(v) || Math.abs(v) >= 10) return Math.round(v).toString();
  return v.toFixed(1);
}

function niceMax(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

// drawRecv plots, per received publisher, video frame rate, jitter buffer
// and packet loss, with the stalls shaded.
function drawRecv(tl, t0, t1, stalls) {
  const byPub = new Map();
  for (const s of tl.samples || []) {
    const k = `${s.publisher} ${s.kind}`;
    if (!byPub.has(k)) byPub.set(k, []);
    byPub.get(k).push(s);
  }
  const plots = [];
  for (const [k, list] of byPub) {
    const [pub, kind] = k.split(' ');
    const st = stalls.filter((s) => s.publisher === pub && s.kind === kind);
    const loss = list.map((s) => [s.end, s.packets_lost + s.packets_received ? (100 * s.packets_lost) / (s.packets_lost + s.packets_received) : 0]);
    if (kind === 'video') {
      plots.push(plot(`${pub}'s video: frames/s`, 'fps', [{ name: 'fps', points: list.map((s) => [s.end, s.fps]) }], t0, t1, st));
    } else {
      plots.push(plot(`${pub}'s audio: concealed ms`, 'ms', [{ name: 'concealed', points: list.map((s) => [s.end, s.concealed_ms]) }], t0, t1, st));
    }
    plots.push(plot(`${pub}'s ${kind}: loss and jitter buffer`, '% / ms', [
      { name: 'loss %', points: loss, color: '#f16a6a' }, { name: 'jitter buffer ms', points: list.map((s) => [s.end, s.jitter_buffer_ms]), color: '#6cb6ff' }], t0, t1, st));
  }
  $('recv').replaceChildren(...(plots.length ? plots : [el('p', { class: 'muted', text: 'No reports from this participant\u2019s client.' })]));
}

// drawHops plots loss, RTT, FEC redundancy and bitrate of every trunk hop
// on the routes of what the participant received.
function drawHops(tl, t0, t1, stalls) {
  const names = Object.keys(tl.hops || {}).sort();
  $('hops-note').textContent = names.length
    ? `Each hop as its sending node measured it. Shaded: this participant\u2019s stalls. Routes: ${[...new Set((tl.routes || []).filter((r) => r.path?.length).map((r) => r.path.join(' → ')))].join('; ')}`
    : 'No trunk on the route: publisher and subscriber share the node.';
  const plots = [];
  for (const name of names) {
    const pts = tl.hops[name];
    plots.push(plot(`${name}: loss and expired media`, '% / msgs', [
      { name: 'loss %', points: pts.map((p) => [p.at, 100 * p.loss]), color: '#f16a6a' },
      { name: 'expired', points: pts.map((p) => [p.at, p.expired]), color: '#e3b341' }], t0, t1, stalls));
    plots.push(plot(`${name}: RTT`, 'ms', [{ name: 'RTT', points: pts.map((p) => [p.at, p.rtt_ms]) }], t0, t1, stalls));
    plots.push(plot(`${name}: FEC`, '% / pkts', [
      { name: 'repair M/K %', points: pts.map((p) => [p.at, p.fec_k ? (100 * p.fec_m) / p.fec_k : 0]), color: '#3fb97a' },
      { name: 'rebuilt', points: pts.map((p) => [p.at, p.rebuilt]), color: '#c38cff' }], t0, t1, stalls));
    plots.push(plot(`${name}: bitrate`, 'kbit/s', [{ name: 'sent', points: pts.map((p) => [p.at, p.kbps]), color: '#4fc3f7' }], t0, t1, stalls));
  }
  $('hops').replaceChildren(...plots);
}

// --- page ------------------------------------------------------------------

// shown is the call on display, redrawn when the window changes width.
let shown = null;
let resizing = 0;
addEventListener('resize', () => {
  clearTimeout(resizing);
  resizing = setTimeout(() => shown && $('timeline').replaceChildren(timeline(shown.tl, shown.t0, shown.t1)), 150);
});

async function load() {
  const w = window_();
  status('Loading…');
  try {
    const st = await api('/api/quality/status');
    $('node').textContent = `on ${st.node} (${st.region})${st.store ? ` · ${st.store.split(' ')[0]} store` : ''}`;
    await Promise.all([loadSLA(w), loadRooms(w), loadAlerts(w)]);
    const calls = await loadCalls(w);
    const session = params.get('session');
    if (session) await loadCall(session);
    else $('call-panel').hidden = true;
    const room = params.get('room');
    const hint = session ? 'Hover a bar or a stall for details.' : 'Pick one for its timeline.';
    status(room ? `${calls.length} calls in ${room} since ${day(w.from)}. ${hint}` : 'Pick a room, or type one above.');
  } catch (e) {
    status(e.message, true);
  }
}

initForm();
load();
