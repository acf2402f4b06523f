\set n random(1, 1000000000000)
WITH a AS (INSERT INTO abtest.assignments (experiment_id, user_id, variants)
           VALUES (:exp::uuid, 's' || :client_id || '-' || :n, :vmap::jsonb))
INSERT INTO abtest.variant_counters AS c (experiment_id, slot, variant_id, allocations)
VALUES (:exp::uuid, 4000 + :client_id, :v1::uuid, 1), (:exp::uuid, 4000 + :client_id, :v3::uuid, 1)
ON CONFLICT (experiment_id, slot, variant_id) DO UPDATE SET allocations = c.allocations + 1;
