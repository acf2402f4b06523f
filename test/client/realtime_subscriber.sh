#!/usr/bin/env bash
# test/client/realtime_subscriber.sh -- abtest's realtime publication feeding
# a real logical-replication subscriber.
#
# The publisher is the suite's server (PGHOST/PGPORT): a database with
# CREATE EXTENSION abtest, which puts abtest.assignments, conversions,
# variant_counters and element_variants into publication supabase_realtime.
# The subscriber is a second, throwaway PostgreSQL 15 started here (initdb as
# postgres in $ABT_TMP, unix socket only, in its own directory; stopped and
# removed on exit): a database with the same table definitions (CREATE
# EXTENSION abtest with abtest.publication = '', so it publishes nothing) and
# CREATE SUBSCRIPTION ... PUBLICATION supabase_realtime WITH (copy_data).
#
# Checks (every wait polls for at most $WAIT_S seconds):
#   - the initial copy brings the rows written before the subscription;
#   - after abt_assign (single calls from two sessions open at the same time,
#     so in two backend slots; abt_assign_bulk),
#     abt_convert (first and repeat), abt_settle_counters, a content edit and
#     pausing an experiment (which settles its counters), the subscriber has
#     exactly the publisher's rows of the four published tables (row count and
#     md5 of all rows), so the same live counter sums per variant;
#   - deleting an experiment on the publisher (its trigger deletes the
#     experiment's assignments, conversions and counters, the FK cascades to
#     its variants) deletes the same rows on the subscriber;
#   - unpublished tables are not replicated: the subscriber's
#     experiment_timeline, variant_timeline, leads, realtime_publications and
#     an application table stay empty while the publisher's are not, and its
#     experiments / experiment_elements (copied once, by hand, before the
#     subscription) get none of the publisher's later changes;
#   - the extension's triggers do not fire for replicated rows: the
#     subscriber's experiments.config_version is unchanged although replicated
#     element_variants inserts, updates (content edit) and deletes would each
#     bump it if variant_changed / variant_config_changed fired (apply
#     workers run with session_replication_role = replica); a local UPDATE on
#     the subscriber does fire it (positive control); nor do foreign keys: a
#     variant of a new element (elements are not published) is applied
#     although its element does not exist on the subscriber.
set -uo pipefail

: "${PGHOST:?}" "${PGPORT:?}" "${ABT_TMP:?}" "${ABT_BIN:?}"
export PGUSER=${PGUSER:-postgres}

TAG=$$_$RANDOM
DB=abt_rts_$TAG                 # publisher database (suite server)
SDB=abt_rts_sub                 # subscriber database (throwaway server)
SUB=abt_rts_$TAG                # subscription (and its slot on the publisher)
PUB=supabase_realtime
WORK=$ABT_TMP/realtime_sub.$TAG
SDIR=$WORK/sub                  # subscriber: data, socket, log
WAIT_S=${ABT_REALTIME_WAIT:-30}
EXP_A=a0000000-0000-4000-8000-0000000000a1     # active, 2 elements
EXP_B=b0000000-0000-4000-8000-0000000000b2     # active, deleted later
REALTIME_TABLES=(assignments conversions variant_counters element_variants)

. "$(dirname "${BASH_SOURCE[0]}")/lib/tap.sh"

