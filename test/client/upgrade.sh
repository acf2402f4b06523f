#!/usr/bin/env bash
# test/client/upgrade.sh -- ALTER EXTENSION abtest UPDATE from every released
# version keeps rows, counters, answers and realtime membership, and the
# newest library serves a database that is not updated yet.
#
# 1. Released scripts are never edited: the sha256 of every script of a
#    released version (every sql/abtest--*.sql whose target is not
#    default_version) must equal the checksum kept below.  A script of a
#    release without a checksum here fails too (add it when releasing).
# 2. For each released version V (1.0 so far), in a database of its own:
#    CREATE PUBLICATION, SET abtest.publication to it, CREATE EXTENSION abtest
#    VERSION 'V', then the same calls as in a fresh database at
#    default_version (the reference): an experiment with 2 elements and one
#    with 1 element, visitors through abt_assign, abt_assign_bulk and
#    abt_assign_batch, conversions with goals and values, a lead, settled
#    counters (abt_settle_counters, and by pausing), conversions after the
#    settling.  The installed abtest.so is always the newest, so these calls
#    already run the new library against V's schema:
#     - every call's answer at V equals the reference's (new flags included),
#       and so do the rows, counters, analytics and publication (without
#       what legitimately differs between two databases: backend slots,
#       config_version stamps, the leads' clock times);
#     - the live counters and rollups equal the assignment rows.
#    Then ALTER EXTENSION abtest UPDATE, and:
#     - extversion is default_version; no object of V left the extension;
#     - every table's rows (exactly, slots and stamps included), the
#       sequences, the live and settled counters, the answers for returning
#       and unknown visitors, abt_variant_stats, abt_timeline and
#       abt_timeline_variants, and the publications are unchanged;
#     - new visitors (abt_assign, bulk, batch) and conversions work: answers
#       equal the reference's fed the same calls, counters equal the rows.
#     - (issue 9) at V abt_convert runs V's C symbol and V has no goal sum
#       tables; the update backfills abtest.visitor_goals and goal_counters
#       from the events, equal to the events' per-visitor sums and to what
#       the reference wrote event by event (abt_metric_stats too), and
#       abt_convert then runs abt_convert_1_1, which keeps them exact.
#     - (issue 24) the experiment lock: at V a new visitor's abt_assign
#       holds 1.0's advisory lock (the one V's PL/pgSQL trigger
#       lock_experiment takes) and 1.1's, and a DELETE of the experiment
#       waits for it in that trigger; after the update the trigger is C and
#       the writer holds 1.1's lock alone, and a DELETE still waits for it.
#       (The writer's transaction and the DELETE roll back.)
# 3. (issue 24) A database at V with more elements and variants than 1.1's
#    limits updates, keeps them all, answers, and then refuses more; a dump
#    of it restores whole.
# Times are fixed relative to the start of the test (BASE, 30 hours ago), so
# the 168-hour timelines hold all of them; only non-empty buckets are
# compared, as the window's empty edges move with now().  No sleeps.
set -uo pipefail

: "${PGHOST:?}" "${PGPORT:?}" "${ABT_TMP:?}" "${ABT_BIN:?}"
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
TAG=$$_$RANDOM
WORK=$ABT_TMP/upgrade.$TAG
{ mkdir -p "$WORK" && chmod 755 "$WORK"; } || { echo "Bail out! cannot create $WORK"; exit 1; }
. test/client/lib/tap.sh
. test/client/lib/counters.sh

# sha256 of the scripts of released versions.  Never change a line; add the
# scripts of each new release (e.g. abtest--1.0--1.1.sql when 1.1 is out).
RELEASED_SHA256=(
    "abtest--1.0.sql 9272878e7d366dd3a64b2b7e8de4f881641c4d351f8b3efa1be173de1c897c42"
)

# the server's clock and zone must not change the answers
as_pg() { (cd "$WORK" && runuser -u postgres -- env LC_ALL=C.UTF-8 PGTZ=UTC "$@"); }
# run DB: SQL on stdin, unaligned output, stop at the first error
run() { as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER=postgres \
        "$ABT_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$1"; }

DEFAULT=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" abtest.control)
PUB=abt_upgrade_pub
EXP1=c1000000-0000-4000-8000-000000000001       # active, 2 elements
EXP2=c2000000-0000-4000-8000-000000000002       # coverage 0.7, paused after the load
UNKNOWN=c9000000-0000-4000-8000-000000000009
BASE=$(date -u -d "@$(( $(date +%s) / 3600 * 3600 - 30 * 3600 ))" '+%Y-%m-%d %H:%M:%S+00')
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

# ----------------------------------------------------- 1. released scripts
for entry in "${RELEASED_SHA256[@]}"; do
    f=${entry% *}
    sum=$(sha256sum "sql/$f" 2>/dev/null | cut -d ' ' -f 1)
    is "${sum:-missing}" "${entry#* }" "released script sql/$f is unchanged (sha256)"
