# shellcheck shell=bash
# scripts/lib.sh -- helpers for abtest's scripts (source it, don't run it).
#
#   abt_install_deps        apt-get install whatever Debian package is missing
#   abt_copy_source [DIR]   copy the source tree (no .git, no build output) to
#                           DIR (default $ABT_TMP/src); sets ABT_SRC
#   abt_build_install [DIR] make && make install in DIR (default: repo root)
#   abt_start_server [SETTING...]
#                           initdb + start a throwaway PostgreSQL 15 in a
#                           mktemp dir on a free port (127.0.0.1 + unix socket
#                           in that dir); exports PGHOST PGPORT PGUSER PGDATA
#                           ABT_TMP ABT_BIN. Extra SETTINGs ("name=value",
#                           also accepted as "-c name=value") are appended to
#                           postgresql.conf, as are the lines of $ABT_PG_SETTINGS.
#   abt_stop_server         stop that server and remove $ABT_TMP (runs from an
#                           EXIT trap too; set ABT_KEEP=1 to keep the files)
#   abt_psql ARGS...        psql -X -v ON_ERROR_STOP=1 as OS user postgres
#   abt_as_postgres CMD...  run CMD as OS user postgres with the server env
#   abt_run CMD...          run CMD in the background and wait (interruptible);
#                           output also copied to $ABT_RUN_LOG when that is set
#
# PostgreSQL refuses to run as root, so server-side programs run as the
# `postgres` OS user (runuser when root, sudo otherwise). An existing server
# (e.g. Debian's cluster 15/main on port 5432) is never touched.

# Which PostgreSQL: Debian's 15 by default; PG_CONFIG=/path/to/pg_config
# picks any installed PostgreSQL of a supported major (its bin directory and
# major are read from it). Debian's server packages are installed only for
# a Debian PostgreSQL (/usr/lib/postgresql/N); another installation brings
# its own pgTAP and wal2json (scripts/vendor pg18 builds one that does).
if [ -n "${PG_CONFIG:-}" ] && [ -z "${ABT_PG_CONFIG:-}" ]; then
    ABT_PG_CONFIG=$PG_CONFIG
    ABT_BIN=$("$PG_CONFIG" --bindir) || { echo "ERROR: PG_CONFIG=$PG_CONFIG does not run" >&2; exit 2; }
    ABT_PG_MAJOR=$("$PG_CONFIG" --version | sed 's/^PostgreSQL \([0-9]*\).*/\1/')
fi
ABT_PG_MAJOR=${ABT_PG_MAJOR:-15}
ABT_BIN=${ABT_BIN:-/usr/lib/postgresql/$ABT_PG_MAJOR/bin}
ABT_PG_CONFIG=${ABT_PG_CONFIG:-$ABT_BIN/pg_config}
ABT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export ABT_BIN

ABT_DEB_PACKAGES=(
    libtap-parser-sourcehandler-pgtap-perl
    pgbouncer
    build-essential
    perl
)
if [ "$ABT_BIN" = "/usr/lib/postgresql/$ABT_PG_MAJOR/bin" ]; then
    ABT_DEB_PACKAGES+=(
        "postgresql-$ABT_PG_MAJOR"
        "postgresql-server-dev-$ABT_PG_MAJOR"
        "postgresql-$ABT_PG_MAJOR-pgtap"
        "postgresql-$ABT_PG_MAJOR-wal2json"
    )
fi

abt_log() { printf '==> %s\n' "$*"; }
abt_warn() { printf 'WARNING: %s\n' "$*" >&2; }
abt_err() { printf 'ERROR: %s\n' "$*" >&2; }

# abt_bench_args "$@": the arguments of a bench script that takes only
# --quick (QUICK=1, else 0); --help prints its header comment (up to its
# `set -uo` line); anything else is an error (exit 2).
abt_bench_args() {
    local arg
    QUICK=0
    for arg in "$@"; do
        case $arg in
            --quick) QUICK=1 ;;
            -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
            *) abt_err "unknown argument: $arg (usage: $0 [--quick])"; exit 2 ;;
        esac
    done
}

abt_is_root() { [ "$(id -u)" -eq 0 ]; }

# Run a command as root: directly when root, through sudo otherwise.
abt_sudo() {
    if abt_is_root; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        abt_err "need root or sudo to run: $*"
        return 1
    fi
}

