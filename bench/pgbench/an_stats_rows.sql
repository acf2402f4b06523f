-- The floor under abt_variant_stats's latency: its rows, stored in a plain
-- table (bench/analytics.sh, an_stats_rows), read and sent to the client.
-- -D n=1 (an-s1's rows) or n=100 (an-s1 .. an-s100's rows)
\if :n = 1
SELECT * FROM bench_stats_rows_1;
\else
SELECT * FROM bench_stats_rows_100;
\endif
