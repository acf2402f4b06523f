#!/usr/bin/env bash
# test/client/citus.sh -- abtest distributed with Citus (abt_distribute()) on
# a coordinator and two workers of our own (test/client/lib/citus_cluster.sh),
# against the same workload on one server: database "ref" on the coordinator,
# where abtest's tables stay plain tables.
#
# Skipped (saying why) when Citus is not installed for this PostgreSQL.
# Checks:
#  - abt_distribute() on a database with rows: 5 reference and 7 distributed
#    tables, nothing lost (every count and live total as before); a second
#    call changes nothing;
#  - the page view is delegated ("pushing down the function call"); answers
#    for returning and new visitors, delegated or not (in a transaction
#    block, inside an expression), abt_assign_batch over experiments on both
#    workers, abt_assign_bulk (through the coordinator, and on the worker
#    holding the shards) and abt_convert equal the single server's;
#  - configuration changes through the coordinator (content, a new element,
#    weights, pausing, deleting) reach the next page view, and every node's
#    copy of experiments carries the same config_version; the limits of 100
#    variants per element and 50 elements per experiment hold as on one
#    server;
#  - abt_variant_stats, abt_metric_stats (capped goals and both engines
#    too), abt_metric_power, abt_timeline, variant_totals and
#    abt_settle_counters over experiments on both workers equal the single
#    server's;
#  - 32 pgbench clients mixing delegated and non-delegated calls: the live
#    counters equal the rows, conversion ids are unique; the coordinator's
#    settler (abtest preloaded on every node) then settles element_variants,
#    the workers' settlers fold nothing;
#  - row-level security: an owner's dashboard role (its owner a role setting)
#    reads on the cluster what it reads on one server; a visitor role's page
#    view works and it reads no table;
#  - a worker stopped: the other worker's experiments keep working, the
#    stopped one's fail with an error naming the node; started again, all
#    work;
#  - TRUNCATE: a configuration table alone is refused (55000); TRUNCATE
#    abtest.experiments CASCADE through the coordinator leaves no row in any
#    table, and the same id created again answers as on one server.
set -uo pipefail

: "${ABT_TMP:?}" "${ABT_BIN:?}"

. "$(dirname "${BASH_SOURCE[0]}")/lib/tap.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lib/citus_cluster.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lib/counters.sh"
citus_test_begin citus
# abtest preloaded: each node's launcher starts a settler for the database
citus_start $DB "shared_preload_libraries = 'citus,abtest'" "abtest.settle_interval = '200ms'" \
    "${CITUS_EXTRA_SETTING:-# CITUS_EXTRA_SETTING: a line more for every postgresql.conf}" ||
    bail "could not start the Citus cluster"
ok "a coordinator and two workers of our own (ports $PORT_COORD $PORT_W1 $PORT_W2)"
cq coord postgres "CREATE DATABASE ref" >/dev/null || bail "CREATE DATABASE ref"

# both DB SQL: the same statement's result on the cluster and the single server
both() { cq coord $DB "$1" 2>&1; echo "--"; cq coord ref "$1" 2>&1; }
# same DESCRIPTION SQL: the cluster's result equals the single server's
same() {
    local c r
    c=$(cq coord $DB "$2" 2>&1)
    r=$(cq coord ref "$2" 2>&1)
    if [ "$c" = "$r" ] && [ -n "$c" ]; then ok "$1"; else not_ok "$1"; diag "cluster: ${c:0:1500}" "single:  ${r:0:1500}"; fi
}
# psql_file NODE DB FILE: runs a script, one statement after another
psql_file() {
    "$ABT_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$CLUSTER" -p "$(citus_port "$1")" -U postgres \
        -d "$2" -f "$3" 2>&1
}

# ------------------------------------------------------------ the workload
# Six experiments (ids e..01 to e..06), element h with variants A and B
# (weights 3:2), experiment 1 with a second element; 150 visitors each, a
# third converting (goal purchase, value), assigned over the last 5 hours.
SETUP="
SET abtest.publication = '';
CREATE EXTENSION abtest;
INSERT INTO abtest.experiments (id, name, status)
SELECT format('e0000000-0000-4000-8000-%s', lpad(k::text, 12, '0'))::uuid, 'exp ' || k, 'active'
  FROM generate_series(1, 6) k;
INSERT INTO abtest.experiment_elements (id, experiment_id, name, position)
SELECT format('e1000000-0000-4000-8000-%s', lpad(k::text, 12, '0'))::uuid, id, 'h', 0
  FROM abtest.experiments, LATERAL (SELECT right(id::text, 1)::int AS k) x;
INSERT INTO abtest.experiment_elements (id, experiment_id, name, position)
VALUES ('e1000000-0000-4000-8000-000000000099', 'e0000000-0000-4000-8000-000000000001', 'button', 1);
INSERT INTO abtest.element_variants (id, element_id, name, is_control, weight, position, content)
SELECT format('e2000000-0000-4000-8000-%s%s', v.n, right(el.id::text, 11))::uuid, el.id, v.n,
       v.n = 'A', v.w, v.p, jsonb_build_object('text', v.n)
  FROM abtest.experiment_elements el, (VALUES ('A', 3, 0), ('B', 2, 1)) v(n, w, p);
SELECT count(abt_assign(e.id, 'v' || g, now() - (g || ' minutes')::interval * 2))
  FROM abtest.experiments e, generate_series(1, 150) g;
SELECT count(abt_convert(e.id, 'v' || g, 'purchase', g % 7, now() - (g || ' minutes')::interval))
  FROM abtest.experiments e, generate_series(1, 150, 3) g;"
for d in $DB ref; do
    cq coord $d "$SETUP" >/dev/null || bail "setup of database $d"
done

# a dashboard role of the owner of experiments 1 to 3, created after abtest
# (a role that can log in: Citus connects to the workers as the current
# role), its owner a role setting; and a visitor role with no grant
cq coord postgres "CREATE ROLE dash LOGIN; CREATE ROLE visitor LOGIN;
                   ALTER ROLE dash SET request.jwt.claim.sub = 'e9000000-0000-4000-8000-0000000000da'" \
    >/dev/null || bail "CREATE ROLE"
for d in $DB ref; do
    cq coord $d "UPDATE abtest.experiments SET user_id = 'e9000000-0000-4000-8000-0000000000da'
                  WHERE right(id::text, 1) IN ('1', '2', '3');
                 GRANT USAGE ON SCHEMA abtest TO dash;
                 GRANT SELECT ON ALL TABLES IN SCHEMA abtest TO dash;
                 GRANT EXECUTE ON FUNCTION abt_variant_stats(uuid[]) TO dash" >/dev/null ||
        bail "grants in database $d"
done

