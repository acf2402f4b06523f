/* abtest 1.0: tables, indexes, realtime publication and the SQL-callable functions */

\echo Use "CREATE EXTENSION abtest" to load this file. \quit

/*
 * Layout.  The platform's tables live in schema abtest (so they never collide
 * with an application's own "experiments" table); the functions live in the
 * schema CREATE EXTENSION installs into (@extschema@, public by default), so a
 * plain "SELECT abt_assign(...)" works with the default search_path.
 * Every reference below is schema-qualified: a hostile search_path changes
 * nothing.
 */
CREATE SCHEMA abtest;
COMMENT ON SCHEMA abtest IS 'abtest: experiments, elements, variants, assignments, conversions, counters and leads';

-- Versions of an experiment's configuration.  Values are never reused (not
-- even after a rollback), so a backend's cached configuration is valid exactly
-- while the experiment row still carries the version it was built from.
CREATE SEQUENCE abtest.config_version_seq;
COMMENT ON SEQUENCE abtest.config_version_seq IS 'Source of experiments.config_version stamps (never reused)';

/* ---------------------------------------------------------------- tables */

CREATE TABLE abtest.experiments (
    id              uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    user_id         uuid,
    name            text        NOT NULL,
    status          text        NOT NULL DEFAULT 'draft',
    seed            text        NOT NULL,
    coverage        float8      NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    config_version  bigint      NOT NULL DEFAULT pg_catalog.nextval('abtest.config_version_seq'),
    CONSTRAINT experiments_pkey PRIMARY KEY (id),
    CONSTRAINT experiments_status_check
        CHECK (status OPERATOR(pg_catalog.=) ANY (ARRAY['draft', 'active', 'paused', 'completed']::text[])),
    CONSTRAINT experiments_coverage_check
        CHECK (coverage OPERATOR(pg_catalog.>=) 0 AND coverage OPERATOR(pg_catalog.<=) 1),
    CONSTRAINT experiments_seed_check CHECK (seed OPERATOR(pg_catalog.<>) '')
);
COMMENT ON TABLE abtest.experiments IS 'A/B experiments; only active ones enrol new visitors';
COMMENT ON COLUMN abtest.experiments.user_id IS 'Owning account (auth.uid() on Supabase)';
COMMENT ON COLUMN abtest.experiments.seed IS 'Hash seed for enrolment; the id''s text when not given';
COMMENT ON COLUMN abtest.experiments.coverage IS 'Share of visitors enrolled, 0..1 (GrowthBook coverage)';
COMMENT ON COLUMN abtest.experiments.config_version IS 'Bumped on every change of the experiment, its elements or variants';

CREATE TABLE abtest.experiment_elements (
    id              uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    experiment_id   uuid        NOT NULL,
    name            text        NOT NULL,
    selector        text,
    seed            text        NOT NULL,
    position        integer     NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT experiment_elements_pkey PRIMARY KEY (id),
    CONSTRAINT experiment_elements_experiment_fkey FOREIGN KEY (experiment_id)
        REFERENCES abtest.experiments (id) ON DELETE CASCADE,
    CONSTRAINT experiment_elements_seed_check CHECK (seed OPERATOR(pg_catalog.<>) '')
);
COMMENT ON TABLE abtest.experiment_elements IS 'Page elements an experiment varies; each chooses its variant independently';
COMMENT ON COLUMN abtest.experiment_elements.selector IS 'CSS selector of the element on the page';
COMMENT ON COLUMN abtest.experiment_elements.seed IS 'Hash seed for the variant choice; the element id''s text when not given';
COMMENT ON COLUMN abtest.experiment_elements.position IS 'Order of the element in abt_assign''s answer (ties: by id)';

CREATE TABLE abtest.element_variants (
    id                  uuid        NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    element_id          uuid        NOT NULL,
    name                text        NOT NULL,
    content             jsonb       NOT NULL DEFAULT '{}',
    weight              float8      NOT NULL DEFAULT 1,
    is_control          boolean     NOT NULL DEFAULT false,
    position            integer     NOT NULL DEFAULT 0,
    total_allocations   bigint      NOT NULL DEFAULT 0,
    total_conversions   bigint      NOT NULL DEFAULT 0,
    conversion_rate     float8      NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT element_variants_pkey PRIMARY KEY (id),
    CONSTRAINT element_variants_element_fkey FOREIGN KEY (element_id)
        REFERENCES abtest.experiment_elements (id) ON DELETE CASCADE,
    CONSTRAINT element_variants_weight_check
        CHECK (weight OPERATOR(pg_catalog.>=) 0 AND weight OPERATOR(pg_catalog.<) 'Infinity'::float8)
);
COMMENT ON TABLE abtest.element_variants IS 'Variants of an element: content, weight, and the settled counters';
COMMENT ON COLUMN abtest.element_variants.weight IS 'Relative weight (>= 0); weights of an element are normalised to sum 1';
COMMENT ON COLUMN abtest.element_variants.position IS 'Order of the variants in bucketing (ties: by id)';
COMMENT ON COLUMN abtest.element_variants.total_allocations IS 'Settled copy of the live count (see abtest.variant_totals and abt_settle_counters)';
COMMENT ON COLUMN abtest.element_variants.total_conversions IS 'Settled copy of the live count (see abtest.variant_totals and abt_settle_counters)';
COMMENT ON COLUMN abtest.element_variants.conversion_rate IS 'total_conversions / total_allocations of the settled copy';

-- At most one control per element.
CREATE UNIQUE INDEX element_variants_one_control ON abtest.element_variants (element_id) WHERE is_control;

/*
 * Assignments: one row per (experiment, visitor).  No foreign key to
 * experiments on purpose: an FK check takes FOR KEY SHARE on the parent row,
 * and every new visitor of a hot experiment would share-lock one row (multixact
 * churn).  abt_assign checks the experiment itself; a trigger on experiments
 * removes the rows of a deleted experiment.
 */
CREATE TABLE abtest.assignments (
    experiment_id   uuid        NOT NULL,
    user_id         text        NOT NULL,
    variants        jsonb       NOT NULL,
    assigned_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    converted_at    timestamptz,
    CONSTRAINT idx_assignments_lookup PRIMARY KEY (experiment_id, user_id),
    CONSTRAINT assignments_user_id_check
        CHECK (pg_catalog.length(user_id) OPERATOR(pg_catalog.>=) 1
               AND pg_catalog.length(user_id) OPERATOR(pg_catalog.<=) 256)
);
COMMENT ON TABLE abtest.assignments IS 'Sticky assignment of a visitor to one variant per element of an experiment';
COMMENT ON COLUMN abtest.assignments.user_id IS 'Visitor id, 1 to 256 characters';
COMMENT ON COLUMN abtest.assignments.variants IS 'Chosen variant per element: {"<element id>": "<variant id>", ...}';
COMMENT ON COLUMN abtest.assignments.converted_at IS 'Time of the visitor''s first conversion, NULL before';

CREATE TABLE abtest.conversions (
    experiment_id   uuid        NOT NULL,
    id              bigint      GENERATED ALWAYS AS IDENTITY,
    user_id         text        NOT NULL,
    goal            text        NOT NULL DEFAULT 'conversion',
    value           numeric,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT conversions_pkey PRIMARY KEY (experiment_id, id)
);
COMMENT ON TABLE abtest.conversions IS 'Conversion events (every one, the visitor''s first and later ones)';
CREATE INDEX conversions_visitor ON abtest.conversions (experiment_id, user_id);

