'use strict';
// examples/dashboard/server.js -- abtest's live results dashboard.
//
// One Node process between the browser and PostgreSQL (docs/dashboard.md):
//   - reads the statistics (abt_metric_stats, abt_variant_stats,
//     abt_timeline) with node-postgres as the dashboard role, which row-level
//     security limits to the owner's experiments; the browser never sees a
//     database credential, only JSON and server-sent events from here;
//   - follows the supabase_realtime publication (feed.js) and, when a change
//     of an experiment arrives, reads that experiment's statistics again, at
//     most once per ABT_DASHBOARD_INTERVAL_MS (1000) per experiment, and
//     pushes them to the pages showing it.  Nothing is read on a timer.
//
// Environment: DATABASE_URL (a role that is not a superuser and has the
// REPLICATION attribute), ABT_DASHBOARD_OWNER (the owner's uuid, set as
// request.jwt.claim.sub: abtest.current_owner()), ABT_DASHBOARD_PORT (0: a
// free port), ABT_DASHBOARD_HOST (127.0.0.1), ABT_DASHBOARD_PUBLICATION
// (supabase_realtime), ABT_DASHBOARD_SEQUENTIAL (1: sequential tests, safe to
// look at all the time), ABT_DASHBOARD_HOURS (24, the timeline).
// Prints the page's URL as its first line of standard output; logs go to
// standard error.

const http = require('http');
const fs = require('fs');
const path = require('path');
const { Pool } = require('pg');
const { startFeed } = require('./feed');

const env = process.env;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const config = {
  url: env.DATABASE_URL,
  owner: env.ABT_DASHBOARD_OWNER || '',
  host: env.ABT_DASHBOARD_HOST || '127.0.0.1',
  port: Number(env.ABT_DASHBOARD_PORT || 0),
  publication: env.ABT_DASHBOARD_PUBLICATION || 'supabase_realtime',
  sequential: (env.ABT_DASHBOARD_SEQUENTIAL || '1') !== '0',
  hours: Number(env.ABT_DASHBOARD_HOURS || 24),
  intervalMs: Number(env.ABT_DASHBOARD_INTERVAL_MS || 1000),
};
const log = (msg) => process.stderr.write(`dashboard: ${msg}\n`);

if (!config.url) { log('DATABASE_URL is not set'); process.exit(2); }
if (config.owner && !UUID.test(config.owner)) { log('ABT_DASHBOARD_OWNER is not a uuid'); process.exit(2); }

// The owner, for row-level security, on every connection of the pool.
const pool = new Pool({
  connectionString: config.url,
  max: 4,
  application_name: 'abtest dashboard',
  options: config.owner ? `-c request.jwt.claim.sub=${config.owner}` : undefined,
});
pool.on('error', (e) => log(`pool: ${e.message}`));

// ------------------------------------------------------------ the numbers

async function readOnly(fn) {
  const c = await pool.connect();
  try {
    // one snapshot for all of an answer's queries
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const r = await fn(c);
    await c.query('COMMIT');
    return r;
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    c.release();
  }
}

// The experiments the role sees, with status and visitors.
async function listExperiments() {
  return readOnly(async (c) => {
    const ex = await c.query(`SELECT id, name, status, created_at FROM abtest.experiments
                               ORDER BY created_at DESC, name`);
    const ids = ex.rows.map((r) => r.id);
    const vs = ids.length
      ? await c.query(`SELECT experiment_id, element_id, sum(allocations)::text AS visitors,
                              sum(conversions)::text AS converters
                         FROM abt_variant_stats($1::uuid[]) GROUP BY 1, 2`, [ids])
      : { rows: [] };
    const visitors = new Map();
    for (const r of vs.rows) {
      const prev = visitors.get(r.experiment_id);
      if (!prev || BigInt(r.visitors) > BigInt(prev)) visitors.set(r.experiment_id, r.visitors);
    }
    return {
      experiments: ex.rows.map((r) => ({ ...r, visitors: visitors.get(r.id) || '0' })),
      computedAt: new Date().toISOString(),
    };
  });
}