as_pg() { (cd "$WORK" && runuser -u postgres -- env PGTZ=UTC LC_ALL=C.UTF-8 "$@"); }
# qp DB SQL: publisher (suite server); qs SQL: subscriber database
qp() { as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER=postgres \
        "$ABT_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
qs() { as_pg env PGHOST="$SDIR" PGPORT="$SPORT" PGUSER=postgres \
        "$ABT_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "${2:-$SDB}" -c "$1"; }
# runp DB / runs: SQL script on stdin
runp() { as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER=postgres \
        "$ABT_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$1"; }
runs() { as_pg env PGHOST="$SDIR" PGPORT="$SPORT" PGUSER=postgres \
        "$ABT_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$SDB"; }

SPORT=""
SUB_STARTED=0
cleanup() {
    local _
    if [ "$SUB_STARTED" = 1 ]; then
        # Dropping the subscription drops its slot on the publisher.
        qs "ALTER SUBSCRIPTION $SUB DISABLE" >/dev/null 2>&1
        qs "DROP SUBSCRIPTION IF EXISTS $SUB" >/dev/null 2>&1
        as_pg "$ABT_BIN/pg_ctl" -D "$SDIR/data" -m fast -w -t 30 stop >/dev/null 2>&1 \
            || as_pg "$ABT_BIN/pg_ctl" -D "$SDIR/data" -m immediate -w -t 30 stop >/dev/null 2>&1
    fi
    # Whatever slot of ours is left on the publisher (e.g. the subscriber
    # died): drop it, or the suite's server would keep WAL for it.
    for _ in 1 2 3; do
        qp postgres "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots
                      WHERE database = '$DB' AND active_pid IS NOT NULL" >/dev/null 2>&1
        qp postgres "SELECT count(pg_drop_replication_slot(slot_name)) FROM pg_replication_slots
                      WHERE database = '$DB' AND NOT active" >/dev/null 2>&1
        [ "$(qp postgres "SELECT count(*) FROM pg_replication_slots WHERE database = '$DB'" 2>/dev/null)" = 0 ] \
            && break
        sleep 1
    done
    qp postgres "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
    rm -rf -- "$WORK"
}
trap cleanup EXIT
trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM

{ mkdir -p "$SDIR" && chown -R postgres: "$WORK"; } || bail "cannot create $WORK"

# wait_for DESC EXPECTED CMD...: runs CMD until it prints EXPECTED, for at most
# $WAIT_S seconds (polling every 0.2 s); then reports like is().
wait_for() {
    local desc=$1 expected=$2 got start end
    shift 2
    start=$(date +%s.%N)
    end=$(awk -v s="$start" -v w="$WAIT_S" 'BEGIN { printf "%.3f", s + w }')
    while :; do
        got=$("$@" 2>&1)
        [ "$got" = "$expected" ] && break
        awk -v e="$end" -v n="$(date +%s.%N)" 'BEGIN { exit !(n > e) }' && break
        sleep 0.2
    done
    WAITED=$(awk -v s="$start" -v n="$(date +%s.%N)" 'BEGIN { printf "%.1f", n - s }')
    is "$got" "$expected" "$desc"
}

# Row count and md5 of all rows of abtest.TABLE, in a fixed order.
sig_sql() { echo "SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '-')
                    FROM abtest.$1 t"; }
pub_sigs() { local t; for t in "${REALTIME_TABLES[@]}"; do printf '%s %s\n' "$t" "$(qp "$DB" "$(sig_sql "$t")")"; done; }
sub_sigs() { local t; for t in "${REALTIME_TABLES[@]}"; do printf '%s %s\n' "$t" "$(qs "$(sig_sql "$t")")"; done; }
SUMS_SQL="SELECT coalesce(string_agg(format('%s=%s/%s', variant_id, a, c), ' ' ORDER BY variant_id), '')
            FROM (SELECT variant_id, sum(allocations) a, sum(conversions) c
                    FROM abtest.variant_counters GROUP BY 1) s"
UNPUBLISHED=(experiment_timeline variant_timeline leads realtime_publications)
count_unpublished() { # q-function [db]: counts of the unpublished tables
    local t out=""
    for t in "${UNPUBLISHED[@]}"; do out+="$t=$("$@" "SELECT count(*) FROM abtest.$t") "; done
    printf '%s' "${out% }"
}

# ------------------------------------------------------------ publisher
qp postgres "CREATE DATABASE $DB" >/dev/null || bail "CREATE DATABASE $DB"
runp "$DB" >/dev/null <<SQL || bail "could not set up $DB"
CREATE EXTENSION abtest;
CREATE EXTENSION dblink;
CREATE TABLE public.app_notes (id int PRIMARY KEY, body text);
INSERT INTO abtest.experiments (id, name) VALUES ('$EXP_A', 'landing'), ('$EXP_B', 'pricing');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, selector, position) VALUES
  ('a1000000-0000-4000-8000-000000000001', '$EXP_A', 'headline', 'h1', 0),
  ('a2000000-0000-4000-8000-000000000002', '$EXP_A', 'button', '#cta', 1),
  ('b1000000-0000-4000-8000-000000000001', '$EXP_B', 'price', NULL, 0);
INSERT INTO abtest.element_variants (id, element_id, name, content, weight, is_control, position) VALUES
  ('a1100000-0000-4000-8000-000000000011', 'a1000000-0000-4000-8000-000000000001', 'plain', '{"t": "Hi"}', 1, true, 0),
  ('a1200000-0000-4000-8000-000000000012', 'a1000000-0000-4000-8000-000000000001', 'bold', '{"t": "HI"}', 1, false, 1),
  ('a2100000-0000-4000-8000-000000000021', 'a2000000-0000-4000-8000-000000000002', 'blue', '{"c": "#00f"}', 1, true, 0),
  ('a2200000-0000-4000-8000-000000000022', 'a2000000-0000-4000-8000-000000000002', 'green', '{"c": "#0f0"}', 2, false, 1),
  ('a2300000-0000-4000-8000-000000000023', 'a2000000-0000-4000-8000-000000000002', 'red', '{"c": "#f00"}', 1, false, 2),
  ('b1100000-0000-4000-8000-000000000011', 'b1000000-0000-4000-8000-000000000001', 'low', '{"p": 9}', 1, true, 0),
  ('b1200000-0000-4000-8000-000000000012', 'b1000000-0000-4000-8000-000000000001', 'high', '{"p": 19}', 1, false, 1);
UPDATE abtest.experiments SET status = 'active';
-- written before the subscription exists: arrives with the initial copy
SELECT count(*) FROM abt_assign_bulk('$EXP_A', ARRAY(SELECT 'early-' || g FROM generate_series(1, 200) g));
SELECT count(abt_convert('$EXP_A', 'early-' || g, 'signup', g)) FROM generate_series(1, 200, 5) g;
SQL
is "$(qp "$DB" "SELECT string_agg(schemaname || '.' || tablename, ',' ORDER BY schemaname, tablename)
                  FROM pg_publication_tables WHERE pubname = '$PUB'")" \
   "abtest.assignments,abtest.conversions,abtest.element_variants,abtest.variant_counters" \
   "publisher: $PUB publishes the four realtime tables"
is "$(qp "$DB" "SELECT string_agg(c.relname || '=' || c.relreplident::text, ',' ORDER BY c.relname)
                  FROM pg_publication_tables p JOIN pg_class c
                    ON c.oid = format('%I.%I', p.schemaname, p.tablename)::regclass
                 WHERE p.pubname = '$PUB'")" \
   "assignments=d,conversions=d,element_variants=d,variant_counters=d" \
   "publisher: their replica identity is the default (the primary key)"

# ------------------------------------------------------------ subscriber
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
as_pg "$ABT_BIN/initdb" -D "$SDIR/data" -A trust -U postgres -E UTF8 --no-locale -N \
    >"$WORK/initdb.log" 2>&1 || { sed 's/^/# /' "$WORK/initdb.log"; bail "initdb of the subscriber failed"; }
# Unix socket only, in its own directory: the port only names the socket.
cat <<CONF | as_pg tee -a "$SDIR/data/postgresql.conf" >/dev/null
# ---- realtime_subscriber.sh: throwaway logical-replication subscriber ----
listen_addresses = ''
unix_socket_directories = '$SDIR'
max_connections = 20
shared_buffers = 32MB
max_logical_replication_workers = 4
max_worker_processes = 8
fsync = off
CONF
for _ in $(seq 1 20); do
    port=$((55000 + RANDOM % 5000))
    port_busy "$port" && continue
    if as_pg "$ABT_BIN/pg_ctl" -D "$SDIR/data" -l "$SDIR/server.log" -o "-p $port" \
            -w -t 60 start >>"$WORK/pg_ctl.log" 2>&1; then
        SPORT=$port
        SUB_STARTED=1
        break
    fi
    if [ -f "$SDIR/data/postmaster.pid" ]; then
        as_pg "$ABT_BIN/pg_ctl" -D "$SDIR/data" -m immediate -w stop >/dev/null 2>&1
    fi
done
if [ -z "$SPORT" ]; then
    tail -n 20 "$WORK/pg_ctl.log" "$SDIR/server.log" 2>/dev/null | sed 's/^/# /'
    bail "could not start the subscriber server"
fi
ok "subscriber server up (socket $SDIR, port $SPORT, pid $(head -n1 "$SDIR/data/postmaster.pid"))"

qs "CREATE DATABASE $SDB" postgres >/dev/null || bail "CREATE DATABASE $SDB on the subscriber"
runs >/dev/null <<SQL || bail "could not set up the subscriber database"
SET abtest.publication = '';
CREATE EXTENSION abtest;
CREATE TABLE public.app_notes (id int PRIMARY KEY, body text);
SQL
is "$(qs "SELECT count(*) FROM pg_publication")" "0" \
   "subscriber: CREATE EXTENSION with abtest.publication = '' created no publication"
# The configuration tables are not published: copy them once, so that the
# subscriber's variants have their parents and the triggers something to bump.
for t in experiments experiment_elements; do
    qp "$DB" "COPY abtest.$t TO STDOUT" | as_pg env PGHOST="$SDIR" PGPORT="$SPORT" \
        "$ABT_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$SDB" -c "COPY abtest.$t FROM STDIN" \
        || bail "could not copy abtest.$t to the subscriber"
done
SUB_VERSIONS=$(qs "SELECT string_agg(id || '=' || config_version, ' ' ORDER BY id) FROM abtest.experiments")
SUB_ELEMENTS=$(qs "$(sig_sql experiment_elements)")

if qs "CREATE SUBSCRIPTION $SUB
         CONNECTION 'host=$PGHOST port=$PGPORT dbname=$DB user=postgres'
         PUBLICATION $PUB WITH (copy_data = true)" >"$WORK/err" 2>&1; then
    ok "CREATE SUBSCRIPTION $SUB ... PUBLICATION $PUB WITH (copy_data = true)"
else
    not_ok "CREATE SUBSCRIPTION $SUB ... PUBLICATION $PUB WITH (copy_data = true)"
    sed 's/^/#   /' "$WORK/err"
    bail "no subscription"
fi
wait_for "subscriber: the four tables reach state ready (r)" \
    "assignments=r,conversions=r,element_variants=r,variant_counters=r" \
    qs "SELECT string_agg(c.relname || '=' || r.srsubstate::text, ',' ORDER BY c.relname)
          FROM pg_subscription_rel r JOIN pg_class c ON c.oid = r.srrelid"
diag "initial sync took ${WAITED}s"
PUB_SIGS=$(pub_sigs)
wait_for "initial copy: the subscriber has the publisher's rows of the four tables" \
    "$PUB_SIGS" sub_sigs
is "$(qs "SELECT count(*) FROM abtest.assignments WHERE user_id LIKE 'early-%'")" "200" \
   "initial copy: the 200 assignments written before the subscription"

# ------------------------------------------------------------ streaming
# Single calls from one session (the first creates this backend's counter
# rows, later ones update them), bulk, conversions; a second session writes
# other counter slots; settling and a content edit update element_variants;
# pausing B settles its counters (trigger); unpublished tables change too.
# The second session (dblink) connects before the first writes and stays
# connected until both are done: two live backends never share a backend id,
# so their counter rows are in two slots.  (Two sessions one after the other
# could get the same id, the second reusing the first's.)
SECONDS=0
runp "$DB" >/dev/null <<SQL || bail "could not write on the publisher (sessions 1 and 2)"
SELECT dblink_connect('session2', 'host=$PGHOST port=$PGPORT dbname=$DB user=postgres');
SELECT count(abt_assign('$EXP_A', 'single-' || g)) FROM generate_series(1, 30) g;
SELECT count(*) FROM abt_assign_bulk('$EXP_A', ARRAY(SELECT 'bulk-' || g FROM generate_series(1, 150) g));
SELECT count(abt_assign('$EXP_B', 'single-' || g)) FROM generate_series(1, 40) g;
SELECT count(abt_convert('$EXP_A', 'single-' || g)) FROM generate_series(1, 30, 3) g;
SELECT count(abt_convert('$EXP_A', 'bulk-' || g, 'purchase', g * 1.5)) FROM generate_series(1, 150, 4) g;
SELECT count(abt_convert('$EXP_A', 'bulk-' || g, 'purchase', 1)) FROM generate_series(1, 150, 8) g;
SELECT count(abt_convert('$EXP_B', 'single-' || g)) FROM generate_series(1, 40, 2) g;
INSERT INTO abtest.leads (payload, experiment_id, user_id) VALUES ('{"email": "a@example.com"}', '$EXP_A', 'single-1');
INSERT INTO public.app_notes VALUES (1, 'hello'), (2, 'world');
UPDATE public.app_notes SET body = 'there' WHERE id = 2;
-- session 2: each statement commits on its own
SELECT n FROM dblink('session2', 'SELECT count(abt_assign(''$EXP_A'', ''other-'' || g)) FROM generate_series(1, 25) g') AS t(n bigint);
SELECT n FROM dblink('session2', 'SELECT count(abt_assign(''$EXP_B'', ''other-'' || g)) FROM generate_series(1, 25) g') AS t(n bigint);
SELECT n FROM dblink('session2', 'SELECT count(abt_convert(''$EXP_B'', ''other-'' || g)) FROM generate_series(1, 25, 5) g') AS t(n bigint);
SELECT n FROM dblink('session2', 'SELECT abt_settle_counters(''$EXP_A'')') AS t(n bigint);
SELECT dblink_exec('session2', 'UPDATE abtest.element_variants SET content = ''{"t": "Hello!"}'' WHERE id = ''a1200000-0000-4000-8000-000000000012''');
SELECT dblink_exec('session2', 'UPDATE abtest.experiments SET status = ''paused'' WHERE id = ''$EXP_B''');
SELECT dblink_disconnect('session2');
SQL
PUB_SIGS=$(pub_sigs)
wait_for "streaming: the subscriber has exactly the publisher's rows of the four tables" \
    "$PUB_SIGS" sub_sigs
diag "caught up ${WAITED}s after the last commit (writes took ${SECONDS}s)"
diag "publisher: $(printf '%s' "$PUB_SIGS" | awk '{printf "%s%s %s rows", (NR > 1 ? ", " : ""), $1, $2}')"
is "$(qs "$SUMS_SQL")" "$(qp "$DB" "$SUMS_SQL")" \
   "streaming: live counter sums per variant are equal"
# settling A and pausing B fold the slot rows into slot 0 (1.1): their
# deletes and the settled rows arrive, the slots the publisher has
is "$(qs "SELECT string_agg(DISTINCT slot::text, ',') FROM abtest.variant_counters")" \
   "$(qp "$DB" "SELECT string_agg(DISTINCT slot::text, ',') FROM abtest.variant_counters")" \
   "streaming: counter rows of the publisher's slots arrived, the folded ones deleted"
is "$(qs "SELECT coalesce(string_agg(format('%s: %s/%s', t.variant_id, t.total_allocations, t.total_conversions), '; '), '')
            FROM abtest.variant_totals t
            JOIN (SELECT s.value::uuid AS variant_id, count(*) AS a, count(converted_at) AS c
                    FROM abtest.assignments, jsonb_each_text(variants) s GROUP BY 1) x USING (variant_id)
           WHERE (t.total_allocations, t.total_conversions) IS DISTINCT FROM (x.a, x.c)")" "" \
   "streaming: on the subscriber, the counters still equal its assignment rows"
is "$(qs "SELECT count(*) FILTER (WHERE converted_at IS NOT NULL) || '/' || count(*) FROM abtest.assignments")" \
   "$(qp "$DB" "SELECT count(*) FILTER (WHERE converted_at IS NOT NULL) || '/' || count(*) FROM abtest.assignments")" \
   "streaming: converted_at updates arrived (converted/all assignments)"
is "$(qs "SELECT content::text FROM abtest.element_variants WHERE id = 'a1200000-0000-4000-8000-000000000012'")" \
   '{"t": "Hello!"}' "streaming: the content edit arrived"
is "$(qs "SELECT count(*) FROM abtest.element_variants v JOIN abtest.variant_totals t ON t.variant_id = v.id
           WHERE (v.total_allocations, v.total_conversions) IS DISTINCT FROM (t.total_allocations, t.total_conversions)
              OR v.total_allocations = 0")" "0" \
   "streaming: settled counters (abt_settle_counters, pausing B) arrived in element_variants"

# ------------------------------------------------------------ unpublished
pub_unpub=$(count_unpublished qp "$DB")
diag "publisher's unpublished tables: $pub_unpub"
is "$(count_unpublished qs)" \
   "experiment_timeline=0 variant_timeline=0 leads=0 realtime_publications=0" \
   "unpublished: the subscriber's experiment_timeline, variant_timeline, leads, realtime_publications stay empty"
case $pub_unpub in
    *experiment_timeline=0* | *variant_timeline=0* | *leads=0*)
        not_ok "unpublished: ... although the publisher's are not (got $pub_unpub)" ;;
    *) ok "unpublished: ... although the publisher's are not" ;;
