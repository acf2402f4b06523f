-- examples/dashboard/roles.sql -- the dashboard's roles, as a superuser:
--   psql -v group=dashboard -v login=dashboard_app -f roles.sql
--
-- :group gets the dashboard grants of docs/access-and-leads.md ("Elsewhere:
-- the GRANTs to run", the experiment owners' read side) and 1.1's metric
-- grants (what Supabase's `authenticated` gets: abt_metric_stats and the
-- goal sums it reads).  :login is the role the dashboard's server logs in
-- as: a member of :group, no superuser (row-level security applies to it),
-- with REPLICATION, which following the publication needs.  The owner's
-- writing grants are left out: the dashboard only reads.
\set ON_ERROR_STOP on
CREATE ROLE :"group" NOLOGIN;
GRANT USAGE ON SCHEMA abtest TO :"group";
GRANT SELECT ON abtest.experiments, abtest.experiment_elements, abtest.element_variants TO :"group";
GRANT SELECT ON abtest.assignments, abtest.conversions, abtest.variant_counters,
                abtest.experiment_timeline, abtest.variant_timeline,
                abtest.variant_totals TO :"group";
GRANT EXECUTE ON FUNCTION public.abt_variant_stats(uuid[]), public.abt_experiment_stats(uuid),
                          public.abt_timeline(uuid, integer, interval),
                          public.abt_timeline_variants(uuid, integer, interval)
    TO :"group";
-- 1.1: the per-goal analytics and the goal sums they read
GRANT SELECT ON abtest.goals, abtest.visitor_goals, abtest.goal_counters TO :"group";
-- (named without its arguments: the only function of that name, whatever
-- arguments a later version adds)
GRANT EXECUTE ON FUNCTION public.abt_metric_stats TO :"group";

-- REPLICATION: a temporary logical slot on the publication; the role still
-- reads the statistics only through :group's grants and the owner policies
CREATE ROLE :"login" LOGIN REPLICATION NOSUPERUSER NOBYPASSRLS IN ROLE :"group";
