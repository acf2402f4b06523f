\set n random(1, 1000000000000)
SELECT bench_only(:exp::uuid, 'o' || :client_id || '-' || :n, :vmap::jsonb);
