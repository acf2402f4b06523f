#!/usr/bin/env bash
# bench/realtime.sh -- does Realtime cost abt_assign's hot path?
# Needs root (or sudo), like scripts/test. Not run by the test suite.
#
# Usage: bench/realtime.sh [--quick]
#
# In one run, builds and installs the extension (scripts/lib.sh) and starts
# one throwaway PostgreSQL 15 per mode, with identical settings and data,
# both running throughout:
#
#   replica   wal_level = replica, no replication slot
#   logical   wal_level = logical, a wal2json slot consumed the way Supabase
#             Realtime consumes it: one session calls
#             pg_logical_slot_get_changes(slot, NULL, BENCH_MAX_CHANGES,
#             <realtime.list_changes' options: include-pk, include-timestamp,
#             include-type-oids, format-version 2, actions and add-tables
#             built from publication supabase_realtime>) and parses every
#             change as jsonb; when it got changes it polls again at once,
#             otherwise after BENCH_POLL_MS (Realtime's ReplicationPoller;
#             its defaults are poll_max_changes 100, poll_interval_ms 100).
#             Realtime's RLS step (realtime.apply_rls) is not part of it.
#   logical-noslot (only when listed in BENCH_MODES)
#             wal_level = logical without a slot: what the WAL level alone
#             costs.
#
# Workloads (pgbench -n -M prepared -j 2 -T BENCH_DURATION, the scripts and
# data of bench/run: bench/pgbench/*.sql, bench/sql/0[123]_*.sql):
#
#   new_assign@8, new_assign@32   abt_assign for a new visitor of the "hot"
#                                 experiment (2 elements)
#   returning_assign@8            abt_assign for one of 200k pre-assigned
#                                 visitors
#
# Every server gets one warm-up run per workload; then BENCH_ROUNDS rounds,
# each running every workload once on every server, back to back, the mode
# order alternating per round (replica logical, logical replica, ...; "A B A
# B"). Before each measured run: the consumer has caught up (less than 64 kB
# behind, waited for at most 120 s) and a CHECKPOINT. Printed per workload:
# tps of every run, mean tps per mode, the ratio logical / replica of the
# means and the median of the per-round ratios, WAL bytes per transaction,
# and how far the consumer was behind when pgbench ended (slot lag).
# Absolute tps on a shared machine are noise; compare runs of one invocation.
#
# Env:  BENCH_DURATION (s per measured run, default 15; --quick 5),
#       BENCH_WARMUP (s, default 5; --quick 2), BENCH_ROUNDS (default 4;
#       --quick 1), BENCH_MODES (default "replica logical"),
#       BENCH_MAX_CHANGES (default 100), BENCH_POLL_MS (default 100),
#       BENCH_OUT (default bench/out/realtime-<UTC timestamp>), ABT_KEEP=1,
#       ABT_PORT_BASE (first port tried, default 54320).
# Exit: 0 = measured (whatever the numbers), 2 = the harness failed.
set -uo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ABT_ROOT" || exit 2

abt_bench_args "$@"
if [ "$QUICK" = 1 ]; then D=5; W=2; R=1; else D=15; W=5; R=4; fi
DURATION=${BENCH_DURATION:-$D}
WARMUP=${BENCH_WARMUP:-$W}
ROUNDS=${BENCH_ROUNDS:-$R}
read -r -a MODES <<<"${BENCH_MODES:-replica logical}"
MAX_CHANGES=${BENCH_MAX_CHANGES:-100}
POLL_MS=${BENCH_POLL_MS:-100}
THREADS=2
DB=abtest_bench
SLOT=bench_realtime
PUB=supabase_realtime
KEYS=(new_assign@8 new_assign@32 returning_assign@8)
for m in "${MODES[@]}"; do
    case $m in replica | logical | logical-noslot) ;; *) abt_err "unknown mode $m"; exit 2 ;; esac
done

# As bench/run (the WAL level is set per server).
BENCH_SETTINGS=(
    "shared_buffers=512MB"
    "max_connections=200"
    "synchronous_commit=on"
    "checkpoint_timeout=30min"
    "max_wal_size=4GB"
    "shared_preload_libraries='abtest'"
    "max_wal_senders=10"
    "max_replication_slots=10"
    "fsync=on"
)

