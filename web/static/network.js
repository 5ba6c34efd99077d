// The network page: polls /api/network every second and draws the nodes,
// trunks, routes and live trunk metrics this node knows.
'use strict';

const $ = (id) => document.getElementById(id);
const fmtMs = (v) => (v ? v.toFixed(1) + ' ms' : '–');
const fmtPct = (v) => (v * 100).toFixed(1) + ' %';
const fmtRate = (bps) => {
  if (!bps) return '–';
  if (bps >= 1e6) return (bps / 1e6).toFixed(1) + ' Mbit/s';
  return (bps / 1e3).toFixed(0) + ' kbit/s';
};
const fmtBytes = (b) => {
  if (b >= 1 << 30) return (b / (1 << 30)).toFixed(2) + ' GiB';
  if (b >= 1 << 20) return (b / (1 << 20)).toFixed(1) + ' MiB';
  if (b >= 1 << 10) return (b / (1 << 10)).toFixed(0) + ' KiB';
  return b + ' B';
};
const esc = (s) => String(s ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));

function table(el, head, rows) {
  const th = head.map((h, i) => `<th class="${i === 0 ? 'l' : ''}">${esc(h)}</th>`).join('');
  const body = rows.length
    ? rows.map((r) => '<tr>' + r.map((c, i) => `<td class="${i === 0 ? 'l' : ''}">${c}</td>`).join('') + '</tr>').join('')
    : `<tr><td class="l" colspan="${head.length}">none</td></tr>`;
  el.innerHTML = `<thead><tr>${th}</tr></thead><tbody>${body}</tbody>`;
}

function nodeLink(n) {
  if (!n.http) return esc(n.name);
  return `<a href="${esc(n.http)}network">${esc(n.name)}</a>`;
}

// layout places access nodes on the left and right edges by region and
// forwarding nodes in the middle column.
function layout(nodes) {
  const access = nodes.filter((n) => n.role !== 'forwarding').sort((a, b) => (a.region + a.name).localeCompare(b.region + b.name));
  const fwd = nodes.filter((n) => n.role === 'forwarding').sort((a, b) => a.name.localeCompare(b.name));
  const pos = {};
  const left = access.slice(0, Math.ceil(access.length / 2));
  const right = access.slice(Math.ceil(access.length / 2));
  const column = (list, x) => list.forEach((n, i) => { pos[n.name] = { x, y: ((i + 1) * 360) / (list.length + 1) }; });
  column(left, 110);
  column(fwd, 400);
  column(right, 690);
  return pos;
}

function drawGraph(st) {
  const svg = $('graph');
  const pos = layout(st.nodes);
  const media = new Set();
  for (const f of st.flows) {
    if (f.upstream && f.upstream !== st.node.name) media.add([f.upstream, st.node.name].sort().join('|'));
    for (const d of f.down || []) media.add([d, st.node.name].sort().join('|'));
    // The whole planned path, origin to here: every trunk the media crosses.
    const path = f.path || [];
    for (let i = 1; i < path.length; i++) media.add([path[i - 1], path[i]].sort().join('|'));
  }
  const seen = new Set();
  let out = '';
  for (const l of st.links) {
    const key = [l.from, l.to].sort().join('|');
    if (seen.has(key) || !pos[l.from] || !pos[l.to]) continue;
    seen.add(key);
    const back = st.links.find((x) => x.from === l.to && x.to === l.from);
    const up = l.up && (!back || back.up);
    const a = pos[l.from], b = pos[l.to];
    const cls = !up ? 'down' : media.has(key) ? 'media' : '';
    out += `<line class="${cls}" x1="${a.x}" y1="${a.y}" x2="${b.x}" y2="${b.y}"></line>`;
    if (up) {
      // The label sits beside the line's middle, pushed off it along the
      // normal, so that it never covers a node's name below the node.
      const dx = b.x - a.x, dy = b.y - a.y, len = Math.hypot(dx, dy) || 1;
      const nx = -dy / len, ny = dx / len, off = ny > 0 ? -12 : 12;
      const mx = (a.x + b.x) / 2 + nx * off, my = (a.y + b.y) / 2 + ny * off + 4;
      out += `<text class="metric edge" x="${mx.toFixed(0)}" y="${my.toFixed(0)}" text-anchor="middle">${l.rtt_ms.toFixed(0)} ms · ${(l.loss * 100).toFixed(0)} % loss</text>`;
    }
  }
  for (const n of st.nodes) {
    const p = pos[n.name];
    if (!p) continue;
    const cls = `node ${n.role} ${n.name === st.node.name ? 'self' : ''}`;
    const label = n.http ? `<a href="${esc(n.http)}network"><text x="${p.x}" y="${p.y + 34}" text-anchor="middle">${esc(n.name)}</text></a>`
      : `<text x="${p.x}" y="${p.y + 34}" text-anchor="middle">${esc(n.name)}</text>`;
    out += `<g class="${cls}"><circle cx="${p.x}" cy="${p.y}" r="18"></circle>${label}` +
      `<text class="metric" x="${p.x}" y="${p.y + 47}" text-anchor="middle">${esc(n.region)} · ${esc(n.role)}</text></g>`;
  }
  svg.innerHTML = out;
}

