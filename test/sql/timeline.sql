--
-- timeline: abt_timeline and abt_timeline_variants.  The window ends at
-- now(), so the data is placed relative to now() and everything runs in one
-- transaction (now() is its start); the output shows only counts of
-- mismatches against references computed here from abtest.assignments, so
-- it does not depend on the time of day.
--
-- References, for a bucket width w in the session TimeZone:
--   w <= 1 hour   the bucket of t is date_trunc('hour', t) + floor(minute / w) * w
--                 ('1 hour': the seed's DATE_TRUNC('hour', assigned_at));
--   w > 1 hour    local time: date_bin(w, t::timestamp, midnight), and the
--                 bucket starts at the first instant of that local bucket;
--   '1 day'       the local calendar day.
-- The expected buckets are those holding some instant of [now() - hours,
-- now()] (found by sampling every local minute, or quarter hour for a
-- year), ascending, with zero rows where nothing was assigned and
-- conversion_rate NULL there.
-- Ids of this file: c71e0000-....
--
SET client_min_messages = warning;

\i test/sql/include/sqlstate_of.sql

INSERT INTO abtest.experiments (id, name, status, seed) VALUES
    ('c71e0000-0000-0000-0000-000000000001', 'timeline', 'active', 'tl-e1'),
    ('c71e0000-0000-0000-0000-000000000002', 'timeline quiet', 'active', 'tl-e2'),
    ('c71e0000-0000-0000-0000-000000000003', 'timeline bare', 'draft', 'tl-e3');
-- experiment 1: footer (position 0: W1, W2) and hero (position 1: V1 control, V2, V3)
INSERT INTO abtest.experiment_elements (id, experiment_id, name, position) VALUES
    ('c71e0000-0000-0000-0001-000000000011', 'c71e0000-0000-0000-0000-000000000001', 'hero', 1),
    ('c71e0000-0000-0000-0001-000000000012', 'c71e0000-0000-0000-0000-000000000001', 'footer', 0),
    ('c71e0000-0000-0000-0001-000000000021', 'c71e0000-0000-0000-0000-000000000002', 'hero', 0);
INSERT INTO abtest.element_variants (id, element_id, name, is_control, position, weight) VALUES
    ('c71e0000-0000-0000-0002-000000000111', 'c71e0000-0000-0000-0001-000000000011', 'V1', true, 1, 2),
    ('c71e0000-0000-0000-0002-000000000112', 'c71e0000-0000-0000-0001-000000000011', 'V2', false, 2, 1),
    ('c71e0000-0000-0000-0002-000000000113', 'c71e0000-0000-0000-0001-000000000011', 'V3', false, 3, 1),
    ('c71e0000-0000-0000-0002-000000000122', 'c71e0000-0000-0000-0001-000000000012', 'W2', false, 1, 1),
    ('c71e0000-0000-0000-0002-000000000121', 'c71e0000-0000-0000-0001-000000000012', 'W1', true, 1, 1),
    ('c71e0000-0000-0000-0002-000000000211', 'c71e0000-0000-0000-0001-000000000021', 'Q1', true, 0, 1);

--
-- Errors: hours outside 1..87600, widths that are not 1 minute .. 1 day
-- dividing an hour or a day into whole minutes, more than 100000 buckets
-- (22023), NULLs (22004), an unknown experiment (P0002); the same for the
-- per-variant function.
--
SELECT f, arg, pg_temp.sqlstate_of(format('SELECT * FROM %s(''c71e0000-0000-0000-0000-000000000001'', %s)', f, arg)) AS sqlstate
  FROM unnest(ARRAY['abt_timeline', 'abt_timeline_variants']) f,
       unnest(ARRAY['0', '-1', '87601', '24, ''0''', '24, ''-1 hour''', '24, ''30 seconds''', '24, ''2 days''',
                    '24, ''1 month''', '24, ''7 minutes''', '24, ''5 hours''', '24, ''90 minutes''',
                    '24, ''1 day 1 hour''', '24, ''1 minute 30 seconds''', '24, ''45 minutes''',
                    'NULL', '24, NULL', '87600, ''1 minute''']) WITH ORDINALITY AS a(arg, o)
 ORDER BY f, o;
SELECT pg_temp.sqlstate_of('SELECT * FROM abt_timeline(NULL)') AS null_id,
       pg_temp.sqlstate_of('SELECT * FROM abt_timeline_variants(NULL, 24, ''1 hour'')') AS null_id_variants,
       pg_temp.sqlstate_of('SELECT * FROM abt_timeline(''c71e0000-0000-0000-0000-0000000000ff'')') AS unknown,
       pg_temp.sqlstate_of('SELECT * FROM abt_timeline_variants(''c71e0000-0000-0000-0000-0000000000ff'')') AS unknown_variants;
-- widths at the limits and equal spellings work
SELECT w, pg_temp.sqlstate_of(format('SELECT * FROM abt_timeline(''c71e0000-0000-0000-0000-000000000001'', 48, %L)', w)) AS sqlstate
  FROM unnest(ARRAY['1 minute', '60 seconds', '2 minutes', '3 minutes', '4 minutes', '6 minutes', '10 minutes',
                    '12 minutes', '20 minutes', '60 minutes', '3 hours', '4 hours', '8 hours', '12 hours',
                    '24 hours', '1440 minutes', '1 day']) WITH ORDINALITY AS a(w, o)
 ORDER BY o;

--
-- No data: experiment 2 has a zero row per hour, from the hour holding
-- now() - 24 hours to the hour holding now() (25 of them), conversion_rate
-- NULL; experiment 3 (no elements) the same, and no rows per variant.
--
BEGIN;
SELECT count(*) = 25 AS rows_24h, bool_and(assignments = 0 AND conversions = 0 AND conversion_rate IS NULL) AS zero,
       max(bucket) = date_trunc('hour', now()) AS last_is_now, min(bucket) = date_trunc('hour', now() - interval '24 hours') AS first
  FROM abt_timeline('c71e0000-0000-0000-0000-000000000002');
SELECT count(*) = (SELECT count(*) FROM abt_timeline('c71e0000-0000-0000-0000-000000000002')) AS one_series,
       bool_and(variant_name = 'Q1' AND assignments = 0 AND conversion_rate IS NULL) AS zero
  FROM abt_timeline_variants('c71e0000-0000-0000-0000-000000000002');
SELECT (SELECT count(*) FROM abt_timeline('c71e0000-0000-0000-0000-000000000003', 6)) AS bare_rows,
       (SELECT count(*) FROM abt_timeline_variants('c71e0000-0000-0000-0000-000000000003', 6)) AS bare_variant_rows;
-- ten years by day: one row per local date of the window
SELECT count(*) = (now()::date - (now() - interval '87600 hours')::date + 1) AS ten_years_by_day
  FROM abt_timeline('c71e0000-0000-0000-0000-000000000002', 87600, '1 day');
COMMIT;

--
-- The data: visitors of experiment 1 assigned at times spread over the last
-- ~31 hours (all in this transaction, relative to its now()):
--   every 7 minutes (irregular seconds), 1 to 3 visitors each;
--   at every 15-minute UTC boundary of the last 31 hours and 1 microsecond
--   before it (the rollup grid: where the hours of every zone with a
--   quarter-hour offset begin);
--   around the start of the windows of 1, 7, 24 and 30 hours: the start of
--   its 15-minute rollup bucket, 1 microsecond after it, halfway to the
--   window start, 1 second and 1 microsecond before the window start, the
--   window start itself, 1 microsecond and 1 second after it;
--   at now() itself.
-- Every third visitor converts (counted in the bucket of its assignment).
--
BEGIN;
CREATE TEMP TABLE visits ON COMMIT DROP AS
SELECT 'tv-' || row_number() OVER (ORDER BY at, src, i) AS user_id, at, src
  FROM (SELECT now() - make_interval(mins => m, secs => (m * 37) % 60 + 0.25) AS at, 'spread' AS src, i
          FROM generate_series(0, 1850, 7) m, generate_series(0, m % 3) i
        UNION ALL
        SELECT date_bin('15 minutes', now(), '2000-01-01 00:00+00') - k * interval '15 minutes' - d, 'grid', 0
          FROM generate_series(0, 124) k, unnest(ARRAY[interval '0', interval '1 microsecond']) d
        UNION ALL
        SELECT x, 'start', i
          FROM (SELECT now() - h * interval '1 hour' AS f,
                       date_bin('15 minutes', now() - h * interval '1 hour', '2000-01-01 00:00+00') AS r
                  FROM unnest(ARRAY[1, 7, 24, 30]) h) w,
               unnest(ARRAY[r, r + interval '1 microsecond', r + (f - r) / 2, f - interval '1 second',
                            f - interval '1 microsecond', f, f + interval '1 microsecond', f + interval '1 second']) x,
               generate_series(0, 1) i
        UNION ALL
        SELECT now(), 'now', i FROM generate_series(0, 1) i) v;
SELECT sum(n) AS assigned
  FROM (SELECT at, array_agg(user_id) AS ids FROM visits GROUP BY at) g,
       LATERAL (SELECT count(*) AS n FROM abt_assign_bulk('c71e0000-0000-0000-0000-000000000001', g.ids, g.at) b
                 WHERE (b.assignment->>'new')::boolean) b
 HAVING sum(n) = (SELECT count(*) FROM visits) AND sum(n) > 800;
SELECT count(*) FILTER (WHERE abt_convert('c71e0000-0000-0000-0000-000000000001', user_id)) > 250 AS converted
  FROM visits WHERE substr(user_id, 4)::int % 3 = 0;
SELECT count(*) = (SELECT count(*) FROM visits) AS all_stored,
       count(*) FILTER (WHERE converted_at IS NOT NULL) = (SELECT count(*) FROM visits WHERE substr(user_id, 4)::int % 3 = 0) AS conversions_stored,
       bool_and(a.assigned_at = v.at) AS at_kept
  FROM abtest.assignments a JOIN visits v USING (user_id)
 WHERE a.experiment_id = 'c71e0000-0000-0000-0000-000000000001';

-- The reference bucket key of t for width w: an instant for w <= 1 hour,
-- local bucket start (as text) for longer widths.
CREATE FUNCTION pg_temp.bucket_key(t timestamptz, w interval) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN w <= interval '1 hour'
                THEN (date_trunc('hour', t)
                      + floor(extract(minute FROM t) * 60 / extract(epoch FROM w)) * w)::text
                ELSE date_bin(w, t::timestamp, timestamp '2000-01-01')::text END
$$;
-- The expected rows: (bucket, assignments, conversions) for experiment,
-- hours and width.  The window is sampled every `step` (which must divide
-- every bucket; all bucket boundaries lie on local minutes, and on local
-- quarter hours for widths of 15 minutes and more in the zones used here).
CREATE FUNCTION pg_temp.expected(exp uuid, hours int, w interval, step interval)
RETURNS TABLE (bucket timestamptz, assignments bigint, conversions bigint) LANGUAGE sql STABLE AS $$
    WITH samples AS (
        -- every step from 26 hours (more than a day) before the window to
        -- now(); a bucket is [its earliest sample, its last sample + step),
        -- expected when that reaches into the window
        SELECT s, pg_temp.bucket_key(s, w) AS k
          FROM generate_series(date_trunc('hour', now() - hours * interval '1 hour' - interval '26 hours'),
                               now(), step) s),
    buckets AS (
        SELECT k, min(s) AS start FROM samples GROUP BY k
        HAVING max(s) + step > now() - hours * interval '1 hour'),
    counted AS (
        SELECT pg_temp.bucket_key(a.assigned_at, w) AS k, count(*) AS n, count(a.converted_at) AS c
          FROM abtest.assignments a
         WHERE a.experiment_id = exp AND a.assigned_at >= now() - interval '1 hour' * hours
         GROUP BY 1)
    SELECT b.start, coalesce(c.n, 0), coalesce(c.c, 0)
      FROM buckets b LEFT JOIN counted c USING (k)
$$;
-- Mismatching rows of abt_timeline against the reference, plus rows out of
-- order: 0 when everything agrees.
CREATE FUNCTION pg_temp.mismatches(exp uuid, hours int, w interval, step interval DEFAULT '1 minute')
RETURNS bigint LANGUAGE sql STABLE AS $$
    WITH got AS (SELECT * FROM abt_timeline(exp, hours, w) WITH ORDINALITY AS t(bucket, assignments, conversions, rate, o))
    SELECT (SELECT count(*)
              FROM got g FULL JOIN pg_temp.expected(exp, hours, w, step) e USING (bucket)
             WHERE g.bucket IS NULL OR e.bucket IS NULL
                OR g.assignments <> e.assignments OR g.conversions <> e.conversions
                OR (e.assignments = 0 AND g.rate IS NOT NULL)
                OR (e.assignments > 0 AND (g.rate IS NULL OR abs(g.rate - e.conversions::float8 / e.assignments) > 1e-15)))
         + (SELECT count(*) FROM got g1 JOIN got g2 ON g2.o = g1.o + 1 WHERE g2.bucket <= g1.bucket)
$$;

--
-- The seed's query itself, under UTC and Asia/Kathmandu (+05:45), against
-- abt_timeline's default 24 hours by the hour: a full outer join with the
-- zero buckets added from generate_series; every mismatch is counted.
--
CREATE FUNCTION pg_temp.seed_mismatches() RETURNS bigint LANGUAGE sql STABLE AS $$
    WITH seed AS (
        SELECT DATE_TRUNC('hour', assigned_at) AS hour, COUNT(*) AS assignments, COUNT(converted_at) AS conversions
          FROM abtest.assignments
         WHERE experiment_id = 'c71e0000-0000-0000-0000-000000000001'
           AND assigned_at >= NOW() - INTERVAL '1 hour' * 24
         GROUP BY 1),
    hours AS (
        SELECT generate_series(date_trunc('hour', now() - interval '24 hours'), date_trunc('hour', now()),
                               interval '1 hour') AS hour),
    expected AS (
        SELECT h.hour, coalesce(s.assignments, 0) AS assignments, coalesce(s.conversions, 0) AS conversions
          FROM hours h FULL JOIN seed s USING (hour))
    SELECT count(*)
      FROM abt_timeline('c71e0000-0000-0000-0000-000000000001') t
      FULL JOIN expected e ON e.hour = t.bucket
     WHERE t.bucket IS NULL OR e.hour IS NULL
        OR t.assignments <> e.assignments OR t.conversions <> e.conversions
        OR t.conversion_rate IS DISTINCT FROM
           CASE WHEN e.assignments > 0 THEN e.conversions::float8 / e.assignments END
$$;
SET LOCAL TimeZone = 'UTC';
SELECT pg_temp.seed_mismatches() AS utc_mismatches,
       (SELECT count(*) FROM abt_timeline('c71e0000-0000-0000-0000-000000000001')) AS rows,
       (SELECT sum(assignments) FROM abt_timeline('c71e0000-0000-0000-0000-000000000001')) > 500 AS busy;
SET LOCAL TimeZone = 'Asia/Kathmandu';
SELECT pg_temp.seed_mismatches() AS kathmandu_mismatches;

--
-- Every width, window and zone.  Zones: UTC, America/New_York,
-- Asia/Kolkata (+05:30), Asia/Kathmandu (+05:45), Australia/Adelaide
-- (+09:30/+10:30), and POSIX zones: +05:20 and -03:10 (hours off the
-- 15-minute rollup grid), and two zones made up so that daylight saving
-- time starts (-05 -> -04) or ends (-04 -> -05) inside the window, between
-- 6 and 21 hours ago, at a local hour between 03:00 and 21:00.
--
CREATE TEMP TABLE zones (o int, label text, tz text) ON COMMIT DROP;
INSERT INTO zones VALUES
    (1, 'UTC', 'UTC'), (2, 'America/New_York', 'America/New_York'), (3, 'Asia/Kolkata', 'Asia/Kolkata'),
    (4, 'Asia/Kathmandu', 'Asia/Kathmandu'), (5, 'Australia/Adelaide', 'Australia/Adelaide'),
    (6, '+05:20', '<+0520>-05:20'), (7, '-03:10', '<-0310>+03:10');
INSERT INTO zones
SELECT 8, 'DST starts', format('XST5XDT,%s/%s,%s/2', n, hr, (n + 180) % 365)
  FROM (SELECT extract(doy FROM l)::int - 1 AS n, extract(hour FROM l)::int AS hr
          FROM (SELECT date_trunc('hour', (now() AT TIME ZONE 'UTC') - interval '5 hours' - k * interval '1 hour') AS l
                  FROM generate_series(6, 21) k) c
         WHERE extract(hour FROM l) BETWEEN 3 AND 21 ORDER BY l DESC LIMIT 1) s;
INSERT INTO zones
SELECT 9, 'DST ends', format('XST5XDT,%s/2,%s/%s', (n + 185) % 365, n, hr)
  FROM (SELECT extract(doy FROM l)::int - 1 AS n, extract(hour FROM l)::int AS hr
          FROM (SELECT date_trunc('hour', (now() AT TIME ZONE 'UTC') - interval '4 hours' - k * interval '1 hour') AS l
                  FROM generate_series(6, 21) k) c
         WHERE extract(hour FROM l) BETWEEN 3 AND 21 ORDER BY l DESC LIMIT 1) s;
-- the made-up zones change their offset inside the window as intended
CREATE FUNCTION pg_temp.offsets(tz text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    before text;
    after text;
BEGIN
    PERFORM set_config('TimeZone', tz, true);
    before := to_char(now() - interval '22 hours', 'OF');
    after := to_char(now() - interval '5 hours', 'OF');
    RETURN before || ' -> ' || after;
END $$;
SELECT label, pg_temp.offsets(tz) AS offsets FROM zones WHERE o >= 8 ORDER BY o;

-- Runs the checks of every width and window under each zone; lists the
-- failing (width, hours) pairs.
CREATE FUNCTION pg_temp.check_zone(tz text, widths interval[], windows int[]) RETURNS TABLE (checks int, failing text)
LANGUAGE plpgsql AS $$
DECLARE
    w interval;
    h int;
    bad text[] := '{}';
    n int := 0;
BEGIN
    PERFORM set_config('TimeZone', tz, true);
    FOREACH w IN ARRAY widths LOOP
        FOREACH h IN ARRAY windows LOOP
            n := n + 1;
            IF pg_temp.mismatches('c71e0000-0000-0000-0000-000000000001', h, w) <> 0 THEN
                bad := bad || format('%s/%sh', w, h);
            END IF;
        END LOOP;
    END LOOP;
    RETURN QUERY SELECT n, array_to_string(bad, ', ');
END $$;
SELECT z.label, c.checks, c.failing
  FROM zones z,
       LATERAL pg_temp.check_zone(z.tz,
           '{1 hour,15 minutes,30 minutes,2 hours,3 hours,6 hours,12 hours,1 day,5 minutes,1 minute,20 minutes}',
           '{1,7,24,30,48}') c
 ORDER BY z.o;

--
-- 375 days in zones with daylight saving time: always one change each way
-- (a change's date moves by up to a week from year to year), so this
-- checks the bucket starts across both changes
-- (local buckets of 2, 6 and 12 hours start at local 00:00, 02:00, ...; a
-- local bucket holding the repeated hour is an hour longer, one holding
-- the skipped hour an hour shorter).
--
CREATE FUNCTION pg_temp.check_year(tz text, widths interval[]) RETURNS TABLE (checks int, failing text)
LANGUAGE plpgsql AS $$
DECLARE
    w interval;
    bad text[] := '{}';
    n int := 0;
BEGIN
    PERFORM set_config('TimeZone', tz, true);
    FOREACH w IN ARRAY widths LOOP
        n := n + 1;
        IF pg_temp.mismatches('c71e0000-0000-0000-0000-000000000001', 9000, w, '15 minutes') <> 0 THEN
            bad := bad || format('%s', w);
        END IF;
    END LOOP;
    RETURN QUERY SELECT n, array_to_string(bad, ', ');
END $$;
SELECT z.tz, c.checks, c.failing
  FROM unnest(ARRAY['America/New_York', 'Australia/Adelaide', 'Europe/London']) WITH ORDINALITY AS z(tz, o),
       LATERAL pg_temp.check_year(z.tz, '{15 minutes,1 hour,2 hours,6 hours,12 hours,1 day}') c
 ORDER BY z.o;

--
-- Per variant: each bucket of abt_timeline once per variant, in element and
-- variant position order, with the right element and name; each variant's
-- counts from the assignments' variants map; the variants of each element
-- add up to the experiment's series.
--
CREATE FUNCTION pg_temp.variant_mismatches(exp uuid, hours int, w interval) RETURNS bigint LANGUAGE sql STABLE AS $$
    WITH got AS (
        SELECT * FROM abt_timeline_variants(exp, hours, w)
               WITH ORDINALITY AS t(bucket, element_id, variant_id, variant_name, assignments, conversions, rate, o)),
    series AS (SELECT * FROM abt_timeline(exp, hours, w)),
    variants AS (
        SELECT v.id AS variant_id, v.element_id, v.name,
               row_number() OVER (ORDER BY el.position, el.id, v.position, v.id) AS vo
          FROM abtest.element_variants v JOIN abtest.experiment_elements el ON el.id = v.element_id
         WHERE el.experiment_id = exp),
    expected_rows AS (
        SELECT s.bucket, v.variant_id, v.element_id, v.name, row_number() OVER (ORDER BY s.bucket, v.vo) AS o
          FROM series s, variants v),
    counted AS (
        SELECT pg_temp.bucket_key(a.assigned_at, w) AS k, m.value::uuid AS variant_id,
               count(*) AS n, count(a.converted_at) AS c
          FROM abtest.assignments a, jsonb_each_text(a.variants) m
         WHERE a.experiment_id = exp AND a.assigned_at >= now() - interval '1 hour' * hours
         GROUP BY 1, 2)
    SELECT -- rows: the right ones, in order, once
           (SELECT count(*) FROM got g FULL JOIN expected_rows e USING (o)
             WHERE g.o IS NULL OR e.o IS NULL OR g.bucket <> e.bucket OR g.variant_id <> e.variant_id
                OR g.element_id <> e.element_id OR g.variant_name <> e.name)
           -- counts of each variant and bucket from the assignments
         + (SELECT count(*) FROM got g
              LEFT JOIN counted c ON c.k = pg_temp.bucket_key(g.bucket, w) AND c.variant_id = g.variant_id
             WHERE g.assignments <> coalesce(c.n, 0) OR g.conversions <> coalesce(c.c, 0)
                OR g.rate IS DISTINCT FROM CASE WHEN c.n > 0 THEN c.c::float8 / c.n END)
           -- the variants of each element add up to the series
         + (SELECT count(*) FROM (SELECT bucket, element_id, sum(assignments) AS a, sum(conversions) AS c
                                    FROM got GROUP BY 1, 2) e
              JOIN series s USING (bucket)
             WHERE e.a <> s.assignments OR e.c <> s.conversions)
$$;
CREATE FUNCTION pg_temp.check_zone_variants(tz text, widths interval[], windows int[]) RETURNS TABLE (checks int, failing text)
LANGUAGE plpgsql AS $$
DECLARE
    w interval;
    h int;
    bad text[] := '{}';
    n int := 0;
BEGIN
    PERFORM set_config('TimeZone', tz, true);
    FOREACH w IN ARRAY widths LOOP
        FOREACH h IN ARRAY windows LOOP
            n := n + 1;
            IF pg_temp.variant_mismatches('c71e0000-0000-0000-0000-000000000001', h, w) <> 0 THEN
                bad := bad || format('%s/%sh', w, h);
            END IF;
        END LOOP;
    END LOOP;
    RETURN QUERY SELECT n, array_to_string(bad, ', ');
END $$;
SELECT z.label, c.checks, c.failing
  FROM zones z,
       LATERAL pg_temp.check_zone_variants(z.tz, '{1 hour,15 minutes,6 hours,1 day,5 minutes}', '{1,24,30}') c
 ORDER BY z.o;

-- The defaults are 24 hours by the hour; '60 minutes' and '24 hours' are
-- '1 hour' and '1 day'.
SET LOCAL TimeZone = 'Asia/Kolkata';
SELECT (SELECT count(*) FROM (SELECT * FROM abt_timeline('c71e0000-0000-0000-0000-000000000001')
                              EXCEPT ALL SELECT * FROM abt_timeline('c71e0000-0000-0000-0000-000000000001', 24, '1 hour')) d) AS default_differs,
       (SELECT count(*) FROM (SELECT * FROM abt_timeline_variants('c71e0000-0000-0000-0000-000000000001')
                              EXCEPT ALL SELECT * FROM abt_timeline_variants('c71e0000-0000-0000-0000-000000000001', 24, '1 hour')) d) AS variants_default_differs,
       (SELECT count(*) FROM (SELECT * FROM abt_timeline('c71e0000-0000-0000-0000-000000000001', 30, '60 minutes')
                              EXCEPT ALL SELECT * FROM abt_timeline('c71e0000-0000-0000-0000-000000000001', 30, '1 hour')) d) AS minutes_60_differs,
       (SELECT count(*) FROM (SELECT * FROM abt_timeline('c71e0000-0000-0000-0000-000000000001', 48, '24 hours')
                              EXCEPT ALL SELECT * FROM abt_timeline('c71e0000-0000-0000-0000-000000000001', 48, '1 day')) d) AS hours_24_differs;

--
-- A conversion made later counts in the bucket of the assignment, at once;
-- a rolled-back one does not.
--
SET LOCAL TimeZone = 'UTC';
CREATE TEMP TABLE before ON COMMIT DROP AS
SELECT * FROM abt_timeline('c71e0000-0000-0000-0000-000000000001', 30, '15 minutes');
SAVEPOINT s;
SELECT abt_convert('c71e0000-0000-0000-0000-000000000001', min(user_id)) AS converted_first
  FROM visits WHERE src = 'now' AND substr(user_id, 4)::int % 3 <> 0;
SELECT pg_temp.mismatches('c71e0000-0000-0000-0000-000000000001', 30, '15 minutes') AS mismatches,
       (SELECT sum(conversions) FROM abt_timeline('c71e0000-0000-0000-0000-000000000001', 30, '15 minutes'))
       - (SELECT sum(conversions) FROM before) AS more_conversions;
ROLLBACK TO SAVEPOINT s;
SELECT count(*) AS differs_after_rollback
  FROM (SELECT * FROM abt_timeline('c71e0000-0000-0000-0000-000000000001', 30, '15 minutes')
        EXCEPT ALL SELECT * FROM before) d;

--
-- Assignments a little after now(): a READ COMMITTED statement sees rows
-- committed by transactions that started after its own (their now() is
-- later).  The seed's query counts them in their hour; so must the bucket
-- holding now(), whatever the width.
--
SELECT count(*) AS assigned_after_now
  FROM abt_assign_bulk('c71e0000-0000-0000-0000-000000000001', '{late-1,late-2}', now() + interval '1 microsecond');
SELECT w, pg_temp.mismatches('c71e0000-0000-0000-0000-000000000001', 24, w::interval) AS mismatches
  FROM unnest(ARRAY['1 hour', '15 minutes', '5 minutes', '1 minute']) WITH ORDINALITY AS u(w, o)
 ORDER BY o;
ROLLBACK;

-- clean up
DELETE FROM abtest.experiments WHERE id::text LIKE 'c71e0000-%';
SELECT (SELECT count(*) FROM abtest.experiment_timeline WHERE experiment_id::text LIKE 'c71e0000-%')
     + (SELECT count(*) FROM abtest.variant_rollups WHERE experiment_id::text LIKE 'c71e0000-%')
     + (SELECT count(*) FROM abtest.assignments WHERE experiment_id::text LIKE 'c71e0000-%') AS leftover;