section() { printf '\n======== %s ========\n' "$*"; }
die() { abt_err "$*"; exit 2; }

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${BENCH_OUT:-$ABT_ROOT/bench/out/realtime-$STAMP}
mkdir -p "$OUT" || die "cannot create $OUT"

# ------------------------------------------------------------ servers
# One server per mode, in $ABT_TMP/MODE: initdb as postgres, unix socket in
# that directory, listen on 127.0.0.1 too (first free port from
# ABT_PORT_BASE), started with pg_ctl, stopped on exit.
declare -A SOCK PORT DATA
# qm MODE ARGS...: psql (quiet, unaligned, tuples only) on that mode's server
qm() { local m=$1; shift
       PGHOST=${SOCK[$m]} PGPORT=${PORT[$m]:-} PGDATA=${DATA[$m]} abt_psql -qAt "$@"; }
asm() { local m=$1; shift
        PGHOST=${SOCK[$m]} PGPORT=${PORT[$m]:-} PGDATA=${DATA[$m]} abt_as_postgres "$@"; }

NEXT_PORT=${ABT_PORT_BASE:-54320}
start_server() { # MODE
    local m=$1 dir wal conf s port
    dir=$ABT_TMP/$m
    mkdir -p "$dir" && abt_sudo chown postgres:postgres "$dir" || return 1
    SOCK[$m]=$dir; DATA[$m]=$dir/data; PORT[$m]=$NEXT_PORT
    asm "$m" "$ABT_BIN/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --no-locale -N \
        >"$OUT/initdb-$m.log" 2>&1 || { cat "$OUT/initdb-$m.log" >&2; return 1; }
    case $m in replica) wal=replica ;; *) wal=logical ;; esac
    conf="
# ---- bench/realtime.sh: mode $m ----
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
wal_level = $wal
"
    for s in "${BENCH_SETTINGS[@]}"; do conf+="$s
"; done
    if [ -n "$OPL" ]; then conf+="output_plugin_libraries = 'pgoutput, test_decoding, wal2json'
"; fi
    printf '%s' "$conf" | asm "$m" tee -a "$dir/data/postgresql.conf" >/dev/null || return 1
    port=$NEXT_PORT
    while [ "$port" -le $((NEXT_PORT + 200)) ]; do
        if ! abt_port_busy "$port" \
            && PORT[$m]=$port \
            && asm "$m" "$ABT_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "-p $port" \
                   -w -t 120 start >>"$OUT/pg_ctl.log" 2>&1; then
            PORT[$m]=$port
            NEXT_PORT=$((port + 1))
            STARTED+=("$m")
            return 0
        fi
        if [ -f "$dir/data/postmaster.pid" ]; then
            asm "$m" "$ABT_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1
        fi
        port=$((port + 1))
    done
    tail -n 20 "$dir/server.log" >&2
    return 1
}
STARTED=()
stop_servers() {
    local m
    for m in "${STARTED[@]}"; do
        asm "$m" "$ABT_BIN/pg_ctl" -D "${DATA[$m]}" -m fast -w -t 60 stop >/dev/null 2>&1 \
            || asm "$m" "$ABT_BIN/pg_ctl" -D "${DATA[$m]}" -m immediate -w -t 30 stop >/dev/null 2>&1
    done
    STARTED=()
}

# ------------------------------------------------------------ consumer
# Runs in the background against the logical server: one psql session (a
# coprocess) polled like Realtime's ReplicationPoller. Stops when
# $CONSUMER_STOP exists; writes "polls changes errors" to $OUT/consumer.stats.
POLL_SQL="WITH pub AS (
    SELECT concat_ws(',',
             CASE WHEN bool_or(pubinsert) THEN 'insert' ELSE NULL END,
             CASE WHEN bool_or(pubupdate) THEN 'update' ELSE NULL END,
             CASE WHEN bool_or(pubdelete) THEN 'delete' ELSE NULL END) AS w2j_actions,
           coalesce(string_agg(
               regexp_replace(ppt.schemaname, '([\\\\,.[:space:]])', '\\\\\\1', 'g') || '.' ||
               regexp_replace(ppt.tablename, '([\\\\,.[:space:]])', '\\\\\\1', 'g'), ',')
             FILTER (WHERE ppt.tablename IS NOT NULL), '') AS w2j_add_tables
      FROM pg_publication pp LEFT JOIN pg_publication_tables ppt ON pp.pubname = ppt.pubname
     WHERE pp.pubname = '$PUB' GROUP BY pp.pubname LIMIT 1),