COUNTS="SELECT (SELECT count(*) FROM abtest.assignments) || ' ' || (SELECT count(*) FROM abtest.conversions)
        || ' ' || (SELECT count(*) FROM abtest.variant_counters) || ' ' || (SELECT count(*) FROM abtest.experiment_timeline)
        || ' ' || (SELECT count(*) FROM abtest.visitor_goals) || ' ' || (SELECT count(*) FROM abtest.goal_counters)"
TOTALS="SELECT string_agg(variant_id || ':' || total_allocations || ':' || total_conversions, ',' ORDER BY variant_id)
          FROM abtest.variant_totals"
before_counts=$(cq coord $DB "$COUNTS")
before_totals=$(cq coord $DB "$TOTALS")

# ------------------------------------------------------------ distributing
out=$(cq coord $DB "SELECT abt_distribute()" 2>&1)
is "$out" "" "abt_distribute() on a database with rows: no error, no notice"
is "$(cq coord $DB "SELECT count(*) FILTER (WHERE partmethod = 'n') || ' ' || count(*) FILTER (WHERE partmethod = 'h')
                     FROM pg_dist_partition WHERE logicalrelid::text LIKE 'abtest.%'")" "5 9" \
   "5 reference tables (the configuration), 8 distributed by experiment_id and the history by user_id"
is "$(cq coord $DB "SELECT count(DISTINCT colocationid) FROM pg_dist_partition
                     WHERE partmethod = 'h' AND logicalrelid::text LIKE 'abtest.%'
                       AND logicalrelid <> 'abtest.visitor_events'::regclass")" 1 \
   "the distributed tables are co-located"
is "$(cq coord $DB "SELECT column_to_column_name(logicalrelid, partkey) FROM pg_dist_partition
                     WHERE logicalrelid = 'abtest.visitor_events'::regclass")" user_id \
   "CUPED's history abtest.visitor_events is distributed by user_id"
is "$(cq coord $DB "$COUNTS")" "$before_counts" "every table keeps its rows ($before_counts)"
is "$(cq coord $DB "$TOTALS")" "$before_totals" "variant_totals as before"
is "$(cq coord $DB "SELECT pg_relation_size('abtest.assignments') + pg_relation_size('abtest.experiments')")" 0 \
   "the coordinator's local copies are emptied (the rows are in the shards)"
out=$(cq coord $DB "SELECT abt_distribute()" 2>&1)
is "$out" "" "abt_distribute() again: nothing to do, no error"
is "$(cq coord $DB "BEGIN; SELECT abt_distribute(); SELECT current_setting('client_min_messages') || ' '
                    || current_setting('citus.enable_unsafe_triggers'); COMMIT" | grep -v '^$')" "notice off" \
   "abt_distribute() puts the settings it changes back (in the caller's transaction)"
is "$(cq coord ref "SELECT abt_distribute()" 2>&1 | sed -n 's/.*ERROR: *//p')" \
   "Citus is not installed in database \"ref\"" "abt_distribute() without Citus: a clear error"

# the page view reads its experiment's shards directly where they are on
# its node (src/citus.c): it must find the shard Citus finds
is "$(cq coord $DB "SELECT count(*) FROM (SELECT gen_random_uuid() AS u FROM generate_series(1, 3000)) x
                     WHERE abtest.citus_shard('abtest.assignments', u)
                           IS DISTINCT FROM get_shard_id_for_distribution_column('abtest.assignments', u)
                        OR abtest.citus_shard('abtest.experiments', u)
                           IS DISTINCT FROM get_shard_id_for_distribution_column('abtest.experiments')")" 0 \
   "abtest finds the shard of 3000 random experiment ids as Citus does (distributed and reference)"

# the worker holding experiment k's shards
node_of() {
    cq coord $DB "SELECT n.nodeport FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid)
                   WHERE p.shardid = get_shard_id_for_distribution_column('abtest.assignments',
                         'e0000000-0000-4000-8000-00000000000$1')"
}
E_W1=; E_W2=
for k in 1 2 3 4 5 6; do
    case $(node_of $k) in
        "$PORT_W1") [ -z "$E_W1" ] && E_W1=e0000000-0000-4000-8000-00000000000$k ;;
        "$PORT_W2") [ -z "$E_W2" ] && E_W2=e0000000-0000-4000-8000-00000000000$k ;;
    esac
done
check "experiments on both workers (w1: $E_W1, w2: $E_W2)" test -n "$E_W1" -a -n "$E_W2"

# ------------------------------------------------------------ page views
delegated=$("$ABT_BIN/psql" -X -At -h "$CLUSTER" -p "$PORT_COORD" -U postgres -d $DB \
    -c "SET client_min_messages = debug1" -c "SELECT abt_assign('$E_W1', 'v1')" 2>&1)
check "a page view through the coordinator is delegated to its worker" \
    grep -q "pushing down the function call" <<<"$delegated"

# each call a statement of its own (delegated), returning visitors and new ones
{
    for k in 1 2 3 4 5 6; do
        for g in $(seq 140 160); do
            echo "SELECT abt_assign('e0000000-0000-4000-8000-00000000000$k', 'v$g');"
        done
    done
    echo "SELECT abt_convert('$E_W1', 'v155', 'purchase', 9.5);"
    echo "SELECT abt_convert('$E_W2', 'v141');"
    echo "SELECT abt_convert('$E_W2', 'v141');"
} >"$WORK/calls.sql"
c=$(psql_file coord $DB "$WORK/calls.sql"); r=$(psql_file coord ref "$WORK/calls.sql")
is "$(md5sum <<<"$c")" "$(md5sum <<<"$r")" "126 delegated page views and 3 conversions: answers equal the single server's"
# not delegated: in a transaction block, inside an expression, many in one statement
NOT_DELEGATED="
BEGIN;
SELECT abt_assign('$E_W2', 'tx1');
SELECT abt_convert('$E_W2', 'tx1', 'purchase', 3);
COMMIT;
SELECT abt_assign('$E_W1', 'expr1') ->> 'new';
SELECT string_agg(abt_assign(e.id, 'many' || g)::text, ',' ORDER BY e.id, g)
  FROM abtest.experiments e, generate_series(1, 20) g;
SELECT abt_assign_batch(ARRAY['$E_W1', '$E_W2']::uuid[], 'v7');
SELECT abt_assign_batch(ARRAY['$E_W2', '$E_W1']::uuid[], 'batch-new');"
echo "$NOT_DELEGATED" >"$WORK/not_delegated.sql"
c=$(psql_file coord $DB "$WORK/not_delegated.sql"); r=$(psql_file coord ref "$WORK/not_delegated.sql")
is "$(md5sum <<<"$c")" "$(md5sum <<<"$r")" \
   "calls Citus does not delegate (transaction block, expression, 120 in one statement, batches over both workers) equal the single server's"
