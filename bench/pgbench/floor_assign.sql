\set n random(1, 1000000000000)
SELECT abt_assign(:exp::uuid, 'n' || :client_id || '-' || :n);