w2j AS MATERIALIZED (
    SELECT x.data, pub.w2j_add_tables
      FROM pub, pg_logical_slot_get_changes('$SLOT', NULL, $MAX_CHANGES,
                 'include-pk', 'true', 'include-transaction', 'false',
                 'include-timestamp', 'true', 'include-type-oids', 'true',
                 'format-version', '2', 'actions', pub.w2j_actions,
                 'add-tables', pub.w2j_add_tables) x)
SELECT count(*) FILTER (WHERE data::jsonb IS NOT NULL) FROM w2j WHERE w2j_add_tables <> '';"
POLL_SQL=${POLL_SQL//$'\n'/ }
CONSUMER_STOP=""
CONSUMER_PID=""

consumer_loop() {
    local n polls=0 changes=0 errors=0 sleep_s wfd
    trap - EXIT HUP INT TERM
    sleep_s=$(awk -v ms="$POLL_MS" 'BEGIN { printf "%.3f", ms / 1000 }')
    coproc PSQLC { asm logical env PGAPPNAME=bench_realtime_consumer \
                       "$ABT_BIN/psql" -X -qAt -d "$DB" 2>&1; }
    while [ ! -e "$CONSUMER_STOP" ]; do
        printf '%s\n' "$POLL_SQL" >&"${PSQLC[1]}" || break
        IFS= read -r -t 300 n <&"${PSQLC[0]}" || break
        polls=$((polls + 1))
        case $n in
            '' | *[!0-9]*)
                errors=$((errors + 1))
                printf '%s\n' "$n" >>"$OUT/consumer.log"
                sleep 1 ;;
            0) sleep "$sleep_s" ;;
            *) changes=$((changes + n)) ;;
        esac
    done
    printf '%s %s %s\n' "$polls" "$changes" "$errors" >"$OUT/consumer.stats"
    wfd=${PSQLC[1]}
    exec {wfd}>&-       # psql reads EOF and ends
    wait
}
consumer_start() {
    CONSUMER_STOP=$ABT_TMP/consumer.stop
    rm -f "$CONSUMER_STOP" "$OUT/consumer.stats"
    : >"$OUT/consumer.log"
    consumer_loop &
    CONSUMER_PID=$!
}
consumer_stop() {
    local i
    [ -n "$CONSUMER_PID" ] || return 0
    touch "$CONSUMER_STOP"
    for i in $(seq 1 100); do
        kill -0 "$CONSUMER_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$CONSUMER_PID" 2>/dev/null; then
        abt_warn "the consumer did not stop within 10 s: terminating its backend"
        qm logical -d postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                                    WHERE application_name = 'bench_realtime_consumer'" >/dev/null
        sleep 1
        kill "$CONSUMER_PID" 2>/dev/null
    fi
    wait "$CONSUMER_PID" 2>/dev/null
    CONSUMER_PID=""
}
HAVE_SLOT=0
slot_lag() { # bytes of WAL the consumer has not confirmed
    [ "$HAVE_SLOT" = 1 ] || { echo 0; return; }
    qm logical -d postgres -c "SELECT coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint, 0)
                                FROM pg_replication_slots WHERE slot_name = '$SLOT'"
}
# Waits (at most 120 s) until the consumer is less than 64 kB behind.
wait_caught_up() {
    local start=$SECONDS
    [ "$HAVE_SLOT" = 1 ] || return 0
    while [ "$(slot_lag)" -gt 65536 ] && [ $((SECONDS - start)) -lt 120 ]; do sleep 0.5; done
    if [ "$(slot_lag)" -gt 65536 ]; then abt_warn "the consumer is still $(slot_lag) B behind after 120 s"; fi
}

cleanup() {
    consumer_stop
    stop_servers
    abt_stop_server     # removes $ABT_TMP (ABT_KEEP=1 keeps it)
}

