#!/usr/bin/env bash
# test/client/huge_values.sh -- issue 24, item 1: no visitor's value can
# disable an experiment through numeric overflow of the goal sums, and no
# value a 1.0 database stored can make the update to 1.1 fail.
#
# Runs against a server of its own (initdb as postgres in $ABT_TMP, unix
# socket only, shared_preload_libraries = 'abtest', abtest.settle_interval =
# 200ms), with Supabase's roles (anon, authenticated, service_role) and a
# login role `authenticator` that SETs ROLE as PostgREST does.  Checks, every
# wait a bounded poll on a condition:
#  - on an experiment without declared goals, and on one declaring the goal
#    with max_value NULL: two visitors of one variant, each from its own
#    connection as anon, send abt_convert(e, v, 'revenue', 9e65535) (each
#    one's square fits in numeric, their sum did not): both get 22003 and
#    nothing is written;
#  - the bound itself (1e15, ABT_MAX_EVENT_VALUE) is accepted from visitors
#    and trusted callers (service_role, refunds to -1e15 too); a trusted
#    caller's 1e15 + 1 and 9e65535 get 22003;
#  - then, with no call from anyone, the settler folds the experiment
#    (element_variants = the live totals, no slot row left) and logs no
#    overflow; the owner pauses it; abt_settle_counters(e) and
#    abt_metric_stats succeed, the sums equal the events';
#  - a 1.0 database holding 9e65535, -9e65535 (through 1.0's abt_convert,
#    a trusted caller), Infinity, NaN and -Infinity (inserted directly)
#    updates to 1.1; its backfilled sums count each event clamped to
#    [-1e15, 1e15] (NaN as 0); abt_metric_stats works; the settler folds its
#    new events and the owner pauses it.
set -uo pipefail

: "${ABT_TMP:?}" "${ABT_BIN:?}"

TAG=$$_$RANDOM
WORK=$ABT_TMP/huge_values.$TAG
PGD=$WORK/data
SOCK=$WORK
SLOG=$WORK/server.log
OWNER=b1000000-0000-4000-8000-0000000000aa
E1=b1000000-0000-4000-8000-000000000001        # no declared goals
E2=b1000000-0000-4000-8000-000000000002        # declares 'revenue', max_value NULL
E3=b1000000-0000-4000-8000-000000000003        # in the 1.0 database
HUGE="('9e' || 65535)::numeric"
BOUND=1000000000000000

. "$(dirname "${BASH_SOURCE[0]}")/lib/tap.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lib/own_server.sh"

q_quiet() { q "$@" >/dev/null; }
# as_role DB ROLE SQL: SQL in a new connection of `authenticator` after SET
# ROLE (as PostgREST); the owner's session carries its JWT subject.  Prints
# the result, or the error's SQLSTATE alone ("ERROR:  22003").
as_role() {
    "$ABT_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -v VERBOSITY=sqlstate -U authenticator -d "$1" \
        -c "SET ROLE $2; SET request.jwt.claim.sub = '$OWNER'" -c "$3" 2>&1
}

cleanup() {
    trap - EXIT HUP INT TERM
    own_server_cleanup
}
trap cleanup EXIT
trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM

