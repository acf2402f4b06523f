#!/usr/bin/env bash
# bench/compare.sh -- abt_assign of two builds side by side, in one run.
#
# Usage: bench/compare.sh BASE_REV [CANDIDATE_REV]
#        (the candidate is the working tree when CANDIDATE_REV is not given)
#
# "No worse than before" needs both builds measured in the same minutes of
# this noisy machine, not a number from another day.  So each build gets its
# own copy of PostgreSQL 15's installation under a temporary directory
# (PostgreSQL finds its lib and share directories relative to its binaries,
# so a copied tree is a complete installation and the system's abtest is
# never touched), its own throwaway server with the library preloaded, and
# the same data (the candidate's bench/sql); then pgbench runs alternate
# between the two servers, round after round, the order flipped each round:
#   returning visitor: abt_assign vs the seed's bare lookup, 8 clients
#   new visitor:       abt_assign vs a bare INSERT into assignments, 32 clients
# Printed: each build's ratio to its own baseline, and candidate / base.
#
# Env: BENCH_DURATION (s per run, default 10), BENCH_ROUNDS (default 3),
#      ABT_PORT_BASE (first port tried, default 57300), ABT_KEEP=1.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

BASE_REV=${1:?usage: bench/compare.sh BASE_REV [CANDIDATE_REV]}
CAND_REV=${2:-}
DURATION=${BENCH_DURATION:-10}
ROUNDS=${BENCH_ROUNDS:-3}
PORT=${ABT_PORT_BASE:-57300}
SYS_PG=/usr/lib/postgresql/$ABT_PG_MAJOR
DB=abtest_bench

die() { abt_err "$*"; exit 2; }
section() { printf '\n======== %s ========\n' "$*"; }

