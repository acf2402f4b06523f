-- The seed's experiment list: the active experiments of a random account
-- (500 accounts of 20 experiments, 4 active; bench_uuid(9, u) is account u).
\set u random(1, 500)
SELECT * FROM abtest.experiments WHERE user_id = bench_uuid(9, :u) AND status = 'active' ORDER BY created_at DESC LIMIT 20;
