#!/usr/bin/env bash
# test/client/realtime_wal2json.sh -- abtest's changes as Supabase Realtime
# reads them: a wal2json logical slot, read with the options of Supabase
# Realtime's realtime.list_changes().
#
# realtime.list_changes(publication, slot, ...) calls
#   pg_logical_slot_get_changes(slot, NULL, max_changes,
#       'include-pk', 'true', 'include-transaction', 'false',
#       'include-timestamp', 'true', 'include-type-oids', 'true',
#       'format-version', '2', 'actions', <insert,update,delete as published>,
#       'add-tables', <the publication's tables from pg_publication_tables,
#                      schema.table, with \ , . and whitespace escaped by \>)
# and reads nothing when the publication has no tables. This test builds
# the actions and add-tables arguments the same way (the LIST_CHANGES query
# below) and checks, in a database where supabase_realtime existed before
# CREATE EXTENSION abtest with an application table in it (app_pub):
#   - the stream holds changes of exactly the published tables: assignments,
#     conversions, variant_counters, element_variants, app_pub; nothing of
#     experiment_timeline, variant_timeline, experiments, leads or the
#     unpublished application table app_notes, although the same slot
#     peeked without add-tables shows that all of those changed;
#   - abt_assign (single, from two sessions, and abt_assign_bulk) gives one
#     assignments insert per new visitor and none for returning visitors;
#     abt_convert one conversions insert per event and one assignments update
#     (converted_at) per first conversion; variant_counters inserts (a new
#     backend slot) and updates; element_variants updates from
#     abt_settle_counters and a content edit; deleting an experiment gives
#     deletes of its rows in the four tables;
#   - every change carries "pk" (the table's primary key columns with types),
#     "timestamp" and type oids; updates and deletes carry "identity" = the
#     primary key columns only (replica identity default), with the row's
#     key values;
#   - replaying the stream (last change per primary key) gives exactly the
#     live counters and the converted_at of every assignment;
#   - with ALTER TABLE abtest.assignments REPLICA IDENTITY FULL an update's
#     identity carries the whole old row (old converted_at NULL), and costs
#     more WAL (measured, printed); the same for variant_counters on the
#     new-visitor path (old allocations = new - 1; WAL printed);
#   - DROP EXTENSION abtest leaves supabase_realtime with only app_pub (and
#     the stream keeps working), CREATE EXTENSION abtest adds the four tables
#     back;
#   - a plain dump restored into a database where supabase_realtime already
#     exists (every Supabase project): the realtime tables are published (the
#     restored abtest.realtime_publications row adds them; the dump's own
#     CREATE PUBLICATION fails, as for any existing publication), and
#     abt_realtime_publish() is idempotent there.
# The slot is dropped on exit.
#
# This PostgreSQL build only loads logical decoding output plugins listed in
# the superuser setting output_plugin_libraries (scripts/lib.sh adds wal2json
# to the throwaway server's postgresql.conf). If the server's value does not
# list wal2json, the sessions that use the slot set it themselves (PGOPTIONS)
# and the test says so.
set -uo pipefail

: "${PGHOST:?}" "${PGPORT:?}" "${ABT_TMP:?}" "${ABT_BIN:?}"
export PGUSER=${PGUSER:-postgres}

TAG=$$_$RANDOM
DB=abt_w2j_$TAG
SLOT=abt_w2j_$TAG
PUB=supabase_realtime
WORK=$ABT_TMP/realtime_w2j.$TAG
EXP_A=a0000000-0000-4000-8000-0000000000a1     # active, 2 elements
EXP_B=b0000000-0000-4000-8000-0000000000b2     # active, deleted later

. "$(dirname "${BASH_SOURCE[0]}")/lib/tap.sh"

PGOPTS=""
as_pg() { (cd "$WORK" && runuser -u postgres -- env PGHOST="$PGHOST" PGPORT="$PGPORT" \
    PGUSER=postgres PGTZ=UTC LC_ALL=C.UTF-8 PGOPTIONS="$PGOPTS" "$@"); }