// One experiment's page: per element and goal, abt_metric_stats; per
// variant, abt_variant_stats (visitors, SRM); the hourly timeline.
async function experimentStats(id) {
  return readOnly(async (c) => {
    const ex = await c.query('SELECT id, name, status FROM abtest.experiments WHERE id = $1', [id]);
    if (ex.rows.length === 0) return null;
    const metrics = await c.query(
      `SELECT element_id, element_name, variant_id, variant_name, is_control, goal, metric,
              visitors::text, converters::text, mean, uplift, ci_low, ci_high, p_value,
              chance_to_beat_control, p_value_holm, p_value_bh, is_sequential
         FROM abt_metric_stats(ARRAY[$1]::uuid[], sequential => $2)`, [id, config.sequential]);
    const variants = await c.query(
      `SELECT element_id, element_name, selector, variant_id, variant_name, is_control, weight,
              allocations::text, conversions::text, conversion_rate, srm_p_value
         FROM abt_variant_stats(ARRAY[$1]::uuid[]) ORDER BY element_id, variant_position`, [id]);
    const timeline = await c.query(
      `SELECT bucket, assignments::text, conversions::text, conversion_rate
         FROM abt_timeline($1, $2)`, [id, config.hours]);
    return {
      ...ex.rows[0],
      sequential: config.sequential,
      metrics: metrics.rows,
      variants: variants.rows,
      timeline: timeline.rows,
      computedAt: new Date().toISOString(),
    };
  });
}

// ------------------------------------------------ pushing, at most 1/s each

// topic ('list' or an experiment id) -> Set of SSE responses
const subscribers = new Map();
const counters = { recomputes: 0, pushes: 0, marks: 0 };

// Recomputes a topic when it is marked, at most once per intervalMs: the
// first change after a quiet second is answered at once, later ones within
// the second are folded into one recompute at its end.
const throttle = new Map();
function mark(topic) {
  counters.marks++;
  if (!subscribers.has(topic)) return;
  let st = throttle.get(topic);
  if (!st) { st = { last: 0, timer: null, running: false, dirty: false }; throttle.set(topic, st); }
  st.dirty = true;
  if (st.timer || st.running) return;
  st.timer = setTimeout(() => recompute(topic, st), Math.max(0, st.last + config.intervalMs - Date.now()));
}
async function recompute(topic, st) {
  st.timer = null;
  st.dirty = false;
  st.running = true;
  st.last = Date.now();
  counters.recomputes++;
  try {
    const data = topic === 'list' ? await listExperiments() : await experimentStats(topic);
    send(topic, data);
  } catch (e) {
    log(`recompute ${topic}: ${e.message}`);
  } finally {
    st.running = false;
    if (st.dirty) mark(topic);
  }
}
function send(topic, data) {
  const subs = subscribers.get(topic);
  if (!subs) return;
  const msg = `data: ${JSON.stringify(data)}\n\n`;
  for (const res of subs) { res.write(msg); counters.pushes++; }
}

// element_variants changes carry element_id: which experiment it is.
const elementExperiment = new Map();
async function loadElements() {
  const r = await pool.query('SELECT id, experiment_id FROM abtest.experiment_elements');
  for (const row of r.rows) elementExperiment.set(row.id, row.experiment_id);
}
let elementsReload = null;
function onChange(change) {
  if (change.truncate) { for (const t of subscribers.keys()) mark(t); return; }
  let exp = null;
  if (change.keyName === 'experiment_id') exp = change.key;
  else if (change.keyName === 'element_id' && change.key) {
    exp = elementExperiment.get(change.key);
    if (!exp && !elementsReload) {     // a new element (or another owner's)
      elementsReload = loadElements().catch((e) => log(e.message)).then(() => {
        elementsReload = null;
        const e2 = elementExperiment.get(change.key);
        if (e2) { mark(e2); mark('list'); }
      });
    }
  } else {
    // a variant's delete carries only its id: any open page may be concerned
    for (const t of subscribers.keys()) mark(t);
    return;
  }
  if (exp) { mark(exp); mark('list'); }
}

// The publication does not carry abtest.experiments (docs/realtime.md), and
// pausing an experiment whose counters are already settled changes no
// published row.  So the server compares the
// experiments' status and config_version (one small read of the
// experiments table, never the statistics) every ABT_DASHBOARD_STATUS_MS
// (2000); a difference marks the experiment like a change would.
const known = new Map();   // experiment id -> "status/config_version"
async function watchStatus() {
  const r = await pool.query('SELECT id, status, config_version::text AS v FROM abtest.experiments');
  const seen = new Set();
  for (const row of r.rows) {
    seen.add(row.id);
    const sig = `${row.status}/${row.v}`;
    if (known.has(row.id) && known.get(row.id) !== sig) { mark(row.id); mark('list'); }
    known.set(row.id, sig);
  }
  for (const id of known.keys()) if (!seen.has(id)) { known.delete(id); mark(id); mark('list'); }
}
const statusTimer = setInterval(() => watchStatus().catch((e) => log(`status: ${e.message}`)),
  Number(env.ABT_DASHBOARD_STATUS_MS || 2000));

// ------------------------------------------------------------------ HTTP

