#!/usr/bin/env bash
# test/client/pgbouncer.sh -- abtest behind PgBouncer in transaction pooling.
#
# Starts Debian's pgbouncer (as postgres; own config in $ABT_TMP; 127.0.0.1 on
# a free port; pool_mode = transaction, default_pool_size = 8), then runs
# pgbench through it in simple query mode: 32 clients x 200 transactions of a
# script that assigns random visitors (new and returning) in two active
# experiments (one with 2 elements, one with coverage 0.8) and converts some.
# 32 clients share 8 server connections, so consecutive transactions of a
# client run in different backends (different counter slots and SPI plan
# caches) and the backends' transactions of many clients interleave.
#
# Checks: pgbench exits 0 with every transaction processed and 0 failed;
# pgbouncer really carried them (SHOW STATS); afterwards the live counters
# (abtest.variant_totals) equal the counts derived from abtest.assignments
# (allocations per variant; conversions = assignments with converted_at);
# first conversions equal the distinct converted visitors in
# abtest.conversions; and every experiment's timeline rollups (per 15-minute
# bucket, per experiment and per variant) sum to the assignment counts.
set -uo pipefail

: "${PGHOST:?}" "${PGPORT:?}" "${ABT_TMP:?}" "${ABT_BIN:?}"
export PGUSER=${PGUSER:-postgres}

TAG=$$_$RANDOM
DB=abt_pgb_$TAG
WORK=$ABT_TMP/pgbouncer.$TAG
EXP_A=a0000000-0000-4000-8000-0000000000a1
EXP_B=b0000000-0000-4000-8000-0000000000b2
CLIENTS=32
TXNS=200
PGBOUNCER=${PGBOUNCER:-/usr/sbin/pgbouncer}

. "$(dirname "${BASH_SOURCE[0]}")/lib/tap.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lib/counters.sh"

# qb DB SQL: through pgbouncer
qb() { as_pg env PGHOST=127.0.0.1 PGPORT="$BPORT" PGUSER=postgres \
        "$ABT_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

BPID=""
cleanup() {
    local _
    if [ -f "$WORK/pgbouncer.pid" ]; then BPID=$(cat "$WORK/pgbouncer.pid" 2>/dev/null); fi
    if [ -n "$BPID" ] && kill -0 "$BPID" 2>/dev/null; then
        kill -TERM "$BPID" 2>/dev/null      # SIGTERM: immediate shutdown
        for _ in $(seq 1 50); do
            kill -0 "$BPID" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$BPID" 2>/dev/null && kill -KILL "$BPID" 2>/dev/null
    fi
    as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" "$ABT_BIN/psql" -X -q -d postgres \
        -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
    rm -rf -- "$WORK"
}
trap cleanup EXIT
trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM

[ -x "$PGBOUNCER" ] || bail "no pgbouncer at $PGBOUNCER"
{ mkdir -p "$WORK" && chown postgres: "$WORK"; } || bail "cannot create $WORK"

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ------------------------------------------------------------ database
q postgres "CREATE DATABASE $DB" >/dev/null || bail "CREATE DATABASE $DB"
q "$DB" "
CREATE EXTENSION abtest;
INSERT INTO abtest.experiments (id, name) VALUES ('$EXP_A', 'landing');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, selector, position) VALUES
  ('a1000000-0000-4000-8000-000000000001', '$EXP_A', 'headline', 'h1', 0),
  ('a2000000-0000-4000-8000-000000000002', '$EXP_A', 'image', 'img.hero', 1);
INSERT INTO abtest.element_variants (element_id, name, content, weight, is_control, position) VALUES
  ('a1000000-0000-4000-8000-000000000001', 'A', '{\"t\": \"a\"}', 1, true, 0),
  ('a1000000-0000-4000-8000-000000000001', 'B', '{\"t\": \"b\"}', 1, false, 1),
  ('a1000000-0000-4000-8000-000000000001', 'C', '{\"t\": \"c\"}', 2, false, 2),
  ('a2000000-0000-4000-8000-000000000002', 'cat', '{\"src\": \"cat.png\"}', 1, true, 0),
  ('a2000000-0000-4000-8000-000000000002', 'dog', '{\"src\": \"dog.png\"}', 3, false, 1);
