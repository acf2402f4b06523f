-- Baseline (c): the seed as an app, i.e. what the application did before
-- abtest for a new visitor, as separate statements in one transaction:
-- look the visitor up, read the variants, insert the assignment, add one to
-- the chosen variant of each element (element 1 first, then element 2: a
-- fixed order, so these UPDATEs cannot deadlock each other).
-- Runs against its own experiment ('app') so its UPDATEs disturb nothing else.
-- -D exp=<app experiment> -D el1 el2 (elements) -D e1v1 e1v2 e2v1 e2v2 (variants)
\set n random(1, 1000000000000)
\set v1 random(1, 2)
\set v2 random(1, 2)
BEGIN;
SELECT * FROM abtest.assignments WHERE experiment_id = :exp AND user_id = 'a' || :client_id || '-' || :n;
SELECT ev.*, ee.id FROM abtest.element_variants ev JOIN abtest.experiment_elements ee ON ev.element_id = ee.id WHERE ee.experiment_id = :exp;
INSERT INTO abtest.assignments (experiment_id, user_id, variants)
VALUES (:exp, 'a' || :client_id || '-' || :n,
        jsonb_build_object(:el1::text, (ARRAY[:e1v1::text, :e1v2::text])[:v1],
                           :el2::text, (ARRAY[:e2v1::text, :e2v2::text])[:v2]));
UPDATE abtest.element_variants SET total_allocations = total_allocations + 1
 WHERE id = (ARRAY[:e1v1::uuid, :e1v2::uuid])[:v1];
UPDATE abtest.element_variants SET total_allocations = total_allocations + 1
 WHERE id = (ARRAY[:e2v1::uuid, :e2v2::uuid])[:v2];
COMMIT;
