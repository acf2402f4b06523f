\set n random(1, 1000000000000)
INSERT INTO abtest.assignments (experiment_id, user_id, variants) VALUES (:exp::uuid, 'b' || :client_id || '-' || :n, :vmap::jsonb);
