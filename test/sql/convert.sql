--
-- convert: abt_convert -- first, later and unassigned visitors, the stored
-- events, the counters and timeline rollups, errors, and experiments that
-- are no longer active.  Ids of this file: a4000000-....
--
\i test/sql/include/err.sql
-- everything abt_convert may write for this file's experiments
CREATE FUNCTION pg_temp.written() RETURNS text LANGUAGE sql AS $$
    SELECT format('events=%s converted=%s counters=%s timeline=%s variant_timeline=%s',
                  (SELECT count(*) FROM abtest.conversions WHERE experiment_id::text LIKE 'a4000000-%'),
                  (SELECT count(converted_at) FROM abtest.assignments WHERE experiment_id::text LIKE 'a4000000-%'),
                  (SELECT coalesce(sum(conversions), 0) FROM abtest.variant_counters WHERE experiment_id::text LIKE 'a4000000-%'),
                  (SELECT coalesce(sum(conversions), 0) FROM abtest.experiment_timeline WHERE experiment_id::text LIKE 'a4000000-%'),
                  (SELECT coalesce(sum(conversions), 0) FROM abtest.variant_rollups WHERE experiment_id::text LIKE 'a4000000-%'))
$$;

INSERT INTO abtest.experiments (id, name, status, seed) VALUES
    ('a4000000-0000-0000-0000-000000000001', 'convert', 'active', 'cv-exp'),
    ('a4000000-0000-0000-0000-000000000002', 'other', 'active', 'cv-exp');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, seed, position) VALUES
    ('a4000000-0000-0000-0001-000000000011', 'a4000000-0000-0000-0000-000000000001', 'headline', 'cv-h', 1),
    ('a4000000-0000-0000-0001-000000000012', 'a4000000-0000-0000-0000-000000000001', 'cta', 'cv-c', 2),
    ('a4000000-0000-0000-0001-000000000021', 'a4000000-0000-0000-0000-000000000002', 'headline', 'cv-h', 1);
INSERT INTO abtest.element_variants (id, element_id, name, position) VALUES
    ('a4000000-0000-0000-0002-000000000111', 'a4000000-0000-0000-0001-000000000011', 'A', 1),
    ('a4000000-0000-0000-0002-000000000112', 'a4000000-0000-0000-0001-000000000011', 'B', 2),
    ('a4000000-0000-0000-0002-000000000121', 'a4000000-0000-0000-0001-000000000012', 'A', 1),
    ('a4000000-0000-0000-0002-000000000122', 'a4000000-0000-0000-0001-000000000012', 'B', 2),
    ('a4000000-0000-0000-0002-000000000123', 'a4000000-0000-0000-0001-000000000012', 'C', 3),
    ('a4000000-0000-0000-0002-000000000211', 'a4000000-0000-0000-0001-000000000021', 'A', 1);

-- No assignment: NULL and nothing recorded (also when assigned elsewhere).
SELECT abt_convert('a4000000-0000-0000-0000-000000000001', 'stranger') IS NULL AS unassigned;
SELECT (abt_assign('a4000000-0000-0000-0000-000000000002', 'elsewhere', '2024-07-01 10:00+00')->>'new')::boolean AS assigned_in_other;
SELECT abt_convert('a4000000-0000-0000-0000-000000000001', 'elsewhere', 'signup', 5) IS NULL AS assigned_elsewhere;
SELECT pg_temp.written();

-- First conversion true, later ones false; converted_at is set once (even
-- when a later call passes an earlier time); every event is stored.
SELECT abt_assign('a4000000-0000-0000-0000-000000000001', 'u1', '2024-07-01 10:07:00+00')->>'converted' AS converted_before;
SELECT abt_convert('a4000000-0000-0000-0000-000000000001', 'u1', 'signup', 9.99, '2024-07-02 08:00:00+00') AS first;
SELECT abt_convert('a4000000-0000-0000-0000-000000000001', 'u1', 'purchase', 120.50, '2024-07-03 09:00:00+00') AS later;
SELECT abt_convert('a4000000-0000-0000-0000-000000000001', 'u1', at => '2024-06-30 00:00:00+00') AS earlier_time;
SELECT assigned_at, converted_at FROM abtest.assignments
 WHERE experiment_id = 'a4000000-0000-0000-0000-000000000001' AND user_id = 'u1';
SELECT user_id, goal, value, created_at FROM abtest.conversions
 WHERE experiment_id = 'a4000000-0000-0000-0000-000000000001' ORDER BY id;
SELECT pg_temp.written();
-- the answer now says converted; the first call inside a rolled-back
-- transaction leaves no trace
SELECT abt_assign('a4000000-0000-0000-0000-000000000001', 'u1')->>'converted' AS converted_after,
       abt_assign('a4000000-0000-0000-0000-000000000001', 'u1')->>'new' AS new;
