# shellcheck shell=bash
# test/client/lib/counters.sh -- sourced by the client tests: the one
# definition of "the counters equal the rows they count" and "the goal sums
# equal the events they sum", for `is "$(...)" "" DESCRIPTION`.  Each
# function prints nothing when they agree, else what differs (how many,
# and one example per kind).  Needs q (lib/tap.sh, or the caller's own:
# q DB SQL prints one statement's unaligned result).
#
#   counter_mismatches [-q FUNC] DB [PART...]
#       the live counters and rollups against abtest.assignments; PARTs
#       (default: all four; a count that is missing on one side is 0):
#         totals           abtest.variant_totals per variant: allocations =
#                          the assignments that hold the variant,
#                          conversions = those with converted_at
#         experiments      abtest.experiment_timeline summed per experiment:
#                          its assignments, and those with converted_at
#         buckets          the same per 15-minute bucket of assigned_at
#         variant_buckets  abtest.variant_timeline per variant and bucket
#   event_mismatches [-q FUNC] DB [PART...]
#       abtest.assignments against the conversion events; PARTs (default
#       both):
#         converted        converted_at is set exactly for the visitors with
#                          an event in abtest.conversions
#         unassigned       no event of a visitor without an assignment
#   goal_mismatches [-q FUNC] DB
#       1.1's goal sums against the events (abtest.conversions) of the
#       visitors with an assignment, as abtest.rebuild_goal_sums() defines
#       them (each event's value clamped to [-1e15, 1e15], NaN and NULL as
#       0): per visitor and goal abtest.visitor_goals' total and number of
#       events, per variant and goal abtest.goal_counters' visitors, sum of
#       their totals and of their squares (summed over slots)
#   -q FUNC  runs the query with FUNC DB SQL instead of q (another server's)

# The SQL of one PART: a scalar subquery, NULL when the rows agree.
counters__part_sql() {
    case $1 in
        totals) cat <<'SQL' ;;
(WITH a AS (
   SELECT a.experiment_id, s.value::uuid AS variant_id, count(*) AS n, count(a.converted_at) AS c
     FROM abtest.assignments a, jsonb_each_text(a.variants) s GROUP BY 1, 2)
 SELECT count(*) || ' variants differ, e.g. '
        || min(format('variant %s/%s: counters %s/%s, rows %s/%s',
                      coalesce(t.experiment_id, a.experiment_id), coalesce(t.variant_id, a.variant_id),
                      t.total_allocations, t.total_conversions, a.n, a.c))
   FROM abtest.variant_totals t
   FULL JOIN a ON a.experiment_id = t.experiment_id AND a.variant_id = t.variant_id
  WHERE (t.total_allocations, t.total_conversions) IS DISTINCT FROM (coalesce(a.n, 0), coalesce(a.c, 0))
 HAVING count(*) > 0)
SQL
        experiments) cat <<'SQL' ;;
(WITH a AS (
   SELECT experiment_id, count(*) AS n, count(converted_at) AS c FROM abtest.assignments GROUP BY 1),
 r AS (
   SELECT experiment_id, sum(assignments) AS n, sum(conversions) AS c
     FROM abtest.experiment_timeline GROUP BY 1)
 SELECT count(*) || ' experiments'' rollups differ, e.g. '
        || min(format('experiment %s: rollups %s/%s, rows %s/%s', experiment_id, r.n, r.c, a.n, a.c))
   FROM a FULL JOIN r USING (experiment_id)
  WHERE (coalesce(r.n, 0), coalesce(r.c, 0)) <> (coalesce(a.n, 0), coalesce(a.c, 0))
 HAVING count(*) > 0)
SQL
        buckets) cat <<'SQL' ;;
(WITH a AS (
   SELECT experiment_id, date_bin('15 minutes', assigned_at, '2000-01-01 00:00+00') AS bucket,
          count(*) AS n, count(converted_at) AS c
     FROM abtest.assignments GROUP BY 1, 2),
 r AS (
   SELECT experiment_id, bucket, sum(assignments) AS n, sum(conversions) AS c
     FROM abtest.experiment_timeline GROUP BY 1, 2)
 SELECT count(*) || ' experiment buckets differ, e.g. '
        || min(format('experiment %s at %s: rollups %s/%s, rows %s/%s', experiment_id, bucket,
                      r.n, r.c, a.n, a.c))
   FROM a FULL JOIN r USING (experiment_id, bucket)
  WHERE (coalesce(r.n, 0), coalesce(r.c, 0)) <> (coalesce(a.n, 0), coalesce(a.c, 0))
 HAVING count(*) > 0)
SQL
        variant_buckets) cat <<'SQL' ;;