# Run a command as the postgres OS user with the throwaway server's env.
abt_as_postgres() {
    local v envv=("PATH=$ABT_BIN:/usr/local/bin:/usr/bin:/bin"
                  "LANG=C.UTF-8" "LC_ALL=C.UTF-8")
    for v in PGHOST PGPORT PGUSER PGDATA ABT_TMP ABT_BIN; do
        if [ -n "${!v:-}" ]; then envv+=("$v=${!v}"); fi
    done
    if [ "$(id -un)" = postgres ]; then
        env "${envv[@]}" "$@"
    elif abt_is_root; then
        runuser -u postgres -- env "${envv[@]}" "$@"
    else
        sudo -u postgres -- env "${envv[@]}" "$@"
    fi
}

abt_pkg_installed() {
    dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed$'
}

# Install the Debian packages the project needs; apt-get runs (after one
# `apt-get update`) only when something is missing. A fresh install of
# postgresql-15 would create and start a cluster 15/main on port 5432: that is
# suppressed (createcluster.d drop-in + policy-rc.d), both removed afterwards.
abt_install_deps() {
    local p missing=() rc=0 dropin="" policy=""
    for p in "${ABT_DEB_PACKAGES[@]}"; do
        abt_pkg_installed "$p" || missing+=("$p")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        abt_log "all Debian packages present: ${ABT_DEB_PACKAGES[*]}"
        return 0
    fi
    abt_log "installing missing Debian packages: ${missing[*]}"
    if ! abt_pkg_installed "postgresql-$ABT_PG_MAJOR" \
        && [ ! -d "/etc/postgresql/$ABT_PG_MAJOR" ]; then
        dropin=/etc/postgresql-common/createcluster.d/zz-abtest-no-main-cluster.conf
        abt_sudo mkdir -p "$(dirname "$dropin")" || return 1
        echo 'create_main_cluster = false' | abt_sudo tee "$dropin" >/dev/null || return 1
    fi
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        policy=/usr/sbin/policy-rc.d
        printf '#!/bin/sh\n# temporary, from abtest scripts/lib.sh\nexit 101\n' \
            | abt_sudo tee "$policy" >/dev/null && abt_sudo chmod 755 "$policy"
    fi
    abt_sudo env DEBIAN_FRONTEND=noninteractive \
        apt-get -o DPkg::Lock::Timeout=600 update -q || rc=$?
    if [ "$rc" -eq 0 ]; then
        abt_sudo env DEBIAN_FRONTEND=noninteractive \
            apt-get -o DPkg::Lock::Timeout=600 \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
            install -y -q --no-install-recommends "${missing[@]}" || rc=$?
    fi
    if [ -n "$policy" ]; then abt_sudo rm -f "$policy"; fi
    if [ -n "$dropin" ]; then
        abt_sudo rm -f "$dropin"
        abt_sudo rmdir --ignore-fail-on-non-empty "$(dirname "$dropin")" 2>/dev/null || true
    fi
    if [ "$rc" -ne 0 ]; then
        abt_err "apt-get failed (exit $rc)"
        return "$rc"
    fi
    for p in "${missing[@]}"; do
        abt_pkg_installed "$p" || { abt_err "package $p still missing"; return 1; }
    done
}

# make && make install (PGXS, PostgreSQL $ABT_PG_MAJOR) in DIR (default: repo root).
abt_build_install() {
    local dir=${1:-$ABT_ROOT} jobs
    jobs=$(nproc 2>/dev/null || echo 2)
    abt_log "building in $dir (PG_CONFIG=$ABT_PG_CONFIG)"
    make -C "$dir" -j"$jobs" PG_CONFIG="$ABT_PG_CONFIG" || return 1
    abt_log "installing"
    abt_sudo make -C "$dir" PG_CONFIG="$ABT_PG_CONFIG" install || return 1
}

# Create $ABT_TMP (once per shell) and the EXIT trap that cleans up.
abt_tmp_init() {
    if [ -n "${ABT_TMP:-}" ] && [ "${ABT_TMP_CREATED:-}" = "$ABT_TMP" ] \
        && [ -d "$ABT_TMP" ]; then
        return 0
    fi
    ABT_TMP=$(mktemp -d "${ABT_TMPBASE:-/tmp}/abtest.XXXXXX") || return 1
    ABT_TMP_CREATED=$ABT_TMP
    chmod 755 "$ABT_TMP"
    export ABT_TMP
    trap 'abt_stop_server' EXIT
    trap 'abt__on_signal 1' HUP
    trap 'abt__on_signal 2' INT
    trap 'abt__on_signal 15' TERM
}

