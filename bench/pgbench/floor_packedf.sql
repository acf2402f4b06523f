\set n random(1, 1000000000000)
SELECT bench_packedf(:exp::uuid, 'q' || :client_id || '-' || :n, :vmap::jsonb, 2000 + :client_id, 1, 3);
