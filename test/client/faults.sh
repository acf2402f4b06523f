#!/usr/bin/env bash
# test/client/faults.sh -- no acknowledged write is lost when a backend is
# SIGKILLed or the server crashes under load, and the counters still equal
# the rows afterwards.
#
# Runs against a server of its own (the suite's shared server is never
# crashed): initdb as postgres in $ABT_TMP/faults.*, unix socket only (in that
# directory), fsync = on, synchronous_commit = on, restart_after_crash = on.
# A database with abtest and two active experiments (2 elements x 2 variants
# each) gets a mixed load:
#   - 8 client loops, each one long-running psql fed through a fifo, one
#     statement at a time in autocommit: abt_assign for a fresh visitor id
#     (scenario-loop-counter, experiments alternating) and, for every third
#     id whose assignment was acknowledged, abt_convert.  A statement's result
#     row ("ACK|...") is read back from psql before the next one is sent, and
#     only then written to the loop's acknowledgement file: an acknowledged
#     call is a committed one (autocommit; the commit precedes CommandComplete).
#     A psql that loses its connection exits; the loop starts a new one
#     (retrying while the server is down or in recovery).
#   - pgbench -M prepared, 8 clients, new and returning visitors in both
#     experiments, ~1/3 converting, restarted in a loop (its clients abort when
#     the server crashes: expected).
# Scenario A: after ~4 s of load, one backend running abt_assign gets SIGKILL;
#   the postmaster terminates every backend and reinitializes (crash
#   recovery); the load reconnects and goes on ~3 s, then stops.
# Scenario B: under load, pg_ctl stop -m immediate, start again (crash
#   recovery), load goes on ~3 s, then stops.
# After each scenario (cumulative): the crash and the recovery really
# happened (server log) and acknowledged calls went on after it; the load saw
# disconnections only, no SQL ERROR; every acknowledged assignment is in
# abtest.assignments with the answer "new"; every acknowledged first
# conversion returned true and left converted_at and a conversions row; the
# live counters (abtest.variant_totals) equal the counts from
# abtest.assignments per variant; experiment_timeline and variant_timeline
# sums equal the assignment and conversion counts (per experiment, per bucket,
# per variant); converted_at is set exactly for the visitors with conversion
# events; and amcheck finds every abtest btree index (bt_index_check with
# heapallindexed) and heap (verify_heapam) intact.
# Runs in ~30 s; every wait is bounded; a trap stops the load and the server
# (and a watchdog shuts the server down should this script be SIGKILLed).
set -uo pipefail

: "${ABT_TMP:?}" "${ABT_BIN:?}"

TAG=$$_$RANDOM
WORK=$ABT_TMP/faults.$TAG
PGD=$WORK/data                 # our own data directory
SOCK=$WORK                     # unix socket directory
SLOG=$WORK/server.log
STOP=$WORK/stop                # exists: load loops finish
DB=abt_faults
EXP_A=fa000000-0000-4000-8000-0000000000a1
EXP_B=fb000000-0000-4000-8000-0000000000b2
EXPS=("$EXP_A" "$EXP_B")
LOOPS=8
PGB_CLIENTS=8

. "$(dirname "${BASH_SOURCE[0]}")/lib/tap.sh"
# Our server only (lib/own_server.sh overrides whatever the suite exported).
. "$(dirname "${BASH_SOURCE[0]}")/lib/own_server.sh"

