#!/usr/bin/env bash
# test/client/dump_restore.sh -- pg_dump / restore round trip of an abtest
# database, in custom format (pg_dump -Fc | pg_restore --exit-on-error) and as
# plain SQL (pg_dump | psql -v ON_ERROR_STOP=1), each into a fresh database.
#
# Checks, for each restore: it succeeds; every abtest table holds the same
# rows (md5 of all rows, nothing excluded) and the sequences the same state;
# the live counters (abtest.variant_totals) are the same and still equal the
# counts derived from assignments; the goal sums summed over slots and the
# visitors' goal totals are the same (derived data, rebuilt by the restore); a configuration change after the restore
# gets a config_version larger than any restored one; abt_assign gives every
# known visitor the identical answer (new=false); new visitors get the same
# answer as in the original database (deterministic hashing, fixed `at`);
# assigning and converting still work and keep counters consistent; and the
# realtime publication has the same tables and options as in the original.
#
# Publication (PostgreSQL 15 pg_dump): a publication cannot be an extension
# member, so pg_dump writes CREATE PUBLICATION itself, as one of the last
# items, and writes no ALTER PUBLICATION ... ADD TABLE for the extension's
# tables.  The install script therefore does not create the publication
# while a dump is restored (pg_dump and pg_restore run with row_security
# off), and the extension's event trigger adds the realtime tables when the
# dump creates a publication listed in abtest.realtime_publications (restored
# with the data).  Checked here: both formats restore with ON_ERROR_STOP /
# --exit-on-error, the publication has the same tables and options, also when
# it existed before CREATE EXTENSION (as on Supabase).
# config_version is renumbered by the triggers while the restore loads
# elements and variants; it is a cache stamp, so that column is compared
# apart, and a change after the restore must get a larger version.
set -uo pipefail

: "${PGHOST:?}" "${PGPORT:?}" "${ABT_TMP:?}" "${ABT_BIN:?}"
export PGUSER=${PGUSER:-postgres}

TAG=$$_$RANDOM
SRC=abt_dr_src_$TAG            # original database
SUPA=abt_dr_supa_$TAG          # original with a pre-existing publication
DBS=("$SRC" "$SUPA")
WORK=$ABT_TMP/dump_restore.$TAG
PUB=supabase_realtime
EXP_A=a0000000-0000-4000-8000-00000000000a     # active, 2 elements, coverage 0.9
EXP_B=b0000000-0000-4000-8000-00000000000b     # paused, 1 element
EXP_S=5a000000-0000-4000-8000-000000000005     # active, in $SUPA
FIXED_AT="'2024-03-01 12:34:56+00'"

. "$(dirname "${BASH_SOURCE[0]}")/lib/tap.sh"

as_pg() { (cd "$WORK" && runuser -u postgres -- env PGHOST="$PGHOST" PGPORT="$PGPORT" \
    PGUSER=postgres PGTZ=UTC LC_ALL=C.UTF-8 "$@"); }