q() { as_pg "$ABT_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
run() { as_pg "$ABT_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$1"; }

cleanup() {
    local _
    for _ in 1 2 3; do
        q postgres "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots
                     WHERE slot_name = '$SLOT' AND active_pid IS NOT NULL" >/dev/null 2>&1
        q postgres "SELECT count(pg_drop_replication_slot(slot_name)) FROM pg_replication_slots
                     WHERE slot_name = '$SLOT' AND NOT active" >/dev/null 2>&1
        [ "$(q postgres "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$SLOT'" 2>/dev/null)" = 0 ] \
            && break
        sleep 1
    done
    q postgres "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
    q postgres "DROP DATABASE IF EXISTS ${DB}_r WITH (FORCE)" >/dev/null 2>&1
    rm -rf -- "$WORK"
}
trap cleanup EXIT
trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM

{ mkdir -p "$WORK" && chown postgres: "$WORK"; } || bail "cannot create $WORK"

# ------------------------------------------------------------ wal2json allowed?
[ -f "$(as_pg "$ABT_BIN/pg_config" --pkglibdir)/wal2json.so" ] \
    || bail "wal2json is not installed (Debian package postgresql-15-wal2json)"
allowed=$(q postgres "SELECT coalesce(current_setting('output_plugin_libraries', true), '<none>')") \
    || bail "cannot connect"
case $allowed in
    '<none>') diag "stock PostgreSQL build: no output_plugin_libraries setting" ;;
    *wal2json*) diag "output_plugin_libraries = '$allowed'" ;;
    *)  diag "NOTE: the server's output_plugin_libraries ('$allowed') does not list wal2json" \
             "(scripts/lib.sh should have added it); this test's sessions set it themselves"
        PGOPTS="-c output_plugin_libraries=${allowed// /},wal2json" ;;
esac

# ------------------------------------------------------------ database
q postgres "CREATE DATABASE $DB" >/dev/null || bail "CREATE DATABASE $DB"
run "$DB" >/dev/null <<SQL || bail "could not set up $DB"
-- As on Supabase, the publication exists before the extension (there it is
-- empty; here it already has an application table).
CREATE TABLE public.app_pub (id int PRIMARY KEY, body text);
CREATE TABLE public.app_notes (id int PRIMARY KEY, body text);     -- not published
CREATE PUBLICATION $PUB FOR TABLE public.app_pub;
CREATE EXTENSION abtest;
INSERT INTO abtest.experiments (id, name) VALUES ('$EXP_A', 'landing'), ('$EXP_B', 'pricing');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, selector, position) VALUES
  ('a1000000-0000-4000-8000-000000000001', '$EXP_A', 'headline', 'h1', 0),
  ('a2000000-0000-4000-8000-000000000002', '$EXP_A', 'button', '#cta', 1),
  ('b1000000-0000-4000-8000-000000000001', '$EXP_B', 'price', NULL, 0);
INSERT INTO abtest.element_variants (id, element_id, name, content, weight, is_control, position) VALUES
  ('a1100000-0000-4000-8000-000000000011', 'a1000000-0000-4000-8000-000000000001', 'plain', '{"t": "Hi"}', 1, true, 0),
  ('a1200000-0000-4000-8000-000000000012', 'a1000000-0000-4000-8000-000000000001', 'bold', '{"t": "HI"}', 1, false, 1),
  ('a2100000-0000-4000-8000-000000000021', 'a2000000-0000-4000-8000-000000000002', 'blue', '{"c": "#00f"}', 1, true, 0),
  ('a2200000-0000-4000-8000-000000000022', 'a2000000-0000-4000-8000-000000000002', 'green', '{"c": "#0f0"}', 1, false, 1),
  ('b1100000-0000-4000-8000-000000000011', 'b1000000-0000-4000-8000-000000000001', 'low', '{"p": 9}', 1, true, 0),
  ('b1200000-0000-4000-8000-000000000012', 'b1000000-0000-4000-8000-000000000001', 'high', '{"p": 19}', 1, false, 1);
UPDATE abtest.experiments SET status = 'active';
-- where the test keeps what it read (unlogged: never decoded itself)
CREATE UNLOGGED TABLE public.w2j (n bigserial PRIMARY KEY, phase text NOT NULL, data jsonb NOT NULL);
SQL
PUB_TABLES="abtest.assignments,abtest.conversions,abtest.element_variants,abtest.variant_counters,public.app_pub"
is "$(q "$DB" "SELECT string_agg(schemaname || '.' || tablename, ',' ORDER BY schemaname, tablename)
                FROM pg_publication_tables WHERE pubname = '$PUB'")" "$PUB_TABLES" \
   "CREATE EXTENSION added the four realtime tables to the existing $PUB"