CREATE TABLE abtest.leads (
    id              bigint      GENERATED ALWAYS AS IDENTITY,
    status          text        NOT NULL DEFAULT 'new',
    payload         jsonb       NOT NULL DEFAULT '{}',
    experiment_id   uuid,
    variant_id      uuid,
    user_id         text,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    claimed_by      text,
    claimed_at      timestamptz,
    claim_expires_at timestamptz,
    attempts        integer     NOT NULL DEFAULT 0,
    max_attempts    integer     NOT NULL DEFAULT 5,
    last_error      text,
    completed_at    timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT leads_pkey PRIMARY KEY (id),
    CONSTRAINT leads_status_check
        CHECK (status OPERATOR(pg_catalog.=) ANY (ARRAY['new', 'processing', 'done', 'failed']::text[])),
    CONSTRAINT leads_attempts_check
        CHECK (attempts OPERATOR(pg_catalog.>=) 0 AND max_attempts OPERATOR(pg_catalog.>=) 1)
);
COMMENT ON TABLE abtest.leads IS 'Leads captured on experiment pages, a work queue by status (see abt_leads_claim)';
COMMENT ON COLUMN abtest.leads.variant_id IS 'The visitor''s variant of the experiment''s first element (abt_lead_capture)';
COMMENT ON COLUMN abtest.leads.claimed_by IS 'Worker that holds or last held the lead (abt_leads_claim)';
COMMENT ON COLUMN abtest.leads.claimed_at IS 'When that worker claimed it';
COMMENT ON COLUMN abtest.leads.claim_expires_at IS 'End of the current claim''s lease (status processing only); after it, other workers may take the lead';
COMMENT ON COLUMN abtest.leads.attempts IS 'Claims so far (a claim counts as an attempt)';
COMMENT ON COLUMN abtest.leads.max_attempts IS 'Attempts after which a failed or abandoned lead becomes failed instead of new again';
COMMENT ON COLUMN abtest.leads.last_error IS 'Error of the last failed attempt (abt_lead_fail) or the expired claim';
COMMENT ON COLUMN abtest.leads.completed_at IS 'When the lead was done (abt_lead_complete)';
COMMENT ON COLUMN abtest.leads.updated_at IS 'Last change by the queue functions';

/*
 * Live counters, striped by backend.  A transaction adds to the rows of its
 * own slot (the backend's id, unique among live backends), so concurrent
 * visitors of one experiment never wait on each other's row and can't
 * deadlock; the exact total is the sum over slots.  Keyed by experiment, so
 * the table can be distributed by experiment_id like the per-visitor tables.
 * The key puts the slot before the variant so that a writer's UPDATE of its
 * few rows is one index range (experiment, slot).
 */
CREATE TABLE abtest.variant_counters (
    experiment_id   uuid    NOT NULL,
    variant_id      uuid    NOT NULL,
    slot            integer NOT NULL,
    allocations     bigint  NOT NULL DEFAULT 0,
    conversions     bigint  NOT NULL DEFAULT 0,
    CONSTRAINT variant_counters_pkey PRIMARY KEY (experiment_id, slot, variant_id)
) WITH (fillfactor = 50);
COMMENT ON TABLE abtest.variant_counters IS 'Per-variant allocation and conversion counts, one row per writing backend slot; sum over slots';

/*
 * Timeline rollups: assignments (and their conversions) counted per
 * 15-minute UTC bucket of assigned_at, per experiment and per variant.
 * 15 minutes divides every modern UTC offset, so hourly and daily buckets of
 * any session TimeZone are sums of these.
 */
CREATE TABLE abtest.experiment_timeline (
    experiment_id   uuid        NOT NULL,
    bucket          timestamptz NOT NULL,
    slot            integer     NOT NULL,
    assignments     bigint      NOT NULL DEFAULT 0,
    conversions     bigint      NOT NULL DEFAULT 0,
    CONSTRAINT experiment_timeline_pkey PRIMARY KEY (experiment_id, bucket, slot)
) WITH (fillfactor = 50);
COMMENT ON TABLE abtest.experiment_timeline IS 'Assignments and converted assignments per 15-minute bucket of assigned_at, per backend slot';

CREATE TABLE abtest.variant_timeline (
    experiment_id   uuid        NOT NULL,
    variant_id      uuid        NOT NULL,
    bucket          timestamptz NOT NULL,
    slot            integer     NOT NULL,
    assignments     bigint      NOT NULL DEFAULT 0,
    conversions     bigint      NOT NULL DEFAULT 0,
    CONSTRAINT variant_timeline_pkey PRIMARY KEY (experiment_id, bucket, slot, variant_id)
) WITH (fillfactor = 50);
COMMENT ON TABLE abtest.variant_timeline IS 'Per-variant assignments and converted assignments per 15-minute bucket, per backend slot';

/* -------------------------------------------------------------- indexes */

-- The seed plan's "Proposed Index Optimizations", with its names and
-- definitions.  CREATE INDEX CONCURRENTLY cannot run inside CREATE EXTENSION
-- (one transaction); sql/abtest-indexes-concurrently.sql builds them
-- concurrently for operators with large existing tables.
CREATE INDEX IF NOT EXISTS idx_elements_experiment_covering
    ON abtest.experiment_elements (experiment_id) INCLUDE (id, name, selector);
CREATE INDEX IF NOT EXISTS idx_variants_element_covering
    ON abtest.element_variants (element_id) INCLUDE (total_allocations, total_conversions, conversion_rate);
CREATE INDEX IF NOT EXISTS idx_assignments_assigned_at_brin
    ON abtest.assignments USING BRIN (assigned_at);
CREATE INDEX IF NOT EXISTS idx_experiments_active
    ON abtest.experiments (user_id, created_at DESC)
    WHERE status = 'active';
CREATE INDEX IF NOT EXISTS idx_assignments_unconverted
    ON abtest.assignments (experiment_id, assigned_at DESC)
    WHERE converted_at IS NULL;
CREATE INDEX IF NOT EXISTS idx_leads_status_created
    ON abtest.leads (status, created_at DESC);

/* ------------------------------------------------------------- triggers */

-- Fills the seeds that were not given with the row id's text.
CREATE FUNCTION abtest.fill_seed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NEW.seed IS NULL THEN
        NEW.seed := NEW.id::text;
    END IF;
    RETURN NEW;
END $$;
COMMENT ON FUNCTION abtest.fill_seed() IS 'Trigger: seed defaults to the row id''s text';

CREATE TRIGGER fill_seed BEFORE INSERT ON abtest.experiments
    FOR EACH ROW EXECUTE FUNCTION abtest.fill_seed();
CREATE TRIGGER fill_seed BEFORE INSERT ON abtest.experiment_elements
    FOR EACH ROW EXECUTE FUNCTION abtest.fill_seed();

-- Gives an experiment a new config_version whenever its own settings change.
CREATE FUNCTION abtest.bump_experiment_version() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    NEW.config_version := pg_catalog.nextval('abtest.config_version_seq');
    RETURN NEW;
END $$;
COMMENT ON FUNCTION abtest.bump_experiment_version() IS 'Trigger: new config_version on every change of an experiment''s settings';

CREATE TRIGGER bump_version BEFORE UPDATE ON abtest.experiments
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.seed IS DISTINCT FROM NEW.seed
          OR OLD.coverage IS DISTINCT FROM NEW.coverage OR OLD.id IS DISTINCT FROM NEW.id)
    EXECUTE FUNCTION abtest.bump_experiment_version();

