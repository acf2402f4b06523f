--
-- cache_memory: a backend's cache of experiment configurations and of the
-- answers built from them stays within abtest.cache_memory, evicting the
-- least recently used experiments rather than growing, and every answer
-- stays right (sticky) whatever was evicted.  The memory is read from
-- pg_backend_memory_contexts: every context of the cache, "abtest config
-- cache" and below (the same names before the setting existed).  An
-- experiment of 6 elements x 4 variants (4,096 combinations) with ~300-byte
-- contents, and 200 ordinary ones (3 x 3).  Ids of this file: ac000000-....
--
CREATE VIEW pg_temp.cache AS
SELECT coalesce(sum(total_bytes), 0) AS bytes,
       count(*) FILTER (WHERE name = 'abtest config') AS experiments
  FROM pg_backend_memory_contexts
 WHERE name LIKE 'abtest config%' OR name = 'abtest answers';
-- ordinary experiment n
CREATE FUNCTION pg_temp.small(n int) RETURNS uuid LANGUAGE sql AS $$
    SELECT ('ac000000-0000-0000-0003-' || lpad(n::text, 12, '0'))::uuid
$$;

INSERT INTO abtest.experiments (id, name, status, seed) VALUES
    ('ac000000-0000-0000-0000-000000000001', 'big', 'active', 'cm-big');
INSERT INTO abtest.experiment_elements (id, experiment_id, name, selector, seed, position)
SELECT ('ac000000-0000-0000-0001-00000000000' || el)::uuid, 'ac000000-0000-0000-0000-000000000001',
       'element ' || el, '#el' || el, 'cm-el-' || el, el
  FROM generate_series(1, 6) el;
INSERT INTO abtest.element_variants (id, element_id, name, content, is_control, position)
SELECT ('ac000000-0000-0000-0002-0000000000' || el || v)::uuid,
       ('ac000000-0000-0000-0001-00000000000' || el)::uuid,
       'V' || v, jsonb_build_object('html', repeat(chr(96 + v), 290)), v = 1, v
  FROM generate_series(1, 6) el, generate_series(1, 4) v;
INSERT INTO abtest.experiments (id, name, status, seed)
SELECT pg_temp.small(n), 'small ' || n, 'active', 'cm-s' || n FROM generate_series(1, 200) n;
INSERT INTO abtest.experiment_elements (id, experiment_id, name, seed, position)
SELECT ('ac000000-0000-0001-' || lpad(el::text, 4, '0') || '-' || lpad(n::text, 12, '0'))::uuid,
       pg_temp.small(n), 'el' || el, 's' || el, el
  FROM generate_series(1, 200) n, generate_series(1, 3) el;
INSERT INTO abtest.element_variants (element_id, name, content, is_control, position)
SELECT ('ac000000-0000-0001-' || lpad(el::text, 4, '0') || '-' || lpad(n::text, 12, '0'))::uuid,
       'v' || v, jsonb_build_object('text', 'element ' || el || ' variant ' || v), v = 1, v
  FROM generate_series(1, 200) n, generate_series(1, 3) el, generate_series(1, 3) v;

-- the setting exists once the library is loaded; 8MB by default
SELECT abt_gbhash('', '') IS NOT NULL AS loaded;
SHOW abtest.cache_memory;
SET abtest.cache_memory = '1MB';