if q "$DB" "SELECT 'ok' FROM pg_create_logical_replication_slot('$SLOT', 'wal2json')" >"$WORK/err" 2>&1; then
    ok "pg_create_logical_replication_slot('$SLOT', 'wal2json')"
else
    not_ok "pg_create_logical_replication_slot('$SLOT', 'wal2json')"
    sed 's/^/#   /' "$WORK/err"
    bail "no wal2json slot"
fi

# Supabase's realtime.list_changes(), without its RLS filtering
# (realtime.apply_rls), storing the changes in public.w2j under PHASE.
list_changes() { # PHASE
    q "$DB" "
WITH pub AS (
    SELECT concat_ws(',',
             CASE WHEN bool_or(pubinsert) THEN 'insert' ELSE NULL END,
             CASE WHEN bool_or(pubupdate) THEN 'update' ELSE NULL END,
             CASE WHEN bool_or(pubdelete) THEN 'delete' ELSE NULL END) AS w2j_actions,
           coalesce(string_agg(
               regexp_replace(ppt.schemaname, '([\\\\,.[:space:]])', '\\\\\\1', 'g') || '.' ||
               regexp_replace(ppt.tablename, '([\\\\,.[:space:]])', '\\\\\\1', 'g'), ',')
             FILTER (WHERE ppt.tablename IS NOT NULL), '') AS w2j_add_tables
      FROM pg_publication pp
      LEFT JOIN pg_publication_tables ppt ON pp.pubname = ppt.pubname
     WHERE pp.pubname = '$PUB'
     GROUP BY pp.pubname
     LIMIT 1),
w2j AS MATERIALIZED (
    SELECT x.*, pub.w2j_add_tables
      FROM pub, pg_logical_slot_get_changes('$SLOT', NULL, NULL,
                 'include-pk', 'true',
                 'include-transaction', 'false',
                 'include-timestamp', 'true',
                 'include-type-oids', 'true',
                 'format-version', '2',
                 'actions', pub.w2j_actions,
                 'add-tables', pub.w2j_add_tables) x),
ins AS (
    INSERT INTO public.w2j (phase, data)
    SELECT '$1', w2j.data::jsonb FROM w2j WHERE w2j.w2j_add_tables <> '' ORDER BY w2j.lsn
    RETURNING 1)
SELECT count(*) FROM ins"
}
# every table changed in the slot, without add-tables (peek: consumes nothing)
peek_all_tables() {
    q "$DB" "SELECT string_agg(DISTINCT (data::jsonb->>'schema') || '.' || (data::jsonb->>'table'), ',')
               FROM pg_logical_slot_peek_changes('$SLOT', NULL, NULL, 'format-version', '2')
              WHERE data::jsonb ? 'table'"
}
# "schema.table action count" lines of a phase
summary() { # PHASE
    q "$DB" "SELECT coalesce(string_agg(t || ' ' || a || ' ' || n, ', ' ORDER BY t, a), '')
               FROM (SELECT (data->>'schema') || '.' || (data->>'table') t, data->>'action' a, count(*) n
                       FROM public.w2j WHERE phase = '$1' GROUP BY 1, 2) s"
}
tables_of() { # PHASE
    q "$DB" "SELECT coalesce(string_agg(DISTINCT (data->>'schema') || '.' || (data->>'table'), ','), '')
               FROM public.w2j WHERE phase = '$1'"
}
count_of() { # PHASE TABLE ACTION
    q "$DB" "SELECT count(*) FROM public.w2j WHERE phase = '$1'
                AND (data->>'schema') || '.' || (data->>'table') = '$2' AND data->>'action' = '$3'"
}

