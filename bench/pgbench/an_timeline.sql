-- abt_timeline: the same hourly timeline (zero-filled), from the rollups.
-- -D exp=<experiment> -D hours=168
SELECT * FROM abt_timeline(:exp, :hours);
