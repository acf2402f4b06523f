/* abtest 1.0 -> 1.1: what 1.1 adds to and changes in a 1.0 installation */

\echo Use "ALTER EXTENSION abtest UPDATE TO '1.1'" to load this file. \quit

/*
 * There is no full abtest--1.1.sql: CREATE EXTENSION abtest runs
 * abtest--1.0.sql and then this script (PostgreSQL chains an install script
 * and update scripts by itself), and ALTER EXTENSION abtest UPDATE runs this
 * script alone in a database installed at 1.0.  So every statement here runs
 * both on a fresh, empty installation and on a 1.0 database full of rows:
 * a new column needs a default or a backfill that is right for existing
 * rows, a new constraint must hold for them.
 *
 * What goes here: every change of release 1.1 (the work of issue 8 and the
 * metrics, settling, exclusion and scale-out issues): GRANTs and REVOKEs,
 * new tables and columns, new and replaced functions and triggers.  Nothing
 * yet: 1.1 so far changes the C library only.
 *
 * The rules of abtest--1.0.sql apply, and it is never edited:
 *  - schema-qualify every reference as 1.0 does: tables as abtest.x,
 *    functions as @extschema@.f (internal ones abtest.f),
 *    built-ins as pg_catalog.f, operators as OPERATOR(pg_catalog.=), so a
 *    hostile search_path changes nothing; SECURITY DEFINER functions get
 *    SET search_path = pg_catalog, pg_temp;
 *  - COMMENT ON every new table and function; explain every GRANT/REVOKE;
 *  - tables holding user data: pg_catalog.pg_extension_config_dump;
 *  - a new realtime table joins the publications listed in
 *    abtest.realtime_publications (a 1.0 database's setting
 *    abtest.publication may have changed since it was installed);
 *  - CREATE OR REPLACE FUNCTION only where the argument types stay (other
 *    argument types make a second function, not a replacement);
 * The newest abtest.so also serves databases still at 1.0 until they are
 * updated: C code must not need an object this script creates without
 * checking for it (or failing with an error that names
 * ALTER EXTENSION abtest UPDATE); test/client/upgrade.sh checks both.
 * Once 1.1 is released this file is frozen too: its sha256 goes into the
 * checksums of test/client/upgrade.sh, and 1.2 gets abtest--1.1--1.2.sql.
 */