# ------------------------------------------------------------ phase 1: writes
run "$DB" >/dev/null <<SQL || bail "could not write (session 1)"
SELECT count(abt_assign('$EXP_A', 'single-' || g)) FROM generate_series(1, 12) g;
SELECT count(*) FROM abt_assign_bulk('$EXP_A', ARRAY(SELECT 'bulk-' || g FROM generate_series(1, 60) g));
SELECT count(abt_assign('$EXP_B', 'single-' || g)) FROM generate_series(1, 15) g;
-- returning visitors: no writes
SELECT count(abt_assign('$EXP_A', 'single-' || g)) FROM generate_series(1, 12) g;
SELECT count(abt_convert('$EXP_A', 'single-' || g)) FROM generate_series(1, 12, 2) g;
SELECT count(abt_convert('$EXP_A', 'bulk-' || g, 'purchase', g)) FROM generate_series(1, 60, 3) g;
SELECT count(abt_convert('$EXP_A', 'bulk-' || g, 'purchase', 2)) FROM generate_series(1, 60, 6) g;
SELECT count(abt_convert('$EXP_B', 'single-' || g)) FROM generate_series(1, 15, 3) g;
SELECT count(abt_convert('$EXP_A', 'nobody-' || g)) FROM generate_series(1, 5) g;
INSERT INTO abtest.leads (payload, experiment_id, user_id) VALUES ('{"email": "a@example.com"}', '$EXP_A', 'single-1');
INSERT INTO public.app_notes VALUES (1, 'hello'), (2, 'world');
UPDATE public.app_notes SET body = 'there' WHERE id = 2;
INSERT INTO public.app_pub VALUES (1, 'hello'), (2, 'world');
UPDATE public.app_pub SET body = 'there' WHERE id = 2;
DELETE FROM public.app_pub WHERE id = 1;
SQL
run "$DB" >/dev/null <<SQL || bail "could not write (session 2)"
SELECT count(abt_assign('$EXP_A', 'other-' || g)) FROM generate_series(1, 10) g;
SELECT count(abt_convert('$EXP_A', 'other-' || g)) FROM generate_series(1, 10, 4) g;
SELECT abt_settle_counters();
UPDATE abtest.element_variants SET content = '{"t": "Hello!"}' WHERE id = 'a1200000-0000-4000-8000-000000000012';
SQL
# expected numbers, from the tables (every row was written after the slot)
N_ASSIGN=$(q "$DB" "SELECT count(*) FROM abtest.assignments")
N_CONVERTED=$(q "$DB" "SELECT count(*) FROM abtest.assignments WHERE converted_at IS NOT NULL")
N_CONV=$(q "$DB" "SELECT count(*) FROM abtest.conversions")
N_COUNTERS=$(q "$DB" "SELECT count(*) FROM abtest.variant_counters")
N_SETTLED=$(q "$DB" "SELECT count(*) FROM abtest.element_variants WHERE total_allocations > 0")
diag "written: $N_ASSIGN assignments ($N_CONVERTED converted), $N_CONV conversion events, $N_COUNTERS counter rows"
is "$N_ASSIGN/$N_CONV" "97/44" "the writes produced the assignments and conversion events expected"

raw=$(peek_all_tables)
for t in abtest.experiment_timeline abtest.variant_timeline abtest.experiments abtest.leads public.app_notes; do
    case ",$raw," in
        *",$t,"*) ok "raw slot (no add-tables): $t changed too" ;;
        *) not_ok "raw slot (no add-tables): $t changed too (tables: $raw)" ;;
    esac
done

n=$(list_changes p1)
diag "list_changes read $n changes: $(summary p1)"
is "$(tables_of p1)" "$PUB_TABLES" \
   "list_changes: changes of exactly the published tables (none of timelines, experiments, leads, app_notes)"
is "$(count_of p1 abtest.assignments I)" "$N_ASSIGN" \
   "assignments: one insert per new visitor (single, bulk, two sessions), none for returning visitors"
is "$(count_of p1 abtest.assignments U)" "$N_CONVERTED" \
   "assignments: one update (converted_at) per first conversion"
is "$(count_of p1 abtest.conversions I)" "$N_CONV" \
   "conversions: one insert per recorded conversion event (none for unassigned visitors)"
# abt_settle_counters folds the slot rows (1.1): it deletes them and inserts
# or updates the settled row (slot 0) of each variant
N_COUNTER_DELETES=$(count_of p1 abtest.variant_counters D)
is "$(count_of p1 abtest.variant_counters I)" "$(( ${N_COUNTER_DELETES:-0} + N_COUNTERS ))" \
   "variant_counters: one insert per counter row (per backend slot and variant, and slot 0), every one still there or deleted by the fold"
check "variant_counters: the fold's deletes of slot rows ($N_COUNTER_DELETES)" [ "${N_COUNTER_DELETES:-0}" -gt 0 ]
got=$(count_of p1 abtest.variant_counters U)
if [ "${got:-0}" -gt 0 ]; then ok "variant_counters: updates ($got)"; else not_ok "variant_counters: updates (got $got)"; fi
is "$(count_of p1 abtest.element_variants U)" "$((N_SETTLED + 1))" \
   "element_variants: an update per settled variant (abt_settle_counters) plus the content edit"
