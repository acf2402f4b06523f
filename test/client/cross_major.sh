#!/usr/bin/env bash
# test/client/cross_major.sh -- a database at abtest 1.0 on PostgreSQL 15,
# dumped with the newer major's pg_dump and restored into the suite's server
# (a later major), then ALTER EXTENSION abtest UPDATE, answers every visitor
# as before (issue 18).
#
# Runs when the suite's server ($ABT_BIN) is of a major above 15 and
# Debian's PostgreSQL 15 is installed with abtest installed for it (the 15
# suite installs it; this test installs nothing into 15); else it skips.
#
# 1. A throwaway PostgreSQL 15 server of its own (initdb as postgres, data
#    and unix socket under $ABT_TMP, no TCP), stopped and removed at exit.
#    A database there gets CREATE EXTENSION abtest VERSION '1.0' and, through
#    1.0's functions, three experiments: two elements with weighted variants;
#    coverage 0.6; one paused after its load.  Visitors come through
#    abt_assign (from three sessions, one held open: two counter slots),
#    abt_assign_bulk and abt_assign_batch; conversions with goals and values,
#    repeated ones, one for an unknown visitor; counters settled by
#    abt_settle_counters and by the pause, then conversions after the
#    settling.  Recorded on 15:
#    every asked (experiment, visitor)'s answer, the live counters
#    (abtest.variant_totals), abt_variant_stats, the rows of 1.0's tables and
#    the realtime publication.
# 2. pg_dump of the suite's major against the 15 server (the newer pg_dump
#    reads the older server, as PostgreSQL recommends), custom format into
#    pg_restore --exit-on-error, and plain format into psql -v ON_ERROR_STOP=1,
#    each into a fresh database on the suite's server; then ALTER EXTENSION
#    abtest UPDATE.  For each:
#     - extversion is abtest.control's default_version;
#     - every asked visitor's answer equals 15's: the variant of every
#       element, enrolled, new=false (and the whole jsonb document);
#     - the live counters equal 15's, and they and the rollups equal the
#       counts derived from the assignment rows (lib/counters.sh);
#       abt_variant_stats equals 15's; every 1.0 table's rows are there
#       (1.0's columns; config_version, a cache stamp the restore
#       renumbers, and the settled copies and slots the settler may fold,
#       aside); the realtime publication has the same options and tables
#       (pg_dump 17 and later write ALTER PUBLICATION ... ADD TABLE for
#       them, which 1.1 lets restore);
#     - the per-goal sums of 1.1 (abtest.visitor_goals, goal_counters) equal
#       what the restored events give: pg_dump writes CREATE EXTENSION
#       without a version, so the restore creates default_version at once
#       (ALTER EXTENSION UPDATE then has nothing to do) and a 1.0 dump has
#       no rows for those tables; the restore rebuilds them from the events
#       (abtest.rebuild_goal_sums()).  (Creating 1.0 first and restoring
#       into it fails instead: 1.0 has no answer to the ALTER PUBLICATION ...
#       ADD TABLE that pg_dump 17 and later write.)
#     - a new visitor gets the answer 15 gives the same visitor (determinism
#       across majors), is returning on the next call, and converts; the
#       counters and rollups still equal the rows.
# Times are fixed (no now() in any compared answer); sessions run in UTC.
set -uo pipefail

: "${PGHOST:?}" "${PGPORT:?}" "${ABT_TMP:?}" "${ABT_BIN:?}"
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1

PG15_BIN=/usr/lib/postgresql/15/bin
PG15_EXT=/usr/share/postgresql/15/extension
PG15_LIB=/usr/lib/postgresql/15/lib

skip_all() { echo "1..0 # SKIP $*"; exit 0; }
MAJOR=$("$ABT_BIN/postgres" -V 2>/dev/null | sed -n 's/^postgres (PostgreSQL) \([0-9]*\).*/\1/p')
if [ -z "$MAJOR" ]; then
    echo "Bail out! cannot read the major of $ABT_BIN/postgres"
    exit 1
fi
if [ "$MAJOR" -le 15 ]; then
    skip_all "the suite's server is PostgreSQL $MAJOR; this test restores a PostgreSQL 15" \
             "dump into a later major (PG_CONFIG=<pg_config of 16 or later> scripts/test runs it)"
