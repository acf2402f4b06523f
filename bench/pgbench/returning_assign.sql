-- Candidate: abt_assign for a pre-assigned (returning) visitor.
-- -D exp=<returning experiment>
\set r random(1, 200000)
SELECT abt_assign(:exp, 'v' || :r);