esac
is "$(qs "SELECT count(*) FROM public.app_notes")" "0" \
   "unpublished: the application table is not replicated"
is "$(qs "SELECT string_agg(id || '=' || config_version, ' ' ORDER BY id) FROM abtest.experiments")" \
   "$SUB_VERSIONS" \
   "triggers: the subscriber's config_version is unchanged (variant_config_changed did not fire for the replicated content edit)"
is "$(qs "SELECT status FROM abtest.experiments WHERE id = '$EXP_B'")" "active" \
   "unpublished: the publisher's status change of experiments is not replicated"
is "$(qs "$(sig_sql experiment_elements)")" "$SUB_ELEMENTS" \
   "unpublished: experiment_elements unchanged on the subscriber"

# ------------------------------------------------------------ deletes
runp "$DB" >/dev/null <<SQL || bail "could not delete on the publisher"
INSERT INTO abtest.element_variants (id, element_id, name, weight, position)
VALUES ('a1300000-0000-4000-8000-000000000013', 'a1000000-0000-4000-8000-000000000001', 'italic', 0, 2);
-- a new element (not published) with a variant (published)
INSERT INTO abtest.experiment_elements (id, experiment_id, name, position)
VALUES ('a3000000-0000-4000-8000-000000000003', '$EXP_A', 'footer', 2);
INSERT INTO abtest.element_variants (id, element_id, name, is_control)
VALUES ('a3100000-0000-4000-8000-000000000031', 'a3000000-0000-4000-8000-000000000003', 'small', true);
DELETE FROM abtest.experiments WHERE id = '$EXP_B';
SQL
PUB_SIGS=$(pub_sigs)
wait_for "deletes: after DELETE of experiment B the subscriber again has exactly the publisher's rows" \
    "$PUB_SIGS" sub_sigs
