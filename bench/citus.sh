#!/usr/bin/env bash
# bench/citus.sh -- abt_assign on a real Citus cluster, against one server.
# Needs root (the cluster library runs its servers with runuser) and Citus
# installed for PostgreSQL 15; without Citus it prints SKIP and exits 0.
#
# Usage: bench/citus.sh [--quick]
#
# Uses the installed abtest (builds and installs nothing).  Starts, in one
# temporary directory, both running throughout:
#
#   single    one plain PostgreSQL 15 (scripts/lib.sh), no Citus
#   cluster   a Citus coordinator and 2 workers
#             (test/client/lib/citus_cluster.sh), abt_distribute()d
#
# Both: shared_buffers 64MB, fsync off, synchronous_commit off, no
# shared_preload_libraries but Citus's; abtest created with no publication;
# 8 active experiments of 1 element x 2 variants, 20,000 visitors of each
# assigned beforehand (abt_assign_bulk).
#
# Workloads (pgbench -n -M simple -j 2: the simple protocol, so that the
# coordinator sees the experiment id as a constant and delegates the call;
# one script per experiment, its uuid a literal, picked with equal weights):
#
#   returning visitor, 8 clients    abt_assign(e, one of the 20,000)
#   new visitor, 16 clients         abt_assign(e, a user id never seen)
#   floor, 8 clients                bench_noop(e, visitor): a PL/pgSQL function
#                                   returning 1, delegated like abt_assign on
#                                   the cluster: the cost of a call itself
#   convert, 8 clients              abt_convert(e, one of the 20,000, 'purchase', 5)
#   returning-workers, 8 clients    returning visitors, the cluster's clients
#                                   connected to the workers, 4 each (Citus
#                                   runs a call on any node; on the node
#                                   holding the experiment it stays local)
#
# One warm-up run per workload and side, then BENCH_ROUNDS rounds of
# "single, cluster" per workload.  Printed: the median tps per side, the
# ratio cluster / single (targets: new >= 0.3, returning >= 0.5), and whether
# the coordinator pushed abt_assign down to a worker ("pushing down the
# function call" at client_min_messages = debug1).  Only ratios of one run
# mean anything: the three cluster servers and pgbench share this machine.
#
# Env:  BENCH_DURATION (s per run, default 15; --quick 5), BENCH_WARMUP (s,
#       default 3; --quick 2), BENCH_ROUNDS (default 2; --quick 1),
#       ABT_TMP (parent of the temporary directory, default /tmp),
#       ABT_KEEP=1 (keep the temporary directory), ABT_PORT_BASE.
# Exit: 0 = measured (whatever the numbers) or skipped, 1 = setup failed.
set -uo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
# shellcheck source=test/client/lib/citus_cluster.sh
. "$ABT_ROOT/test/client/lib/citus_cluster.sh"
cd "$ABT_ROOT" || exit 1

abt_bench_args "$@"
if [ "$QUICK" = 1 ]; then D=5; W=2; R=1; else D=15; W=3; R=2; fi
DURATION=${BENCH_DURATION:-$D}
WARMUP=${BENCH_WARMUP:-$W}
ROUNDS=${BENCH_ROUNDS:-$R}
DB=bench
NEXP=8          # experiments
NRET=20000      # returning visitors per experiment
KEYS=(returning@8 new@16 floor@8 returning-workers@8 convert@8)
declare -A TARGET=([returning]=0.5 [new]=0.3 [floor]= [returning-workers]= [convert]=) \
    LABEL=([returning]="returning visitor" [new]="new visitor" [floor]="floor: a delegated function doing nothing"
           [returning-workers]="returning visitor, clients connected to the workers (half each)"
           [convert]="conversion with a value (abt_convert)")

if reason=$(citus_missing); then
    echo "SKIP: $reason"
    exit 0
fi
die() { abt_err "$*"; exit 1; }
abt_is_root || die "run as root (the Citus cluster's servers are started with runuser)"

# ------------------------------------------------------------ servers
# One directory for everything, owned by postgres: the single server's
# (scripts/lib.sh's mktemp dir inside it), the cluster's, pgbench's files.
TOP=${ABT_TMP:-/tmp}/abt-bench-citus.$$
unset ABT_TMP
{ mkdir -p "$TOP" && chown postgres: "$TOP"; } || die "cannot create $TOP"
CLUSTER=$TOP/cluster
WORK=$TOP/work
mkdir -p "$WORK" && chown postgres: "$WORK"
# shellcheck disable=SC2317
cleanup() {
    citus_stop
    abt_stop_server     # the single server and its directory
    if [ "${ABT_KEEP:-0}" = 1 ]; then abt_log "ABT_KEEP=1: kept $TOP"; else rm -rf -- "$TOP"; fi
}
ABT_TMPBASE=$TOP abt_tmp_init || die "cannot create a directory in $TOP"
trap cleanup EXIT       # after abt_tmp_init, which sets its own

