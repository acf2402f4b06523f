-- bench/sql/analytics/01_setup.sql -- the experiments of the analytics
-- benchmarks (bench/run analytics). Needs bench/sql/01_schema.sql (helpers).
--
--   an-big    active, 2 elements x 2 variants: 2,000,000 visitors over 7 days
--   an-mid    active, 2 x 2: 500,000 visitors over the same 7 days
--   an-s1 .. an-s100
--             active, 2 elements x 2-3 variants: 2,000 visitors each
--             (an-s1 is also the "2k" experiment of the stats rows)
--   platform  10,000 experiments of 500 accounts (20 each, 4 of them active),
--             2 elements x 2-3 variants each, no visitors: the configuration
--             tables of a realistic platform, read by the seed's variant and
--             experiment-list queries
-- The visitors are loaded by 02_load.sql through abt_assign_bulk and
-- abt_convert.

-- Deterministic ids, so that pgbench scripts can compute them:
-- bench_uuid(kind, n) = 'kkkkkkkk-0000-4000-8000-nnnnnnnnnnnn' (hex).
-- kind 1: platform experiment k (1..10000), 2: its element 4k+i (i = 1, 2),
-- 3: its variant 16k+4i+j (j = 1..3), 9: account u (1..500).
CREATE FUNCTION bench_uuid(kind int, n bigint) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (lpad(to_hex(kind), 8, '0') || '-0000-4000-8000-' || lpad(to_hex(n), 12, '0'))::uuid
$$;

-- The time the 7-day history ends at (the load's start), and the steps it
-- is loaded in (02_load.sql).
CREATE TABLE bench_an_meta (t_end timestamptz NOT NULL, steps int NOT NULL);
INSERT INTO bench_an_meta VALUES (now(), 1000);

-- The loaders' progress (02_load.sql): the last step each one finished.
-- bench_load_wait(loader, loaders, s) waits until every other loader has
-- finished step s - loaders - 1, so the loaders advance through the 7 days
-- together (at most ~3 steps, 30 minutes of assigned_at, apart) and the heap
-- stays ordered by assigned_at, as live traffic leaves it.
CREATE TABLE bench_an_progress (loader int PRIMARY KEY, step int NOT NULL);
CREATE FUNCTION bench_load_wait(p_loader int, p_loaders int, s int) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    LOOP
        EXIT WHEN (SELECT count(*) = p_loaders - 1 AND coalesce(min(step), s) >= s - p_loaders - 1
                     FROM bench_an_progress WHERE loader <> p_loader);
        PERFORM pg_sleep(0.005);
    END LOOP;
END $$;

-- name -> experiment, its number of visitors and their id prefix.
CREATE TABLE bench_an (
    name       text PRIMARY KEY,
    experiment uuid NOT NULL,
    visitors   int  NOT NULL,
    prefix     text NOT NULL
);
INSERT INTO bench_an
VALUES ('an-big', bench_make_experiment('analytics: big (2M visitors)', 'active', 2, 2), 2000000, 'v'),
       ('an-mid', bench_make_experiment('analytics: mid (500k visitors)', 'active', 2, 2), 500000, 'm');
INSERT INTO bench_an
SELECT 'an-s' || i, bench_make_experiment('analytics: small ' || i, 'active', 2, 2 + i % 2), 2000, 's' || i || '-'
  FROM generate_series(1, 100) AS i;

-- The platform: 10,000 experiments, account u owns k = 20(u-1)+1 .. 20u;
-- k % 5 = 0 is active (4 per account), the others completed, paused or
-- draft; created over the last year. Inserted with their final status (the
-- status triggers fire on UPDATE only). The element and variant triggers
-- bump config_version as usual.
INSERT INTO abtest.experiments (id, user_id, name, status, created_at)
SELECT bench_uuid(1, k), bench_uuid(9, (k - 1) / 20 + 1), 'platform experiment ' || k,
       (ARRAY['active', 'completed', 'paused', 'draft', 'completed'])[k % 5 + 1],
       m.t_end - (k * 7919 % 525600) * interval '1 minute'
  FROM generate_series(1, 10000) AS k, bench_an_meta m;
INSERT INTO abtest.experiment_elements (id, experiment_id, name, selector, position)
SELECT bench_uuid(2, 4 * k + i), bench_uuid(1, k), 'element ' || i, '#hero .block-' || i, i
  FROM generate_series(1, 10000) AS k, generate_series(1, 2) AS i;
INSERT INTO abtest.element_variants (id, element_id, name, content, is_control, position)
SELECT bench_uuid(3, 16 * k + 4 * i + j), bench_uuid(2, 4 * k + i),
       CASE WHEN j = 1 THEN 'control' ELSE 'variant ' || j END, bench_content(i, j), j = 1, j
  FROM generate_series(1, 10000) AS k, generate_series(1, 2) AS i, generate_series(1, 3) AS j
 WHERE j <= 2 OR (i = 2 AND k % 2 = 1);
