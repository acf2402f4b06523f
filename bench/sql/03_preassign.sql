-- bench/sql/03_preassign.sql -- pre-assigns 200k visitors ('v1' .. 'v200000')
-- to the 'returning' experiment with abt_assign_bulk, 20k per call, each
-- call its own statement (and transaction), then VACUUM ANALYZE.
SELECT format('SELECT count(*) AS assigned FROM abt_assign_bulk(%L, ARRAY(SELECT ''v'' || g FROM generate_series(%s, %s) AS g))',
              b.experiment, c * 20000 + 1, (c + 1) * 20000)
  FROM bench_ids b, generate_series(0, 9) AS c
 WHERE b.name = 'returning'
 ORDER BY c
\gexec

VACUUM ANALYZE;