UPDATE abtest.experiments SET status = 'active' WHERE id = '$EXP_A';
INSERT INTO abtest.experiments (id, name, coverage) VALUES ('$EXP_B', 'pricing', 0.8);
INSERT INTO abtest.experiment_elements (id, experiment_id, name) VALUES
  ('b1000000-0000-4000-8000-000000000001', '$EXP_B', 'price');
INSERT INTO abtest.element_variants (element_id, name, is_control) VALUES
  ('b1000000-0000-4000-8000-000000000001', 'low', true),
  ('b1000000-0000-4000-8000-000000000001', 'high', false);
UPDATE abtest.experiments SET status = 'active' WHERE id = '$EXP_B';
" >/dev/null || bail "could not set up $DB"

# ------------------------------------------------------------ pgbouncer
printf '"postgres" ""\n' >"$WORK/userlist.txt"
start_pgbouncer() { # PORT -> 0 when it listens
    cat >"$WORK/pgbouncer.ini" <<INI
[databases]
$DB = host=127.0.0.1 port=$PGPORT dbname=$DB

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $1
unix_socket_dir =
auth_type = trust
auth_file = $WORK/userlist.txt
admin_users = postgres
stats_users = postgres
pool_mode = transaction
max_client_conn = 100
default_pool_size = 8
min_pool_size = 0
reserve_pool_size = 0
server_lifetime = 3600
logfile = $WORK/pgbouncer.log
pidfile = $WORK/pgbouncer.pid
INI
    chown postgres: "$WORK/pgbouncer.ini" "$WORK/userlist.txt"
    rm -f "$WORK/pgbouncer.pid"
    as_pg "$PGBOUNCER" -d "$WORK/pgbouncer.ini" >>"$WORK/pgbouncer.out" 2>&1 || return 1
    local _
    for _ in $(seq 1 100); do     # up to 10 s
        if [ -s "$WORK/pgbouncer.pid" ] && port_busy "$1"; then
            BPID=$(cat "$WORK/pgbouncer.pid")
            return 0
        fi
        sleep 0.1
    done
    return 1
}
BPORT=""
port=$((6500 + RANDOM % 2000))
for _ in $(seq 1 20); do
    if ! port_busy "$port" && start_pgbouncer "$port"; then
        BPORT=$port
        break
    fi
    # lost a race for the port, or a start failure: try another one
    if [ -s "$WORK/pgbouncer.pid" ]; then kill -TERM "$(cat "$WORK/pgbouncer.pid")" 2>/dev/null; fi
    port=$((port + 1 + RANDOM % 50))
done
if [ -z "$BPORT" ]; then
    cat "$WORK/pgbouncer.out" "$WORK/pgbouncer.log" 2>/dev/null | tail -n 20 | sed 's/^/# /'
    bail "could not start pgbouncer"
fi
ok "pgbouncer listens on 127.0.0.1:$BPORT (pid $BPID, transaction pooling)"
is "$(qb "$DB" "SELECT (abt_assign('$EXP_A', 'probe')->>'enrolled')")" "true" \
   "abt_assign works through pgbouncer"

# ------------------------------------------------------------ pgbench
# Visitors from 1..3000 over 6400 transactions: many come back (returning,
# sometimes in the same transaction from two experiments); ~1/3 of the
# transactions convert, some of them a second time.
cat >"$WORK/abtest.pgbench" <<PGB
\set v random(1, 3000)
\set c random(1, 3)
SELECT abt_assign('$EXP_A', 'visitor-' || :v);
SELECT abt_assign('$EXP_B', 'visitor-' || :v);
SELECT abt_convert('$EXP_A', 'visitor-' || :v, 'signup', :v) WHERE :c = 1;
SELECT abt_convert('$EXP_B', 'visitor-' || :v) WHERE :c = 1;
PGB
chown postgres: "$WORK/abtest.pgbench"
as_pg env PGHOST=127.0.0.1 PGPORT="$BPORT" PGUSER=postgres \
    timeout -k 10 180 "$ABT_BIN/pgbench" -n -M simple -c "$CLIENTS" -j 4 -t "$TXNS" \
    -f "$WORK/abtest.pgbench" "$DB" >"$WORK/pgbench.out" 2>&1