# q DB SQL: one value (unaligned, tuples only), stop at the first error
q() { as_pg "$ABT_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
# run DB: SQL script on stdin
run() { as_pg "$ABT_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$1"; }

cleanup() {
    local db
    for db in "${DBS[@]}"; do
        as_pg "$ABT_BIN/psql" -X -q -d postgres \
            -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
    done
    rm -rf -- "$WORK"
}
trap cleanup EXIT
trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM

{ mkdir -p "$WORK" && chown postgres: "$WORK"; } || bail "cannot create $WORK"

# ------------------------------------------------------------ original db
create_db() { q postgres "CREATE DATABASE $1" >/dev/null; }

create_db "$SRC" || bail "CREATE DATABASE $SRC"
run "$SRC" >/dev/null <<SQL || bail "could not set up $SRC"
CREATE EXTENSION abtest;
INSERT INTO abtest.experiments (id, user_id, name, coverage)
VALUES ('$EXP_A', 'c0000000-0000-4000-8000-00000000000c', 'homepage', 0.9);
INSERT INTO abtest.experiment_elements (id, experiment_id, name, selector, position) VALUES
  ('a1000000-0000-4000-8000-000000000001', '$EXP_A', 'headline', 'h1.hero', 0),
  ('a2000000-0000-4000-8000-000000000002', '$EXP_A', 'button', '#cta', 1);
INSERT INTO abtest.element_variants (id, element_id, name, content, weight, is_control, position) VALUES
  ('a1100000-0000-4000-8000-000000000011', 'a1000000-0000-4000-8000-000000000001', 'control',
   '{"text": "Welcome"}', 1, true, 0),
  ('a1200000-0000-4000-8000-000000000012', 'a1000000-0000-4000-8000-000000000001', 'bold',
   '{"text": "Welcome!", "style": {"weight": 700}}', 2, false, 1),
  ('a1300000-0000-4000-8000-000000000013', 'a1000000-0000-4000-8000-000000000001', 'emoji',
   '{"text": "Welcome \ud83d\udc4b", "tags": ["x", 1, null]}', 1.5, false, 2),
  ('a2100000-0000-4000-8000-000000000021', 'a2000000-0000-4000-8000-000000000002', 'blue',
   '{"color": "#00f"}', 0.3, true, 0),
  ('a2200000-0000-4000-8000-000000000022', 'a2000000-0000-4000-8000-000000000002', 'green',
   '{"color": "#0f0"}', 0.7, false, 1);
UPDATE abtest.experiments SET status = 'active' WHERE id = '$EXP_A';

INSERT INTO abtest.experiments (id, name, seed, status)
VALUES ('$EXP_B', 'pricing', 'pricing-seed-1', 'draft');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, selector, seed) VALUES
  ('b1000000-0000-4000-8000-000000000001', '$EXP_B', 'price', '.price', 'price-seed');
INSERT INTO abtest.element_variants (id, element_id, name, content, weight, is_control) VALUES
  ('b1100000-0000-4000-8000-000000000011', 'b1000000-0000-4000-8000-000000000001', 'low',
   '{"price": 9}', 1, true),
  ('b1200000-0000-4000-8000-000000000012', 'b1000000-0000-4000-8000-000000000001', 'high',
   '{"price": 19.5}', 1, false);
UPDATE abtest.experiments SET status = 'active' WHERE id = '$EXP_B';

-- ~500 visitors in bulk, one call per experiment (A at a fixed past time)
SELECT count(*) FROM abt_assign_bulk('$EXP_A',
    ARRAY(SELECT 'bulk-' || g FROM generate_series(1, 500) g), '2024-02-29 23:50:00+00');
SELECT count(*) FROM abt_assign_bulk('$EXP_B',
    ARRAY(SELECT 'bulk-' || g FROM generate_series(1, 300) g));
INSERT INTO abtest.leads (payload, experiment_id, variant_id, user_id)
VALUES ('{"email": "a@example.com"}', '$EXP_A', 'a1200000-0000-4000-8000-000000000012', 'bulk-3'),
       ('{"email": "b@example.com"}', '$EXP_B', NULL, 'bulk-4');
SQL
# single assignments and conversions from a few sessions (other counter slots)
for s in 1 2 3; do
    run "$SRC" >/dev/null <<SQL || bail "could not assign/convert in $SRC (session $s)"
SELECT count(abt_assign('$EXP_A', 'single-$s-' || g)) FROM generate_series(1, 20) g;
SELECT count(abt_assign('$EXP_B', 'single-$s-' || g, now() - interval '1 hour')) FROM generate_series(1, 20) g;
SELECT count(abt_convert('$EXP_A', 'bulk-' || g, 'signup', g * 1.5))
  FROM generate_series($s, 500, 7) g;
SELECT count(abt_convert('$EXP_A', 'bulk-' || g, 'purchase', NULL))
  FROM generate_series($s, 500, 21) g;
SELECT count(abt_convert('$EXP_B', 'single-$s-' || g)) FROM generate_series(1, 20, 3) g;
SELECT count(abt_convert('$EXP_A', 'nobody-$s-' || g)) FROM generate_series(1, 5) g;
SQL
done
run "$SRC" >/dev/null <<SQL || bail "could not pause/settle in $SRC"
UPDATE abtest.experiments SET status = 'paused' WHERE id = '$EXP_B';
SELECT abt_settle_counters();
SQL

