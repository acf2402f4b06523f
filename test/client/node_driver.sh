#!/usr/bin/env bash
# test/client/node_driver.sh -- abtest from Node.js through node-postgres (pg).
#
# Skipped ("1..0 # SKIP reason", which scripts/test reports as a skip, not a
# pass) when node/npm are missing or `npm install pg` fails (e.g. no registry
# access). Otherwise installs pg into $ABT_TMP and runs a
# node script that connects over TCP (127.0.0.1) and, with parameterised
# queries (extended protocol, values bound by the driver):
#   - abt_assign(uuid literal, $1) / abt_assign($1, $2): the jsonb arrives
#     parsed as an object with the documented keys and types, elements in
#     position order with content parsed as objects; new=true then new=false
#     with the same variants; a named prepared statement reused many times;
#   - errors carry their SQLSTATE in err.code: unknown experiment P0002, NULL
#     visitor 22004, empty visitor 22023;
#   - abt_convert returns true / false / null as JS booleans and null;
#   - abt_assign_batch gives a JS array; abt_assign_bulk takes a JS array;
#   - a pool of 8 connections doing 400 concurrent calls for 50 visitors:
#     each visitor has one variant set and exactly one new=true answer.
set -uo pipefail

: "${PGHOST:?}" "${PGPORT:?}" "${ABT_TMP:?}" "${ABT_BIN:?}"

TAG=$$_$RANDOM
DB=abt_node_$TAG
WORK=$ABT_TMP/node.$TAG
EXP=e0000000-0000-4000-8000-0000000000e1

skip_all() { echo "1..0 # SKIP $*"; exit 0; }

command -v node >/dev/null 2>&1 || skip_all "no node"
command -v npm >/dev/null 2>&1 || skip_all "no npm"

q() { (cd / && runuser -u postgres -- env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER=postgres \
        "$ABT_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"); }
cleanup() {
    q postgres "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
    rm -rf -- "$WORK"
}
trap cleanup EXIT
trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM

mkdir -p "$WORK/node" || { echo "Bail out! cannot create $WORK"; exit 1; }
# A private npm cache and no global config side effects.
if ! (cd "$WORK/node" && timeout -k 5 90 npm install --no-audit --no-fund --no-save \
        --no-package-lock --loglevel=error --cache "$WORK/npm-cache" pg@8 \
        >"$WORK/npm.log" 2>&1); then
    sed 's/^/# /' "$WORK/npm.log" | tail -n 10
    skip_all "npm install pg failed"
fi
[ -f "$WORK/node/node_modules/pg/package.json" ] || skip_all "npm install pg installed nothing"

q postgres "CREATE DATABASE $DB" >/dev/null || { echo "Bail out! CREATE DATABASE $DB"; exit 1; }
q "$DB" "
CREATE EXTENSION abtest;
INSERT INTO abtest.experiments (id, name) VALUES ('$EXP', 'node');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, selector, position) VALUES
  ('e1000000-0000-4000-8000-000000000001', '$EXP', 'headline', 'h1', 0),
  ('e2000000-0000-4000-8000-000000000002', '$EXP', 'footer', NULL, 1);
INSERT INTO abtest.element_variants (element_id, name, content, weight, is_control, position) VALUES
  ('e1000000-0000-4000-8000-000000000001', 'plain', '{\"text\": \"Hi\", \"n\": [1, 2]}', 1, true, 0),
  ('e1000000-0000-4000-8000-000000000001', 'fancy', '{\"text\": \"Hi \\u00e9\"}', 1, false, 1),
  ('e2000000-0000-4000-8000-000000000002', 'x', '{}', 1, true, 0),
  ('e2000000-0000-4000-8000-000000000002', 'y', '{\"k\": null}', 1, false, 1);
UPDATE abtest.experiments SET status = 'active' WHERE id = '$EXP';
" >/dev/null || { echo "Bail out! could not set up $DB"; exit 1; }

cat >"$WORK/node/test.js" <<'JS'
'use strict';
const { Client, Pool } = require('pg');
const EXP = process.env.ABT_EXP;
const conn = { host: '127.0.0.1', port: Number(process.env.PGPORT), user: 'postgres',
               database: process.env.ABT_DB, statement_timeout: 20000 };