# ------------------------------------------------------------ measuring
declare -A TPS_RUNS WAL TXNS LAGS FAILED IDS RATIOS
run_pgbench() { # MODE SCRIPT CLIENTS SECONDS LOG
    local m=$1 script=$2 clients=$3 secs=$4 log=$5 exp
    case $script in
        new_*) exp=${IDS[$m.hot]} ;;
        returning_*) exp=${IDS[$m.returning]} ;;
    esac
    PGHOST=${SOCK[$m]} PGPORT=${PORT[$m]} abt_run abt_as_postgres "$ABT_BIN/pgbench" -n -M prepared \
        -j "$THREADS" -c "$clients" -T "$secs" -f "$PGB/$script.sql" -D "exp=$exp" "$DB" >"$log" 2>&1
}
wait_idle() { # MODE
    local i
    for i in $(seq 1 40); do
        [ "$(qm "$1" -d postgres -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$DB'
                                       AND backend_type = 'client backend'
                                       AND application_name <> 'bench_realtime_consumer'")" = 0 ] && return 0
        sleep 0.5
    done
    abt_warn "pgbench backends still connected after 20 s ($1)"
}
# measure MODE KEY ROUND: one measured run; sets LAST_TPS
measure() {
    local m=$1 key=$2 round=$3 script=${2%@*} clients=${2#*@} log rc lsn0 wal txns tps failed lag=""
    log=$OUT/$m-$script-c$clients-r$round.log
    wait_caught_up
    qm "$m" -d postgres -c CHECKPOINT || die "CHECKPOINT failed ($m)"
    lsn0=$(qm "$m" -d postgres -c "SELECT pg_current_wal_lsn()")
    run_pgbench "$m" "$script" "$clients" "$DURATION" "$log"
    rc=$?
    if [ "$m" = logical ]; then lag=$(slot_lag); fi
    wait_idle "$m"
    wal=$(qm "$m" -d postgres -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$lsn0')::bigint")
    txns=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$log")
    tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$log")
    failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$log")
    if [ "$rc" -ne 0 ] || [ -z "$tps" ]; then tail -n 20 "$log" >&2; die "pgbench failed ($m $key)"; fi
    TPS_RUNS[$m@$key]+="$tps "
    WAL[$m@$key]=$(( ${WAL[$m@$key]:-0} + wal ))
    TXNS[$m@$key]=$(( ${TXNS[$m@$key]:-0} + txns ))
    FAILED[$m@$key]=$(( ${FAILED[$m@$key]:-0} + ${failed:-0} ))
    if [ -n "$lag" ]; then LAGS[$m@$key]+="$lag "; fi
    LAST_TPS=$tps
    printf '  round %s %-15s %-17s %3s clients  tps %7.0f  WAL %5s B/txn  failed %s%s\n' \
        "$round" "$m" "$script" "$clients" "$tps" "$((wal / (txns > 0 ? txns : 1)))" "${failed:-0}" \
        "$([ -n "$lag" ] && echo "  consumer $lag B behind at the end")"
}

mean() { printf '%s\n' "$@" | awk 'NF { s += $1; n++ } END { if (n) printf "%.1f", s / n }'; }
median() { printf '%s\n' "$@" | sort -g | awk 'NF { a[n++] = $1 } END { if (n) printf "%.3f", (n % 2) ? a[int(n / 2)] : (a[n / 2 - 1] + a[n / 2]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.3f", a / b }'; }
runs_of() { printf '%s' "${TPS_RUNS[$1]:-}" | awk '{ for (i = 1; i <= NF; i++) printf "%s%.0f", (i > 1 ? ", " : ""), $i }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

# ------------------------------------------------------------ main
section "dependencies"
abt_install_deps || die "installing Debian packages failed"

section "build"
GIT_REV=$(git -C "$ABT_ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')
if git -C "$ABT_ROOT" status --porcelain 2>/dev/null | grep -q .; then GIT_REV+=" + uncommitted changes"; fi
{ abt_tmp_init && abt_copy_source "$ABT_TMP/src"; } || die "copying the source tree failed"
trap cleanup EXIT
abt_build_install "$ABT_SRC" >"$OUT/build.log" 2>&1 || { cat "$OUT/build.log" >&2; die "build/install failed"; }
abt_log "built and installed (log: $OUT/build.log)"
abt_sudo chown -R postgres:postgres "$ABT_SRC" || die "chown of the source copy failed"
PGB=$ABT_TMP/pgbench
mkdir -p "$PGB" && cp "$ABT_ROOT"/bench/pgbench/*.sql "$PGB"/ && chmod -R a+rX "$PGB" \
    || die "copying the pgbench scripts failed"

# This PostgreSQL build loads logical decoding output plugins only when
# output_plugin_libraries lists them (a stock build has no such setting).
# (Read the whole output first: grep -q closing the pipe early could kill
# postgres with SIGPIPE, and pipefail would turn that into "not found".)
describe=$(abt_as_postgres "$ABT_BIN/postgres" --describe-config 2>/dev/null)
OPL=""
if grep -q '^output_plugin_libraries[[:space:]]' <<<"$describe"; then OPL=1; fi

section "throwaway servers"
for m in "${MODES[@]}"; do
    start_server "$m" || die "starting the $m server failed"
    abt_log "$m: PGHOST=${SOCK[$m]} PGPORT=${PORT[$m]} wal_level=$(qm "$m" -d postgres -c 'SHOW wal_level')"
done
LIBDIR=$("$ABT_PG_CONFIG" --pkglibdir)
if ! cmp -s "$ABT_SRC/abtest.so" "$LIBDIR/abtest.so"; then
    abt_warn "the installed $LIBDIR/abtest.so is not the one built by this run (another session installed one meanwhile)"
fi
{
    section "settings"
    printf 'source: %s\n' "$GIT_REV"
    printf 'machine: %s CPUs, load average at start: %s\n' "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf 'postgresql.conf of every server: %s%s; wal_level per mode\n' "${BENCH_SETTINGS[*]}" \
        "$([ -n "$OPL" ] && echo " output_plugin_libraries='pgoutput, test_decoding, wal2json'")"
    for m in "${MODES[@]}"; do
        printf '  %-15s' "$m"
        for s in server_version wal_level shared_buffers synchronous_commit fsync full_page_writes; do
            printf ' %s=%s' "$s" "$(qm "$m" -d postgres -c "SHOW $s")"
        done
        echo
    done
    printf 'pgbench: -n -M prepared -j %s -T %s; %s round(s); warm-up %ss per workload and server\n' \
        "$THREADS" "$DURATION" "$ROUNDS" "$WARMUP"
    printf 'consumer (logical): pg_logical_slot_get_changes(slot, NULL, %s, list_changes options), again at once after changes, else after %s ms\n' \
        "$MAX_CHANGES" "$POLL_MS"
    printf 'output: %s\n' "$OUT"
} | tee "$OUT/settings.txt"

section "load: bench/sql/0[123]_*.sql into every server"
for m in "${MODES[@]}"; do
    qm "$m" -d postgres -c "CREATE DATABASE $DB" || die "CREATE DATABASE failed ($m)"
    for f in "$ABT_ROOT"/bench/sql/01_*.sql "$ABT_ROOT"/bench/sql/02_*.sql "$ABT_ROOT"/bench/sql/03_*.sql; do
        SECONDS=0
        PGHOST=${SOCK[$m]} PGPORT=${PORT[$m]} abt_run abt_psql -q -d "$DB" -f "$f" \
            >"$OUT/load-$m-$(basename "$f" .sql).log" 2>&1 \
            || { cat "$OUT/load-$m-$(basename "$f" .sql).log" >&2; die "loading $f failed ($m)"; }
        abt_log "$m: $(basename "$f") done in ${SECONDS}s"
    done
    IDS[$m.hot]=$(qm "$m" -d "$DB" -c "SELECT experiment FROM bench_ids WHERE name = 'hot'")
    IDS[$m.returning]=$(qm "$m" -d "$DB" -c "SELECT experiment FROM bench_ids WHERE name = 'returning'")
    [ -n "${IDS[$m.hot]}" ] && [ -n "${IDS[$m.returning]}" ] || die "bench_ids lacks an experiment ($m)"
    qm "$m" -d postgres -c CHECKPOINT || die "CHECKPOINT failed"
done
abt_log "publication $PUB: $(qm "${MODES[0]}" -d "$DB" -c "SELECT string_agg(schemaname || '.' || tablename, ', '
                                          ORDER BY schemaname, tablename) FROM pg_publication_tables WHERE pubname = '$PUB'")"

if [[ " ${MODES[*]} " == *" logical "* ]]; then
    qm logical -d "$DB" -c "SELECT 'ok' FROM pg_create_logical_replication_slot('$SLOT', 'wal2json')" >/dev/null \
        || die "creating the wal2json slot failed"
    HAVE_SLOT=1
    consumer_start
    sleep 1
    if [ -s "$OUT/consumer.log" ]; then cat "$OUT/consumer.log" >&2; die "the consumer failed"; fi
    abt_log "logical: slot $SLOT (wal2json) created, consumer running (pid $CONSUMER_PID)"
fi

section "warm-up"
for m in "${MODES[@]}"; do
    for key in "${KEYS[@]}"; do
        run_pgbench "$m" "${key%@*}" "${key#*@}" "$WARMUP" "$OUT/warmup-$m-${key%@*}-c${key#*@}.log" \
            || { tail -n 20 "$OUT/warmup-$m-${key%@*}-c${key#*@}.log" >&2; die "warm-up of $key failed ($m)"; }
    done
    wait_idle "$m"
done
abt_log "done"

section "runs"
for ((r = 1; r <= ROUNDS; r++)); do
    order=("${MODES[@]}")
    if [ $((r % 2)) = 0 ]; then
        order=(); for ((i = ${#MODES[@]} - 1; i >= 0; i--)); do order+=("${MODES[$i]}"); done
    fi
    for key in "${KEYS[@]}"; do
        declare -A this=()
        for m in "${order[@]}"; do
            measure "$m" "$key" "$r"
            this[$m]=$LAST_TPS
        done
        if [ -n "${this[replica]:-}" ] && [ -n "${this[logical]:-}" ]; then
            RATIOS[$key]+="$(ratio "${this[logical]}" "${this[replica]}") "
        fi
        unset this
    done
done
wait_caught_up
consumer_stop
if [ "$HAVE_SLOT" = 1 ]; then
    abt_log "consumer: polls, changes read, errors: $(cat "$OUT/consumer.stats" 2>/dev/null)"
    if [ -s "$OUT/consumer.log" ]; then sed 's/^/    consumer: /' "$OUT/consumer.log" | sort | uniq -c | head -n 5; fi
fi

section "results"
{
    printf 'abtest realtime bench (`bench/realtime.sh%s`, %s; %s CPUs; load average at the end %s).\n' \
        "$([ "$QUICK" = 1 ] && echo ' --quick')" "$GIT_REV" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf 'One server per mode, same settings and data; pgbench -M prepared -n -j %s -T %s, %s rounds, modes alternating per round, CHECKPOINT before each run.\n' \
        "$THREADS" "$DURATION" "$ROUNDS"
    printf 'logical = wal_level logical + a wal2json slot consumed like Supabase Realtime (list_changes options, max_changes %s, poll %s ms), caught up before each run.\n\n' \
        "$MAX_CHANGES" "$POLL_MS"
    printf '| workload | clients |'
    for m in "${MODES[@]}"; do printf ' %s tps: mean (runs) |' "$m"; done
    printf ' logical / replica: of means, median of rounds |'
    for m in "${MODES[@]}"; do printf ' WAL B/txn %s |' "$m"; done
    printf ' consumer behind at run end (MiB) |\n'
    printf '| --- | ---: |'
    for m in "${MODES[@]}"; do printf ' --- |'; done
    printf ' --- |'
    for m in "${MODES[@]}"; do printf ' ---: |'; done
    printf ' --- |\n'
    for key in "${KEYS[@]}"; do
        printf '| %s | %s |' "${key%@*}" "${key#*@}"
        for m in "${MODES[@]}"; do
            t=$(mean ${TPS_RUNS[$m@$key]:-})
            printf ' %.0f (%s) |' "${t:-0}" "$(runs_of "$m@$key")"
        done
        printf ' %s, %s |' "$(ratio "$(mean ${TPS_RUNS[logical@$key]:-})" "$(mean ${TPS_RUNS[replica@$key]:-})")" \
            "$(median ${RATIOS[$key]:-})"
        for m in "${MODES[@]}"; do
            printf ' %s |' "$(( ${WAL[$m@$key]:-0} / (${TXNS[$m@$key]:-0} > 0 ? ${TXNS[$m@$key]:-0} : 1) ))"
        done
        lags=""
        for l in ${LAGS[logical@$key]:-}; do lags+="$(mib "$l"), "; done
        printf ' %s |\n' "${lags%, }"
    done
    for key in "${KEYS[@]}"; do
        for m in "${MODES[@]}"; do
            if [ "${FAILED[$m@$key]:-0}" != 0 ]; then
                printf '\n%s %s: %s failed transactions\n' "$m" "$key" "${FAILED[$m@$key]}"
            fi
        done
    done
} | tee "$OUT/results.md"
