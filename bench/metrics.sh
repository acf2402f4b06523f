#!/usr/bin/env bash
# bench/metrics.sh -- pgbench benchmarks of issue 9 ("abtest 1.1 metrics").
# Needs root (or sudo), like scripts/test and bench/run. Not run by the test
# suite.
#
# Usage: bench/metrics.sh [--quick]
#
# Blocks (every ratio is of runs made in this invocation, baselines and
# candidates alternating, round 2 in reverse order, a CHECKPOINT before
# every measured run):
#   1. abt_convert with a value, 32 clients, one hot experiment of 20,000
#      visitors assigned by abt_assign_bulk just before (no ANALYZE: the
#      server runs with autovacuum off), repeat buyers (random visitor per
#      call), against a bare single-row INSERT into a plain events table.
#      Target >= 0.5x, 0 failed, 0 deadlocks; afterwards the goal sums must
#      equal the events' per-visitor sums exactly.
#   2. abt_metric_stats of one experiment with 3 goals: 2M against 500k
#      assignments (target <= 1.2x the time).  The data is written by SQL,
#      not by abt_assign/abt_convert (2.5M calls would take too long here):
#      assignments, conversions (3 goals, ~10% of the visitors each, values),
#      and the rows abt_convert would have left in variant_counters,
#      visitor_goals and goal_counters, spread over 32 backend slots.
#   3. abt_metric_stats of 100 experiments in one call against 100 calls of
#      one experiment (one pgbench transaction each): target <= 0.2x the time.
#   4. abt_assign, the harness rows of bench/run (returning visitor at 8
#      clients against the bare lookup; new visitor at 32 clients against a
#      bare INSERT into a table shaped like abtest.assignments), and the one
#      change this issue makes on that path, isolated: the lookup query with
#      the ctid column against the same query without it (8 clients).
#   5. (issue 23) abt_metric_stats of one goal of one experiment with 1M
#      assigned visitors, 10% of them with a value (0 to 49.99, and two
#      whales), capped against uncapped (1 client, the same visitors and
#      values under four goal names): an absolute cap (40: 20% of the
#      buyers above it), a P99 of every visitor (1% above it), a P99
#      ignoring zeros (of the buyers: 0.1%), and the Bayesian engine
#      uncapped.  Ratios of the time per call; no target (info).  The data
#      is written by SQL as in block 2, without the events (the statistics
#      do not read them).
#
# Env: BENCH_SECTIONS (e.g. "3 4": only those sections; default all),
#      BENCH_DURATION (s, default 15, --quick 5), BENCH_ROUNDS (default 2,
#      --quick 1), BENCH_OUT (default bench/out/metrics-<UTC timestamp>),
#      ABT_KEEP=1, ABT_PORT_BASE.
# Exit: 0 = every target met, 1 = a target missed, 2 = the harness failed.
set -uo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ABT_ROOT" || exit 2

abt_bench_args "$@"
if [ "$QUICK" = 1 ]; then DURATION=5; ROUNDS=1; WARMUP=1; else DURATION=15; ROUNDS=2; WARMUP=2; fi
DURATION=${BENCH_DURATION:-$DURATION}
ROUNDS=${BENCH_ROUNDS:-$ROUNDS}
DB=abtest_bench
THREADS=2
SETTINGS=("shared_buffers=1GB" "max_connections=200" "synchronous_commit=on" "checkpoint_timeout=30min"
          "max_wal_size=4GB" "shared_preload_libraries='abtest'" "autovacuum=off")