let n = 0, failed = 0;
function ok(cond, desc, ...diag) {
  n++;
  if (cond) { console.log(`ok ${n} - ${desc}`); return; }
  failed++;
  console.log(`not ok ${n} - ${desc}`);
  for (const d of diag) console.log(`#   ${typeof d === 'string' ? d : JSON.stringify(d)}`);
}
async function errorOf(client, sql, params) {
  try { await client.query(sql, params); return null; } catch (e) { return e; }
}
const KEYS = ['converted', 'elements', 'enrolled', 'experiment_id', 'new', 'status'];
const ELEMENT_KEYS = ['content', 'element', 'element_id', 'is_control', 'selector', 'variant',
                      'variant_id'];
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

async function main() {
  const c = new Client(conn);
  await c.connect();

  // 1. uuid as a literal, visitor bound as $1 (extended protocol)
  let r = await c.query(`SELECT abt_assign('${EXP}', $1) AS a`, ['visitor-1']);
  const a = r.rows[0].a;
  ok(isObject(a), 'abt_assign jsonb comes back parsed as an object', typeof a);
  // the answer is the same for every visitor with the same variants and
  // flags (README: no per-visitor timestamp), so exactly these keys
  const keys = Object.keys(a).sort();
  ok(JSON.stringify(keys) === JSON.stringify(KEYS), 'the answer has the documented keys', keys);
  ok(a.experiment_id === EXP && a.status === 'active' && a.enrolled === true && a.new === true
     && a.converted === false, 'experiment_id, status, enrolled, new, converted values and types', a);
  ok(Array.isArray(a.elements) && a.elements.length === 2, 'elements is an array of 2', a.elements);
  ok(a.elements.every((e) => JSON.stringify(Object.keys(e).sort()) === JSON.stringify(ELEMENT_KEYS)),
     'each element has the documented keys', a.elements);
  ok(a.elements[0].element === 'headline' && a.elements[0].selector === 'h1'
     && a.elements[1].element === 'footer' && a.elements[1].selector === null,
     'elements in position order, NULL selector as null', a.elements);
  ok(a.elements.every((e) => isObject(e.content) && typeof e.is_control === 'boolean'),
     'content is an object, is_control a boolean', a.elements);

  // 2. both arguments bound; returning visitor
  r = await c.query('SELECT abt_assign($1, $2) AS a', [EXP, 'visitor-1']);
  const b = r.rows[0].a;
  ok(b.new === false && JSON.stringify(b.elements) === JSON.stringify(a.elements),
     'second call with bound uuid: new=false, same elements', b);

  // 3. a named prepared statement reused (plan and config caches)
  const seen = new Map();
  let consistent = true;
  for (let i = 0; i < 60; i++) {
    const v = `visitor-${i % 20}`;
    const res = await c.query({ name: 'assign', text: 'SELECT abt_assign($1::uuid, $2::text) AS a',
                                values: [EXP, v] });
    const ids = res.rows[0].a.elements.map((e) => e.variant_id).join(',');
    if (seen.has(v) && seen.get(v) !== ids) consistent = false;
    seen.set(v, ids);
  }
  ok(consistent, 'named prepared statement: 60 calls, each visitor keeps its variants');

  // 4. errors with their SQLSTATE
  let e = await errorOf(c, 'SELECT abt_assign($1, $2)', ['00000000-0000-4000-8000-000000000000', 'v']);
  ok(e && e.code === 'P0002' && /does not exist/.test(e.message),
     'unknown experiment: error code P0002', e && { code: e.code, message: e.message });
  e = await errorOf(c, 'SELECT abt_convert($1, $2)', ['00000000-0000-4000-8000-000000000000', 'v']);
  ok(e && e.code === 'P0002', 'abt_convert of an unknown experiment: P0002', e && e.code);
  e = await errorOf(c, 'SELECT abt_assign($1, $2)', [EXP, null]);
  ok(e && e.code === '22004', 'NULL visitor: 22004', e && { code: e.code, message: e.message });
  e = await errorOf(c, 'SELECT abt_assign($1, $2)', [EXP, '']);
  ok(e && e.code === '22023', 'empty visitor: 22023', e && { code: e.code, message: e.message });
  r = await c.query('SELECT 1 AS one');
  ok(r.rows[0].one === 1, 'the connection is usable after the errors');

  // 5. conversions: true, false, null
  r = await c.query('SELECT abt_convert($1, $2, $3, $4) AS c', [EXP, 'visitor-1', 'signup', 12.5]);
  const first = r.rows[0].c;
  r = await c.query('SELECT abt_convert($1, $2) AS c', [EXP, 'visitor-1']);
  const second = r.rows[0].c;
  r = await c.query('SELECT abt_convert($1, $2) AS c', [EXP, 'never-assigned']);
  ok(first === true && second === false && r.rows[0].c === null,
     'abt_convert returns true, false, null', [first, second, r.rows[0].c]);
  r = await c.query('SELECT abt_assign($1, $2) AS a', [EXP, 'visitor-1']);
  ok(r.rows[0].a.converted === true, 'the answer shows converted=true afterwards');

  // 6. batch and bulk with driver-bound arrays
  r = await c.query('SELECT abt_assign_batch($1::uuid[], $2) AS a', [[EXP, EXP], 'visitor-2']);
  ok(Array.isArray(r.rows[0].a) && r.rows[0].a.length === 2 && r.rows[0].a.every(isObject),
     'abt_assign_batch: a JS array of 2 answers', r.rows[0].a);
  const ids = Array.from({ length: 25 }, (_, i) => `bulk-${i}`).concat(['visitor-1', 'bulk-3']);
  r = await c.query('SELECT user_id, assignment FROM abt_assign_bulk($1, $2)', [EXP, ids]);
  ok(r.rows.length === ids.length && r.rows.every((row, i) => row.user_id === ids[i]
       && isObject(row.assignment)),
     'abt_assign_bulk with a JS array: one row per id, in order', r.rows.length);
  ok(r.rows.find((row) => row.user_id === 'visitor-1').assignment.new === false,
     'abt_assign_bulk: a known visitor is returning');
  await c.end();

  // 7. concurrency through a pool
  const pool = new Pool({ ...conn, max: 8 });
  const calls = [];
  for (let i = 0; i < 400; i++) {
    calls.push(pool.query('SELECT abt_assign($1, $2) AS a', [EXP, `crowd-${i % 50}`])
      .then((res) => res.rows[0].a));
  }
  const answers = await Promise.all(calls);
  const byVisitor = new Map();
  for (let i = 0; i < answers.length; i++) {
    const v = `crowd-${i % 50}`;
    const ent = byVisitor.get(v) || { ids: new Set(), news: 0 };
    ent.ids.add(answers[i].elements.map((el) => el.variant_id).join(','));
    if (answers[i].new) ent.news++;
    byVisitor.set(v, ent);
  }
  const bad = [...byVisitor].filter(([, ent]) => ent.ids.size !== 1 || ent.news !== 1);
  ok(byVisitor.size === 50 && bad.length === 0,
     '400 concurrent calls, 50 visitors: one variant set and one new=true each',
     bad.slice(0, 3).map(([v, ent]) => ({ v, ids: [...ent.ids], news: ent.news })));
  r = await pool.query(`SELECT (SELECT sum(total_allocations) FROM abtest.variant_totals)::int AS alloc,
                               (SELECT count(*) FROM abtest.assignments)::int AS rows`);
  ok(r.rows[0].alloc === 2 * r.rows[0].rows,
     'counters: 2 allocations (one per element) per assignment', r.rows[0]);
  await pool.end();
}

const timer = setTimeout(() => { console.log('Bail out! node test timed out'); process.exit(1); },
                         25000);
main().then(() => {
  clearTimeout(timer);
  console.log(`1..${n}`);
  process.exit(failed ? 1 : 0);
}, (err) => {
  clearTimeout(timer);
  console.log(`not ok ${n + 1} - unexpected error: ${err && err.stack}`.split('\n').join('\n# '));
  console.log(`1..${n + 1}`);
  process.exit(1);
});
JS

cd "$WORK/node" || exit 1
ABT_EXP=$EXP ABT_DB=$DB timeout -k 5 30 node test.js