SECONDS=0
# As the cluster's nodes (citus_cluster.sh), Citus aside.
abt_start_server "shared_buffers = 64MB" "fsync = off" "synchronous_commit = off" \
    "max_connections = 150" >/dev/null || die "starting the single server failed"
citus_start "$DB" >"$TOP/citus_start.log" 2>&1 \
    || { cat "$TOP/citus_start.log" >&2; die "starting the Citus cluster failed (logs: $CLUSTER)"; }
abt_log "servers up in ${SECONDS}s: single on $PGPORT, cluster coordinator on $PORT_COORD (workers $PORT_W1, $PORT_W2)"

# sq SIDE SQL: one statement's unaligned result on the single server or the
# cluster's coordinator
sq() {
    case $1 in
        single) abt_psql -q -At -d "$DB" -c "$2" ;;
        cluster) cq coord "$DB" "$2" ;;
    esac
}
abt_psql -q -d postgres -c "CREATE DATABASE $DB" || die "CREATE DATABASE failed (single)"

# ------------------------------------------------------------ data
# Experiment k: id c000000k-0000-4000-8000-00000000000k (distinct first 4
# bytes: abtest's experiment lock key), its element and variants derived.
EXP_SQL="('c' || lpad(k::text, 7, '0') || '-0000-4000-8000-' || lpad(k::text, 12, '0'))::uuid"
SETUP_SQL="
SET abtest.publication = '';
CREATE EXTENSION abtest;
INSERT INTO abtest.experiments (id, name, status)
SELECT ${EXP_SQL}, 'bench ' || k, 'active' FROM generate_series(1, $NEXP) k;
INSERT INTO abtest.experiment_elements (id, experiment_id, name, position)
SELECT ('e' || lpad(k::text, 7, '0') || '-0000-4000-8000-' || lpad(k::text, 12, '0'))::uuid,
       ${EXP_SQL}, 'headline', 0
  FROM generate_series(1, $NEXP) k;
INSERT INTO abtest.element_variants (element_id, name, is_control, position)
SELECT el.id, v.name, v.ctl, v.pos
  FROM abtest.experiment_elements el,
       (VALUES ('control', true, 0), ('treatment', false, 1)) v(name, ctl, pos);
-- the floor: what a call of a function costs that does nothing (on the
-- cluster delegated like abt_assign), so that Citus's share is seen
CREATE FUNCTION bench_noop(experiment_id uuid, user_id text) RETURNS integer
LANGUAGE plpgsql AS 'BEGIN RETURN 1; END';"
# The returning visitors, by abt_assign_bulk; on the cluster before
# abt_distribute(), which copies them into the shards: through the
# coordinator abt_assign_bulk took ~3.6 ms a visitor (~10 minutes for all),
# on the worker holding the shard ~15 ms, vs ~0.07 ms on one server.
BULK_SQL="SELECT count(*) FROM generate_series(1, $NEXP) k,
            LATERAL abt_assign_bulk(${EXP_SQL}, ARRAY(SELECT 'r' || g FROM generate_series(1, $NRET) g))"
for side in single cluster; do
    SECONDS=0
    sq "$side" "$SETUP_SQL" >/dev/null || die "creating abtest and the experiments failed ($side)"
    n=$(sq "$side" "$BULK_SQL") || die "abt_assign_bulk failed ($side)"
    [ "$n" = $((NEXP * NRET)) ] || die "abt_assign_bulk returned $n rows, not $((NEXP * NRET)) ($side)"
    t=$SECONDS
    if [ "$side" = cluster ]; then
        sq cluster "SELECT abt_distribute()" >/dev/null || die "abt_distribute() failed"
        sq cluster "SELECT create_distributed_function('bench_noop(uuid, text)', 'experiment_id',
                                                       colocate_with => 'abtest.assignments')" \
            >/dev/null || die "distributing bench_noop failed"
    fi
    n=$(sq "$side" "SELECT count(*) FROM abtest.assignments")
    [ "$n" = $((NEXP * NRET)) ] || die "$n assignments, not $((NEXP * NRET)) ($side)"
    sq "$side" "VACUUM ANALYZE" >/dev/null || die "VACUUM ANALYZE failed ($side)"
    abt_log "$side: abtest, $NEXP experiments, $n returning visitors in ${SECONDS}s (assigning: ${t}s)"
