--
-- id_limit: visitor ids, goals and worker names are 1 to 256 characters.
-- The limit is written in several places: in C (ABT_MAX_ID_CHARS, checked
-- by abt_assign, abt_assign_batch, abt_assign_bulk and abt_convert for the
-- visitor id and the goal) and in the released 1.0 script, which cannot
-- change (the CHECK on abtest.assignments.user_id, abtest.lead_check_worker
-- behind abt_leads_claim, abt_lead_complete and abt_lead_fail, and
-- abt_lead_capture's visitor id).  Each place is held to it here: 256
-- characters (multibyte ones too: characters, not bytes) are accepted, 257
-- rejected.  Everything is rolled back.  Ids of this file: ab000000-....
--
-- runs a statement, returns its one value (or its SQLSTATE and message)
CREATE FUNCTION pg_temp.try(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r text;
BEGIN
    EXECUTE q INTO r;
    RETURN coalesce(r, 'NULL');
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

BEGIN;
INSERT INTO abtest.experiments (id, name, status) VALUES
    ('ab000000-0000-0000-0000-000000000001', 'id limit', 'active');
INSERT INTO abtest.experiment_elements (id, experiment_id, name) VALUES
    ('ab000000-0000-0000-0001-000000000001', 'ab000000-0000-0000-0000-000000000001', 'el');
INSERT INTO abtest.element_variants (id, element_id, name) VALUES
    ('ab000000-0000-0000-0002-000000000001', 'ab000000-0000-0000-0001-000000000001', 'only');

SELECT label, pg_temp.try(q) AS result FROM (VALUES
    -- C: visitor ids
    ('abt_assign, 256', $$SELECT abt_assign('ab000000-0000-0000-0000-000000000001', repeat(U&'\00e9', 256))->>'new'$$),
    ('abt_assign, 257', $$SELECT abt_assign('ab000000-0000-0000-0000-000000000001', repeat('x', 257))->>'new'$$),
    ('abt_assign_batch, 256', $$SELECT abt_assign_batch('{ab000000-0000-0000-0000-000000000001}', repeat('b', 256))->0->>'new'$$),
    ('abt_assign_batch, 257', $$SELECT abt_assign_batch('{ab000000-0000-0000-0000-000000000001}', repeat('b', 257))->0->>'new'$$),
    ('abt_assign_bulk, 256', $$SELECT string_agg(assignment->>'new', ',') FROM abt_assign_bulk('ab000000-0000-0000-0000-000000000001', ARRAY['u', repeat('u', 256)])$$),
    ('abt_assign_bulk, 257', $$SELECT string_agg(assignment->>'new', ',') FROM abt_assign_bulk('ab000000-0000-0000-0000-000000000001', ARRAY['v', repeat('u', 257)])$$),
    ('abt_convert visitor, 256', $$SELECT abt_convert('ab000000-0000-0000-0000-000000000001', repeat(U&'\00e9', 256))$$),
    ('abt_convert visitor, 257', $$SELECT abt_convert('ab000000-0000-0000-0000-000000000001', repeat(U&'\00e9', 257))$$),
    -- C: goals
    ('abt_convert goal, 256', $$SELECT abt_convert('ab000000-0000-0000-0000-000000000001', 'u', repeat(U&'\00e9', 256))$$),
    ('abt_convert goal, 257', $$SELECT abt_convert('ab000000-0000-0000-0000-000000000001', 'u', repeat('g', 257))$$),
    -- SQL: the assignments table
    ('assignments row, 256', $$INSERT INTO abtest.assignments (experiment_id, user_id, variants)
                               VALUES ('ab000000-0000-0000-0000-000000000001', repeat('r', 256), '{}') RETURNING 'inserted'$$),
    ('assignments row, 257', $$INSERT INTO abtest.assignments (experiment_id, user_id, variants)
                               VALUES ('ab000000-0000-0000-0000-000000000001', repeat('r', 257), '{}') RETURNING 'inserted'$$),
    -- SQL: leads' visitor ids
    ('abt_lead_capture visitor, 256', $$SELECT abt_lead_capture('{"n": 1}', 'ab000000-0000-0000-0000-000000000001', repeat(U&'\00e9', 256)) > 0$$),
    ('abt_lead_capture visitor, 257', $$SELECT abt_lead_capture('{"n": 2}', 'ab000000-0000-0000-0000-000000000001', repeat('v', 257)) > 0$$),
    ('abt_lead_capture again, 256', $$SELECT abt_lead_capture('{"n": 3}', NULL, repeat('v', 256)) > 0$$),
    -- SQL: worker names (abtest.lead_check_worker)
    ('abt_leads_claim worker, 256', $$SELECT count(*) FILTER (WHERE payload ? 'n') FROM abt_leads_claim(repeat(U&'\00e9', 256), 100000)$$),
    ('abt_leads_claim worker, 257', $$SELECT count(*) FROM abt_leads_claim(repeat('w', 257))$$),
    ('abt_lead_complete worker, 256', $$SELECT abt_lead_complete((SELECT id FROM abtest.leads WHERE payload->>'n' = '1'), repeat(U&'\00e9', 256))$$),
    ('abt_lead_complete worker, 257', $$SELECT abt_lead_complete((SELECT id FROM abtest.leads WHERE payload->>'n' = '1'), repeat('w', 257))$$),
    ('abt_lead_fail worker, 256', $$SELECT abt_lead_fail((SELECT id FROM abtest.leads WHERE payload->>'n' = '3'), repeat(U&'\00e9', 256), 'e')$$),
    ('abt_lead_fail worker, 257', $$SELECT abt_lead_fail((SELECT id FROM abtest.leads WHERE payload->>'n' = '3'), repeat('w', 257), 'e')$$)
  ) t(label, q);

-- what was stored, in characters and bytes
SELECT length(user_id) AS chars, octet_length(user_id) AS bytes, variants <> '{}' AS assigned,
       converted_at IS NOT NULL AS converted
  FROM abtest.assignments WHERE experiment_id = 'ab000000-0000-0000-0000-000000000001'
 ORDER BY 1, 2, 3, 4;
SELECT length(goal) AS goal_chars, octet_length(goal) AS goal_bytes, length(user_id) AS visitor_chars
  FROM abtest.conversions WHERE experiment_id = 'ab000000-0000-0000-0000-000000000001'
 ORDER BY 1, 2, 3;
SELECT payload->>'n' AS n, length(user_id) AS visitor_chars, status, length(claimed_by) AS worker_chars
  FROM abtest.leads WHERE payload ? 'n' ORDER BY 1;
ROLLBACK;
