-- Baseline (a): the seed's new-visitor write, a bare single-row INSERT into
-- abtest.assignments (same table and indexes abt_assign writes), unique id.
-- -D exp=<hot experiment> -D vmap=<a variants map of the hot experiment>
\set n random(1, 1000000000000)
INSERT INTO abtest.assignments (experiment_id, user_id, variants)
VALUES (:exp, 'b' || :client_id || '-' || :n, :vmap);