# Sets DESC to the PIDs of all descendants of this shell (from /proc); call
# it directly, not in $(...), so that no helper process of its own is listed.
descendants() {
    local f rest pid ppid state queue=("$$") cur
    local -A kids=()
    DESC=()
    for f in /proc/[0-9]*/stat; do
        read -r rest 2>/dev/null <"$f" || continue
        pid=${rest%% *}
        rest=${rest##*) }
        state=${rest%% *}
        ppid=${rest#* }
        ppid=${ppid%% *}
        kids[$ppid]+="$pid:$state "
    done
    while [ "${#queue[@]}" -gt 0 ]; do
        cur=${queue[0]}
        queue=("${queue[@]:1}")
        for pid in ${kids[$cur]:-}; do
            state=${pid#*:}
            pid=${pid%:*}
            [ "$pid" = "${WATCHDOG:-}" ] && continue
            [ "$state" = Z ] || DESC+=("$pid")
            queue+=("$pid")
        done
    done
}

LOAD_PIDS=()
# Ends the load: stop file, then up to 20 s for the loops to finish, then
# TERM/KILL whatever of ours is left (by pid: our descendants only).
stop_load() {
    local pid alive
    touch "$STOP"
    for _ in $(seq 1 200); do
        alive=0
        for pid in "${LOAD_PIDS[@]}"; do
            if kill -0 "$pid" 2>/dev/null; then alive=1; break; fi
        done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    descendants
    if [ "${#DESC[@]}" -gt 0 ]; then
        [ "${1:-}" = quiet ] || diag "load did not stop within 20 s; killing ${DESC[*]}"
        kill -TERM "${DESC[@]}" 2>/dev/null
        sleep 0.5
        descendants
        if [ "${#DESC[@]}" -gt 0 ]; then kill -KILL "${DESC[@]}" 2>/dev/null; fi
    fi
    for pid in "${LOAD_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
    LOAD_PIDS=()
}

WATCHDOG=""
cleanup() {
    trap - EXIT HUP INT TERM
    stop_load quiet
    if [ -n "$WATCHDOG" ]; then kill -TERM "$WATCHDOG" 2>/dev/null; wait "$WATCHDOG" 2>/dev/null; fi
    own_server_cleanup
}
trap cleanup EXIT
trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM

log_tail() {
    grep -Ev 'the database system is (starting up|not yet accepting)|Consistent recovery state' \
        "$SLOG" 2>/dev/null | tail -n "${1:-30}" | sed 's/^/#   log: /'
}
ready_count() { grep -c 'database system is ready to accept connections' "$SLOG" 2>/dev/null; }

# Waits (up to $2 s) until the server has logged "ready" more than $1 times
# and accepts a query.
wait_ready() { # READY_COUNT_BEFORE TIMEOUT
    for _ in $(seq 1 $(($2 * 10))); do
        if [ "$(ready_count)" -gt "$1" ] && q postgres "SELECT 1" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# ------------------------------------------------------------ our server
own_server_start \
    "max_connections = 50" \
    "shared_buffers = 32MB" \
    "fsync = on" \
    "synchronous_commit = on" \
    "full_page_writes = on" \
    "restart_after_crash = on" \
    "wal_level = replica" \
    "max_wal_senders = 0" \
    "log_min_messages = warning" \
    "log_connections = off" \
    "log_line_prefix = '%m [%p] '"
# Should this script be killed (SIGKILL: no trap runs), a watchdog in its own
# session shuts our postmaster down (SIGQUIT: immediate shutdown).
# shellcheck disable=SC2016
setsid bash -c '
    trap "exit 0" TERM
    pm=""
    while kill -0 "$1" 2>/dev/null; do
        pm=$(head -n1 "$2/postmaster.pid" 2>/dev/null) || pm=""
        sleep 1
    done
    case $pm in "" | *[!0-9]*) ;; *) kill -QUIT "$pm" 2>/dev/null ;; esac
' faults-watchdog "$$" "$PGD" </dev/null >/dev/null 2>&1 &
WATCHDOG=$!
ok "own server up (socket $SOCK, port $PGPORT, fsync and synchronous_commit on)"

q postgres "CREATE DATABASE $DB" >/dev/null || bail "CREATE DATABASE $DB"
q "$DB" "
SET abtest.publication = '';
CREATE EXTENSION abtest;
CREATE EXTENSION amcheck;
INSERT INTO abtest.experiments (id, name) VALUES ('$EXP_A', 'landing'), ('$EXP_B', 'pricing');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, position) VALUES
  ('fa100000-0000-4000-8000-000000000001', '$EXP_A', 'headline', 0),
  ('fa200000-0000-4000-8000-000000000002', '$EXP_A', 'button', 1),
  ('fb100000-0000-4000-8000-000000000001', '$EXP_B', 'price', 0),
  ('fb200000-0000-4000-8000-000000000002', '$EXP_B', 'banner', 1);
INSERT INTO abtest.element_variants (element_id, name, is_control, position)
SELECT e.id, v.name, v.ctl, v.pos
  FROM abtest.experiment_elements e,
       (VALUES ('control', true, 0), ('treatment', false, 1)) v(name, ctl, pos);
UPDATE abtest.experiments SET status = 'active';
" >/dev/null || bail "could not set up $DB"
is "$(q "$DB" "SELECT count(*) FROM abtest.variant_totals v JOIN abtest.experiments e
                 ON e.id = v.experiment_id AND e.status = 'active'")" "8" \
   "two active experiments, 2 elements x 2 variants each"

# ------------------------------------------------------------ load
MAIN=$$
# Load loops go on while there is no stop file and this script lives (a
# killed script leaves no loop behind).
running() { [ ! -e "$STOP" ] && kill -0 "$MAIN" 2>/dev/null; }

# One client loop: a psql fed through a fifo, one statement at a time.
client_loop() { # SCENARIO LOOP
    local scen=$1 l=$2 n=0 id exp w r pid res
    local in=$WORK/in.$scen.$l out=$WORK/out.$scen.$l ack=$WORK/ack.$scen.$l
    trap - EXIT HUP INT TERM
    trap '' PIPE                   # a dead psql: write fails, no SIGPIPE
    mkfifo "$in" "$out" || exit 1
    : >"$ack"
    # request SQL: 0 = acknowledged (result in $res), 1 = failed, 2 = psql gone
    request() {
        local line got=0
        printf '%s\n\\echo DONE\n' "$1" 1>&"$w" 2>/dev/null || return 2
        while IFS= read -r -t 15 line <&"$r"; do
            case $line in
                ACK\|*) res=${line#ACK|}; got=1 ;;
                DONE) [ "$got" = 1 ] && return 0; return 1 ;;
            esac
        done
        return 2
    }
    while running; do
        stdbuf -oL "$ABT_BIN/psql" -X -q -At -v ON_ERROR_STOP=0 -d "$DB" \
            <"$in" >"$out" 2>>"$WORK/err.$scen.$l" &
        pid=$!
        exec {w}>"$in" {r}<"$out"
        while running; do
            n=$((n + 1))
            id=$scen-$l-$n
            exp=${EXPS[$((n % 2))]}
            request "SELECT 'ACK', abt_assign('$exp', '$id')->>'new';"
            case $? in
                0) echo "a $exp $id $res" >>"$ack" ;;
                1) continue ;;
                2) break ;;
            esac
            if [ $((n % 3)) = 0 ]; then
                request "SELECT 'ACK', abt_convert('$exp', '$id', 'signup', $n);"
                case $? in
                    0) echo "c $exp $id $res" >>"$ack" ;;
                    2) break ;;
                esac
            fi
        done
        exec {w}>&- {r}<&-
        # psql ends at EOF or has lost its connection; don't wait forever
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        if running; then sleep 0.1; fi
    done
    exit 0
}