SELECT abt_assign('a4000000-0000-0000-0000-000000000001', 'u2', '2024-07-01 10:20:00+00')->>'new' AS u2_new;
BEGIN;
SELECT abt_convert('a4000000-0000-0000-0000-000000000001', 'u2', at => '2024-07-02') AS first_rolled_back;
ROLLBACK;
SELECT pg_temp.written();
SELECT abt_convert('a4000000-0000-0000-0000-000000000001', 'u2', at => '2024-07-02') AS first_again;

-- Values: any finite numeric within -1e15 and 1e15 (test/sql/event_value_bound.sql),
-- stored exactly, as many digits after the point as given; NULL allowed.
SELECT abt_convert('a4000000-0000-0000-0000-000000000001', 'u2', 'v', v, '2024-07-04') AS first_conversion
  FROM (VALUES (0::numeric), (-15.5), (123456789012345.123456789012345678), (NULL)) t(v);
SELECT value FROM abtest.conversions
 WHERE experiment_id = 'a4000000-0000-0000-0000-000000000001' AND goal = 'v' ORDER BY id;

--
-- Errors, with nothing written.
--
SELECT pg_temp.written();
SELECT label, pg_temp.err(q) AS error FROM (VALUES
    ('NaN value', $$SELECT abt_convert('a4000000-0000-0000-0000-000000000001', 'u1', 'g', 'NaN')$$),
    ('infinite value', $$SELECT abt_convert('a4000000-0000-0000-0000-000000000001', 'u1', 'g', 'Infinity')$$),
    ('-infinite value', $$SELECT abt_convert('a4000000-0000-0000-0000-000000000001', 'u1', 'g', '-Infinity')$$),
    ('unknown experiment', $$SELECT abt_convert('a4000000-0000-0000-0000-0000000000ff', 'u1')$$),
    ('null experiment', $$SELECT abt_convert(NULL, 'u1')$$),
    ('null visitor', $$SELECT abt_convert('a4000000-0000-0000-0000-000000000001', NULL)$$),
    ('empty visitor', $$SELECT abt_convert('a4000000-0000-0000-0000-000000000001', '')$$),
    ('257-character visitor', $$SELECT abt_convert('a4000000-0000-0000-0000-000000000001', repeat('x', 257))$$),
    ('null goal', $$SELECT abt_convert('a4000000-0000-0000-0000-000000000001', 'u1', NULL)$$),
    ('empty goal', $$SELECT abt_convert('a4000000-0000-0000-0000-000000000001', 'u1', '')$$),
    ('257-character goal', $$SELECT abt_convert('a4000000-0000-0000-0000-000000000001', 'u1', repeat('g', 257))$$),
    ('256-character goal', $$SELECT abt_convert('a4000000-0000-0000-0000-000000000001', 'u1', repeat(U&'\00e9', 256))$$),
    ('null time', $$SELECT abt_convert('a4000000-0000-0000-0000-000000000001', 'u1', 'g', 1, NULL)$$)
  ) t(label, q);
