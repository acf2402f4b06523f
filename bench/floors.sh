#!/usr/bin/env bash
# bench/floors.sh -- the new-visitor write path's floors (issue 22), ratios
# to the bare INSERT into abtest.assignments in the same run.
#
# One throwaway server (scripts/lib.sh), shared_preload_libraries = 'abtest'
# (settler on, 1 s), one hot experiment of 2 elements x 2 variants, 32
# clients.  Every round runs every script (bench/pgbench/floor_*.sql), the
# order reversed every other round; a CHECKPOINT before each run.  Printed:
# the best and the mean of the rounds' ratios to the bare INSERT of the same
# round.
#
#   insert  the bare INSERT into abtest.assignments: the baseline
#   assign  (a) abt_assign of today, new visitors
#   only    (b) a PL/pgSQL function: lookup, then the assignment row alone
#           (also the write of the "no counter row" direction (d): it
#           writes nothing but the assignment)
#   packed  (c) one prepared statement: the assignment + one upsert of a
#           single row per (experiment, slot, quarter hour) holding every
#           variant's count in an int8[] (HOT: no indexed column changes)
#   packedf (c') the same as a PL/pgSQL function: lookup, INSERT, one UPDATE
#           of the packed row (created by an upsert when missing)
#   six     today's six rows by one prepared statement (floor 1 of
#           bench/settler.sh)
#   four    the assignment, the E = 2 variant_counters rows (published:
#           docs/realtime.md promises a change per element and visitor) and
#           one packed timeline row in place of the E + 1 timeline rows
#   three   the assignment and the two variant_counters rows alone: the
#           least a new visitor can write while variant_counters keeps that
#           promise (a timeline with no hot-path row)
#
# Then N calls in one statement against N/1000 statements of 1,000 (one
# experiment each, every statement its own transaction): abt_assign for N
# new visitors, then their first conversions, best of 3 (BENCH_MANY, default 16000; 0 skips it).
#
# Then what the "no counter row" direction (d) would add to every live
# read (BENCH_UNFOLDED rounds, default 3; 0 skips it): 12 s of new visitors
# of the hot experiment at 32 clients, then, one client each for
# BENCH_DURATION, abt_variant_stats of today against counting the last
# second of its assignments per variant (the least a read would count with
# a fold every second); the ratio of their rates.
#
# Env: BENCH_DURATION (s, default 10), BENCH_ROUNDS (default 3),
#      BENCH_SCRIPTS (default "insert assign only packed packedf six four three").
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ABT_ROOT" || exit 2

DURATION=${BENCH_DURATION:-10}
ROUNDS=${BENCH_ROUNDS:-3}
MANY=${BENCH_MANY:-16000}
UNFOLDED=${BENCH_UNFOLDED:-3}
SCRIPTS=(${BENCH_SCRIPTS:-insert assign only packed packedf six four three})
PGB=$ABT_BIN/pgbench

abt_tmp_init || exit 2
abt_copy_source "$ABT_TMP/src" || exit 2
# the install shares the system's directories with other sessions: under
# their lock; the server preloads the library, so a later install by
# someone else changes nothing that runs here
flock /tmp/abtest-install.lock bash -c ". scripts/lib.sh && abt_build_install '$ABT_SRC'" \
    >"$ABT_TMP/build.log" 2>&1 || { tail -20 "$ABT_TMP/build.log"; exit 2; }
abt_start_server "shared_preload_libraries = 'abtest'" "abtest.settle_interval = '1s'" \
    "shared_buffers = 1GB" "max_connections = 100" \
    "checkpoint_timeout = 30min" "max_wal_size = 8GB" >/dev/null || exit 2
q() { abt_psql -q -At -d "${2:-bench}" -c "$1"; }

HOT=5b000001-0000-4000-8000-000000000001
P=${HOT:0:8}
E1=$P-0000-4000-8000-000000000011; E2=$P-0000-4000-8000-000000000012
V1=$P-0000-4000-8000-000000000111; V3=$P-0000-4000-8000-000000000121
q "CREATE DATABASE bench" postgres
q "CREATE EXTENSION abtest"
q "INSERT INTO abtest.experiments (id, name, status) VALUES ('$HOT', 'hot', 'active');
   INSERT INTO abtest.experiment_elements (id, experiment_id, name, position) VALUES
     ('$E1', '$HOT', 'h', 1), ('$E2', '$HOT', 'b', 2);
   INSERT INTO abtest.element_variants (id, element_id, name, is_control, position) VALUES
     ('$V1', '$E1', 'A', true, 1), ('$P-0000-4000-8000-000000000112', '$E1', 'B', false, 2),
     ('$V3', '$E2', 'C', true, 1), ('$P-0000-4000-8000-000000000122', '$E2', 'D', false, 2);"