[ "$c" = "$r" ] || diag "cluster: ${c:0:600}" "single: ${r:0:600}"

# an import (abt_assign_bulk): through the coordinator, and on the worker
# holding the experiment's shards (the statements run on the shards)
same "abt_assign_bulk through the coordinator" \
     "SELECT string_agg(user_id || ':' || assignment::text, ',' ORDER BY user_id)
        FROM abt_assign_bulk('$E_W2', ARRAY(SELECT 'bulk' || g FROM generate_series(1, 50) g))"
c=$(cq w1 $DB "SELECT string_agg(user_id || ':' || assignment::text, ',' ORDER BY user_id)
                 FROM abt_assign_bulk('$E_W1', ARRAY(SELECT 'bulk' || g FROM generate_series(1, 50) g))" 2>&1)
r=$(cq coord ref "SELECT string_agg(user_id || ':' || assignment::text, ',' ORDER BY user_id)
                 FROM abt_assign_bulk('$E_W1', ARRAY(SELECT 'bulk' || g FROM generate_series(1, 50) g))" 2>&1)
is "$(md5sum <<<"$c")" "$(md5sum <<<"$r")" "abt_assign_bulk on the worker holding the shards"
same "the bulk imports' live totals" "$TOTALS"

# ------------------------------------------------------------ configuration
versions_equal() {
    [ "$(cq coord $DB "SELECT count(DISTINCT result) FROM run_command_on_all_nodes(
           \$\$SELECT string_agg(id || ':' || config_version || ':' || status, ',' ORDER BY id) FROM abtest.experiments\$\$)")" = 1 ]
}
# do SQL: the same change on the cluster and on the single server
do_both() { cq coord $DB "$1" >/dev/null && cq coord ref "$1" >/dev/null; }
for e in "$E_W1" "$E_W2"; do
    k=${e: -1}
    same "a returning visitor's answer ($e)" "SELECT abt_assign('$e', 'cfg1')::text"
    do_both "UPDATE abtest.element_variants SET content = '{\"text\": \"new\"}'
              WHERE element_id IN (SELECT id FROM abtest.experiment_elements WHERE experiment_id = '$e')"
    same "edited content reaches the next page view ($e)" "SELECT abt_assign('$e', 'cfg1')::text"
    is "$(cq coord $DB "SELECT DISTINCT x->'content'->>'text' FROM jsonb_array_elements(
                          abt_assign('$e', 'cfg1')->'elements') x")" new "... with the new content ($e)"
    do_both "INSERT INTO abtest.experiment_elements (id, experiment_id, name, position)
              VALUES ('e1000000-0000-4000-8000-00000000100$k', '$e', 'footer', 5);
             INSERT INTO abtest.element_variants (id, element_id, name, is_control, weight)
              VALUES ('e2000000-0000-4000-8000-00000000100$k', 'e1000000-0000-4000-8000-00000000100$k', 'only', true, 1)"
    same "a new element: the next page views (returning, new) as on one server ($e)" \
         "SELECT abt_assign('$e', 'cfg1')::text || abt_assign('$e', 'cfg-new')::text"
    do_both "UPDATE abtest.element_variants SET weight = 0
              WHERE name = 'A' AND element_id IN (SELECT id FROM abtest.experiment_elements WHERE experiment_id = '$e')"
    is "$(cq coord $DB "SELECT count(*) FROM generate_series(1, 40) g,
                          jsonb_array_elements(abt_assign('$e', 'w0-' || g)->'elements') x
                         WHERE x->>'variant' = 'A'")" 0 "weights 0:2 reach new visitors: nobody gets A ($e)"
    cq coord ref "SELECT count(abt_assign('$e', 'w0-' || g)) FROM generate_series(1, 40) g" >/dev/null
done
check "every node's copy of experiments has the same config_version and status" versions_equal

# ------------------------------------------------------------ many experiments
# namespaces (the exclusion constraint on a reference table), a holdout (a
# covered experiment's page view writes the holdout's rows too, on its own
# shard), and a pinned visitor: as on one server
MANY="
INSERT INTO abtest.experiments (id, user_id, name, status, seed, coverage, kind) VALUES
  ('e0000000-0000-4000-8000-0000000000f0', 'e9000000-0000-4000-8000-000000000001', 'holdout', 'active', 'hold', 0.2, 'holdout');
INSERT INTO abtest.experiments (id, user_id, name, status, holdout_id, namespace, namespace_start, namespace_end) VALUES
  ('e0000000-0000-4000-8000-0000000000f1', 'e9000000-0000-4000-8000-000000000001', 'left', 'active',
   'e0000000-0000-4000-8000-0000000000f0', 'hero', 0, 0.5),
  ('e0000000-0000-4000-8000-0000000000f2', 'e9000000-0000-4000-8000-000000000001', 'right', 'active',
   NULL, 'hero', 0.5, 1);
INSERT INTO abtest.experiment_elements (id, experiment_id, name) VALUES
  ('e1000000-0000-4000-8000-0000000000f0', 'e0000000-0000-4000-8000-0000000000f0', 'group'),
  ('e1000000-0000-4000-8000-0000000000f1', 'e0000000-0000-4000-8000-0000000000f1', 'h'),
  ('e1000000-0000-4000-8000-0000000000f2', 'e0000000-0000-4000-8000-0000000000f2', 'h');
INSERT INTO abtest.element_variants (id, element_id, name, is_control, position)
SELECT format('e2000000-0000-4000-8000-%s00000000%s', v.p, right(el.id::text, 3))::uuid, el.id,
       v.name, v.control, v.p
  FROM abtest.experiment_elements el, (VALUES (0, 'holdout', true), (1, 'comparison', false)) v(p, name, control)
 WHERE el.experiment_id::text LIKE 'e0000000-0000-4000-8000-0000000000f%';
INSERT INTO abtest.forced_variants (experiment_id, user_id, element_id, variant_id) VALUES
  ('e0000000-0000-4000-8000-0000000000f2', 'qa', 'e1000000-0000-4000-8000-0000000000f2',
   'e2000000-0000-4000-8000-1000000000f2')"
do_both "$MANY"
same "an overlapping namespace range is refused with the same error" \
     "DO \$\$ BEGIN INSERT INTO abtest.experiments (user_id, name, status, namespace, namespace_start, namespace_end)
             VALUES ('e9000000-0000-4000-8000-000000000001', 'overlap', 'active', 'hero', 0.4, 0.6);
      EXCEPTION WHEN exclusion_violation THEN RAISE NOTICE '%', SQLERRM; END \$\$;
      SELECT count(*) FROM abtest.experiments WHERE name = 'overlap'"
# the configuration tables' limits (issue 24): their triggers run on each
# node's copy of the reference tables, and refuse the 101st variant and the
# 51st element there as on one server
LIMITS="DO \$\$
BEGIN
    INSERT INTO abtest.experiments (id, user_id, name) VALUES
      ('e0000000-0000-4000-8000-0000000000c1', 'e9000000-0000-4000-8000-000000000001', 'limits');
    INSERT INTO abtest.experiment_elements (id, experiment_id, name)
    SELECT ('e1000000-0000-4000-8000-0000000c' || lpad(i::text, 4, '0'))::uuid,
           'e0000000-0000-4000-8000-0000000000c1', 'el' || i FROM generate_series(1, 50) i;
    INSERT INTO abtest.element_variants (element_id, name)
    SELECT 'e1000000-0000-4000-8000-0000000c0001', 'v' || i FROM generate_series(1, 100) i;
    BEGIN
        INSERT INTO abtest.element_variants (element_id, name)
        VALUES ('e1000000-0000-4000-8000-0000000c0001', 'v101');
    EXCEPTION WHEN program_limit_exceeded THEN RAISE NOTICE '%', SQLERRM;
    END;
    BEGIN
        INSERT INTO abtest.experiment_elements (experiment_id, name)
        VALUES ('e0000000-0000-4000-8000-0000000000c1', 'el51');
    EXCEPTION WHEN program_limit_exceeded THEN RAISE NOTICE '%', SQLERRM;
    END;
END \$\$;
SELECT (SELECT count(*) FROM abtest.experiment_elements WHERE experiment_id = 'e0000000-0000-4000-8000-0000000000c1')
       || ' ' || (SELECT count(*) FROM abtest.element_variants WHERE element_id = 'e1000000-0000-4000-8000-0000000c0001')"
same "100 variants per element and 50 elements per experiment, as on one server" "$LIMITS"
is "$(cq coord $DB "SELECT bool_and(result = '100') FROM run_command_on_all_nodes(
       \$\$SELECT count(*) FROM abtest.element_variants WHERE element_id = 'e1000000-0000-4000-8000-0000000c0001'\$\$)")" t \
   "... and every node's copy holds the 100 variants"
do_both "DELETE FROM abtest.experiments WHERE id = 'e0000000-0000-4000-8000-0000000000c1'"
{
    for g in $(seq 1 60); do
        for k in 1 2; do echo "SELECT abt_assign('e0000000-0000-4000-8000-0000000000f$k', 'ns$g');"; done
    done
    echo "SELECT abt_assign('e0000000-0000-4000-8000-0000000000f2', 'qa');"
    echo "SELECT abt_assign_batch(ARRAY['e0000000-0000-4000-8000-0000000000f1', 'e0000000-0000-4000-8000-0000000000f2']::uuid[], 'qa');"
} >"$WORK/many.sql"
c=$(psql_file coord $DB "$WORK/many.sql"); r=$(psql_file coord ref "$WORK/many.sql")
is "$(md5sum <<<"$c")" "$(md5sum <<<"$r")" \
   "namespaces, a holdout and a pinned visitor: 122 page views answer as on one server"
[ "$c" = "$r" ] || diag "cluster: ${c:0:600}" "single: ${r:0:600}"
same "the holdout's and the covered experiments' rows are as on one server" \
     "SELECT string_agg(experiment_id || ':' || user_id || ':' || variants::text, ',' ORDER BY experiment_id, user_id)
        FROM abtest.assignments WHERE experiment_id::text LIKE 'e0000000-0000-4000-8000-0000000000f%'"

# ------------------------------------------------------------ analytics
ALL="ARRAY(SELECT id FROM abtest.experiments ORDER BY id)"
same "variant_totals" "$TOTALS"
same "abt_variant_stats over all experiments (both workers)" \
     "SELECT string_agg(s::text, E'\n' ORDER BY s::text) FROM abt_variant_stats($ALL) s"
same "abt_metric_stats over all experiments" \
     "SELECT string_agg(s::text, E'\n' ORDER BY s::text) FROM abt_metric_stats($ALL) s"
# capping and the Bayesian engine (issue 23): the goals' settings in a
# reference table, the capped sums read from each experiment's shards
# (visitor_goals and assignments, one router query each)
check "capped goals with priors on the cluster and on the single server" do_both "INSERT INTO abtest.goals (experiment_id, goal, cap_type, cap_value, cap_ignore_zeros, prior_proper, prior_mean)
         SELECT id, 'purchase',
                (ARRAY['percentile', 'percentile', 'absolute'])[1 + k % 3],
                (ARRAY[0.9, 0.5, 4])[1 + k % 3], k % 3 = 1, k % 2 = 0, 0.1
           FROM abtest.experiments, LATERAL (SELECT right(id::text, 1)::int AS k) x
          WHERE id::text LIKE 'e0000000-0000-4000-8000-00000000000%'"
same "abt_metric_stats with capped goals, frequentist and Bayesian (proper priors too)" \
     "SELECT string_agg(s::text, E'\n' ORDER BY s::text)
        FROM (SELECT * FROM abt_metric_stats($ALL) UNION ALL SELECT * FROM abt_metric_stats($ALL, engine => 'bayesian')) s"
is "$(cq coord $DB "SELECT string_agg(DISTINCT cap::text, ' ' ORDER BY cap::text) FROM abt_metric_stats($ALL)")" \
   "$(cq coord ref "SELECT string_agg(DISTINCT cap::text, ' ' ORDER BY cap::text) FROM abt_metric_stats($ALL)")" \
   "... with the same caps ($(cq coord ref "SELECT string_agg(DISTINCT cap::text, ' ' ORDER BY cap::text) FROM abt_metric_stats($ALL)"))"
same "abt_metric_power over all experiments" \
     "SELECT string_agg(p::text, E'\n' ORDER BY p::text) FROM abt_metric_power($ALL, 'purchase', 0.2) p"
# a capped goal's queries read one experiment's shards: each is routed to
# its one shard of visitor_goals (and of assignments)
routed=$("$ABT_BIN/psql" -X -At -h "$CLUSTER" -p "$PORT_COORD" -U postgres -d $DB \
    -c "SET citus.log_remote_commands = on" -c "SET client_min_messages = log" \
    -c "SELECT count(*) FROM abt_metric_stats(ARRAY['$E_W1']::uuid[], goals => '{purchase}')" 2>&1)
is "$(grep 'visitor_goals' <<<"$routed" | grep -o 'visitor_goals_[0-9]*' | sort -u | wc -l) $(grep 'visitor_goals' <<<"$routed" | grep -o 'assignments_[0-9]*' | sort -u | wc -l)" \
   "1 1" "a capped goal's queries each read one shard of visitor_goals and of assignments (router queries)"
do_both "DELETE FROM abtest.goals"
for e in "$E_W1" "$E_W2"; do
    same "abt_timeline, 6 hours ($e)" \
         "SELECT string_agg(t::text, ',' ORDER BY bucket) FROM abt_timeline('$e', 6) t"
    same "abt_timeline_variants ($e)" \
         "SELECT string_agg(t::text, ',' ORDER BY t::text) FROM abt_timeline_variants('$e', 6) t"
done
same "abt_settle_counters() then element_variants' settled totals" \
     "SELECT abt_settle_counters() >= 0, (SELECT string_agg(id || ':' || total_allocations || ':' || total_conversions, ','
                                           ORDER BY id) FROM abtest.element_variants)"