(WITH a AS (
   SELECT a.experiment_id, s.value::uuid AS variant_id,
          date_bin('15 minutes', a.assigned_at, '2000-01-01 00:00+00') AS bucket,
          count(*) AS n, count(a.converted_at) AS c
     FROM abtest.assignments a, jsonb_each_text(a.variants) s GROUP BY 1, 2, 3),
 r AS (
   SELECT experiment_id, variant_id, bucket, sum(assignments) AS n, sum(conversions) AS c
     FROM abtest.variant_rollups GROUP BY 1, 2, 3)
 SELECT count(*) || ' variant buckets differ, e.g. '
        || min(format('variant %s/%s at %s: rollups %s/%s, rows %s/%s', experiment_id, variant_id,
                      bucket, r.n, r.c, a.n, a.c))
   FROM a FULL JOIN r USING (experiment_id, variant_id, bucket)
  WHERE (coalesce(r.n, 0), coalesce(r.c, 0)) <> (coalesce(a.n, 0), coalesce(a.c, 0))
 HAVING count(*) > 0)
SQL
        converted) cat <<'SQL' ;;
(SELECT count(*) || ' visitors'' converted_at differ from their events, e.g. '
        || min(format('%s/%s: converted_at %s', a.experiment_id, a.user_id, a.converted_at))
   FROM abtest.assignments a
  WHERE (a.converted_at IS NOT NULL) <> EXISTS (
        SELECT FROM abtest.conversions c
         WHERE c.experiment_id = a.experiment_id AND c.user_id = a.user_id)
 HAVING count(*) > 0)
SQL
        unassigned) cat <<'SQL' ;;
(SELECT count(*) || ' events of visitors without an assignment, e.g. '
        || min(format('%s/%s: %s', c.experiment_id, c.user_id, c.goal))
   FROM abtest.conversions c
  WHERE NOT EXISTS (
        SELECT FROM abtest.assignments a
         WHERE a.experiment_id = c.experiment_id AND a.user_id = c.user_id)
 HAVING count(*) > 0)
SQL
        *) return 1 ;;
    esac
}

# counters__run DEFAULT_PARTS -- [-q FUNC] DB [PART...]: the parts' SQL in
# one query, '' when all agree
counters__run() {
    local defaults=$1 run=q db part sql=""
    shift 2
    if [ "$1" = -q ]; then run=$2; shift 2; fi
    db=$1
    shift
    # shellcheck disable=SC2086  # the default parts, one word each
    [ $# -gt 0 ] || set -- $defaults
    for part in "$@"; do
        # a misspelt part must fail the check, not pass it with nothing to say
        sql+="${sql:+,
}$(counters__part_sql "$part")" || { echo "no such check: '$part'"; return 1; }
    done
    "$run" "$db" "SELECT concat_ws('; ', $sql)"
}

counter_mismatches() { counters__run "totals experiments buckets variant_buckets" -- "$@"; }
event_mismatches() { counters__run "converted unassigned" -- "$@"; }

goal_mismatches() {
    local run=q
    if [ "$1" = -q ]; then run=$2; shift 2; fi
    "$run" "$1" "$(cat <<'SQL'
WITH y AS (
  SELECT c.experiment_id, c.user_id, c.goal, a.variants, count(*) AS events,
         sum(LEAST(GREATEST(CASE WHEN c.value = 'NaN' THEN 0 ELSE coalesce(c.value, 0) END,
                            -1e15), 1e15)) AS y
    FROM abtest.conversions c
    JOIN abtest.assignments a ON a.experiment_id = c.experiment_id AND a.user_id = c.user_id
   GROUP BY 1, 2, 3, 4),
d AS (
  SELECT y.experiment_id, v.value::uuid AS variant_id, y.goal, count(*) AS n, sum(y.y) AS s,
         sum(y.y * y.y) AS ss
    FROM y, jsonb_each_text(y.variants) v GROUP BY 1, 2, 3),
t AS (
  SELECT experiment_id, variant_id, goal, sum(converters) AS n, sum(value_sum) AS s,
         sum(value_sum_squares) AS ss
    FROM abtest.goal_counters GROUP BY 1, 2, 3)
SELECT concat_ws('; ',
  (SELECT count(*) || ' variant/goal sums differ, e.g. '
          || min(format('%s %s: sums %s/%s/%s, events %s/%s/%s', variant_id, goal,
                        t.n, t.s, t.ss, d.n, d.s, d.ss))
     FROM t FULL JOIN d USING (experiment_id, variant_id, goal)
    WHERE (t.n, t.s, t.ss) IS DISTINCT FROM (d.n, d.s, d.ss)
   HAVING count(*) > 0),
  (SELECT count(*) || ' visitor totals differ, e.g. '
          || min(format('visitor %s %s: %s/%s, events %s/%s', user_id, goal,
                        g.value_total, g.events, y.y, y.events))
     FROM abtest.visitor_goals g FULL JOIN y USING (experiment_id, user_id, goal)
    WHERE (g.value_total, g.events) IS DISTINCT FROM (y.y, y.events)
   HAVING count(*) > 0))
SQL
)"
}