# wal2json writes a jsonb column's value as a JSON string
is "$(q "$DB" "SELECT (c->>'value')::jsonb = '{\"t\": \"Hello!\"}' AND jsonb_typeof(c->'value') = 'string'
                 FROM (SELECT data FROM public.w2j WHERE phase = 'p1' AND data->>'table' = 'element_variants'
                        ORDER BY n DESC LIMIT 1) e, jsonb_array_elements(e.data->'columns') c
                WHERE c->>'name' = 'content'")" "t" \
   "element_variants: the content edit carries the new content (jsonb as a JSON string)"
is "$(summary p1 | grep -o 'public.app_pub [A-Z] [0-9]*' | tr '\n' ' ')" \
   "public.app_pub D 1 public.app_pub I 2 public.app_pub U 1 " \
   "the application table in the publication: its inserts, update and delete"

# pk / identity / timestamp / type oids on every change
PK_CHECK="
WITH pk AS (
    SELECT n.nspname || '.' || c.relname AS tbl,
           jsonb_agg(jsonb_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod),
                                        'typeoid', a.atttypid::int) ORDER BY a.attnum) AS cols
      FROM pg_index i
      JOIN pg_class c ON c.oid = i.indrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
     WHERE i.indisprimary AND n.nspname IN ('abtest', 'public')
     GROUP BY 1),
ev AS (
    SELECT w.n, w.data, pk.cols,
           (w.data->>'schema') || '.' || (w.data->>'table') AS tbl,
           (SELECT jsonb_agg(jsonb_build_object('name', x->>'name', 'type', x->>'type', 'typeoid', (x->>'typeoid')::int))
              FROM jsonb_array_elements(w.data->'identity') x) AS ident_cols,
           (SELECT jsonb_agg(x->'value') FROM jsonb_array_elements(w.data->'identity') x) AS ident_vals,
           (SELECT jsonb_agg(c->'value' ORDER BY o)
              FROM jsonb_array_elements(w.data->'columns') WITH ORDINALITY c(c, o)
             WHERE c->>'name' IN (SELECT p->>'name' FROM jsonb_array_elements(pk.cols) p)) AS key_vals
      FROM public.w2j w LEFT JOIN pk ON pk.tbl = (w.data->>'schema') || '.' || (w.data->>'table')
     WHERE w.phase = :'phase')"
is "$(as_pg "$ABT_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -v phase=p1 -d "$DB" <<SQL 2>&1
$PK_CHECK
SELECT count(*) FILTER (WHERE data->'pk' IS DISTINCT FROM cols) || ' '
    || count(*) FILTER (WHERE NOT data ? 'timestamp' OR (data->>'timestamp')::timestamptz IS NULL) || ' '
    || count(*) FILTER (WHERE EXISTS (SELECT 1 FROM jsonb_array_elements(data->'columns') c
                                      WHERE NOT c ? 'typeoid'))
  FROM ev
SQL
)" "0 0 0" \
   "every change carries pk = the table's primary key columns (names, types, oids), a timestamp, type oids"
is "$(as_pg "$ABT_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -v phase=p1 -d "$DB" <<SQL 2>&1
$PK_CHECK
SELECT count(*) FILTER (WHERE data->>'action' IN ('U', 'D') AND ident_cols IS DISTINCT FROM cols) || ' '
    || count(*) FILTER (WHERE data->>'action' = 'U' AND ident_vals IS DISTINCT FROM key_vals) || ' '
    || count(*) FILTER (WHERE data->>'action' = 'I' AND data ? 'identity') || ' '
    || count(*) FILTER (WHERE data->>'action' IN ('U', 'D'))
  FROM ev
SQL
)" "0 0 0 $(q "$DB" "SELECT count(*) FROM public.w2j WHERE phase = 'p1' AND data->>'action' IN ('U', 'D')")" \
   "updates and deletes carry identity = the primary key columns only, with the row's key values"