is "$(qs "SELECT (SELECT count(*) FROM abtest.assignments WHERE experiment_id = '$EXP_B') || ' '
              || (SELECT count(*) FROM abtest.conversions WHERE experiment_id = '$EXP_B') || ' '
              || (SELECT count(*) FROM abtest.variant_counters WHERE experiment_id = '$EXP_B') || ' '
              || (SELECT count(*) FROM abtest.element_variants WHERE element_id = 'b1000000-0000-4000-8000-000000000001')")" \
   "0 0 0 0" "deletes: B's assignments, conversions, counters and variants are gone on the subscriber"
is "$(qs "SELECT string_agg(id || '=' || config_version, ' ' ORDER BY id) FROM abtest.experiments")" \
   "$SUB_VERSIONS" \
   "triggers: config_version still unchanged after replicated variant inserts and deletes (variant_changed did not fire)"
is "$(qs "SELECT count(*) FROM abtest.experiments WHERE id = '$EXP_B'")" "1" \
   "unpublished: the experiment row itself is not deleted on the subscriber"
is "$(qs "SELECT string_agg(v.name, ',') FROM abtest.element_variants v
           WHERE NOT EXISTS (SELECT 1 FROM abtest.experiment_elements e WHERE e.id = v.element_id)")" "small" \
   "foreign keys: a variant of an element the subscriber lacks (elements are not published) is applied anyway"
