--
-- leads: the leads queue -- abt_lead_capture (the visitor's variant, errors),
-- abt_leads_claim (oldest first, batches, leases), abt_lead_complete,
-- abt_lead_fail (retry, max_attempts), abt_leads_requeue_expired, a
-- rolled-back claim, argument errors, and who may call what.  Concurrent
-- claims: test/specs/leads-claim.spec.  Ids of this file: a7000000-....
--
\i test/sql/include/err.sql
-- the queue, one line per lead, labelled by payload->>'n'
CREATE VIEW pg_temp.queue AS
SELECT payload->>'n' AS n, status, claimed_by, attempts, max_attempts,
       claimed_at IS NOT NULL AS claimed, claim_expires_at - claimed_at AS lease,
       completed_at IS NOT NULL AS completed, last_error
  FROM abtest.leads ORDER BY created_at, id;

-- The queue is shared by the whole database: start empty.
DELETE FROM abtest.leads;

-- An experiment with two elements; "button" comes first (position 1).
INSERT INTO abtest.experiments (id, name, status) VALUES
    ('a7000000-0000-0000-0000-000000000001', 'leads', 'active');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, position) VALUES
    ('a7000000-0000-0000-0001-000000000001', 'a7000000-0000-0000-0000-000000000001', 'headline', 2),
    ('a7000000-0000-0000-0001-000000000002', 'a7000000-0000-0000-0000-000000000001', 'button', 1);
INSERT INTO abtest.element_variants (id, element_id, name, position) VALUES
    ('a7000000-0000-0000-0002-000000000011', 'a7000000-0000-0000-0001-000000000001', 'headline-only', 0),
    ('a7000000-0000-0000-0002-000000000021', 'a7000000-0000-0000-0001-000000000002', 'button-only', 0);
SELECT abt_assign('a7000000-0000-0000-0000-000000000001', 'visitor-1', '2024-09-01')->>'new' AS assigned;

--
-- Capture: a lead tied to an experiment and an assigned visitor gets the
-- visitor's variant of the experiment's first element (position order); an
-- unassigned visitor's lead has no variant; the payload and visitor id are
-- stored verbatim.
--
SELECT abt_lead_capture('{"n": "1", "email": "ann@example.com"}') > 0 AS captured;
SELECT abt_lead_capture('{"n": "2", "email": "bob@example.com"}', 'a7000000-0000-0000-0000-000000000001', 'visitor-1') > 0 AS captured;
SELECT abt_lead_capture('{"n": "3"}', 'a7000000-0000-0000-0000-000000000001', 'never-assigned') > 0 AS captured;
SELECT abt_lead_capture('{"n": "4", "note": "it''s \"quoted\" \\ and ''); DROP TABLE abtest.leads; --"}',
                        user_id => 'visitor-4') > 0 AS captured;
SELECT abt_lead_capture(payload => '{"n": "5"}', experiment_id => 'a7000000-0000-0000-0000-000000000001') > 0 AS captured;
SELECT payload->>'n' AS n, l.experiment_id, v.name AS variant, l.user_id, l.status, l.attempts,
       l.claimed_by, l.last_error
  FROM abtest.leads l LEFT JOIN abtest.element_variants v ON v.id = l.variant_id
 ORDER BY l.id;
SELECT payload = '{"n": "4", "note": "it''s \"quoted\" \\ and ''); DROP TABLE abtest.leads; --"}'::jsonb AS verbatim,
       payload->>'note' AS note
  FROM abtest.leads WHERE payload->>'n' = '4';
-- It is the first element of the visitor's abt_assign answer: once the
-- button's variant is deleted, the answer starts with the headline.
DELETE FROM abtest.element_variants WHERE id = 'a7000000-0000-0000-0002-000000000021';
SELECT jsonb_path_query_array(abt_assign('a7000000-0000-0000-0000-000000000001', 'visitor-1'),
                              '$.elements[*].variant') AS answer;
SELECT abt_lead_capture('{"n": "6"}', 'a7000000-0000-0000-0000-000000000001', 'visitor-1') AS lead_6 \gset
SELECT v.name AS variant FROM abtest.leads l LEFT JOIN abtest.element_variants v ON v.id = l.variant_id
 WHERE l.id = :lead_6;

-- Capture errors, nothing written.
SELECT count(*) AS leads FROM abtest.leads;
SELECT label, pg_temp.err(q) AS error FROM (VALUES
    ('null payload', $$SELECT abt_lead_capture(NULL)$$),
    ('JSON null payload', $$SELECT abt_lead_capture('null')$$),
    ('array payload', $$SELECT abt_lead_capture('[1, 2]')$$),
    ('string payload', $$SELECT abt_lead_capture('"email"')$$),
    ('65537-byte payload', $$SELECT abt_lead_capture(jsonb_build_object('x', repeat('x', 65536 - 9 + 1)))$$),
    ('1 MB payload', $$SELECT abt_lead_capture(jsonb_build_object('x', repeat('x', 1048576)))$$),
    ('empty visitor', $$SELECT abt_lead_capture('{}', NULL, '')$$),
    ('257-character visitor', $$SELECT abt_lead_capture('{}', NULL, repeat('v', 257))$$),
    ('1 MB visitor', $$SELECT abt_lead_capture('{}', 'a7000000-0000-0000-0000-000000000001', repeat('v', 1048576))$$),
    ('unknown experiment', $$SELECT abt_lead_capture('{}', 'a7000000-0000-0000-0000-0000000000ff', 'visitor-1')$$)
  ) t(label, q);