done
# Where the experiments live (8 shards over 2 workers: hashing need not
# split 8 experiments 4 / 4).
PLACEMENT=$(sq cluster "SELECT string_agg(n || ' on ' || p, ', ' ORDER BY p) FROM (
    SELECT nd.nodeport AS p, count(*) AS n
      FROM generate_series(1, $NEXP) k
      JOIN pg_dist_placement pl
        ON pl.shardid = get_shard_id_for_distribution_column('abtest.assignments', ${EXP_SQL})
      JOIN pg_dist_node nd ON nd.groupid = pl.groupid
     GROUP BY 1) x")

# ------------------------------------------------------------ scripts
# Citus delegates a distributed function only when its distribution argument
# is a constant once planned: the uuid built from pgbench's :e (sent as a
# literal by the simple protocol) folds to one, as checked below.
cat >"$WORK/returning.sql" <<EOF
\\set e random(1, $NEXP)
\\set v random(1, $NRET)
SELECT abt_assign(('c' || lpad(:e::text, 7, '0') || '-0000-4000-8000-' || lpad(:e::text, 12, '0'))::uuid, 'r' || :v);
EOF
cat >"$WORK/new.sql" <<EOF
\\set e random(1, $NEXP)
\\set u random(1, 1000000000)
SELECT abt_assign(('c' || lpad(:e::text, 7, '0') || '-0000-4000-8000-' || lpad(:e::text, 12, '0'))::uuid,
                  'n' || :client_id || '-' || :u);
