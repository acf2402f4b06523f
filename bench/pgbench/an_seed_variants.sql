-- The seed's variant query for a random experiment of the platform
-- (10,000 experiments; bench_uuid(1, k) is experiment k's id).
\set k random(1, 10000)
SELECT ev.*, ee.id FROM abtest.element_variants ev JOIN abtest.experiment_elements ee ON ev.element_id = ee.id WHERE ee.experiment_id = bench_uuid(1, :k);