SELECT count(*) AS leads FROM abtest.leads;
-- the largest payload accepted: 65536 bytes as JSON text ({"x": "..."})
SELECT abt_lead_capture(jsonb_build_object('x', repeat('x', 65536 - 9))) AS big_lead \gset
SELECT octet_length(payload::text) AS bytes FROM abtest.leads WHERE id = :big_lead;
DELETE FROM abtest.leads WHERE id = :big_lead;

-- A fixed order: lead n was created n minutes after 2024-09-01.
UPDATE abtest.leads SET created_at = '2024-09-01'::timestamptz + (payload->>'n')::int * interval '1 minute';

--
-- Claims: oldest first, in batches; each claim counts an attempt and holds
-- a lease (claim_expires_at - claimed_at).  An empty queue gives no rows.
--
SELECT payload->>'n' AS n, status, claimed_by, attempts, claim_expires_at - claimed_at AS lease
  FROM abt_leads_claim('worker-1', 2);
SELECT payload->>'n' AS n, status, claimed_by, attempts, claim_expires_at - claimed_at AS lease
  FROM abt_leads_claim('worker-2', 10, '1 hour');
SELECT count(*) AS claimed FROM abt_leads_claim('worker-3');
SELECT * FROM pg_temp.queue;

--
-- Complete: only the worker holding the claim, once.
--
CREATE FUNCTION pg_temp.lead(n text) RETURNS bigint LANGUAGE sql AS
    $$ SELECT id FROM abtest.leads WHERE payload->>'n' = n $$;
SELECT abt_lead_complete(pg_temp.lead('1'), 'worker-2') AS other_worker,
       abt_lead_complete(pg_temp.lead('1'), 'worker-1') AS claimant;
SELECT abt_lead_complete(pg_temp.lead('1'), 'worker-1') AS again,
       abt_lead_complete(-1, 'worker-1') AS unknown_lead;

--
-- Fail: with retry the lead is new again (keeping its attempts), without
-- retry or once attempts reach max_attempts it is failed.  Only the
-- claimant may fail it.
--
SELECT abt_lead_fail(pg_temp.lead('2'), 'worker-2', 'CRM timeout') AS other_worker,
       abt_lead_fail(pg_temp.lead('2'), 'worker-1', 'CRM timeout') AS retried,
       abt_lead_fail(pg_temp.lead('3'), 'worker-2', 'invalid e-mail', retry => false) AS given_up;
UPDATE abtest.leads SET max_attempts = 2 WHERE payload->>'n' = '4';
SELECT abt_lead_fail(pg_temp.lead('4'), 'worker-2', 'CRM timeout') AS retried_once;
SELECT * FROM pg_temp.queue;
-- lead 2 (new again, the oldest) and lead 4 come back; 4's second failure
-- reaches max_attempts = 2
SELECT payload->>'n' AS n, attempts, last_error FROM abt_leads_claim('worker-1', 2);
SELECT abt_lead_fail(pg_temp.lead('4'), 'worker-1', 'CRM timeout again') AS failed_for_good,
       abt_lead_complete(pg_temp.lead('2'), 'worker-1') AS done;
-- a failed or done lead cannot be completed or failed any more
SELECT abt_lead_complete(pg_temp.lead('4'), 'worker-1') AS complete_failed,
       abt_lead_fail(pg_temp.lead('2'), 'worker-1', 'late') AS fail_done;
SELECT * FROM pg_temp.queue;

--
-- Expired claims.  Lead 5 is still held by worker-2; its worker "dies" and
-- the lease ends (claim_expires_at moved into the past).
--
UPDATE abtest.leads SET claim_expires_at = clock_timestamp() - interval '1 second'
 WHERE payload->>'n' = '5';
SELECT abt_leads_requeue_expired() AS taken_back, abt_leads_requeue_expired() AS again;
SELECT * FROM pg_temp.queue WHERE n IN ('5', '6');
-- abt_leads_claim takes expired leads back by itself
SELECT payload->>'n' AS n, claimed_by, attempts FROM abt_leads_claim('worker-3', 1);
UPDATE abtest.leads SET claim_expires_at = clock_timestamp() - interval '1 second'
 WHERE payload->>'n' = '5';
SELECT payload->>'n' AS n, claimed_by, attempts, last_error FROM abt_leads_claim('worker-4', 1);
-- the dead worker comes back too late: it no longer holds the claim
SELECT abt_lead_complete(pg_temp.lead('5'), 'worker-3') AS late_worker,
       abt_lead_complete(pg_temp.lead('5'), 'worker-4') AS new_claimant;