# --------------------------------------- original with a pre-existing publication
# As on Supabase: supabase_realtime exists (with an application table and
# non-default options) before CREATE EXTENSION abtest.
create_db "$SUPA" || bail "CREATE DATABASE $SUPA"
run "$SUPA" >/dev/null <<SQL || bail "could not set up $SUPA"
CREATE TABLE public.app_events (id int PRIMARY KEY, body text);
INSERT INTO public.app_events VALUES (1, 'hello'), (2, 'world');
CREATE PUBLICATION $PUB FOR TABLE public.app_events WITH (publish = 'insert, update');
CREATE EXTENSION abtest;
INSERT INTO abtest.experiments (id, name, status) VALUES ('$EXP_S', 'signup', 'draft');
WITH el AS (INSERT INTO abtest.experiment_elements (experiment_id, name) VALUES ('$EXP_S', 'form')
            RETURNING id)
INSERT INTO abtest.element_variants (element_id, name, weight, is_control)
SELECT el.id, v.name, v.w, v.c FROM el, (VALUES ('short', 1, true), ('long', 3, false)) v(name, w, c);
UPDATE abtest.experiments SET status = 'active' WHERE id = '$EXP_S';
SELECT count(*) FROM abt_assign_bulk('$EXP_S', ARRAY(SELECT 'v' || g FROM generate_series(1, 50) g));
SELECT count(abt_convert('$EXP_S', 'v' || g)) FROM generate_series(1, 50, 4) g;
SQL

pub_state() { # DB: publication options and tables
    q "$1" "SELECT coalesce((SELECT format('all=%s ins=%s upd=%s del=%s trunc=%s root=%s',
                   puballtables, pubinsert, pubupdate, pubdelete, pubtruncate, pubviaroot)
              FROM pg_publication WHERE pubname = '$PUB'), 'no publication')
         || ' tables=' || coalesce((SELECT string_agg(schemaname || '.' || tablename, ','
                                                      ORDER BY schemaname, tablename)
              FROM pg_publication_tables WHERE pubname = '$PUB'), '')"
}
is "$(pub_state "$SRC")" \
   "all=f ins=t upd=t del=t trunc=t root=f tables=abtest.assignments,abtest.conversions,abtest.element_variants,abtest.variant_counters" \
   "CREATE EXTENSION created publication $PUB with the 4 realtime tables"
is "$(pub_state "$SUPA")" \
   "all=f ins=t upd=t del=f trunc=f root=f tables=abtest.assignments,abtest.conversions,abtest.element_variants,abtest.variant_counters,public.app_events" \
   "CREATE EXTENSION added the 4 tables to the pre-existing $PUB, kept its table and options"

# ------------------------------------------------------------ snapshots
TABLES=(experiments experiment_elements element_variants assignments conversions leads
        variant_counters experiment_timeline variant_timeline)
SEQUENCES=(config_version_seq conversions_id_seq leads_id_seq)

table_sig() { # DB TABLE: row count and md5 of all rows in a fixed order
    q "$1" "SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '-')
              FROM abtest.$2 t"
}
seq_sig() { q "$1" "SELECT last_value || ' ' || is_called FROM abtest.$2"; }
totals_sig() {
    q "$1" "SELECT count(*) || ' ' || md5(string_agg(v::text, ',' ORDER BY v::text))
              FROM abtest.variant_totals v"
}
# Live counters vs the rows they count; '' when they agree, else the differences.
counter_mismatches() {
    q "$1" "WITH a AS (
              SELECT a.experiment_id, s.value::uuid AS variant_id, count(*) AS allocations,
                     count(*) FILTER (WHERE a.converted_at IS NOT NULL) AS conversions
                FROM abtest.assignments a, jsonb_each_text(a.variants) s
               GROUP BY 1, 2)
            SELECT string_agg(format('%s/%s: counters %s/%s, rows %s/%s', t.experiment_id,
                                     t.variant_id, t.total_allocations, t.total_conversions,
                                     coalesce(a.allocations, 0), coalesce(a.conversions, 0)), '; ')
              FROM abtest.variant_totals t
              FULL JOIN a ON a.experiment_id = t.experiment_id AND a.variant_id = t.variant_id
             WHERE (t.total_allocations, t.total_conversions)
                   IS DISTINCT FROM (coalesce(a.allocations, 0), coalesce(a.conversions, 0))"
}
# The answers for the visitors the databases know, with a fixed `at`.
known_answers() {
    q "$1" "SELECT md5(string_agg(x.a::text, E'\n' ORDER BY x.e, x.u)) || ' new='
                   || bool_or((x.a->>'new')::boolean) || ' n=' || count(*)
              FROM (SELECT e, u, abt_assign(e, u, $FIXED_AT) AS a
                      FROM unnest(ARRAY['$EXP_A', '$EXP_B']::uuid[]) e,
                           (SELECT 'bulk-' || g FROM generate_series(1, 500) g
                            UNION ALL
                            SELECT 'single-' || s || '-' || g
                              FROM generate_series(1, 3) s, generate_series(1, 20) g) v(u)) x"
}
known_enrolled() {
    q "$1" "SELECT count(*) FILTER (WHERE (abt_assign('$EXP_A', u, $FIXED_AT)->>'enrolled')::boolean)
              FROM (SELECT 'bulk-' || g FROM generate_series(1, 500) g) v(u)"
}