is "$(qs "SELECT count(*) FROM pg_stat_subscription WHERE subname = '$SUB' AND pid IS NOT NULL")" "1" \
   "the subscription's apply worker is running"
is "$(qs "SELECT apply_error_count || '/' || sync_error_count FROM pg_stat_subscription_stats WHERE subname = '$SUB'")" \
   "0/0" "no apply or sync errors on the subscriber"

# Positive control: a local change on the subscriber does fire the trigger.
before=$(qs "SELECT config_version FROM abtest.experiments WHERE id = '$EXP_A'")
qs "UPDATE abtest.element_variants SET content = '{\"t\": \"local\"}' WHERE id = 'a1100000-0000-4000-8000-000000000011'" \
    >/dev/null
after=$(qs "SELECT config_version FROM abtest.experiments WHERE id = '$EXP_A'")
if [ -n "$before" ] && [ -n "$after" ] && [ "$after" -gt "$before" ]; then
    ok "triggers: a local UPDATE on the subscriber does fire variant_config_changed ($before -> $after)"
else
    not_ok "triggers: a local UPDATE on the subscriber does fire variant_config_changed ($before -> $after)"
fi
diag "apply workers run with session_replication_role = replica: the extension's" \
     "ordinary (ENABLE) triggers and the foreign keys do not fire for replicated rows."

finish