rc=$?
sed 's/^/#   /' "$WORK/pgbench.out" | grep -Ev '^#   (pgbench \(|starting|transaction type)' | head -n 40
is "$rc" 0 "pgbench (-M simple, $CLIENTS clients x $TXNS transactions through pgbouncer) exits 0"
is "$(sed -nE 's/^number of transactions actually processed: ([0-9]+\/[0-9]+).*/\1/p' "$WORK/pgbench.out")" \
   "$((CLIENTS * TXNS))/$((CLIENTS * TXNS))" "pgbench processed every transaction"
is "$(sed -nE 's/^number of failed transactions: ([0-9]+).*/\1/p' "$WORK/pgbench.out")" "0" \
   "pgbench reports 0 failed transactions"
if grep -Eq 'aborted|ERROR' "$WORK/pgbench.out"; then
    not_ok "no client aborted, no ERROR"
else
    ok "no client aborted, no ERROR"
fi

# pgbouncer carried the load: its transaction count for our database.
xacts=$(qb pgbouncer "SHOW STATS" 2>/dev/null | awk -F'|' -v db="$DB" '$1 == db {print $2}')
if [ -n "$xacts" ] && [ "$xacts" -ge $((CLIENTS * TXNS)) ]; then
    ok "pgbouncer SHOW STATS counts $xacts transactions for $DB"
else
    not_ok "pgbouncer SHOW STATS counts >= $((CLIENTS * TXNS)) transactions for $DB (got '${xacts}')"
fi
servers=$(q "$DB" "SELECT count(*) FROM pg_stat_activity WHERE datname = '$DB'
                     AND backend_type = 'client backend' AND pid <> pg_backend_pid()")
if [ "$servers" -le 8 ]; then
    ok "at most default_pool_size (8) server connections ($servers)"
else
    not_ok "at most default_pool_size (8) server connections (got $servers)"
fi
if grep -Ei 'FATAL|ERROR|WARNING' "$WORK/pgbouncer.log" >/dev/null 2>&1; then
    not_ok "pgbouncer logged no errors"
    grep -Ei 'FATAL|ERROR|WARNING' "$WORK/pgbouncer.log" | head -n 10 | sed 's/^/#   /'
else
    ok "pgbouncer logged no errors"
fi

# ------------------------------------------------------------ consistency
diag "$(q "$DB" "SELECT string_agg(format('%s: %s assignments, %s converted, %s conversion events',
                     e.name, (SELECT count(*) FROM abtest.assignments a WHERE a.experiment_id = e.id),
                     (SELECT count(*) FROM abtest.assignments a WHERE a.experiment_id = e.id
                         AND a.converted_at IS NOT NULL),
                     (SELECT count(*) FROM abtest.conversions c WHERE c.experiment_id = e.id)), '; '
                     ORDER BY e.name) FROM abtest.experiments e")"
is "$(q "$DB" "SELECT count(DISTINCT slot) > 1 FROM abtest.variant_counters")" "t" \
   "counters were written from several backend slots"

# allocations/conversions per variant: live counters vs the assignment rows
# (lib/counters.sh)
is "$(counter_mismatches "$DB" totals)" "" \
   "abtest.variant_totals equals the counts from abtest.assignments (allocations and conversions)"
is "$(q "$DB" "SELECT count(*) FROM abtest.variant_totals WHERE total_allocations = 0")" "0" \
   "every variant got visitors"
is "$(event_mismatches "$DB" converted)" "" \
   "converted_at is set exactly for the visitors with conversion events"
is "$(event_mismatches "$DB" unassigned)" "" \
   "no conversion event of an unassigned visitor"

# rollups: per experiment and bucket, per variant and bucket, per experiment
is "$(counter_mismatches "$DB" buckets)" "" \
   "abtest.experiment_timeline sums equal assignments and conversions per bucket"
is "$(counter_mismatches "$DB" variant_buckets)" "" \
   "abtest.variant_timeline sums equal assignments and conversions per variant and bucket"
is "$(counter_mismatches "$DB" experiments)" "" \
   "every experiment's rollup total equals its assignment count"

# settled copies: settling then gives the same numbers as the live view
q "$DB" "SELECT abt_settle_counters()" >/dev/null
is "$(q "$DB" "SELECT count(*) FROM abtest.element_variants v JOIN abtest.variant_totals t
                 ON t.variant_id = v.id WHERE (v.total_allocations, v.total_conversions)
                    IS DISTINCT FROM (t.total_allocations, t.total_conversions)")" "0" \
   "abt_settle_counters() copies the live counts"

finish
