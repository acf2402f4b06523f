\set n random(1, 1000000000000)
WITH a AS (INSERT INTO abtest.assignments (experiment_id, user_id, variants)
           VALUES (:exp::uuid, 'r' || :client_id || '-' || :n, :vmap::jsonb)
           RETURNING date_bin('15 minutes', assigned_at, '2000-01-01') AS bucket),
     c AS (INSERT INTO abtest.variant_counters AS c (experiment_id, slot, variant_id, allocations)
           VALUES (:exp::uuid, 3000 + :client_id, :v1::uuid, 1), (:exp::uuid, 3000 + :client_id, :v3::uuid, 1)
           ON CONFLICT (experiment_id, slot, variant_id) DO UPDATE SET allocations = c.allocations + 1)
INSERT INTO bench_packed AS t (experiment_id, slot, bucket, assignments, allocations, converted)
SELECT :exp::uuid, 3000 + :client_id, a.bucket, 1, '{1,0,1,0}', '{0,0,0,0}' FROM a
ON CONFLICT (experiment_id, slot, bucket) DO UPDATE
   SET assignments = t.assignments + 1, allocations[1] = t.allocations[1] + 1, allocations[3] = t.allocations[3] + 1;
