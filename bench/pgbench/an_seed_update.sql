-- The seed-as-app's counter write: one more allocation for a random variant
-- (variant 1 or 2 of element 1 or 2) of a random active platform experiment
-- (k % 5 = 0). bench_uuid(3, 16k + 4i + j) is variant j of element i of k.
\set k 5 * random(1, 2000)
\set v 16 * :k + 4 * random(1, 2) + random(1, 2)
UPDATE abtest.element_variants SET total_allocations = total_allocations + 1 WHERE id = bench_uuid(3, :v);