# pgbench in a loop of 2-second runs (its clients abort on a crash).
pgbench_loop() { # SCENARIO
    local scen=$1
    trap - EXIT HUP INT TERM
    while running; do
        timeout -k 5 20 "$ABT_BIN/pgbench" -n -M prepared -c "$PGB_CLIENTS" -j 2 -T 2 \
            -f "$WORK/mixed.pgbench" "$DB" >>"$WORK/pgbench.$scen.out" 2>&1
        if running; then sleep 0.2; fi
    done
    exit 0
}
cat >"$WORK/mixed.pgbench" <<PGB
\set v random(1, 20000)
\set c random(1, 3)
SELECT abt_assign('$EXP_A', 'pgb-' || (:v)::text);
SELECT abt_assign('$EXP_B', 'pgb-' || (:v)::text);
SELECT abt_convert('$EXP_A', 'pgb-' || (:v)::text, 'signup', :v) WHERE :c = 1;
SELECT abt_convert('$EXP_B', 'pgb-' || (:v)::text) WHERE :c = 1;
PGB

start_load() { # SCENARIO
    local l
    rm -f "$STOP"
    LOAD_PIDS=()
    for l in $(seq 1 "$LOOPS"); do
        client_loop "$1" "$l" &
        LOAD_PIDS+=("$!")
    done
    pgbench_loop "$1" &
    LOAD_PIDS+=("$!")
}

