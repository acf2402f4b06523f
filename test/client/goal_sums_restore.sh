#!/usr/bin/env bash
# test/client/goal_sums_restore.sh -- the per-goal sums (abtest.visitor_goals,
# abtest.goal_counters: what abt_metric_stats reads) after pg_dump and a
# restore into a fresh database, from a database at 1.0 and from one at
# default_version (issue 24: a 1.0 dump restored into 1.1 came back with
# empty sums).
#
# pg_dump writes CREATE EXTENSION abtest without a version, so every restore
# installs default_version: the 1.0 -> 1.1 update's backfill runs on empty
# tables, before the dump's rows are loaded.  The sums are derived data,
# not dumped; the restore rebuilds them from the events once they are loaded
# (abtest.rebuild_goal_sums(), fired by the trigger goal_sums_after_restore).
#
# Databases: OLD at 1.0 and REF at default_version get the same calls
# (experiments E1 with 2 elements and E2 with 1: assignments through
# abt_assign, conversions through abt_convert with goals, values, NULL
# values, refunds, a value at the bound, events of unassigned visitors, a
# settling in between, from several sessions); OLD also has E3, whose
# values 1.0 stored beyond the bound of event values.  Both are dumped in
# custom format (restored with pg_restore) and as plain SQL (psql), each
# into a fresh database.  (pg_restore -j, which loads assignments and
# conversions at once, in either order: test/specs/goal-sums-restore-order.spec.)  Then OLD is updated in place (ALTER EXTENSION UPDATE).
# Checks, per restore:
#  - it succeeds and installs default_version; the dump carries no rows of
#    visitor_goals or goal_counters (derived data);
#  - the goal sums summed over slots, every visitor's totals and
#    abt_metric_stats of E1 and E2 equal REF's (written live, event by
#    event); the sums of every experiment equal the events' own
#    per-visitor sums (E3's values clamped to the bound, lib/counters.sh);
#  - for OLD's dumps: the sums of all three experiments equal those of OLD
#    updated in place (one definition: the update's backfill);
#  - a restored visitor's next conversion continues from its restored
#    total, and the sums still equal the events'.
set -uo pipefail

: "${PGHOST:?}" "${PGPORT:?}" "${ABT_TMP:?}" "${ABT_BIN:?}"
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
TAG=$$_$RANDOM
WORK=$ABT_TMP/goal_sums_restore.$TAG
{ mkdir -p "$WORK" && chown postgres: "$WORK"; } || { echo "Bail out! cannot create $WORK"; exit 1; }
. test/client/lib/tap.sh
. test/client/lib/counters.sh     # goal_mismatches DB: the sums against the events

as_pg() { (cd "$WORK" && runuser -u postgres -- env LC_ALL=C.UTF-8 PGTZ=UTC PGHOST="$PGHOST" \
    PGPORT="$PGPORT" PGUSER=postgres "$@"); }
# run DB: SQL on stdin, unaligned output, stop at the first error
run() { as_pg "$ABT_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$1"; }

DEFAULT=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" abtest.control)
E1=e1000000-0000-4000-8000-000000000001     # 2 elements
E2=e2000000-0000-4000-8000-000000000002     # 1 element, a value at the bound
E3=e3000000-0000-4000-8000-000000000003     # OLD only: values beyond the bound
AT="'2024-03-01 12:00:00+00'"
OLD=abt_gsr_old_$TAG
REF=abt_gsr_ref_$TAG
DBS=()
cleanup() {
    local d
    for d in "${DBS[@]}"; do
        q postgres "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1
    done
    rm -rf -- "$WORK"
}
trap cleanup EXIT
trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM

new_db() { DBS+=("$1"); q postgres "CREATE DATABASE $1" >/dev/null; }
extversion() { q "$1" "SELECT extversion FROM pg_extension WHERE extname = 'abtest'"; }