same "live totals after settling" "$TOTALS"
# pausing and deleting
for d in $DB ref; do
    cq coord $d "UPDATE abtest.experiments SET status = 'paused' WHERE id = '$E_W2'" >/dev/null
done
same "pausing reaches the page view" "SELECT abt_assign('$E_W2', 'after-pause')::text"
check "after pausing, every node's copy agrees" versions_equal
for d in $DB ref; do
    cq coord $d "DELETE FROM abtest.experiments WHERE id = '$E_W2'" >/dev/null
done
same "deleting: the page view says the experiment does not exist" \
     "DO \$\$ BEGIN PERFORM abt_assign('$E_W2', 'v1'); EXCEPTION WHEN no_data_found THEN RAISE NOTICE 'P0002'; END \$\$;
      SELECT 'deleted'"
same "deleting removes the experiment's rows from every table" \
     "SELECT (SELECT count(*) FROM abtest.assignments WHERE experiment_id = '$E_W2') + (SELECT count(*) FROM abtest.conversions WHERE experiment_id = '$E_W2')
           + (SELECT count(*) FROM abtest.variant_counters WHERE experiment_id = '$E_W2') + (SELECT count(*) FROM abtest.visitor_goals WHERE experiment_id = '$E_W2')
           + (SELECT count(*) FROM abtest.experiment_timeline WHERE experiment_id = '$E_W2') || ' rows left'"