# Replaying the stream gives the live state.
REPLAY="
WITH last AS (
    SELECT DISTINCT ON (tbl, key) tbl, key, action, cols
      FROM (SELECT w.n, w.data->>'table' AS tbl, w.data->>'action' AS action,
                   (SELECT jsonb_object_agg(c->>'name', c->'value') FROM jsonb_array_elements(w.data->'columns') c) AS cols,
                   (SELECT jsonb_agg(x->'value') FROM jsonb_array_elements(coalesce(w.data->'identity',
                           (SELECT jsonb_agg(c) FROM jsonb_array_elements(w.data->'columns') c
                             WHERE c->>'name' IN (SELECT p->>'name' FROM jsonb_array_elements(w.data->'pk') p)))) x) AS key
              FROM public.w2j w WHERE w.data->>'schema' = 'abtest') e
     ORDER BY tbl, key, n DESC)"
is "$(q "$DB" "$REPLAY
SELECT coalesce(string_agg(format('%s %s', v.variant_id, v.total), '; '), '')
  FROM (SELECT (cols->>'variant_id')::uuid AS variant_id,
               sum((cols->>'allocations')::bigint) || '/' || sum((cols->>'conversions')::bigint) AS total
          FROM last WHERE tbl = 'variant_counters' AND action <> 'D' GROUP BY 1) r
  FULL JOIN (SELECT variant_id, total_allocations || '/' || total_conversions AS total
               FROM abtest.variant_totals WHERE total_allocations > 0) v USING (variant_id)
 WHERE r.total IS DISTINCT FROM v.total")" "" \
   "replaying variant_counters changes gives exactly abtest.variant_totals"
is "$(q "$DB" "$REPLAY
SELECT count(*) FILTER (WHERE cols->>'converted_at' IS NOT NULL) || '/' || count(*)
  FROM last WHERE tbl = 'assignments' AND action <> 'D'")" "$N_CONVERTED/$N_ASSIGN" \
   "replaying assignments changes gives every assignment and its converted_at"

# ------------------------------------------------------------ phase 2: delete
N_B=$(q "$DB" "SELECT (SELECT count(*) FROM abtest.assignments WHERE experiment_id = '$EXP_B') || ' '
                 || (SELECT count(*) FROM abtest.conversions WHERE experiment_id = '$EXP_B') || ' '
                 || (SELECT count(*) FROM abtest.variant_counters WHERE experiment_id = '$EXP_B') || ' 2'")
q "$DB" "DELETE FROM abtest.experiments WHERE id = '$EXP_B'" >/dev/null || bail "DELETE experiment B"
n=$(list_changes p2)
diag "after DELETE of experiment B, list_changes read $n changes: $(summary p2)"
is "$(count_of p2 abtest.assignments D) $(count_of p2 abtest.conversions D) $(count_of p2 abtest.variant_counters D) $(count_of p2 abtest.element_variants D)" \
   "$N_B" "DELETE of an experiment: deletes of its assignments, conversions, counters and variants"
is "$(tables_of p2)" "abtest.assignments,abtest.conversions,abtest.element_variants,abtest.variant_counters" \
   "DELETE of an experiment: nothing from experiments, experiment_elements or the timelines"
is "$(as_pg "$ABT_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -v phase=p2 -d "$DB" <<SQL 2>&1
$PK_CHECK
SELECT count(*) FILTER (WHERE ident_cols IS DISTINCT FROM cols OR data->'pk' IS DISTINCT FROM cols) FROM ev
SQL
)" "0" "deletes carry pk and identity = the primary key columns only"

