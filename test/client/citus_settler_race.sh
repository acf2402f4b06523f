#!/usr/bin/env bash
# test/client/citus_settler_race.sh -- the coordinator's settler folding
# while visitors and a dashboard work, on a Citus cluster of our own (a
# coordinator and two workers, test/client/lib/citus_cluster.sh): no
# configuration change, TRUNCATE or page view may be cancelled because the
# settler runs.  It used to be: its fold held slot rows, the experiment's
# lock and table locks, then waited for locks clients hold across their
# transactions (Citus's shard write locks of element_variants,
# experiment_elements and experiments for its UPDATE of the totals; the
# table lock of element_variants under TRUNCATE ... CASCADE), and the
# cycles ended in "deadlock detected" or Citus's "canceling the transaction
# since it was involved in a distributed deadlock" (src/settle.c,
# lock_fold_tables_nowait).
#
# Skipped (saying why) when Citus is not installed for this PostgreSQL.
# About 60 seconds.  Checks, with the settler folding every 20 ms:
#  - for RACE_SECONDS (20): 4 clients of page views and conversions on six
#    experiments, and a dashboard looping over two transactions: a new
#    experiment in one transaction (experiment, element, two variants, a
#    pinned visitor: the inserts of citus.sh's MANY), visited, then
#    deleted; and an edit of a visited experiment (a variant's weight, then
#    pausing it) and its resumption.  No transaction of either failed, the
#    settler folded meanwhile, and afterwards the counters equal the rows
#    and element_variants settles;
#  - TRUNCATE abtest.experiments CASCADE through the coordinator, 15 times,
#    each right after a burst of page views (the settler folding them), and
#    the six experiments created again in one transaction: every one
#    succeeds;
#  - no node's log shows a deadlock (the settler was no victim either).
set -uo pipefail

: "${ABT_TMP:?}" "${ABT_BIN:?}"

RACE_SECONDS=${RACE_SECONDS:-20}
TRUNCATES=${TRUNCATES:-15}
. "$(dirname "${BASH_SOURCE[0]}")/lib/tap.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lib/citus_cluster.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lib/counters.sh"
citus_test_begin citus_race
# a short deadlock_timeout: a cycle is found (and a victim cancelled) soon
citus_start $DB "shared_preload_libraries = 'citus,abtest'" "abtest.settle_interval = '20ms'" \
    "deadlock_timeout = '100ms'" || bail "could not start the Citus cluster"
ok "a coordinator and two workers of our own (ports $PORT_COORD $PORT_W1 $PORT_W2)"

# six experiments (e..01 to e..06), element h with variants A and B (those
# missing: a TRUNCATE below may have failed)
SEED="
INSERT INTO abtest.experiments (id, name, status)
SELECT format('e0000000-0000-4000-8000-%s', lpad(k::text, 12, '0'))::uuid, 'exp ' || k, 'active'
  FROM generate_series(1, 6) k
    ON CONFLICT DO NOTHING;
INSERT INTO abtest.experiment_elements (id, experiment_id, name, position)
SELECT format('e1000000-0000-4000-8000-%s', lpad(right(id::text, 1), 12, '0'))::uuid, id, 'h', 0
  FROM abtest.experiments
    ON CONFLICT DO NOTHING;
INSERT INTO abtest.element_variants (id, element_id, name, is_control, weight, position)
SELECT format('e2000000-0000-4000-8000-%s%s', v.n, right(el.id::text, 11))::uuid, el.id, v.n,
       v.n = 'A', v.w, v.p
  FROM abtest.experiment_elements el, (VALUES ('A', 3, 0), ('B', 2, 1)) v(n, w, p)
    ON CONFLICT DO NOTHING;"
cq coord $DB "SET abtest.publication = ''; CREATE EXTENSION abtest; $SEED" >/dev/null ||
    bail "CREATE EXTENSION abtest and the experiments"
cq coord $DB "SELECT abt_distribute()" >/dev/null || bail "abt_distribute()"