abt_install_deps || die "could not install the Debian packages"
T=$(mktemp -d /tmp/abtest-compare.XXXXXX) || die "mktemp failed"
chmod 755 "$T"
SIDES=(base cand)
declare -A PGBIN PGPORT IDS
cleanup() {
    local s
    for s in "${SIDES[@]}"; do
        [ -f "$T/$s-data/postmaster.pid" ] &&
            runuser -u postgres -- "${PGBIN[$s]}/pg_ctl" -D "$T/$s-data" -m immediate stop >/dev/null 2>&1
    done
    if [ "${ABT_KEEP:-0}" = 1 ]; then abt_log "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# source SIDE REV: the tree of REV (or the working tree) in $T/SIDE-src
source_tree() {
    mkdir -p "$T/$1-src"
    if [ -n "$2" ]; then
        git -C "$ROOT" archive "$2" | tar -x -C "$T/$1-src" || return 1
    else
        tar -C "$ROOT" --exclude=.git --exclude=bench/out -cf - . | tar -x -C "$T/$1-src" || return 1
        make -s -C "$T/$1-src" PG_CONFIG="$SYS_PG/bin/pg_config" clean >/dev/null 2>&1
    fi
}

# install SIDE: a private copy of PostgreSQL with SIDE's abtest installed in it
install_side() {
    local pg=$T/$1-pg
    mkdir -p "$pg/usr/lib/postgresql" "$pg/usr/share/postgresql" "$pg/usr/include" || return 1
    cp -a "$SYS_PG" "$pg/usr/lib/postgresql/" &&
        cp -a "/usr/share/postgresql/$ABT_PG_MAJOR" "$pg/usr/share/postgresql/" &&
        cp -a /usr/include/postgresql "$pg/usr/include/" || return 1
    PGBIN[$1]=$pg/usr/lib/postgresql/$ABT_PG_MAJOR/bin
    [ "$("${PGBIN[$1]}/pg_config" --sharedir)" = "$pg/usr/share/postgresql/$ABT_PG_MAJOR" ] ||
        die "the copied PostgreSQL does not find its own share directory"
    make -s -C "$T/$1-src" -j2 PG_CONFIG="${PGBIN[$1]}/pg_config" >/dev/null &&
        make -s -C "$T/$1-src" PG_CONFIG="${PGBIN[$1]}/pg_config" install >/dev/null
}

# start SIDE: initdb and start its server on the next free port
start_side() {
    local data=$T/$1-data
    while abt_port_busy "$PORT"; do PORT=$((PORT + 1)); done
    PGPORT[$1]=$PORT
    PORT=$((PORT + 1))
    mkdir -p "$data" "$T/run" && chown postgres:postgres "$data" "$T/run" || return 1
    runuser -u postgres -- "${PGBIN[$1]}/initdb" -D "$data" -A trust -U postgres >/dev/null || return 1
    cat >>"$data/postgresql.conf" <<EOF
port = ${PGPORT[$1]}
listen_addresses = ''
unix_socket_directories = '$T/run'
shared_buffers = 1GB
max_connections = 100
wal_level = logical
checkpoint_timeout = 30min
max_wal_size = 4GB
shared_preload_libraries = 'abtest'
EOF
    runuser -u postgres -- "${PGBIN[$1]}/pg_ctl" -D "$data" -l "$T/run/$1.log" -w start >/dev/null
}

# psql SIDE ARGS...: as postgres against SIDE's server
psql_side() {
    local s=$1
    shift
    (cd "$T" && runuser -u postgres -- "${PGBIN[$s]}/psql" -X -q -At -v ON_ERROR_STOP=1 \
        -h "$T/run" -p "${PGPORT[$s]}" "$@")
}

# setup SIDE: the benchmark data (the candidate's bench/sql on both)
setup_side() {
    local f
    psql_side "$1" -d postgres -c "CREATE DATABASE $DB" >/dev/null || return 1
    for f in 01_schema 02_experiments 03_preassign; do
        psql_side "$1" -d "$DB" -f "$T/cand-src/bench/sql/$f.sql" >/dev/null || return 1
    done
    psql_side "$1" -d "$DB" -c "VACUUM ANALYZE" >/dev/null
    IDS[$1.returning]=$(psql_side "$1" -d "$DB" -c "SELECT experiment FROM bench_ids WHERE name = 'returning'")
    IDS[$1.hot]=$(psql_side "$1" -d "$DB" -c "SELECT experiment FROM bench_ids WHERE name = 'hot'")
    IDS[$1.vmap]=$(psql_side "$1" -d "$DB" -c "SELECT jsonb_build_object(el1::text, e1v1::text, el2::text, e2v1::text)
                                                 FROM bench_ids WHERE name = 'hot'")
}

declare -A SUM N
# run SIDE SCRIPT CLIENTS: one measured pgbench run; adds its tps to SUM
run() {
    local s=$1 script=$2 clients=$3 defs tps
    case $script in
        returning_*) defs=(-D "exp=${IDS[$s.returning]}") ;;
        new_assign) defs=(-D "exp=${IDS[$s.hot]}") ;;
        new_insert_assignments) defs=(-D "exp=${IDS[$s.hot]}" -D "vmap=${IDS[$s.vmap]}") ;;
    esac
    psql_side "$s" -d "$DB" -c CHECKPOINT >/dev/null
    tps=$(cd "$T" && runuser -u postgres -- "${PGBIN[$s]}/pgbench" -h "$T/run" -p "${PGPORT[$s]}" -n -M prepared \
            -j 2 -c "$clients" -T "$DURATION" -f "$T/cand-src/bench/pgbench/$script.sql" "${defs[@]}" "$DB" 2>&1 |
          sed -n 's/^tps = \([0-9.]*\).*/\1/p')
    [ -n "$tps" ] || die "pgbench $script on $s failed"
    printf '  %-5s %-24s %2s clients  tps %8.0f\n' "$s" "$script" "$clients" "$tps"
    SUM[$s.$script]=$(awk -v a="${SUM[$s.$script]:-0}" -v b="$tps" 'BEGIN { print a + b }')
    N[$s.$script]=$(( ${N[$s.$script]:-0} + 1 ))
}
mean() { awk -v a="${SUM[$1]}" -v n="${N[$1]}" 'BEGIN { printf "%.1f", a / n }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

section "build"
abt_log "base: $BASE_REV; candidate: ${CAND_REV:-the working tree}"
source_tree base "$BASE_REV" || die "cannot export $BASE_REV"
source_tree cand "$CAND_REV" || die "cannot export the candidate"
for s in "${SIDES[@]}"; do
    install_side "$s" || die "build of $s failed"
    start_side "$s" || die "server of $s did not start"
    setup_side "$s" || die "benchmark data of $s failed"
done

section "runs (alternating, ${ROUNDS} rounds of ${DURATION} s)"
for r in $(seq 1 "$ROUNDS"); do
    order=(base cand)
    [ $((r % 2)) = 0 ] && order=(cand base)
    for pair in "returning_lookup 8" "returning_assign 8" "new_insert_assignments 32" "new_assign 32"; do
        for s in "${order[@]}"; do
            # shellcheck disable=SC2086  # "script clients"
            run "$s" $pair
        done
    done
done

section "results"
BASE_GIT=$(git -C "$ROOT" rev-parse --short "$BASE_REV")
CAND_GIT=${CAND_REV:+$(git -C "$ROOT" rev-parse --short "$CAND_REV")}
printf 'bench/compare.sh: base %s, candidate %s; %s rounds x %s s alternating; tps = mean\n\n' \
    "$BASE_GIT" "${CAND_GIT:-working tree at $(git -C "$ROOT" rev-parse --short HEAD)}" "$ROUNDS" "$DURATION"
echo '| row | clients | base | candidate | candidate / base |'
echo '| --- | ---: | ---: | ---: | ---: |'
for row in "returning visitor: abt_assign / bare lookup|8|returning_assign|returning_lookup" \
           "new visitor: abt_assign / bare INSERT into assignments|32|new_assign|new_insert_assignments"; do
    IFS='|' read -r label clients cand_key base_key <<<"$row"
    rb=$(div "$(mean "base.$cand_key")" "$(mean "base.$base_key")")
    rc=$(div "$(mean "cand.$cand_key")" "$(mean "cand.$base_key")")
    printf '| %s | %s | %sx | %sx | %s |\n' "$label" "$clients" "$rb" "$rc" "$(div "$rc" "$rb")"
done
for key in returning_assign new_assign returning_lookup new_insert_assignments; do
    printf '| %s tps | | %s | %s | %s |\n' "$key" "$(mean "base.$key")" "$(mean "cand.$key")" \
        "$(div "$(mean "cand.$key")" "$(mean "base.$key")")"
done
printf '\nload average at end: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
