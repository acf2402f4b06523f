-- abt_variant_stats without shipping its rows: what the function itself
-- costs (the rows are made, counted by the server, not sent).
-- -D ids='{<uuid>,...}'
SELECT count(*) FROM abt_variant_stats(:ids);
