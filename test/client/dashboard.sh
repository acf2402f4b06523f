#!/usr/bin/env bash
# test/client/dashboard.sh -- the live results dashboard (examples/dashboard)
# in a real browser: Debian's chromium, headless, driven by puppeteer-core
# (npm, no browser download).
#
# On the suite's server (wal_level = logical): a database with the demo's
# data (demo/demo.sql), the dashboard's roles (examples/dashboard/roles.sql,
# names unique to this run) and the demo experiment given to an owner; then
# `examples/dashboard/run DATABASE_URL` as the login role (no superuser).
# Checks:
#   - run prints the page's URL as its first line; the server follows the
#     publication through a temporary slot;
#   - the list shows the experiment, active, with its visitors;
#   - the experiment's page shows, per element, goal and variant, exactly
#     the numbers of abt_metric_stats (visitors, converters, mean, uplift and
#     interval, p-value, Holm, BH, chance to beat control, sequential flag;
#     read back with psql as JSON and compared as the same doubles), the SRM
#     p-value of abt_variant_stats and the timeline of abt_timeline;
#   - after 2,000 new visitors (abt_assign) and 200 conversions (abt_convert)
#     the page shows the new totals within 3 seconds, without a reload, and
#     again equals abt_metric_stats;
#   - pausing the experiment shows it as paused;
#   - stopping run leaves no replication slot behind.
# A screenshot goes to the scratch directory (dashboard.png; kept with
# ABT_KEEP=1) and, when ABT_DASHBOARD_SCREENSHOT names a file, there too
# (docs/dashboard.png is made that way).  Skipped, saying why, without
# chromium, node or npm, or when the npm packages cannot be installed.
set -uo pipefail

: "${PGHOST:?}" "${PGPORT:?}" "${ABT_TMP:?}" "${ABT_BIN:?}"

TAG=$$_$RANDOM
DB=abt_dash_$TAG
GROUP=abt_dash_group_$TAG
LOGIN=abt_dash_app_$TAG
OWNER=00000000-0000-4000-8000-0000000000d1
EXP=00000000-0000-0000-0000-00000000e001
WORK=$ABT_TMP/dashboard.$TAG
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

. "$(dirname "${BASH_SOURCE[0]}")/lib/tap.sh"
skip_all() { echo "1..0 # SKIP $*"; exit 0; }

CHROMIUM=$(command -v chromium || true)
[ -n "$CHROMIUM" ] || skip_all "no chromium (apt-get install chromium)"
command -v node >/dev/null 2>&1 || skip_all "no node"
command -v npm >/dev/null 2>&1 || skip_all "no npm"

