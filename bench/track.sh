#!/usr/bin/env bash
# bench/track.sh -- abt_track (issue 20) against what it replaces, as ratios
# measured in the same run.
#
# One throwaway server (scripts/lib.sh), 4 clients, pgbench -T BENCH_DURATION
# per script, BENCH_ROUNDS rounds (order reversed every other round), the
# best tps of the rounds.  Experiments of one element and 2 variants, goals
# undeclared (no lookback: the common case), BENCH_VISITORS returning
# visitors assigned in K = 1, 5 and 20 of them.
#
#   track_K     abt_track(visitor, 'purchase', 1) for a visitor of K experiments
#   convert_K   the K abt_convert calls of the same event in one transaction
#               (one SELECT: what a site calls today)
#   nobody      abt_track for a visitor in no experiment (the common case on
#               a big site), with the 26 experiments above
#   nobody_126  the same with 100 more experiments (no visitors): the nested
#               loop probes every experiment's key of assignments
#   insert      a bare INSERT of the event into a table of the same columns
#               as abtest.visitor_events: the floor of any tracking call
#   assign      a new visitor's abt_assign (one experiment of 26), and
#   assign_idx  the same with an index on abtest.assignments (user_id): what
#               the alternative design of the lookup would cost every new
#               visitor
#   track_1_idx, nobody_126_idx
#               track_1 and nobody with that index and 126 experiments
#
# Env: BENCH_DURATION (s, default 5), BENCH_ROUNDS (default 2),
#      BENCH_VISITORS (default 2000).
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
abt_bench_args "$@"
cd "$ABT_ROOT" || exit 2

DURATION=${BENCH_DURATION:-5}
ROUNDS=${BENCH_ROUNDS:-2}
N=${BENCH_VISITORS:-2000}
[ "$QUICK" = 1 ] && { DURATION=2; ROUNDS=1; N=500; }
PGB=$ABT_BIN/pgbench

abt_tmp_init || exit 2
abt_copy_source "$ABT_TMP/src" || exit 2
flock /tmp/abtest-install.lock bash -c ". scripts/lib.sh && abt_build_install '$ABT_SRC'" \
    >"$ABT_TMP/build.log" 2>&1 || { tail -20 "$ABT_TMP/build.log"; exit 2; }
abt_start_server "shared_preload_libraries = 'abtest'" "abtest.settle_interval = '1s'" \
    "shared_buffers = 512MB" "max_wal_size = 4GB" >/dev/null || exit 2
q() { abt_psql -q -At -d "${2:-bench}" -c "$1"; }

q "CREATE DATABASE bench" postgres
q "CREATE EXTENSION abtest"
# experiment i (1..126): b7000000-0000-4000-8000-<i>, element ...-1<i>, variants ...-2<i>, ...-3<i>
q "CREATE FUNCTION bench_id(kind int, i int) RETURNS uuid LANGUAGE sql IMMUTABLE AS
   \$\$ SELECT ('b7000000-0000-4000-8000-' || kind || lpad(i::text, 11, '0'))::uuid \$\$"
q "INSERT INTO abtest.experiments (id, name, status) SELECT bench_id(0, i), 'e' || i, 'active' FROM generate_series(1, 26) i;
   INSERT INTO abtest.experiment_elements (id, experiment_id, name, position)
   SELECT bench_id(1, i), bench_id(0, i), 'h', 1 FROM generate_series(1, 26) i;
   INSERT INTO abtest.element_variants (id, element_id, name, is_control, position)
   SELECT bench_id(2, i), bench_id(1, i), 'A', true, 1 FROM generate_series(1, 26) i
   UNION ALL SELECT bench_id(3, i), bench_id(1, i), 'B', false, 2 FROM generate_series(1, 26) i;"
# visitors of K experiments: k1-<n> in experiment 1, k5-<n> in 2..6, k20-<n> in 7..26
q "SELECT count(*) FROM abt_assign_bulk(bench_id(0, 1), ARRAY(SELECT 'k1-' || n FROM generate_series(1, $N) n))" >/dev/null
for i in $(seq 2 6); do
    q "SELECT count(*) FROM abt_assign_bulk(bench_id(0, $i), ARRAY(SELECT 'k5-' || n FROM generate_series(1, $N) n))" >/dev/null
done
for i in $(seq 7 26); do
    q "SELECT count(*) FROM abt_assign_bulk(bench_id(0, $i), ARRAY(SELECT 'k20-' || n FROM generate_series(1, $N) n))" >/dev/null
done
q "CREATE TABLE bench_events (user_id text NOT NULL, goal text NOT NULL, value numeric, at timestamptz NOT NULL);
   CREATE INDEX ON bench_events (user_id, goal, at)"
q "VACUUM ANALYZE"