acks() { cat "$WORK"/ack.* 2>/dev/null | wc -l; }

# Waits up to $2 s until there are more than $1 acknowledgements.
wait_acks() { # ABOVE TIMEOUT

    for _ in $(seq 1 $(($2 * 10))); do
        [ "$(acks)" -gt "$1" ] && return 0
        sleep 0.1
    done
    return 1
}

# The load's errors must all be disconnections: no SQL ERROR from the
# functions, in the psql loops or in pgbench.
check_no_sql_errors() { # SCENARIO
    local errs
    errs=$(cat "$WORK"/err."$1".* "$WORK/pgbench.$1.out" 2>/dev/null | grep -E 'ERROR:')
    if [ -z "$errs" ]; then
        ok "$1: the load saw disconnections only, no SQL ERROR"
    else
        not_ok "$1: the load saw disconnections only, no SQL ERROR"
        printf '%s\n' "$errs" | sort | uniq -c | sort -rn | head -n 5 | sed 's/^/#   /'
    fi
}

pgbench_summary() { # SCENARIO
    local f=$WORK/pgbench.$1.out
    diag "pgbench ($1): $(grep -c '^number of transactions actually processed' "$f" 2>/dev/null) runs, $(sed -nE 's/^number of transactions actually processed: ([0-9]+).*/\1/p' "$f" \
            | awk '{s += $1} END {print s + 0}') transactions, $(grep -c 'aborted' "$f" 2>/dev/null) client abort messages (expected around the crash)"
}

