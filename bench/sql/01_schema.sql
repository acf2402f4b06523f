-- bench/sql/01_schema.sql -- the extension, the helpers and the plain-table baseline.
-- Run by bench/run in a fresh database (psql -v ON_ERROR_STOP=1 -f).
CREATE EXTENSION abtest;

-- Baseline (b) of the new-visitor benchmark: a plain table, no extension.
CREATE TABLE bench_insert (
    id            bigserial PRIMARY KEY,
    experiment_id uuid,
    user_id       text,
    created_at    timestamptz DEFAULT now()
);

-- Ids the pgbench scripts need (passed with pgbench -D), one row per
-- benchmark experiment: 2 elements x 2 variants each.
CREATE TABLE bench_ids (
    name       text PRIMARY KEY,
    experiment uuid NOT NULL,
    el1  uuid, el2  uuid,
    e1v1 uuid, e1v2 uuid,
    e2v1 uuid, e2v2 uuid
);

-- Realistic variant content: a jsonb object of about 200 bytes.
CREATE FUNCTION bench_content(element int, variant int) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object(
        'headline',  format('Ship better landing pages, faster (element %s, variant %s)', element, variant),
        'cta',       CASE variant WHEN 1 THEN 'Start your free trial' ELSE 'Try it free for 14 days' END,
        'cta_color', CASE variant WHEN 1 THEN '#1a73e8' ELSE '#e8711a' END,
        'image',     format('https://cdn.example.com/img/hero/e%s-v%s-1200x630.webp', element, variant),
        'layout',    'split-left')
$$;

-- One experiment with p_elements elements of p_variants variants each
-- (variant 1 is the control), created as draft, then set to p_status.
CREATE FUNCTION bench_make_experiment(p_name text, p_status text,
                                      p_elements int, p_variants int,
                                      p_owner uuid DEFAULT gen_random_uuid())
RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
    e  uuid;
    el uuid;
BEGIN
    INSERT INTO abtest.experiments (name, status, user_id)
    VALUES (p_name, 'draft', p_owner) RETURNING id INTO e;
    FOR i IN 1..p_elements LOOP
        INSERT INTO abtest.experiment_elements (experiment_id, name, selector, position)
        VALUES (e, 'element ' || i, '#hero .block-' || i, i) RETURNING id INTO el;
        FOR j IN 1..p_variants LOOP
            INSERT INTO abtest.element_variants (element_id, name, content, is_control, position)
            VALUES (el, CASE WHEN j = 1 THEN 'control' ELSE 'variant ' || j END,
                    bench_content(i, j), j = 1, j);
        END LOOP;
    END LOOP;
    IF p_status <> 'draft' THEN
        UPDATE abtest.experiments SET status = p_status WHERE id = e;
    END IF;
    RETURN e;
END $$;

-- Records the ids of a 2 x 2 benchmark experiment in bench_ids.
CREATE FUNCTION bench_record_ids(p_name text, e uuid) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO bench_ids (name, experiment, el1, el2, e1v1, e1v2, e2v1, e2v2)
    SELECT p_name, e, el1.id, el2.id, v11.id, v12.id, v21.id, v22.id
      FROM abtest.experiment_elements el1
      JOIN abtest.experiment_elements el2 ON el2.experiment_id = e AND el2.position = 2
      JOIN abtest.element_variants v11 ON v11.element_id = el1.id AND v11.position = 1
      JOIN abtest.element_variants v12 ON v12.element_id = el1.id AND v12.position = 2
      JOIN abtest.element_variants v21 ON v21.element_id = el2.id AND v21.position = 1
      JOIN abtest.element_variants v22 ON v22.element_id = el2.id AND v22.position = 2
     WHERE el1.experiment_id = e AND el1.position = 1
$$;