# The goal sums (1.1) summed over slots and the visitors' totals: derived
# data, not dumped; the restore rebuilds them from the events
# (test/client/goal_sums_restore.sh has the details).
goal_sums_sig() {
    q "$1" "SELECT count(*) || ' ' || coalesce(md5(string_agg(r::text, ',' ORDER BY r::text)), '-')
              FROM (SELECT 's', experiment_id, variant_id, goal, sum(converters),
                           trim_scale(sum(value_sum)), trim_scale(sum(value_sum_squares))
                      FROM abtest.goal_counters GROUP BY 2, 3, 4
                    UNION ALL
                    SELECT 'v', experiment_id, NULL, user_id || '/' || goal, events, trim_scale(value_total), NULL
                      FROM abtest.visitor_goals) r"
}

versions() { q "$1" "SELECT string_agg(name || '=' || config_version, ' ' ORDER BY id) FROM abtest.experiments"; }
# experiments without config_version, to tell a version-only difference apart
experiments_sig_nover() {
    q "$1" "SELECT count(*) || ' ' || md5(string_agg(r::text, ',' ORDER BY r::text))
              FROM (SELECT id, user_id, name, status, seed, coverage, created_at
                      FROM abtest.experiments) r"
}

declare -A ORIG
snapshot() { # DB PREFIX: fill ORIG[PREFIX:...]
    local t
    for t in "${TABLES[@]}"; do ORIG[$2:$t]=$(table_sig "$1" "$t"); done
    for t in "${SEQUENCES[@]}"; do ORIG[$2:seq:$t]=$(seq_sig "$1" "$t"); done
    ORIG[$2:totals]=$(totals_sig "$1")
    ORIG[$2:goalsums]=$(goal_sums_sig "$1")
    ORIG[$2:pub]=$(pub_state "$1")
    ORIG[$2:nover]=$(experiments_sig_nover "$1")
    ORIG[$2:maxver]=$(q "$1" "SELECT max(config_version) FROM abtest.experiments")
    ORIG[$2:versions]=$(versions "$1")
}
snapshot "$SRC" src
snapshot "$SUPA" supa
diag "original: assignments ${ORIG[src:assignments]%% *}, conversions ${ORIG[src:conversions]%% *}," \
     "counter rows ${ORIG[src:variant_counters]%% *}, max config_version ${ORIG[src:maxver]}"
is "$(counter_mismatches "$SRC")" "" "original: live counters equal the assignment rows"
is "$(q "$SRC" "SELECT count(*) FROM abtest.element_variants v JOIN abtest.variant_totals t
                 ON t.variant_id = v.id WHERE (v.total_allocations, v.total_conversions)
                    IS DISTINCT FROM (t.total_allocations, t.total_conversions)")" "0" \
   "original: settled counters equal the live ones"
n_enrolled=$(known_enrolled "$SRC")
check "original: coverage 0.9 enrolled most, not all bulk visitors ($n_enrolled of 500)" \
    test "$n_enrolled" -gt 400 -a "$n_enrolled" -lt 500