# (c): one row per (experiment, slot, quarter hour), all variants' counts
q "CREATE TABLE bench_packed (
     experiment_id uuid NOT NULL, slot int4 NOT NULL, bucket timestamptz NOT NULL,
     assignments int8 NOT NULL DEFAULT 0, conversions int8 NOT NULL DEFAULT 0,
     allocations int8[] NOT NULL, converted int8[] NOT NULL,
     PRIMARY KEY (experiment_id, slot, bucket)) WITH (fillfactor = 50)"
q "CREATE FUNCTION bench_only(e uuid, u text, m jsonb) RETURNS jsonb LANGUAGE plpgsql AS
   \$\$ DECLARE v jsonb; BEGIN
        SELECT variants INTO v FROM abtest.assignments WHERE experiment_id = e AND user_id = u;
        IF v IS NULL THEN
            INSERT INTO abtest.assignments (experiment_id, user_id, variants) VALUES (e, u, m);
            v := m;
        END IF;
        RETURN v; END \$\$"
q "CREATE FUNCTION bench_packedf(e uuid, u text, m jsonb, s int4, p1 int4, p2 int4) RETURNS jsonb LANGUAGE plpgsql AS
   \$\$ DECLARE v jsonb; b timestamptz; BEGIN
        SELECT variants INTO v FROM abtest.assignments WHERE experiment_id = e AND user_id = u;
        IF v IS NULL THEN
            INSERT INTO abtest.assignments (experiment_id, user_id, variants) VALUES (e, u, m)
              RETURNING date_bin('15 minutes', assigned_at, '2000-01-01') INTO b;
            UPDATE bench_packed t SET assignments = t.assignments + 1,
                   allocations[p1] = t.allocations[p1] + 1, allocations[p2] = t.allocations[p2] + 1
             WHERE t.experiment_id = e AND t.slot = s AND t.bucket = b;
            IF NOT FOUND THEN
                INSERT INTO bench_packed AS t (experiment_id, slot, bucket, assignments, allocations, converted)
                VALUES (e, s, b, 1, array_fill(0::int8, ARRAY[4]), array_fill(0::int8, ARRAY[4]))
                ON CONFLICT (experiment_id, slot, bucket) DO UPDATE SET assignments = t.assignments + 1;
                UPDATE bench_packed t SET allocations[p1] = t.allocations[p1] + 1,
                       allocations[p2] = t.allocations[p2] + 1
                 WHERE t.experiment_id = e AND t.slot = s AND t.bucket = b;
            END IF;
            v := m;
        END IF;
        RETURN v; END \$\$"
