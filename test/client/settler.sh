#!/usr/bin/env bash
# test/client/settler.sh -- the settler (src/settler.c): background workers
# that fold the striped counters and keep element_variants' totals current
# with no call from anyone.
#
# Runs against a server of its own (initdb as postgres in $ABT_TMP/settler.*,
# unix socket only, shared_preload_libraries = 'abtest',
# abtest.settle_interval = 200ms, restart_after_crash = on,
# log_min_messages = debug1 for the settler's "no abtest here" line).
# Checks, every wait a bounded poll on a condition:
#  - the launcher runs; CREATE EXTENSION starts a settler for that database
#    (backend_type and application_name "abtest settler");
#  - after a load of new visitors and conversions, with no call from
#    anyone, element_variants equals abtest.variant_totals, which equals the
#    counts from abtest.assignments, and no slot row is left unfolded;
#    abtest.settler shows the rounds;
#  - a database without abtest, and one at 1.0, get no settler (the settler
#    started for them says so in the log and exits); ALTER EXTENSION UPDATE
#    to 1.1 starts one;
#  - kill -9 of the settler (the postmaster reinitializes: crash recovery),
#    kill -9 of the launcher, and pg_ctl stop -m immediate + start: the
#    settler comes back, and after more load the counts are still exact
#    (nothing folded twice, nothing lost);
#  - DROP EXTENSION ends the settler; CREATE EXTENSION brings it back;
#  - DROP DATABASE (without FORCE) of a database with a settler succeeds;
#  - without preloading: abt_settler_start() starts a settler that settles,
#    returns the running one's pid when called again, and DROP EXTENSION ends
#    it.
set -uo pipefail

: "${ABT_TMP:?}" "${ABT_BIN:?}"

TAG=$$_$RANDOM
WORK=$ABT_TMP/settler.$TAG
PGD=$WORK/data
SOCK=$WORK
SLOG=$WORK/server.log
EXP=5e000000-0000-4000-8000-000000000001

. "$(dirname "${BASH_SOURCE[0]}")/lib/tap.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lib/own_server.sh"

cleanup() {
    trap - EXIT HUP INT TERM
    own_server_cleanup
}
trap cleanup EXIT
trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM

accepts() { q postgres "SELECT 1" >/dev/null; }
dboid() { q postgres "SELECT oid FROM pg_database WHERE datname = '$1'"; }
ready_count() { grep -c 'database system is ready to accept connections' "$SLOG"; }
reinitialized() { [ "$(ready_count)" -gt "$ready" ]; }
new_settler() { local p; p=$(settler_pid abt_settle); [ -n "$p" ] && [ "$p" != "$before" ]; }
said_absent() { grep -q "abtest settler: no abtest 1.1 or later in database $1," "$SLOG"; }

# load DB PREFIX N: N new visitors (in 4 sessions at once), a third converting
load() {
    local i pids=()
    for i in 1 2 3 4; do
        q "$1" "SELECT count(abt_assign('$EXP', '$2-$i-' || g)) FROM generate_series(1, $3) g;
                SELECT count(abt_convert('$EXP', '$2-$i-' || g)) FROM generate_series(1, $3, 3) g;" \
            >/dev/null &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i" || return 1; done
}
# settled DB (lib/own_server.sh): the settler folded everything
exact_diag() {
    counter_mismatches "$1" totals 2>&1 | sed 's/^/#   /'
    q "$1" "SELECT v.name, v.total_allocations, v.total_conversions, t.total_allocations, t.total_conversions
              FROM abtest.element_variants v JOIN abtest.variant_totals t ON t.variant_id = v.id" 2>&1 \
        | sed 's/^/#   /'
    q "$1" "SELECT slot, count(*) FROM abtest.variant_counters GROUP BY 1" 2>&1 | sed 's/^/#   slots: /'
}
check_settled() { # DB DESCRIPTION
    if wait_for 30 settled "$1"; then ok "$2"; else not_ok "$2"; exact_diag "$1"; log_tail; fi
}

# ------------------------------------------------------------ our server
own_server_start \
    "max_connections = 40" \
    "max_worker_processes = 16" \
    "shared_buffers = 32MB" \
    "restart_after_crash = on" \
    "wal_level = replica" \
    "max_wal_senders = 0" \
    "log_min_messages = debug1" \
    "log_line_prefix = '%m [%p] '" \
    "shared_preload_libraries = 'abtest'" \
    "abtest.settle_interval = '200ms'"
ok "own server up with shared_preload_libraries = 'abtest' (socket $SOCK, port $PGPORT)"
check "the launcher runs (backend_type 'abtest launcher')" wait_for 30 has_launcher

# ------------------------------------------------------------ settling
q postgres "CREATE DATABASE abt_settle" >/dev/null || bail "CREATE DATABASE"
q postgres "CREATE DATABASE abt_plain" >/dev/null || bail "CREATE DATABASE"
q postgres "CREATE DATABASE abt_old" >/dev/null || bail "CREATE DATABASE"
settler_setup abt_settle settler || bail "setup"
check "CREATE EXTENSION starts a settler for its database" wait_for 30 has_settler abt_settle
is "$(q postgres "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'abtest settler'")" 1 \
   "one settler in all: none for the databases without abtest"