W=$ABT_TMP/track
mkdir -p "$W" && chmod 755 "$W"
convert_sql() { # K FIRST: K abt_convert calls in one SELECT
    local k=$1 first=$2 i calls=()
    for i in $(seq "$first" $((first + k - 1))); do
        calls+=("abt_convert(bench_id(0, $i), 'k$k-' || :n, 'purchase', 1)")
    done
    local IFS=,
    printf '\\set n random(1, %s)\nSELECT %s;\n' "$N" "${calls[*]}"
}
printf '\\set n random(1, %s)\nSELECT abt_track('"'"'k1-'"'"' || :n, '"'"'purchase'"'"', 1);\n' "$N" >"$W/track_1.sql"
printf '\\set n random(1, %s)\nSELECT abt_track('"'"'k5-'"'"' || :n, '"'"'purchase'"'"', 1);\n' "$N" >"$W/track_5.sql"
printf '\\set n random(1, %s)\nSELECT abt_track('"'"'k20-'"'"' || :n, '"'"'purchase'"'"', 1);\n' "$N" >"$W/track_20.sql"
convert_sql 1 1 >"$W/convert_1.sql"
convert_sql 5 2 >"$W/convert_5.sql"
convert_sql 20 7 >"$W/convert_20.sql"
printf '\\set n random(1, 1000000000)\nSELECT abt_track('"'"'nobody-'"'"' || :n, '"'"'purchase'"'"', 1);\n' >"$W/nobody.sql"
cp "$W/nobody.sql" "$W/nobody_126.sql"
printf '\\set n random(1, 1000000000)\nINSERT INTO bench_events VALUES ('"'"'nobody-'"'"' || :n, '"'"'purchase'"'"', 1, now());\n' >"$W/insert.sql"
printf '\\set n random(1, 1000000000)\nSELECT abt_assign(bench_id(0, 1), '"'"'new-'"'"' || :n);\n' >"$W/assign.sql"
cp "$W/assign.sql" "$W/assign_idx.sql"
chmod 644 "$W"/*.sql

declare -A TPS
run() { # SCRIPT ROUND
    local out
    q "CHECKPOINT"
    out=$(abt_as_postgres "$PGB" -n -M prepared -c 4 -j 2 -T "$DURATION" -f "$W/$1.sql" bench 2>&1) ||
        { echo "$out" | tail -3; exit 2; }
    local tps
    tps=$(echo "$out" | sed -nE 's/^tps = ([0-9.]+).*/\1/p' | head -1)
    if awk -v a="$tps" -v b="${TPS[$1]:-0}" 'BEGIN { exit !(a > b) }'; then TPS[$1]=$tps; fi
    printf '# round %s %-11s %8.0f tps (load %s)\n' "$2" "$1" "$tps" "$(cut -d' ' -f1 /proc/loadavg)"
}
# the lookup of the visitor's experiments, as track.c runs it
echo "# plan of track.c's experiments_sql:"
q "EXPLAIN (COSTS OFF) SELECT e.id, e.config_version, a.assigned_at FROM abtest.experiments e
   JOIN abtest.assignments a ON a.experiment_id = e.id WHERE a.user_id = 'k20-1' ORDER BY e.id" | sed 's/^/#   /'
echo "# bench/track.sh: $(date -u '+%F %T UTC'), 4 clients, pgbench -T $DURATION, $ROUNDS rounds, $N visitors per K, load $(cut -d' ' -f1-3 /proc/loadavg)"
MAIN=(track_1 convert_1 track_5 convert_5 track_20 convert_20 insert nobody assign)
for r in $(seq 1 "$ROUNDS"); do
    order=("${MAIN[@]}")
    if [ $((r % 2)) -eq 0 ]; then
        order=(); for ((i = ${#MAIN[@]} - 1; i >= 0; i--)); do order+=("${MAIN[i]}"); done
    fi
    for s in "${order[@]}"; do run "$s" "$r"; done
done
# 100 more experiments for nobody_126, then the index for assign_idx
q "INSERT INTO abtest.experiments (id, name, status) SELECT bench_id(0, i), 'e' || i, 'active' FROM generate_series(27, 126) i;
   INSERT INTO abtest.experiment_elements (id, experiment_id, name, position)
   SELECT bench_id(1, i), bench_id(0, i), 'h', 1 FROM generate_series(27, 126) i;
   INSERT INTO abtest.element_variants (id, element_id, name, is_control, position)
   SELECT bench_id(2, i), bench_id(1, i), 'A', true, 1 FROM generate_series(27, 126) i; ANALYZE"
for r in $(seq 1 "$ROUNDS"); do run nobody_126 "$r"; done
q "CREATE INDEX bench_assignments_user ON abtest.assignments (user_id)"
for r in $(seq 1 "$ROUNDS"); do run assign_idx "$r"; done
# abt_track with that index (the planner takes it by itself)
cp "$W/track_1.sql" "$W/track_1_idx.sql"; cp "$W/nobody.sql" "$W/nobody_126_idx.sql"; chmod 644 "$W"/*.sql
q "ANALYZE abtest.assignments"
for r in $(seq 1 "$ROUNDS"); do run track_1_idx "$r"; run nobody_126_idx "$r"; done

ratio() { awk -v a="${TPS[$1]:-0}" -v b="${TPS[$2]:-1}" 'BEGIN { printf "%.2f", a / b }'; }
echo
echo "| comparison (tps, best of $ROUNDS) | ratio |"
echo "| --- | ---: |"
for k in 1 5 20; do
    echo "| abt_track / $k abt_convert in one transaction, visitor in $k | $(ratio track_$k convert_$k) (${TPS[track_$k]} / ${TPS[convert_$k]}) |"
done
echo "| abt_track of a visitor in no experiment (26 experiments) / bare INSERT | $(ratio nobody insert) (${TPS[nobody]} / ${TPS[insert]}) |"
echo "| the same with 126 experiments / bare INSERT | $(ratio nobody_126 insert) (${TPS[nobody_126]} / ${TPS[insert]}) |"
echo "| with that index, 126 experiments: abt_track of a visitor in 1 / 1 abt_convert | $(ratio track_1_idx convert_1) (${TPS[track_1_idx]} / ${TPS[convert_1]}) |"
echo "| with that index, 126 experiments: abt_track of a visitor in none / bare INSERT | $(ratio nobody_126_idx insert) (${TPS[nobody_126_idx]} / ${TPS[insert]}) |"
echo "| new visitor's abt_assign with an index on assignments (user_id) / without | $(ratio assign_idx assign) (${TPS[assign_idx]} / ${TPS[assign]}) |"
