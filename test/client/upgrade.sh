#!/usr/bin/env bash
# test/client/upgrade.sh -- ALTER EXTENSION abtest UPDATE from every earlier
# released version keeps data and answers.
#
# For each version with a full install script sql/abtest--V.sql other than
# the default one: install V, assign and convert visitors, ALTER EXTENSION
# abtest UPDATE, and check that the rows are unchanged, returning visitors get
# the same variants, counters still equal the rows and new visitors work.
# A released install script is never edited, so its data shape is what a
# user of that release has.  Version 1.0 is the first release: until a later
# one exists there is nothing to update from, and the test says so.
set -uo pipefail

: "${PGHOST:?}" "${PGPORT:?}" "${ABT_TMP:?}" "${ABT_BIN:?}"
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
TAG=$$_$RANDOM
WORK=$ABT_TMP/upgrade.$TAG
mkdir -p "$WORK" && chmod 755 "$WORK"
. test/client/lib/tap.sh

DEFAULT=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" abtest.control)
EXP=c0000000-0000-4000-8000-000000000001
DBS=()
trap 'for d in "${DBS[@]}"; do q postgres "DROP DATABASE IF EXISTS $d" >/dev/null 2>&1; done; rm -rf "$WORK"' EXIT

# answers FOR the 200 known visitors, with "new" dropped (the first call's)
answers() {
    q "$1" "SELECT md5(string_agg((abt_assign('$EXP', 'v' || g) - 'new')::text, '|' ORDER BY g))
              FROM generate_series(1, 200) g"
}
counters_match() {
    q "$1" "SELECT count(*) FROM abtest.variant_totals t
             WHERE t.total_allocations <> (SELECT count(*) FROM abtest.assignments a,
                                                  jsonb_each_text(a.variants) v
                                            WHERE v.value::uuid = t.variant_id)"
}

versions=()
for f in sql/abtest--*.sql; do
    v=${f#sql/abtest--}; v=${v%.sql}
    case "$v" in *--*) continue ;; esac          # an update script
    [ "$v" = "$DEFAULT" ] || versions+=("$v")
done

if [ ${#versions[@]} -eq 0 ]; then
    echo "ok 1 # SKIP no release before $DEFAULT: nothing to update from"
    echo "1..1"
    exit 0
fi

for v in "${versions[@]}"; do
    db=abt_upgrade_${v//./_}_$TAG
    DBS+=("$db")
    q postgres "CREATE DATABASE $db" >/dev/null || bail "CREATE DATABASE $db"
    q "$db" "SET abtest.publication = ''; CREATE EXTENSION abtest VERSION '$v'" >/dev/null \
        || { not_ok "CREATE EXTENSION abtest VERSION '$v'"; continue; }
    q "$db" "INSERT INTO abtest.experiments (id, name, status) VALUES ('$EXP', 'upgrade', 'active');
             INSERT INTO abtest.experiment_elements (id, experiment_id, name)
                  VALUES ('c0000000-0000-4000-8000-000000000002', '$EXP', 'headline');
             INSERT INTO abtest.element_variants (element_id, name, position)
                  VALUES ('c0000000-0000-4000-8000-000000000002', 'A', 0),
                         ('c0000000-0000-4000-8000-000000000002', 'B', 1);
             SELECT count(abt_assign('$EXP', 'v' || g)) FROM generate_series(1, 200) g;
             SELECT count(abt_convert('$EXP', 'v' || g)) FROM generate_series(1, 200, 7) g;" >/dev/null \
        || { not_ok "$v: load data"; continue; }
    before_rows=$(q "$db" "SELECT md5(string_agg(a::text, ',' ORDER BY user_id)) FROM abtest.assignments a")
    before_answers=$(answers "$db")
    q "$db" "ALTER EXTENSION abtest UPDATE" >/dev/null && ok "$v: ALTER EXTENSION abtest UPDATE" \
        || { not_ok "$v: ALTER EXTENSION abtest UPDATE"; continue; }
    is "$(q "$db" "SELECT extversion FROM pg_extension WHERE extname = 'abtest'")" "$DEFAULT" \
       "$v: now at $DEFAULT"
    is "$(q "$db" "SELECT md5(string_agg(a::text, ',' ORDER BY user_id)) FROM abtest.assignments a")" \
       "$before_rows" "$v: assignments unchanged"
    is "$(answers "$db")" "$before_answers" "$v: returning visitors get the same answers"
    is "$(counters_match "$db")" "0" "$v: counters equal the rows"
    is "$(q "$db" "SELECT abt_assign('$EXP', 'after-update') ->> 'new'")" "true" "$v: new visitors are assigned"
done
finish