-- (one event more: the 256-character goal's)
SELECT pg_temp.written();
DELETE FROM abtest.conversions WHERE goal = repeat(U&'\00e9', 256);

--
-- Counters: 60 visitors assigned at 10:00..10:59; every third converts
-- twice, every fifth once.  variant_totals equals the converted assignments
-- per variant, and the rollups count each first conversion in the bucket
-- of its assignment (not of the conversion).
--
SELECT count(*) AS assigned
  FROM generate_series(0, 59) i,
       abt_assign('a4000000-0000-0000-0000-000000000001', 'm' || i, '2024-07-01 10:00:00+00'::timestamptz + i * interval '1 minute') a;
SELECT count(*) FILTER (WHERE r) AS first, count(*) FILTER (WHERE NOT r) AS later
  FROM (SELECT abt_convert('a4000000-0000-0000-0000-000000000001', 'm' || i, 'buy', i, '2024-07-05 12:00:00+00') AS r
          FROM generate_series(0, 59) i, generate_series(1, 2) k
         WHERE i % 3 = 0 OR (i % 5 = 0 AND k = 1)) s;
SELECT v.name, t.total_allocations, t.total_conversions, d.converted, t.conversion_rate
  FROM abtest.variant_totals t
  JOIN abtest.element_variants v ON v.id = t.variant_id
  LEFT JOIN (SELECT e.value::uuid AS variant_id, count(a.converted_at) AS converted
               FROM abtest.assignments a, jsonb_each_text(a.variants) e
              WHERE a.experiment_id = 'a4000000-0000-0000-0000-000000000001' GROUP BY 1) d
    USING (variant_id)
 WHERE t.experiment_id = 'a4000000-0000-0000-0000-000000000001'
 ORDER BY t.variant_id;
SELECT t.bucket AT TIME ZONE 'UTC' AS bucket_utc, t.assignments, t.conversions, d.n, d.converted
  FROM (SELECT bucket, sum(assignments) AS assignments, sum(conversions) AS conversions
          FROM abtest.experiment_timeline WHERE experiment_id = 'a4000000-0000-0000-0000-000000000001'
         GROUP BY 1) t
  FULL JOIN (SELECT to_timestamp(floor(extract(epoch FROM assigned_at) / 900) * 900) AS bucket,
                    count(*) AS n, count(converted_at) AS converted
               FROM abtest.assignments WHERE experiment_id = 'a4000000-0000-0000-0000-000000000001'
              GROUP BY 1) d USING (bucket)
 ORDER BY 1;
SELECT count(*) AS variant_timeline_mismatches
  FROM (SELECT variant_id, bucket, sum(assignments) AS n, sum(conversions) AS c FROM abtest.variant_rollups
         WHERE experiment_id = 'a4000000-0000-0000-0000-000000000001' GROUP BY 1, 2) t
  FULL JOIN (SELECT e.value::uuid AS variant_id,
                    to_timestamp(floor(extract(epoch FROM a.assigned_at) / 900) * 900) AS bucket,
                    count(*) AS n, count(a.converted_at) AS c
               FROM abtest.assignments a, jsonb_each_text(a.variants) e
              WHERE a.experiment_id = 'a4000000-0000-0000-0000-000000000001' GROUP BY 1, 2) d
    USING (variant_id, bucket)
 WHERE (t.n, t.c) IS DISTINCT FROM (d.n, d.c);
SELECT goal, count(*), sum(value) FROM abtest.conversions
 WHERE experiment_id = 'a4000000-0000-0000-0000-000000000001' GROUP BY goal ORDER BY goal;

--
-- abt_convert does not look at the status: conversions of visitors
-- assigned before are still recorded when the experiment is paused,
-- completed or back in draft; a visitor never assigned still gets NULL.
--
SELECT abt_assign('a4000000-0000-0000-0000-000000000001', s, '2024-07-01 11:00:00+00')->>'new' AS new
  FROM (VALUES ('p1'), ('p2'), ('p3')) v(s);
UPDATE abtest.experiments SET status = 'paused' WHERE id = 'a4000000-0000-0000-0000-000000000001';
SELECT abt_convert('a4000000-0000-0000-0000-000000000001', 'p1', at => '2024-07-06') AS paused_first,
       abt_convert('a4000000-0000-0000-0000-000000000001', 'p1', at => '2024-07-06') AS paused_later,
       abt_convert('a4000000-0000-0000-0000-000000000001', 'never', at => '2024-07-06') IS NULL AS paused_unassigned;
UPDATE abtest.experiments SET status = 'completed' WHERE id = 'a4000000-0000-0000-0000-000000000001';
SELECT abt_convert('a4000000-0000-0000-0000-000000000001', 'p2', at => '2024-07-06') AS completed_first;
UPDATE abtest.experiments SET status = 'draft' WHERE id = 'a4000000-0000-0000-0000-000000000001';
SELECT abt_convert('a4000000-0000-0000-0000-000000000001', 'p3', at => '2024-07-06') AS draft_first;
SELECT user_id, converted_at FROM abtest.assignments
 WHERE experiment_id = 'a4000000-0000-0000-0000-000000000001' AND user_id IN ('p1', 'p2', 'p3', 'never')
 ORDER BY user_id;
SELECT count(*) AS counter_mismatches
  FROM abtest.variant_totals t
  LEFT JOIN (SELECT e.value::uuid AS variant_id, count(a.converted_at) AS converted
               FROM abtest.assignments a, jsonb_each_text(a.variants) e
              WHERE a.experiment_id = 'a4000000-0000-0000-0000-000000000001' GROUP BY 1) d
    USING (variant_id)
 WHERE t.experiment_id = 'a4000000-0000-0000-0000-000000000001'
   AND t.total_conversions IS DISTINCT FROM coalesce(d.converted, 0);
-- The copies settled when it was completed miss p2's and p3's conversions
-- until abt_settle_counters runs.
CREATE TEMP VIEW stale AS
SELECT count(*) AS stale_variants
  FROM abtest.element_variants v JOIN abtest.variant_totals t ON t.variant_id = v.id
 WHERE t.experiment_id = 'a4000000-0000-0000-0000-000000000001'
   AND (v.total_allocations, v.total_conversions) IS DISTINCT FROM (t.total_allocations, t.total_conversions);
SELECT * FROM stale;
SELECT abt_settle_counters('a4000000-0000-0000-0000-000000000001') AS changed;
SELECT * FROM stale;
