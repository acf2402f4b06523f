# shellcheck shell=bash
# test/client/lib/own_server.sh -- for client tests that run a server of
# their own (faults.sh, settler.sh, settler_hook.sh, huge_values.sh): its
# environment, starting, stopping and cleaning up after it, polling for a
# condition, and the settler tests' helpers.
#
# Sourced after lib/tap.sh, with ABT_BIN, WORK (the test's scratch
# directory), PGD (the data directory), SOCK (the unix socket directory)
# and SLOG (the server log) set.  Sourcing it points libpq at that server
# alone (PGHOST=$SOCK, PGUSER=postgres, PGPORT once it is started, the
# suite's other settings unset) and redefines tap.sh's as_pg and q for it.
#
#   own_server_start [SETTING...]  initdb as postgres, postgresql.conf (no
#                      TCP, the socket in SOCK, a free port, then the
#                      SETTINGs, one line each), start with the log in
#                      SLOG; bails out when it cannot (calls the test's
#                      log_tail)
#   stop_server        stops the server hard, whatever state it is in
#   own_server_cleanup stop_server, then removes WORK (ABT_KEEP=1 keeps it)
#   wait_for TIMEOUT_S CMD...      polls CMD every 0.1 s until it succeeds
#   log_tail [N]       the server log's last N lines (20) as TAP comments
#                      (a test may define its own after sourcing this)
#   pg_ctl ARGS...     the server's pg_ctl, as postgres
#   q DB SQL           one statement's unaligned result
#   launcher_pid, has_launcher     the settlers' launcher
#   settler_pid DB, has_settler DB, no_settler DB   database DB's settler
#   settler_setup DB NAME   CREATE EXTENSION abtest and experiment $EXP
#                      (NAME, active): 2 elements x 2 variants
#   settled DB         the settler folded all of $EXP's counters (below)

unset PGHOSTADDR PGSERVICE PGDATABASE PGOPTIONS PGPASSWORD PGDATA
export PGHOST=$SOCK PGUSER=postgres
unset PGPORT                   # own_server_start sets it: a free port
export LC_ALL=C.UTF-8 PGTZ=UTC PGCONNECT_TIMEOUT=5

# shellcheck source=test/client/lib/counters.sh
. "$(dirname "${BASH_SOURCE[0]}")/counters.sh"

as_pg() { (cd / && runuser -u postgres -- env LC_ALL=C.UTF-8 "$@"); }
pg_ctl() { as_pg "$ABT_BIN/pg_ctl" -D "$PGD" "$@"; }
# q DB SQL: unaligned, tuples only, stop at the first error
q() { "$ABT_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

own_server__port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    [ -e "$SOCK/.s.PGSQL.$1" ]
}

own_server_start() {
    local port
    { mkdir -p "$WORK" && chown postgres: "$WORK"; } || bail "cannot create $WORK"
    port=$((55000 + RANDOM % 4000))
    while own_server__port_busy "$port"; do port=$((port + 1)); done
    export PGPORT=$port
    as_pg "$ABT_BIN/initdb" -D "$PGD" -A trust -U postgres -E UTF8 --no-locale -N \
        >"$WORK/initdb.log" 2>&1 || { sed 's/^/# /' "$WORK/initdb.log"; bail "initdb failed"; }
    {
        echo "# ---- test/client/${0##*/} ----"
        echo "listen_addresses = ''"
        echo "unix_socket_directories = '$SOCK'"
        echo "port = $port"
        printf '%s\n' "$@"
    } | as_pg tee -a "$PGD/postgresql.conf" >/dev/null
    as_pg touch "$SLOG"
    if ! pg_ctl -l "$SLOG" -w -t 60 start >"$WORK/pg_ctl.log" 2>&1; then
        sed 's/^/# /' "$WORK/pg_ctl.log"
        log_tail
        bail "could not start the test's own server"
    fi
}

stop_server() {
    local pid
    [ -f "$PGD/postmaster.pid" ] || return 0
    pg_ctl -m immediate -w -t 30 stop >/dev/null 2>&1 && return 0
    pid=$(head -n1 "$PGD/postmaster.pid" 2>/dev/null)
    case $pid in '' | *[!0-9]*) return 0 ;; esac
    kill -KILL "$pid" 2>/dev/null
}

own_server_cleanup() {
    stop_server
    if [ "${ABT_KEEP:-0}" = 1 ]; then diag "ABT_KEEP=1: kept $WORK"; else rm -rf -- "$WORK"; fi
}

# shellcheck disable=SC2120  # the tests pass a number of lines
log_tail() { tail -n "${1:-20}" "$SLOG" 2>/dev/null | cut -c 1-300 | sed 's/^/#   log: /'; }

wait_for() {
    local n=$(($1 * 10))
    shift
    for _ in $(seq 1 "$n"); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    return 1
}

launcher_pid() { q postgres "SELECT pid FROM pg_stat_activity WHERE backend_type = 'abtest launcher'"; }
has_launcher() { [ -n "$(launcher_pid)" ]; }
# The pid of database $1's settler (empty when it has none).
settler_pid() { q postgres "SELECT pid FROM pg_stat_activity WHERE backend_type = 'abtest settler'
                             AND datname = '$1' AND application_name = 'abtest settler'"; }
has_settler() { [ -n "$(settler_pid "$1")" ]; }
no_settler() { [ -z "$(settler_pid "$1")" ]; }

settler_setup() {
    q "$1" "
SET abtest.publication = '';
CREATE EXTENSION IF NOT EXISTS abtest;
INSERT INTO abtest.experiments (id, name, status) VALUES ('$EXP', '$2', 'active');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, position) VALUES
  ('5e100000-0000-4000-8000-000000000001', '$EXP', 'headline', 0),
  ('5e200000-0000-4000-8000-000000000002', '$EXP', 'button', 1);
INSERT INTO abtest.element_variants (element_id, name, is_control, position)
SELECT e.id, v.name, v.ctl, v.pos
  FROM abtest.experiment_elements e,
       (VALUES ('control', true, 0), ('treatment', false, 1)) v(name, ctl, pos)
 WHERE e.experiment_id = '$EXP';" >/dev/null
}
# settled DB: no slot row of the counters left unfolded; the live counters
# equal the assignment rows (lib/counters.sh); and each of the 4 variants
# has visitors, its settled copy in element_variants equal to the live one
settled() {
    [ "$(q "$1" "SELECT count(*) FROM abtest.variant_counters WHERE slot <> 0")" = 0 ] &&
        [ -z "$(counter_mismatches "$1" totals)" ] &&
        [ "$(q "$1" "SELECT count(*) FROM abtest.element_variants v
                       JOIN abtest.variant_totals t ON t.variant_id = v.id
                      WHERE t.total_allocations > 0
                        AND (v.total_allocations, v.total_conversions, v.conversion_rate)
                            = (t.total_allocations, t.total_conversions, t.conversion_rate)")" = 4 ]
}
