#!/usr/bin/env bash
# bench/namespaces.sh -- what namespaces (issue 12) cost a page view.
# Needs root (or sudo), like scripts/test. Not run by the test suite.
#
# Usage: bench/namespaces.sh [--quick]
#
# Three sets of 5 experiments (coverage 1, one element of 2 variants),
# loaded with the same returning visitors (r-1 .. r-5000, abt_assign_bulk):
#   plain      no namespace (the baseline)
#   ns-full    each in a namespace of its own taking all of it [0, 1): every
#              visitor eligible, so the same rows are written as plain: the
#              pure cost of the 1.1 lookup and the namespace check
#   ns-split   the 5 in one namespace, [0, 0.2) .. [0.8, 1): the issue's
#              page (a new visitor is enrolled in one of them, not five)
# Measured per set: returning and new visitors through abt_assign (one
# experiment of the set) and through abt_assign_batch (the set's 5).  New
# visitors are random ids of 1..2^31 (a repeat is a returning visitor, rare).
# Each round runs every script once, baseline and candidates alternating,
# CHECKPOINT before each; round 2 in reverse order.  Rows: mean tps, and the
# ratio to plain (target: >= 0.9).  Only ratios of one run count.
#
# Env: BENCH_DURATION (s, default 12; --quick 4), BENCH_ROUNDS (default 2;
#      --quick 1), BENCH_CLIENTS (default 4), BENCH_OUT, ABT_KEEP=1.
# Exit: 0 = every target met, 1 = a target missed, 2 = the harness failed.
set -uo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ABT_ROOT" || exit 2

abt_bench_args "$@"
if [ "$QUICK" = 1 ]; then D=4; R=1; else D=12; R=2; fi
DURATION=${BENCH_DURATION:-$D}
ROUNDS=${BENCH_ROUNDS:-$R}
CLIENTS=${BENCH_CLIENTS:-4}
THREADS=2
DB=abtest_bench
SETS=(plain ns-full ns-split)
KINDS=(returning_assign new_assign returning_batch new_batch)

section() { printf '\n======== %s ========\n' "$*"; }
die() { abt_err "$*"; exit 2; }
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${BENCH_OUT:-$ABT_ROOT/bench/out/namespaces-$STAMP}
mkdir -p "$OUT" || die "cannot create $OUT"

section "build"
{ abt_tmp_init && abt_copy_source "$ABT_TMP/src"; } || die "copying the source tree failed"
abt_build_install "$ABT_SRC" >"$OUT/build.log" 2>&1 || { cat "$OUT/build.log" >&2; die "build/install failed"; }
abt_start_server "shared_buffers=512MB" "synchronous_commit=on" "checkpoint_timeout=30min" \
    "max_wal_size=4GB" "shared_preload_libraries='abtest'" || die "starting the throwaway server failed"
q() { abt_psql -qAt "$@"; }
q -d postgres -c "CREATE DATABASE $DB" || die "CREATE DATABASE failed"

section "load"
# experiment ids: set s (1 plain, 2 ns-full, 3 ns-split), experiment k (1..5)
q -d "$DB" >/dev/null <<'SQL' || die "loading failed"
CREATE EXTENSION abtest;
CREATE FUNCTION pg_temp.eid(s int, k int) RETURNS uuid LANGUAGE sql
    AS $$ SELECT format('b1200000-0000-0000-0000-0000000000%s%s', s, k)::uuid $$;
INSERT INTO abtest.experiments (id, name, status, seed, namespace, namespace_start, namespace_end)
SELECT pg_temp.eid(s, k), format('bench %s/%s', s, k), 'active', format('seed-%s-%s', s, k),
       CASE s WHEN 1 THEN NULL WHEN 2 THEN 'bench-full-' || k ELSE 'bench-page' END,
       CASE s WHEN 1 THEN NULL WHEN 2 THEN 0 ELSE (k - 1) * 0.2 END,
       CASE s WHEN 1 THEN NULL WHEN 2 THEN 1 ELSE k * 0.2 END
  FROM generate_series(1, 3) s, generate_series(1, 5) k;
INSERT INTO abtest.experiment_elements (id, experiment_id, name, selector)
SELECT pg_temp.eid(s, k), pg_temp.eid(s, k), 'headline', 'h1'
  FROM generate_series(1, 3) s, generate_series(1, 5) k;
INSERT INTO abtest.element_variants (element_id, name, is_control, content)
SELECT pg_temp.eid(s, k), v, v = 'A', jsonb_build_object('text', 'Headline ' || v)
  FROM generate_series(1, 3) s, generate_series(1, 5) k, unnest(ARRAY['A', 'B']) v;