# pgbench_run NAME ARGS...: pgbench through the coordinator, its report in $WORK/NAME.log
pgbench_run() {
    local name=$1
    shift
    citus_as_pg "$ABT_BIN/pgbench" -n --verbose-errors -h "$CLUSTER" -p "$PORT_COORD" -U postgres "$@" $DB \
        >"$WORK/$name.log" 2>&1
}
# pgbench_outcome NAME: "exit N, T processed, F failed" from its report
pgbench_outcome() {
    printf 'exit %s, %s processed, %s failed' "$(cat "$WORK/$1.rc")" \
        "$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$WORK/$1.log")" \
        "$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$WORK/$1.log")"
}
# show_failures NAME: what failed in pgbench NAME
show_failures() {
    grep -E "ERROR|aborted" "$WORK/$1.log" | sed 's/^client [0-9]* //' | sort | uniq -c | sort -rn |
        head -n 5 | cut -c 1-300 |
        sed 's/^/#   /'
}
# show_deadlocks: the deadlocks in each node's log
show_deadlocks() {
    local node
    for node in coord w1 w2; do
        grep -h -A 3 "deadlock" "$CLUSTER/$node.log" | grep -E "ERROR|Process |STATEMENT|Backend Query" |
            head -n 12 | cut -c 1-300 | sed "s/^/#   $node: /"
    done
}

# ------------------------------------------------------------ the race
cat >"$WORK/visitors.sql" <<'SQL'
\set e random(1, 6)
\set u random(1, 100000)
SELECT abt_assign(('e0000000-0000-4000-8000-00000000000' || :e)::uuid, 'u' || :u);
SELECT abt_convert(('e0000000-0000-4000-8000-00000000000' || :e)::uuid, 'u' || (:u - 1), 'purchase', 2);
SQL
# a new experiment in one transaction, visited, deleted
cat >"$WORK/create.sql" <<'SQL'
\set k random(1, 999999999)
BEGIN;
INSERT INTO abtest.experiments (id, name, status)
VALUES (('e5000000-0000-4000-8000-' || lpad(:k::text, 12, '0'))::uuid, 'new', 'active');
INSERT INTO abtest.experiment_elements (id, experiment_id, name)
VALUES (('e6000000-0000-4000-8000-' || lpad(:k::text, 12, '0'))::uuid,
        ('e5000000-0000-4000-8000-' || lpad(:k::text, 12, '0'))::uuid, 'h');
INSERT INTO abtest.element_variants (element_id, name, is_control, position)
SELECT el.id, v.name, v.c, v.p
  FROM abtest.experiment_elements el, (VALUES (0, 'a', true), (1, 'b', false)) v(p, name, c)
 WHERE el.id = ('e6000000-0000-4000-8000-' || lpad(:k::text, 12, '0'))::uuid;
INSERT INTO abtest.forced_variants (experiment_id, user_id, element_id, variant_id)
SELECT ('e5000000-0000-4000-8000-' || lpad(:k::text, 12, '0'))::uuid, 'qa', v.element_id, v.id
  FROM abtest.element_variants v
 WHERE v.element_id = ('e6000000-0000-4000-8000-' || lpad(:k::text, 12, '0'))::uuid AND v.name = 'b';
COMMIT;
SELECT count(abt_assign(('e5000000-0000-4000-8000-' || lpad(:k::text, 12, '0'))::uuid, 'n' || g))
  FROM generate_series(1, 3) g;
DELETE FROM abtest.experiments WHERE id = ('e5000000-0000-4000-8000-' || lpad(:k::text, 12, '0'))::uuid;
SQL
# an edit of a visited experiment: a weight, then pausing it; resumed
cat >"$WORK/edit.sql" <<'SQL'
\set e random(1, 6)
\set w random(1, 5)
BEGIN;
UPDATE abtest.element_variants SET weight = :w
 WHERE element_id = ('e1000000-0000-4000-8000-00000000000' || :e)::uuid AND name = 'B';