# folded DB EXP: no slot row of EXP's counters or goal sums left, and its
# element_variants rows equal the live totals
folded() {
    [ "$(q "$1" "SELECT count(*) FROM abtest.variant_counters WHERE experiment_id = '$2' AND slot <> 0")" = 0 ] &&
        [ "$(q "$1" "SELECT count(*) FROM abtest.goal_counters WHERE experiment_id = '$2' AND slot <> 0")" = 0 ] &&
        [ "$(q "$1" "SELECT count(*) FILTER (WHERE v.total_allocations = t.total_allocations
                                              AND v.total_conversions = t.total_conversions
                                              AND t.total_allocations > 0), count(*)
                      FROM abtest.element_variants v JOIN abtest.variant_totals t ON t.variant_id = v.id
                     WHERE t.experiment_id = '$2'" | awk -F'|' '{ print ($1 == $2) }')" = 1 ]
}
# goal_sums_mismatch DB EXP: abt_metric_stats' value_sum and
# value_sum_squares of 'revenue' against the events' (each event's value
# clamped to the bound, NaN as 0): 'equal' when they agree
goal_sums_mismatch() {
    q "$1" "WITH y AS (
              SELECT c.user_id, sum(LEAST(GREATEST(CASE WHEN c.value = 'NaN' THEN 0
                                                        ELSE coalesce(c.value, 0) END, -1e15), 1e15)) AS y
                FROM abtest.conversions c WHERE c.experiment_id = '$2' AND c.goal = 'revenue'
               GROUP BY 1),
            d AS (
              SELECT s.value::uuid AS variant_id, count(*) AS n, sum(y.y) AS s, sum(y.y * y.y) AS q
                FROM y JOIN abtest.assignments a ON a.experiment_id = '$2' AND a.user_id = y.user_id,
                     jsonb_each_text(a.variants) s
               GROUP BY 1),
            m AS (
              SELECT variant_id, converters AS n, value_sum AS s, value_sum_squares AS q
                FROM abt_metric_stats(ARRAY['$2']::uuid[], ARRAY['revenue'])
               WHERE metric = 'value_per_visitor' AND converters > 0)
            SELECT coalesce(string_agg(format('%s: stats %s/%s/%s, events %s/%s/%s', variant_id,
                                              m.n, m.s, m.q, d.n, d.s, d.q), '; '),
                            'equal')
              FROM m FULL JOIN d USING (variant_id)
             WHERE (m.n, m.s, m.q) IS DISTINCT FROM (d.n, d.s, d.q)"
}

# ------------------------------------------------------------ our server
own_server_start \
    "max_connections = 30" \
    "max_worker_processes = 16" \
    "shared_buffers = 32MB" \
    "log_line_prefix = '%m [%p] '" \
    "shared_preload_libraries = 'abtest'" \
    "abtest.settle_interval = '200ms'"
ok "own server up with shared_preload_libraries = 'abtest' (socket $SOCK, port $PGPORT)"

# Supabase's roles, before CREATE EXTENSION (which grants them what it grants)
q postgres "
CREATE ROLE anon NOLOGIN NOINHERIT;
CREATE ROLE authenticated NOLOGIN NOINHERIT;
CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
CREATE ROLE authenticator LOGIN NOINHERIT;
GRANT anon, authenticated, service_role TO authenticator;" >/dev/null || bail "roles"

# experiment DB ID NAME: an active experiment of OWNER, one element, variants A (control), B
experiment() {
    q "$1" "
INSERT INTO abtest.experiments (id, user_id, name, status) VALUES ('$2', '$OWNER', '$3', 'active');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, position)
VALUES ('b1e1${2:4}', '$2', 'headline', 0);
INSERT INTO abtest.element_variants (element_id, name, is_control, position)
SELECT 'b1e1${2:4}', v.name, v.ctl, v.pos
  FROM (VALUES ('A', true, 0), ('B', false, 1)) v(name, ctl, pos);" >/dev/null
}

# ------------------------------------------------- visitors' huge values
q postgres "CREATE DATABASE abt_huge" >/dev/null || bail "CREATE DATABASE"
q abt_huge "SET abtest.publication = ''; CREATE EXTENSION abtest" >/dev/null || bail "CREATE EXTENSION"
experiment abt_huge "$E1" "no goals" || bail "experiment 1"
experiment abt_huge "$E2" "revenue without maximum" || bail "experiment 2"
q abt_huge "INSERT INTO abtest.goals (experiment_id, goal, max_value) VALUES ('$E2', 'revenue', NULL)" \
    >/dev/null || bail "goal"

