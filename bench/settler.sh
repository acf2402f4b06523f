#!/usr/bin/env bash
# bench/settler.sh -- the settler's targets (issue 11), ratios within one run.
#
# One throwaway server (scripts/lib.sh) with shared_preload_libraries =
# 'abtest' and abtest.settle_interval = 1s; "worker off" is the same server
# with abtest.settle_interval = 0 (reloaded), the settler idle.
#
#  A. write path, both modes, rounds alternating baseline and candidate:
#     new visitor abt_assign at 32 clients vs a bare INSERT into
#     abtest.assignments (target >= 0.7x), returning visitor abt_assign at 8
#     clients vs the seed's bare lookup (target >= 0.9x).
#  B. settling: 30 s of new visitors at 32 clients, worker on, a
#     test_decoding slot reading the publication's tables: time from the end
#     of the load until element_variants equals abtest.variant_totals (target
#     <= 2 x settle_interval), and element_variants UPDATEs per variant row
#     per interval (target: about 1).
#  C. reads that stay flat: 100k visitors over 7 days written through 100
#     connections and through 2 (two experiments), folded by the settler:
#     abt_timeline(e, 168) and abt_variant_stats (target: 100 vs 2 within
#     1.5x).
#  D. the timeline out of time order: BENCH_BIG (default 8M) and BENCH_SMALL
#     (2M) assignments in databases of their own, loaded in two interleaved
#     passes over 7 days, rollups settled: abt_timeline(e, 168) and (e, 24)
#     before any ANALYZE, after it, and after VACUUM (target: big within
#     1.5x of small).
#
# Env: BENCH_DURATION (s, default 12), BENCH_ROUNDS (default 2), BENCH_BIG,
# BENCH_SMALL, BENCH_SKIP (letters of parts to skip, e.g. "D"), ABT_KEEP=1,
# BENCH_PREFILL (default 0): before A, that many new visitors of the hot
# experiment arrive as single calls in statements of 5,000 (issue 22: such a
# bulk must not leave the hot path slower), then VACUUM ANALYZE; A then
# starts right after, and the counter and rollup tables' pages are shown.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ABT_ROOT" || exit 2

DURATION=${BENCH_DURATION:-12}
ROUNDS=${BENCH_ROUNDS:-2}
BIG=${BENCH_BIG:-8000000}
SMALL=${BENCH_SMALL:-2000000}
SKIP=${BENCH_SKIP:-}
PREFILL=${BENCH_PREFILL:-0}
PGB=$ABT_BIN/pgbench

abt_tmp_init || exit 2
abt_copy_source "$ABT_TMP/src" || exit 2
abt_build_install "$ABT_SRC" >"$ABT_TMP/build.log" 2>&1 || { tail -20 "$ABT_TMP/build.log"; exit 2; }
abt_start_server "shared_preload_libraries = 'abtest'" "abtest.settle_interval = '1s'" \
    "shared_buffers = 1GB" "max_connections = 250" "max_worker_processes = 16" \
    "checkpoint_timeout = 30min" "max_wal_size = 8GB" >/dev/null || exit 2
