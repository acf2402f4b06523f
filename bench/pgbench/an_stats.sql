-- abt_variant_stats for the experiments of one dashboard page, in one call.
-- -D ids='{<uuid>,...}' (one or many experiment ids)
SELECT * FROM abt_variant_stats(:ids);
