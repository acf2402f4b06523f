-- bench/sql/analytics/02_load.sql -- loads the visitors of the analytics
-- experiments through the extension's write paths. bench/run runs it in
-- :loaders sessions at once (2 unless BENCH_LOADERS says otherwise), each
-- with its -v loader=0, 1, ...
--
-- The 7 days before bench_an_meta.t_end are cut into 1000 steps of ~10
-- minutes; loader L takes the steps s with s % :loaders = L, in time order.
-- Each step is one
-- abt_assign_bulk call per experiment at the step's time (an-big: 2000
-- visitors 'v<n>', an-mid: 500 'm<n>'), then abt_convert for every 10th
-- of them, 3 minutes later; every statement is its own transaction.
-- Loader L waits before step s until the others have finished step
-- s - loaders - 1 (bench_load_wait): they advance through the week together,
-- so the heap stays ordered by assigned_at, as live traffic leaves it (BRIN
-- depends on that).
-- Before that, loader L loads the small experiments an-s<i> with
-- i % :loaders = L:
-- 2 calls of 1000 visitors (3.5 and 1.5 days ago), 10% converting.
SELECT format('SELECT count(*) AS small FROM abt_assign_bulk(%L, ARRAY(SELECT %L || g FROM generate_series(%s, %s) AS g), %L)',
              b.experiment, b.prefix, h * 1000 + 1, h * 1000 + 1000, m.t_end - (84 - h * 48) * interval '1 hour'),
       format('SELECT count(abt_convert(%L, %L || g, ''signup'', NULL, %L)) AS small_conversions FROM generate_series(%s, %s, 10) AS g',
              b.experiment, b.prefix, m.t_end - (84 - h * 48) * interval '1 hour' + interval '3 minutes', h * 1000 + 1, h * 1000 + 1000)
  FROM bench_an b, bench_an_meta m, generate_series(0, 1) AS h
 WHERE b.name LIKE 'an-s%' AND substr(b.name, 5)::int % :loaders = :loader
 ORDER BY h, b.name
\gexec

INSERT INTO bench_an_progress VALUES (:loader, -1)
    ON CONFLICT (loader) DO UPDATE SET step = -1;

SELECT format('SELECT bench_load_wait(%s, %s, %s)', :loader, :loaders, s),
       format('SELECT count(*) AS big FROM abt_assign_bulk(%L, ARRAY(SELECT ''v'' || g FROM generate_series(%s, %s) AS g), %L)',
              big.experiment, s * 2000 + 1, s * 2000 + 2000, t.at),
       format('SELECT count(*) AS mid FROM abt_assign_bulk(%L, ARRAY(SELECT ''m'' || g FROM generate_series(%s, %s) AS g), %L)',
              mid.experiment, s * 500 + 1, s * 500 + 500, t.at),
       format('SELECT count(abt_convert(%L, ''v'' || g, ''signup'', NULL, %L)) AS big_conversions FROM generate_series(%s, %s, 10) AS g',
              big.experiment, t.at + interval '3 minutes', s * 2000 + 1, s * 2000 + 2000),
       format('SELECT count(abt_convert(%L, ''m'' || g, ''signup'', NULL, %L)) AS mid_conversions FROM generate_series(%s, %s, 10) AS g',
              mid.experiment, t.at + interval '3 minutes', s * 500 + 1, s * 500 + 500),
       format('UPDATE bench_an_progress SET step = %s WHERE loader = %s', s, :loader)
  FROM bench_an big, bench_an mid, bench_an_meta m, generate_series(0, m.steps - 1) AS s,
       LATERAL (SELECT m.t_end - interval '168 hours' + (s + 0.5) * interval '168 hours' / m.steps AS at) AS t
 WHERE big.name = 'an-big' AND mid.name = 'an-mid' AND s % :loaders = :loader
 ORDER BY s
\gexec