# ------------------------------------------------------------ replica identity full
# wal_of SQL: bytes of WAL records (full-page images not counted, so that a
# checkpoint in between does not matter) written while SQL ran, as
# pg_waldump --stats adds them up; "?" when pg_waldump cannot tell.
wal_of() {
    local out l0 l1 rec=""
    out=$(run "$DB" <<SQL
SELECT pg_current_wal_insert_lsn();
$1;
SELECT pg_current_wal_insert_lsn();
SQL
) || return 1
    l0=$(printf '%s\n' "$out" | head -n 1)
    l1=$(printf '%s\n' "$out" | tail -n 1)
    if [ -n "${PGDATA:-}" ]; then
        rec=$(as_pg "$ABT_BIN/pg_waldump" --stats -p "$PGDATA/pg_wal" -s "$l0" -e "$l1" 2>/dev/null \
              | awk '$1 == "Total" {print $3}')
    fi
    printf '%s\n' "${rec:-?}"
}
# wal_of_xact SQL: the same, for SQL run as one transaction, counting only
# that transaction's records (pg_waldump -x): the settler, autovacuum or a
# checkpoint writing in the same window do not count.
wal_of_xact() {
    local out l0 l1 xid rec=""
    out=$(run "$DB" <<SQL
SELECT pg_current_wal_insert_lsn();
BEGIN;
SELECT pg_current_xact_id();
$1;
COMMIT;
SELECT pg_current_wal_insert_lsn();
SQL
) || return 1
    l0=$(printf '%s\n' "$out" | sed -n 1p)
    xid=$(printf '%s\n' "$out" | sed -n 2p)
    l1=$(printf '%s\n' "$out" | tail -n 1)
    if [ -n "${PGDATA:-}" ]; then
        rec=$(as_pg "$ABT_BIN/pg_waldump" --stats -x "$xid" -p "$PGDATA/pg_wal" -s "$l0" -e "$l1" 2>/dev/null \
              | awk '$1 == "Total" {print $3}')
    fi
    printf '%s\n' "${rec:-?}"
}
wal_default=$(wal_of_xact "SELECT count(abt_convert('$EXP_A', 'bulk-' || g)) FROM generate_series(2, 60, 3) g")
q "$DB" "ALTER TABLE abtest.assignments REPLICA IDENTITY FULL" >/dev/null || bail "REPLICA IDENTITY FULL"
wal_full=$(wal_of_xact "SELECT count(abt_convert('$EXP_A', 'bulk-' || g)) FROM generate_series(3, 60, 3) g")
n=$(list_changes p3)
got=$(q "$DB" "SELECT string_agg(x->>'name', ',' ORDER BY o) || ' converted_at=' || coalesce(
                   (SELECT y->>'value' FROM jsonb_array_elements(data->'identity') y WHERE y->>'name' = 'converted_at'), 'null')
                 FROM (SELECT data FROM public.w2j WHERE phase = 'p3' AND data->>'table' = 'assignments'
                          AND data->>'action' = 'U' ORDER BY n DESC LIMIT 1) e,
                      jsonb_array_elements(e.data->'identity') WITH ORDINALITY i(x, o) GROUP BY data")
is "$got" "experiment_id,user_id,variants,assigned_at,converted_at converted_at=null" \
   "REPLICA IDENTITY FULL: an update's identity is the whole old row (old converted_at NULL)"
is "$(count_of p3 abtest.assignments U)" "40" \
   "REPLICA IDENTITY FULL: one assignments update per first conversion (20 + 20)"
diag "WAL records of 20 first conversions: $wal_default bytes with replica identity default," \
     "$wal_full bytes with FULL on abtest.assignments (pg_waldump --stats, full-page images not counted)"
case $wal_default$wal_full in
    *[!0-9]*) ok "REPLICA IDENTITY FULL writes more WAL for the same conversions # SKIP pg_waldump could not read the WAL" ;;
    *) if [ "$wal_full" -gt "$wal_default" ]; then
           ok "REPLICA IDENTITY FULL writes more WAL for the same conversions"
       else
           not_ok "REPLICA IDENTITY FULL writes more WAL for the same conversions ($wal_full vs $wal_default)"
       fi ;;
esac
q "$DB" "ALTER TABLE abtest.assignments REPLICA IDENTITY DEFAULT" >/dev/null

# The same for the counters, on the new-visitor path: 50 new visitors, one
# transaction each (a psql script, autocommit), default then FULL.
NV_SQL=$(for g in $(seq 1 50); do echo "SELECT abt_assign('$EXP_A', 'wal-@-$g');"; done)
wal_nv_default=$(wal_of "${NV_SQL//@/d}")
q "$DB" "ALTER TABLE abtest.variant_counters REPLICA IDENTITY FULL" >/dev/null || bail "REPLICA IDENTITY FULL"
wal_nv_full=$(wal_of "${NV_SQL//@/f}")
q "$DB" "ALTER TABLE abtest.variant_counters REPLICA IDENTITY DEFAULT" >/dev/null
diag "WAL records of 50 new visitors (abt_assign, one transaction each): $wal_nv_default bytes with replica identity default," \
     "$wal_nv_full bytes with FULL on abtest.variant_counters (pg_waldump --stats, full-page images not counted)"