# PIDs of all descendants of process $1 (read from /proc; no procps needed).
abt__descendants() {
    local f rest pid ppid queue=("$1") cur
    local -A kids=()
    for f in /proc/[0-9]*/stat; do
        read -r rest <"$f" 2>/dev/null || continue
        pid=${rest%% *}
        rest=${rest##*) }     # skip "pid (comm) "; comm may hold spaces
        ppid=${rest#* }
        ppid=${ppid%% *}
        kids[$ppid]+="$pid "
    done
    while [ "${#queue[@]}" -gt 0 ]; do
        cur=${queue[0]}
        queue=("${queue[@]:1}")
        for pid in ${kids[$cur]:-}; do
            echo "$pid"
            queue+=("$pid")
        done
    done
}

# On HUP/INT/TERM: end the test programs we started (our descendants; the
# postmaster is not one, pg_ctl daemonizes it), then exit -> EXIT trap.
abt__on_signal() {
    local pids
    trap - HUP INT TERM
    printf '\n==> interrupted (signal %s), cleaning up\n' "$1" >&2
    pids=$(abt__descendants $$)
    if [ -n "$pids" ]; then
        # shellcheck disable=SC2086
        abt_sudo kill -TERM $pids 2>/dev/null
        sleep 1
        pids=$(abt__descendants $$)
        # shellcheck disable=SC2086
        if [ -n "$pids" ]; then abt_sudo kill -KILL $pids 2>/dev/null; fi
    fi
    exit $((128 + $1))
}

# Run CMD in the background and wait for it, so that HUP/INT/TERM reach our
# trap at once (bash delays traps until a foreground command ends). With
# ABT_RUN_LOG set, output is also copied there. Returns CMD's exit status.
abt_run() {
    (
        # Outlive a signal sent to the whole process group, so that the
        # handler in the main shell still finds CMD among its descendants
        # (timeout(1) puts CMD in a process group of its own).
        trap ':' HUP INT TERM
        if [ -n "${ABT_RUN_LOG:-}" ]; then
            "$@" </dev/null 2>&1 | tee "$ABT_RUN_LOG"
            exit "${PIPESTATUS[0]}"
        fi
        "$@" </dev/null
    ) &
    wait "$!"
}

# Copy the source tree (without .git and build output) to DIR; sets ABT_SRC.
abt_copy_source() {
    abt_tmp_init || return 1
    ABT_SRC=${1:-$ABT_TMP/src}
    mkdir -p "$ABT_SRC" || return 1
    tar -C "$ABT_ROOT" \
        --anchored --exclude=./.git --exclude=./results --exclude=./output_iso \
        --exclude=./regression.diffs --exclude=./regression.out \
        --exclude=./tmp_check --exclude=./tmp_check_iso --exclude=./log --exclude=./.deps \
        --no-anchored --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
        -cf - . | tar -C "$ABT_SRC" -xf - || return 1
    export ABT_SRC
}

# Is something listening on 127.0.0.1:PORT (or bound to it per ss)?
abt_port_busy() {
    local port=$1
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    if command -v ss >/dev/null 2>&1 \
        && ss -Htln 2>/dev/null | awk '{print $4}' | grep -Eq "[:.]$port\$"; then
        return 0
    fi
    return 1
}

abt_start_server() {
    local pgdir conf port last arg line
    abt_tmp_init || return 1
    if [ -n "${ABT_SERVER_STARTED:-}" ]; then
        abt_err "abt_start_server: a server is already running ($PGDATA)"
        return 1
    fi
    pgdir=$ABT_TMP/pg
    mkdir -p "$pgdir" && abt_sudo chown postgres:postgres "$pgdir" || return 1
    unset PGHOSTADDR PGSERVICE PGDATABASE PGOPTIONS PGPASSWORD
    export PGHOST=$pgdir PGUSER=postgres PGDATA=$pgdir/data
    abt_log "initdb $PGDATA"
    if ! abt_as_postgres "$ABT_BIN/initdb" -D "$PGDATA" -A trust -U postgres \
            -E UTF8 --no-locale -N >"$ABT_TMP/initdb.log" 2>&1; then
        cat "$ABT_TMP/initdb.log" >&2
        abt_err "initdb failed"
        return 1
    fi
    conf="
# ---- abtest throwaway server (scripts/lib.sh) ----
listen_addresses = '127.0.0.1'
unix_socket_directories = '$pgdir'
wal_level = logical
max_wal_senders = 10
max_replication_slots = 10
max_connections = 200
shared_preload_libraries = ''
fsync = on
"
    # Patched builds only allow output plugins listed in this setting; a stock
    # build doesn't have it (and would refuse to start if we set it).
    # (grep without -q reads all of it: an early exit would kill postgres
    # with SIGPIPE and, under pipefail, fail the test)
    if abt_as_postgres "$ABT_BIN/postgres" --describe-config 2>/dev/null \
            | grep '^output_plugin_libraries[[:space:]]' >/dev/null; then
        conf+="output_plugin_libraries = 'pgoutput, test_decoding, wal2json'
"
    fi
    # Extra settings: arguments, then the lines of $ABT_PG_SETTINGS.
    for arg in "$@"; do
        case $arg in
            -c) continue ;;
            -c*) arg=${arg#-c} ;;
        esac
        conf+="$arg
"
    done
    if [ -n "${ABT_PG_SETTINGS:-}" ]; then
        while IFS= read -r line; do
            [ -n "$line" ] && conf+="$line
"
        done <<<"$ABT_PG_SETTINGS"
    fi
    printf '%s' "$conf" | abt_as_postgres tee -a "$PGDATA/postgresql.conf" >/dev/null \
        || return 1

    port=${ABT_PORT_BASE:-54320}
    last=$((port + 200))
    while [ "$port" -le "$last" ]; do
        if abt_port_busy "$port"; then
            port=$((port + 1))
            continue
        fi
        if abt_as_postgres "$ABT_BIN/pg_ctl" -D "$PGDATA" -l "$pgdir/server.log" \
                -o "-p $port" -w -t 120 start >>"$ABT_TMP/pg_ctl.log" 2>&1; then
            export PGPORT=$port
            ABT_SERVER_STARTED=1
            printf 'export PGHOST=%q PGPORT=%q PGUSER=postgres PGDATA=%q ABT_TMP=%q ABT_BIN=%q\n' \
                "$PGHOST" "$PGPORT" "$PGDATA" "$ABT_TMP" "$ABT_BIN" >"$ABT_TMP/env"
            abt_log "server up: PGHOST=$PGHOST PGPORT=$PGPORT PGUSER=$PGUSER PGDATA=$PGDATA"
            return 0
        fi
        # Lost a race for the port? Try the next one; otherwise give up.
        if [ -f "$PGDATA/postmaster.pid" ]; then abt_kill_server; fi
        if grep -Eq 'could not (bind|create any TCP/IP)|already in use' \
                "$pgdir/server.log" 2>/dev/null; then
            # shellcheck disable=SC2016
            abt_as_postgres sh -c ': > "$1"' _ "$pgdir/server.log"
            port=$((port + 1))
            continue
        fi
        cat "$ABT_TMP/pg_ctl.log" "$pgdir/server.log" >&2 2>/dev/null
        abt_err "could not start the throwaway server"
        return 1
    done
    abt_err "no free port in ${ABT_PORT_BASE:-54320}..$last"
    return 1
}

# Stop our server hard (only ever the one whose PGDATA is inside $ABT_TMP).
abt_kill_server() {
    local pid
    abt__our_pgdata || return 0
    abt_as_postgres "$ABT_BIN/pg_ctl" -D "$PGDATA" -m immediate -w -t 30 stop \
        >/dev/null 2>&1 && return 0
    pid=$(head -n1 "$PGDATA/postmaster.pid" 2>/dev/null) || return 0
    case $pid in '' | *[!0-9]*) return 0 ;; esac
    if abt_sudo kill -0 "$pid" 2>/dev/null; then abt_sudo kill -9 "$pid"; fi
}

