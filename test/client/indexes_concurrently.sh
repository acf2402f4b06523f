#!/usr/bin/env bash
# test/client/indexes_concurrently.sh -- sql/abtest-indexes-concurrently.sql
# builds exactly the indexes CREATE EXTENSION abtest builds.
#
# The index definitions live twice: in the install script (plain CREATE
# INDEX, released and never edited) and in the operator script (CREATE
# INDEX CONCURRENTLY).  On a fresh database this test
#  - checks that the operator script names every index the installation
#    creates apart from constraints' indexes and the two that are not the
#    seed plan's (NOT_SEED below), and no other;
#  - records pg_get_indexdef of each, drops them all, runs the operator
#    script with psql as documented, and checks that the same definitions
#    come back, valid, and that the script reports no invalid index;
#  - runs the script again: it succeeds, skips every index, and the indexes
#    are the same ones (same OIDs).
set -uo pipefail

: "${PGHOST:?}" "${PGPORT:?}" "${ABT_TMP:?}" "${ABT_BIN:?}"
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
TAG=$$_$RANDOM
WORK=$ABT_TMP/indexes_concurrently.$TAG
{ mkdir -p "$WORK" && chmod 755 "$WORK"; } || { echo "Bail out! cannot create $WORK"; exit 1; }
. test/client/lib/tap.sh

SCRIPT=sql/abtest-indexes-concurrently.sql
# Indexes of the installation the operator script does not build: not the
# seed plan's (the unique partial index that allows one control per
# element, and the conversions' lookup index; the settler's partial
# indexes of the rows not folded yet, small by design; the timeline's index
# of converted assignments; abt_track's probe of the goals with a CUPED
# lookback, over a small configuration table).
NOT_SEED="'element_variants_one_control', 'conversions_visitor', 'variant_counters_unsettled',
          'assignments_converted',
          'experiment_timeline_unsettled', 'variant_timeline_unsettled', 'goal_counters_unsettled',
          'goals_cuped_goal'"
DB=abt_idxconc_$TAG
cleanup() {
    q postgres "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
    rm -rf -- "$WORK"
}
trap cleanup EXIT
trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM

# run_script: the operator script through psql, as its header says to run it
run_script() {
    as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER=postgres \
        "$ABT_BIN/psql" -X -q -At -d "$DB" -f - <"$SCRIPT"
}
# The installation's indexes in schema abtest that no constraint owns
seed_indexes_sql="
    SELECT c.oid, c.relname FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid
     WHERE c.relnamespace = 'abtest'::regnamespace
       AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = c.oid)
       AND c.relname NOT IN ($NOT_SEED)"
defs() {
    q "$DB" "SELECT s.relname || ': ' || pg_get_indexdef(s.oid) || ' valid=' || i.indisvalid
                    || ' ready=' || i.indisready
               FROM ($seed_indexes_sql) s JOIN pg_index i ON i.indexrelid = s.oid
              ORDER BY s.relname"
}
oids() { q "$DB" "SELECT string_agg(s.relname || '=' || s.oid, ' ' ORDER BY s.relname) FROM ($seed_indexes_sql) s"; }

q postgres "CREATE DATABASE $DB" >/dev/null || bail "CREATE DATABASE $DB"
q "$DB" "SET abtest.publication = ''; CREATE EXTENSION abtest" >/dev/null || bail "CREATE EXTENSION abtest"

script_names=$(grep -oE 'CREATE INDEX CONCURRENTLY IF NOT EXISTS [a-z_0-9]+' "$SCRIPT" \
               | awk '{print $NF}' | LC_ALL=C sort | tr '\n' ' ')
installed_names=$(q "$DB" "SELECT relname FROM ($seed_indexes_sql) s ORDER BY relname::text COLLATE \"C\"" | tr '\n' ' ')
is "$(wc -w <<<"$script_names")" "6" "the operator script builds the seed plan's six indexes"
is "$script_names" "$installed_names" \
   "it names exactly the installation's indexes but constraints' and NOT_SEED's"

defs >"$WORK/installed" || bail "could not read the index definitions"
is "$(grep -c ' valid=true ready=true$' "$WORK/installed")" "6" "CREATE EXTENSION built the six, valid"
drops=$(q "$DB" "SELECT string_agg(format('DROP INDEX abtest.%I;', relname), ' ') FROM ($seed_indexes_sql) s")
q "$DB" "$drops" >/dev/null || bail "could not drop the indexes"
is "$(oids)" "" "the seed plan's indexes are dropped"

out=$(run_script 2>&1)
is "$?" "0" "the operator script runs (psql -f, outside a transaction block)"
is "$out" "" "it reports no invalid index"
defs >"$WORK/rebuilt"
if cmp -s "$WORK/installed" "$WORK/rebuilt"; then
    ok "it rebuilt every index with the definition CREATE EXTENSION gives it"
else
    not_ok "it rebuilt every index with the definition CREATE EXTENSION gives it"
    diff "$WORK/installed" "$WORK/rebuilt" | sed 's/^/#   /'
fi

before=$(oids)
out=$(run_script 2>&1)
is "$?" "0" "run again on existing indexes it succeeds"
is "$(grep -c 'already exists, skipping' <<<"$out")" "6" "and skips all six"
is "$(oids)" "$before" "and the indexes are the same ones (a no-op)"
finish