-- Gives the owning experiment a new config_version when an element changes.
CREATE FUNCTION abtest.element_changed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE abtest.experiments SET config_version = pg_catalog.nextval('abtest.config_version_seq')
         WHERE id OPERATOR(pg_catalog.=) OLD.experiment_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE abtest.experiments SET config_version = pg_catalog.nextval('abtest.config_version_seq')
         WHERE id OPERATOR(pg_catalog.=) NEW.experiment_id;
    END IF;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION abtest.element_changed() IS 'Trigger: an element change invalidates cached configurations of its experiment';

CREATE TRIGGER element_changed AFTER INSERT OR UPDATE OR DELETE ON abtest.experiment_elements
    FOR EACH ROW EXECUTE FUNCTION abtest.element_changed();

-- Gives the owning experiment a new config_version when a variant's
-- configuration changes (settling the counters is not a configuration change).
CREATE FUNCTION abtest.variant_changed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE abtest.experiments e SET config_version = pg_catalog.nextval('abtest.config_version_seq')
          FROM abtest.experiment_elements el
         WHERE el.id OPERATOR(pg_catalog.=) OLD.element_id
           AND e.id OPERATOR(pg_catalog.=) el.experiment_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE abtest.experiments e SET config_version = pg_catalog.nextval('abtest.config_version_seq')
          FROM abtest.experiment_elements el
         WHERE el.id OPERATOR(pg_catalog.=) NEW.element_id
           AND e.id OPERATOR(pg_catalog.=) el.experiment_id;
    END IF;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION abtest.variant_changed() IS 'Trigger: a variant change invalidates cached configurations of its experiment';

CREATE TRIGGER variant_changed AFTER INSERT OR DELETE ON abtest.element_variants
    FOR EACH ROW EXECUTE FUNCTION abtest.variant_changed();
CREATE TRIGGER variant_config_changed AFTER UPDATE ON abtest.element_variants
    FOR EACH ROW
    WHEN (OLD.id IS DISTINCT FROM NEW.id OR OLD.element_id IS DISTINCT FROM NEW.element_id
          OR OLD.name IS DISTINCT FROM NEW.name OR OLD.content IS DISTINCT FROM NEW.content
          OR OLD.weight IS DISTINCT FROM NEW.weight OR OLD.is_control IS DISTINCT FROM NEW.is_control
          OR OLD.position IS DISTINCT FROM NEW.position)
    EXECUTE FUNCTION abtest.variant_changed();

-- Removes the per-visitor and counter rows of a deleted experiment (they
-- carry no foreign key, see abtest.assignments).
CREATE FUNCTION abtest.experiment_deleted() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM abtest.assignments WHERE experiment_id OPERATOR(pg_catalog.=) OLD.id;
    DELETE FROM abtest.conversions WHERE experiment_id OPERATOR(pg_catalog.=) OLD.id;
    DELETE FROM abtest.variant_counters WHERE experiment_id OPERATOR(pg_catalog.=) OLD.id;
    DELETE FROM abtest.experiment_timeline WHERE experiment_id OPERATOR(pg_catalog.=) OLD.id;
    DELETE FROM abtest.variant_timeline WHERE experiment_id OPERATOR(pg_catalog.=) OLD.id;
    RETURN OLD;
END $$;
COMMENT ON FUNCTION abtest.experiment_deleted() IS 'Trigger: deleting an experiment deletes its assignments, conversions and counters';

-- Waits for the visitors' writes in flight for the experiment (see
-- src/experiment_lock.c) before it is deleted or changes status; later
-- writers wait for this transaction, then see the change.
CREATE FUNCTION abtest.lock_experiment() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- key: the first four bytes of the uuid, as abt_lock_experiment_shared() takes it
    PERFORM pg_advisory_xact_lock(1094866003,
                                  ('x' || left(replace(OLD.id::text, '-', ''), 8))::bit(32)::int4);
    RETURN CASE WHEN TG_OP OPERATOR(pg_catalog.=) 'DELETE' THEN OLD ELSE NEW END;
END $$;
COMMENT ON FUNCTION abtest.lock_experiment() IS 'Trigger: wait for writes in flight before deleting an experiment or changing its status';

CREATE TRIGGER lock_experiment BEFORE DELETE OR UPDATE OF status ON abtest.experiments
    FOR EACH ROW EXECUTE FUNCTION abtest.lock_experiment();

CREATE TRIGGER experiment_deleted AFTER DELETE ON abtest.experiments
    FOR EACH ROW EXECUTE FUNCTION abtest.experiment_deleted();

-- Settles an experiment's counters once it stops enrolling.
CREATE FUNCTION abtest.experiment_stopped() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM @extschema@.abt_settle_counters(NEW.id);
    RETURN NULL;
END $$;
COMMENT ON FUNCTION abtest.experiment_stopped() IS 'Trigger: settle element_variants counters when an experiment is paused or completed';

/* -------------------------------------------------------- exact counters */

CREATE VIEW abtest.variant_totals WITH (security_invoker = true) AS
SELECT el.experiment_id,
       v.element_id,
       v.id AS variant_id,
       COALESCE(s.allocations, 0)::bigint AS total_allocations,
       COALESCE(s.conversions, 0)::bigint AS total_conversions,
       CASE WHEN COALESCE(s.allocations, 0) OPERATOR(pg_catalog.>) 0
            THEN s.conversions::float8 OPERATOR(pg_catalog./) s.allocations::float8
            ELSE 0 END AS conversion_rate
  FROM abtest.element_variants v
  JOIN abtest.experiment_elements el ON el.id OPERATOR(pg_catalog.=) v.element_id
  LEFT JOIN LATERAL (
        SELECT pg_catalog.sum(c.allocations) AS allocations,
               pg_catalog.sum(c.conversions) AS conversions
          FROM abtest.variant_counters c
         WHERE c.experiment_id OPERATOR(pg_catalog.=) el.experiment_id
           AND c.variant_id OPERATOR(pg_catalog.=) v.id) s ON true;
COMMENT ON VIEW abtest.variant_totals IS 'Exact live allocation and conversion counts per variant (sum of the slot rows of abtest.variant_counters)';

/* ------------------------------------------------------------ functions */

CREATE FUNCTION @extschema@.abt_gbhash(seed text, id text) RETURNS float8
AS 'MODULE_PATHNAME', 'abt_gbhash_sql'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.abt_gbhash(text, text) IS
'GrowthBook hash v2 of seed || id: (fnv1a32(decimal(fnv1a32(seed || id))) % 10000) / 10000, over UTF-16 code units';

-- The visitor-facing functions run as the extension owner so that callers
-- need no privilege on the abtest tables.  They carry no SET search_path on
-- purpose: their C code resolves no name through the search_path (every
-- table, function, operator and type in its SQL is schema-qualified, and
-- pg_temp is never searched for functions or operators), and a SET clause
-- costs about a tenth of a returning visitor's call (GUC save and restore).
-- test/sql/hostile_search_path.sql proves that a hostile path changes nothing.
CREATE FUNCTION @extschema@.abt_assign(experiment_id uuid, user_id text,
                                        at timestamptz DEFAULT pg_catalog.now())
RETURNS jsonb
AS 'MODULE_PATHNAME', 'abt_assign'
LANGUAGE C VOLATILE PARALLEL UNSAFE SECURITY DEFINER;
COMMENT ON FUNCTION @extschema@.abt_assign(uuid, text, timestamptz) IS
'Sticky deterministic assignment of a visitor: the variant of each element, with its content, as jsonb';