# ------------------------------------------------------------ the calls
setup_sql() { # the experiments
    cat <<SQL
INSERT INTO abtest.experiments (id, name) VALUES ('$E1', 'checkout'), ('$E2', 'pricing');
INSERT INTO abtest.experiment_elements (id, experiment_id, name) VALUES
  ('e1100000-0000-4000-8000-000000000001', '$E1', 'headline'),
  ('e1200000-0000-4000-8000-000000000002', '$E1', 'button'),
  ('e2100000-0000-4000-8000-000000000001', '$E2', 'price');
INSERT INTO abtest.element_variants (id, element_id, name, weight, is_control) VALUES
  ('e1110000-0000-4000-8000-000000000011', 'e1100000-0000-4000-8000-000000000001', 'plain', 1, true),
  ('e1120000-0000-4000-8000-000000000012', 'e1100000-0000-4000-8000-000000000001', 'bold', 1, false),
  ('e1130000-0000-4000-8000-000000000013', 'e1100000-0000-4000-8000-000000000001', 'emoji', 2, false),
  ('e1210000-0000-4000-8000-000000000021', 'e1200000-0000-4000-8000-000000000002', 'blue', 1, true),
  ('e1220000-0000-4000-8000-000000000022', 'e1200000-0000-4000-8000-000000000002', 'green', 1, false),
  ('e2110000-0000-4000-8000-000000000011', 'e2100000-0000-4000-8000-000000000001', 'low', 1, true),
  ('e2120000-0000-4000-8000-000000000012', 'e2100000-0000-4000-8000-000000000001', 'high', 1, false);
UPDATE abtest.experiments SET status = 'active' WHERE id IN ('$E1', '$E2');
SELECT count(abt_assign('$E1', 'u' || g, $AT)) FROM generate_series(1, 150) g;
SELECT count(abt_assign('$E2', 'u' || g, $AT)) FROM generate_series(1, 90) g;
SQL
}
events_sql() { # SESSION: conversions (a part of the visitors per session)
    cat <<SQL
SELECT count(abt_convert('$E1', 'u' || g, 'purchase', (g % 7) * 2.5, $AT)) FROM generate_series($1, 150, 2) g;
SELECT count(abt_convert('$E1', 'u' || g, 'purchase', -(g % 3) - 0.25, $AT)) FROM generate_series($1, 150, 9) g;
SELECT count(abt_convert('$E1', 'u' || g, 'signup', NULL, $AT)) FROM generate_series($1, 150, 4) g;
SELECT count(abt_convert('$E2', 'u' || g, 'revenue', g * 0.01, $AT)) FROM generate_series($1, 90, 3) g;
SELECT count(abt_convert('$E2', 'u' || g, 'revenue', 1e15, $AT)) FROM generate_series($1, 90, 40) g;
SELECT count(abt_convert('$E1', 'stranger-$1-' || g, 'purchase', 5, $AT)) FROM generate_series(1, 5) g;
SQL
}
load() { # DB: the same calls, from three sessions, settled in between
    setup_sql | run "$1" >/dev/null || return 1
    events_sql 1 | run "$1" >/dev/null || return 1
    events_sql 2 | run "$1" >/dev/null || return 1
    q "$1" "SELECT abt_settle_counters()" >/dev/null || return 1
    events_sql 3 | run "$1" >/dev/null
}

new_db "$OLD" && q "$OLD" "CREATE EXTENSION abtest VERSION '1.0'" >/dev/null \
    || bail "could not install abtest 1.0 in $OLD"
new_db "$REF" && q "$REF" "CREATE EXTENSION abtest" >/dev/null \
    || bail "could not install abtest in $REF"
load "$OLD" || bail "the calls failed in $OLD (1.0)"
load "$REF" || bail "the calls failed in $REF ($DEFAULT)"
# E3 at 1.0: values that 1.0 stored as given, beyond the bound of event values
run "$OLD" >/dev/null <<SQL || bail "could not write E3 in $OLD"
INSERT INTO abtest.experiments (id, name) VALUES ('$E3', 'legacy');
INSERT INTO abtest.experiment_elements (id, experiment_id, name)
VALUES ('e3100000-0000-4000-8000-000000000001', '$E3', 'banner');
INSERT INTO abtest.element_variants (element_id, name, is_control)
VALUES ('e3100000-0000-4000-8000-000000000001', 'a', true), ('e3100000-0000-4000-8000-000000000001', 'b', false);
UPDATE abtest.experiments SET status = 'active' WHERE id = '$E3';
SELECT count(abt_assign('$E3', 'w' || g, $AT)) FROM generate_series(1, 8) g;
SELECT count(abt_convert('$E3', 'w' || g, 'revenue', v, $AT))
  FROM generate_series(1, 8) g, (VALUES (5e15), (3.5)) x(v);