UPDATE abtest.experiments SET status = 'paused' WHERE id = ('e0000000-0000-4000-8000-00000000000' || :e)::uuid;
COMMIT;
UPDATE abtest.experiments SET status = 'active' WHERE id = ('e0000000-0000-4000-8000-00000000000' || :e)::uuid;
SQL
folded_before=$(cq coord $DB "SELECT coalesce((SELECT rows_folded FROM abtest.settler_status), 0)")
{ pgbench_run visitors -c 4 -j 2 -T "$RACE_SECONDS" -f "$WORK/visitors.sql"; echo $? >"$WORK/visitors.rc"; } &
{ pgbench_run dashboard -c 1 -T "$RACE_SECONDS" -f "$WORK/create.sql" -f "$WORK/edit.sql"; echo $? >"$WORK/dashboard.rc"; } &
wait
outcome=$(pgbench_outcome dashboard)
if [[ $outcome =~ ^"exit 0, "[1-9][0-9]*" processed, 0 failed"$ ]]; then
    ok "a dashboard's configuration changes for ${RACE_SECONDS} s while the settler folds: none cancelled ($outcome)"
else
    not_ok "a dashboard's configuration changes while the settler folds: none cancelled ($outcome)"
    show_failures dashboard
fi
outcome=$(pgbench_outcome visitors)
if [[ $outcome =~ ^"exit 0, "[1-9][0-9]*" processed, 0 failed"$ ]]; then
    ok "4 clients' page views and conversions meanwhile: none cancelled ($outcome)"
else
    not_ok "4 clients' page views and conversions meanwhile: none cancelled ($outcome)"
    show_failures visitors
fi
is "$(cq coord $DB "SELECT rows_folded > $folded_before FROM abtest.settler_status")" t \
   "the coordinator's settler folded meanwhile"
q_coord() { cq coord "$1" "$2"; }     # q for lib/counters.sh: through the coordinator
is "$(counter_mismatches -q q_coord $DB totals)" "" "the live counters equal the assignment rows"
SETTLED="SELECT (SELECT count(*) FROM abtest.element_variants v JOIN abtest.variant_totals t ON t.variant_id = v.id
                  WHERE (v.total_allocations, v.total_conversions) <> (t.total_allocations, t.total_conversions))
              + (SELECT count(*) FROM abtest.variant_counters WHERE slot <> 0)"
settled=no
for _ in $(seq 1 300); do
    if [ "$(cq coord $DB "$SETTLED")" = 0 ]; then settled=yes; break; fi
    sleep 0.1
done
is "$settled" yes "then the settler settles element_variants (every experiment it skipped is folded later)"

# ------------------------------------------------------------ TRUNCATE
failures=0
for i in $(seq 1 "$TRUNCATES"); do
    if [ "$i" -gt 1 ] && ! out=$(cq coord $DB "$SEED" 2>&1 >/dev/null); then
        failures=$((failures + 1))
        diag "the experiments created again ($i): $(head -n 1 <<<"$out")"
    fi
    # (their experiments are missing only when the line above failed)
    pgbench_run burst -c 4 -j 2 -t 25 -f "$WORK/visitors.sql" || diag "page views before TRUNCATE $i failed"
    if ! out=$(cq coord $DB "SET client_min_messages = warning; TRUNCATE abtest.experiments CASCADE" 2>&1); then
        failures=$((failures + 1))
        diag "TRUNCATE $i: $(head -n 1 <<<"$out")"
    fi
done
is "$failures" 0 \
   "TRUNCATE abtest.experiments CASCADE $TRUNCATES times right after page views, and the experiments created again, the settler folding: none fails"

# ------------------------------------------------------------ the logs
deadlocks=$(cat "$CLUSTER"/coord.log "$CLUSTER"/w1.log "$CLUSTER"/w2.log | grep -c "deadlock")
is "$deadlocks" 0 "no node's log shows a deadlock (the settler was no victim either)"
[ "$deadlocks" = 0 ] || show_deadlocks

finish