same "the other experiments keep their totals" "$TOTALS"

# ------------------------------------------------------------ roles
# cqu ROLE DB SQL: as ROLE, through the coordinator
cqu() {
    "$ABT_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$CLUSTER" -p "$PORT_COORD" -U "$1" -d "$2" -c "$3" 2>&1
}
for sql in "SELECT string_agg(experiment_id || ':' || n, ',' ORDER BY experiment_id)
              FROM (SELECT experiment_id, count(*) AS n FROM abtest.assignments GROUP BY 1) a" \
           "SELECT string_agg(id::text, ',' ORDER BY id) FROM abtest.experiments" \
           "SELECT count(*) FROM abtest.element_variants" \
           "SELECT string_agg(s::text, E'\n' ORDER BY s::text) FROM abt_variant_stats($ALL) s"; do
    c=$(cqu dash $DB "$sql"); r=$(cqu dash ref "$sql")
    if [ "$c" = "$r" ] && [ -n "$c" ]; then
        ok "row-level security on the cluster: an owner's dashboard role reads what it reads on one server (${sql:0:60})"
    else
        not_ok "row-level security: ${sql:0:60}"; diag "cluster: ${c:0:400}" "single: ${r:0:400}"
    fi
done
is "$(cqu visitor $DB "SELECT abt_assign('$E_W1', 'v3') ->> 'status'")" active "a visitor role's page view works"
check "a visitor role cannot read the assignments" \
    grep -q "permission denied" <<<"$(cqu visitor $DB "SELECT count(*) FROM abtest.assignments")"

# ------------------------------------------------------------ load
# 32 clients: delegated calls, calls in a transaction block (not
# delegated), wrapped calls; new and returning visitors, a third converting
for k in 1 2 3 4 5 6; do
    e=e0000000-0000-4000-8000-00000000000$k
    [ "$e" = "$E_W2" ] && continue
    cat >"$WORK/load$k.sql" <<SQL
\\set u random(1, 400)
SELECT abt_assign('$e', 'load' || :u);
SELECT abt_convert('$e', 'load' || (:u * 3));
BEGIN;
SELECT abt_assign('$e', 'tx' || :u);
SELECT abt_convert('$e', 'tx' || :u, 'purchase', 2);
COMMIT;
SELECT abt_assign('$e', 'w' || :client_id || '-' || :u) ->> 'new';
SQL
done
mapfile -t scripts < <(for f in "$WORK"/load*.sql; do printf -- '-f\n%s\n' "$f"; done)
citus_as_pg "$ABT_BIN/pgbench" -n -h "$CLUSTER" -p "$PORT_COORD" -U postgres -c 32 -j 4 -t 20 \
    "${scripts[@]}" $DB >"$WORK/pgbench.log" 2>&1
is "$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$WORK/pgbench.log")" 0 \
   "32 clients mixing delegated and non-delegated calls: no failed transaction"
grep -E "^(number of transactions actually processed|tps)" "$WORK/pgbench.log" | sed 's/^/# /'
q_coord() { cq coord "$1" "$2"; }     # q for lib/counters.sh: through the coordinator
is "$(counter_mismatches -q q_coord $DB totals)" "" "after the load, the live counters equal the assignment rows"
is "$(cq coord $DB "SELECT count(*) - count(DISTINCT id) FROM abtest.conversions")" 0 \
   "conversion ids are unique across the nodes"
is "$(event_mismatches -q q_coord $DB converted)" "" \
   "converted_at is set exactly for the visitors with a conversion"

# the coordinator's settler folds the distributed counters into the
# reference table element_variants; the workers' settlers leave it to it
SETTLED="SELECT (SELECT count(*) FROM abtest.element_variants v JOIN abtest.variant_totals t ON t.variant_id = v.id
                  WHERE (v.total_allocations, v.total_conversions) <> (t.total_allocations, t.total_conversions))
              + (SELECT count(*) FROM abtest.variant_counters WHERE slot <> 0)"
settled() { [ "$(cq coord $DB "$SETTLED")" = 0 ]; }
settled_in_time=no
for _ in $(seq 1 300); do
    if settled; then settled_in_time=yes; break; fi
    sleep 0.1
done
is "$settled_in_time" yes "with no call, the coordinator's settler settles element_variants to the live totals"
is "$(cq coord $DB "SELECT rows_folded > 0 FROM abtest.settler")" t "abtest.settler on the coordinator shows its folds"
is "$(cq w1 $DB "SELECT count(*) FROM abtest.settler_status") $(cq w2 $DB "SELECT count(*) FROM abtest.settler_status")" \
   "0 0" "the workers' settlers fold nothing"

# ------------------------------------------------------------ a worker down
citus_as_pg "$ABT_BIN/pg_ctl" -D "$CLUSTER/w2" -m fast -w -t 30 stop >/dev/null 2>&1
W1_NEW=
for k in 1 2 3 4 5 6; do
    [ "$(node_of $k)" = "$PORT_W1" ] && W1_NEW="$W1_NEW e0000000-0000-4000-8000-00000000000$k"