CREATE FUNCTION @extschema@.abt_assign_batch(experiment_ids uuid[], user_id text,
                                              at timestamptz DEFAULT pg_catalog.now())
RETURNS jsonb
AS 'MODULE_PATHNAME', 'abt_assign_batch'
LANGUAGE C VOLATILE PARALLEL UNSAFE SECURITY DEFINER;
COMMENT ON FUNCTION @extschema@.abt_assign_batch(uuid[], text, timestamptz) IS
'abt_assign for one visitor in several experiments: a jsonb array of answers in the order given';

CREATE FUNCTION @extschema@.abt_assign_bulk(experiment_id uuid, user_ids text[],
                                             at timestamptz DEFAULT pg_catalog.now())
RETURNS TABLE (user_id text, assignment jsonb)
AS 'MODULE_PATHNAME', 'abt_assign_bulk'
LANGUAGE C VOLATILE PARALLEL UNSAFE SECURITY DEFINER
ROWS 1000;
COMMENT ON FUNCTION @extschema@.abt_assign_bulk(uuid, text[], timestamptz) IS
'abt_assign for many visitors of one experiment in one call, rows in the order given';

CREATE FUNCTION @extschema@.abt_convert(experiment_id uuid, user_id text,
                                         goal text DEFAULT 'conversion',
                                         value numeric DEFAULT NULL,
                                         at timestamptz DEFAULT pg_catalog.now())
RETURNS boolean
AS 'MODULE_PATHNAME', 'abt_convert'
LANGUAGE C VOLATILE PARALLEL UNSAFE SECURITY DEFINER;
COMMENT ON FUNCTION @extschema@.abt_convert(uuid, text, text, numeric, timestamptz) IS
'Records a conversion: true for the visitor''s first, false for a later one, NULL (nothing recorded) without an assignment';

CREATE FUNCTION @extschema@.abt_settle_counters(experiment_id uuid DEFAULT NULL)
RETURNS bigint
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH live AS (
        SELECT c.variant_id,
               pg_catalog.sum(c.allocations)::bigint AS allocations,
               pg_catalog.sum(c.conversions)::bigint AS conversions
          FROM abtest.variant_counters c
         WHERE $1 IS NULL OR c.experiment_id OPERATOR(pg_catalog.=) $1
         GROUP BY c.variant_id),
    settled AS (
        UPDATE abtest.element_variants v
           SET total_allocations = live.allocations,
               total_conversions = live.conversions,
               conversion_rate = CASE WHEN live.allocations OPERATOR(pg_catalog.>) 0
                                      THEN live.conversions::float8 OPERATOR(pg_catalog./) live.allocations::float8
                                      ELSE 0 END
          FROM live
         WHERE v.id OPERATOR(pg_catalog.=) live.variant_id
           AND (v.total_allocations, v.total_conversions)
               IS DISTINCT FROM (live.allocations, live.conversions)
        RETURNING 1)
    SELECT pg_catalog.count(*) FROM settled
$$;
COMMENT ON FUNCTION @extschema@.abt_settle_counters(uuid) IS
'Copies the exact live counters into element_variants.total_* (one experiment, or all); returns the rows changed';

CREATE TRIGGER experiment_stopped AFTER UPDATE OF status ON abtest.experiments
    FOR EACH ROW
    WHEN (NEW.status IN ('paused', 'completed') AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION abtest.experiment_stopped();

/*
 * The publications abtest's realtime tables belong to.  pg_dump writes no
 * "ALTER PUBLICATION ... ADD TABLE" for an extension's tables and creates
 * publications after all data; this list (dumped with the data) lets the
 * event trigger below put the tables back when a restore creates the
 * publication.
 */
CREATE TABLE abtest.realtime_publications (
    pubname name NOT NULL,
    CONSTRAINT realtime_publications_pkey PRIMARY KEY (pubname)
);
COMMENT ON TABLE abtest.realtime_publications IS 'Publications that abt_realtime_publish() put the realtime tables into';

-- Puts the realtime tables into a publication, creating it when missing.
CREATE FUNCTION @extschema@.abt_realtime_publish(publication name DEFAULT 'supabase_realtime')
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tbl regclass;
    all_tables boolean;
BEGIN
    SELECT p.puballtables INTO all_tables FROM pg_catalog.pg_publication p
     WHERE p.pubname OPERATOR(pg_catalog.=) publication;
    IF NOT FOUND THEN
        EXECUTE pg_catalog.format('CREATE PUBLICATION %I', publication);
        all_tables := false;
    END IF;
    INSERT INTO abtest.realtime_publications VALUES (publication) ON CONFLICT DO NOTHING;
    IF all_tables THEN
        RETURN;                 -- FOR ALL TABLES already publishes ours
    END IF;
    FOREACH tbl IN ARRAY ARRAY['abtest.assignments', 'abtest.element_variants',
                               'abtest.conversions', 'abtest.variant_counters']::regclass[]
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_publication_rel r
                         JOIN pg_catalog.pg_publication p ON p.oid OPERATOR(pg_catalog.=) r.prpubid
                        WHERE p.pubname OPERATOR(pg_catalog.=) publication
                          AND r.prrelid OPERATOR(pg_catalog.=) tbl) THEN
            EXECUTE pg_catalog.format('ALTER PUBLICATION %I ADD TABLE %s', publication, tbl);
        END IF;
    END LOOP;
END $$;
COMMENT ON FUNCTION @extschema@.abt_realtime_publish(name) IS
'Adds assignments, element_variants, conversions and variant_counters to a publication (created when missing)';

/* ------------------------------------------------------------ analytics */

-- The analytics functions run as the caller (SECURITY INVOKER): they read
-- what the caller may read, so row-level security on the tables decides
-- whose experiments a dashboard role sees.  Their SQL is schema-qualified.

CREATE TYPE abtest.variant_stats AS (
    experiment_id uuid, status text, element_id uuid, element_name text,
    selector text, variant_id uuid, variant_name text, is_control boolean,
    weight float8, allocations bigint, conversions bigint,
    conversion_rate float8, ci_low float8, ci_high float8, uplift float8,
    p_value float8, chance_to_beat_control float8, srm_p_value float8,
    variant_position integer);
COMMENT ON TYPE abtest.variant_stats IS 'A row of abt_variant_stats (see README, "Variant statistics")';

CREATE FUNCTION @extschema@.abt_variant_stats(experiment_ids uuid[])
RETURNS SETOF abtest.variant_stats
AS 'MODULE_PATHNAME', 'abt_variant_stats'
LANGUAGE C STABLE PARALLEL SAFE
ROWS 8;
COMMENT ON FUNCTION @extschema@.abt_variant_stats(uuid[]) IS
'Live per-variant results of several experiments: counts, Wilson 95% interval, uplift, z-test p-value, chance to beat control, SRM p-value';

CREATE FUNCTION @extschema@.abt_experiment_stats(experiment_id uuid)
RETURNS SETOF abtest.variant_stats
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT * FROM @extschema@.abt_variant_stats(ARRAY[$1]) $$;
COMMENT ON FUNCTION @extschema@.abt_experiment_stats(uuid) IS 'abt_variant_stats of one experiment';

CREATE FUNCTION @extschema@.abt_timeline(experiment_id uuid, hours integer DEFAULT 24,
                                          bucket interval DEFAULT '1 hour')
RETURNS TABLE (bucket timestamptz, assignments bigint, conversions bigint, conversion_rate float8)
AS 'MODULE_PATHNAME', 'abt_timeline'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.abt_timeline(uuid, integer, interval) IS
'Assignments and conversions per bucket of assigned_at over the last hours, zero-filled, in the session TimeZone';