for E in "$E1" "$E2"; do
    case $E in "$E1") what="no declared goals" ;; *) what="declared goal, max_value NULL" ;; esac
    is "$(as_role abt_huge anon "SELECT count(abt_assign('$E', 'v' || g)) FROM generate_series(1, 40) g")" 40 \
       "$what: 40 visitors assigned as anon"
    # three visitors of variant A
    mapfile -t V < <(q abt_huge "SELECT a.user_id FROM abtest.assignments a
                                   JOIN abtest.element_variants v ON v.id = (SELECT s.value::uuid
                                                                   FROM jsonb_each_text(a.variants) s)
                                  WHERE a.experiment_id = '$E' AND v.name = 'A' ORDER BY a.user_id LIMIT 3")
    [ "${#V[@]}" = 3 ] || bail "fewer than 3 visitors in variant A"

    # two visitors, two connections, the huge value each
    is "$(as_role abt_huge anon "SELECT abt_convert('$E', '${V[0]}', 'revenue', $HUGE)")" "ERROR:  22003" \
       "$what: anon's first visitor sending 9e65535 gets 22003"
    is "$(as_role abt_huge anon "SELECT abt_convert('$E', '${V[1]}', 'revenue', $HUGE)")" "ERROR:  22003" \
       "$what: a second visitor, from another connection, gets 22003 too"
    is "$(q abt_huge "SELECT (SELECT count(*) FROM abtest.conversions WHERE experiment_id = '$E')
                             + (SELECT count(*) FROM abtest.visitor_goals WHERE experiment_id = '$E')
                             + (SELECT count(*) FROM abtest.goal_counters WHERE experiment_id = '$E')
                             + (SELECT count(*) FROM abtest.assignments
                                 WHERE experiment_id = '$E' AND converted_at IS NOT NULL)")" 0 \
       "$what: the rejected values wrote nothing (events, visitor totals, sums, converted_at)"

    # the bound itself, from visitors and trusted callers
    is "$(as_role abt_huge anon "SELECT abt_convert('$E', '${V[0]}', 'revenue', $BOUND)")" t \
       "$what: anon's 1e15 is accepted (first conversion)"
    is "$(as_role abt_huge anon "SELECT abt_convert('$E', '${V[1]}', 'revenue', 1e15)")" t \
       "$what: a second visitor's 1e15, from another connection, is accepted"
    is "$(as_role abt_huge anon "SELECT abt_convert('$E', '${V[0]}', 'revenue', 1e15)")" f \
       "$what: the first visitor's second 1e15 is accepted (its total 2e15)"
    is "$(as_role abt_huge service_role "SELECT abt_convert('$E', '${V[2]}', 'revenue', 1e15),
                                                abt_convert('$E', '${V[0]}', 'revenue', -1e15)")" "t|f" \
       "$what: a trusted caller (service_role) records 1e15 and a refund of -1e15"
    is "$(as_role abt_huge service_role "SELECT abt_convert('$E', '${V[2]}', 'revenue', 1e15 + 1)")" "ERROR:  22003" \
       "$what: a trusted caller's 1e15 + 1 gets 22003"
    is "$(as_role abt_huge service_role "SELECT abt_convert('$E', '${V[2]}', 'revenue', -$HUGE)")" "ERROR:  22003" \
       "$what: a trusted caller's -9e65535 gets 22003"

    # a settler round, a pause, a settling and the statistics
    if wait_for 30 folded abt_huge "$E"; then
        ok "$what: with no call from anyone the settler folds it (element_variants = live totals, no slot row left)"
    else
        not_ok "$what: with no call from anyone the settler folds it (element_variants = live totals, no slot row left)"
        log_tail
    fi
    is "$(as_role abt_huge authenticated "UPDATE abtest.experiments SET status = 'paused' WHERE id = '$E'
                                           RETURNING status")" paused \
       "$what: the owner pauses it"
    check "$what: abt_settle_counters(e) succeeds" q_quiet abt_huge "SELECT abt_settle_counters('$E')"
    is "$(as_role abt_huge authenticated "SELECT count(*) FILTER (WHERE value_sum IS NOT NULL AND mean IS NOT NULL)
                                            FROM abt_metric_stats(ARRAY['$E']::uuid[])")" 4 \
       "$what: the owner's abt_metric_stats answers (2 variants x 2 metrics, sums and means)"
    is "$(goal_sums_mismatch abt_huge "$E" 2>&1)" equal "$what: its sums equal the events'"
done
check "the settler never logged a numeric overflow" \
    bash -c "! grep -q 'value overflows numeric format' '$SLOG'"

# ------------------------------------------------- 1.0's stored values
q postgres "CREATE DATABASE abt_huge_old" >/dev/null || bail "CREATE DATABASE"
q abt_huge_old "SET abtest.publication = ''; CREATE EXTENSION abtest VERSION '1.0'" >/dev/null || bail "1.0"
q abt_huge_old "
INSERT INTO abtest.experiments (id, user_id, name, status) VALUES ('$E3', '$OWNER', 'from 1.0', 'active');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, position)
VALUES ('b1030000-0000-4000-8000-000000000003', '$E3', 'headline', 0);
INSERT INTO abtest.element_variants (element_id, name, is_control, position)
VALUES ('b1030000-0000-4000-8000-000000000003', 'only', true, 0);" >/dev/null || bail "experiment 3"
# 1.0's abt_convert (a trusted caller: the extension owner) takes any finite value
is "$(q abt_huge_old "SELECT count(abt_assign('$E3', 'u' || g)) FROM generate_series(1, 6) g;
                      SELECT abt_convert('$E3', 'u1', 'revenue', $HUGE),
                             abt_convert('$E3', 'u2', 'revenue', -$HUGE),
                             abt_convert('$E3', 'u3', 'revenue', $HUGE),
                             abt_convert('$E3', 'u3', 'revenue', $HUGE);
                      INSERT INTO abtest.conversions (experiment_id, user_id, goal, value) VALUES
                          ('$E3', 'u4', 'revenue', 'Infinity'), ('$E3', 'u5', 'revenue', 'NaN'),
                          ('$E3', 'u6', 'revenue', '-Infinity');
                      SELECT count(*) FROM abtest.conversions WHERE abs(value) > 1e15 OR value = 'NaN'")" \
   "6
