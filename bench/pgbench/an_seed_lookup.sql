-- The seed's assignment lookup of a random visitor of the 2M experiment
-- ('v1' .. 'v2000000'). -D exp=<experiment> (quoted in simple mode)
\set r random(1, 2000000)
SELECT * FROM abtest.assignments WHERE experiment_id = :exp AND user_id = 'v' || :r;