done
missing=()
released_versions=()
for f in sql/abtest--*.sql; do
    f=${f#sql/}
    v=${f%.sql}; v=${v##*--}                    # the version the script ends at
    [ "$v" = "$DEFAULT" ] && continue           # the release in the making
    printf '%s\n' "${RELEASED_SHA256[@]}" | grep -q "^$f " || missing+=("$f")
    case " ${released_versions[*]} " in *" $v "*) ;; *) released_versions+=("$v") ;; esac
done
is "${missing[*]}" "" "every script of a released version has a checksum in this test"
check "there is a released version to update from (${released_versions[*]})" \
    test "${#released_versions[@]}" -gt 0

# ------------------------------------------------------------- the calls
# The load: every call's answer is printed, so two databases fed it compare.
load_sql() {
    cat <<SQL
INSERT INTO abtest.experiments (id, user_id, name, status, seed, coverage, created_at) VALUES
    ('$EXP1', 'c0000000-0000-4000-8000-0000000000aa', 'homepage', 'active', 'home-seed', 1, '$BASE'),
    ('$EXP2', NULL, 'pricing', 'active', 'price-seed', 0.7, '$BASE');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, selector, position, created_at) VALUES
    ('c1100000-0000-4000-8000-000000000011', '$EXP1', 'headline', 'h1.hero', 0, '$BASE'),
    ('c1200000-0000-4000-8000-000000000012', '$EXP1', 'button', '#signup', 1, '$BASE'),
    ('c2100000-0000-4000-8000-000000000021', '$EXP2', 'price', '.price', 0, '$BASE');
INSERT INTO abtest.element_variants (id, element_id, name, content, weight, is_control, position, created_at) VALUES
    ('c1110000-0000-4000-8000-000000000111', 'c1100000-0000-4000-8000-000000000011', 'original',
     '{"text": "Welcome"}', 1, true, 0, '$BASE'),
    ('c1120000-0000-4000-8000-000000000112', 'c1100000-0000-4000-8000-000000000011', 'bold',
     '{"text": "Welcome!", "weight": 700}', 2, false, 1, '$BASE'),
    ('c1130000-0000-4000-8000-000000000113', 'c1100000-0000-4000-8000-000000000011', 'emoji',
     '{"text": "Welcome \ud83d\udc4b"}', 0.5, false, 2, '$BASE'),
    ('c1210000-0000-4000-8000-000000000121', 'c1200000-0000-4000-8000-000000000012', 'blue',
     '{"color": "#00f"}', 1, true, 0, '$BASE'),
    ('c1220000-0000-4000-8000-000000000122', 'c1200000-0000-4000-8000-000000000012', 'green',
     '{"color": "#0f0"}', 1, false, 1, '$BASE'),
    ('c2110000-0000-4000-8000-000000000211', 'c2100000-0000-4000-8000-000000000021', 'low',
     '{"price": 9}', 1, true, 0, '$BASE'),
    ('c2120000-0000-4000-8000-000000000212', 'c2100000-0000-4000-8000-000000000021', 'high',
     '{"price": 19.5}', 1, false, 1, '$BASE');
SELECT 'assign', g, abt_assign('$EXP1', 'v' || g, '$BASE'::timestamptz + g * interval '7 minutes')
  FROM generate_series(1, 60) g;
SELECT 'bulk', b.* FROM abt_assign_bulk('$EXP1',
    ARRAY(SELECT 'bulk-' || g FROM generate_series(1, 100) g) || '{bulk-7}',
    '$BASE'::timestamptz + interval '1 hour 5 minutes') b;
SELECT 'batch', g, abt_assign_batch(ARRAY['$EXP2', '$EXP1']::uuid[], 'batch-' || g,
                                    '$BASE'::timestamptz + g * interval '13 minutes')
  FROM generate_series(1, 20) g;
SELECT 'assign2', g, abt_assign('$EXP2', 'v' || g, '$BASE'::timestamptz + interval '2 hours')
  FROM generate_series(1, 40) g;
SELECT 'convert', g, abt_convert('$EXP1', 'v' || g, 'signup', g * 1.5,
                                 '$BASE'::timestamptz + g * interval '7 minutes' + interval '20 minutes')
  FROM generate_series(1, 60, 3) g;
SELECT 'convert again', g, abt_convert('$EXP1', 'v' || g, 'purchase', 9.99,
                                       '$BASE'::timestamptz + interval '9 hours')
  FROM generate_series(1, 60, 6) g;
SELECT 'convert bulk', g, abt_convert('$EXP1', 'bulk-' || g, 'conversion', NULL,
                                      '$BASE'::timestamptz + interval '3 hours')
  FROM generate_series(1, 100, 5) g;