RUN_PID=""
cleanup() {
    if [ -n "$RUN_PID" ]; then kill -TERM "$RUN_PID" 2>/dev/null; wait "$RUN_PID" 2>/dev/null; fi
    q postgres "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
    q postgres "DROP ROLE IF EXISTS $LOGIN" >/dev/null 2>&1
    q postgres "DROP ROLE IF EXISTS $GROUP" >/dev/null 2>&1
    if [ "${ABT_KEEP:-0}" = 1 ]; then diag "ABT_KEEP=1: kept $WORK"; else rm -rf -- "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM

{ mkdir -p "$WORK" && chown postgres: "$WORK"; } || bail "cannot create $WORK"
. "$ROOT/examples/dashboard/lib.sh"
MODULES=$(dashboard_modules dev 2>"$WORK/npm.err") || {
    sed 's/^/# /' "$WORK/npm.err" | tail -n 10
    skip_all "npm ci of examples/dashboard failed"
}

# ------------------------------------------------------------ the database
q postgres "CREATE DATABASE $DB" >/dev/null || bail "CREATE DATABASE $DB"
(cd "$ROOT" && as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" "$ABT_BIN/psql" -X -q -v ON_ERROR_STOP=1 \
    -d "$DB" -f "$ROOT/demo/demo.sql") >"$WORK/demo.log" 2>&1 || { tail -n 20 "$WORK/demo.log" | sed 's/^/# /'; bail "demo/demo.sql failed"; }
as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" "$ABT_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$DB" \
    -v group="$GROUP" -v login="$LOGIN" -f "$ROOT/examples/dashboard/roles.sql" >/dev/null \
    || bail "examples/dashboard/roles.sql failed"
q "$DB" "UPDATE abtest.experiments SET user_id = '$OWNER'" >/dev/null || bail "owner"
is "$(q "$DB" "SELECT rolsuper || ' ' || rolreplication FROM pg_roles WHERE rolname = '$LOGIN'")" "false true" \
   "the dashboard's login role is no superuser and has REPLICATION"

# ------------------------------------------------------------ the server
ABT_DASHBOARD_OWNER=$OWNER "$ROOT/examples/dashboard/run" "postgresql://$LOGIN@127.0.0.1:$PGPORT/$DB" \
    >"$WORK/run.out" 2>"$WORK/run.err" &
RUN_PID=$!
for _ in $(seq 1 300); do
    [ -s "$WORK/run.out" ] && break
    kill -0 "$RUN_PID" 2>/dev/null || break
    sleep 0.1
done
URL=$(head -n1 "$WORK/run.out")
if [[ $URL =~ ^http://127\.0\.0\.1:[0-9]+/$ ]]; then
    ok "examples/dashboard/run prints the page's URL first ($URL)"
else
    not_ok "examples/dashboard/run prints the page's URL first (got '$URL')"
    sed 's/^/#   /' "$WORK/run.err" | tail -n 20
    bail "no dashboard"
fi
is "$(q postgres "SELECT count(*) || ' ' || bool_and(temporary) || ' ' || bool_and(active) || ' ' || min(plugin)
                    FROM pg_replication_slots WHERE database = '$DB'")" "1 true true pgoutput" \
   "the server follows the publication through one temporary, active pgoutput slot"

# ------------------------------------------------------------ the browser
cat >"$WORK/drive.js" <<'JS'
'use strict';
// Drives the dashboard; prints "PASS\tdescription" or "FAIL\tdescription\tdetail".
const puppeteer = require('puppeteer-core');
const { execFileSync } = require('child_process');
const E = process.env;
const EXP = E.EXP;
const say = (pass, desc, detail) =>
  console.log(`${pass ? 'PASS' : 'FAIL'}\t${desc}${pass ? '' : `\t${JSON.stringify(detail).slice(0, 1500)}`}`);
const psql = (sql) => execFileSync(E.PSQL, ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1',
  '-p', E.PGPORT, '-U', 'postgres', '-d', E.DB, '-c', sql], { encoding: 'utf8' }).trim();
const FIELDS = ['visitors', 'converters', 'mean', 'uplift', 'ci_low', 'ci_high', 'p_value', 'p_value_holm',
                'p_value_bh', 'chance_to_beat_control', 'is_sequential'];
const expectedMetrics = () => JSON.parse(psql(`SELECT json_agg(json_build_object(
    'variant_id', variant_id, 'goal', goal, 'metric', metric, ${FIELDS.map((f) => `'${f}', ${f}`).join(', ')}))
  FROM abt_metric_stats(ARRAY['${EXP}']::uuid[], sequential => true)`));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The metric rows as the page shows them: data-value and text of each cell.
const pageMetrics = (page) => page.evaluate(() => [...document.querySelectorAll('tr[data-variant]')].map((tr) => {
  const cell = (f) => tr.querySelector(`[data-field="${f}"]`);
  const ci = cell('ci');
  return {
    variant_id: tr.dataset.variant, goal: tr.dataset.goal, metric: tr.dataset.metric,
    visitors: cell('visitors').textContent, converters: cell('converters').textContent,
    mean: cell('mean').dataset.value, meanText: cell('mean').textContent,
    uplift: cell('uplift').dataset.value, ci_low: ci.dataset.low, ci_high: ci.dataset.high,
    p_value: cell('p_value').dataset.value, p_value_holm: cell('p_value_holm').dataset.value,
    p_value_bh: cell('p_value_bh').dataset.value,
    chance_to_beat_control: cell('chance_to_beat_control').dataset.value,
    is_sequential: cell('is_sequential').dataset.value,
  };
}));

// Differences between the page and abt_metric_stats (empty: equal).
function compare(shown, expected) {
  const diffs = [];
  if (shown.length !== expected.length) diffs.push({ rows: shown.length, expected: expected.length });
  for (const x of expected) {
    const s = shown.find((r) => r.variant_id === x.variant_id && r.goal === x.goal && r.metric === x.metric);
    if (!s) { diffs.push({ missing: x }); continue; }
    const num = (v) => (v === '' ? null : Number(v));
    for (const f of FIELDS) {
      let got;
      if (f === 'visitors' || f === 'converters') got = s[f] === '–' ? null : Number(s[f].replace(/,/g, ''));
      else if (f === 'is_sequential') got = s[f] === 'true';
      else got = num(s[f]);
      if (got !== x[f]) diffs.push({ row: `${x.variant_id}/${x.goal}/${x.metric}`, field: f, page: s[f], sql: x[f] });
    }
    if (x.mean !== null && s.meanText !== x.mean.toFixed(4)) diffs.push({ field: 'mean text', page: s.meanText, sql: x.mean });
  }
  return diffs;
}

async function waitFor(page, fn, arg, ms) {
  const t0 = Date.now();
  for (;;) {
    if (await page.evaluate(fn, arg)) return Date.now() - t0;
    if (Date.now() - t0 > ms) return null;
    await sleep(50);
  }
}

async function main() {
  const browser = await puppeteer.launch({
    executablePath: E.CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1180, height: 900 });
    page.on('pageerror', (e) => say(false, 'no JavaScript error on the page', e.message));

    // the list
    await page.goto(E.URL, { waitUntil: 'load' });
    await page.waitForSelector(`tr[data-experiment="${EXP}"] [data-field="status"]`, { timeout: 15000 });
    const listed = await page.evaluate((id) => {
      const tr = document.querySelector(`tr[data-experiment="${id}"]`);
      return { status: tr.querySelector('[data-field="status"]').dataset.value,
               visitors: tr.querySelector('[data-field="visitors"]').textContent.replace(/,/g, '') };
    }, EXP);
    const visitors = psql(`SELECT count(*) FROM abtest.assignments WHERE experiment_id = '${EXP}'`);
    say(listed.status === 'active' && listed.visitors === visitors,
        'the list shows the experiment, active, with its visitors', { listed, visitors });

    // the experiment
    await page.goto(`${E.URL}experiments/${EXP}`, { waitUntil: 'load' });
    await page.waitForSelector('tr[data-variant]', { timeout: 15000 });
    let diffs = compare(await pageMetrics(page), expectedMetrics());
    say(diffs.length === 0, 'the page shows the numbers of abt_metric_stats for every element, goal and variant', diffs);
    const srmPage = await page.evaluate(() => [...document.querySelectorAll('section[data-element]')]
      .map((s) => `${s.dataset.element}=${s.querySelector('[data-field="srm_p_value"]').dataset.value}`).join(' '));
    const srmSql = JSON.parse(psql(`SELECT json_agg(DISTINCT jsonb_build_object('e', element_id, 'p', srm_p_value))
                                      FROM abt_variant_stats(ARRAY['${EXP}']::uuid[])`));
    const srmOk = srmSql.every((x) => srmPage.includes(`${x.e}=${x.p}`)) && srmSql.length === 2;
    say(srmOk, 'each element shows the SRM p-value of abt_variant_stats', { srmPage, srmSql });
    const warned = await page.evaluate(() => document.querySelectorAll('.srm.warn').length);
    say(warned === srmSql.filter((x) => x.p < 0.001).length, 'an SRM warning exactly where the p-value is below 0.001', warned);
    const chart = await page.evaluate(() => {
      const c = Chart.getChart('timeline');
      return c ? c.data.datasets[0].data.reduce((a, b) => a + b, 0) + '/' + c.data.labels.length : null;
    });
    const tl = psql(`SELECT sum(assignments) || '/' || count(*) FROM abt_timeline('${EXP}', 24)`);
    say(chart === tl, 'the chart draws abt_timeline (new visitors per hour / hours)', { chart, tl });
    await page.screenshot({ path: E.SCREENSHOT, fullPage: true });
    say(true, `screenshot saved (${E.SCREENSHOT})`);

    // live: 2,000 new visitors and 200 conversions
    await page.evaluate(() => { window.noReload = 42; });
    psql(`SELECT count(abt_assign('${EXP}', 'dash-' || g)) FROM generate_series(1, 2000) g`);
    psql(`SELECT count(abt_convert('${EXP}', 'dash-' || g)) FROM generate_series(1, 200) g`);
    const expected = expectedMetrics();
    const totals = expected.filter((x) => x.goal === 'conversion')
      .map((x) => `${x.variant_id}=${x.visitors}/${x.converters}`).sort().join(' ');
    const ms = await waitFor(page, (want) => [...document.querySelectorAll('tr[data-goal="conversion"]')]
      .map((tr) => `${tr.dataset.variant}=${tr.querySelector('[data-field="visitors"]').textContent.replace(/,/g, '')}/`
                 + tr.querySelector('[data-field="converters"]').textContent.replace(/,/g, ''))
      .sort().join(' ') === want, totals, 10000);
    console.log(`# the new totals appeared ${ms} ms after the writes committed`);
    say(ms !== null && ms <= 3000, 'after 2,000 new visitors and 200 conversions the page shows the new totals within 3 s', { ms, totals });
    say(await page.evaluate(() => window.noReload) === 42, '... without a reload');
    diffs = compare(await pageMetrics(page), expected);
    say(diffs.length === 0, '... and again equals abt_metric_stats', diffs);

    // pause
    psql(`UPDATE abtest.experiments SET status = 'paused' WHERE id = '${EXP}'`);
    const pms = await waitFor(page, () => {
      const s = document.querySelector('#title [data-field="status"]');
      return s && s.dataset.value === 'paused';
    }, null, 10000);
    console.log(`# paused shown after ${pms} ms`);
    say(pms !== null, 'pausing the experiment shows it as paused', pms);
    await page.screenshot({ path: E.SCREENSHOT.replace(/\.png$/, '-paused.png'), fullPage: true });
  } finally {
    await browser.close();
  }
}
main().catch((e) => { say(false, 'the browser run ended without an error', e.stack); process.exitCode = 1; });
JS

SHOT=$WORK/dashboard.png
(cd "$WORK" && EXP=$EXP DB=$DB URL=$URL PSQL=$ABT_BIN/psql CHROMIUM=$CHROMIUM SCREENSHOT=$SHOT \
    NODE_PATH=$MODULES/node_modules timeout -k 5 90 node drive.js) >"$WORK/drive.out" 2>&1
while IFS=$'\t' read -r res desc detail; do
    case $res in
        PASS) ok "$desc" ;;
        FAIL) not_ok "$desc"; printf '#   %s\n' "${detail:0:1500}" ;;
        '#'*) echo "$res${desc:+ $desc}" ;;
        *) printf '# %s\n' "$res $desc $detail" ;;
    esac
done <"$WORK/drive.out"
if [ -n "${ABT_DASHBOARD_SCREENSHOT:-}" ] && [ -s "$SHOT" ]; then
    cp "$SHOT" "$ABT_DASHBOARD_SCREENSHOT" && diag "screenshot copied to $ABT_DASHBOARD_SCREENSHOT"
fi

# ------------------------------------------------------------ stopping
kill -TERM "$RUN_PID" 2>/dev/null
wait "$RUN_PID" 2>/dev/null
RUN_PID=""
gone() { [ "$(q postgres "SELECT count(*) FROM pg_replication_slots WHERE database = '$DB'")" = 0 ]; }
for _ in $(seq 1 100); do gone && break; sleep 0.1; done
check "stopping run drops the dashboard's replication slot (no WAL kept for it)" gone
grep -q 'following publication' "$WORK/run.err" || sed 's/^/#   run: /' "$WORK/run.err" | tail -n 20

finish
