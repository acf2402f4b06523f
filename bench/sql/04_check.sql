-- bench/sql/04_check.sql -- sanity checks of the loaded data (printed by bench/run).
SELECT (SELECT count(*) FROM abtest.experiments) AS experiments,
       (SELECT count(*) FROM abtest.experiment_elements) AS elements,
       (SELECT count(*) FROM abtest.element_variants) AS variants,
       (SELECT count(*) FROM abtest.assignments) AS assignments,
       (SELECT count(*) FROM abtest.assignments a JOIN bench_ids b ON b.experiment = a.experiment_id
         WHERE b.name = 'returning') AS returning_assigned,
       (SELECT round(avg(pg_column_size(content))) FROM abtest.element_variants) AS avg_content_bytes,
       pg_size_pretty(pg_total_relation_size('abtest.assignments')) AS assignments_size;

-- A pre-assigned visitor must come back as returning (new = false) ...
SELECT abt_assign(b.experiment, 'v4242') ->> 'new' AS returning_new_is_false,
       jsonb_array_length(abt_assign(b.experiment, 'v4242') -> 'elements') AS elements
  FROM bench_ids b WHERE b.name = 'returning';

-- ... and a visitor of the hot experiment must be new (new = true).
SELECT abt_assign(b.experiment, 'n-check') ->> 'new' AS hot_new_is_true
  FROM bench_ids b WHERE b.name = 'hot';
