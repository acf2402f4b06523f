-- Informational: the answer built by one SQL statement (assignment joined
-- with its variants and elements, jsonb built in SQL).
-- -D exp=<returning experiment>
\set r random(1, 200000)
SELECT jsonb_build_object(
           'experiment_id', a.experiment_id,
           'converted', a.converted_at IS NOT NULL,
           'elements', jsonb_agg(jsonb_build_object(
               'element_id', ee.id, 'element', ee.name, 'selector', ee.selector,
               'variant_id', ev.id, 'variant', ev.name, 'is_control', ev.is_control,
               'content', ev.content) ORDER BY ee.position, ee.id))
  FROM abtest.assignments a
 CROSS JOIN LATERAL jsonb_each_text(a.variants) AS m(element_id, variant_id)
  JOIN abtest.experiment_elements ee ON ee.id = m.element_id::uuid AND ee.experiment_id = a.experiment_id
  JOIN abtest.element_variants ev ON ev.id = m.variant_id::uuid AND ev.element_id = ee.id
 WHERE a.experiment_id = :exp AND a.user_id = 'v' || :r
 GROUP BY a.experiment_id, a.converted_at;