t|t|t|f
7" "1.0: a trusted caller stored 9e65535, -9e65535, twice 9e65535, Infinity, NaN and -Infinity"
if q abt_huge_old "ALTER EXTENSION abtest UPDATE" >"$WORK/update.out" 2>&1; then
    ok "1.0 -> 1.1: ALTER EXTENSION abtest UPDATE succeeds"
else
    not_ok "1.0 -> 1.1: ALTER EXTENSION abtest UPDATE succeeds"
    sed 's/^/#   /' "$WORK/update.out"
fi
is "$(q abt_huge_old "SELECT string_agg(user_id || '=' || value_total || '/' || events, ' ' ORDER BY user_id)
                        FROM abtest.visitor_goals WHERE experiment_id = '$E3'")" \
   "u1=1000000000000000/1 u2=-1000000000000000/1 u3=2000000000000000/2 u4=1000000000000000/1 u5=0/1 u6=-1000000000000000/1" \
   "1.0 -> 1.1: visitor totals count each event clamped to [-1e15, 1e15], NaN as 0"
is "$(q abt_huge_old "SELECT slot, converters, value_sum = 2e15, value_sum_squares = 8e30
                        FROM abtest.goal_counters WHERE experiment_id = '$E3'")" "0|6|t|t" \
   "1.0 -> 1.1: the backfilled sums (slot 0): 6 converters, sum 2e15, sum of squares 8e30"
is "$(q abt_huge_old "SELECT count(*) FROM abtest.conversions WHERE abs(value) > 1e15 OR value = 'NaN'")" 7 \
   "1.0 -> 1.1: the stored events keep their values"
is "$(q abt_huge_old "SELECT string_agg(metric || ':' || value_sum || ':' || (mean IS NOT NULL), ' ' ORDER BY metric)
                        FROM abt_metric_stats(ARRAY['$E3']::uuid[])")" \
   "conversion_rate:2000000000000000:true value_per_visitor:2000000000000000:true" \
   "1.0 -> 1.1: abt_metric_stats answers"
is "$(as_role abt_huge_old anon "SELECT abt_convert('$E3', 'u1', 'revenue', 1e15)")" f \
   "1.0 -> 1.1: a visitor's new event at the bound is recorded"
is "$(as_role abt_huge_old anon "SELECT abt_convert('$E3', 'u2', 'revenue', $HUGE)")" "ERROR:  22003" \
   "1.0 -> 1.1: a visitor's 9e65535 now gets 22003"
if wait_for 30 folded abt_huge_old "$E3"; then
    ok "1.0 -> 1.1: the settler folds the updated database's experiment"
else
    not_ok "1.0 -> 1.1: the settler folds the updated database's experiment"
    log_tail
fi
is "$(goal_sums_mismatch abt_huge_old "$E3" 2>&1)" equal "1.0 -> 1.1: after the fold, the sums equal the events' (clamped)"
is "$(as_role abt_huge_old authenticated "UPDATE abtest.experiments SET status = 'paused' WHERE id = '$E3'
                                           RETURNING status")" paused \
   "1.0 -> 1.1: the owner pauses it"
check "the settler never logged a numeric overflow" \
    bash -c "! grep -q 'value overflows numeric format' '$SLOG'"

finish