W=$ABT_TMP/bench
mkdir -p "$W" && chmod 777 "$W"
q() { abt_psql -q -At -d "${2:-bench}" -c "$1"; }
setting() { q "ALTER SYSTEM SET abtest.settle_interval = '$1'" postgres && q "SELECT pg_reload_conf()" postgres >/dev/null; }
# pgbench CLIENTS SECONDS SCRIPT [DB] [-D ...]: prints tps
pgb() {
    local c=$1 t=$2 f=$3 db=${4:-bench}
    shift $(($# < 4 ? $# : 4))
    abt_as_postgres "$PGB" -n -M prepared -j 2 -c "$c" -T "$t" "$@" -f "$f" "$db" 2>&1 \
        | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
row() { printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4"; }

# experiment DB ID: 2 elements x 2 variants, ids derived from ID
experiment() {
    local p=${2:0:8}
    q "INSERT INTO abtest.experiments (id, name, status) VALUES ('$2', '$2', 'active');
       INSERT INTO abtest.experiment_elements (id, experiment_id, name, position) VALUES
         ('$p-0000-4000-8000-000000000011', '$2', 'h', 1), ('$p-0000-4000-8000-000000000012', '$2', 'b', 2);
       INSERT INTO abtest.element_variants (id, element_id, name, is_control, position) VALUES
         ('$p-0000-4000-8000-000000000111', '$p-0000-4000-8000-000000000011', 'A', true, 1),
         ('$p-0000-4000-8000-000000000112', '$p-0000-4000-8000-000000000011', 'B', false, 2),
         ('$p-0000-4000-8000-000000000121', '$p-0000-4000-8000-000000000012', 'C', true, 1),
         ('$p-0000-4000-8000-000000000122', '$p-0000-4000-8000-000000000012', 'D', false, 2);" "$1"
}

q "CREATE DATABASE bench" postgres
q "SET abtest.publication = 'bench_pub'; CREATE EXTENSION abtest"
# distinct first 4 bytes per experiment (1.0's experiment lock key)
HOT=5b000001-0000-4000-8000-000000000001; RET=5b000002-0000-4000-8000-000000000002
LAG=5b000003-0000-4000-8000-000000000003; C2=5b000004-0000-4000-8000-000000000004
C100=5b000005-0000-4000-8000-000000000005
for e in $HOT $RET $LAG $C2 $C100; do experiment bench "$e"; done
q "SELECT count(*) FROM abt_assign_bulk('$RET', ARRAY(SELECT 'v' || g FROM generate_series(1, 200000) g))" >/dev/null
VMAP=$(q "SELECT variants FROM abtest.assignments WHERE experiment_id = '$RET' LIMIT 1")
q "VACUUM ANALYZE"
cat >"$W/new_assign.sql" <<EOF
\\set n random(1, 1000000000000)
SELECT abt_assign('$HOT', 'n' || :client_id || '-' || :n);
EOF
cat >"$W/new_insert.sql" <<EOF
\\set n random(1, 1000000000000)
INSERT INTO abtest.assignments (experiment_id, user_id, variants) VALUES ('$HOT', 'b' || :client_id || '-' || :n, '$VMAP');
EOF
# Floor of the new-visitor write: the rows abt_assign writes for a new
# visitor of HOT in 1.1 (the assignment, a counter row per element, and the
# experiment's rollup row of this quarter hour carrying the chosen variants'
# counts, src/packed_rollup.c), written by one prepared statement with no
# function around it.  Upserts on a slot of the pgbench client's own (1000 +
# client id): the settler folds slot rows away between rounds, as it does
# abt_assign's.
HP=${HOT:0:8}
HV1=$HP-0000-4000-8000-000000000111; HV2=$HP-0000-4000-8000-000000000121
cat >"$W/new_floor_rows.sql" <<EOF
\\set n random(1, 1000000000000)
WITH a AS (INSERT INTO abtest.assignments (experiment_id, user_id, variants)
           VALUES ('$HOT', 'f' || :client_id || '-' || :n,
                   '{"$HP-0000-4000-8000-000000000011": "$HV1", "$HP-0000-4000-8000-000000000012": "$HV2"}')
           RETURNING date_bin('15 minutes', assigned_at, '2000-01-01') AS bucket),
     c AS (INSERT INTO abtest.variant_counters AS c (experiment_id, slot, variant_id, allocations)
           VALUES ('$HOT', 1000 + :client_id, '$HV1', 1), ('$HOT', 1000 + :client_id, '$HV2', 1)
           ON CONFLICT (experiment_id, slot, variant_id) DO UPDATE SET allocations = c.allocations + 1)
INSERT INTO abtest.experiment_timeline AS t (experiment_id, bucket, slot, assignments, variant_ids, variant_assignments)
SELECT '$HOT', a.bucket, 1000 + :client_id, 1, '{$HV1,$HV2}', '{1,1}' FROM a
ON CONFLICT (experiment_id, bucket, slot) DO UPDATE SET assignments = t.assignments + 1,
   variant_ids = abtest.variant_ids_add(t.variant_ids, '{$HV1,$HV2}'),
   variant_assignments = abtest.variant_counts_add(t.variant_ids, t.variant_assignments, '{$HV1,$HV2}');
EOF
# Floor of any one-call page view for a new visitor, whatever it counts: a
# PL/pgSQL function that looks the visitor up (sticky assignment needs it)
# and then inserts the assignment row alone, through SPI as abt_assign.
q "CREATE FUNCTION bench_insert_floor(e uuid, u text, m jsonb) RETURNS jsonb LANGUAGE plpgsql AS
   \$\$ DECLARE v jsonb; BEGIN
        SELECT variants INTO v FROM abtest.assignments WHERE experiment_id = e AND user_id = u;
        IF v IS NULL THEN
            INSERT INTO abtest.assignments (experiment_id, user_id, variants) VALUES (e, u, m);
            v := m;
        END IF;
        RETURN v; END \$\$"
cat >"$W/new_floor_call.sql" <<EOF
\\set n random(1, 1000000000000)
SELECT bench_insert_floor('$HOT', 'c' || :client_id || '-' || :n,
                          '{"$HP-0000-4000-8000-000000000011": "$HV1", "$HP-0000-4000-8000-000000000012": "$HV2"}');
EOF
# Floor of a returning visitor's call: a PL/pgSQL function whose only work is
# the bare lookup (through SPI, as abt_assign's), returning the stored map.
q "CREATE FUNCTION bench_lookup_floor(e uuid, u text) RETURNS jsonb LANGUAGE plpgsql STABLE AS
   \$\$ BEGIN RETURN (SELECT variants FROM abtest.assignments WHERE experiment_id = e AND user_id = u); END \$\$"
cat >"$W/ret_floor_call.sql" <<EOF
\\set r random(1, 200000)
SELECT bench_lookup_floor('$RET', 'v' || :r);
EOF
cat >"$W/ret_assign.sql" <<EOF
\\set r random(1, 200000)
SELECT abt_assign('$RET', 'v' || :r);
EOF
cat >"$W/ret_lookup.sql" <<EOF
\\set r random(1, 200000)
SELECT * FROM abtest.assignments WHERE experiment_id = '$RET' AND user_id = 'v' || :r;
EOF
chmod 644 "$W"/*.sql

echo "# bench/settler.sh: $(date -u '+%F %T UTC'), pgbench -T $DURATION, $ROUNDS rounds"
echo
# counter_pages: the pages of the tables every new visitor's count touches
counter_pages() {
    q "SELECT string_agg(c.relname || ' ' || pg_relation_size(c.oid) / 8192 || ' pages', ', ' ORDER BY c.relname)
         FROM pg_class c WHERE c.relnamespace = 'abtest'::regnamespace
          AND c.relname IN ('variant_counters', 'variant_timeline', 'experiment_timeline')"
}
if [ "$PREFILL" -gt 0 ]; then
    echo "# before the prefill: $(counter_pages)"
    start=$(date +%s.%N)
    for ((i = 0; i < PREFILL; i += 5000)); do
        q "SELECT count(abt_assign('$HOT', 'p' || g)) FROM generate_series($i + 1, $i + 5000) g" >/dev/null
    done
    end=$(date +%s.%N)
    q "VACUUM ANALYZE"
    echo "# $PREFILL new visitors of the hot experiment in statements of 5,000:" \
         "$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') s; after VACUUM ANALYZE: $(counter_pages)"
    echo
fi
# ------------------------------------------------------------------ A
if [[ $SKIP != *A* ]]; then
    declare -A TPS=() M=()
    for r in $(seq 1 "$ROUNDS"); do
        for mode in off on; do
            if [ "$mode" = on ]; then setting 1s; else setting 0; fi
            for s in new_insert:32 new_assign:32 new_floor_rows:32 new_floor_call:32 \
                     ret_lookup:8 ret_assign:8 ret_floor_call:8; do
                t=$(pgb "${s#*:}" "$DURATION" "$W/${s%:*}.sql")
                TPS[$mode.${s%:*}]+="$t "
            done
        done
    done
    setting 1s
    mean() { awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; printf "%.0f", s / NF }' <<<"$1"; }
    echo "## A. write path (tps: mean of rounds; runs in parentheses)"
    echo
    row "workload" "worker off" "worker on" "target"
    row "---" "---" "---" "---"
    for mode in off on; do
        for k in new_insert new_assign new_floor_rows new_floor_call ret_lookup ret_assign ret_floor_call; do
            M[$mode.$k]=$(mean "${TPS[$mode.$k]}")
        done
    done
    # ratio_row LABEL CANDIDATE BASELINE TARGET: the ratio in both modes, with the candidate's tps
    ratio_row() {
        row "$1" "$(ratio "${M[off.$2]}" "${M[off.$3]}") (${M[off.$2]} / ${M[off.$3]})" \
            "$(ratio "${M[on.$2]}" "${M[on.$3]}") (${M[on.$2]} / ${M[on.$3]})" "$4"
    }
    ratio_row "new visitor, 32 clients: abt_assign / bare INSERT" new_assign new_insert ">= 0.7"
    ratio_row "returning visitor, 8 clients: abt_assign / bare lookup" ret_assign ret_lookup ">= 0.9"
    ratio_row "floor: the same rows by one prepared statement / bare INSERT" new_floor_rows new_insert \
        "(no write of these rows goes faster)"
    ratio_row "abt_assign / that floor (new visitor)" new_assign new_floor_rows ""
    ratio_row "floor: a PL/pgSQL function, lookup then INSERT of the assignment alone / bare INSERT" \
        new_floor_call new_insert "(any one-call page view that counts nothing)"
    ratio_row "floor: a PL/pgSQL function doing only the lookup / bare lookup" ret_floor_call ret_lookup \
        "(a function call through SPI)"
    ratio_row "abt_assign / that floor (returning visitor)" ret_assign ret_floor_call ""
    echo
    for k in "${!TPS[@]}"; do echo "# runs $k: ${TPS[$k]}"; done | sort
    echo
fi

# ------------------------------------------------------------------ B
if [[ $SKIP != *B* ]]; then
    setting 1s
    q "SELECT 'ok' FROM pg_create_logical_replication_slot('bench_settle', 'test_decoding')" >/dev/null
    cat >"$W/lag_assign.sql" <<EOF
\\set n random(1, 1000000000000)
SELECT abt_assign('$LAG', 'l' || :client_id || '-' || :n);
EOF
    chmod 644 "$W/lag_assign.sql"
    start=$(date +%s.%N)
    out=$(abt_as_postgres "$PGB" -n -M prepared -j 2 -c 32 -T 30 -f "$W/lag_assign.sql" bench 2>&1)
    end=$(date +%s.%N)
    equal_sql="SELECT count(*) FROM abtest.element_variants v JOIN abtest.variant_totals t ON t.variant_id = v.id
                WHERE t.experiment_id = '$LAG' AND v.total_allocations = t.total_allocations
                  AND v.total_conversions = t.total_conversions"
    while [ "$(q "$equal_sql")" != 4 ]; do
        sleep 0.05
        if awk -v s="$end" -v n="$(date +%s.%N)" 'BEGIN { exit !(n - s > 30) }'; then break; fi
    done
    settled=$(date +%s.%N)
    lag=$(awk -v a="$settled" -v b="$end" 'BEGIN { printf "%.2f", a - b }')
    failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$out")
    q "SELECT (regexp_match(data, '^table abtest\.([a-z_]+): ([A-Z]+)'))[1] || ' ' ||
              (regexp_match(data, '^table abtest\.([a-z_]+): ([A-Z]+)'))[2] AS change, count(*)
         FROM pg_logical_slot_get_changes('bench_settle', NULL, NULL)
        WHERE data LIKE 'table abtest.%' GROUP BY 1 ORDER BY 1" | tr '|' ' ' >"$W/changes"
    q "SELECT pg_drop_replication_slot('bench_settle')" >/dev/null
    secs=$(awk -v a="$settled" -v b="$start" 'BEGIN { printf "%.1f", a - b }')
    ev=$(awk '$1 == "element_variants" && $2 == "UPDATE" { print $3 }' "$W/changes")
    echo "## B. settling (interval 1 s, 30 s at 32 clients, $(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out") tps, ${failed:-?} failed)"
    echo
    row "measure" "value" "per interval" "target"
    row "---" "---" "---" "---"
    row "element_variants = variant_totals after the load stopped (s)" "$lag" "$(ratio "$lag" 1) x interval" "<= 2 x interval"
    row "element_variants UPDATEs, 4 variant rows, ${secs} s" "${ev:-0}" \
        "$(awk -v e="${ev:-0}" -v s="$secs" 'BEGIN { printf "%.2f", e / 4 / s }') per variant row" "about 1"
    echo
    sed 's/^/# test_decoding: /' "$W/changes"
    echo
fi

# ------------------------------------------------------------------ C
if [[ $SKIP != *C* ]]; then
    setting 1s
    cat >"$W/spread.sql" <<'EOF'
\set n random(1, 1000000000000)
\set s random(0, 604799)
SELECT abt_assign(:exp, 'w' || :client_id || '-' || :n, now() - make_interval(secs => :s));
EOF
    chmod 644 "$W/spread.sql"
    abt_as_postgres "$PGB" -n -M prepared -j 2 -c 100 -t 1000 -D "exp=$C100" -f "$W/spread.sql" bench >/dev/null 2>&1
    abt_as_postgres "$PGB" -n -M prepared -j 2 -c 2 -t 50000 -D "exp=$C2" -f "$W/spread.sql" bench >/dev/null 2>&1
    folded_sql="SELECT count(*) FROM abtest.experiment_timeline WHERE experiment_id IN ('$C2', '$C100')
                  AND slot <> 0 AND bucket < date_bin('15 minutes', now(), '2000-01-01')"
    for _ in $(seq 1 600); do [ "$(q "$folded_sql")" = 0 ] && break; sleep 0.1; done
    q "VACUUM ANALYZE"
    for e in C2 C100; do
        cat >"$W/tl_$e.sql" <<EOF
SELECT count(*) FROM abt_timeline('${!e}', 168);
EOF
        cat >"$W/st_$e.sql" <<EOF
SELECT count(*) FROM abt_variant_stats(ARRAY['${!e}']::uuid[]);
EOF
    done
    chmod 644 "$W"/tl_*.sql "$W"/st_*.sql
    declare -A CT=()
    for r in $(seq 1 "$ROUNDS"); do
        for k in tl_C2 tl_C100 st_C2 st_C100; do CT[$k]+="$(pgb 1 "$DURATION" "$W/$k.sql") "; done
    done
    mean() { awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; printf "%.1f", s / NF }' <<<"$1"; }
    echo "## C. 100k visitors over 7 days through 100 vs 2 connections, folded (tps of 1 client)"
    echo
    row "call" "2 connections" "100 connections" "time 100 / time 2 (target <= 1.5)"
    row "---" "---" "---" "---"
    row "abt_timeline(e, 168)" "$(mean "${CT[tl_C2]}")" "$(mean "${CT[tl_C100]}")" "$(ratio "$(mean "${CT[tl_C2]}")" "$(mean "${CT[tl_C100]}")")"
    row "abt_variant_stats(ARRAY[e])" "$(mean "${CT[st_C2]}")" "$(mean "${CT[st_C100]}")" "$(ratio "$(mean "${CT[st_C2]}")" "$(mean "${CT[st_C100]}")")"
    echo "# rollup rows (2, 100): $(q "SELECT string_agg(n::text, ', ' ORDER BY e) FROM (SELECT experiment_id::text e, count(*) n FROM abtest.experiment_timeline WHERE experiment_id IN ('$C2', '$C100') GROUP BY 1) x")"
    echo
fi

# ------------------------------------------------------------------ D
if [[ $SKIP != *D* ]]; then
    setting 0
    TL=5b000006-0000-4000-8000-000000000006
    P=${TL:0:8}
    for n in "$SMALL" "$BIG"; do
        db=tl_$n
        q "CREATE DATABASE $db" postgres
        q "SET abtest.publication = ''; CREATE EXTENSION abtest" "$db"
        experiment "$db" "$TL"
        q "ALTER TABLE abtest.assignments SET (autovacuum_enabled = false)" "$db"
        # two loaders' passes over the same 7 days, not in step: rows out of time order
        q "INSERT INTO abtest.assignments (experiment_id, user_id, variants, assigned_at, converted_at)
           SELECT '$TL', 'u' || g,
                  jsonb_build_object('$P-0000-4000-8000-000000000011',
                                     CASE WHEN g % 2 = 0 THEN '$P-0000-4000-8000-000000000111' ELSE '$P-0000-4000-8000-000000000112' END,
                                     '$P-0000-4000-8000-000000000012',
                                     CASE WHEN g % 3 = 0 THEN '$P-0000-4000-8000-000000000121' ELSE '$P-0000-4000-8000-000000000122' END),
                  now() - interval '7 days' * (CASE WHEN g % 2 = 0 THEN (g::int8 * 7919) % $n ELSE $n - g END)::float8 / $n,
                  CASE WHEN g % 5 = 0 THEN now() END
             FROM generate_series(1, $n) g" "$db"
        q "INSERT INTO abtest.experiment_timeline (experiment_id, bucket, slot, assignments, conversions)
           SELECT experiment_id, date_bin('15 minutes', assigned_at, '2000-01-01'), 0, count(*), count(converted_at)
             FROM abtest.assignments GROUP BY 1, 2" "$db"
        echo "# $db: $(q "SELECT pg_size_pretty(pg_relation_size('abtest.assignments'))" "$db") heap, reltuples $(q "SELECT reltuples FROM pg_class WHERE oid = 'abtest.assignments'::regclass" "$db")"
    done
    for h in 168 24; do
        echo "SELECT count(*) FROM abt_timeline('$TL', $h);" >"$W/tl_$h.sql"
    done
    chmod 644 "$W"/tl_168.sql "$W"/tl_24.sql
    declare -A DT=()
    for phase in fresh analyzed vacuumed; do
        if [ "$phase" = analyzed ]; then
            for n in "$SMALL" "$BIG"; do q "ANALYZE" "tl_$n"; done
        fi
        # what autovacuum has long done for rows a week old: the visibility
        # map set, so that the partial bucket is read from index entries alone
        if [ "$phase" = vacuumed ]; then
            for n in "$SMALL" "$BIG"; do q "VACUUM abtest.assignments" "tl_$n"; done
        fi
        for r in $(seq 1 "$ROUNDS"); do
            for h in 168 24; do
                for n in "$SMALL" "$BIG"; do
                    DT[$phase.$h.$n]+="$(pgb 1 "$DURATION" "$W/tl_$h.sql" "tl_$n") "
                done
            done
        done
    done
    mean() { awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; printf "%.1f", s / NF }' <<<"$1"; }
    echo
    echo "## D. abt_timeline, out of time order, $SMALL vs $BIG assignments (tps of 1 client)"
    echo
    row "call" "$SMALL" "$BIG" "time big / time small (target <= 1.5)"
    row "---" "---" "---" "---"
    for phase in fresh analyzed vacuumed; do
        for h in 168 24; do
            a=$(mean "${DT[$phase.$h.$SMALL]}"); b=$(mean "${DT[$phase.$h.$BIG]}")
            row "abt_timeline(e, $h), $phase" "$a" "$b" "$(ratio "$a" "$b")"
        done
    done
    echo "# correlation of assigned_at (small, big): $(q "SELECT correlation FROM pg_stats WHERE tablename = 'assignments' AND attname = 'assigned_at'" "tl_$SMALL"), $(q "SELECT correlation FROM pg_stats WHERE tablename = 'assignments' AND attname = 'assigned_at'" "tl_$BIG")"
fi