done
alive=0
for e in $W1_NEW; do
    cq coord $DB "SELECT abt_assign('$e', 'w2-down') ->> 'status'" >/dev/null 2>&1 && alive=$((alive + 1))
done
is "$alive" "$(wc -w <<<"$W1_NEW")" "worker 2 stopped: every experiment on worker 1 still answers"
E_W2B=
for k in 1 2 3 4 5 6; do
    [ "$(node_of $k)" = "$PORT_W2" ] && [ "e0000000-0000-4000-8000-00000000000$k" != "$E_W2" ] &&
        E_W2B=e0000000-0000-4000-8000-00000000000$k
done
if [ -n "$E_W2B" ]; then
    err=$(cq coord $DB "SELECT abt_assign('$E_W2B', 'w2-down')" 2>&1)
    check "an experiment on the stopped worker fails with an error naming the node" \
        grep -q "localhost:$PORT_W2" <<<"$err"
    diag "error: $(head -n1 <<<"$err")"
else
    ok "# SKIP no other experiment on worker 2"
fi
citus_as_pg "$ABT_BIN/pg_ctl" -D "$CLUSTER/w2" -l "$CLUSTER/w2.log" -w -t 60 start >/dev/null 2>&1
if [ -n "$E_W2B" ]; then
    check "worker 2 started again: its experiments answer" \
        cq coord $DB "SELECT abt_assign('$E_W2B', 'w2-back')"
fi

# ------------------------------------------------------------ TRUNCATE
# (issue 24) a configuration table alone is refused on the coordinator as
# on one server (the triggers on the nodes' copies do nothing), and
# TRUNCATE abtest.experiments CASCADE through the coordinator empties every
# distributed table's shards; the same id created again starts afresh, with
# a config_version above every one the nodes' copies had (their "+ 1"
# bumps run ahead of the coordinator's sequence)
totals_before=$(cq coord $DB "$TOTALS")
for t in goals "element_variants CASCADE"; do
    is "$(cq coord $DB "SET client_min_messages = warning;
                        DO \$\$ BEGIN TRUNCATE abtest.$t; RAISE EXCEPTION 'not refused';
                        EXCEPTION WHEN object_not_in_prerequisite_state THEN NULL; END \$\$; SELECT 'refused'" 2>&1)" \
       refused "TRUNCATE abtest.$t alone is refused (55000)"
done
is "$(cq coord $DB "$TOTALS")" "$totals_before" "  nothing truncated"
highest=$(cq coord $DB "SELECT max(result::bigint) FROM run_command_on_all_nodes(
                          \$\$SELECT max(config_version) FROM abtest.experiments\$\$)")
for d in $DB ref; do
    # the settlers folding meanwhile (worker 2 just restarted) cannot make
    # it fail: citus_settler_race.sh
    out=$(cq coord $d "TRUNCATE abtest.experiments CASCADE" 2>&1) ||
        { not_ok "TRUNCATE abtest.experiments CASCADE ($d)"; diag "$out"; }
done
LEFT="SELECT (SELECT count(*) FROM abtest.assignments) || ' ' || (SELECT count(*) FROM abtest.conversions)
             || ' ' || (SELECT count(*) FROM abtest.variant_counters) || ' ' || (SELECT count(*) FROM abtest.experiment_timeline)
             || ' ' || (SELECT count(*) FROM abtest.variant_rollups) || ' ' || (SELECT count(*) FROM abtest.visitor_goals)
             || ' ' || (SELECT count(*) FROM abtest.goal_counters) || ' ' || (SELECT count(*) FROM abtest.element_variants)"
is "$(cq coord $DB "$LEFT")" "0 0 0 0 0 0 0 0" \
   "TRUNCATE abtest.experiments CASCADE through the coordinator: no row left in any table"
for d in $DB ref; do
    cq coord $d "INSERT INTO abtest.experiments (id, name, status) VALUES ('$E_W1', 'again', 'active');
                 INSERT INTO abtest.experiment_elements (id, experiment_id, name)
                 VALUES ('e1000000-0000-4000-8000-000000000777', '$E_W1', 'again');
                 INSERT INTO abtest.element_variants (id, element_id, name, is_control)
                 VALUES ('e2000000-0000-4000-8000-000000000777', 'e1000000-0000-4000-8000-000000000777', 'C', true)" \
        >/dev/null || not_ok "re-creating $E_W1 ($d)"
done
same "the same id again: a returning visitor of before is a new visitor with the new element" \
     "SELECT abt_assign('$E_W1', 'v1')::text"
check "  every node's copy of experiments agrees" versions_equal
is "$(cq coord $DB "SELECT config_version > $highest FROM abtest.experiments")" t \
   "  its config_version is above every one the nodes' copies had before ($highest)"

# ------------------------------------------------------------ abt_track
# (issue 20) events of visitors across experiments on both workers, as on
# one server: pre-exposure history (abt_track before the assignment), new
# visitors' covariates taken by page views Citus delegates to the
# experiment's worker, later events by abt_track (on the coordinator: it
# has no experiment argument) and by delegated abt_convert, late history
# (an event before the assignment, tracked after it: the covariate moves).
# Experiments t1 to t6: t1 to t3 look back on purchase (7 days), t4
# declares purchase without a lookback, t5 and t6 declare no goal.
TRACK_SETUP="
INSERT INTO abtest.experiments (id, name, status)
SELECT format('e7000000-0000-4000-8000-%s', lpad(k::text, 12, '0'))::uuid, 'track ' || k, 'active'
  FROM generate_series(1, 6) k;
INSERT INTO abtest.experiment_elements (id, experiment_id, name)
SELECT format('e7100000-0000-4000-8000-%s', lpad(k::text, 12, '0'))::uuid,
       format('e7000000-0000-4000-8000-%s', lpad(k::text, 12, '0'))::uuid, 'h'
  FROM generate_series(1, 6) k;
INSERT INTO abtest.element_variants (id, element_id, name, is_control, weight)
SELECT format('e72%s0000-0000-4000-8000-%s', v.i, lpad(k::text, 12, '0'))::uuid,
       format('e7100000-0000-4000-8000-%s', lpad(k::text, 12, '0'))::uuid, v.n, v.i = 0, 1
  FROM generate_series(1, 6) k, (VALUES (0, 'A'), (1, 'B')) v(i, n);
INSERT INTO abtest.goals (experiment_id, goal, cuped_lookback)
SELECT format('e7000000-0000-4000-8000-%s', lpad(k::text, 12, '0'))::uuid, 'purchase',
       CASE WHEN k <= 3 THEN interval '7 days' END
  FROM generate_series(1, 4) k"
