-- bench/sql/analytics/04_new_day.sql -- block D's data (bench/run analytics):
-- after a VACUUM of abtest.assignments (run by bench/run first, as
-- autovacuum would), a day of new traffic for another experiment: an-new,
-- 270,000 visitors 'n<k>' assigned over the last 24 hours in 100 calls of
-- abt_assign_bulk, every 10th converting 3 minutes later. Its rows land in
-- the space the VACUUM freed all over the table (the old versions of the
-- converted rows), as live traffic's do, so the heap is no longer in
-- assigned_at order and most BRIN ranges now span the whole week.
INSERT INTO bench_an
VALUES ('an-new', bench_make_experiment('analytics: a new day of traffic', 'active', 2, 2), 270000, 'n');

SELECT format('SELECT count(*) AS new_day FROM abt_assign_bulk(%L, ARRAY(SELECT ''n'' || g FROM generate_series(%s, %s) AS g), %L)',
              b.experiment, s * 2700 + 1, s * 2700 + 2700, t.at),
       format('SELECT count(abt_convert(%L, ''n'' || g, ''signup'', NULL, %L)) AS new_day_conversions FROM generate_series(%s, %s, 10) AS g',
              b.experiment, t.at + interval '3 minutes', s * 2700 + 1, s * 2700 + 2700)
  FROM bench_an b, generate_series(0, 99) AS s,
       LATERAL (SELECT now() - interval '24 hours' + (s + 0.5) * interval '24 hours' / 100 AS at) AS t
 WHERE b.name = 'an-new'
 ORDER BY s
\gexec

ANALYZE abtest.assignments;
