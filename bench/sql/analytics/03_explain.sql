-- bench/sql/analytics/03_explain.sql -- bench_explain(): the plan a
-- statement gets, as EXPLAIN (ANALYZE, BUFFERS) text, then one summary line
-- 'SUMMARY|<scans>|<BRIN used>|<execution ms>' that bench/run collects.
--
--   stmt      a statement with parameters $1, $2 ... (prepared as bench_x)
--   args      the arguments of EXECUTE bench_x(...), as SQL text
--   settings  'name=value,...' set for this transaction only, e.g.
--             'plan_cache_mode=force_generic_plan' (the plan a prepared
--             statement switches to after its 5th execution) or
--             'enable_seqscan=off'
-- The first EXECUTE of a prepared statement is planned for its arguments
-- (a custom plan), as a simple-protocol or unnamed extended-protocol query is.
CREATE OR REPLACE FUNCTION bench_explain(stmt text, args text, settings text DEFAULT '')
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    s text;
    line text;
    scans text[] := '{}';
    m text[];
    exec_ms text := '?';
BEGIN
    FOREACH s IN ARRAY coalesce(string_to_array(nullif(settings, ''), ','), '{}') LOOP
        PERFORM set_config(split_part(s, '=', 1), split_part(s, '=', 2), true);
    END LOOP;
    EXECUTE format('PREPARE bench_x AS %s', stmt);
    FOR line IN EXECUTE format('EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_x(%s)', args) LOOP
        RETURN NEXT line;
        m := regexp_match(line, '((?:Parallel )?(?:Seq Scan|Bitmap Index Scan|Index Only Scan|Index Scan)(?: using \S+)? on \S+)');
        IF m IS NOT NULL THEN
            scans := scans || regexp_replace(m[1], ' on abtest\.| on ', ' on ');
        END IF;
        m := regexp_match(line, 'Execution Time: ([0-9.]+) ms');
        IF m IS NOT NULL THEN
            exec_ms := m[1];
        END IF;
    END LOOP;
    DEALLOCATE bench_x;
    RETURN NEXT format('SUMMARY|%s|%s|%s', array_to_string(scans, ' + '),
                       CASE WHEN array_to_string(scans, ' ') LIKE '%idx_assignments_assigned_at_brin%'
                            THEN 'yes' ELSE 'no' END,
                       exec_ms);
END $$;