load abt_settle first 150 || bail "load"
check_settled abt_settle "after the load, with no call: element_variants = variant_totals = the rows, no slot row left"
is "$(q abt_settle "SELECT pid = $(settler_pid abt_settle) AND rounds > 0 AND rows_folded > 0 AND variants_updated >= 4
                      FROM abtest.settler")" t \
   "abtest.settler shows the running settler and what it folded"
is "$(q abt_settle "SELECT count(*) FROM abtest.experiment_timeline
                     WHERE slot <> 0 AND bucket < date_bin('15 minutes', now(), '2000-01-01 00:00:00+00')")" 0 \
   "no rollup row of a closed bucket is left unfolded"

# ------------------------------------- one experiment's fold failing
# Each experiment is folded in a transaction of its own: a fold that fails
# (here a trigger of the user's refuses the first experiment's
# element_variants update) is reported and retried, and neither stops the
# others nor loses a count.
EXP2=5e000000-0000-4000-8000-000000000002
q postgres "CREATE DATABASE abt_fail" >/dev/null || bail "CREATE DATABASE"
settler_setup abt_fail settler || bail "setup abt_fail"
q abt_fail "
INSERT INTO abtest.experiments (id, name, status) VALUES ('$EXP2', 'second', 'active');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, position) VALUES
  ('5e300000-0000-4000-8000-000000000003', '$EXP2', 'banner', 0);
INSERT INTO abtest.element_variants (element_id, name, is_control, position) VALUES
  ('5e300000-0000-4000-8000-000000000003', 'control', true, 0),
  ('5e300000-0000-4000-8000-000000000003', 'treatment', false, 1);
CREATE FUNCTION public.refuse_fold() RETURNS trigger LANGUAGE plpgsql AS
  \$\$ BEGIN RAISE EXCEPTION 'test: fold of variant % refused', NEW.id; END \$\$;
CREATE TRIGGER refuse_fold BEFORE UPDATE ON abtest.element_variants FOR EACH ROW
  WHEN (NEW.element_id IN ('5e100000-0000-4000-8000-000000000001', '5e200000-0000-4000-8000-000000000002'))
  EXECUTE FUNCTION public.refuse_fold();" >/dev/null || bail "abt_fail experiments"
check "a settler for the database with a failing fold" wait_for 30 has_settler abt_fail
q abt_fail "SELECT count(abt_assign('$EXP', 'f' || g)), count(abt_assign('$EXP2', 'f' || g))
              FROM generate_series(1, 90) g" >/dev/null || bail "abt_fail load"
# EXP2: settled (both variants' totals equal the live ones, 90 visitors) and no slot row left
exp2_settled() {
    [ "$(q abt_fail "SELECT count(*) FROM abtest.element_variants v
                       JOIN abtest.variant_totals t ON t.variant_id = v.id
                      WHERE v.element_id = '5e300000-0000-4000-8000-000000000003'
                        AND v.total_allocations = t.total_allocations")" = 2 ] &&
        [ "$(q abt_fail "SELECT sum(total_allocations) FROM abtest.element_variants
                          WHERE element_id = '5e300000-0000-4000-8000-000000000003'")" = 90 ] &&
        [ "$(q abt_fail "SELECT count(*) FROM abtest.variant_counters WHERE slot <> 0 AND experiment_id = '$EXP2'")" = 0 ]
}
refused_logged() { grep -q 'test: fold of variant .* refused' "$SLOG"; }
check "the failing fold is reported in the server log" wait_for 30 refused_logged
check "the other experiment is settled all the same (folded in its own transaction)" wait_for 30 exp2_settled
is "$(q abt_fail "SELECT count(*) FILTER (WHERE v.total_allocations = 0),
                         sum(t.total_allocations),
                         (SELECT count(*) FROM abtest.assignments WHERE experiment_id = '$EXP') * 2
                    FROM abtest.element_variants v JOIN abtest.variant_totals t ON t.variant_id = v.id
                    JOIN abtest.experiment_elements e ON e.id = v.element_id
                   WHERE e.experiment_id = '$EXP'")" "4|180|180" \
   "the refused experiment: element_variants not settled, its live totals still exact"
q abt_fail "DROP TRIGGER refuse_fold ON abtest.element_variants" >/dev/null || bail "DROP TRIGGER"
exp1_settled() {
    [ "$(q abt_fail "SELECT count(*) FROM abtest.element_variants v
                       JOIN abtest.variant_totals t ON t.variant_id = v.id
                       JOIN abtest.experiment_elements e ON e.id = v.element_id
                      WHERE e.experiment_id = '$EXP' AND v.total_allocations = t.total_allocations
                        AND t.total_allocations > 0")" = 4 ] &&
        [ "$(q abt_fail "SELECT count(*) FROM abtest.variant_counters WHERE slot <> 0")" = 0 ]
}
check "once the trigger is gone, the retried experiment is settled" wait_for 30 exp1_settled
q postgres "DROP DATABASE abt_fail" >/dev/null || not_ok "DROP DATABASE abt_fail"