EOF
sed 's/SELECT abt_assign(/SELECT bench_noop(/' "$WORK/returning.sql" >"$WORK/floor.sql"
sed "s/SELECT abt_assign(\(.*\));/SELECT abt_convert(\1, 'purchase', 5);/" "$WORK/returning.sql" >"$WORK/convert.sql"
chmod 644 "$WORK"/*.sql

# ------------------------------------------------------------ measuring
declare -A TPS FAILED
# pgb SIDE WORKLOAD CLIENTS SECONDS LOG [DBNAME]: one pgbench run; prints
# its tps.  DBNAME may be a connection string (the delegation check's).
pgb() {
    local side=$1 w=$2 c=$3 t=$4 log=$5 db=${6:-$DB} host port
    if [ "$side" = single ]; then host=$PGHOST port=$PGPORT; else host=$CLUSTER port=$PORT_COORD; fi
    if [ "${w%-workers}" != "$w" ]; then
        w=${w%-workers}
        if [ "$side" = cluster ]; then
            # the clients split over the two workers, each pgbench half of them
            abt_run abt_as_postgres "$ABT_BIN/pgbench" -h "$CLUSTER" -p "$PORT_W1" -U postgres -n \
                -M simple -j 1 -c $((c / 2)) -T "$t" -f "$WORK/$w.sql" "$db" >"$log.w1" 2>&1 &
            abt_run abt_as_postgres "$ABT_BIN/pgbench" -h "$CLUSTER" -p "$PORT_W2" -U postgres -n \
                -M simple -j 1 -c $((c / 2)) -T "$t" -f "$WORK/$w.sql" "$db" >"$log.w2" 2>&1
            wait
            cat "$log.w1" "$log.w2" >"$log"
            sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$log" |
                awk '{ t += $1 } END { if (NR == 2) printf "%f\n", t }'
            return
        fi
    fi
    abt_run abt_as_postgres "$ABT_BIN/pgbench" -h "$host" -p "$port" -U postgres -n -M simple \
        -j 2 -c "$c" -T "$t" -f "$WORK/$w.sql" "$db" >"$log" 2>&1
    sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$log"
}
# delegated WORKLOAD: yes/no, does the coordinator push pgbench's call down
# to a worker?  (1 client, 1 s, client_min_messages = debug1)
delegated() {
    local log=$TOP/delegation-$1.log
    pgb cluster "$1" 1 1 "$log" "dbname=$DB options='-c client_min_messages=debug1'" >/dev/null
    if grep -q 'pushing down the function call' "$log" \
        && ! grep -v 'pushing down the function call' "$log" | grep -q '^DEBUG'; then
        echo yes
    else
        echo no
    fi
}
DELEGATED_RET=$(delegated returning)
DELEGATED_NEW=$(delegated new)
DELEGATED_FLOOR=$(delegated floor)
if [ "$DELEGATED_RET" = yes ] && [ "$DELEGATED_NEW" = yes ] && [ "$DELEGATED_FLOOR" = yes ]; then
    DELEGATED=yes
else
    DELEGATED=no
fi
if [ "$DELEGATED" != yes ]; then
    abt_warn "abt_assign was not always pushed down to a worker; the coordinator said:"
    grep -h '^DEBUG' "$TOP"/delegation-*.log | sort | uniq -c | sed 's/^/    /' >&2
fi
# measure SIDE KEY LABEL: a run, its tps appended to TPS[SIDE@KEY] (LABEL
# "warmup": not kept)
measure() {
    local side=$1 key=$2 w=${2%@*} c=${2#*@} log tps failed
    log=$TOP/pgbench-$side-$w-$3.log
    tps=$(pgb "$side" "$w" "$c" "$([ "$3" = warmup ] && echo "$WARMUP" || echo "$DURATION")" "$log")
    if [ -z "$tps" ] || grep -q 'aborted\|ERROR' "$log"; then
        abt_warn "pgbench $side $key ($3) reported errors:"
        grep -m 5 'ERROR\|aborted\|error' "$log" | sed 's/^/    /' >&2
    fi
    [ "$3" = warmup ] && return 0
    failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$log" |
        awk '{ n += $1 } END { print n + 0 }')   # the workers' row has two pgbench logs
    TPS[$side@$key]+="${tps:-0} "
    FAILED[$side@$key]=$(( ${FAILED[$side@$key]:-0} + ${failed:-0} ))
    printf '  round %s  %-7s  %-9s  %2s clients  tps %7.0f\n' "$3" "$side" "$w" "$c" "${tps:-0}"
}

echo
echo "# bench/citus.sh$([ "$QUICK" = 1 ] && echo ' --quick'): $(date -u '+%F %T UTC'), pgbench -T $DURATION, $ROUNDS round(s)"
echo
for key in "${KEYS[@]}"; do
    for side in single cluster; do measure "$side" "$key" warmup; done
done
for ((r = 1; r <= ROUNDS; r++)); do
    for key in "${KEYS[@]}"; do
        for side in single cluster; do measure "$side" "$key" "$r"; done
    done
done

# ------------------------------------------------------------ results
median() { printf '%s\n' "$@" | sort -g | awk 'NF { a[n++] = $1 } END { if (n) printf "%.0f", (n % 2) ? a[int(n / 2)] : (a[n / 2 - 1] + a[n / 2]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
met() { awk -v r="$1" -v t="$2" 'BEGIN { print (r != "n/a" && r + 0 >= t) ? "yes" : "no" }'; }
echo
echo "3 PostgreSQL servers share $(nproc) cores here (the cluster's coordinator and 2 workers, with pgbench); the single server runs alone."
echo "pgbench -n -M simple -j 2 -T $DURATION, median of $ROUNDS round(s), single and cluster alternating; experiments per worker port: $PLACEMENT."
echo
echo "| row | clients | single tps | cluster tps | cluster/single | target | met |"
echo "| --- | ---: | ---: | ---: | ---: | --- | --- |"
# shellcheck disable=SC2086
for key in "${KEYS[@]}"; do
    w=${key%@*}
        s=$(median ${TPS[single@$key]}); c=$(median ${TPS[cluster@$key]}); q=$(ratio "$c" "$s")
    if [ -n "${TARGET[$w]}" ]; then
        printf '| %s | %s | %s | %s | %s | >= %s | %s |\n' "${LABEL[$w]}" "${key#*@}" "$s" "$c" "$q" \
            "${TARGET[$w]}" "$(met "$q" "${TARGET[$w]}")"
    else
        printf '| %s | %s | %s | %s | %s | | |\n' "${LABEL[$w]}" "${key#*@}" "$s" "$c" "$q"
    fi
done
# abt_assign on the cluster against the floor on the cluster: what of the
# gap to one server is abtest's, not the delegation's
floor_c=$(median ${TPS[cluster@floor@8]})
for key in returning@8 new@16; do
    w=${key%@*}
    printf '| %s / floor, cluster | %s | | | %s | | |\n' "${LABEL[$w]}" "${key#*@}" \
        "$(ratio "$(median ${TPS[cluster@$key]})" "$floor_c")"
done
printf '| delegated: %s | 1 | | | | yes | %s |\n' "$DELEGATED" "$([ "$DELEGATED" = yes ] && echo yes || echo no)"
echo
echo "runs (tps): $(for k in "${!TPS[@]}"; do printf '%s: %s; ' "$k" "${TPS[$k]% }"; done)"
echo "delegated (every call of 1 s of pgbench at 1 client pushed down): returning visitor $DELEGATED_RET, new visitor $DELEGATED_NEW, floor $DELEGATED_FLOOR"
for k in "${!FAILED[@]}"; do
    if [ "${FAILED[$k]}" != 0 ]; then echo "failed transactions $k: ${FAILED[$k]}"; fi
done
exit 0