# ------------------------------------------------------------ checks
check_all() { # LABEL
    local label=$1
    cat "$WORK"/ack.* >"$WORK/acks.txt" 2>/dev/null
    "$ABT_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<SQL \
        || { not_ok "$label: load the acknowledgements"; return; }
SET client_min_messages = warning;
DROP TABLE IF EXISTS public.faults_ack;
CREATE TABLE public.faults_ack (kind text, experiment_id uuid, user_id text, res text);
\copy public.faults_ack FROM '$WORK/acks.txt' WITH (FORMAT text, DELIMITER ' ')
ANALYZE public.faults_ack;
SQL
    diag "$label: acknowledged so far: $(q "$DB" "SELECT format('%s assignments, %s conversions',
              count(*) FILTER (WHERE kind = 'a'), count(*) FILTER (WHERE kind = 'c'))
              FROM public.faults_ack")"
    diag "$label: in the tables: $(q "$DB" "SELECT format('%s assignments (%s converted), %s conversion events',
              (SELECT count(*) FROM abtest.assignments),
              (SELECT count(*) FROM abtest.assignments WHERE converted_at IS NOT NULL),
              (SELECT count(*) FROM abtest.conversions))")"

    is "$(q "$DB" "SELECT count(*) || coalesce(': ' || string_agg(k.user_id, ', ') FILTER (WHERE r <= 5), '')
                     FROM (SELECT k.*, row_number() OVER () r FROM public.faults_ack k
                            WHERE kind = 'a' AND NOT EXISTS (
                                  SELECT 1 FROM abtest.assignments a
                                   WHERE a.experiment_id = k.experiment_id AND a.user_id = k.user_id)) k")" "0" \
       "$label: every acknowledged assignment is in abtest.assignments"
    is "$(q "$DB" "SELECT count(*) || coalesce(': ' || string_agg(user_id || '=' || res, ', ')
                         FILTER (WHERE r <= 5), '')
                     FROM (SELECT k.*, row_number() OVER () r FROM public.faults_ack k
                            WHERE kind = 'a' AND res IS DISTINCT FROM 'true') k")" "0" \
       "$label: every acknowledged assignment of a fresh visitor answered new = true"
    is "$(q "$DB" "SELECT count(*) || coalesce(': ' || string_agg(user_id || '=' || res, ', ')
                         FILTER (WHERE r <= 5), '')
                     FROM (SELECT k.*, row_number() OVER () r FROM public.faults_ack k
                            WHERE kind = 'c' AND res IS DISTINCT FROM 't') k")" "0" \
       "$label: every acknowledged first conversion returned true"
    is "$(q "$DB" "SELECT count(*) || coalesce(': ' || string_agg(k.user_id, ', ') FILTER (WHERE r <= 5), '')
                     FROM (SELECT k.*, row_number() OVER () r FROM public.faults_ack k
                            WHERE kind = 'c' AND NOT EXISTS (
                                  SELECT 1 FROM abtest.assignments a
                                   WHERE a.experiment_id = k.experiment_id AND a.user_id = k.user_id
                                     AND a.converted_at IS NOT NULL)) k")" "0" \
       "$label: every acknowledged conversion has converted_at set"
    is "$(q "$DB" "SELECT count(*) || coalesce(': ' || string_agg(k.user_id, ', ') FILTER (WHERE r <= 5), '')
                     FROM (SELECT k.*, row_number() OVER () r FROM public.faults_ack k
                            WHERE kind = 'c' AND NOT EXISTS (
                                  SELECT 1 FROM abtest.conversions c
                                   WHERE c.experiment_id = k.experiment_id AND c.user_id = k.user_id
                                     AND c.goal = 'signup')) k")" "0" \
       "$label: every acknowledged conversion has its abtest.conversions row"

    # counters and rollups vs rows (lib/counters.sh)
    is "$(counter_mismatches "$DB" totals)" "" \
       "$label: abtest.variant_totals equals allocations and conversions counted from abtest.assignments"
    is "$(counter_mismatches "$DB" experiments)" "" \
       "$label: experiment_timeline sums equal each experiment's assignments and conversions"
    is "$(counter_mismatches "$DB" buckets)" "" \
       "$label: experiment_timeline equals the rows per 15-minute bucket"
    is "$(counter_mismatches "$DB" variant_buckets)" "" \
       "$label: variant_timeline equals the rows per variant and bucket"
    is "$(event_mismatches "$DB" converted)" "" \
       "$label: converted_at is set exactly for the visitors with conversion events"
    is "$(event_mismatches "$DB" unassigned)" "" \
       "$label: no conversion event of an unassigned visitor"

    # amcheck: indexes (with heapallindexed) and heaps of the abtest schema
    local out
    out=$(q "$DB" "SELECT count(*) FROM (
                     SELECT bt_index_check(c.oid, true)
                       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                       JOIN pg_am am ON am.oid = c.relam
                      WHERE c.relnamespace = 'abtest'::regnamespace AND am.amname = 'btree'
                        AND i.indisvalid) s" 2>&1)
    case $out in
        '' | *[!0-9]*) not_ok "$label: amcheck bt_index_check(heapallindexed) on abtest's btree indexes"
                       diag "$out" ;;
        *) ok "$label: amcheck bt_index_check(heapallindexed) passes on abtest's $out btree indexes" ;;
    esac
    is "$(q "$DB" "SELECT count(*) || coalesce(': ' || string_agg(format('%s blk %s: %s', c.relname,
                         v.blkno, v.msg), '; '), '')
                     FROM pg_class c, verify_heapam(c.oid) v
                    WHERE c.relnamespace = 'abtest'::regnamespace AND c.relkind = 'r'" 2>&1)" "0" \
       "$label: amcheck verify_heapam finds no corruption in abtest's tables"
}