CREATE FUNCTION @extschema@.abt_timeline_variants(experiment_id uuid, hours integer DEFAULT 24,
                                                   bucket interval DEFAULT '1 hour')
RETURNS TABLE (bucket timestamptz, element_id uuid, variant_id uuid, variant_name text,
               assignments bigint, conversions bigint, conversion_rate float8)
AS 'MODULE_PATHNAME', 'abt_timeline_variants'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.abt_timeline_variants(uuid, integer, interval) IS
'abt_timeline per variant: the same buckets, one series per variant';

/* ---------------------------------------------------------- leads queue */

/*
 * Leads are captured from visitors' forms (abt_lead_capture) and processed by
 * workers (a CRM sync, a welcome e-mail).  abt_leads_claim hands out batches
 * with SELECT ... FOR UPDATE SKIP LOCKED, so concurrent workers never get the
 * same lead and never wait for each other (test/specs/leads-claim.spec).  A
 * claim is a lease, like pgmq's visibility timeout or graphile-worker's
 * locked_at: a worker that dies leaves its leads in 'processing' until the
 * lease ends, then the next claim puts them back in the queue (or fails them
 * once max_attempts claims were made).  The queue functions run as the
 * extension owner, so a worker's role needs EXECUTE on them and no privilege
 * on the table.  docs/access-and-leads.md describes the semantics.
 */

-- Rejects a worker name that is NULL, empty or longer than 256 characters.
CREATE FUNCTION abtest.lead_check_worker(worker text) RETURNS void
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF worker IS NULL THEN
        RAISE EXCEPTION 'worker must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF worker OPERATOR(pg_catalog.=) '' THEN
        RAISE EXCEPTION 'worker must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF pg_catalog.length(worker) OPERATOR(pg_catalog.>) 256 THEN
        RAISE EXCEPTION 'worker is too long' USING ERRCODE = 'invalid_parameter_value',
            DETAIL = pg_catalog.format('It has %s characters; at most 256 are allowed.',
                                       pg_catalog.length(worker));
    END IF;
END $$;
COMMENT ON FUNCTION abtest.lead_check_worker(text) IS
'Raises 22004/22023 for a NULL, empty or over-long (> 256 characters) worker name';