SQL
is "$(extversion "$OLD") $(extversion "$REF")" "1.0 $DEFAULT" "OLD is at 1.0, REF at $DEFAULT"

# ------------------------------------------------------------ what is compared
# goal_state DB EXPERIMENTS OUT: the sums summed over slots, every visitor's
# totals, abt_metric_stats (numeric sums without trailing zeros)
goal_state() {
    run "$1" >"$3" 2>&1 <<SQL
SELECT 'sums', experiment_id, variant_id, goal, sum(converters), trim_scale(sum(value_sum)),
       trim_scale(sum(value_sum_squares))
  FROM abtest.goal_counters WHERE experiment_id = ANY ('{$2}'::uuid[])
 GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4;
SELECT 'visitor', experiment_id, user_id, goal, trim_scale(value_total), events
  FROM abtest.visitor_goals WHERE experiment_id = ANY ('{$2}'::uuid[]) ORDER BY 1, 2, 3, 4;
SELECT 'stats', trim_scale(s.value_sum), trim_scale(s.value_sum_squares),
       to_jsonb(s) - 'value_sum' - 'value_sum_squares'
  FROM abt_metric_stats('{$2}'::uuid[]) WITH ORDINALITY s ORDER BY s.ordinality;
SQL
}
counts() { # DB: visitor_goals and goal_counters rows
    q "$1" "SELECT (SELECT count(*) FROM abtest.visitor_goals) || ' visitor totals, '
                   || (SELECT count(*) FROM abtest.goal_counters) || ' goal counter rows'"
}

goal_state "$REF" "$E1,$E2" "$WORK/ref.state"
is "$(goal_mismatches "$REF")" "" "REF: the sums abt_convert kept equal the events'"
check "REF: the calls made goal sums of 3 goals in 2 experiments, several visitors each" \
    test "$(q "$REF" "SELECT count(DISTINCT (experiment_id, goal)) FROM abtest.visitor_goals")" -eq 3 \
         -a "$(q "$REF" "SELECT count(*) FROM abtest.visitor_goals")" -gt 100
check "REF: the goal sums are in slot 0 (settled) and in backends' slots" \
    test "$(q "$REF" "SELECT count(DISTINCT slot <> 0) FROM abtest.goal_counters")" -eq 2
diag "REF: $(counts "$REF")"

# ------------------------------------------------------------ dumps
for db in "$OLD" "$REF"; do
    as_pg "$ABT_BIN/pg_dump" -Fc -d "$db" -f "$WORK/$db.dump" 2>"$WORK/err" \
        || { cat "$WORK/err"; bail "pg_dump -Fc $db failed"; }
    as_pg "$ABT_BIN/pg_dump" -d "$db" -f "$WORK/$db.sql" 2>"$WORK/err" \
        || { cat "$WORK/err"; bail "pg_dump $db failed"; }
done
ok "pg_dump -Fc and plain pg_dump of OLD (1.0) and REF ($DEFAULT)"
is "$(as_pg "$ABT_BIN/pg_restore" -l "$WORK/$REF.dump" | grep -cE 'TABLE DATA abtest (visitor_goals|goal_counters) ')" \
   "0" "REF's custom dump carries no rows of visitor_goals or goal_counters (derived data)"
is "$(grep -cE '^COPY abtest\.(visitor_goals|goal_counters) ' "$WORK/$REF.sql")" "0" \
   "REF's plain dump carries no rows of visitor_goals or goal_counters"
is "$(grep -lE '^COPY abtest\.(conversions|assignments) ' "$WORK/$OLD.sql" "$WORK/$REF.sql" | wc -l)" "2" \
   "the plain dumps do carry the events and assignments"

