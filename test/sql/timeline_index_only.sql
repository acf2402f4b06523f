--
-- timeline_index_only: abt_timeline counts the window's partial first
-- rollup from the two partial indexes on assignments, index-only where the
-- visibility map says a heap page is all-visible, from the heap elsewhere.
-- Committed data (VACUUM sets the visibility map), one assignment a second
-- over 25 hours, a third of them converted; every answer is compared with
-- the seed's own query, and the statistics of this transaction tell which
-- way the index entries were read.  Ids of this file: c7100000-....
--
SET client_min_messages = warning;

INSERT INTO abtest.experiments (id, name, status, seed) VALUES
    ('c7100000-0000-0000-0000-000000000001', 'timeline index-only', 'active', 'tio');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, position) VALUES
    ('c7100000-0000-0000-0001-000000000011', 'c7100000-0000-0000-0000-000000000001', 'hero', 0);
INSERT INTO abtest.element_variants (id, element_id, name, is_control, position) VALUES
    ('c7100000-0000-0000-0002-000000000111', 'c7100000-0000-0000-0001-000000000011', 'A', true, 0),
    ('c7100000-0000-0000-0002-000000000112', 'c7100000-0000-0000-0001-000000000011', 'B', false, 1);

INSERT INTO abtest.assignments (experiment_id, user_id, variants, assigned_at, converted_at)
SELECT 'c7100000-0000-0000-0000-000000000001', 'u' || g,
       jsonb_build_object('c7100000-0000-0000-0001-000000000011',
                          CASE WHEN g % 2 = 0 THEN 'c7100000-0000-0000-0002-000000000111'
                               ELSE 'c7100000-0000-0000-0002-000000000112' END),
       now() - g * interval '1 second',
       CASE WHEN g % 3 = 0 THEN now() END
  FROM generate_series(1, 25 * 3600) g;

-- the rollups the write path would have left (slot 0: settled)
CREATE FUNCTION pg_temp.rebuild_rollups() RETURNS void LANGUAGE sql AS $$
    DELETE FROM abtest.experiment_timeline WHERE experiment_id = 'c7100000-0000-0000-0000-000000000001';
    INSERT INTO abtest.experiment_timeline (experiment_id, bucket, slot, assignments, conversions)
    SELECT experiment_id, date_bin('15 minutes', assigned_at, '2000-01-01'), 0, count(*), count(converted_at)
      FROM abtest.assignments
     WHERE experiment_id = 'c7100000-0000-0000-0000-000000000001'
     GROUP BY 1, 2;
    DELETE FROM abtest.variant_timeline WHERE experiment_id = 'c7100000-0000-0000-0000-000000000001';
    INSERT INTO abtest.variant_timeline (experiment_id, variant_id, bucket, slot, assignments, conversions)
    SELECT experiment_id, (variants ->> 'c7100000-0000-0000-0001-000000000011')::uuid,
           date_bin('15 minutes', assigned_at, '2000-01-01'), 0, count(*), count(converted_at)
      FROM abtest.assignments
     WHERE experiment_id = 'c7100000-0000-0000-0000-000000000001'
     GROUP BY 1, 2, 3;
$$;
SELECT pg_temp.rebuild_rollups();

-- the seed's query against abt_timeline(e, 24), every mismatch counted; an
-- hour with no assignment is a zero row: the current one, past the hour,
-- and the first one when the window starts within a second before an hour
-- (its part of that hour holds no assignment)
CREATE FUNCTION pg_temp.seed_mismatches() RETURNS bigint LANGUAGE sql STABLE AS $$
    WITH seed AS (
        SELECT DATE_TRUNC('hour', assigned_at) AS hour, COUNT(*) AS assignments, COUNT(converted_at) AS conversions
          FROM abtest.assignments
         WHERE experiment_id = 'c7100000-0000-0000-0000-000000000001'
           AND assigned_at >= NOW() - INTERVAL '1 hour' * 24
         GROUP BY 1)
    SELECT count(*)
      FROM abt_timeline('c7100000-0000-0000-0000-000000000001') t
      FULL JOIN seed s ON s.hour = t.bucket
     WHERE t.bucket IS NULL
        OR (s.hour IS NULL AND (t.assignments <> 0
                                OR t.bucket NOT IN (date_trunc('hour', now()),
                                                    date_trunc('hour', now() - interval '24 hours'))))
        OR t.assignments <> s.assignments OR t.conversions <> s.conversions
$$;