TRACK_START=$SECONDS
for d in $DB ref; do
    cq coord $d "$TRACK_SETUP" >/dev/null || bail "abt_track's experiments in database $d"
done
T_IDS=$(cq coord $DB "SELECT string_agg(DISTINCT n.nodeport::text, ' ') FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid)
                       WHERE p.shardid IN (SELECT get_shard_id_for_distribution_column('abtest.assignments', id)
                                             FROM abtest.experiments WHERE id::text LIKE 'e7000000-%')")
is "$(wc -w <<<"$T_IDS")" 2 "abt_track's six experiments live on both workers"
# visitor tv<g> is assigned in experiment k unless (g + k) % 3 = 0; an
# event's value is g % 5 (0 too), NULL for every seventh
track_file() {   # FILE: the workload, one call a statement (page views delegated)
    {
        for g in $(seq 1 30); do
            v=$((g % 5)); [ $((g % 7)) = 0 ] && v=NULL
            echo "SELECT abt_track('tv$g', 'purchase', $v, now() - interval '2 days');"
            [ $((g % 4)) = 0 ] && echo "SELECT abt_track('tv$g', 'purchase', 1, now() - interval '30 days');"
        done
        for g in $(seq 1 30); do
            for k in 1 2 3 4 5 6; do
                [ $(((g + k) % 3)) = 0 ] && continue
                echo "SELECT abt_assign('e7000000-0000-4000-8000-00000000000$k', 'tv$g');"
            done
        done
        for g in $(seq 1 30); do
            echo "SELECT abt_track('tv$g', 'purchase', $(((g * 3) % 11)));"
            [ $((g % 3)) = 0 ] && echo "SELECT abt_track('tv$g', 'signup');"
            [ $((g % 5)) = 0 ] && echo "SELECT abt_track('tv$g', 'purchase', 2, now() - interval '1 hour');"
            [ $((g % 6)) = 1 ] && echo "SELECT abt_convert('e7000000-0000-4000-8000-000000000001', 'tv$g', 'purchase', 4);"
        done
    } >"$1"
}
track_file "$WORK/track.sql"
c=$(psql_file coord $DB "$WORK/track.sql"); r=$(psql_file coord ref "$WORK/track.sql")
is "$(md5sum <<<"$c")" "$(md5sum <<<"$r")" \
   "history, delegated page views, abt_track and delegated abt_convert: every answer equals the single server's"
[ "$c" = "$r" ] || diag "cluster: $(tr '\n' ' ' <<<"${c:0:600}")" "single: $(tr '\n' ' ' <<<"${r:0:600}")"
# abt_track's answers: the number of experiments that counted the event
# (a page view's answer shown as "page")
c=$(sed 's/^{.*/page/' <<<"$c")
want=$( {
    for g in $(seq 1 30); do
        echo 0; [ $((g % 4)) = 0 ] && echo 0
    done
    for g in $(seq 1 30); do
        for k in 1 2 3 4 5 6; do [ $(((g + k) % 3)) = 0 ] || echo page; done
    done
    for g in $(seq 1 30); do
        n=0; for k in 1 2 3 4 5 6; do [ $(((g + k) % 3)) = 0 ] || n=$((n + 1)); done
        echo $n
        # signup: every experiment (a trusted caller's goal is not held to
        # the declared ones)
        [ $((g % 3)) = 0 ] && echo $n
        [ $((g % 5)) = 0 ] && echo 0
        # abt_convert: not the first conversion (f), NULL without an assignment
        if [ $((g % 6)) = 1 ]; then [ $(((g + 1) % 3)) = 0 ] && echo "" || echo f; fi
    done
} )
is "$(md5sum <<<"$c")" "$(md5sum <<<"$want")" \
   "abt_track returned the number of the visitor's experiments that count the goal, each call"
[ "$c" = "$want" ] || diag "cluster: $(tr '\n' ' ' <<<"${c:0:600}")" "wanted: $(tr '\n' ' ' <<<"${want:0:600}")"
q_coord() { cq coord "$1" "$2"; }
is "$(counter_mismatches -q q_coord $DB totals experiments)" "" "abt_track: the live counters equal the assignment rows"
is "$(event_mismatches -q q_coord $DB converted)" "" "abt_track: converted_at is set exactly for the visitors with an event"
# The nine goal sums against their recomputation from the rows
# (test/sql/track.sql's, over copies of the rows on the coordinator: the
# history is distributed by user_id, the rest by experiment_id)
SUMS_DIFFER="
CREATE TEMP TABLE a AS SELECT experiment_id, user_id, assigned_at, variants FROM abtest.assignments
 WHERE experiment_id::text LIKE 'e7000000-%';
CREATE TEMP TABLE c AS SELECT experiment_id, user_id, goal, value FROM abtest.conversions
 WHERE experiment_id::text LIKE 'e7000000-%';
CREATE TEMP TABLE h AS SELECT user_id, goal, value, at FROM abtest.visitor_events;
CREATE TEMP TABLE g AS SELECT experiment_id, goal, cuped_lookback FROM abtest.goals
 WHERE experiment_id::text LIKE 'e7000000-%';
CREATE TEMP TABLE k AS SELECT * FROM abtest.goal_counters WHERE experiment_id::text LIKE 'e7000000-%';
WITH y AS (
    SELECT c.experiment_id, c.user_id, c.goal, sum(coalesce(c.value, 0)) AS y FROM c GROUP BY 1, 2, 3),
x AS (
    SELECT a.experiment_id, a.user_id, g.goal, coalesce(sum(coalesce(h.value, 0)), 0) AS x,
           count(h.at) > 0 AS flag
      FROM a JOIN g ON g.experiment_id = a.experiment_id AND g.cuped_lookback IS NOT NULL
      LEFT JOIN h ON h.user_id = a.user_id AND h.goal = g.goal
       AND h.at >= a.assigned_at - g.cuped_lookback AND h.at < a.assigned_at
     GROUP BY 1, 2, 3),
per AS (
    SELECT coalesce(y.experiment_id, x.experiment_id) AS e, coalesce(y.user_id, x.user_id) AS u,
           coalesce(y.goal, x.goal) AS goal, y.y, x.x, x.flag
      FROM y FULL JOIN x ON x.experiment_id = y.experiment_id AND x.user_id = y.user_id AND x.goal = y.goal),
want AS (
    SELECT per.e, v.value::uuid AS variant, per.goal, count(per.y) AS n, coalesce(sum(per.y), 0) AS s,
           coalesce(sum(per.y * per.y), 0) AS q, count(per.x) AS cv, coalesce(sum(per.x), 0) AS cs,
           coalesce(sum(per.x * per.x), 0) AS cq, count(*) FILTER (WHERE per.flag) AS cc,
           coalesce(sum(per.x * per.y), 0) AS xs, count(*) FILTER (WHERE per.flag AND per.y IS NOT NULL) AS xc
      FROM per JOIN a ON a.experiment_id = per.e AND a.user_id = per.u, jsonb_each_text(a.variants) v
     GROUP BY 1, 2, 3),
have AS (
    SELECT experiment_id AS e, variant_id AS variant, goal, -sum(converters) AS n, -sum(value_sum) AS s,
           -sum(value_sum_squares) AS q, -sum(covariate_visitors) AS cv, -sum(covariate_sum) AS cs,
           -sum(covariate_sum_squares) AS cq, -sum(covariate_converters) AS cc, -sum(cross_sum) AS xs,
           -sum(cross_converters) AS xc
      FROM k GROUP BY 1, 2, 3)
SELECT (SELECT count(*) FROM (
           SELECT e, variant, goal FROM (SELECT * FROM want UNION ALL SELECT * FROM have) d GROUP BY 1, 2, 3
           HAVING sum(n) <> 0 OR sum(s) <> 0 OR sum(q) <> 0 OR sum(cv) <> 0 OR sum(cs) <> 0
               OR sum(cq) <> 0 OR sum(cc) <> 0 OR sum(xs) <> 0 OR sum(xc) <> 0) bad)
       || ' of ' || (SELECT count(*) FROM want) || ' groups differ; covariates '
       || (SELECT sum(cv) FROM want) || ', cross sum ' || (SELECT sum(xs) FROM want)"
same "abt_track: the nine goal sums equal their recomputation from the rows, as on one server" "$SUMS_DIFFER"
is "$(cq coord $DB "$SUMS_DIFFER" | cut -d' ' -f1)" 0 "  ... no group differs"
T_ALL="ARRAY(SELECT id FROM abtest.experiments WHERE id::text LIKE 'e7000000-%' ORDER BY id)"
same "abt_metric_stats with CUPED over abt_track's experiments" \
     "SELECT string_agg(s::text, E'\n' ORDER BY s::text) FROM abt_metric_stats($T_ALL) s"

# The visitor's lock on a cluster: an event and the visitor's first
# assignment wait for each other wherever each runs (the event on the
# coordinator, the assignment delegated to the experiment's worker or run
# there in a transaction block), with the visitor's history on the other
# worker: the event counts once, as a covariate or as an outcome.
T1=e7000000-0000-4000-8000-000000000001
T1_PORT=$(cq coord $DB "SELECT n.nodeport FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid)
                         WHERE p.shardid = get_shard_id_for_distribution_column('abtest.assignments', '$T1'::uuid)")
T1_NODE=w1 HISTORY_NODE=w2; [ "$T1_PORT" = "$PORT_W2" ] && T1_NODE=w2 HISTORY_NODE=w1
# a visitor name PREFIX-<i> whose history lives on the other worker
far_visitor() {
    cq coord $DB "SELECT u FROM (SELECT '$1-' || i AS u FROM generate_series(1, 100) i) x
                   WHERE (SELECT n.nodeport FROM pg_dist_placement p JOIN pg_dist_node n USING (groupid)
                           WHERE p.shardid = get_shard_id_for_distribution_column('abtest.visitor_events', u))
                         <> $T1_PORT LIMIT 1"
}
wait_until() {   # CMD...: polls it (at most 30 s)
    for _ in $(seq 1 300); do "$@" && return 0; sleep 0.1; done
    return 1
}
# hold_begin NODE SQL: a session on NODE runs BEGIN and SQL and keeps the
# transaction open; hold_end commits it
hold_begin() {
    rm -f "$WORK/hold.in" "$WORK/hold.out"; mkfifo "$WORK/hold.in"
    "$ABT_BIN/psql" -X -q -At -h "$CLUSTER" -p "$(citus_port "$1")" -U postgres -d $DB \
        <"$WORK/hold.in" >"$WORK/hold.out" 2>&1 &
    HOLD_PID=$!
    exec 7>"$WORK/hold.in"
    printf 'BEGIN;\n%s;\n\\echo held\n' "$2" >&7
    wait_until grep -q '^held$' "$WORK/hold.out"
}
hold_end() { echo "COMMIT;" >&7; exec 7>&-; wait "$HOLD_PID"; }
waiting_for_visitor_lock() {   # a session waits for a visitor's lock on the history's node
    [ "$(cq $HISTORY_NODE $DB "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND NOT granted")" != 0 ]
}
# the event first (its transaction open), then a delegated first assignment
V1=$(far_visitor race-event)
check "an event's transaction on the coordinator holds visitor $V1's lock" \
    hold_begin coord "SELECT abt_track('$V1', 'purchase', 7, now() - interval '1 hour')"
cq coord $DB "SELECT abt_assign('$T1', '$V1')" >"$WORK/second.out" 2>&1 &
SECOND=$!
check "  the visitor's first assignment, delegated to $T1_NODE, waits for it on $HISTORY_NODE" wait_until waiting_for_visitor_lock
hold_end
wait "$SECOND"
check "  then assigns the visitor" grep -q '"new": true' "$WORK/second.out"
is "$(cq coord $DB "SELECT covariate || ' ' || had_event FROM abtest.visitor_covariates
                     WHERE experiment_id = '$T1' AND user_id = '$V1' AND goal = 'purchase'")" "7 true" \
   "  and takes the event as its covariate"
# the first assignment first (in a transaction block on the experiment's
# worker), then an event through the coordinator
V2=$(far_visitor race-assign)
check "a first assignment's transaction on $T1_NODE holds visitor $V2's lock" \
    hold_begin $T1_NODE "SELECT abt_assign('$T1', '$V2') ->> 'new'"
cq coord $DB "SELECT abt_track('$V2', 'purchase', 5)" >"$WORK/second.out" 2>&1 &
SECOND=$!
check "  an event of the visitor through the coordinator waits for it on $HISTORY_NODE" wait_until waiting_for_visitor_lock
hold_end
wait "$SECOND"
is "$(cat "$WORK/second.out")" 1 "  then counts in the new assignment (abt_track returns 1)"
is "$(cq coord $DB "SELECT (SELECT string_agg(value::text, ',') FROM abtest.conversions WHERE experiment_id = '$T1' AND user_id = '$V2')
                     || ' ' || (SELECT covariate || ' ' || had_event FROM abtest.visitor_covariates
                                 WHERE experiment_id = '$T1' AND user_id = '$V2')")" "5 0 false" \
   "  as an outcome, not a covariate"
is "$(cq coord $DB "$SUMS_DIFFER" | cut -d' ' -f1)" 0 "after the races, no goal sum differs from its recomputation"
diag "abt_track's part took $((SECONDS - TRACK_START)) s"

finish