SELECT 'convert batch', g, abt_convert('$EXP2', 'batch-' || g, 'upgrade', 19.5,
                                       '$BASE'::timestamptz + interval '4 hours')
  FROM generate_series(1, 20, 2) g;
SELECT 'convert unknown', abt_convert('$EXP1', 'nobody', 'signup', 1, '$BASE');
SELECT 'lead', abt_lead_capture('{"email": "v3@example.com"}', '$EXP1', 'v3');
SELECT 'settle', abt_settle_counters('$EXP1');
UPDATE abtest.experiments SET status = 'paused' WHERE id = '$EXP2';
-- after the settling: live and settled counters differ
SELECT 'convert late', g, abt_convert('$EXP1', 'v' || g, 'signup', NULL,
                                      '$BASE'::timestamptz + interval '8 hours')
  FROM generate_series(2, 60, 4) g;
SQL
}

# New visitors and conversions after the update.
after_sql() {
    cat <<SQL
SELECT 'assign', g, abt_assign('$EXP1', 'after-' || g, '$BASE'::timestamptz + interval '10 hours')
  FROM generate_series(1, 10) g;
SELECT 'bulk', b.* FROM abt_assign_bulk('$EXP1',
    ARRAY(SELECT 'after-bulk-' || g FROM generate_series(1, 20) g),
    '$BASE'::timestamptz + interval '10 hours 20 minutes') b;
SELECT 'batch', g, abt_assign_batch(ARRAY['$EXP1', '$EXP2']::uuid[], 'after-batch-' || g,
                                    '$BASE'::timestamptz + interval '10 hours 40 minutes')
  FROM generate_series(1, 5) g;
SELECT 'convert', g, abt_convert('$EXP1', 'after-' || g, 'signup', g,
                                 '$BASE'::timestamptz + interval '11 hours')
  FROM generate_series(1, 10) g;
SELECT 'convert returning', g, abt_convert('$EXP1', 'v' || g, 'signup', NULL,
                                           '$BASE'::timestamptz + interval '11 hours')
  FROM generate_series(1, 60, 5) g;
SELECT 'settle', abt_settle_counters();
SQL
}

# ------------------------------------------------------------- snapshots
TABLES=(experiments experiment_elements element_variants assignments conversions leads
        variant_counters experiment_timeline variant_timeline realtime_publications)

# rows_sql MODE TABLE: the rows compared.  exact: all columns; portable
# (two databases): counters and rollups summed over backend slots, no
# config_version stamps, no clock times of leads.  Both: the columns 1.1
# adds to experiments (issue 12: namespace, holdout) compare only when not
# at the value a 1.0 row gets (NULL, kind 'experiment'), so a 1.0 row equals
# its updated self.
NO_NULL_NAMESPACE="(SELECT jsonb_object_agg(k, v) FROM jsonb_each(to_jsonb(t)) e(k, v)
                     WHERE NOT (k IN ('namespace', 'namespace_start', 'namespace_end', 'holdout_id')
                                AND v = 'null')
                       AND NOT (k = 'kind' AND v = '\"experiment\"'))"
rows_sql() {
    case "$1:$2" in
        portable:experiments) echo "SELECT $NO_NULL_NAMESPACE - 'config_version' FROM abtest.experiments t" ;;
        exact:experiments) echo "SELECT $NO_NULL_NAMESPACE FROM abtest.experiments t" ;;
        portable:leads) echo "SELECT to_jsonb(t) - 'created_at' - 'updated_at' FROM abtest.leads t" ;;
        portable:variant_counters)
            echo "SELECT experiment_id, variant_id, sum(allocations), sum(conversions)
                    FROM abtest.variant_counters GROUP BY 1, 2" ;;
        portable:experiment_timeline)
            echo "SELECT experiment_id, bucket, sum(assignments), sum(conversions)
                    FROM abtest.experiment_timeline GROUP BY 1, 2" ;;
        # 1.1 adds the packed per-variant columns, NULL in 1.0's rows
        exact:experiment_timeline)
            echo "SELECT experiment_id, bucket, slot, assignments, conversions FROM abtest.experiment_timeline" ;;
        portable:variant_timeline)
            echo "SELECT experiment_id, variant_id, bucket, sum(assignments), sum(conversions)
                    FROM abtest.variant_timeline GROUP BY 1, 2, 3" ;;
        *) echo "SELECT * FROM abtest.$2" ;;
    esac
}

