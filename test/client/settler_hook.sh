#!/usr/bin/env bash
# test/client/settler_hook.sh -- the settler's ProcessUtility hook
# (src/settler.c): DROP DATABASE, ALTER DATABASE ... RENAME and CREATE
# DATABASE ... TEMPLATE stop the database's settler first, so that they do
# not fail on its connection -- but only when the command will run (issue
# 24, item 4), and a command that fails lets it back at once.
#
# Runs against a server of its own (initdb as postgres in
# $ABT_TMP/settler_hook.*, unix socket only, shared_preload_libraries =
# 'abtest', abtest.settle_interval = 200ms), with databases owned by
# abt_owner (CREATEDB), each with abtest and its settler, and two other
# roles: abt_anon (nothing) and abt_creator (CREATEDB, not the owner).
# Checks, every wait a bounded poll on a condition:
#  - each command the caller may not run, or not there, fails with
#    PostgreSQL's SQLSTATE and leaves the settler alone (each in a database
#    of its own): the same settler (pid) then folds a new load:
#      abt_anon: DROP DATABASE (42501), ALTER DATABASE ... RENAME (42501),
#                CREATE DATABASE ... TEMPLATE (42501), BEGIN; DROP DATABASE
#                (25001);
#      abt_creator: CREATE DATABASE ... TEMPLATE (42501: not the owner, not
#                a template);
#      abt_owner: BEGIN; DROP DATABASE (25001);
#  - the owner's DROP DATABASE while another session is connected fails
#    (55006, after PostgreSQL's 5 s wait): a settler is back and folds (on
#    main it stayed away for a minute);
#  - the owner's rename rolled back: the settler is back;
#  - the hook's purpose, for the owner (not a superuser): ALTER DATABASE
#    ... RENAME, CREATE DATABASE ... TEMPLATE and DROP DATABASE (without
#    FORCE) succeed while the settler runs, and the renamed database's
#    settler is back.
set -uo pipefail

: "${ABT_TMP:?}" "${ABT_BIN:?}"

TAG=$$_$RANDOM
WORK=$ABT_TMP/settler_hook.$TAG
PGD=$WORK/data
SOCK=$WORK
SLOG=$WORK/server.log
EXP=5e000000-0000-4000-8000-000000000001
DB=abt_hook

. "$(dirname "${BASH_SOURCE[0]}")/lib/tap.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lib/own_server.sh"

HOLDER=
cleanup() {
    trap - EXIT HUP INT TERM
    exec 7>&- 2>/dev/null
    if [ -n "$HOLDER" ]; then kill "$HOLDER" 2>/dev/null; wait "$HOLDER" 2>/dev/null; fi
    own_server_cleanup
}
trap cleanup EXIT
trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM

# as ROLE SQL: runs SQL (statements on lines of their own: one query each)
# as ROLE in database postgres; prints "ok" or the SQLSTATE of the error
as() {
    local out
    out=$(printf '%s\n' "$2" | "$ABT_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -v VERBOSITY=sqlstate \
              -U "$1" -d postgres -f - 2>&1)
    if [ $? -eq 0 ]; then echo ok; return; fi
    printf '%s\n' "$out" | sed -n 's/.*ERROR: *\([0-9A-Z]\{5\}\)$/\1/p' | head -n 1
}

# load DB PREFIX: 30 new visitors, a third converting
load() {
    q "$1" "SELECT count(abt_assign('$EXP', '$2-' || g)) FROM generate_series(1, 30) g;
            SELECT count(abt_convert('$EXP', '$2-' || g)) FROM generate_series(1, 30, 3) g;" >/dev/null
}

# new_db DB: database DB owned by abt_owner, with the experiment, a settler
# that folded a first load
new_db() {
    q postgres "CREATE DATABASE $1 OWNER abt_owner" >/dev/null || bail "CREATE DATABASE $1"
    settler_setup "$1" hook || bail "setup $1"
    wait_for 30 has_settler "$1" || bail "no settler for $1"
    load "$1" first || bail "load $1"
    wait_for 30 settled "$1" || bail "$1 not settled"
}

# refused ROLE SQLSTATE DESCRIPTION SQL: in a database of its own (named
# abt_target_N, written @DB@ in SQL), the command fails with SQLSTATE, and
# the settler running before it (same pid) folds a load made after it
N=0
refused() {
    local db before after state
    N=$((N + 1))
    db=abt_target_$N
    new_db "$db"
    before=$(settler_pid "$db")
    state=$(as "$1" "${4//@DB@/$db}")
    is "$state" "$2" "$3: fails with $2"
    load "$db" refused || bail "load"
    if wait_for 30 settled "$db"; then
        ok "  and the settler folds a load made after it"
    else
        not_ok "  and the settler folds a load made after it"; log_tail 5
    fi
    after=$(settler_pid "$db")
    is "$after" "$before" "  by the same settler as before (pid $before), never stopped"
}

# ------------------------------------------------------------ our server
own_server_start \
    "max_connections = 40" \
    "max_worker_processes = 20" \
    "shared_buffers = 32MB" \
    "wal_level = replica" \
    "max_wal_senders = 0" \
    "log_line_prefix = '%m [%p] '" \
    "shared_preload_libraries = 'abtest'" \
    "abtest.settle_interval = '200ms'"
ok "own server up with shared_preload_libraries = 'abtest' (socket $SOCK, port $PGPORT)"
check "the launcher runs" wait_for 30 has_launcher

q postgres "CREATE ROLE abt_anon LOGIN;
            CREATE ROLE abt_creator LOGIN CREATEDB;
            CREATE ROLE abt_owner LOGIN CREATEDB;" >/dev/null || bail "CREATE ROLE"
new_db "$DB"
ok "database $DB (owner abt_owner): its settler folds"

# ------------------------------------- commands that will not run
refused abt_anon 42501 "abt_anon: DROP DATABASE" "DROP DATABASE @DB@;"
refused abt_anon 42501 "abt_anon: ALTER DATABASE ... RENAME" "ALTER DATABASE @DB@ RENAME TO abt_other;"
refused abt_anon 42501 "abt_anon: CREATE DATABASE abt_copy TEMPLATE ..." "CREATE DATABASE abt_copy TEMPLATE @DB@;"
refused abt_anon 25001 "abt_anon: BEGIN; DROP DATABASE" "BEGIN;
DROP DATABASE @DB@;"
refused abt_creator 42501 "abt_creator (CREATEDB, not the owner): CREATE DATABASE abt_copy TEMPLATE ..." \
    "CREATE DATABASE abt_copy TEMPLATE @DB@;"
refused abt_owner 25001 "abt_owner: BEGIN; DROP DATABASE" "BEGIN;
DROP DATABASE @DB@;"
is "$(q postgres "SELECT count(*) FROM pg_database WHERE datname LIKE 'abt_target_%' OR datname IN ('abt_other', 'abt_copy')")" \
   "$N" "nothing was dropped, renamed or copied"

# ----------------------------- the owner's commands that fail, or roll back
mkfifo "$WORK/hold" || bail "mkfifo"
"$ABT_BIN/psql" -X -q -d "$DB" <"$WORK/hold" >/dev/null 2>&1 &
HOLDER=$!
exec 7>"$WORK/hold"
echo "SET application_name = 'abt_hook_holder';" >&7
holder_connected() {
    [ "$(q postgres "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'abt_hook_holder'")" = 1 ]
}
check "another session connects to $DB" wait_for 30 holder_connected
is "$(as abt_owner "DROP DATABASE $DB;")" 55006 \
   "abt_owner: DROP DATABASE $DB while another session is connected fails with 55006"
check "  a settler is back for $DB (not a minute later)" wait_for 30 has_settler "$DB"
load "$DB" after_failed_drop || bail "load"
check "  and folds" wait_for 30 settled "$DB"
exec 7>&-
wait "$HOLDER"
HOLDER=
holder_gone() { ! holder_connected; }
check "the other session is gone" wait_for 30 holder_gone

is "$(as abt_owner "BEGIN;
ALTER DATABASE $DB RENAME TO abt_other;
ROLLBACK;")" ok "abt_owner: BEGIN; ALTER DATABASE $DB RENAME TO abt_other; ROLLBACK"
check "  a settler is back for $DB" wait_for 30 has_settler "$DB"
load "$DB" after_rollback || bail "load"
check "  and folds" wait_for 30 settled "$DB"

# ------------------------------------------- what the hook is for
is "$(as abt_owner "ALTER DATABASE $DB RENAME TO abt_renamed;")" ok \
   "abt_owner (not a superuser): ALTER DATABASE $DB RENAME succeeds while its settler runs"
DB=abt_renamed
check "  a settler is back for the renamed database" wait_for 30 has_settler "$DB"
load "$DB" after_rename || bail "load"
check "  and folds" wait_for 30 settled "$DB"
is "$(as abt_owner "CREATE DATABASE abt_copy TEMPLATE $DB;")" ok \
   "abt_owner: CREATE DATABASE abt_copy TEMPLATE $DB succeeds while its settler runs"
check "  a settler is back for $DB" wait_for 30 has_settler "$DB"
is "$(as abt_owner "DROP DATABASE abt_copy;")" ok "abt_owner: DROP DATABASE abt_copy succeeds"
is "$(as abt_owner "DROP DATABASE $DB;")" ok \
   "abt_owner: DROP DATABASE $DB (without FORCE) succeeds while its settler runs"
check "  and no settler is left for it" wait_for 30 no_settler "$DB"

finish