abt__our_pgdata() {
    [ -n "${PGDATA:-}" ] && [ -n "${ABT_TMP_CREATED:-}" ] || return 1
    case $PGDATA in "$ABT_TMP_CREATED"/*) return 0 ;; esac
    return 1
}

# Stop the throwaway server and remove $ABT_TMP. Safe to call repeatedly.
abt_stop_server() {
    if abt__our_pgdata && [ -f "$PGDATA/postmaster.pid" ]; then
        abt_as_postgres "$ABT_BIN/pg_ctl" -D "$PGDATA" -m fast -w -t 60 stop \
            >/dev/null 2>&1 || abt_kill_server
    fi
    unset ABT_SERVER_STARTED
    if [ -n "${ABT_TMP_CREATED:-}" ]; then
        if [ ! -d "$ABT_TMP_CREATED" ]; then
            :
        elif [ "${ABT_KEEP:-0}" = 1 ]; then
            abt_log "ABT_KEEP=1: kept $ABT_TMP_CREATED"
        else
            abt_sudo rm -rf -- "$ABT_TMP_CREATED"
        fi
        unset ABT_TMP ABT_SRC PGHOST PGPORT PGDATA
    fi
    unset ABT_TMP_CREATED
    return 0
}

# psql against the throwaway server, as postgres, stopping at the first error.
abt_psql() {
    abt_as_postgres "$ABT_BIN/psql" -X -v ON_ERROR_STOP=1 "$@"
}