# ------------------------------------------------------------ scenario A: SIGKILL
start_load A
if wait_acks 50 20; then
    ok "A: load running (acknowledged calls arriving)"
else
    not_ok "A: load running (acknowledged calls arriving)"
    sed 's/^/#   /' "$WORK"/err.A.* 2>/dev/null | head -n 10
fi
sleep 3
victim=""
for _ in $(seq 1 100); do
    victim=$(q postgres "SELECT pid FROM pg_stat_activity
                          WHERE datname = '$DB' AND backend_type = 'client backend'
                            AND state = 'active' AND query LIKE '%abt\_assign%'
                            AND pid <> pg_backend_pid()
                          ORDER BY random() LIMIT 1" 2>/dev/null)
    [ -n "$victim" ] && break
    sleep 0.02
done
before_ready=$(ready_count)
before_acks=$(acks)
if [ -n "$victim" ] && kill -KILL "$victim"; then
    ok "A: SIGKILL sent to backend $victim, found running abt_assign ($before_acks acknowledged so far)"
else
    not_ok "A: found a backend running abt_assign and SIGKILLed it"
fi
if wait_ready "$before_ready" 60; then
    ok "A: server reinitialized and accepts connections again"
else
    not_ok "A: server reinitialized and accepts connections again"
    log_tail
fi
if grep -q "was terminated by signal 9" "$SLOG" \
    && grep -q "all server processes terminated; reinitializing" "$SLOG" \
    && grep -q "automatic recovery in progress" "$SLOG"; then
    ok "A: the server log shows the killed backend, the reinitialization and crash recovery"
else
    not_ok "A: the server log shows the killed backend, the reinitialization and crash recovery"
    log_tail
fi
after_ready=$(acks)
sleep 3
if [ "$(acks)" -gt "$after_ready" ]; then
    ok "A: the load reconnected and went on after the crash ($((after_ready - before_acks)) acknowledged around it, $(( $(acks) - after_ready )) after)"
else
    not_ok "A: the load reconnected and went on after the crash"
    sed 's/^/#   /' "$WORK"/err.A.* 2>/dev/null | tail -n 10
fi
stop_load
pgbench_summary A
check_no_sql_errors A
check_all A

# ------------------------------------------------------------ scenario B: crash
start_load B
if wait_acks "$(acks)" 20; then :; fi
sleep 3
before_ready=$(ready_count)
before_acks=$(acks)
if pg_ctl -m immediate -w -t 30 stop >>"$WORK/pg_ctl.log" 2>&1; then
    ok "B: pg_ctl stop -m immediate under load ($before_acks acknowledged so far)"
else
    not_ok "B: pg_ctl stop -m immediate under load"
fi
sleep 0.5
if pg_ctl -l "$SLOG" -w -t 60 start >>"$WORK/pg_ctl.log" 2>&1 && wait_ready "$before_ready" 60; then
    ok "B: server restarted and accepts connections"
else
    not_ok "B: server restarted and accepts connections"
    tail -n 5 "$WORK/pg_ctl.log" | sed 's/^/#   /'
    log_tail
    bail "server did not come back"
fi
if [ "$(grep -c "automatic recovery in progress" "$SLOG")" -ge 2 ]; then
    ok "B: the restart ran crash recovery"
else
    not_ok "B: the restart ran crash recovery"
    log_tail
fi
after_ready=$(acks)
sleep 3
if [ "$(acks)" -gt "$after_ready" ]; then
    ok "B: the load reconnected and went on after the restart ($((after_ready - before_acks)) acknowledged around it, $(( $(acks) - after_ready )) after)"
else
    not_ok "B: the load reconnected and went on after the restart"
    sed 's/^/#   /' "$WORK"/err.B.* 2>/dev/null | tail -n 10
fi
stop_load
pgbench_summary B
check_no_sql_errors B
check_all "A+B"

if [ "$FAILED" -gt 0 ]; then
    diag "server log (last lines):"
    log_tail 40
fi
finish