n=$(list_changes p3b)
got=$(q "$DB" "SELECT count(*) || ' ' || count(*) FILTER (WHERE old_a = new_a - 1)
                 FROM (SELECT (SELECT (y->>'value')::bigint FROM jsonb_array_elements(data->'identity') y
                                WHERE y->>'name' = 'allocations') AS old_a,
                              (SELECT (y->>'value')::bigint FROM jsonb_array_elements(data->'columns') y
                                WHERE y->>'name' = 'allocations') AS new_a
                         FROM public.w2j WHERE phase = 'p3b' AND data->>'table' = 'variant_counters'
                          AND data->>'action' = 'U') e
                WHERE old_a IS NOT NULL")
# 50 visitors x 2 elements: an update each, except where the session's slot
# has no row yet for a variant (or a quarter hour starts between two calls):
# that call inserts it.  Whether the slot has rows from earlier phases
# depends on which backend number the session gets (15 and 18 hand them out
# differently), so up to one insert per variant (4) and a bucket's worth more.
read -r n_upd n_right <<<"$got"
case $n_upd in ''|*[!0-9]*) n_upd=0 ;; esac
if [ "$n_upd" -ge 90 ] && [ "$n_upd" -le 100 ] && [ "$n_right" = "$n_upd" ]; then got=ok; fi
case $got in
    ok) ok "REPLICA IDENTITY FULL on variant_counters: each update's identity has the old count (new - 1)" ;;
    *) not_ok "REPLICA IDENTITY FULL on variant_counters: each update's identity has the old count (new - 1) (got $got)" ;;
esac

# ------------------------------------------------------------ DROP / CREATE EXTENSION
q "$DB" "DROP EXTENSION abtest" >/dev/null || bail "DROP EXTENSION abtest"
is "$(q "$DB" "SELECT p.pubname || ' all=' || p.puballtables || ' tables=' || coalesce(
                   (SELECT string_agg(schemaname || '.' || tablename, ',' ORDER BY schemaname, tablename)
                      FROM pg_publication_tables t WHERE t.pubname = p.pubname), '')
                 FROM pg_publication p WHERE p.pubname = '$PUB'")" \
   "$PUB all=false tables=public.app_pub" \
   "DROP EXTENSION abtest: $PUB remains, with the application table and without the abtest tables"
q "$DB" "INSERT INTO public.app_pub VALUES (3, 'after drop')" >/dev/null
n=$(list_changes p4)
is "$(summary p4)" "public.app_pub I 1" \
   "DROP EXTENSION abtest: the stream goes on (no row changes for the dropped tables)"
q "$DB" "CREATE EXTENSION abtest" >/dev/null || bail "CREATE EXTENSION abtest (again)"
is "$(q "$DB" "SELECT string_agg(schemaname || '.' || tablename, ',' ORDER BY schemaname, tablename)
                FROM pg_publication_tables WHERE pubname = '$PUB'")" "$PUB_TABLES" \
   "CREATE EXTENSION abtest again: the four tables are back in $PUB"

# ------------------------------------------------------------ restore into Supabase
# Every Supabase project has supabase_realtime before anything is restored
# into it. The dump's CREATE PUBLICATION then fails (pg_dump's behaviour for
# any existing publication); the restored row of abtest.realtime_publications
# puts the realtime tables into the existing one.
DB2=${DB}_r
as_pg "$ABT_BIN/pg_dump" -d "$DB" -f "$WORK/dump.sql" 2>"$WORK/err" || { cat "$WORK/err"; bail "pg_dump"; }
q postgres "CREATE DATABASE $DB2" >/dev/null || bail "CREATE DATABASE $DB2"
q "$DB2" "CREATE PUBLICATION $PUB" >/dev/null
as_pg "$ABT_BIN/psql" -X -q -d "$DB2" -f "$WORK/dump.sql" >"$WORK/restore.out" 2>&1
diag "restore (psql without ON_ERROR_STOP) into a database that already has $PUB, errors:" \
     "$(grep -E 'ERROR' "$WORK/restore.out" | sed 's/^/  /')"
got=$(q "$DB2" "SELECT coalesce(string_agg(schemaname || '.' || tablename, ',' ORDER BY schemaname, tablename), '')
                  FROM pg_publication_tables WHERE pubname = '$PUB'")
is "$got" "$PUB_TABLES" "restore into an existing $PUB: the realtime tables are published"
q "$DB2" "SELECT abt_realtime_publish('$PUB')" >/dev/null
is "$(q "$DB2" "SELECT string_agg(schemaname || '.' || tablename, ',' ORDER BY schemaname, tablename)
                 FROM pg_publication_tables WHERE pubname = '$PUB'")" \
   "$PUB_TABLES" \
   "restore into an existing $PUB: SELECT abt_realtime_publish('$PUB') changes nothing"

finish