-- Stores a lead from a visitor's form, with the visitor's variant; returns its id.
CREATE FUNCTION @extschema@.abt_lead_capture(payload jsonb, experiment_id uuid DEFAULT NULL,
                                              user_id text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    payload_bytes integer;
    variant uuid;
    lead_id bigint;
BEGIN
    IF payload IS NULL THEN
        RAISE EXCEPTION 'lead payload must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF pg_catalog.jsonb_typeof(payload) OPERATOR(pg_catalog.<>) 'object' THEN
        RAISE EXCEPTION 'lead payload must be a JSON object' USING ERRCODE = 'invalid_parameter_value',
            DETAIL = pg_catalog.format('It is a JSON %s.', pg_catalog.jsonb_typeof(payload));
    END IF;
    payload_bytes := pg_catalog.octet_length(payload::text);
    IF payload_bytes OPERATOR(pg_catalog.>) 65536 THEN
        RAISE EXCEPTION 'lead payload is too large' USING ERRCODE = 'invalid_parameter_value',
            DETAIL = pg_catalog.format('It has %s bytes as JSON text; at most 65536 are allowed.',
                                       payload_bytes);
    END IF;
    IF user_id OPERATOR(pg_catalog.=) '' THEN
        RAISE EXCEPTION 'visitor id must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF pg_catalog.length(user_id) OPERATOR(pg_catalog.>) 256 THEN
        RAISE EXCEPTION 'visitor id is too long' USING ERRCODE = 'invalid_parameter_value',
            DETAIL = pg_catalog.format('It has %s characters; at most 256 are allowed.',
                                       pg_catalog.length(user_id));
    END IF;

    IF experiment_id IS NOT NULL THEN
        PERFORM FROM abtest.experiments e
         WHERE e.id OPERATOR(pg_catalog.=) abt_lead_capture.experiment_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'experiment % does not exist', experiment_id
                USING ERRCODE = 'no_data_found';
        END IF;
        -- the variant of the first element (in abt_assign's answer order)
        -- the visitor's assignment still has
        SELECT v.id INTO variant
          FROM abtest.assignments a
          JOIN abtest.experiment_elements el
            ON el.experiment_id OPERATOR(pg_catalog.=) a.experiment_id
          JOIN abtest.element_variants v
            ON v.element_id OPERATOR(pg_catalog.=) el.id
           AND v.id::text OPERATOR(pg_catalog.=) (a.variants OPERATOR(pg_catalog.->>) el.id::text)
         WHERE a.experiment_id OPERATOR(pg_catalog.=) abt_lead_capture.experiment_id
           AND a.user_id OPERATOR(pg_catalog.=) abt_lead_capture.user_id
         ORDER BY el.position, el.id
         LIMIT 1;
    END IF;

    INSERT INTO abtest.leads (payload, experiment_id, variant_id, user_id)
    VALUES (abt_lead_capture.payload, abt_lead_capture.experiment_id, variant, abt_lead_capture.user_id)
    RETURNING abtest.leads.id INTO lead_id;
    RETURN lead_id;
END $$;
COMMENT ON FUNCTION @extschema@.abt_lead_capture(jsonb, uuid, text) IS
'Captures a lead (a JSON object up to 64 kB), optionally tied to an experiment and visitor: stores the visitor''s variant of the first element; returns the lead id';

-- Puts leads whose claim expired back in the queue ('failed' after
-- max_attempts), the oldest max_leads of them (all by default); returns how
-- many it took back.  Leads another transaction holds are skipped.
CREATE FUNCTION @extschema@.abt_leads_requeue_expired(max_leads integer DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    now_ timestamptz := pg_catalog.clock_timestamp();
    taken_back bigint;
BEGIN
    IF max_leads OPERATOR(pg_catalog.<) 1 THEN
        RAISE EXCEPTION 'max_leads must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE abtest.leads l
       SET status = CASE WHEN l.attempts OPERATOR(pg_catalog.<) l.max_attempts
                         THEN 'new' ELSE 'failed' END,
           last_error = pg_catalog.format('claim by %s expired', l.claimed_by),
           claim_expires_at = NULL,
           updated_at = now_
     WHERE l.id OPERATOR(pg_catalog.=) ANY (ARRAY(
               SELECT c.id FROM abtest.leads c
                WHERE c.status OPERATOR(pg_catalog.=) 'processing'
                  AND c.claim_expires_at OPERATOR(pg_catalog.<=) now_
                ORDER BY c.created_at
                LIMIT max_leads
                  FOR UPDATE SKIP LOCKED))
       AND l.status OPERATOR(pg_catalog.=) 'processing';
    GET DIAGNOSTICS taken_back = ROW_COUNT;
    RETURN taken_back;
END $$;
COMMENT ON FUNCTION @extschema@.abt_leads_requeue_expired(integer) IS
'Returns leads whose claim''s lease ended (the oldest max_leads, default all) to status new, or failed once attempts reach max_attempts; returns their number';

-- Claims up to batch_size leads, oldest first, for one worker.
CREATE FUNCTION @extschema@.abt_leads_claim(worker text, batch_size integer DEFAULT 10,
                                             lease interval DEFAULT '5 minutes')
RETURNS SETOF abtest.leads
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
ROWS 10
AS $$
DECLARE
    now_ timestamptz;
BEGIN
    PERFORM abtest.lead_check_worker(worker);
    IF batch_size IS NULL THEN
        RAISE EXCEPTION 'batch size must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF batch_size OPERATOR(pg_catalog.<) 1 THEN
        RAISE EXCEPTION 'batch size must be at least 1' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF lease IS NULL THEN
        RAISE EXCEPTION 'lease must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF lease OPERATOR(pg_catalog.<=) '0'::interval THEN
        RAISE EXCEPTION 'lease must be positive' USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- expired claims back first, no more than this claim can take, so that
    -- it locks few leads it does not claim
    PERFORM @extschema@.abt_leads_requeue_expired(batch_size);
    now_ := pg_catalog.clock_timestamp();
    -- The ids are locked first (the ARRAY sublink runs once): rows another
    -- claim holds are skipped, not waited for; a row claimed and committed
    -- since this statement's snapshot is re-checked and no longer 'new'.
    RETURN QUERY
    WITH claimed AS (
        UPDATE abtest.leads l
           SET status = 'processing',
               claimed_by = worker,
               claimed_at = now_,
               claim_expires_at = now_ OPERATOR(pg_catalog.+) lease,
               attempts = l.attempts OPERATOR(pg_catalog.+) 1,
               updated_at = now_
         WHERE l.id OPERATOR(pg_catalog.=) ANY (ARRAY(
                   SELECT c.id FROM abtest.leads c
                    WHERE c.status OPERATOR(pg_catalog.=) 'new'
                    ORDER BY c.created_at
                    LIMIT batch_size
                      FOR UPDATE SKIP LOCKED))
           AND l.status OPERATOR(pg_catalog.=) 'new'
        RETURNING l.*)
    SELECT * FROM claimed ORDER BY claimed.created_at, claimed.id;
END $$;
COMMENT ON FUNCTION @extschema@.abt_leads_claim(text, integer, interval) IS
'Claims up to batch_size new leads, oldest first, for a worker (FOR UPDATE SKIP LOCKED: concurrent workers get disjoint leads); the claim expires after lease';

-- Marks a claimed lead done; false unless the worker holds its claim.
CREATE FUNCTION @extschema@.abt_lead_complete(lead_id bigint, worker text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    now_ timestamptz := pg_catalog.clock_timestamp();
BEGIN
    IF lead_id IS NULL THEN
        RAISE EXCEPTION 'lead id must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM abtest.lead_check_worker(worker);
    UPDATE abtest.leads l
       SET status = 'done', completed_at = now_, claim_expires_at = NULL, updated_at = now_
     WHERE l.id OPERATOR(pg_catalog.=) lead_id
       AND l.status OPERATOR(pg_catalog.=) 'processing'
       AND l.claimed_by OPERATOR(pg_catalog.=) worker;
    RETURN FOUND;
END $$;
COMMENT ON FUNCTION @extschema@.abt_lead_complete(bigint, text) IS
'Marks a lead done: true when the worker holds its claim, false otherwise (another worker took it back, or it is not processing)';

-- Records a failed attempt: back to 'new' (retry) or 'failed'; false unless
-- the worker holds the lead's claim.
CREATE FUNCTION @extschema@.abt_lead_fail(lead_id bigint, worker text, error text DEFAULT NULL,
                                           retry boolean DEFAULT true)
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    now_ timestamptz := pg_catalog.clock_timestamp();
BEGIN
    IF lead_id IS NULL THEN
        RAISE EXCEPTION 'lead id must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM abtest.lead_check_worker(worker);
    IF retry IS NULL THEN
        RAISE EXCEPTION 'retry must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    UPDATE abtest.leads l
       SET status = CASE WHEN retry AND l.attempts OPERATOR(pg_catalog.<) l.max_attempts
                         THEN 'new' ELSE 'failed' END,
           last_error = error, claim_expires_at = NULL, updated_at = now_
     WHERE l.id OPERATOR(pg_catalog.=) lead_id
       AND l.status OPERATOR(pg_catalog.=) 'processing'
       AND l.claimed_by OPERATOR(pg_catalog.=) worker;
    RETURN FOUND;
END $$;
COMMENT ON FUNCTION @extschema@.abt_lead_fail(bigint, text, text, boolean) IS
'Records a failed attempt of a claimed lead: new again when retry and attempts < max_attempts, else failed; false unless the worker holds its claim';

-- The queue is the workers' business, not the visitors': grant these to the
-- workers' role.  abt_lead_capture is not PUBLIC either: a role without
-- grants may call the assignment and conversion API and nothing else; the
-- access model below grants it to anon and authenticated where they exist.
REVOKE ALL ON FUNCTION @extschema@.abt_lead_capture(jsonb, uuid, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.abt_leads_claim(text, integer, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.abt_lead_complete(bigint, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.abt_lead_fail(bigint, text, text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.abt_leads_requeue_expired(integer) FROM PUBLIC;

/* --------------------------------------------------------- access model */

/*
 * Who may do what (docs/access-and-leads.md has the whole picture):
 *  - visitors (Supabase's anon, or any role at all): the visitor API, which
 *    runs as the extension owner; no privilege on schema abtest;
 *  - experiment owners (Supabase's authenticated, or a dashboard role
 *    granted as the document shows): the configuration tables, and reading
 *    the per-visitor, counter and timeline tables, leads and the analytics,
 *    limited by the row-level security policies below to the experiments
 *    whose user_id is abtest.current_owner();
 *  - service_role (BYPASSRLS on Supabase) and the extension owner: all rows.
 * Row-level security is enabled, not forced: the tables' owner (the
 * extension owner, and so the SECURITY DEFINER visitor and queue functions)
 * is not subject to it, and a superuser never is.
 */

-- The experiment owner the session acts for: the user id of the request's
-- JWT, as Supabase's auth.uid() reads it (PostgREST sets these settings per
-- request; any other client sets request.jwt.claim.sub itself).  The
-- "abtest." prefix is reserved for the module's own settings
-- (MarkGUCPrefixReserved), so no abtest.* setting could carry it.
CREATE FUNCTION abtest.current_owner() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT COALESCE(
        NULLIF(pg_catalog.current_setting('request.jwt.claim.sub', true), ''),
        NULLIF(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb
            OPERATOR(pg_catalog.->>) 'sub')::uuid
$$;
COMMENT ON FUNCTION abtest.current_owner() IS
'Experiment owner of the session for row-level security: request.jwt.claim.sub or request.jwt.claims->>''sub'' (as auth.uid() reads them)';

-- Where Supabase's auth.uid() exists (returning uuid) at install time, the
-- owner is whatever it says, so that a change in how Supabase authenticates
-- needs no change here.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_proc p
                WHERE p.oid OPERATOR(pg_catalog.=) pg_catalog.to_regprocedure('auth.uid()')
                  AND p.prorettype OPERATOR(pg_catalog.=) 'pg_catalog.uuid'::pg_catalog.regtype) THEN
        EXECUTE $sql$
            CREATE OR REPLACE FUNCTION abtest.current_owner() RETURNS uuid
            LANGUAGE sql STABLE PARALLEL SAFE
            SET search_path = pg_catalog, pg_temp
            AS 'SELECT auth.uid()'
        $sql$;
        COMMENT ON FUNCTION abtest.current_owner() IS
        'Experiment owner of the session for row-level security: auth.uid() (it existed when abtest was installed)';
    END IF;
END $$;

-- Enabled, not forced (see above).
ALTER TABLE abtest.experiments ENABLE ROW LEVEL SECURITY;
ALTER TABLE abtest.experiment_elements ENABLE ROW LEVEL SECURITY;
ALTER TABLE abtest.element_variants ENABLE ROW LEVEL SECURITY;
ALTER TABLE abtest.assignments ENABLE ROW LEVEL SECURITY;
ALTER TABLE abtest.conversions ENABLE ROW LEVEL SECURITY;
ALTER TABLE abtest.variant_counters ENABLE ROW LEVEL SECURITY;
ALTER TABLE abtest.experiment_timeline ENABLE ROW LEVEL SECURITY;
ALTER TABLE abtest.variant_timeline ENABLE ROW LEVEL SECURITY;
ALTER TABLE abtest.leads ENABLE ROW LEVEL SECURITY;

-- An owner reads and changes their own experiments and cannot create one for
-- somebody else or give one away.  "(SELECT abtest.current_owner())" is
-- evaluated once per statement, not per row.
CREATE POLICY owner_all ON abtest.experiments
    USING (user_id OPERATOR(pg_catalog.=) (SELECT abtest.current_owner()))
    WITH CHECK (user_id OPERATOR(pg_catalog.=) (SELECT abtest.current_owner()));
CREATE POLICY owner_all ON abtest.experiment_elements
    USING (EXISTS (SELECT FROM abtest.experiments e
                    WHERE e.id OPERATOR(pg_catalog.=) experiment_elements.experiment_id
                      AND e.user_id OPERATOR(pg_catalog.=) (SELECT abtest.current_owner())))
    WITH CHECK (EXISTS (SELECT FROM abtest.experiments e
                         WHERE e.id OPERATOR(pg_catalog.=) experiment_elements.experiment_id
                           AND e.user_id OPERATOR(pg_catalog.=) (SELECT abtest.current_owner())));
CREATE POLICY owner_all ON abtest.element_variants
    USING (EXISTS (SELECT FROM abtest.experiment_elements el
                     JOIN abtest.experiments e ON e.id OPERATOR(pg_catalog.=) el.experiment_id
                    WHERE el.id OPERATOR(pg_catalog.=) element_variants.element_id
                      AND e.user_id OPERATOR(pg_catalog.=) (SELECT abtest.current_owner())))
    WITH CHECK (EXISTS (SELECT FROM abtest.experiment_elements el
                          JOIN abtest.experiments e ON e.id OPERATOR(pg_catalog.=) el.experiment_id
                         WHERE el.id OPERATOR(pg_catalog.=) element_variants.element_id
                           AND e.user_id OPERATOR(pg_catalog.=) (SELECT abtest.current_owner())));
-- Visitors' rows, counters, rollups and leads are written by the extension's
-- functions only: owners read those of their experiments.
CREATE POLICY owner_read ON abtest.assignments FOR SELECT
    USING (EXISTS (SELECT FROM abtest.experiments e
                    WHERE e.id OPERATOR(pg_catalog.=) assignments.experiment_id
                      AND e.user_id OPERATOR(pg_catalog.=) (SELECT abtest.current_owner())));
CREATE POLICY owner_read ON abtest.conversions FOR SELECT
    USING (EXISTS (SELECT FROM abtest.experiments e
                    WHERE e.id OPERATOR(pg_catalog.=) conversions.experiment_id
                      AND e.user_id OPERATOR(pg_catalog.=) (SELECT abtest.current_owner())));
CREATE POLICY owner_read ON abtest.variant_counters FOR SELECT
    USING (EXISTS (SELECT FROM abtest.experiments e
                    WHERE e.id OPERATOR(pg_catalog.=) variant_counters.experiment_id
                      AND e.user_id OPERATOR(pg_catalog.=) (SELECT abtest.current_owner())));
CREATE POLICY owner_read ON abtest.experiment_timeline FOR SELECT
    USING (EXISTS (SELECT FROM abtest.experiments e
                    WHERE e.id OPERATOR(pg_catalog.=) experiment_timeline.experiment_id
                      AND e.user_id OPERATOR(pg_catalog.=) (SELECT abtest.current_owner())));
CREATE POLICY owner_read ON abtest.variant_timeline FOR SELECT
    USING (EXISTS (SELECT FROM abtest.experiments e
                    WHERE e.id OPERATOR(pg_catalog.=) variant_timeline.experiment_id
                      AND e.user_id OPERATOR(pg_catalog.=) (SELECT abtest.current_owner())));
CREATE POLICY owner_read ON abtest.leads FOR SELECT
    USING (EXISTS (SELECT FROM abtest.experiments e
                    WHERE e.id OPERATOR(pg_catalog.=) leads.experiment_id
                      AND e.user_id OPERATOR(pg_catalog.=) (SELECT abtest.current_owner())));

-- Changing an element or variant gives its experiment a new config_version,
-- deleting an experiment removes its visitors' rows, pausing it settles its
-- counters: a column and tables an owner may not write.  These trigger
-- functions therefore run as the extension owner.  Each acts on the one
-- experiment whose row (or element or variant) the triggering statement was
-- allowed to change, and a trigger function cannot be called directly.
ALTER FUNCTION abtest.element_changed() SECURITY DEFINER;
ALTER FUNCTION abtest.variant_changed() SECURITY DEFINER;
ALTER FUNCTION abtest.experiment_deleted() SECURITY DEFINER;
ALTER FUNCTION abtest.experiment_stopped() SECURITY DEFINER;

/*
 * Supabase's roles, when they exist at install time.  Supabase's default
 * privileges grant anon and authenticated everything created in schema
 * public, so each role first loses every privilege on abtest's objects, then
 * gets what it should have.  Elsewhere docs/access-and-leads.md lists the
 * GRANTs to run.
 */
DO $$
DECLARE
    role_name name;
    fn regprocedure;
BEGIN
    FOREACH role_name IN ARRAY ARRAY['anon', 'authenticated', 'service_role']::name[] LOOP
        CONTINUE WHEN NOT EXISTS (SELECT FROM pg_catalog.pg_roles r
                                   WHERE r.rolname OPERATOR(pg_catalog.=) role_name);
        EXECUTE pg_catalog.format('REVOKE ALL ON SCHEMA abtest FROM %I', role_name);
        EXECUTE pg_catalog.format('REVOKE ALL ON ALL TABLES IN SCHEMA abtest FROM %I', role_name);
        EXECUTE pg_catalog.format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA abtest FROM %I', role_name);
        FOR fn IN
            SELECT d.objid::regprocedure FROM pg_catalog.pg_depend d
             WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
               AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
               AND d.refobjid OPERATOR(pg_catalog.=) (SELECT x.oid FROM pg_catalog.pg_extension x
                                                       WHERE x.extname OPERATOR(pg_catalog.=) 'abtest')
               AND d.deptype OPERATOR(pg_catalog.=) 'e'
        LOOP
            EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM %I', fn, role_name);
            -- service_role: every function
            IF role_name OPERATOR(pg_catalog.=) 'service_role' THEN
                EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %I', fn, role_name);
            END IF;
        END LOOP;
    END LOOP;

    IF EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) 'anon') THEN
        -- Visitors: the visitor API (PUBLIC has it too, except lead capture).
        GRANT EXECUTE ON FUNCTION
            @extschema@.abt_assign(uuid, text, timestamptz),
            @extschema@.abt_assign_batch(uuid[], text, timestamptz),
            @extschema@.abt_assign_bulk(uuid, text[], timestamptz),
            @extschema@.abt_convert(uuid, text, text, numeric, timestamptz),
            @extschema@.abt_gbhash(text, text),
            @extschema@.abt_lead_capture(jsonb, uuid, text)
        TO anon;
    END IF;

    IF EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) 'authenticated') THEN
        -- A signed-in user is a visitor too.
        GRANT EXECUTE ON FUNCTION
            @extschema@.abt_assign(uuid, text, timestamptz),
            @extschema@.abt_assign_batch(uuid[], text, timestamptz),
            @extschema@.abt_assign_bulk(uuid, text[], timestamptz),
            @extschema@.abt_convert(uuid, text, text, numeric, timestamptz),
            @extschema@.abt_gbhash(text, text),
            @extschema@.abt_lead_capture(jsonb, uuid, text)
        TO authenticated;
        -- Experiment owners: their configuration (row-level security keeps
        -- them to their own rows), minus the columns the extension
        -- maintains (config_version, the settled counters); reading their
        -- visitors' rows, counters, rollups and leads; the analytics.
        GRANT USAGE ON SCHEMA abtest TO authenticated;
        GRANT SELECT, DELETE ON abtest.experiments, abtest.experiment_elements,
                                abtest.element_variants TO authenticated;
        GRANT INSERT (id, user_id, name, status, seed, coverage, created_at),
              UPDATE (user_id, name, status, seed, coverage)
            ON abtest.experiments TO authenticated;
        GRANT INSERT (id, experiment_id, name, selector, seed, position, created_at),
              UPDATE (experiment_id, name, selector, seed, position)
            ON abtest.experiment_elements TO authenticated;
        GRANT INSERT (id, element_id, name, content, weight, is_control, position, created_at),
              UPDATE (element_id, name, content, weight, is_control, position)
            ON abtest.element_variants TO authenticated;
        -- config_version's default and the triggers that bump it draw from it
        GRANT USAGE ON SEQUENCE abtest.config_version_seq TO authenticated;
        GRANT SELECT ON abtest.assignments, abtest.conversions, abtest.variant_counters,
                        abtest.experiment_timeline, abtest.variant_timeline,
                        abtest.variant_totals, abtest.leads TO authenticated;
        GRANT EXECUTE ON FUNCTION
            abtest.current_owner(),
            @extschema@.abt_variant_stats(uuid[]),
            @extschema@.abt_experiment_stats(uuid),
            @extschema@.abt_timeline(uuid, integer, interval),
            @extschema@.abt_timeline_variants(uuid, integer, interval)
        TO authenticated;
    END IF;

    IF EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) 'service_role') THEN
        -- The server side (Edge Functions, workers): everything.  It reads all
        -- rows because Supabase gives the role BYPASSRLS (a role attribute,
        -- not changed here).
        GRANT USAGE ON SCHEMA abtest TO service_role;
        GRANT ALL ON ALL TABLES IN SCHEMA abtest TO service_role;
        GRANT ALL ON ALL SEQUENCES IN SCHEMA abtest TO service_role;
    END IF;
END $$;

/* ----------------------------------------------------------- privileges */

-- Administrative functions: only the extension owner (and whom it grants)
-- may settle counters or change publications.
REVOKE ALL ON FUNCTION @extschema@.abt_settle_counters(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.abt_realtime_publish(name) FROM PUBLIC;
-- Results are the experiment owners' business, not the visitors': grant
-- these to the dashboard's role.
REVOKE ALL ON FUNCTION @extschema@.abt_variant_stats(uuid[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.abt_experiment_stats(uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.abt_timeline(uuid, integer, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.abt_timeline_variants(uuid, integer, interval) FROM PUBLIC;

/* -------------------------------------------------------------- pg_dump */

-- User data: pg_dump keeps the rows of these tables and sequences.
SELECT pg_catalog.pg_extension_config_dump('abtest.experiments', '');
SELECT pg_catalog.pg_extension_config_dump('abtest.experiment_elements', '');
SELECT pg_catalog.pg_extension_config_dump('abtest.element_variants', '');
SELECT pg_catalog.pg_extension_config_dump('abtest.assignments', '');
SELECT pg_catalog.pg_extension_config_dump('abtest.conversions', '');
SELECT pg_catalog.pg_extension_config_dump('abtest.leads', '');
SELECT pg_catalog.pg_extension_config_dump('abtest.realtime_publications', '');
SELECT pg_catalog.pg_extension_config_dump('abtest.variant_counters', '');
SELECT pg_catalog.pg_extension_config_dump('abtest.experiment_timeline', '');
SELECT pg_catalog.pg_extension_config_dump('abtest.variant_timeline', '');
SELECT pg_catalog.pg_extension_config_dump('abtest.config_version_seq', '');
SELECT pg_catalog.pg_extension_config_dump('abtest.conversions_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('abtest.leads_id_seq', '');

/* ------------------------------------------------------------- realtime */

-- When a publication listed in abtest.realtime_publications is created (as a
-- restore of pg_dump output does, after the data), adds the realtime tables.
CREATE FUNCTION abtest.publication_created() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    created record;
BEGIN
    FOR created IN
        SELECT p.pubname
          FROM pg_catalog.pg_event_trigger_ddl_commands() c
          JOIN pg_catalog.pg_publication p ON p.oid OPERATOR(pg_catalog.=) c.objid
          JOIN abtest.realtime_publications r ON r.pubname OPERATOR(pg_catalog.=) p.pubname
         WHERE c.command_tag OPERATOR(pg_catalog.=) 'CREATE PUBLICATION'
    LOOP
        PERFORM @extschema@.abt_realtime_publish(created.pubname);
    END LOOP;
END $$;
COMMENT ON FUNCTION abtest.publication_created() IS 'Event trigger: a restored realtime publication gets the realtime tables back';

CREATE EVENT TRIGGER abtest_publication_created ON ddl_command_end
    WHEN TAG IN ('CREATE PUBLICATION')
    EXECUTE FUNCTION abtest.publication_created();

-- A restore loads abtest.realtime_publications before it creates
-- publications; where the target already has the publication (every Supabase
-- project has supabase_realtime), the row itself puts the tables back.
CREATE FUNCTION abtest.realtime_publication_restored() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_publication p
                WHERE p.pubname OPERATOR(pg_catalog.=) NEW.pubname) THEN
        PERFORM @extschema@.abt_realtime_publish(NEW.pubname);
    END IF;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION abtest.realtime_publication_restored() IS 'Trigger: a restored row of realtime_publications whose publication exists gets the realtime tables into it';

CREATE TRIGGER realtime_publication_restored AFTER INSERT ON abtest.realtime_publications
    FOR EACH ROW EXECUTE FUNCTION abtest.realtime_publication_restored();

-- abtest.publication (default supabase_realtime; '' opts out) names the
-- publication the realtime tables join.  Not while pg_dump output is being
-- restored (pg_dump and pg_restore run with row_security off, which normal
-- sessions leave on; CREATE EXTENSION itself forces check_function_bodies
-- off, so that can't tell): the dump recreates the
-- publication itself, with its options, and the event trigger above puts the
-- tables back; creating it here would make the dump's CREATE PUBLICATION fail.
DO $$
DECLARE
    pub text := pg_catalog.current_setting('abtest.publication', true);
BEGIN
    IF pub IS NOT NULL AND pub OPERATOR(pg_catalog.<>) ''
       AND pg_catalog.current_setting('row_security') OPERATOR(pg_catalog.=) 'on' THEN
        PERFORM @extschema@.abt_realtime_publish(pub::name);
    END IF;
END $$;
