\set n random(1, 1000000000000)
WITH a AS (INSERT INTO abtest.assignments (experiment_id, user_id, variants)
           VALUES (:exp::uuid, 'f' || :client_id || '-' || :n, :vmap::jsonb)
           RETURNING date_bin('15 minutes', assigned_at, '2000-01-01') AS bucket),
     c AS (INSERT INTO abtest.variant_counters AS c (experiment_id, slot, variant_id, allocations)
           VALUES (:exp::uuid, 1000 + :client_id, :v1::uuid, 1), (:exp::uuid, 1000 + :client_id, :v3::uuid, 1)
           ON CONFLICT (experiment_id, slot, variant_id) DO UPDATE SET allocations = c.allocations + 1),
     v AS (INSERT INTO abtest.variant_timeline AS t (experiment_id, bucket, slot, variant_id, assignments)
           SELECT :exp::uuid, a.bucket, 1000 + :client_id, x.v, 1 FROM a, (VALUES (:v1::uuid), (:v3::uuid)) x(v)
           ON CONFLICT (experiment_id, bucket, slot, variant_id) DO UPDATE SET assignments = t.assignments + 1)
INSERT INTO abtest.experiment_timeline AS t (experiment_id, bucket, slot, assignments)
SELECT :exp::uuid, a.bucket, 1000 + :client_id, 1 FROM a
ON CONFLICT (experiment_id, bucket, slot) DO UPDATE SET assignments = t.assignments + 1;