# ------------------------------------------------------------ dumps
as_pg "$ABT_BIN/pg_dump" -Fc -d "$SRC" -f "$WORK/src.dump" 2>"$WORK/err" \
    || { cat "$WORK/err"; bail "pg_dump -Fc $SRC failed"; }
as_pg "$ABT_BIN/pg_dump" -d "$SRC" -f "$WORK/src.sql" 2>"$WORK/err" \
    || { cat "$WORK/err"; bail "pg_dump $SRC failed"; }
as_pg "$ABT_BIN/pg_dump" -Fc -d "$SUPA" -f "$WORK/supa.dump" 2>"$WORK/err" \
    || { cat "$WORK/err"; bail "pg_dump -Fc $SUPA failed"; }
as_pg "$ABT_BIN/pg_dump" -d "$SUPA" -f "$WORK/supa.sql" 2>"$WORK/err" \
    || { cat "$WORK/err"; bail "pg_dump $SUPA failed"; }
ok "pg_dump -Fc and plain pg_dump of both databases"

# What pg_dump emits about the publication (diagnostics for the report).
diag "publication: pg_restore -l order of $SRC's dump (non-data items):"
as_pg "$ABT_BIN/pg_restore" -l "$WORK/src.dump" | grep -Ev '^;|TABLE DATA' | sed 's/^/#     /'
diag "publication: statements about publications in $SUPA's plain dump:"
grep -nE '^(CREATE|ALTER) (PUBLICATION|EXTENSION)' "$WORK/supa.sql" | sed 's/^/#     /'
check "pg_dump emits CREATE PUBLICATION after CREATE EXTENSION" \
    awk '/^CREATE EXTENSION .*abtest/ {e = NR} /^CREATE PUBLICATION '"$PUB"'/ {p = NR}
         END {exit !(e && p && e < p)}' "$WORK/src.sql"

# ------------------------------------------------------------ restores
verify_restore() { # DB PREFIX LABEL
    local db=$1 p=$2 label=$3 t
    for t in "${TABLES[@]}"; do
        [ "$t" = experiments ] && continue
        is "$(table_sig "$db" "$t")" "${ORIG[$p:$t]}" "$label: abtest.$t has the same rows"
    done
    # config_version is a cache stamp, not data: the element and variant
    # triggers renumber it while the restore loads them (README, "Backup and
    # restore"); every other column must be the same, and later versions
    # larger than any restored one (checked below).
    is "$(experiments_sig_nover "$db")" "${ORIG[$p:nover]}" \
       "$label: abtest.experiments has the same rows (config_version aside)"
    if [ "$(table_sig "$db" experiments)" != "${ORIG[$p:experiments]}" ]; then
        diag "config_version renumbered:" \
             "  original: ${ORIG[$p:versions]}" "  restored: $(versions "$db")"
    fi
    for t in "${SEQUENCES[@]}"; do
        is "$(seq_sig "$db" "$t")" "${ORIG[$p:seq:$t]}" "$label: sequence abtest.$t has the same state"
    done
    is "$(totals_sig "$db")" "${ORIG[$p:totals]}" "$label: abtest.variant_totals is the same"
    is "$(goal_sums_sig "$db")" "${ORIG[$p:goalsums]}" \
       "$label: the goal sums (over slots) and visitor totals are the same (rebuilt)"
    is "$(pub_state "$db")" "${ORIG[$p:pub]}" "$label: publication $PUB has the same tables and options"
}