# snapshot DB MODE OUT: writes OUT.rows, OUT.counters, OUT.answers, OUT.pub
snapshot() {
    local db=$1 mode=$2 out=$3 t
    {
        for t in "${TABLES[@]}"; do
            echo "SELECT '$t', count(*), md5(coalesce(string_agg(r::text, E'\n' ORDER BY r::text), ''))
                    FROM ($(rows_sql "$mode" "$t")) r;"
        done
        if [ "$mode" = exact ]; then
            for t in config_version_seq conversions_id_seq leads_id_seq; do
                echo "SELECT '$t', last_value, is_called FROM abtest.$t;"
            done
        fi
    } | run "$db" >"$out.rows" 2>&1
    run "$db" >"$out.counters" 2>&1 <<SQL
SELECT 'live', t.* FROM abtest.variant_totals t ORDER BY t.variant_id;
SELECT 'settled', v.id, v.total_allocations, v.total_conversions, v.conversion_rate
  FROM abtest.element_variants v ORDER BY v.id;
SQL
    run "$db" >"$out.answers" 2>&1 <<SQL
SELECT 'assign', e, u, abt_assign(e, u) - 'new'
  FROM (VALUES (1, '$EXP1'::uuid), (2, '$EXP2'::uuid)) x(n, e),
       LATERAL (SELECT 'v' || g FROM generate_series(1, 60) g
                UNION ALL SELECT 'bulk-' || g FROM generate_series(1, 100) g
                UNION ALL SELECT 'batch-' || g FROM generate_series(1, 20) g
                UNION ALL SELECT 'stranger-' || g FROM generate_series(1, 10) g
                 WHERE x.n = 2) v(u)
 ORDER BY x.n, u;
SELECT 'batch', g, abt_assign_batch(ARRAY['$EXP1', '$EXP2']::uuid[], 'batch-' || g)
  FROM generate_series(1, 20) g;
SELECT 'stats', s.* FROM abt_variant_stats(ARRAY['$EXP1', '$UNKNOWN', '$EXP2']::uuid[])
  WITH ORDINALITY s ORDER BY s.ordinality;
SELECT 'experiment stats', s.* FROM abt_experiment_stats('$EXP2') WITH ORDINALITY s ORDER BY s.ordinality;
SELECT 'timeline', e, b, t.*
  FROM unnest(ARRAY['$EXP1', '$EXP2']::uuid[]) e,
       unnest(ARRAY['1 hour', '15 minutes', '1 day']::interval[]) b,
       abt_timeline(e, 168, b) t
 WHERE t.assignments > 0 OR t.conversions > 0
 ORDER BY e, b, t.bucket;
SELECT 'timeline variants', e, t.*
  FROM unnest(ARRAY['$EXP1', '$EXP2']::uuid[]) e, abt_timeline_variants(e, 168) t
 WHERE t.assignments > 0 OR t.conversions > 0
 ORDER BY e, t.bucket, t.element_id, t.variant_id;
SQL
    run "$db" >"$out.pub" 2>&1 <<SQL
SELECT p.pubname, p.puballtables, p.pubinsert, p.pubupdate, p.pubdelete, p.pubtruncate
  FROM pg_publication p ORDER BY 1;
SELECT 'member', pubname, schemaname, tablename FROM pg_publication_tables ORDER BY 2, 3, 4;
SQL
}

members() {
    q "$1" "SELECT pg_describe_object(d.classid, d.objid, d.objsubid) FROM pg_depend d
             WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
               AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'abtest')
             ORDER BY 1"
}
extversion() { q "$1" "SELECT extversion FROM pg_extension WHERE extname = 'abtest'"; }
# goal_sums DB OUT (1.1, issue 9): the per-goal sums summed over slots, the
# visitors' totals, and abt_metric_stats of both experiments
goal_sums() {
    run "$1" >"$2" 2>&1 <<SQL
SELECT 'goal sums', experiment_id, variant_id, goal, sum(converters), trim_scale(sum(value_sum)),
       trim_scale(sum(value_sum_squares))
  FROM abtest.goal_counters GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4;
SELECT 'visitor goals', experiment_id, user_id, goal, value_total, events
  FROM abtest.visitor_goals ORDER BY 1, 2, 3, 4;
SELECT 'metric stats', trim_scale(s.value_sum), trim_scale(s.value_sum_squares),
       to_jsonb(s) - 'value_sum' - 'value_sum_squares'
  FROM abt_metric_stats(ARRAY['$EXP1', '$UNKNOWN', '$EXP2']::uuid[]) WITH ORDINALITY s ORDER BY s.ordinality;
SQL
}
# access_model DB: who may do what -- the extension's functions (security,
# privileges), the abtest relations' privileges, policies and triggers
access_model() {
    q "$1" "SELECT 'function|' || p.oid::regprocedure || '|' || p.prosecdef || '|' || coalesce(p.proacl::text, '')
              FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
             WHERE d.classid = 'pg_proc'::regclass AND d.refclassid = 'pg_extension'::regclass
               AND d.deptype = 'e' AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'abtest')
            UNION ALL
            SELECT 'relation|' || c.oid::regclass || '|' || coalesce(c.relacl::text, '') || '|' || c.relrowsecurity
              FROM pg_class c WHERE c.relnamespace = 'abtest'::regnamespace AND c.relkind IN ('r', 'v', 'S')
            UNION ALL
            SELECT 'policy|' || polrelid::regclass || '|' || polname || '|' || polcmd::text FROM pg_policy
             WHERE polrelid::regclass::text LIKE 'abtest.%'
            UNION ALL
            SELECT 'trigger|' || tgrelid::regclass || '|' || tgname FROM pg_trigger
             WHERE NOT tgisinternal AND tgrelid::regclass::text LIKE 'abtest.%'
            ORDER BY 1"
}