# OLD updated in place: the update's backfill, for E3's clamped values
if q "$OLD" "ALTER EXTENSION abtest UPDATE" >"$WORK/err" 2>&1; then
    ok "OLD: ALTER EXTENSION abtest UPDATE"
else
    not_ok "OLD: ALTER EXTENSION abtest UPDATE"; sed 's/^/#   /' "$WORK/err"
fi
goal_state "$OLD" "$E1,$E2" "$WORK/old.state"
goal_state "$OLD" "$E1,$E2,$E3" "$WORK/old-all.state"
same_file "OLD updated: sums, visitor totals and abt_metric_stats of E1, E2 equal REF's" \
    "$WORK/old.state" "$WORK/ref.state"
is "$(q "$OLD" "SELECT sum(converters) || ' ' || trim_scale(sum(value_sum)) || ' ' || trim_scale(sum(value_sum_squares))
                  FROM abtest.goal_counters WHERE experiment_id = '$E3'")" \
   "8 8000000000000028 8000000000000056000000000000098" \
   "OLD updated: E3's sums count 5e15 as the bound, 1e15 (8 visitors, y = 1e15 + 3.5)"

# ------------------------------------------------------------ restores
restore() { # LABEL SOURCE FORMAT: restore SOURCE's dump into a new database
    local label=$1 src=$2 fmt=$3 db
    db=abt_gsr_${fmt}_${src#abt_gsr_}
    new_db "$db" || bail "CREATE DATABASE $db"
    if [ "$fmt" = custom ]; then
        as_pg "$ABT_BIN/pg_restore" --exit-on-error -d "$db" "$WORK/$src.dump" >"$WORK/err" 2>&1
    else
        as_pg "$ABT_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$WORK/$src.sql" >"$WORK/err" 2>&1
    fi
    if [ $? -eq 0 ]; then
        ok "$label: the restore succeeds"
    else
        not_ok "$label: the restore succeeds"
        grep -Ev '^( set_config | setval |-+$|\(1 row\)| *[0-9]+ *$|$)' "$WORK/err" | head -20 | sed 's/^/#   /'
    fi
    is "$(extversion "$db")" "$DEFAULT" "$label: the restore installed abtest $DEFAULT"
    diag "$label: $(counts "$db")"
    goal_state "$db" "$E1,$E2" "$WORK/$db.state"
    same_file "$label: sums, visitor totals and abt_metric_stats of E1, E2 equal REF's (written live)" \
        "$WORK/$db.state" "$WORK/ref.state"
    is "$(goal_mismatches "$db")" "" "$label: the sums equal the events'"
    if [ "$src" = "$OLD" ]; then
        goal_state "$db" "$E1,$E2,$E3" "$WORK/$db-all.state"
        same_file "$label: the sums of all 3 experiments equal OLD's updated in place (E3 clamped)" \
            "$WORK/$db-all.state" "$WORK/old-all.state"
    fi
    # the next event of a restored visitor with a purchase total
    is "$(q "$db" "SELECT abt_convert('$E1', 'u3', 'purchase', 2.5)")" "f" \
       "$label: a restored visitor converts again"
    is "$(q "$db" "SELECT trim_scale(value_total) || ' ' || events FROM abtest.visitor_goals
                    WHERE experiment_id = '$E1' AND user_id = 'u3' AND goal = 'purchase'")" \
       "$(q "$REF" "SELECT trim_scale(sum(coalesce(value, 0)) + 2.5) || ' ' || count(*) + 1
                      FROM abtest.conversions
                     WHERE experiment_id = '$E1' AND user_id = 'u3' AND goal = 'purchase'")" \
       "$label: its event adds to its restored total"
    is "$(goal_mismatches "$db")" "" "$label: after it the sums still equal the events'"
}

restore "1.0 dump, custom format" "$OLD" custom
restore "1.0 dump, plain SQL" "$OLD" plain
restore "$DEFAULT dump, custom format" "$REF" custom
restore "$DEFAULT dump, plain SQL" "$REF" plain

finish
