// network-demo.js: the live impairment controls of `qrtn demo` on the
// /network page. When the node serves the demo's control API
// (GET /api/demo/links answers), a section appears where every trunk's
// emulated link (delay, jitter, loss and mean loss burst, Gilbert-Elliott)
// can be changed, both directions at once, and every node stopped and
// started again. A plain `qrtn serve` node has no such API: nothing shows.

const main = document.getElementById('network');

function el(tag, attrs = {}, children = []) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== false && v !== undefined) e.setAttribute(k, v);
  }
  for (const c of [].concat(children)) if (c) e.append(c);
  return e;
}

async function call(method, path, body) {
  const r = await fetch(path, { method, cache: 'no-store', headers: body ? { 'Content-Type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  const j = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(j.error || `${path}: ${r.status}`);
  return j;
}

function num(name, value, step, title) {
  return el('input', { type: 'number', name, value: String(Math.round(value * 1000) / 1000), step, min: 0, title, class: 'demo-num' });
}

function linkRow(l, note) {
  const f = el('form', { class: 'demo-link' });
  const fields = [
    num('delay_ms', l.delay_ms, 5, 'one-way delay, ms'),
    num('jitter_ms', l.jitter_ms, 5, 'uniform jitter around the delay, ms'),
    num('loss', 100 * l.loss, 1, 'mean loss, %'),
    num('burst', l.burst, 1, 'mean loss run in packets (Gilbert-Elliott); 0 or 1: independent loss'),
  ];
  f.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { from: l.from, to: l.to };
    for (const i of fields) body[i.name] = Number(i.value);
    body.loss /= 100;
    try {
      await call('POST', '/api/demo/link', body);
      note(`${l.from}–${l.to}: ${body.delay_ms} ms, ${Math.round(100 * body.loss)}% loss${body.burst > 1 ? ` in runs of ${body.burst}` : ''}`);
    } catch (err) {
      note(err.message, true);
    }
  });
  const cells = [el('td', { class: 'l', text: `${l.from} – ${l.to}` }), ...fields.map((i) => el('td', {}, i)),
    el('td', {}, el('button', { type: 'submit', text: 'apply' }))];
  // A form cannot wrap table cells: the inputs name it with form=.
  const id = `demo-${l.from}-${l.to}`;
  f.id = id;
  for (const i of fields) i.setAttribute('form', id);
  cells.at(-1).firstChild.setAttribute('form', id);
  return [el('tr', {}, cells), f];
}

function nodeRow(n, note, refresh) {
  const act = async (action) => {
    try {
      await call('POST', '/api/demo/node', { name: n.name, action });
      note(`${n.name}: ${action === 'stop' ? 'stopped' : 'started'}`);
    } catch (err) {
      note(err.message, true);
    }
    setTimeout(refresh, 500);
  };
  return el('tr', {}, [
    el('td', { class: 'l', text: n.name }), el('td', { class: 'l', text: `${n.role}, ${n.region}` }),
    el('td', { class: n.running ? 'up' : 'down', text: n.running ? 'running' : 'stopped' }),
    el('td', {}, n.running
      ? el('button', { type: 'button', text: 'stop', onclick: () => act('stop') })
      : el('button', { type: 'button', text: 'start', onclick: () => act('start') })),
  ]);
}

async function render(section) {
  const [{ links }, { nodes }] = await Promise.all([call('GET', '/api/demo/links'), call('GET', '/api/demo/nodes')]);
  const status = el('p', { class: 'hint', role: 'status' });
  const note = (msg, bad = false) => {
    status.textContent = msg;
    status.className = bad ? 'hint down' : 'hint';
  };
  const forms = [];
  const linkRows = links.map((l) => {
    const [row, form] = linkRow(l, note);
    forms.push(form);
    return row;
  });
  const head = (cols) => el('tr', {}, cols.map((c, i) => el('th', { class: i === 0 ? 'l' : '', text: c })));
  section.replaceChildren(
    el('h2', { text: 'Demo controls (qrtn demo)' }),
    el('p', { class: 'hint', text: 'Impair a trunk both ways, or stop a node, and watch FEC ramp up, routes move and stalls get attributed on /quality.' }),
    // In scrolling boxes, as the page's other tables: the page fits a phone.
    el('div', { class: 'scroll' }, el('table', {}, [head(['trunk', 'delay ms', 'jitter ms', 'loss %', 'burst', '']), ...linkRows])),
    ...forms,
    el('div', { class: 'scroll' }, el('table', {}, [head(['node', 'role', 'state', '']), ...nodes.map((n) => nodeRow(n, note, () => render(section)))])),
    status,
    el('p', { class: 'hint' }, [el('a', { href: '/quality', text: 'Open /quality' }), ' for calls, stalls and where each began.']),
  );
}

async function init() {
  const r = await fetch('/api/demo/links', { cache: 'no-store' }).catch(() => null);
  if (!r || !r.ok) return; // not a demo network
  const section = el('section', { id: 'demo-controls' });
  main.prepend(section);
  await render(section).catch((e) => section.replaceChildren(el('p', { class: 'hint down', text: e.message })));
}

init();