SELECT count(*) FROM generate_series(1, 3) s, generate_series(1, 5) k,
       abt_assign_bulk(pg_temp.eid(s, k), ARRAY(SELECT 'r-' || i FROM generate_series(1, 5000) i));
VACUUM ANALYZE;
SQL
q -d "$DB" -c "SELECT count(*) || ' assignments' FROM abtest.assignments" | tee "$OUT/load.txt"

PGB=$ABT_TMP/pgbench
mkdir -p "$PGB" || die "mkdir failed"
for s in 1 2 3; do
    ids=""
    for k in 1 2 3 4 5; do ids+="${ids:+,}b1200000-0000-0000-0000-0000000000$s$k"; done
    name=${SETS[$((s - 1))]}
    printf '%s\n' '\set v random(1, 5000)' \
        "SELECT abt_assign('b1200000-0000-0000-0000-0000000000${s}1', 'r-' || :v);" >"$PGB/returning_assign-$name.sql"
    printf '%s\n' '\set v random(1, 2147483647)' \
        "SELECT abt_assign('b1200000-0000-0000-0000-0000000000${s}1', 'n-' || :v);" >"$PGB/new_assign-$name.sql"
    printf '%s\n' '\set v random(1, 5000)' \
        "SELECT abt_assign_batch('{$ids}'::uuid[], 'r-' || :v);" >"$PGB/returning_batch-$name.sql"
    printf '%s\n' '\set v random(1, 2147483647)' \
        "SELECT abt_assign_batch('{$ids}'::uuid[], 'n-' || :v);" >"$PGB/new_batch-$name.sql"
done
chmod -R a+rX "$PGB"

declare -A SUM N
run_one() { # KIND SET
    local f=$PGB/$1-$2.sql log=$OUT/$1-$2.r$r.log tps
    q -d "$DB" -c CHECKPOINT >/dev/null
    abt_as_postgres "$ABT_BIN/pgbench" -n -M prepared -c "$CLIENTS" -j "$THREADS" -T "$DURATION" \
        -f "$f" "$DB" >"$log" 2>&1 || { cat "$log" >&2; die "pgbench $1 $2 failed"; }
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$log" | tail -n1)
    printf '  round %s  %-17s %-9s %10s tps\n' "$r" "$1" "$2" "$tps"
    SUM[$1/$2]=$(awk -v a="${SUM[$1/$2]:-0}" -v b="$tps" 'BEGIN { print a + b }')
    N[$1/$2]=$(( ${N[$1/$2]:-0} + 1 ))
}

section "runs (pgbench -n -M prepared -c $CLIENTS -j $THREADS -T $DURATION, $ROUNDS round(s))"
for kind in "${KINDS[@]}"; do   # warm-up: every script once, 1 s
    for set in "${SETS[@]}"; do
        abt_as_postgres "$ABT_BIN/pgbench" -n -M prepared -c "$CLIENTS" -j "$THREADS" -T 1 \
            -f "$PGB/$kind-$set.sql" "$DB" >/dev/null 2>&1 || die "warm-up $kind $set failed"
    done
done
for r in $(seq 1 "$ROUNDS"); do
    order=("${SETS[@]}")
    if [ $((r % 2)) = 0 ]; then order=(ns-split ns-full plain); fi
    for kind in "${KINDS[@]}"; do
        for set in "${order[@]}"; do run_one "$kind" "$set"; done
    done
done

section "results (tps = mean of the rounds; ratio = candidate / plain; target >= 0.9)"
FAIL=0
{
    echo '| visitor, call | set | tps | ratio vs plain | PASS/FAIL |'
    echo '| --- | --- | ---: | ---: | --- |'
    for kind in "${KINDS[@]}"; do
        base=$(awk -v s="${SUM[$kind/plain]}" -v n="${N[$kind/plain]}" 'BEGIN { printf "%.0f", s / n }')
        for set in "${SETS[@]}"; do
            tps=$(awk -v s="${SUM[$kind/$set]}" -v n="${N[$kind/$set]}" 'BEGIN { printf "%.0f", s / n }')
            if [ "$set" = plain ]; then
                printf '| %s | %s | %s | (baseline) | |\n' "$kind" "$set" "$tps"
                continue
            fi
            ratio=$(awk -v a="$tps" -v b="$base" 'BEGIN { printf "%.2f", a / b }')
            verdict=PASS
            awk -v x="$ratio" 'BEGIN { exit !(x < 0.9) }' && { verdict=FAIL; FAIL=1; }
            printf '| %s | %s | %s | %sx | %s |\n' "$kind" "$set" "$tps" "$ratio" "$verdict"
        done
    done
} | tee "$OUT/results.md"
grep -q "| FAIL |$" "$OUT/results.md" && FAIL=1
printf '\nload average at end: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
abt_log "logs and results in $OUT"
exit "$FAIL"