# writer_locks DB EXPERIMENT (issue 24): the advisory locks a new visitor's
# abt_assign holds in its transaction (rolled back), by name: "1.0" is 1.0's
# pg_advisory_xact_lock(1094866003, <the uuid's first four bytes>), "1.1" is
# 1.1's (the first 64 bits of SHA-256 of the uuid, class 16723 = 0x4153)
writer_locks() {
    run "$1" <<SQL
BEGIN;
\o /dev/null
SELECT abt_assign('$2', 'lock-probe');
\o
WITH k AS (SELECT '$2'::uuid AS id, sha256(uuid_send('$2'::uuid)) AS h),
     held AS (
       SELECT CASE
                WHEN l.classid::int8 = 1094866003 AND l.objsubid = 2
                 AND l.objid::int8 = ('x' || left(replace(k.id::text, '-', ''), 8))::bit(32)::int8 THEN '1.0'
                WHEN l.objsubid = 16723
                 AND l.classid::int8 = ('x' || encode(substring(k.h from 1 for 4), 'hex'))::bit(32)::int8
                 AND l.objid::int8 = ('x' || encode(substring(k.h from 5 for 4), 'hex'))::bit(32)::int8 THEN '1.1'
                ELSE 'other' END || ':' || l.mode AS lock
         FROM pg_locks l, k
        WHERE l.locktype = 'advisory' AND l.pid = pg_backend_pid())
SELECT string_agg(lock, ',' ORDER BY lock) FROM held;
ROLLBACK;
SQL
}
# delete_while_writing DB EXPERIMENT (issue 24): with a new visitor's
# abt_assign in flight in one session (its transaction left open), a DELETE
# of the experiment in another under lock_timeout: prints the DELETE's error
# ("canceling statement due to lock timeout" when it waits for the writer).
# Both roll back.  lock_timeout only ends the wait: the writer holds its lock
# until told to roll back, however long the DELETE waits.
delete_while_writing() {
    local in=$WORK/writer.in out=$WORK/writer.out w r line got="" pid
    rm -f "$in" "$out"
    mkfifo "$in" "$out" || return 1
    as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER=postgres stdbuf -oL \
        "$ABT_BIN/psql" -X -q -At -d "$1" <"$in" >"$out" 2>&1 &
    pid=$!
    exec {w}>"$in" {r}<"$out"
    printf "BEGIN;\nSELECT 'writing', abt_assign('%s', 'lock-probe')->>'new';\n" "$2" >&"$w"
    while IFS= read -r -t 60 line <&"$r"; do
        case $line in writing\|*) got=$line; break ;; esac
    done
    if [ "$got" = "writing|true" ]; then
        q "$1" "SET lock_timeout = '200ms'; BEGIN;
                DELETE FROM abtest.experiments WHERE id = '$2'; ROLLBACK" 2>&1
    else
        echo "the writer stored no new visitor: ${got:-no answer}"
    fi
    printf 'ROLLBACK;\n' >&"$w"
    exec {w}>&- {r}<&-
    wait "$pid"
}

# new_db NAME [VERSION]: a database with the publication and abtest installed
new_db() {
    local db=$1 version=""
    if [ -n "${2:-}" ]; then version=" VERSION '$2'"; fi
    DBS+=("$db")
    q postgres "CREATE DATABASE $db" >/dev/null \
        && run "$db" >/dev/null <<SQL
CREATE PUBLICATION $PUB;
SET abtest.publication = '$PUB';
CREATE EXTENSION abtest$version;
SQL
}

