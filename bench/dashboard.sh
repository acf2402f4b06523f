#!/usr/bin/env bash
# bench/dashboard.sh -- what the dashboard's server (examples/dashboard)
# receives from the publication under load, and what it costs in CPU.
# Needs root (or sudo), like scripts/test, and abtest installed for
# PostgreSQL 15 (make install). Not run by the test suite.
#
# Usage: bench/dashboard.sh [--quick]
#
# Starts a throwaway PostgreSQL 15 (scripts/lib.sh: wal_level = logical,
# with the settler loaded) with the demo's data and the dashboard's roles,
# then `examples/dashboard/run DATABASE_URL`, with one browser-like
# subscriber (curl on /api/events) on the demo experiment (2 elements x 2
# variants). Two windows of BENCH_DURATION seconds (30; 10 with --quick):
#
#   idle   no traffic (the baseline of the same run)
#   load   pgbench -c 32 -j 2: abt_assign for a new visitor each call
#
# For each window, from the server's /api/feed counters and /proc/PID/stat
# (utime + stime of the node process):
#   changes/s        row changes decoded from the publication, all tables
#   per variant/s    the same divided by the experiment's 4 variants, and of
#                    them element_variants (the settled totals) per variant/s
#   pushes/s         statistics pushed to the page (recomputes)
#   CPU              of one core, in percent
set -uo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
abt_bench_args "$@"
cd "$ABT_ROOT" || exit 1
DURATION=${BENCH_DURATION:-$([ "$QUICK" = 1 ] && echo 10 || echo 30)}
EXP=00000000-0000-0000-0000-00000000e001
OWNER=00000000-0000-4000-8000-0000000000d1

abt_tmp_init || exit 1
abt_start_server "shared_preload_libraries = 'abtest'" >&2 || exit 1
(abt_psql -q -d postgres -f demo/demo.sql >"$ABT_TMP/demo.log" 2>&1) || { cat "$ABT_TMP/demo.log"; exit 1; }
abt_psql -q -d postgres -v group=dashboard -v login=dashboard_app -f examples/dashboard/roles.sql >/dev/null || exit 1
abt_psql -q -d postgres -c "UPDATE abtest.experiments SET user_id = '$OWNER'" >/dev/null || exit 1

ABT_DASHBOARD_OWNER=$OWNER examples/dashboard/run "postgresql://dashboard_app@127.0.0.1:$PGPORT/postgres" \
    >"$ABT_TMP/run.out" 2>"$ABT_TMP/run.err" &
RUN=$!
SSE=""
trap 'kill $RUN $SSE 2>/dev/null; wait $RUN 2>/dev/null; abt_stop_server' EXIT
for _ in $(seq 1 600); do [ -s "$ABT_TMP/run.out" ] && break; sleep 0.1; done
URL=$(head -n1 "$ABT_TMP/run.out")
[ -n "$URL" ] || { cat "$ABT_TMP/run.err"; exit 1; }
curl -sN "${URL}api/events?topic=$EXP" >/dev/null &
SSE=$!
sleep 2

TCK=$(getconf CLK_TCK)
ticks() { awk '{ print $14 + $15 }' "/proc/$RUN/stat"; }   # run exec's node: same pid
feed() { curl -s "${URL}api/feed"; }
field() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" <<<"$2"; }
ev_count() { local v; v=$(sed -n 's/.*"abtest.element_variants":\([0-9]*\).*/\1/p' <<<"$1"); echo "${v:-0}"; }

window() { # NAME: measure one window of DURATION seconds
    local name=$1 t0 t1 f0 f1 c0 c1 s0 s1 ch ev pu tps=-
    f0=$(feed); t0=$(ticks); s0=$(date +%s.%N)
    if [ "$name" = load ]; then
        printf '\\set r random(1, 2000000000)\nSELECT abt_assign('"'$EXP'"', '"'b'"' || :client_id || '"'-'"' || :r);\n' \
            >"$ABT_TMP/new.sql"
        tps=$(abt_as_postgres "$ABT_BIN/pgbench" -n -M prepared -c 32 -j 2 -T "$DURATION" \
                -f "$ABT_TMP/new.sql" postgres 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -n1)
    else
        sleep "$DURATION"
    fi
    sleep 1   # what the last second committed arrives and is pushed
    f1=$(feed); t1=$(ticks); s1=$(date +%s.%N)
    c0=$(field changes "$f0"); c1=$(field changes "$f1")
    ch=$((c1 - c0))
    ev=$(( $(ev_count "$f1") - $(ev_count "$f0") ))
    pu=$(( $(field recomputes "$f1") - $(field recomputes "$f0") ))
    awk -v n="$name" -v tps="$tps" -v ch="$ch" -v ev="$ev" -v pu="$pu" -v t="$((t1 - t0))" \
        -v hz="$TCK" -v s0="$s0" -v s1="$s1" 'BEGIN {
        w = s1 - s0
        printf "%-5s %9s %10.0f %10.1f %12.2f %9.2f %6.1f%%\n", n, tps, ch / w, ch / w / 4, ev / w / 4, pu / w, 100 * t / hz / w }'
}

printf '%-5s %9s %10s %10s %12s %9s %7s\n' window tps changes/s per_var/s settled/var/s pushes/s CPU
window idle
window load
grep -v '^==>' "$ABT_TMP/run.err" | sed 's/^/# /'
