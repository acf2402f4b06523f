-- Baseline (b): a bare single-row INSERT into a plain table
-- bench_insert(id bigserial primary key, experiment_id, user_id, created_at).
-- -D exp=<hot experiment>
\set n random(1, 1000000000000)
INSERT INTO bench_insert (experiment_id, user_id) VALUES (:exp, 'p' || :client_id || '-' || :n);
