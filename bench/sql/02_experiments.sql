-- bench/sql/02_experiments.sql -- the benchmark experiments and ~50 others.
--
--   returning : active, 2 elements x 2 variants, 200k visitors pre-assigned
--               (03_preassign.sql); the returning-visitor benchmark reads it.
--   hot       : active, 2 elements x 2 variants, no visitors; new visitors
--               are assigned to it by abt_assign (and baseline (a) inserts
--               into its part of abtest.assignments).
--   app       : active, 2 elements x 2 variants; used only by the "seed as an
--               app" baseline (c), so that its UPDATEs of element_variants
--               never touch the rows the other benchmarks use.
SELECT bench_record_ids('returning', bench_make_experiment('bench: returning visitors', 'active', 2, 2));
SELECT bench_record_ids('hot',       bench_make_experiment('bench: hot experiment (new visitors)', 'active', 2, 2));
SELECT bench_record_ids('app',       bench_make_experiment('bench: seed as an app', 'active', 2, 2));

-- 50 other experiments so that the planner sees realistic table sizes:
-- 1-3 elements of 2-3 variants; 45 get 2000 visitors each through
-- abt_assign_bulk while active (90k assignments, counters and rollups), then
-- 30 stay active, 10 are completed and 5 paused; 5 stay draft (no visitors).
CREATE TEMP TABLE other_experiments AS
SELECT i, bench_make_experiment(format('other experiment %s', i),
                                CASE WHEN i % 10 = 9 THEN 'draft' ELSE 'active' END,
                                1 + i % 3, 2 + i % 2) AS id
  FROM generate_series(0, 49) AS i;

SELECT count(*) AS other_assignments
  FROM other_experiments o,
       LATERAL abt_assign_bulk(o.id, ARRAY(SELECT 'u' || g FROM generate_series(1, 2000) AS g))
 WHERE o.i % 10 <> 9;

UPDATE abtest.experiments e SET status = CASE WHEN o.i % 10 IN (6, 7) THEN 'completed' ELSE 'paused' END
  FROM other_experiments o
 WHERE e.id = o.id AND o.i % 10 IN (6, 7, 8);