--
-- 2,000 new visitors of the big experiment: 1,000 and more combinations,
-- about 2.5 kB each.  The cache stays within 1MB, and still keeps answers
-- (one experiment's take at most half the budget).
--
CREATE TEMP TABLE big_answers AS
SELECT user_id, assignment - 'new' AS answer
  FROM abt_assign_bulk('ac000000-0000-0000-0000-000000000001',
                       ARRAY(SELECT 'v' || g FROM generate_series(1, 2000) g));
SELECT count(DISTINCT answer) > 1000 AS many_combinations FROM big_answers;
SELECT bytes <= 1024 * 1024 AS within_budget, bytes > 256 * 1024 AS answers_kept, experiments
  FROM pg_temp.cache;
-- returning visitors get their stored answer
SELECT count(*) FILTER (WHERE abt_assign('ac000000-0000-0000-0000-000000000001', user_id) - 'new'
                              IS DISTINCT FROM answer) AS changed
  FROM big_answers;
SELECT bytes <= 1024 * 1024 AS within_budget FROM pg_temp.cache;

--
-- 200 ordinary experiments, 5 new visitors each (as a visitor would come,
-- one abt_assign per page): they do not all fit, the oldest are evicted.
--
CREATE TEMP TABLE small_answers AS
SELECT n, pg_temp.small(n) AS e, 'u' || v AS user_id, abt_assign(pg_temp.small(n), 'u' || v) - 'new' AS answer
  FROM generate_series(1, 200) n, generate_series(1, 5) v;
SELECT count(*) AS assigned FROM small_answers WHERE (answer->>'enrolled')::boolean;
SELECT bytes <= 1024 * 1024 AS within_budget, experiments < 201 AS evicted FROM pg_temp.cache;

--
-- After evictions, returning visitors of every experiment, as an anonymous
-- visitor calls (the same cache serves every role of the backend), get
-- their sticky answers.
--
DROP ROLE IF EXISTS regress_abtest_cache_visitor;
CREATE ROLE regress_abtest_cache_visitor;
GRANT SELECT ON big_answers, small_answers TO regress_abtest_cache_visitor;
SET ROLE regress_abtest_cache_visitor;
SELECT count(*) FILTER (WHERE abt_assign('ac000000-0000-0000-0000-000000000001', user_id) - 'new'
                              IS DISTINCT FROM answer) AS changed
  FROM big_answers;
SELECT count(*) FILTER (WHERE abt_assign(e, user_id) - 'new'
                              IS DISTINCT FROM answer) AS changed
  FROM small_answers;
-- a visitor cannot raise the budget of the backend it shares
SET abtest.cache_memory = '1GB';
RESET ROLE;
SELECT bytes <= 1024 * 1024 AS within_budget FROM pg_temp.cache;

--
-- A lower budget takes effect at the backend's next call.
--
SET abtest.cache_memory = '256kB';
SELECT abt_assign(pg_temp.small(1), 'u1') - 'new' = answer AS same
  FROM small_answers WHERE n = 1 AND user_id = 'u1';
SELECT bytes <= 256 * 1024 AS within_budget FROM pg_temp.cache;

--
-- 0 keeps nothing between calls: every answer is built anew, and is the
-- same.  Only the configuration of the last call is left (the next call
-- frees it).
--
SET abtest.cache_memory = 0;
SELECT count(*) FILTER (WHERE abt_assign('ac000000-0000-0000-0000-000000000001', user_id) - 'new'
                              IS DISTINCT FROM answer) AS changed
  FROM big_answers;
SELECT count(*) FILTER (WHERE abt_assign(e, user_id) - 'new'
                              IS DISTINCT FROM answer) AS changed
  FROM small_answers WHERE n <= 20;
SELECT experiments FROM pg_temp.cache;

--
-- An experiment bigger than the whole budget is served all the same (its
-- configuration is loaded for the call, no answer is kept), and freed by
-- the next call.
--
SET abtest.cache_memory = '20kB';
SELECT count(*) FILTER (WHERE abt_assign('ac000000-0000-0000-0000-000000000001', user_id) - 'new'
                              IS DISTINCT FROM answer) AS changed
  FROM big_answers WHERE user_id LIKE 'v1%';
SELECT bytes > 20 * 1024 AS big_alone_over_budget, experiments FROM pg_temp.cache;
SELECT abt_assign(pg_temp.small(1), 'u1') - 'new' = answer AS same
  FROM small_answers WHERE n = 1 AND user_id = 'u1';
SELECT bytes <= 20 * 1024 AS within_budget, experiments FROM pg_temp.cache;

RESET abtest.cache_memory;
SHOW abtest.cache_memory;
DELETE FROM abtest.experiments WHERE id::text LIKE 'ac000000-%';
DROP OWNED BY regress_abtest_cache_visitor;
DROP ROLE regress_abtest_cache_visitor;