-- an expired claim that used the last attempt fails the lead (lead 6,
-- still held by worker-2, its first attempt)
UPDATE abtest.leads SET max_attempts = 1 WHERE payload->>'n' = '6';
UPDATE abtest.leads SET claim_expires_at = clock_timestamp() - interval '1 second'
 WHERE payload->>'n' = '6';
SELECT abt_leads_requeue_expired() AS taken_back;
SELECT * FROM pg_temp.queue WHERE n IN ('5', '6');
-- a lease that has not ended is left alone
SELECT abt_lead_capture('{"n": "7"}') > 0 AS captured;
SELECT payload->>'n' AS n FROM abt_leads_claim('worker-6', 1, '1 hour');
SELECT abt_leads_requeue_expired() AS taken_back;

--
-- A rolled-back claim leaves the lead as it was.
--
SELECT abt_lead_fail(pg_temp.lead('7'), 'worker-6', NULL) AS retried;
BEGIN;
SELECT payload->>'n' AS n, status, attempts FROM abt_leads_claim('worker-7');
ROLLBACK;
SELECT * FROM pg_temp.queue WHERE n = '7';

--
-- Argument errors.
--
SELECT label, pg_temp.err(q) AS error FROM (VALUES
    ('null worker', $$SELECT abt_leads_claim(NULL)$$),
    ('empty worker', $$SELECT abt_leads_claim('')$$),
    ('257-character worker', $$SELECT abt_leads_claim(repeat('w', 257))$$),
    ('null batch', $$SELECT abt_leads_claim('w', NULL)$$),
    ('batch 0', $$SELECT abt_leads_claim('w', 0)$$),
    ('null lease', $$SELECT abt_leads_claim('w', 1, NULL)$$),
    ('zero lease', $$SELECT abt_leads_claim('w', 1, '0 seconds')$$),
    ('negative lease', $$SELECT abt_leads_claim('w', 1, '-5 minutes')$$),
    ('complete: null lead', $$SELECT abt_lead_complete(NULL, 'w')$$),
    ('complete: null worker', $$SELECT abt_lead_complete(1, NULL)$$),
    ('fail: null lead', $$SELECT abt_lead_fail(NULL, 'w', 'e')$$),
    ('fail: empty worker', $$SELECT abt_lead_fail(1, '', 'e')$$),
    ('fail: null retry', $$SELECT abt_lead_fail(1, 'w', 'e', NULL)$$),
    ('requeue: max_leads 0', $$SELECT abt_leads_requeue_expired(0)$$)
  ) t(label, q);
SELECT * FROM pg_temp.queue WHERE n = '7';

--
-- Privileges: the queue functions and lead capture are not PUBLIC; a
-- worker's role needs EXECUTE on them and nothing on the table.
--
SET client_min_messages = error;
DROP ROLE IF EXISTS regress_abtest_nobody;
DROP ROLE IF EXISTS regress_abtest_worker;
RESET client_min_messages;
CREATE ROLE regress_abtest_nobody;
CREATE ROLE regress_abtest_worker;
GRANT EXECUTE ON FUNCTION abt_leads_claim(text, integer, interval), abt_lead_complete(bigint, text),
                          abt_lead_fail(bigint, text, text, boolean) TO regress_abtest_worker;
SET ROLE regress_abtest_nobody;
SELECT label, pg_temp.err(q) AS error FROM (VALUES
    ('capture', $$SELECT abt_lead_capture('{}')$$),
    ('claim', $$SELECT abt_leads_claim('w')$$),
    ('complete', $$SELECT abt_lead_complete(1, 'w')$$),
    ('fail', $$SELECT abt_lead_fail(1, 'w', 'e')$$),
    ('requeue', $$SELECT abt_leads_requeue_expired()$$),
    ('read the table', $$SELECT count(*) FROM abtest.leads$$)
  ) t(label, q);
SET ROLE regress_abtest_worker;
SELECT id AS lead_id, payload->>'n' AS n, claimed_by FROM abt_leads_claim('worker-8') \gset
SELECT :'n' AS n, :'claimed_by' AS claimed_by;
SELECT abt_lead_complete(:lead_id, 'worker-8') AS done;
SELECT pg_temp.err($$SELECT count(*) FROM abtest.leads$$) AS read_the_table;
RESET ROLE;
SELECT * FROM pg_temp.queue;

DROP ROLE regress_abtest_nobody;
REVOKE ALL ON FUNCTION abt_leads_claim(text, integer, interval), abt_lead_complete(bigint, text),
                       abt_lead_fail(bigint, text, text, boolean) FROM regress_abtest_worker;
DROP ROLE regress_abtest_worker;
DELETE FROM abtest.leads;
DELETE FROM abtest.experiments WHERE id = 'a7000000-0000-0000-0000-000000000001';