# ------------------------------------------------------------- 2. update
for V in "${released_versions[@]}"; do
    db=abt_upgrade_${V//./_}_$TAG
    ref=abt_upgrade_ref_${V//./_}_$TAG
    W=$WORK/$V
    mkdir -p "$W" && chmod 755 "$W"

    new_db "$ref" || bail "could not create the reference database at $DEFAULT"
    is "$(extversion "$ref")" "$DEFAULT" "reference: CREATE EXTENSION abtest installs $DEFAULT"
    new_db "$db" "$V" || { not_ok "$V: CREATE EXTENSION abtest VERSION '$V'"; continue; }
    is "$(extversion "$db")" "$V" "$V: CREATE EXTENSION abtest VERSION '$V' installs $V"

    # the load, at V with the newest library, and at default_version
    load_sql | run "$ref" >"$W/ref.load" 2>&1 || { cat "$W/ref.load"; bail "reference: load failed"; }
    load_sql | run "$db" >"$W/old.load" 2>&1
    rc=$?
    is "$rc" 0 "$V: the load runs (assign, bulk, batch, convert, lead, settle, pause)"
    check "$V: the load assigned visitors through every entry point" \
        grep -q '^bulk|bulk-100|{.*"new": true' "$W/old.load"
    same_file "$V: every call's answer at $V equals a fresh $DEFAULT install's" "$W/old.load" "$W/ref.load"
    snapshot "$ref" portable "$W/ref"
    snapshot "$db" portable "$W/old-portable"
    same_file "$V: rows at $V equal the fresh install's (slots summed)" "$W/old-portable.rows" "$W/ref.rows"
    same_file "$V: live and settled counters at $V equal the fresh install's" \
        "$W/old-portable.counters" "$W/ref.counters"
    same_file "$V: answers, stats and timelines at $V equal the fresh install's" \
        "$W/old-portable.answers" "$W/ref.answers"
    same_file "$V: publications at $V equal the fresh install's" "$W/old-portable.pub" "$W/ref.pub"
    is "$(grep -c '^member|' "$W/old-portable.pub")" "4" "$V: the publication has the 4 realtime tables"
    is "$(counter_mismatches "$db")" "" "$V: live counters and rollups equal the assignment rows"
    check "$V: settled and live counters differ (conversions after settling)" \
        test "$(q "$db" "SELECT count(*) FROM abtest.element_variants v JOIN abtest.variant_totals t
                          ON t.variant_id = v.id
                         WHERE v.total_conversions <> t.total_conversions")" -gt 0

    # issue 24: at V a writer holds V's experiment lock, which V's trigger
    # waits for (and 1.1's, which 1.1's trigger will wait for: a call in
    # flight when the update commits runs V's code to its end)
    is "$(writer_locks "$db" "$EXP1")" "1.0:ShareLock,1.1:ShareLock" \
       "$V: a new visitor's abt_assign holds $V's experiment lock and 1.1's"
    delete_while_writing "$db" "$EXP1" >"$W/delete-at-v.out"
    check "$V: a DELETE of the experiment waits for a writer in flight, in $V's trigger lock_experiment" \
        grep -q 'lock timeout' "$W/delete-at-v.out"
    check "$V: (the DELETE waited in $V's PL/pgSQL trigger lock_experiment)" \
        grep -q 'PL/pgSQL function abtest.lock_experiment()' "$W/delete-at-v.out"

    snapshot "$db" exact "$W/before"
    members "$db" >"$W/before.members"
    # issue 12: at V the visitor functions run V's C symbols (the 1.0 query
    # reads no column 1.1 adds); the update switches them to the 1.1 ones
    is "$(q "$db" "SELECT string_agg(prosrc, ',' ORDER BY prosrc) FROM pg_proc
                    WHERE proname IN ('abt_assign', 'abt_assign_batch', 'abt_assign_bulk')")" \
       "abt_assign,abt_assign_batch,abt_assign_bulk" "$V: the visitor functions run $V's C symbols"
    # issue 9: at V abt_convert runs V's symbol, which writes no goal sums
    # (V has no such tables: the load above ran it and answered as 1.1 does)
    is "$(q "$db" "SELECT prosrc FROM pg_proc WHERE proname = 'abt_convert'")" "abt_convert" \
       "$V: abt_convert runs $V's C symbol"
    is "$(q "$db" "SELECT count(*) FROM pg_class WHERE relname IN ('visitor_goals', 'goal_counters')
                    AND relnamespace = 'abtest'::regnamespace")" "0" "$V: has no goal sum tables"

    if q "$db" "ALTER EXTENSION abtest UPDATE" >"$W/update.out" 2>&1; then
        ok "$V: ALTER EXTENSION abtest UPDATE"
    else
        not_ok "$V: ALTER EXTENSION abtest UPDATE"
        sed 's/^/#   /' "$W/update.out"
        continue
    fi
    is "$(extversion "$db")" "$DEFAULT" "$V: now at $DEFAULT"
    members "$db" >"$W/after.members"
    is "$(comm -23 "$W/before.members" "$W/after.members" | tr '\n' ' ')" "" \
       "$V: every object of $V is still a member of the extension"
    access_model "$ref" >"$W/ref.access"
    access_model "$db" >"$W/after.access"
    same_file "$V: the update applies $DEFAULT's access model (function security and privileges, grants, policies, triggers)" \
        "$W/after.access" "$W/ref.access"
    check "$V: after the update PUBLIC may not import in bulk" \
        test "$(q "$db" "SELECT has_function_privilege('public', 'abt_assign_bulk(uuid,text[],timestamptz)', 'EXECUTE')")" = f
    is "$(q "$db" "CREATE ROLE abt_upgrade_visitor_$TAG; SET ROLE abt_upgrade_visitor_$TAG;
                   SELECT abt_assign('$EXP1', 'backdated', '2001-01-01')" 2>&1 | grep -o 'permission denied to choose the assignment time')" \
       "permission denied to choose the assignment time" "$V: after the update a visitor cannot backdate an assignment"
    q "$db" "DROP ROLE abt_upgrade_visitor_$TAG" >/dev/null 2>&1
    is "$(q "$db" "SELECT string_agg(prosrc, ',' ORDER BY prosrc) FROM pg_proc
                    WHERE proname IN ('abt_assign', 'abt_assign_batch', 'abt_assign_bulk')")" \
       "abt_assign_1_1,abt_assign_batch_1_1,abt_assign_bulk_1_1" \
       "$V: after the update the visitor functions run 1.1's C symbols (namespaces, pins)"
    # issue 9: the update backfills the goal sums from the events it finds,
    # equal to what a 1.1 installation wrote event by event
    is "$(q "$db" "SELECT prosrc FROM pg_proc WHERE proname = 'abt_convert'")" "abt_convert_1_1" \
       "$V: after the update abt_convert runs 1.1's C symbol (goal sums)"
    check "$V: the update backfilled goal sums (visitors with events of several goals)" \
        test "$(q "$db" "SELECT count(DISTINCT goal) FROM abtest.goal_counters WHERE converters > 0")" -ge 4
    is "$(goal_mismatches "$db")" "" "$V: backfilled goal sums and visitor totals equal the events"
    goal_sums "$ref" "$W/ref.goals"
    goal_sums "$db" "$W/after.goals"
    same_file "$V: backfilled goal sums and abt_metric_stats equal the fresh install's (written live)" \
        "$W/after.goals" "$W/ref.goals"

    snapshot "$db" exact "$W/after"
    same_file "$V: rows and sequences unchanged by the update (exactly)" "$W/after.rows" "$W/before.rows"
    same_file "$V: live and settled counters unchanged" "$W/after.counters" "$W/before.counters"
    same_file "$V: answers, stats and timelines unchanged" "$W/after.answers" "$W/before.answers"
    same_file "$V: publications and their tables unchanged" "$W/after.pub" "$W/before.pub"

    # issue 24: after the update the trigger is C and takes 1.1's lock,
    # which a writer holds alone
    is "$(q "$db" "SELECT l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
                    WHERE p.oid = 'abtest.lock_experiment()'::regprocedure")" "c" \
       "$V: after the update the trigger function lock_experiment is C"
    is "$(writer_locks "$db" "$EXP1")" "1.1:ShareLock" \
       "$V: after the update a new visitor's abt_assign holds 1.1's experiment lock alone"
    delete_while_writing "$db" "$EXP1" >"$W/delete-after.out"
    check "$V: after the update a DELETE of the experiment still waits for a writer in flight" \
        grep -q 'lock timeout' "$W/delete-after.out"

    # new visitors and conversions, against the reference fed the same calls
    after_sql | run "$ref" >"$W/ref.after" 2>&1 || { cat "$W/ref.after"; bail "reference: new visitors failed"; }
    after_sql | run "$db" >"$W/old.after" 2>&1
    is "$?" 0 "$V: new visitors and conversions after the update run"
    same_file "$V: new visitors' and conversions' answers equal the fresh install's" \
        "$W/old.after" "$W/ref.after"
    is "$(grep -c '^assign|[0-9]*|{.*"new": true' "$W/old.after")" "10" \
       "$V: 10 new visitors through abt_assign"
    is "$(grep -c '^bulk|after-bulk-[0-9]*|{.*"new": true' "$W/old.after")" "20" \
       "$V: 20 new visitors through abt_assign_bulk"
    is "$(grep -c '^convert|[0-9]*|t$' "$W/old.after")" "10" "$V: their first conversions count"
    is "$(counter_mismatches "$db")" "" "$V: after new visitors, counters and rollups equal the rows"
    is "$(goal_mismatches "$db")" "" "$V: after new conversions, goal sums equal the events"
    goal_sums "$ref" "$W/ref2.goals"
    goal_sums "$db" "$W/new.goals"
    same_file "$V: after new conversions, goal sums and abt_metric_stats equal the fresh install's" \
        "$W/new.goals" "$W/ref2.goals"
    snapshot "$ref" portable "$W/ref2"
    snapshot "$db" portable "$W/new-portable"
    same_file "$V: after new visitors, rows equal the fresh install's" "$W/new-portable.rows" "$W/ref2.rows"
    same_file "$V: after new visitors, counters equal the fresh install's" \
        "$W/new-portable.counters" "$W/ref2.counters"
    same_file "$V: after new visitors, answers equal the fresh install's" \
        "$W/new-portable.answers" "$W/ref2.answers"
done

# ------------------------------------- 3. beyond the configuration limits
# (issue 24) A database at a released version may hold more elements per
# experiment (51 here) and variants per element (101) than 1.1 allows: the
# update keeps every row, the experiment keeps answering, and the limits
# then stop growth only.
for V in "${released_versions[@]}"; do
    db=abt_upgrade_wide_${V//./_}_$TAG
    new_db "$db" "$V" || { not_ok "$V (limits): CREATE EXTENSION abtest VERSION '$V'"; continue; }
    run "$db" >/dev/null <<'SQL' || bail "$V (limits): the load failed"
INSERT INTO abtest.experiments (id, name, status) VALUES
    ('ab240000-0000-4000-8000-000000000001', 'wide', 'active');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, position)
SELECT ('ab240000-0000-4000-8001-' || lpad(e::text, 12, '0'))::uuid,
       'ab240000-0000-4000-8000-000000000001', 'el ' || e, e
  FROM generate_series(1, 51) e;
INSERT INTO abtest.element_variants (element_id, name, is_control, position)
SELECT 'ab240000-0000-4000-8001-000000000001', 'v' || v, v = 1, v FROM generate_series(1, 101) v;
INSERT INTO abtest.element_variants (element_id, name, is_control)
SELECT ('ab240000-0000-4000-8001-' || lpad(e::text, 12, '0'))::uuid, 'only', true
  FROM generate_series(2, 51) e;
SQL
    wide_counts="SELECT (SELECT count(*) FROM abtest.experiment_elements
                           WHERE experiment_id = 'ab240000-0000-4000-8000-000000000001')
                        || ' ' || (SELECT count(*) FROM abtest.element_variants
                                    WHERE element_id = 'ab240000-0000-4000-8001-000000000001')"
    if q "$db" "ALTER EXTENSION abtest UPDATE" >"$WORK/wide-update.out" 2>&1; then
        ok "$V (limits): ALTER EXTENSION abtest UPDATE with 51 elements and 101 variants"
    else
        not_ok "$V (limits): ALTER EXTENSION abtest UPDATE with 51 elements and 101 variants"
        sed 's/^/#   /' "$WORK/wide-update.out"
        continue
    fi
    is "$(q "$db" "$wide_counts")" "51 101" "$V (limits): the update keeps every element and variant"
    is "$(q "$db" "SELECT jsonb_array_length(abt_assign('ab240000-0000-4000-8000-000000000001', 'w1')->'elements')")" \
       "51" "$V (limits): the experiment still answers, every element"
    is "$(q "$db" "UPDATE abtest.element_variants SET content = '{\"x\": 1}'
                    WHERE element_id = 'ab240000-0000-4000-8001-000000000001' RETURNING 1" | wc -l)" \
       "101" "$V (limits): its variants may still be edited"
    is "$(q "$db" "INSERT INTO abtest.element_variants (element_id, name)
                    VALUES ('ab240000-0000-4000-8001-000000000001', 'v102')" 2>&1 | grep -o 'too many variants in element')" \
       "too many variants in element" "$V (limits): a 102nd variant is refused"
    is "$(q "$db" "INSERT INTO abtest.experiment_elements (experiment_id, name)
                    VALUES ('ab240000-0000-4000-8000-000000000001', 'el 52')" 2>&1 | grep -o 'too many elements in experiment')" \
       "too many elements in experiment" "$V (limits): a 52nd element is refused"
    is "$(q "$db" "$wide_counts")" "51 101" "$V (limits): nothing was added"
    # a restore loads what was dumped (pg_restore runs with row_security off)
    restored=${db}_restored
    if as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER=postgres \
            "$ABT_BIN/pg_dump" -Fc -d "$db" >"$WORK/wide.dump" 2>"$WORK/wide-restore.out" \
        && q postgres "CREATE DATABASE $restored" >/dev/null && DBS+=("$restored") \
        && as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER=postgres \
            "$ABT_BIN/pg_restore" --exit-on-error -d "$restored" <"$WORK/wide.dump" >"$WORK/wide-restore.out" 2>&1; then
        ok "$V (limits): pg_dump and pg_restore --exit-on-error of it succeed"
    else
        not_ok "$V (limits): pg_dump and pg_restore --exit-on-error of it succeed"
        sed 's/^/#   /' "$WORK/wide-restore.out"
    fi
    is "$(q "$restored" "$wide_counts")" "51 101" "$V (limits): the restore holds every element and variant"
done
finish