# ------------------------------------------------- databases without it
check "a database without abtest: its settler said so and exited" \
    wait_for 30 said_absent "$(dboid abt_plain)"
check "  and it has no settler" no_settler abt_plain
q abt_old "SET abtest.publication = ''; CREATE EXTENSION abtest VERSION '1.0'" >/dev/null || bail "1.0"
q postgres "SELECT pg_terminate_backend($(settler_pid abt_settle))" >/dev/null   # the launcher rescans when it stops
check "a database at 1.0: its settler said so and exited" wait_for 30 said_absent "$(dboid abt_old)"
check "  and it has no settler" no_settler abt_old
check "the settler stopped by pg_terminate_backend is started again" wait_for 30 has_settler abt_settle
q abt_old "ALTER EXTENSION abtest UPDATE" >/dev/null || bail "ALTER EXTENSION UPDATE"
check "ALTER EXTENSION abtest UPDATE to 1.1 starts its settler" wait_for 30 has_settler abt_old

# ------------------------------------------------------------ crashes
before=$(settler_pid abt_settle)
ready=$(ready_count)
load abt_settle second 100 2>/dev/null &
LOADPID=$!
kill -KILL "$before"
wait "$LOADPID"     # may fail: the crash ends its sessions
check "kill -9 of the settler: the server reinitializes" wait_for 60 reinitialized
check "  and the settler is back (new pid)" wait_for 60 new_settler
load abt_settle third 100 || bail "load after the crash"
check_settled abt_settle "after kill -9 of the settler and more load: still exact (nothing folded twice or lost)"

ready=$(ready_count)
kill -KILL "$(launcher_pid)"
check "kill -9 of the launcher: the server reinitializes" wait_for 60 reinitialized
check "  and the launcher is back" wait_for 60 has_launcher
check "  and the settler too" wait_for 60 has_settler abt_settle

load abt_settle fourth 100 2>/dev/null &
LOADPID=$!
sleep 0.3   # let the load start (not a synchronisation: any moment will do)
pg_ctl -m immediate -w -t 30 stop >/dev/null 2>&1
wait "$LOADPID"
if pg_ctl -l "$SLOG" -w -t 60 start >/dev/null 2>&1 && wait_for 30 accepts; then
    ok "pg_ctl stop -m immediate under load, start: crash recovery"
else
    not_ok "pg_ctl stop -m immediate under load, start: crash recovery"; log_tail
fi
check "  the settler is back" wait_for 30 has_settler abt_settle
load abt_settle fifth 100 || bail "load after the restart"
check_settled abt_settle "after the immediate restart and more load: still exact"

# ------------------------------------------------------------ leaving
q abt_settle "DROP EXTENSION abtest CASCADE" >/dev/null || bail "DROP EXTENSION"
check "DROP EXTENSION ends the settler" wait_for 30 no_settler abt_settle
settler_setup abt_settle settler || bail "setup again"
check "CREATE EXTENSION again starts it again" wait_for 30 has_settler abt_settle
load abt_settle sixth 50 || bail "load"
check_settled abt_settle "and it settles the new experiment"
start=$SECONDS
if timeout 60 "$ABT_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE abt_settle" \
        >"$WORK/drop.out" 2>&1; then
    ok "DROP DATABASE (without FORCE) of a database with a settler succeeds ($((SECONDS - start)) s)"
else
    not_ok "DROP DATABASE (without FORCE) of a database with a settler succeeds"
    sed 's/^/#   /' "$WORK/drop.out"
fi
check "  and no settler is left for it" no_settler abt_settle

# ------------------------------------------------------ without preloading
as_pg sed -i "s/^shared_preload_libraries = 'abtest'/shared_preload_libraries = ''/" "$PGD/postgresql.conf"
if pg_ctl -l "$SLOG" -m fast -w -t 60 restart >/dev/null 2>&1 && wait_for 30 accepts; then
    ok "restarted without shared_preload_libraries"
else
    not_ok "restarted without shared_preload_libraries"; log_tail
fi
is "$(launcher_pid)/$(settler_pid abt_old)" "/" "no launcher, and no settler for abt_old"
q postgres "CREATE DATABASE abt_manual" >/dev/null || bail "CREATE DATABASE"
settler_setup abt_manual settler || bail "setup"
load abt_manual before 50 || bail "load"
pid=$(q abt_manual "SELECT abt_settler_start()")
check "abt_settler_start() starts a settler ($pid)" has_settler abt_manual
is "$(q abt_manual "SELECT abt_settler_start()")" "$pid" "  called again, it returns the running one's pid"
load abt_manual after 50 || bail "load"
check_settled abt_manual "  it settles the load before and after it started"
q abt_manual "DROP EXTENSION abtest CASCADE" >/dev/null || bail "DROP EXTENSION"
check "  DROP EXTENSION ends it" wait_for 30 no_settler abt_manual

finish
