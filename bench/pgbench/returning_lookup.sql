-- Baseline of the returning-visitor benchmark: the seed's bare lookup of a
-- pre-assigned visitor ('v1' .. 'v200000').  -D exp=<returning experiment>
\set r random(1, 200000)
SELECT * FROM abtest.assignments WHERE experiment_id = :exp AND user_id = 'v' || :r;
