# test/client/lib/citus_cluster.sh -- sourced by the Citus test and bench:
# a throwaway Citus cluster (a coordinator and two workers) of our own, on
# loopback, in $CLUSTER (data directories and sockets), never an existing
# server.  Needs ABT_BIN; defines PORT_COORD, PORT_W1, PORT_W2 once started.
#
#   citus_test_begin NAME      a client test's start: its own $WORK (owned by
#                              postgres), $CLUSTER and $DB, a clean
#                              environment, cleanup on exit; skips the whole
#                              test (a "1..0 # SKIP" plan) when Citus is
#                              missing.  Needs lib/tap.sh and ABT_TMP.
#   citus_missing              why Citus cannot run here (prints it), or 1
#   citus_start DB [SETTING...] initdb, start, CREATE DATABASE DB with citus,
#                              workers added; SETTINGs go to postgresql.conf
#   citus_stop                 stops all three (immediate)
#   cq NODE DB SQL             one statement's unaligned result on coord|w1|w2

citus_missing() {
    local pkglib share
    pkglib=$("$ABT_BIN/pg_config" --pkglibdir) && share=$("$ABT_BIN/pg_config" --sharedir) || {
        echo "no pg_config in $ABT_BIN"; return 0; }
    if [ ! -f "$pkglib/citus.so" ] || [ ! -f "$share/extension/citus.control" ]; then
        echo "Citus is not installed for PostgreSQL $("$ABT_BIN/pg_config" --version | sed 's/[^0-9]*\([0-9]*\).*/\1/') (README, \"Scaling out\", says how)"
        return 0
    fi
    return 1
}

citus_test_begin() {
    local why
    WORK=$ABT_TMP/$1.$$_$RANDOM
    CLUSTER=$WORK/cluster
    DB=abt
    export LC_ALL=C.UTF-8 PGTZ=UTC PGCONNECT_TIMEOUT=5
    unset PGHOSTADDR PGSERVICE PGDATABASE PGOPTIONS PGPASSWORD PGDATA
    if why=$(citus_missing); then
        echo "1..0 # SKIP $why"
        exit 0
    fi
    trap citus_test_cleanup EXIT
    trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM
    { mkdir -p "$WORK" && chown postgres: "$WORK"; } || bail "cannot create $WORK"
}

citus_test_cleanup() {
    trap - EXIT HUP INT TERM
    citus_stop
    if [ "${ABT_KEEP:-0}" = 1 ]; then diag "ABT_KEEP=1: kept $WORK"; else rm -rf -- "$WORK"; fi
}

citus_as_pg() { (cd / && runuser -u postgres -- env LC_ALL=C.UTF-8 "$@"); }

citus_port() { case $1 in coord) echo "$PORT_COORD" ;; w1) echo "$PORT_W1" ;; w2) echo "$PORT_W2" ;; esac; }

cq() {
    local port
    port=$(citus_port "$1")
    "$ABT_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$CLUSTER" -p "$port" -U postgres -d "$2" -c "$3"
}

citus_free_port() {
    local p=$1
    while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || [ -e "$CLUSTER/.s.PGSQL.$p" ]; do
        p=$((p + 1))
    done
    echo "$p"
}

citus_start() {
    local db=$1 node port base
    shift
    mkdir -p "$CLUSTER" && chown postgres: "$CLUSTER" || return 1
    base=$((56100 + RANDOM % 3000))
    PORT_COORD=$(citus_free_port "$base")
    PORT_W1=$(citus_free_port $((PORT_COORD + 1)))
    PORT_W2=$(citus_free_port $((PORT_W1 + 1)))
    for node in coord w1 w2; do
        port=$(citus_port $node)
        citus_as_pg "$ABT_BIN/initdb" -D "$CLUSTER/$node" -A trust -U postgres -E UTF8 --no-locale -N \
            >"$CLUSTER/$node.initdb.log" 2>&1 || { sed 's/^/# /' "$CLUSTER/$node.initdb.log"; return 1; }
        {
            echo "# ---- test/client/lib/citus_cluster.sh ----"
            echo "listen_addresses = 'localhost'"
            echo "unix_socket_directories = '$CLUSTER'"
            echo "port = $port"
            echo "shared_preload_libraries = 'citus'"
            echo "max_connections = 150"
            echo "max_prepared_transactions = 150"
            echo "max_worker_processes = 24"
            echo "shared_buffers = 64MB"
            echo "fsync = off"
            echo "synchronous_commit = off"
            echo "citus.shard_count = 8"
            echo "log_line_prefix = '%m [%p] '"
            for s in "$@"; do echo "$s"; done
        } | citus_as_pg tee -a "$CLUSTER/$node/postgresql.conf" >/dev/null
        citus_as_pg "$ABT_BIN/pg_ctl" -D "$CLUSTER/$node" -l "$CLUSTER/$node.log" -w -t 60 start \
            >/dev/null 2>&1 || { tail -n 20 "$CLUSTER/$node.log" | sed 's/^/# /'; return 1; }
        cq $node postgres "CREATE DATABASE $db" >/dev/null &&
            cq $node "$db" "CREATE EXTENSION citus" >/dev/null || return 1
    done
    cq coord "$db" "SELECT citus_set_coordinator_host('localhost', $PORT_COORD)" >/dev/null &&
        cq coord "$db" "SELECT citus_add_node('localhost', $PORT_W1)" >/dev/null &&
        cq coord "$db" "SELECT citus_add_node('localhost', $PORT_W2)" >/dev/null
}

citus_stop() {
    local node
    for node in coord w1 w2; do
        [ -f "$CLUSTER/$node/postmaster.pid" ] &&
            citus_as_pg "$ABT_BIN/pg_ctl" -D "$CLUSTER/$node" -m immediate -w -t 30 stop >/dev/null 2>&1
    done
    return 0
}
