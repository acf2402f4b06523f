# shellcheck shell=bash
# test/client/lib/own_server.sh -- for client tests that run a server of
# their own (settler.sh, settler_hook.sh, huge_values.sh): stopping it and
# polling for a condition.  Needs PGD (its data directory), pg_ctl on PATH
# as the caller sets it up, and q (the caller's one-value psql helper) for
# the settler helpers.

# Stops the server hard, whatever state it is in.
stop_server() {
    local pid
    [ -f "$PGD/postmaster.pid" ] || return 0
    pg_ctl -m immediate -w -t 30 stop >/dev/null 2>&1 && return 0
    pid=$(head -n1 "$PGD/postmaster.pid" 2>/dev/null)
    case $pid in '' | *[!0-9]*) return 0 ;; esac
    kill -KILL "$pid" 2>/dev/null
}

# wait_for TIMEOUT_S CMD...: polls CMD every 0.1 s until it succeeds
wait_for() {
    local n=$(($1 * 10))
    shift
    for _ in $(seq 1 "$n"); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    return 1
}

# The pid of database $1's settler (empty when it has none).
settler_pid() { q postgres "SELECT pid FROM pg_stat_activity WHERE backend_type = 'abtest settler'
                             AND datname = '$1' AND application_name = 'abtest settler'"; }
has_settler() { [ -n "$(settler_pid "$1")" ]; }
no_settler() { [ -z "$(settler_pid "$1")" ]; }