section() { printf '\n======== %s ========\n' "$*"; }
die() { abt_err "$*"; exit 2; }
q() { abt_psql -qAt "$@"; }
mean() { printf '%s\n' "$@" | awk 'NF { s += $1; n++ } END { if (n) printf "%.1f", s / n }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
deadlocks() { q -d postgres -c "SELECT deadlocks FROM pg_stat_database WHERE datname = '$DB'"; }
wait_idle() {
    local i n
    for i in $(seq 1 40); do
        n=$(q -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$DB' AND backend_type = 'client backend'")
        [ "$n" = 0 ] && return 0
        sleep 0.5
    done
    abt_warn "backends still connected to $DB after 20 s"
}

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${BENCH_OUT:-$ABT_ROOT/bench/out/metrics-$STAMP}
mkdir -p "$OUT" || die "cannot create $OUT"

declare -A TPS_RUNS FAILED DEADLOCKS ABORTED DEFS_OF

# run_pgbench SCRIPT CLIENTS SECONDS LOG
run_pgbench() {
    local script=$1 clients=$2 secs=$3 log=$4 threads=$THREADS
    local -a defs
    read -r -a defs <<<"${DEFS_OF[$script]:-}"
    if [ "$clients" -lt "$threads" ]; then threads=$clients; fi
    abt_run abt_as_postgres "$ABT_BIN/pgbench" -n -M prepared -j "$threads" -c "$clients" \
        -T "$secs" -f "$PGB/$script.sql" "${defs[@]}" "$DB" >"$log" 2>&1
}

# measure KEY ROUND (KEY = script@clients)
measure() {
    local key=$1 round=$2 script=${1%@*} clients=${1#*@} log dl0 dl1 tps failed aborted
    log=$OUT/$script-c$clients-r$round.log
    q -d postgres -c CHECKPOINT || die "CHECKPOINT failed"
    dl0=$(deadlocks)
    run_pgbench "$script" "$clients" "$DURATION" "$log"
    wait_idle
    dl1=$(deadlocks)
    tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$log")
    failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$log")
    aborted=$(grep -c 'aborted in command' "$log")
    TPS_RUNS[$key]+="${tps:-0} "
    FAILED[$key]=$(( ${FAILED[$key]:-0} + ${failed:-0} ))
    DEADLOCKS[$key]=$(( ${DEADLOCKS[$key]:-0} + dl1 - dl0 ))
    ABORTED[$key]=$(( ${ABORTED[$key]:-0} + aborted ))
    printf '  round %s  %-22s %3s clients  tps %9.1f  failed %s  aborted %s  deadlocks %s\n' \
        "$round" "$script" "$clients" "${tps:-0}" "${failed:-0}" "$aborted" "$((dl1 - dl0))"
    if [ -z "$tps" ] || [ "$aborted" -gt 0 ]; then
        grep -E 'error|ERROR|aborted' "$log" | sort | uniq -c | sort -rn | head -n 5 | sed 's/^/      /'
    fi
}

# run_group KEY...: a warm-up of each, then ROUNDS rounds alternating the order
run_group() {
    local keys=("$@") key r i log
    for key in "${keys[@]}"; do
        log=$OUT/warmup-${key%@*}-c${key#*@}.log
        if ! run_pgbench "${key%@*}" "${key#*@}" "$WARMUP" "$log" || ! grep -q '^tps = ' "$log" \
                || grep -q 'aborted in command' "$log"; then
            cat "$log" >&2
            die "warm-up of $key failed"
        fi
    done
    wait_idle
    for ((r = 1; r <= ROUNDS; r++)); do
        if [ $((r % 2)) = 1 ]; then
            for key in "${keys[@]}"; do measure "$key" "$r"; done
        else
            for ((i = ${#keys[@]} - 1; i >= 0; i--)); do measure "${keys[$i]}" "$r"; done
        fi
    done
}

# shellcheck disable=SC2086
tps_of() { mean ${TPS_RUNS[$1]:-}; }
# want N: section N is to run (BENCH_SECTIONS, e.g. "3 4"; default: all)
want() { [ -z "${BENCH_SECTIONS:-}" ] || [[ " $BENCH_SECTIONS " == *" $1 "* ]]; }
MISSED=0
RESULTS=()
# row NAME KEY BASE_KEY KIND TARGET: KIND tps (ratio = tps/base, >= target)
# or time (ratio = base tps/tps, i.e. time over base time, <= target); target "info": none
row() {
    local name=$1 key=$2 base=$3 kind=$4 target=$5 r met
    [ -n "$(tps_of "$key")" ] || return 0     # a section not run (BENCH_SECTIONS)
    if [ "$kind" = tps ]; then r=$(ratio "$(tps_of "$key")" "$(tps_of "$base")")
    else r=$(ratio "$(tps_of "$base")" "$(tps_of "$key")"); fi
    met=info
    if [ "$target" != info ]; then
        if [ "$kind" = tps ]; then
            awk -v r="$r" -v t="$target" 'BEGIN { exit !(r != "n/a" && r + 0 >= t + 0) }' && met=yes || met=NO
        else
            awk -v r="$r" -v t="$target" 'BEGIN { exit !(r != "n/a" && r + 0 <= t + 0) }' && met=yes || met=NO
        fi
        if [ "${FAILED[$key]:-0}" -gt 0 ] || [ "${DEADLOCKS[$key]:-0}" -gt 0 ] || [ "${ABORTED[$key]:-0}" -gt 0 ]; then
            met=NO
        fi
        [ "$met" = NO ] && MISSED=1
    fi
    RESULTS+=("$(printf '| %s | %s | %s | %s | %s%s | %s failed, %s deadlocks | %s |' "$name" \
        "$(tps_of "$key")" "$(tps_of "$base")" "$kind" "$r" \
        "$([ "$kind" = tps ] && echo x || echo 'x time')" "${FAILED[$key]:-0}" "${DEADLOCKS[$key]:-0}" \
        "$([ "$target" = info ] && echo info || echo "$([ "$kind" = tps ] && echo '>=' || echo '<=') $target: $met")")")
}

# ------------------------------------------------------------------ main
section "build"
{ abt_tmp_init && abt_copy_source "$ABT_TMP/src"; } || die "copying the source tree failed"
abt_build_install "$ABT_SRC" >"$OUT/build.log" 2>&1 || { cat "$OUT/build.log" >&2; die "build/install failed"; }
abt_sudo chown -R postgres:postgres "$ABT_SRC" || die "chown failed"
PGB=$ABT_TMP/pgbench
mkdir -p "$PGB" && chmod 755 "$PGB" || die "mkdir $PGB failed"

section "throwaway server"
abt_start_server "${SETTINGS[@]}" || die "starting the throwaway server failed"
printf 'machine: %s CPUs, load average %s; pgbench -n -M prepared -j %s -T %s, %s round(s); %s\n' \
    "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$THREADS" "$DURATION" "$ROUNDS" "${SETTINGS[*]}" \
    | tee "$OUT/settings.txt"
q -d postgres -c "CREATE DATABASE $DB" || die "CREATE DATABASE failed"
q -d "$DB" -c "CREATE EXTENSION abtest" || die "CREATE EXTENSION failed"

HOT=b0000000-0000-4000-8000-000000000001
NEWEXP=b0000000-0000-4000-8000-000000000002
S500=b5000000-0000-4000-8000-000000000500
S2M=b5000000-0000-4000-8000-000000002000
S1M=b5000000-0000-4000-8000-000000001001

# an experiment with one element, control A and B (ids derived from its own)
experiment_sql() { # ID NAME
    cat <<SQL
INSERT INTO abtest.experiments (id, name, status) VALUES ('$1', '$2', 'active');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, position)
VALUES (md5('$1' || 'el')::uuid, '$1', 'headline', 1);
INSERT INTO abtest.element_variants (id, element_id, name, is_control, position)
SELECT md5('$1' || 'v' || v)::uuid, md5('$1' || 'el')::uuid, (ARRAY['A', 'B'])[v], v = 1, v
  FROM generate_series(1, 2) v;
SQL
}

if want 1; then
section "1. abt_convert with a value (32 clients) vs a bare INSERT"
{
    experiment_sql "$HOT" hot
    experiment_sql "$NEWEXP" new
    cat <<SQL
CREATE TABLE bench_events (id bigserial PRIMARY KEY, experiment_id uuid NOT NULL, user_id text NOT NULL,
                           goal text NOT NULL, value numeric, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE bench_assignments (LIKE abtest.assignments INCLUDING ALL);
SELECT count(*) FROM abt_assign_bulk('$HOT', ARRAY(SELECT 'v' || g FROM generate_series(1, 20000) g));
SQL
} | q -d "$DB" >/dev/null || die "loading the hot experiment failed"
printf '%s\n' "analyzed: $(q -d "$DB" -c "SELECT coalesce(last_analyze::text, last_autoanalyze::text, 'never')
                                           FROM pg_stat_user_tables WHERE relid = 'abtest.assignments'::regclass")"
cat >"$PGB/m_convert.sql" <<'SQL'
-- Candidate: abt_convert of a random (often returning) buyer of the hot experiment, with a value.
\set r random(1, 20000)
\set cents random(100, 20000)
SELECT abt_convert(:exp, 'v' || :r, 'purchase', :cents / 100.0);
SQL
cat >"$PGB/m_insert_events.sql" <<'SQL'
-- Baseline: a bare single-row INSERT into a plain events table.
\set r random(1, 20000)
\set cents random(100, 20000)
INSERT INTO bench_events (experiment_id, user_id, goal, value) VALUES (:exp, 'v' || :r, 'purchase', :cents / 100.0);
SQL
DEFS_OF[m_convert]="-D exp=$HOT"
DEFS_OF[m_insert_events]="-D exp=$HOT"
run_group m_convert@32 m_insert_events@32
EXACT=$(q -d "$DB" -c "
    WITH y AS (SELECT c.user_id, sum(coalesce(c.value, 0)) AS y FROM abtest.conversions c
                WHERE c.experiment_id = '$HOT' AND c.goal = 'purchase' GROUP BY 1),
         d AS (SELECT v.value::uuid AS variant_id, count(*) AS n, sum(y.y) AS s, sum(y.y * y.y) AS q
                 FROM y JOIN abtest.assignments a ON a.experiment_id = '$HOT' AND a.user_id = y.user_id,
                      jsonb_each_text(a.variants) v GROUP BY 1),
         t AS (SELECT variant_id, sum(converters) AS n, sum(value_sum) AS s, sum(value_sum_squares) AS q
                 FROM abtest.goal_counters WHERE experiment_id = '$HOT' AND goal = 'purchase' GROUP BY 1)
    SELECT format('%s events of %s visitors; goal sums exact: %s', (SELECT count(*) FROM abtest.conversions
                                                                     WHERE experiment_id = '$HOT'),
                  (SELECT count(*) FROM y),
                  NOT EXISTS (SELECT FROM t FULL JOIN d USING (variant_id) WHERE (t.n, t.s, t.q) IS DISTINCT FROM (d.n, d.s, d.q)))")
echo "  $EXACT" | tee "$OUT/exact.txt"
case $EXACT in *"exact: t") ;; *) MISSED=1 ;; esac

fi
if want 2; then
section "2. abt_metric_stats, 3 goals: 2M vs 500k assignments (data written by SQL)"
for spec in "$S500 500000" "$S2M 2000000"; do
    set -- $spec
    e=$1 n=$2
    {
        experiment_sql "$e" "stats $n"
        cat <<SQL
CREATE TEMP TABLE v AS
SELECT 'u' || g AS user_id, (SELECT id FROM abtest.element_variants WHERE element_id = el.id
                              ORDER BY position OFFSET (g % 2) LIMIT 1) AS variant_id, el.id AS element_id,
       1000 + g % 32 AS slot
  FROM generate_series(1, $n) g, (SELECT id FROM abtest.experiment_elements WHERE experiment_id = '$e') el;
INSERT INTO abtest.assignments (experiment_id, user_id, variants)
SELECT '$e', user_id, jsonb_build_object(element_id, variant_id) FROM v;
INSERT INTO abtest.variant_counters (experiment_id, variant_id, slot, allocations)
SELECT '$e', variant_id, slot, count(*) FROM v GROUP BY 2, 3;
CREATE TEMP TABLE ev AS
SELECT v.*, goal, ((hashtext(user_id || goal) & 65535) % 5000) / 100.0 AS value
  FROM v, unnest(ARRAY['signup', 'purchase', 'upgrade']) goal
 WHERE (hashtext(goal || user_id) & 65535) % 10 = 0;
INSERT INTO abtest.conversions (experiment_id, user_id, goal, value) SELECT '$e', user_id, goal, value FROM ev;
INSERT INTO abtest.visitor_goals (experiment_id, user_id, goal, value_total, events)
SELECT '$e', user_id, goal, value, 1 FROM ev;
INSERT INTO abtest.goal_counters (experiment_id, slot, variant_id, goal, converters, value_sum, value_sum_squares)
SELECT '$e', slot, variant_id, goal, count(*), sum(value), sum(value * value) FROM ev GROUP BY 2, 3, 4;
DROP TABLE v, ev;
SQL
    } | q -d "$DB" >/dev/null || die "loading $n assignments failed"
    printf '  %s: %s assignments, %s conversions, %s goal_counters rows\n' "$e" \
        "$(q -d "$DB" -c "SELECT count(*) FROM abtest.assignments WHERE experiment_id = '$e'")" \
        "$(q -d "$DB" -c "SELECT count(*) FROM abtest.conversions WHERE experiment_id = '$e'")" \
        "$(q -d "$DB" -c "SELECT count(*) FROM abtest.goal_counters WHERE experiment_id = '$e'")"
done
q -d "$DB" -c "VACUUM ANALYZE" || die "VACUUM failed"
cat >"$PGB/m_stats.sql" <<'SQL'
-- abt_metric_stats of one experiment (-D exp=...), every goal.
SELECT count(*) FROM abt_metric_stats(ARRAY[:exp]::uuid[]);
SQL
cp "$PGB/m_stats.sql" "$PGB/m_stats_500k.sql"
cp "$PGB/m_stats.sql" "$PGB/m_stats_2m.sql"
DEFS_OF[m_stats_500k]="-D exp=$S500"
DEFS_OF[m_stats_2m]="-D exp=$S2M"
run_group m_stats_2m@1 m_stats_500k@1

fi
if want 3; then
section "3. abt_metric_stats: 100 experiments in one call vs 100 calls"
{
    for i in $(seq 1 100); do
        experiment_sql "$(printf 'b1000000-0000-4000-8000-%012d' "$i")" "page $i"
    done
    cat <<SQL
INSERT INTO abtest.variant_counters (experiment_id, variant_id, slot, allocations, conversions)
SELECT el.experiment_id, v.id, 1000 + s, 1000 + s, 100
  FROM abtest.experiment_elements el JOIN abtest.element_variants v ON v.element_id = el.id,
       generate_series(1, 8) s
 WHERE el.experiment_id::text LIKE 'b1000000-%';
INSERT INTO abtest.goal_counters (experiment_id, slot, variant_id, goal, converters, value_sum, value_sum_squares)
SELECT el.experiment_id, 1000 + s, v.id, g, 100 + s, 5000.5 + s, 400000.25 + s
  FROM abtest.experiment_elements el JOIN abtest.element_variants v ON v.element_id = el.id,
       generate_series(1, 8) s, unnest(ARRAY['signup', 'purchase', 'upgrade']) g
 WHERE el.experiment_id::text LIKE 'b1000000-%';
SQL
} | q -d "$DB" >/dev/null || die "loading 100 experiments failed"
q -d "$DB" -c "VACUUM ANALYZE" || die "VACUUM failed"
IDS=$(q -d "$DB" -c "SELECT string_agg(id::text, ',' ORDER BY id) FROM abtest.experiments WHERE id::text LIKE 'b1000000-%'")
{
    echo "-- abt_metric_stats of 100 experiments in one call"
    echo "SELECT count(*) FROM abt_metric_stats('{$IDS}'::uuid[]);"
} >"$PGB/m_stats_batch.sql"
{
    echo "-- abt_metric_stats of the same 100 experiments, one call each"
    for id in ${IDS//,/ }; do echo "SELECT count(*) FROM abt_metric_stats('{$id}'::uuid[]);"; done
} >"$PGB/m_stats_single.sql"
printf '  one call returns %s rows\n' "$(q -d "$DB" -c "SELECT count(*) FROM abt_metric_stats('{$IDS}'::uuid[])")"
run_group m_stats_batch@1 m_stats_single@1
# the same after the settler's fold (abt_settle: each variant's slot rows
# summed into one slot 0 row per goal, as a running settler keeps them)
q -d "$DB" -c "SELECT sum(rows_folded) FROM abt_settle()" >/dev/null || die "abt_settle failed"
q -d "$DB" -c "VACUUM ANALYZE" || die "VACUUM failed"
cp "$PGB/m_stats_batch.sql" "$PGB/m_stats_batch_folded.sql"
cp "$PGB/m_stats_single.sql" "$PGB/m_stats_single_folded.sql"
run_group m_stats_batch_folded@1 m_stats_single_folded@1

fi
if want 4; then
section "4. abt_assign (bench/run's rows) and the lookup with and without ctid"
cat >"$PGB/m_returning_assign.sql" <<'SQL'
-- abt_assign of a returning visitor of the hot experiment
\set r random(1, 20000)
SELECT abt_assign(:exp, 'v' || :r);
SQL
cat >"$PGB/m_returning_lookup.sql" <<'SQL'
-- the seed's bare lookup of the same visitors (bench/run's returning baseline)
\set r random(1, 20000)
SELECT * FROM abtest.assignments WHERE experiment_id = :exp AND user_id = 'v' || :r;
SQL
cat >"$PGB/m_lookup_ctid.sql" <<'SQL'
-- src/lookup.c's lookup as 1.1 runs it (with the assignment's ctid)
\set r random(1, 20000)
SELECT e.status, e.seed, e.coverage, e.config_version, a.variants, a.converted_at IS NOT NULL, a.ctid
  FROM abtest.experiments e LEFT JOIN abtest.assignments a
    ON a.experiment_id OPERATOR(pg_catalog.=) e.id AND a.user_id OPERATOR(pg_catalog.=) ('v' || :r)
 WHERE e.id OPERATOR(pg_catalog.=) :exp;
SQL
cat >"$PGB/m_lookup_plain.sql" <<'SQL'
-- the same lookup without the ctid column (as before issue 9)
\set r random(1, 20000)
SELECT e.status, e.seed, e.coverage, e.config_version, a.variants, a.converted_at IS NOT NULL
  FROM abtest.experiments e LEFT JOIN abtest.assignments a
    ON a.experiment_id OPERATOR(pg_catalog.=) e.id AND a.user_id OPERATOR(pg_catalog.=) ('v' || :r)
 WHERE e.id OPERATOR(pg_catalog.=) :exp;
SQL
cat >"$PGB/m_new_assign.sql" <<'SQL'
-- abt_assign of a new visitor
\set n random(1, 1000000000000)
SELECT abt_assign(:exp, 'n' || :client_id || '-' || :n);
SQL
VMAP=$(q -d "$DB" -c "SELECT jsonb_build_object(el.id, v.id) FROM abtest.experiment_elements el
                       JOIN abtest.element_variants v ON v.element_id = el.id
                      WHERE el.experiment_id = '$NEWEXP' AND v.is_control")
cat >"$PGB/m_new_insert.sql" <<SQL
-- a bare single-row INSERT into a table shaped like abtest.assignments (its indexes too)
\set n random(1, 1000000000000)
INSERT INTO bench_assignments (experiment_id, user_id, variants) VALUES (:exp, 'n' || :client_id || '-' || :n, '$VMAP');
SQL
for s in m_returning_assign m_returning_lookup m_lookup_ctid m_lookup_plain; do DEFS_OF[$s]="-D exp=$HOT"; done
for s in m_new_assign m_new_insert; do DEFS_OF[$s]="-D exp=$NEWEXP"; done
run_group m_returning_lookup@8 m_returning_assign@8 m_lookup_plain@8 m_lookup_ctid@8 m_new_insert@32 m_new_assign@32

fi
if want 5; then
section "5. abt_metric_stats with capping: 1M visitors, capped vs uncapped"
{
    experiment_sql "$S1M" "capping 1M"
    cat <<SQL
CREATE TEMP TABLE v AS
SELECT 'u' || g AS user_id, (SELECT id FROM abtest.element_variants WHERE element_id = el.id
                              ORDER BY position OFFSET (g % 2) LIMIT 1) AS variant_id, el.id AS element_id,
       1000 + g % 32 AS slot
  FROM generate_series(1, 1000000) g, (SELECT id FROM abtest.experiment_elements WHERE experiment_id = '$S1M') el;
INSERT INTO abtest.assignments (experiment_id, user_id, variants)
SELECT '$S1M', user_id, jsonb_build_object(element_id, variant_id) FROM v;
INSERT INTO abtest.variant_counters (experiment_id, variant_id, slot, allocations)
SELECT '$S1M', variant_id, slot, count(*) FROM v GROUP BY 2, 3;
CREATE TEMP TABLE ev AS
SELECT v.*, goal, CASE WHEN user_id IN ('u10', 'u11') THEN 100000
                       ELSE ((hashtext(user_id) & 65535) % 5000) / 100.0 END AS value
  FROM v, unnest(ARRAY['revenue', 'revenue_abs', 'revenue_p99', 'revenue_p99z']) goal
 WHERE (hashtext(user_id) & 65535) % 10 = 0 OR user_id IN ('u10', 'u11');
INSERT INTO abtest.visitor_goals (experiment_id, user_id, goal, value_total, events)
SELECT '$S1M', user_id, goal, value, 1 FROM ev;
INSERT INTO abtest.goal_counters (experiment_id, slot, variant_id, goal, converters, value_sum, value_sum_squares)
SELECT '$S1M', slot, variant_id, goal, count(*), sum(value), sum(value * value) FROM ev GROUP BY 2, 3, 4;
INSERT INTO abtest.goals (experiment_id, goal, cap_type, cap_value, cap_ignore_zeros) VALUES
    ('$S1M', 'revenue', NULL, NULL, false),
    ('$S1M', 'revenue_abs', 'absolute', 40, false),
    ('$S1M', 'revenue_p99', 'percentile', 0.99, false),
    ('$S1M', 'revenue_p99z', 'percentile', 0.99, true);
DROP TABLE v, ev;
SQL
} | q -d "$DB" >/dev/null || die "loading 1M visitors failed"
q -d "$DB" -c "VACUUM ANALYZE" || die "VACUUM failed"
printf '  %s: %s assignments, %s visitor_goals rows of each goal; caps: %s\n' "$S1M" \
    "$(q -d "$DB" -c "SELECT count(*) FROM abtest.assignments WHERE experiment_id = '$S1M'")" \
    "$(q -d "$DB" -c "SELECT count(*) FROM abtest.visitor_goals WHERE experiment_id = '$S1M' AND goal = 'revenue'")" \
    "$(q -d "$DB" -c "SELECT string_agg(DISTINCT goal || ' ' || cap, ', ') FROM abt_metric_stats('{$S1M}'::uuid[])
                       WHERE cap IS NOT NULL")"
for g in revenue revenue_abs revenue_p99 revenue_p99z; do
    cat >"$PGB/m_cap_$g.sql" <<SQL
-- abt_metric_stats of goal $g of the 1M-visitor experiment
SELECT count(*) FROM abt_metric_stats(ARRAY[:exp]::uuid[], goals => ARRAY['$g']);
SQL
    DEFS_OF[m_cap_$g]="-D exp=$S1M"
done
cat >"$PGB/m_cap_bayes.sql" <<'SQL'
-- the same, uncapped, under the Bayesian engine
SELECT count(*) FROM abt_metric_stats(ARRAY[:exp]::uuid[], goals => ARRAY['revenue'], engine => 'bayesian');
SQL
DEFS_OF[m_cap_bayes]="-D exp=$S1M"
run_group m_cap_revenue@1 m_cap_revenue_abs@1 m_cap_revenue_p99@1 m_cap_revenue_p99z@1 m_cap_bayes@1

fi

section "results"
row "abt_convert with a value, fresh assignments, no ANALYZE (32 clients)" m_convert@32 m_insert_events@32 tps 0.5
row "bare INSERT into a plain events table (32 clients)" m_insert_events@32 m_insert_events@32 tps info
row "abt_metric_stats 3 goals: 2M vs 500k assignments (1 client)" m_stats_2m@1 m_stats_500k@1 time 1.2
row "abt_metric_stats: 100 experiments in one call vs 100 calls (1 client), 8 slots each" m_stats_batch@1 m_stats_single@1 time 0.2
row "abt_metric_stats: 100 experiments in one call vs 100 calls (1 client), folded by the settler (both faster)" m_stats_batch_folded@1 m_stats_single_folded@1 time info
row "abt_assign returning visitor vs bare lookup (8 clients; bench/run: >= 0.70x)" m_returning_assign@8 m_returning_lookup@8 tps info
row "abt_assign new visitor vs bare INSERT into an assignments-shaped table (32 clients)" m_new_assign@32 m_new_insert@32 tps info
row "lookup with ctid vs without (8 clients): this issue's change on abt_assign's path" m_lookup_ctid@8 m_lookup_plain@8 tps info
row "abt_metric_stats 1M visitors: absolute cap vs uncapped (1 client)" m_cap_revenue_abs@1 m_cap_revenue@1 time info
row "abt_metric_stats 1M visitors: P99 cap vs uncapped (1 client)" m_cap_revenue_p99@1 m_cap_revenue@1 time info
row "abt_metric_stats 1M visitors: P99 cap ignoring zeros vs uncapped (1 client)" m_cap_revenue_p99z@1 m_cap_revenue@1 time info
row "abt_metric_stats 1M visitors: Bayesian vs frequentist, uncapped (1 client)" m_cap_bayes@1 m_cap_revenue@1 time info
{
    echo "| row | tps | baseline tps | kind | ratio | errors | target |"
    echo "| --- | --- | --- | --- | --- | --- | --- |"
    printf '%s\n' "${RESULTS[@]}"
    echo
    echo "${EXACT:-}"
} | tee "$OUT/results.md"
exit "$MISSED"