# verify_behaviour DB LABEL: only for restores of $SRC
verify_behaviour() {
    local db=$1 label=$2 got v
    is "$(known_answers "$db")" "$(known_answers "$SRC")" \
       "$label: abt_assign answers all known visitors identically (none new)"
    got=$(known_answers "$db")
    is "${got#* }" "new=false n=1120" "$label: every known visitor is a returning one"
    # new visitors: same hash -> same answer (fixed at); in both databases
    v="SELECT string_agg(abt_assign('$EXP_A', 'fresh-$db-' || g, $FIXED_AT)::text, E'\n' ORDER BY g)
         FROM generate_series(1, 30) g"
    got=$(q "$db" "$v")
    is "$got" "$(q "$SRC" "$v")" "$label: new visitors get the same answers as in the original"
    is "$(q "$db" "SELECT count(*) FILTER (WHERE (a->>'new')::boolean) || '/' || count(*)
                     FROM (SELECT abt_assign('$EXP_A', 'fresh-$db-' || g, $FIXED_AT) a
                             FROM generate_series(1, 30) g) x")" \
       "0/30" "$label: those visitors are returning on the second call"
    is "$(q "$db" "SELECT (abt_assign('$EXP_B', 'fresh-$db-1')->>'enrolled')")" "false" \
       "$label: the paused experiment enrols nobody new"
    is "$(q "$db" "SELECT coalesce(abt_convert('$EXP_A', u)::text, 'null')
                     FROM (SELECT 'fresh-$db-' || g u FROM generate_series(1, 30) g) x
                    WHERE (abt_assign('$EXP_A', u, $FIXED_AT)->>'enrolled')::boolean LIMIT 1")" \
       "true" "$label: a new visitor's first conversion counts"
    is "$(counter_mismatches "$db")" "" "$label: live counters still equal the assignment rows"
    got=$(q "$db" "UPDATE abtest.experiments SET coverage = 0.95 WHERE id = '$EXP_A'
                    RETURNING config_version")
    check "$label: a config change gets config_version $got > ${ORIG[src:maxver]} (largest restored)" \
        test "${got:-0}" -gt "${ORIG[src:maxver]}"
    is "$(q "$db" "SELECT abt_assign('$EXP_A', 'bulk-1', $FIXED_AT) = abt_assign('$EXP_A', 'bulk-1', $FIXED_AT)")" \
       "t" "$label: assignment still works after the config change"
    is "$(q "$db" "INSERT INTO abtest.leads DEFAULT VALUES RETURNING id > (SELECT max(id) FROM abtest.leads)")" \
       "t" "$label: leads identity continues after the restored ids"
}

restore_fc() { # DUMPFILE DB LABEL
    q postgres "CREATE DATABASE $2" >/dev/null || bail "CREATE DATABASE $2"
    DBS+=("$2")
    if as_pg "$ABT_BIN/pg_restore" --exit-on-error -d "$2" "$1" >"$WORK/err" 2>&1; then
        ok "$3: pg_restore --exit-on-error succeeds"
    else
        not_ok "$3: pg_restore --exit-on-error succeeds"
        sed 's/^/#   /' "$WORK/err"
    fi
}
restore_sql() { # SQLFILE DB LABEL
    q postgres "CREATE DATABASE $2" >/dev/null || bail "CREATE DATABASE $2"
    DBS+=("$2")
    if as_pg "$ABT_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$2" -f "$1" >"$WORK/err" 2>&1; then
        ok "$3: psql -v ON_ERROR_STOP=1 -f dump.sql succeeds"
    else
        not_ok "$3: psql -v ON_ERROR_STOP=1 -f dump.sql succeeds"
        grep -v '^ *$' "$WORK/err" | grep -Ev '^( set_config | setval |-+$|\(1 row\)| *[0-9]+$)' \
            | sed 's/^/#   /'
    fi
}

restore_fc "$WORK/src.dump" "abt_dr_fc_$TAG" "custom format"
verify_restore "abt_dr_fc_$TAG" src "custom format"
verify_behaviour "abt_dr_fc_$TAG" "custom format"

restore_sql "$WORK/src.sql" "abt_dr_sql_$TAG" "plain SQL"
verify_restore "abt_dr_sql_$TAG" src "plain SQL"
verify_behaviour "abt_dr_sql_$TAG" "plain SQL"

restore_fc "$WORK/supa.dump" "abt_dr_supafc_$TAG" "pre-existing publication, custom format"
verify_restore "abt_dr_supafc_$TAG" supa "pre-existing publication, custom format"
restore_sql "$WORK/supa.sql" "abt_dr_supasql_$TAG" "pre-existing publication, plain SQL"
verify_restore "abt_dr_supasql_$TAG" supa "pre-existing publication, plain SQL"
is "$(q "abt_dr_supafc_$TAG" "SELECT string_agg(body, ',' ORDER BY id) FROM public.app_events")" \
   "hello,world" "pre-existing publication: the application table is restored too"

finish