fi
if [ ! -x "$PG15_BIN/postgres" ] || [ ! -x "$PG15_BIN/initdb" ]; then
    skip_all "Debian's PostgreSQL 15 is not installed ($PG15_BIN/postgres missing)"
fi
if [ ! -f "$PG15_EXT/abtest--1.0.sql" ] || [ ! -f "$PG15_EXT/abtest.control" ] \
    || [ ! -f "$PG15_LIB/abtest.so" ]; then
    skip_all "abtest is not installed for PostgreSQL 15 ($PG15_EXT/abtest--1.0.sql or" \
             "$PG15_LIB/abtest.so missing); this test installs nothing there: the 15 suite" \
             "(scripts/test without PG_CONFIG, run first in CI) installs it"
fi

TAG=$$_$RANDOM
WORK=$ABT_TMP/cross_major.$TAG
{ mkdir -p "$WORK" && chown postgres: "$WORK" && chmod 755 "$WORK"; } \
    || { echo "Bail out! cannot create $WORK"; exit 1; }
. test/client/lib/tap.sh
. test/client/lib/counters.sh

# The 15 server: unix socket only, in a directory of ours, so any port
# number is free there (the socket file is named after it).
DIR15=$WORK/pg15
PORT15=5415
DB15=abt_cross
DEFAULT=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" abtest.control)
DBS=()