const PUBLIC = path.join(__dirname, 'public');
const STATIC = {
  '/static/app.js': [path.join(PUBLIC, 'app.js'), 'text/javascript'],
  '/static/style.css': [path.join(PUBLIC, 'style.css'), 'text/css'],
  '/static/chart.umd.min.js': [path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'text/javascript'],
};
const HEADERS = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' };

function serveFile(res, file, type) {
  fs.readFile(file, (err, body) => {
    if (err) { res.writeHead(500); res.end(); return; }
    res.writeHead(200, { ...HEADERS, 'Content-Type': `${type}; charset=utf-8` });
    res.end(body);
  });
}
function json(res, status, data) {
  res.writeHead(status, { ...HEADERS, 'Content-Type': 'application/json' });
  res.end(JSON.stringify(data));
}

// GET /api/events?topic=list|<uuid>: the current numbers at once, then a
// message after each recompute (server-sent events).
async function events(req, res, topic) {
  res.writeHead(200, { ...HEADERS, 'Content-Type': 'text/event-stream', Connection: 'keep-alive' });
  res.write('retry: 1000\n\n');
  if (!subscribers.has(topic)) subscribers.set(topic, new Set());
  subscribers.get(topic).add(res);
  req.on('close', () => {
    const subs = subscribers.get(topic);
    if (subs) { subs.delete(res); if (subs.size === 0) subscribers.delete(topic); }
  });
  try {
    const data = topic === 'list' ? await listExperiments() : await experimentStats(topic);
    res.write(`data: ${JSON.stringify(data)}\n\n`);
  } catch (e) {
    log(`events ${topic}: ${e.message}`);
  }
}

let feed = null;
const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  const p = url.pathname;
  try {
    if (req.method !== 'GET') { res.writeHead(405); res.end(); return; }
    if (p === '/' || /^\/experiments\/[0-9a-f-]{36}$/i.test(p)) {
      serveFile(res, path.join(PUBLIC, 'index.html'), 'text/html');
    } else if (STATIC[p]) {
      serveFile(res, ...STATIC[p]);
    } else if (p === '/api/experiments') {
      json(res, 200, await listExperiments());
    } else if (/^\/api\/experiments\/[0-9a-f-]{36}$/i.test(p)) {
      const id = p.split('/').pop();
      if (!UUID.test(id)) { json(res, 404, { error: 'not found' }); return; }
      const data = await experimentStats(id);
      if (data) json(res, 200, data); else json(res, 404, { error: 'not found' });
    } else if (p === '/api/events') {
      const topic = url.searchParams.get('topic') || 'list';
      if (topic !== 'list' && !UUID.test(topic)) { json(res, 400, { error: 'bad topic' }); return; }
      await events(req, res, topic);
    } else if (p === '/api/feed') {
      // what the server received and did (bench/dashboard.sh reads it)
      json(res, 200, { ...(feed ? feed.stats : {}), ...counters, now: Date.now() });
    } else {
      res.writeHead(404); res.end();
    }
  } catch (e) {
    log(`${p}: ${e.message}`);
    if (!res.headersSent) json(res, 500, { error: 'internal error' });
  }
});

async function main() {
  // Never a superuser: a superuser bypasses row-level security, so the
  // dashboard would show every owner's experiments.
  const who = await pool.query(
    'SELECT current_user AS name, rolsuper, rolreplication, rolbypassrls FROM pg_roles WHERE rolname = current_user');
  const role = who.rows[0];
  if (role.rolsuper) { log(`role ${role.name} is a superuser: use the dashboard role (docs/dashboard.md)`); process.exit(2); }
  if (!role.rolreplication) { log(`role ${role.name} lacks REPLICATION, needed to follow the publication (docs/dashboard.md)`); process.exit(2); }
  await loadElements();
  await watchStatus();
  feed = await startFeed(config.url, config.publication, onChange, log);
  feed.done.catch((e) => { log(`replication ended: ${e.message}`); shutdown(1); });
  log(`following publication ${config.publication} through temporary slot ${feed.stats.slot} as ${role.name}`);
  server.listen(config.port, config.host, () => {
    const a = server.address();
    process.stdout.write(`http://${config.host}:${a.port}/\n`);
  });
}

let stopping = false;
async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  clearInterval(statusTimer);
  server.close();
  for (const subs of subscribers.values()) for (const res of subs) res.end();
  // ending the replication connection drops the temporary slot
  if (feed) await feed.stop().catch(() => {});
  await pool.end().catch(() => {});
  process.exit(code);
}
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));
process.on('SIGHUP', () => shutdown(0));

main().catch((e) => { log(e.message); shutdown(1); });
