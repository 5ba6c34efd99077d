// qrtn-join.js: find the right access node, then join it.
//
// Opened on any node, a page asks that node's scheduler (GET /api/join)
// where to join. When the network has several regions, it first probes one
// node per region in parallel (GET /api/ping, at most ~300 ms in all) and
// asks again with the round-trip times it measured; the answer names the
// node, its URL, a token for it, the ranked alternatives and the reasons.
// joinPlaced then joins the chosen node and, if that fails, the next
// alternatives in order, so a node that died since the last link state
// costs one failed attempt, not the call.
//
//   import { place, joinPlaced, placementLabel } from '/qrtn-join.js';
//   const d = await place(location.origin, { room, name, role, region, node });
//   const session = await joinPlaced(d, { room, name, role }, { mode: 'meeting' });
//   console.log(placementLabel(d));   // "eu-1 · 12 ms · same room, same region"
//
// No dependencies, no build step.

import { join } from './qrtn.js';

/** How long the probes may take in all, and how long one join attempt may take. */
export const PROBE_BUDGET_MS = 300;
export const JOIN_ATTEMPT_MS = 6000;

/**
 * Asks the scheduler of the node at entry where to join.
 * @param {string} entry the HTTP base of the node the page was opened on
 * @param {{room: string, name?: string, role?: string, region?: string, node?: string, policy?: string, identity?: string, token?: string}} v (identity: keep this one, as a session that moves does)
 * @returns {Promise<object|null>} the decision (GET /api/join's answer, plus
 *   rtts: the measured round trips by node, and ms: how long placing took),
 *   or null when the node has no scheduler
 */
export async function place(entry, v) {
  const started = performance.now();
  const base = new URL('/', entry).href;
  const q = new URLSearchParams({ room: v.room });
  for (const k of ['name', 'role', 'region', 'node', 'policy', 'identity']) if (v[k]) q.set(k, v[k]);
  const headers = v.token ? { Authorization: `Bearer ${v.token}` } : {};
  let d = await ask(base, q, headers);
  if (!d) return null;
  d.rtts = {};
  if (d.probes && d.probes.length > 1) {
    d.rtts = await probeAll(d.probes, PROBE_BUDGET_MS, v.room);
    if (Object.keys(d.rtts).length > 0) {
      if (d.identity) q.set('identity', d.identity);
      q.set('rtt', Object.entries(d.rtts).map(([n, ms]) => `${n}:${ms.toFixed(1)}`).join(','));
      const rtts = d.rtts;
      d = await ask(base, q, headers);
      d.rtts = rtts;
    }
  }
  d.ms = performance.now() - started; // asking and probing
  return d;
}

async function ask(base, q, headers) {
  const r = await fetch(`${base}api/join?${q}`, { headers, cache: 'no-store' });
  if (r.status === 404) return null; // an older node: no scheduler
  let body;
  try {
    body = await r.json();
  } catch {
    throw new Error(`GET /api/join: ${r.status}`);
  }
  if (!r.ok) throw new Error(`${body.code || r.status}: ${body.error || 'scheduler refused'}`);
  return body;
}

/**
 * Measures the round trip to each target in parallel, within budgetMs in
 * all. Each target is pinged twice: the first request may pay for a new
 * connection, so the lower of the two counts (from Resource Timing when the
 * node allows it, which leaves connection set-up out). Targets that do not
 * answer in time are left out.
 * @param {{node: string, url: string}[]} targets
 * @param {number} budgetMs
 * @param {string} room the room the client means to join: the first ping
 *   of each target names it, so that the node can warm the room
 * @returns {Promise<Object<string, number>>} ms by node
 */
export async function probeAll(targets, budgetMs = PROBE_BUDGET_MS, room = '') {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), budgetMs);
  const out = {};
  await Promise.allSettled(
    targets.map(async (t) => {
      for (let i = 0; i < 2; i++) {
        const ms = await pingOnce(t.url, ctl.signal, i === 0 ? room : '');
        if (ms == null) return;
        out[t.node] = Math.min(out[t.node] ?? Infinity, ms);
      }
    }),
  );
  clearTimeout(timer);
  return out;
}

async function pingOnce(url, signal, room) {
  // Naming the room lets the node ask for the room's key frames before the
  // join (trunk/warm.go): a first frame from another node comes sooner.
  const warm = room ? `&room=${encodeURIComponent(room)}` : '';
  const u = `${new URL('api/ping', url).href}?n=${Math.random().toString(36).slice(2)}${warm}`;
  const t0 = performance.now();
  try {
    const r = await fetch(u, { cache: 'no-store', signal });
    await r.arrayBuffer();
    if (!r.ok) return null;
  } catch {
    return null;
  }
  let ms = performance.now() - t0;
  const e = performance.getEntriesByName(u).pop();
  if (e && e.requestStart > 0 && e.responseStart >= e.requestStart) ms = e.responseStart - e.requestStart;
  return ms;
}

/**
 * Joins the chosen node, or else each alternative in turn.
 * @param {object} d a decision from place()
 * @param {{room: string, name?: string, role?: string, token?: string}} v
 * @param {object} opts join() options
 * @returns {Promise<import('./qrtn.js').Session>} with session.placement = d and session.node set
 */
export async function joinPlaced(d, v, opts = {}) {
  const tried = [];
  const candidates = [d, ...(d.alternatives || [])];
  for (const c of candidates) {
    try {
      const token = c === d && d.token ? d.token : await tokenFor(c, v, d.identity);
      const session = await joinWithin(c.url, token, { ...opts, node: { name: c.node, region: c.region } }, JOIN_ATTEMPT_MS);
      session.placement = { ...d, joined: c.node, failed: tried };
      return session;
    } catch (e) {
      console.warn(`qrtn: joining ${c.node} failed:`, e);
      tried.push(`${c.node}: ${e.message || e}`);
    }
  }
  throw new Error(`no access node could be joined (${tried.join('; ')})`);
}

// tokenFor: the caller's own token, else a development token from that node.
async function tokenFor(c, v, identity) {
  if (v.token) return v.token;
  const q = new URLSearchParams({ room: v.room, name: v.name || '', role: v.role || 'host' });
  if (identity) q.set('identity', identity);
  const r = await fetch(`${new URL('api/token', c.url).href}?${q}`, { cache: 'no-store' });
  if (!r.ok) throw new Error(`GET /api/token on ${c.node}: ${r.status}`);
  return (await r.json()).token;
}

function joinWithin(url, token, opts, ms) {
  return new Promise((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      reject(new Error(`no answer within ${ms} ms`));
    }, ms);
    join(url, token, opts).then(
      (s) => {
        clearTimeout(timer);
        if (late) s.leave();
        else resolve(s);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/**
 * One line saying where the page joined and why: "eu-1 · 12 ms · same room,
 * same region". The RTT is the one measured when there is one, else the
 * scheduler's estimate (marked ~).
 */
export function placementLabel(d, node = d.node) {
  const c = node === d.node ? d.breakdown : (d.alternatives || []).find((a) => a.node === node);
  const measured = d.rtts && d.rtts[node];
  const rtt = measured != null ? `${Math.round(measured)} ms` : c ? `~${Math.round(c.rtt_ms)} ms` : '';
  const why = node === d.node ? d.reasons : ['the chosen node failed'];
  return [node, rtt, (why || []).join(', ')].filter(Boolean).join(' · ');
}