-- One call of abt_timeline(e, 24) against the seed's query, with the index
-- entries it read (returned) and the heap rows it fetched through the two
-- indexes, as this backend counts them (within one statement nothing is
-- sent off).  tiny_part: the window's partial quarter hour is under a
-- second long and may hold no assignment, so that nothing is read.
CREATE FUNCTION pg_temp.counted(OUT entries bigint, OUT heap_fetches bigint) LANGUAGE sql VOLATILE AS $$
    SELECT sum(pg_stat_get_xact_tuples_returned(i)), sum(pg_stat_get_xact_tuples_fetched(i))
      FROM unnest(ARRAY['abtest.idx_assignments_unconverted'::regclass,
                        'abtest.assignments_converted'::regclass]) i
$$;
CREATE FUNCTION pg_temp.timeline_reads(OUT mismatches bigint, OUT entries bigint, OUT heap_fetches bigint,
                                       OUT tiny_part boolean) LANGUAGE plpgsql AS $$
DECLARE
    before record;
BEGIN
    SELECT * INTO before FROM pg_temp.counted();
    mismatches := pg_temp.seed_mismatches();
    SELECT c.entries - before.entries, c.heap_fetches - before.heap_fetches
      INTO entries, heap_fetches FROM pg_temp.counted() c;
    tiny_part := now() - interval '24 hours' - date_bin('15 minutes', now() - interval '24 hours', '2000-01-01')
                 NOT BETWEEN interval '1 second' AND interval '14 minutes 59 seconds';
END $$;

VACUUM abtest.assignments;

-- All pages all-visible: the part is counted from index entries alone.
SELECT mismatches, heap_fetches = 0 AS no_heap_fetch, entries > 0 OR tiny_part AS entries_read
  FROM pg_temp.timeline_reads();

-- Convert a third of the unconverted visitors of the 24th and 25th hours
-- ago: their pages are no longer all-visible and hold both versions of
-- those rows, each with an entry in one of the two indexes.  Only the heap
-- says which version is visible: counting those entries would count each
-- such visitor twice.
UPDATE abtest.assignments SET converted_at = now()
 WHERE experiment_id = 'c7100000-0000-0000-0000-000000000001'
   AND assigned_at < now() - interval '23 hours' AND converted_at IS NULL
   AND substr(user_id, 2)::int % 3 = 1;
SELECT pg_temp.rebuild_rollups();
SELECT mismatches AS mismatches_after_conversions, heap_fetches > 0 OR tiny_part AS heap_read
  FROM pg_temp.timeline_reads();

-- After VACUUM, index-only again, and still equal.  (INDEX_CLEANUP ON:
-- with dead rows on under 2% of its pages, VACUUM would leave their line
-- pointers, and those pages not all-visible, for a later run.)
VACUUM (INDEX_CLEANUP ON) abtest.assignments;
SELECT mismatches AS mismatches_after_vacuum, heap_fetches = 0 AS no_heap_fetch_after_vacuum
  FROM pg_temp.timeline_reads();

-- A serializable transaction reads the heap (it must take predicate locks
-- on what it read), with the same answer.
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT mismatches AS mismatches_serializable, heap_fetches > 0 OR tiny_part AS serializable_reads_heap
  FROM pg_temp.timeline_reads();
COMMIT;

-- Per variant: the heap (the variants are not in the index), the same counts.
SELECT count(*) AS variant_mismatches
  FROM (SELECT bucket, sum(assignments) AS a, sum(conversions) AS c
          FROM abt_timeline_variants('c7100000-0000-0000-0000-000000000001') GROUP BY bucket) v
  FULL JOIN abt_timeline('c7100000-0000-0000-0000-000000000001') t USING (bucket)
 WHERE v.a IS DISTINCT FROM t.assignments OR v.c IS DISTINCT FROM t.conversions;

-- An index left invalid (as by a failed CREATE INDEX CONCURRENTLY, which
-- leaves it without all its entries) is not read: the query counts the
-- part, and the answer is the same.  (The flag set by hand, rolled back.)
BEGIN;
UPDATE pg_catalog.pg_index SET indisvalid = false
 WHERE indexrelid = 'abtest.assignments_converted'::regclass;
CREATE FUNCTION pg_temp.invalid_index_reads(OUT mismatches bigint, OUT entries bigint) LANGUAGE plpgsql AS $$
DECLARE
    before bigint := pg_stat_get_xact_tuples_returned('abtest.assignments_converted'::regclass);
BEGIN
    mismatches := pg_temp.seed_mismatches();
    entries := pg_stat_get_xact_tuples_returned('abtest.assignments_converted'::regclass) - before;
END $$;
SELECT mismatches AS mismatches_invalid_index, entries = 0 AS invalid_index_not_read
  FROM pg_temp.invalid_index_reads();
ROLLBACK;