as_pg() { (cd "$WORK" && runuser -u postgres -- env LC_ALL=C.UTF-8 PGTZ=UTC PGUSER=postgres "$@"); }
# on15/on18 CMD...: a client program against the 15 server / the suite's
on15() { local p=$1; shift; as_pg env PGHOST="$DIR15" PGPORT="$PORT15" "$PG15_BIN/$p" "$@"; }
on18() { local p=$1; shift; as_pg env PGHOST="$PGHOST" PGPORT="$PGPORT" "$ABT_BIN/$p" "$@"; }
# run15/run18 DB: SQL on stdin, unaligned; q15/q18 DB SQL: one statement
run15() { on15 psql -X -q -At -v ON_ERROR_STOP=1 -d "$1"; }
run18() { on18 psql -X -q -At -v ON_ERROR_STOP=1 -d "$1"; }
q15() { on15 psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
q18() { on18 psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

cleanup() {
    local d
    if [ -f "$DIR15/data/postmaster.pid" ]; then
        as_pg "$PG15_BIN/pg_ctl" -D "$DIR15/data" -m immediate -w -t 60 stop >/dev/null 2>&1
    fi
    for d in "${DBS[@]}"; do
        q18 postgres "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1
    done
    [ "${ABT_KEEP:-0}" = 1 ] || rm -rf -- "$WORK"      # scripts/test's switch
}
trap cleanup EXIT
trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM

# ------------------------------------------------------ 1. the 15 server
{ mkdir -p "$DIR15" && chown postgres: "$DIR15"; } || bail "cannot create $DIR15"
as_pg "$PG15_BIN/initdb" -D "$DIR15/data" -A trust -U postgres -E UTF8 --no-locale -N \
    >"$WORK/initdb15.log" 2>&1 || { sed 's/^/# /' "$WORK/initdb15.log"; bail "initdb (15) failed"; }
cat >>"$DIR15/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$DIR15'
port = $PORT15
fsync = off
CONF
as_pg "$PG15_BIN/pg_ctl" -D "$DIR15/data" -l "$DIR15/server.log" -w -t 120 start \
    >"$WORK/pg_ctl15.log" 2>&1 \
    || { sed 's/^/# /' "$WORK/pg_ctl15.log" "$DIR15/server.log"; bail "the 15 server did not start"; }
diag "15: $(q15 postgres 'SELECT version()')"
diag "suite's server: $(q18 postgres 'SELECT version()')"

EXP1=d1000000-0000-4000-8000-000000000001       # active, 2 elements, coverage 1
EXP2=d2000000-0000-4000-8000-000000000002       # active, coverage 0.6
EXP3=d3000000-0000-4000-8000-000000000003       # paused after its load
BASE="'2025-03-01 08:00:00+00'::timestamptz"
FIXED_AT="'2025-03-02 12:00:00+00'::timestamptz"

q15 postgres "CREATE DATABASE $DB15" >/dev/null || bail "CREATE DATABASE $DB15 (15)"
run15 "$DB15" >"$WORK/setup15.out" 2>&1 <<SQL || { sed 's/^/# /' "$WORK/setup15.out"; bail "setup at 1.0 on 15"; }
CREATE EXTENSION abtest VERSION '1.0';
INSERT INTO abtest.experiments (id, user_id, name, status, coverage, created_at) VALUES
    ('$EXP1', 'a0000000-0000-4000-8000-0000000000aa', 'homepage', 'draft', 1, $BASE),
    ('$EXP2', 'a0000000-0000-4000-8000-0000000000aa', 'pricing', 'draft', 0.6, $BASE),
    ('$EXP3', NULL, 'onboarding', 'draft', 1, $BASE);
INSERT INTO abtest.experiment_elements (id, experiment_id, name, selector, position, created_at) VALUES
    ('d1100000-0000-4000-8000-000000000011', '$EXP1', 'headline', 'h1.hero', 0, $BASE),
    ('d1200000-0000-4000-8000-000000000012', '$EXP1', 'button', '#signup', 1, $BASE),
    ('d2100000-0000-4000-8000-000000000021', '$EXP2', 'price', '.price', 0, $BASE),
    ('d3100000-0000-4000-8000-000000000031', '$EXP3', 'steps', '#wizard', 0, $BASE);
INSERT INTO abtest.element_variants (id, element_id, name, content, weight, is_control, position, created_at) VALUES
    ('d1110000-0000-4000-8000-000000000111', 'd1100000-0000-4000-8000-000000000011', 'original',
     '{"text": "Welcome"}', 1, true, 0, $BASE),
    ('d1120000-0000-4000-8000-000000000112', 'd1100000-0000-4000-8000-000000000011', 'bold',
     '{"text": "Welcome!", "weight": 700}', 2, false, 1, $BASE),
    ('d1130000-0000-4000-8000-000000000113', 'd1100000-0000-4000-8000-000000000011', 'wave',
     '{"text": "Welcome \ud83d\udc4b"}', 0.5, false, 2, $BASE),
    ('d1210000-0000-4000-8000-000000000121', 'd1200000-0000-4000-8000-000000000012', 'blue',
     '{"color": "#00f"}', 1, true, 0, $BASE),
    ('d1220000-0000-4000-8000-000000000122', 'd1200000-0000-4000-8000-000000000012', 'green',
     '{"color": "#0f0"}', 1, false, 1, $BASE),
    ('d2110000-0000-4000-8000-000000000211', 'd2100000-0000-4000-8000-000000000021', 'low',
     '{"price": 9}', 3, true, 0, $BASE),
    ('d2120000-0000-4000-8000-000000000212', 'd2100000-0000-4000-8000-000000000021', 'high',
     '{"price": 19.5}', 1, false, 1, $BASE),
    ('d3110000-0000-4000-8000-000000000311', 'd3100000-0000-4000-8000-000000000031', 'three steps',
     '{"steps": 3}', 1, true, 0, $BASE),
    ('d3120000-0000-4000-8000-000000000312', 'd3100000-0000-4000-8000-000000000031', 'one page',
     '{"steps": 1}', 1, false, 1, $BASE),
    ('d3130000-0000-4000-8000-000000000313', 'd3100000-0000-4000-8000-000000000031', 'retired',
     '{"steps": 5}', 0, false, 2, $BASE);
UPDATE abtest.experiments SET status = 'active';
SELECT abt_realtime_publish();
SQL

# The visitors: (experiment, visitor) pairs the load asks about.
PAIRS="SELECT e::uuid, u FROM (
           SELECT '$EXP1', 'v' || g FROM generate_series(1, 150) g
           UNION ALL SELECT '$EXP1', 'bulk-' || g FROM generate_series(1, 200) g
           UNION ALL SELECT '$EXP2', 'bulk-' || g FROM generate_series(1, 200) g
           UNION ALL SELECT '$EXP2', 'v' || g FROM generate_series(1, 50) g
           UNION ALL SELECT '$EXP2', 'batch-' || g FROM generate_series(1, 60) g
           UNION ALL SELECT '$EXP3', 'batch-' || g FROM generate_series(1, 60) g
           UNION ALL SELECT '$EXP3', 'v' || g FROM generate_series(1, 80) g
           UNION ALL SELECT '$EXP3', 'stranger-' || g FROM generate_series(1, 10) g) p(e, u)"

# Single calls from three sessions; the first stays connected while the
# other two run, so the counters get rows of two backend slots.  It is fed
# through a fifo; a blocking read of its answer is the synchronisation.
load_session() { # N: SQL of session N
    cat <<SQL
SELECT count(abt_assign('$EXP1', 'v' || g, $BASE + g * interval '3 minutes'))
  FROM generate_series($1 * 50 + 1, $1 * 50 + 50) g;
SELECT count(abt_assign('$EXP3', 'v' || g, $BASE + g * interval '5 minutes'))
  FROM generate_series(1, 80) g WHERE g % 3 = $1;
SELECT count(abt_convert('$EXP1', 'v' || g, 'signup', g * 1.5, $BASE + interval '8 hours'))
  FROM generate_series($1 * 50 + 1, $1 * 50 + 50, 3) g;
SELECT 'session $1 done';
SQL
}
mkfifo "$WORK/s0.in" "$WORK/s0.out" || bail "mkfifo"
run15 "$DB15" <"$WORK/s0.in" >"$WORK/s0.out" 2>&1 &
S0_PID=$!
exec {S0_W}>"$WORK/s0.in" {S0_R}<"$WORK/s0.out"
load_session 0 >&"$S0_W"
line=
while [ "$line" != "session 0 done" ] && IFS= read -r line <&"$S0_R"; do
    printf '%s\n' "$line" >>"$WORK/load15-0.out"
done
[ "$line" = "session 0 done" ] || { sed 's/^/# /' "$WORK/load15-0.out"; bail "load on 15 (session 0)"; }
for s in 1 2; do
    load_session "$s" | run15 "$DB15" >"$WORK/load15-$s.out" 2>&1 \
        || { sed 's/^/# /' "$WORK/load15-$s.out"; bail "load on 15 (session $s)"; }
done
exec {S0_W}>&- {S0_R}<&-
wait "$S0_PID" || bail "session 0 on 15 failed"
run15 "$DB15" >"$WORK/load15.out" 2>&1 <<SQL || { sed 's/^/# /' "$WORK/load15.out"; bail "load on 15"; }
SELECT count(*) FROM abt_assign_bulk('$EXP1', ARRAY(SELECT 'bulk-' || g FROM generate_series(1, 200) g),
                                     $BASE + interval '1 hour 5 minutes');
SELECT count(*) FROM abt_assign_bulk('$EXP2',
    ARRAY(SELECT 'bulk-' || g FROM generate_series(1, 200) g)
    || ARRAY(SELECT 'v' || g FROM generate_series(1, 50) g), $BASE + interval '2 hours');
SELECT count(abt_assign_batch(ARRAY['$EXP3', '$EXP2']::uuid[], 'batch-' || g,
                              $BASE + g * interval '11 minutes'))
  FROM generate_series(1, 60) g;
SELECT count(abt_convert('$EXP1', 'v' || g, 'purchase', 9.99, $BASE + interval '9 hours'))
  FROM generate_series(1, 150, 7) g;
SELECT count(abt_convert('$EXP1', 'bulk-' || g, 'conversion', NULL, $BASE + interval '3 hours'))
  FROM generate_series(1, 200, 5) g;
SELECT count(abt_convert('$EXP2', 'bulk-' || g, 'upgrade', 19.5, $BASE + interval '4 hours'))
  FROM generate_series(1, 200, 4) g;
SELECT count(abt_convert('$EXP2', 'bulk-' || g, 'upgrade', 9, $BASE + interval '5 hours'))
  FROM generate_series(1, 200, 8) g;
SELECT count(abt_convert('$EXP3', 'v' || g, 'conversion', NULL, $BASE + interval '6 hours'))
  FROM generate_series(1, 80, 5) g;
SELECT abt_convert('$EXP1', 'nobody', 'signup', 1, $BASE);
SELECT abt_lead_capture('{"email": "v3@example.com"}', '$EXP1', 'v3');
SELECT abt_settle_counters('$EXP1');
UPDATE abtest.experiments SET status = 'paused' WHERE id = '$EXP3';
-- after the settling: live and settled counters differ
SELECT count(abt_convert('$EXP1', 'v' || g, 'signup', NULL, $BASE + interval '10 hours'))
  FROM generate_series(2, 150, 4) g;
SQL

# ------------------------------------------------------------ snapshots
# answers DB RUNNER OUT: every asked visitor's answer at a fixed time, as
# the choice (enrolled, new, element=variant ...) and as the whole document
answers() {
    "$2" "$1" >"$3.choice" 2>&1 <<SQL
SELECT p.e, p.u, a->>'enrolled', a->>'new',
       coalesce((SELECT string_agg((x->>'element_id') || '=' || (x->>'variant_id'), ' ' ORDER BY o)
                   FROM jsonb_array_elements(a->'elements') WITH ORDINALITY x(x, o)), '-')
  FROM ($PAIRS) p, LATERAL abt_assign(p.e, p.u, $FIXED_AT) a
 ORDER BY p.e, p.u;
SQL
    "$2" "$1" >"$3.answers" 2>&1 <<SQL
SELECT p.e, p.u, abt_assign(p.e, p.u, $FIXED_AT) FROM ($PAIRS) p ORDER BY p.e, p.u;
SQL
}
# counters DB RUNNER OUT: live counters and abt_variant_stats
counters() {
    "$2" "$1" >"$3.live" 2>&1 <<SQL
SELECT t.* FROM abtest.variant_totals t ORDER BY t.experiment_id, t.variant_id;
SQL
    "$2" "$1" >"$3.stats" 2>&1 <<SQL
SELECT s.* FROM abt_variant_stats(ARRAY['$EXP1', '$EXP2', '$EXP3']::uuid[]) WITH ORDINALITY s
 ORDER BY s.ordinality;
SQL
}
# The rows of 1.0's tables, by 1.0's columns: config_version is a stamp the
# restore renumbers; the settled copies (total_*) and the slot rows are what
# a running settler folds (sums compared instead).
TABLE_SQL=(
    "experiments|SELECT id, user_id, name, status, seed, coverage, created_at FROM abtest.experiments"
    "experiment_elements|SELECT * FROM abtest.experiment_elements"
    "element_variants|SELECT id, element_id, name, content, weight, is_control, position, created_at
                        FROM abtest.element_variants"
    "assignments|SELECT * FROM abtest.assignments"
    "conversions|SELECT * FROM abtest.conversions"
    "leads|SELECT * FROM abtest.leads"
    "realtime_publications|SELECT * FROM abtest.realtime_publications"
    "variant_counters|SELECT experiment_id, variant_id, sum(allocations), sum(conversions)
                        FROM abtest.variant_counters GROUP BY 1, 2"
    "experiment_timeline|SELECT experiment_id, bucket, sum(assignments), sum(conversions)
                           FROM abtest.experiment_timeline GROUP BY 1, 2"
    "variant_timeline|SELECT experiment_id, variant_id, bucket, sum(assignments), sum(conversions)
                        FROM abtest.variant_timeline GROUP BY 1, 2, 3"
)
rows() { # DB RUNNER OUT
    local entry
    for entry in "${TABLE_SQL[@]}"; do
        printf '%s\n' "SELECT '${entry%%|*}', count(*), md5(coalesce(string_agg(r::text, E'\n' ORDER BY r::text), ''))
                          FROM (${entry#*|}) r;"
    done | "$2" "$1" >"$3.rows" 2>&1
}
# The realtime publication: its options and tables.
PUB_SQL="SELECT format('%s ins=%s upd=%s del=%s trunc=%s: %s', p.pubname, p.pubinsert, p.pubupdate,
                       p.pubdelete, p.pubtruncate,
                       (SELECT string_agg(t.schemaname || '.' || t.tablename, ',' ORDER BY t.schemaname, t.tablename)
                          FROM pg_publication_tables t WHERE t.pubname = p.pubname))
           FROM pg_publication p ORDER BY p.pubname"
# ------------------------------------------------------- recorded on 15
is "$(q15 "$DB15" "SELECT extversion FROM pg_extension WHERE extname = 'abtest'")" "1.0" \
   "15: the database is at abtest 1.0"
answers "$DB15" run15 "$WORK/v15"
counters "$DB15" run15 "$WORK/v15"
rows "$DB15" run15 "$WORK/v15"
n_pairs=$(wc -l <"$WORK/v15.choice")
PUB15=$(q15 "$DB15" "$PUB_SQL")
diag "15: publication $PUB15"
diag "15: $(q15 "$DB15" "SELECT count(*) || ' assignments, ' || (SELECT count(*) FROM abtest.conversions)
                          || ' conversions, ' || (SELECT count(DISTINCT slot) FROM abtest.variant_counters)
                          || ' counter slots' FROM abtest.assignments")"
is "$(awk -F'|' '$4 != "false"' "$WORK/v15.choice" | head -n 3)" "" \
   "15: all $n_pairs asked visitors are returning (new=false)"
check "15: the coverage 0.6 experiment left some asked visitors out, enrolled most" \
    test "$(grep -c "^$EXP2|.*|false|false|-\$" "$WORK/v15.choice")" -gt 40 \
         -a "$(grep -c "^$EXP2|.*|true|false|" "$WORK/v15.choice")" -gt 150
is "$(counter_mismatches -q q15 "$DB15")" "" "15: live counters and rollups equal the assignment rows"
check "15: settled and live counters differ (conversions after the settling)" \
    test "$(q15 "$DB15" "SELECT count(*) FROM abtest.element_variants v
                          JOIN abtest.variant_totals t ON t.variant_id = v.id
                         WHERE v.total_conversions <> t.total_conversions")" -gt 0

# New visitors on 15, asked after the dump: the same calls on the newer
# major must give the same documents (the hash and bucketing do not depend on
# the major).
FRESH="SELECT g, abt_assign('$EXP1', 'fresh-' || g, $FIXED_AT) FROM generate_series(1, 30) g ORDER BY g"

# ------------------------------------------------------------- 2. dumps
on18 pg_dump -Fc -d "$DB15" -h "$DIR15" -p "$PORT15" -f "$WORK/v15.dump" 2>"$WORK/err" \
    || { sed 's/^/# /' "$WORK/err"; bail "pg_dump -Fc ($MAJOR) of the 15 database failed"; }
on18 pg_dump -d "$DB15" -h "$DIR15" -p "$PORT15" -f "$WORK/v15.sql" 2>"$WORK/err" \
    || { sed 's/^/# /' "$WORK/err"; bail "pg_dump ($MAJOR) of the 15 database failed"; }
ok "pg_dump $MAJOR of the 15 database, custom and plain format"
echo "$FRESH;" | run15 "$DB15" >"$WORK/v15.fresh" 2>&1
as_pg "$PG15_BIN/pg_ctl" -D "$DIR15/data" -m fast -w -t 60 stop >/dev/null 2>&1

verify() { # DB LABEL
    local db=$1 label=$2 got
    diag "$label: extversion after the restore: $(q18 "$db" "SELECT extversion FROM pg_extension WHERE extname = 'abtest'")"
    if run18 "$db" >"$WORK/err" 2>&1 <<<"ALTER EXTENSION abtest UPDATE"; then
        ok "$label: ALTER EXTENSION abtest UPDATE"
    else
        not_ok "$label: ALTER EXTENSION abtest UPDATE"
        sed 's/^/#   /' "$WORK/err"
    fi
    grep -v '^$' "$WORK/err" | sed 's/^/#   /'
    is "$(q18 "$db" "SELECT extversion FROM pg_extension WHERE extname = 'abtest'")" "$DEFAULT" \
       "$label: extversion is default_version $DEFAULT"
    answers "$db" run18 "$WORK/$db"
    same_file "$label: every asked visitor gets 15's variant for every element ($n_pairs pairs; enrolled, new=false)" \
        "$WORK/$db.choice" "$WORK/v15.choice"
    same_file "$label: every asked visitor gets 15's whole answer" "$WORK/$db.answers" "$WORK/v15.answers"
    counters "$db" run18 "$WORK/$db"
    same_file "$label: live counters (abtest.variant_totals) equal 15's" "$WORK/$db.live" "$WORK/v15.live"
    is "$(counter_mismatches -q q18 "$db")" "" "$label: live counters and rollups equal the assignment rows"
    same_file "$label: abt_variant_stats equals 15's" "$WORK/$db.stats" "$WORK/v15.stats"
    rows "$db" run18 "$WORK/$db"
    same_file "$label: the rows of 1.0's tables equal 15's" "$WORK/$db.rows" "$WORK/v15.rows"
    is "$(q18 "$db" "$PUB_SQL")" "$PUB15" "$label: the realtime publication has 15's options and tables"
    is "$(goal_mismatches -q q18 "$db")" "" "$label: the per-goal sums equal the restored events"

    # after the restore: new visitors and conversions
    echo "$FRESH;" | run18 "$db" >"$WORK/$db.fresh" 2>&1
    same_file "$label: new visitors get the answers 15 gives them" "$WORK/$db.fresh" "$WORK/v15.fresh"
    check "$label: ... and they were new" grep -q '"new": true' "$WORK/$db.fresh"
    is "$(q18 "$db" "SELECT count(*) FILTER (WHERE (a->>'new')::boolean) || '/' || count(*)
                      FROM (SELECT abt_assign('$EXP1', 'fresh-' || g, $FIXED_AT) a
                              FROM generate_series(1, 30) g) x")" "0/30" \
       "$label: they are returning on the next call"
    is "$(q18 "$db" "SELECT abt_convert('$EXP1', 'fresh-1', 'signup', 2.5)")" "t" \
       "$label: a new visitor's first conversion counts"
    is "$(q18 "$db" "SELECT abt_convert('$EXP1', 'v1', 'signup', 1)")" "f" \
       "$label: a restored visitor's later conversion is not a first one"
    is "$(q18 "$db" "SELECT coalesce(abt_convert('$EXP1', 'stranger-1')::text, 'null')")" "null" \
       "$label: an unknown visitor's conversion records nothing"
    is "$(q18 "$db" "SELECT (abt_assign('$EXP3', 'fresh-1')->>'enrolled')")" "false" \
       "$label: the paused experiment enrols nobody new"
    is "$(counter_mismatches -q q18 "$db")" "" "$label: after them, live counters and rollups still equal the rows"
    got=$(q18 "$db" "SELECT sum(total_allocations) || '/' || sum(total_conversions) FROM abtest.variant_totals
                     WHERE experiment_id = '$EXP1'")
    is "$got" "$(awk -F'|' -v e="$EXP1" '$1 == e { a += $4; c += $5 } END { print a + 60 "/" c + 2 }' \
                    "$WORK/v15.live")" \
       "$label: the experiment's counters grew by the new visitors (30 x 2 elements) and one conversion"
}

# custom format
DB=abt_xm_fc_$TAG
q18 postgres "CREATE DATABASE $DB" >/dev/null || bail "CREATE DATABASE $DB"
DBS+=("$DB")
if on18 pg_restore --exit-on-error -d "$DB" "$WORK/v15.dump" >"$WORK/err" 2>&1; then
    ok "custom format: pg_restore --exit-on-error into $MAJOR"
else
    not_ok "custom format: pg_restore --exit-on-error into $MAJOR"
    sed 's/^/#   /' "$WORK/err"
fi
verify "$DB" "custom format"

# plain format
DB=abt_xm_sql_$TAG
q18 postgres "CREATE DATABASE $DB" >/dev/null || bail "CREATE DATABASE $DB"
DBS+=("$DB")
if on18 psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -f "$WORK/v15.sql" >"$WORK/err" 2>&1; then
    ok "plain format: psql -v ON_ERROR_STOP=1 into $MAJOR"
else
    not_ok "plain format: psql -v ON_ERROR_STOP=1 into $MAJOR"
    grep -v '^ *$' "$WORK/err" | grep -Ev '^( set_config | setval |-+$|\(1 row\)| *[0-9]+$)' \
        | sed 's/^/#   /'
fi
verify "$DB" "plain format"

finish
