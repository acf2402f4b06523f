-- Candidate: abt_assign for a new visitor (unique id per client and draw)
-- of the hot experiment.  -D exp=<hot experiment>
\set n random(1, 1000000000000)
SELECT abt_assign(:exp, 'n' || :client_id || '-' || :n);