VMAP="{\"$E1\": \"$V1\", \"$E2\": \"$V3\"}"
q "VACUUM ANALYZE"
W=$ABT_TMP/bench
mkdir -p "$W" && cp bench/pgbench/floor_*.sql "$W"/ && chmod 755 "$W" && chmod 644 "$W"/*.sql
DEFS=(-D "exp=$HOT" -D "vmap=$VMAP" -D "v1=$V1" -D "v3=$V3")

echo "# bench/floors.sh: $(date -u '+%F %T UTC'), 32 clients, pgbench -T $DURATION, $ROUNDS rounds, load $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A TPS=()
pgb() {
    q CHECKPOINT >/dev/null
    abt_as_postgres "$PGB" -n -M prepared -j 2 -c 32 -T "$DURATION" "${DEFS[@]}" \
        -f "$W/floor_$1.sql" bench 2>"$W/$1.err" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}
for s in "${SCRIPTS[@]}"; do
    abt_as_postgres "$PGB" -n -M prepared -j 2 -c 32 -T 2 "${DEFS[@]}" -f "$W/floor_$s.sql" bench >/dev/null 2>"$W/$s.warm" || { tail -3 "$W/$s.warm"; exit 2; }
done
for r in $(seq 1 "$ROUNDS"); do
    order=("${SCRIPTS[@]}")
    if [ $((r % 2)) = 0 ]; then
        order=(); for ((i = ${#SCRIPTS[@]} - 1; i >= 0; i--)); do order+=("${SCRIPTS[$i]}"); done
    fi
    for s in "${order[@]}"; do
        TPS[$r.$s]=$(pgb "$s")
        printf '# round %s %-8s %8.0f tps (load %s)\n' "$r" "$s" "${TPS[$r.$s]:-0}" "$(cut -d' ' -f1 /proc/loadavg)"
    done
done
echo
echo "| script | best ratio | mean ratio | ratios per round |"
echo "| --- | ---: | ---: | --- |"
for s in "${SCRIPTS[@]}"; do
    rs=""
    for r in $(seq 1 "$ROUNDS"); do
        rs+="$(awk -v a="${TPS[$r.$s]:-0}" -v b="${TPS[$r.insert]:-1}" 'BEGIN { printf "%.2f", a / b }') "
    done
    awk -v s="$s" -v rs="$rs" 'BEGIN { n = split(rs, x, " "); best = 0; sum = 0
        for (i = 1; i <= n; i++) { sum += x[i]; if (x[i] > best) best = x[i] }
        printf "| %s | %.2f | %.2f | %s|\n", s, best, sum / n, rs }'
done
echo
echo "# packed rows: $(q "SELECT count(*) || ' rows, ' || pg_size_pretty(pg_relation_size('bench_packed')) FROM bench_packed")"
echo "# check: packed allocations = assignments through it: $(q "SELECT (SELECT sum(allocations[1]) FROM bench_packed) = (SELECT count(*) FROM abtest.assignments WHERE user_id LIKE 'k%' OR user_id LIKE 'q%' OR user_id LIKE 'r%')")"

# ------------------------------------------------------------- many calls
if [ "$MANY" -gt 0 ]; then
    # experiment ID: a copy of HOT's configuration under another id
    copy_experiment() {
        local p=${1:0:8}
        q "INSERT INTO abtest.experiments (id, name, status) VALUES ('$1', '$1', 'active');
           INSERT INTO abtest.experiment_elements (id, experiment_id, name, position) VALUES
             ('$p-0000-4000-8000-000000000011', '$1', 'h', 1), ('$p-0000-4000-8000-000000000012', '$1', 'b', 2);
           INSERT INTO abtest.element_variants (id, element_id, name, is_control, position) VALUES
             ('$p-0000-4000-8000-000000000111', '$p-0000-4000-8000-000000000011', 'A', true, 1),
             ('$p-0000-4000-8000-000000000112', '$p-0000-4000-8000-000000000011', 'B', false, 2),
             ('$p-0000-4000-8000-000000000121', '$p-0000-4000-8000-000000000012', 'C', true, 1),
             ('$p-0000-4000-8000-000000000122', '$p-0000-4000-8000-000000000012', 'D', false, 2);"
    }
    secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
    best_one=""; best_many=""
    for r in 1 2 3; do
        E1=5c00000$r-0000-4000-8000-000000000001; E2=5d00000$r-0000-4000-8000-000000000001
        copy_experiment "$E1"; copy_experiment "$E2"
        t0=$(date +%s.%N)
        q "SELECT count(abt_assign('$E1', 'm' || i)) FROM generate_series(1, $MANY) i" >/dev/null
        t1=$(date +%s.%N)
        for k in $(seq 0 $((MANY / 1000 - 1))); do
            q "SELECT count(abt_assign('$E2', 'm' || i)) FROM generate_series($((k * 1000 + 1)), $((k * 1000 + 1000))) i" >/dev/null
        done
        t2=$(date +%s.%N)
        # their first conversions the same two ways
        t3=$(date +%s.%N)
        q "SELECT count(abt_convert('$E1', 'm' || i, 'buy', 1)) FROM generate_series(1, $MANY) i" >/dev/null
        t4=$(date +%s.%N)
        for k in $(seq 0 $((MANY / 1000 - 1))); do
            q "SELECT count(abt_convert('$E2', 'm' || i, 'buy', 1)) FROM generate_series($((k * 1000 + 1)), $((k * 1000 + 1000))) i" >/dev/null
        done
        t5=$(date +%s.%N)
        one=$(secs "$t0" "$t1"); many=$(secs "$t1" "$t2")
        cone=$(secs "$t3" "$t4"); cmany=$(secs "$t4" "$t5")
        echo "# round $r: $MANY new visitors in one statement ${one} s, in $((MANY / 1000)) statements of 1,000 ${many} s;" \
             "first conversions ${cone} s / ${cmany} s"
        best_cone=$(awk -v a="${best_cone:-}" -v b="$cone" 'BEGIN { print (a == "" || b < a) ? b : a }')
        best_cmany=$(awk -v a="${best_cmany:-}" -v b="$cmany" 'BEGIN { print (a == "" || b < a) ? b : a }')
        best_one=$(awk -v a="$best_one" -v b="$one" 'BEGIN { print (a == "" || b < a) ? b : a }')
        best_many=$(awk -v a="$best_many" -v b="$many" 'BEGIN { print (a == "" || b < a) ? b : a }')
    done
    echo "| $MANY new visitors: one statement / $((MANY / 1000)) statements of 1,000 (best of 3) | ${best_one} s / ${best_many} s = $(awk -v a="$best_one" -v b="$best_many" 'BEGIN { printf "%.2f", a / b }') |"
    echo "| $MANY first conversions: one statement / $((MANY / 1000)) statements of 1,000 (best of 3) | ${best_cone} s / ${best_cmany} s = $(awk -v a="$best_cone" -v b="$best_cmany" 'BEGIN { printf "%.2f", a / b }') |"
    echo "# check: $(q "SELECT string_agg(format('%s %s', t.experiment_id, CASE WHEN t.n = a.n THEN 'exact' ELSE 'MISMATCH' END), ', ')
                     FROM (SELECT experiment_id, sum(assignments) + sum(conversions) n FROM abtest.experiment_timeline GROUP BY 1) t
                     JOIN (SELECT experiment_id, count(*) + count(converted_at) n FROM abtest.assignments GROUP BY 1) a USING (experiment_id)
                    WHERE t.experiment_id::text LIKE '5c%' OR t.experiment_id::text LIKE '5d%'")"
fi

# ------------------------------------------- reads of unfolded assignments
if [ "$UNFOLDED" -gt 0 ]; then
    printf '%s\n' '\set n random(1, 1000000000000)' \
        "SELECT abt_assign('$HOT', 'u' || :client_id || '-' || :n);" >"$W/unfolded_load.sql"
    echo "SELECT count(*) FROM abt_variant_stats(ARRAY['$HOT']::uuid[]);" >"$W/unfolded_stats.sql"
    # both indexes on (experiment_id, assigned_at) together hold every
    # assignment; the newest second is where new visitors are
    cat >"$W/unfolded_count.sql" <<SQL
SELECT v.value, pg_catalog.count(*)
  FROM abtest.assignments a, jsonb_each_text(a.variants) v
 WHERE a.experiment_id = '$HOT' AND a.converted_at IS NULL
   AND a.assigned_at >= (SELECT max(b.assigned_at) FROM abtest.assignments b
                          WHERE b.experiment_id = '$HOT' AND b.converted_at IS NULL) - interval '1 second'
 GROUP BY 1;
SQL
    chmod 644 "$W"/unfolded_*.sql
    rate() {
        abt_as_postgres "$PGB" -n -M prepared -c "$1" -j "$2" -T "$3" -f "$W/$4" bench 2>>"$W/unfolded.err" |
            sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
    }
    echo
    echo "| round | new visitors/s | assignments in the last second | abt_variant_stats/s | one unfolded second counted/s | ratio |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: |"
    for r in $(seq 1 "$UNFOLDED"); do
        load=$(rate 32 2 12 unfolded_load.sql)
        last=$(q "SELECT count(*) FROM abtest.assignments WHERE experiment_id = '$HOT' AND converted_at IS NULL
                    AND assigned_at >= (SELECT max(assigned_at) FROM abtest.assignments) - interval '1 second'")
        q "VACUUM ANALYZE abtest.assignments"
        stats=$(rate 1 1 "$DURATION" unfolded_stats.sql)
        counted=$(rate 1 1 "$DURATION" unfolded_count.sql)
        awk -v r="$r" -v l="$load" -v n="$last" -v s="$stats" -v c="$counted" 'BEGIN {
            printf "| %s | %.0f | %s | %.0f | %.0f | %.3f |\n", r, l, n, s, c, (s > 0 ? c / s : 0) }'
    done
fi