function render(st) {
  const me = st.node;
  $('self').textContent = `${me.name} · region ${me.region} · ${me.role}`;
  $('updated').textContent = 'updated ' + new Date(st.time).toLocaleTimeString();
  $('demo').hidden = me.role === 'forwarding';
  drawGraph(st);
  table($('trunks'), ['peer', 'state', 'handshake', 'RTT', 'min RTT', 'loss', 'bandwidth', 'pacing', 'FEC', 'FEC K/M', 'rebuilt', 'retransmit',
    'sent', 'received', 'media out', 'media in', 'expired', 'tracks out', 'tracks in', 'connects'],
  st.trunks.map((t) => [
    esc(t.peer) + (t.dialer ? ' →' : ' ←'),
    t.up ? '<span class="up">up</span>' : `<span class="down" title="${esc(t.down_reason)}">down</span>`,
    esc(t.handshake || ''), fmtMs(t.rtt_ms), fmtMs(t.min_rtt_ms), fmtPct(t.loss), fmtRate(t.bandwidth_bps), fmtRate(t.pacing_bps),
    fmtPct(t.fec_ratio), t.fec_k ? `${t.fec_k}/${t.fec_m}` : 'off',
    `<span title="packets this node rebuilt / the peer rebuilt from our repairs">${t.fec_recovered || 0} / ${t.fec_peer_recovered || 0}</span>`,
    fmtPct(t.retransmit_ratio), fmtBytes(t.bytes_sent), fmtBytes(t.bytes_received),
    fmtBytes(t.media_bytes_sent), fmtBytes(t.media_bytes_received), t.messages_expired, t.flows_out, t.flows_in, t.connects,
  ]));
  table($('flows'), ['room', 'origin', 'track', 'kind', 'layer', 'mode', 'upstream', 'path', 'downstream', 'local', 'packets', 'switches'],
    st.flows.map((f) => [esc(f.room), esc(f.origin), esc(f.track), esc(f.kind), f.layer, esc(f.mode),
      esc(f.upstream || 'none') + (f.next ? ' → ' + esc(f.next) : ''), esc((f.path || []).join(' → ')),
      esc((f.down || []).join(', ')), f.local ? 'yes' : '', f.packets, f.switches]));
  table($('rooms'), ['room', 'mode', 'participants by node'],
    st.rooms.map((r) => [esc(r.room), esc(r.mode), esc(Object.entries(r.participants).map(([n, c]) => `${n}: ${c}`).join(', '))]));
  table($('links'), ['from', 'to', 'state', 'RTT', 'loss', 'bandwidth'],
    st.links.map((l) => [nodeLink(st.nodes.find((n) => n.name === l.from) || { name: l.from }), esc(l.to),
      l.up ? '<span class="up">up</span>' : '<span class="down">down</span>', fmtMs(l.rtt_ms), fmtPct(l.loss), fmtRate(l.bandwidth_bps)]));
}

async function poll() {
  try {
    const r = await fetch('/api/network', { cache: 'no-store' });
    if (r.ok) {
      const st = await r.json();
      // Go encodes an empty list as null: a node with no media yet has no flows.
      for (const k of ['nodes', 'links', 'trunks', 'flows', 'rooms']) st[k] = st[k] || [];
      render(st);
    }
  } catch (e) {
    $('updated').textContent = 'unreachable: ' + e;
  }
  setTimeout(poll, 1000);
}
poll();
