--
-- namespaces: mutually exclusive experiments (GrowthBook's namespaces).
-- Eligibility is decided by test/tools/growthbook_hash.js, GrowthBook's own
-- JavaScript (inNamespace, hash v1 over UTF-16 code units): the two tables
-- of expected values below are its output (`node test/tools/growthbook_hash.js
-- namespace`), 10,000 visitors each, ASCII, accented, CJK, combining and
-- emoji ids.  Also: exclusion of overlapping ranges, order of the checks,
-- stickiness, bad input (SQLSTATE, nothing written).
-- Ids of this file: d1200000-....
--
\i test/sql/include/err.sql
-- visitor i of the JavaScript reference (nsVisitor)
CREATE FUNCTION pg_temp.visitor(i int) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT (ARRAY['v', 'visitor-', U&'\00e9', U&'\00fc-', U&'\7528\6237',
                  U&'\+01F600', U&'\+01F44D\+01F3FD-', U&'a\0301'])[i % 8 + 1] || i
$$;

-- GrowthBook's published inNamespace cases (packages/sdk-js/test/cases.json)
SELECT id, ns, s, e, abtest.in_namespace(id, ns, s, e) AS eligible,
       abtest.in_namespace(id, ns, s, e) = expected AS ok
  FROM (VALUES ('1', 'namespace1', 0, 0.4, false), ('1', 'namespace1', 0.4, 1, true),
               ('1', 'namespace2', 0, 0.4, false), ('1', 'namespace2', 0.4, 1, true),
               ('2', 'namespace1', 0, 0.4, false), ('2', 'namespace1', 0.4, 1, true),
               ('2', 'namespace2', 0, 0.4, false), ('2', 'namespace2', 0.4, 1, true),
               ('3', 'namespace1', 0, 0.4, false), ('3', 'namespace1', 0.4, 1, true),
               ('3', 'namespace2', 0, 0.4, true), ('3', 'namespace2', 0.4, 1, false),
               ('4', 'namespace1', 0, 0.4, false), ('4', 'namespace1', 0.4, 1, true),
               ('4', 'namespace2', 0, 0.4, true), ('4', 'namespace2', 0.4, 1, false))
       v(id, ns, s, e, expected);

-- the JavaScript reference's eligibility for [0.25, 0.6) of a non-ASCII
-- namespace, 100 visitors a row: abtest.in_namespace agrees on every one
CREATE TEMP TABLE js_eligible (first int, bits text);
INSERT INTO js_eligible VALUES
    (1, '0110100000100000110100101011100010000000000000010000010100110001111110000001001110110000001001010110'),
    (101, '0011100001001100000011000101110001011110010101010011001101000111010010001011110101000100111001011000'),
    (201, '1001100000110000000001010000001101001000000011010000001010011100000111000000000110100001010110001000'),
    (301, '0101000001101001101100001111000010010010001101011000000100011101100110100101000100110101000010000110'),
    (401, '0001101011100010000011011000000010000101100010000000101011100100010000000100001110100100010011010010'),
    (501, '0001100000000001000000100101001001010000010001000001101000100010100100001000100000001100011000100010'),
    (601, '0111001101000111010100000000011100000100000010100001001100000010010001000000000001010001100100100000'),
    (701, '1100100110110000000000000000000011001100110000101010010010110001011101000011101100011000100100001000'),
    (801, '0010100100110110100000010101010111100001010010010110111010001000001010010101000000101001110000100101'),
    (901, '1010010000001101000000000101000000001010001000000000010010000010100000000000001101001000001010010101'),
    (1001, '0101000001010101111100010111000011100100101000110000001000111100010000000000100010000000000100000000'),
    (1101, '0101100001000000110000111101111110000000010001000000110110010101000111000000100000110001000110101011'),
    (1201, '0000001010110011100010100010001000010000011100111000001000001000111001000110011000001010110000000001'),
    (1301, '0000100000001101101010001010000100000000110000000000101001001100110001011000010000110000000010011010'),
    (1401, '0101001000000000000101001100000011011000010100000010000000011010011110000001101011001000001111000000'),
    (1501, '0100110101110001010000000100010001100100000010010001000100000000000011001110010000010011000000010101'),
    (1601, '0000111101100110001000100010000010000101001001010011000110001000000111000000101101000100001001010110'),
    (1701, '1010010110010100100100011100000001010000000011100000010000011100000011000000000011001011100100000000'),
    (1801, '1011110000110101111010100000001011101011000001000100110100000000010011000100001000000001111010000000'),
    (1901, '0101100101010101101110000001100100001101011001010110110000000000100011001111111011010100100000000011'),
    (2001, '0001000011000001000110100000101011000001000001001010000010011000000010111001001000000110011011100000'),
    (2101, '0000100001011010101000000100011010100110001100010010010000010010000100010100010000000100001110101101'),
    (2201, '0111100000000000000011010100001101111110001000001000000000010001111101010000001100011001010010010000'),
    (2301, '0001000000000101110100011010000010000101011010011101011100101010000100010001000000100010000000101100'),
    (2401, '0101010001011000111100000010000011001111110001010001001010100010000011100010011000000110000100010100'),
    (2501, '0101110000100000001001000100001111000010110100000100001010011000110000000000010100000000001010000100'),
    (2601, '1000101010000011001011101001100000010000101000000000000001001000010010000000001000110000100111000000'),
    (2701, '0011001000010001100011100000101101101000001000000000011111010110110100001110001000100100100000010100'),
    (2801, '0100001110000000000000011111000010010100001011011010101001101100011000000010100000000011101000010001'),
    (2901, '0000010100100100101010011111101100001101010000110000011010100100100100101010010000000010100000000000'),
    (3001, '0111100010000110101101000001100110100111000000100000100100101010101001001001100010000011011111000001'),
    (3101, '0100100000000101110101101010000100010111011000001000110000111000001110010000000000011110010110100110'),
    (3201, '0100100000010000001001101001001000001000010100000110110110000111000011000001000110101101011000101001'),
    (3301, '0100010101100011110000100011001001000111100111001000000100010000001001100110110110100001100001010011'),
    (3401, '0000100001110000011101101100010000110001011100010001000011100000000000001110011011000000000100000010'),
    (3501, '0100100001101000110110000010000000110111111100000110010010100000000000000011000011001000000110110110'),
    (3601, '0100011000000000011010010010100001010011000100001010001110001001001101001000101011000000100011010001'),
    (3701, '0010010000000000010011100100000110000000100010010000000010010000010001010100011011001010000011110000'),
    (3801, '1010110011010111110101101110010110011000110011000001000011000000000001101100001100111110100100011101'),
    (3901, '1011001010100100000001001001000001010001110000000110100011000010101000010000110110111000000010010000'),
    (4001, '0100010001010011110001001000000100001000000010100010000100000000010100101010000000010110000100010000'),
    (4101, '0001000001000000110010110100000100110010100000100001001001011000011011010010001001100001100000010111'),
    (4201, '0100000000000000110101111100101001011000000101010100100110101000101001000110110100001101010000000010'),
    (4301, '0100110011010001011000110011011010011000010010101001001000011001001000000000000110101110000001010110'),
    (4401, '0001000000000100000001100000110000011100100010100000001001010010000001000010000000000100000110100000'),
    (4501, '0010010011001010110000100001000110000010000111000000110011000000001100010010001000001100001001000000'),
    (4601, '1010101110000100000101010001011011001101000001000000110100000100011000001111011010101100110001000110'),
    (4701, '1000100000000000011101001110010100000100000000000010011101100010000000100000000000100010110000000101'),
    (4801, '1110010001000100000101010000010000100000001100000001011000000110001100010101010100110110100100010110'),
    (4901, '0000010010100001110000000000101001110101001000100100000000000110011010000011000011100000001001000000'),
    (5001, '0010010011000001100101000000000101000010001100001001001000101111100010000010000000110011010011100100'),
    (5101, '0001100000110001101110010000010000000000010010100000001000000001000100001000000101000000010011010000'),
    (5201, '0000000000001100010000101010001100000101001000001100011000110110001000000000000000001100000100010001'),
    (5301, '1101000001000100110100011010001010000001100110001010000010000101101010101101001100010001011010101100'),
    (5401, '1111000000100001011110101010001011000000111010011010000000100100010110011000100001000001100100000100'),
    (5501, '0000000000000101000010100000010010010001000100001001010000100000100000000000100110001000001000100000'),
    (5601, '0111000101000100001011100100000000000000110000000011010011101100110000000001010010010001000011101010'),
    (5701, '0001101010010000000000110100000101110010000011011100010011111000100110001001000011000000010101000011'),
    (5801, '0001000110001001000000101010010000101011000011111000101111010110100010010000101110111001000001001000'),
    (5901, '0011000000100001111011100010010001110000011001110000101010011111100000100010110100100001100001010000'),
    (6001, '1011010000010000000000110010010001001000000000101000111001010101000000101011100010000111101101000000'),
    (6101, '0010000000101111001010011000011010000011001100001001010101110011011000111000001111010011000000001100'),
    (6201, '0000001100010010110001000000000000110000101000001100110010010101100010010001110100110001100001011000'),
    (6301, '0000010001010101000010000101110001101000101111001010010001010011000011100011001100000000100000101010'),
    (6401, '0111110000001001001100011000000001101010000111001101011000110011000010111001011000110000001110101100'),
    (6501, '0000100101010001100010101100011001000000000000010000010000000000100011000110100100000000000100000010'),
    (6601, '0100000110010100011000000100001001000001100000000000100010010100001010000100000000001000010010001110'),
    (6701, '1100000000110011000010000011011001000000000101110001011010000010100001010011010110101110001001101101'),
    (6801, '0000100110000100100100001111001101000000000101010001011010001001000100000101100110011101000010111000'),
    (6901, '1001110100010000001011001000011010110011010101010110011110000000000100100001010000110010011100100100'),
    (7001, '0011001111011110011010010110111110110001000000011101011000000001000000110010010011010000000100001000'),
    (7101, '0101010110000100001111001101011110110000000110000100100010010001010001001100100100000100000011001001'),
    (7201, '1101100010110010010010000100001001000010100000001010001000000000000000001001010111001000101100101101'),
    (7301, '1111000001010000001010000000001010000100000010110010100110010100011110110110111001111000010010101001'),
    (7401, '1101100000000011010111001101010111001000010000100000100000010010000001000101100000001000111011001000'),
    (7501, '1000000110000000010010000001100011100010010000110000010000111000000100000000000001000101011010001000'),
    (7601, '1110000010111000000000010101110010101000000000000010000101100000010010001000001110001000010101111110'),
    (7701, '1010001000110011010001001000110110001101110110100000001011000000010110100000000010100010100000000000'),
    (7801, '1000001010101001001100111010101100000001100011111010000001100000001101110111110000000010111101100110'),
    (7901, '1001110111100001011011101000110101001000000001000100100000010001001001011010110001010100001110101001'),
    (8001, '1001000110000100010000100010111001100000111000010011110000010110000001000110000000100010101001010011'),
    (8101, '0001100001010100011011000010001111101000000110001001101001110001011000010100001010001000101000001011'),
    (8201, '1011101011101000011110010011001110011011000101010010111000010000010111001001000101000100110001100011'),
    (8301, '0011100000001001001111001000000001010111011001111101100100000000001001011000000000010000011100101010'),
    (8401, '1001101101000000100110001010010100001000011001100100010000000101000000101000110001110011110100010000'),
    (8501, '1100000011101000110000000011001110000100010000000100101110011010011011010010000000100001011100000001'),
    (8601, '1110000000100110001110100000000010000110011011000010101100010000011110000000100000110100010101001001'),
    (8701, '0000101100001001000101001001101000000010000000000000011111010100110010000001100001000010010110001011'),
    (8801, '1010000000000000110111100111011110011110000010010010010010100001100100011110000101111000110000011110'),
    (8901, '0100011001001100001111000000110010000000000001010010000101000000100000001110001110010010001001010000'),
    (9001, '0100110000100001011000101000110100100000001101110000000100100000000101000010000111010010010100001011'),
    (9101, '0010010110001101000000001000001010101010000010000000110010001010001000111100100011000110000010000100'),
    (9201, '0010000101001010101000000010010101100101110010010010100010010011100100000100101110101100000110000000'),
    (9301, '0000010000000001010001010110010001010100000000000001001000100100000100000101100101111111001110101000'),
    (9401, '1100001111011000000110111000000001000100110001000110011100100100000010001000100101000010010110100010'),
    (9501, '1110001000010001000100000001000100101010101001100110010000000101010001010000000000000100000110101000'),
    (9601, '0000000001000100001000100010011000001000000001000101011010000011001001001110101010100001110100000000'),
    (9701, '1000110100100001000010111000110000100100101101110111011101001010000011001000000011100101000100001100'),
    (9801, '0011100101100000111001100000001001001101100000000010110100100001000000001011100100011010101010111000'),
    (9901, '0110000111001100110101100100010100000010000011110001000000001100100000101100101101001000010100001100')
;
SELECT count(*) AS visitors,
       count(*) FILTER (WHERE substr(j.bits, i - j.first + 1, 1) = '1') AS eligible,
       count(*) FILTER (WHERE abtest.in_namespace(pg_temp.visitor(i), U&'pag\00e9-\+01F37A', 0.25, 0.6)
                              <> (substr(j.bits, i - j.first + 1, 1) = '1')) AS disagreements
  FROM generate_series(1, 10000) i
  JOIN js_eligible j ON i BETWEEN j.first AND j.first + 99;

-- two experiments of that namespace, [0, 0.35) and [0.35, 0.6), coverage 1,
-- and a third one without a namespace on the same page
INSERT INTO abtest.experiments (id, name, status, seed, coverage, namespace, namespace_start, namespace_end) VALUES
    ('d1200000-0000-0000-0000-00000000000a', 'ns-a', 'active', 'ns-a', 1, U&'pag\00e9-\+01F37A', 0, 0.35),
    ('d1200000-0000-0000-0000-00000000000b', 'ns-b', 'active', 'ns-b', 1, U&'pag\00e9-\+01F37A', 0.35, 0.6),
    ('d1200000-0000-0000-0000-00000000000c', 'no namespace', 'active', 'ns-c', 1, NULL, NULL, NULL);
INSERT INTO abtest.experiment_elements (id, experiment_id, name, seed) VALUES
    ('d1200000-0000-0000-0001-00000000000a', 'd1200000-0000-0000-0000-00000000000a', 'price', 'el-a'),
    ('d1200000-0000-0000-0001-00000000000b', 'd1200000-0000-0000-0000-00000000000b', 'checkout', 'el-b'),
    ('d1200000-0000-0000-0001-00000000000c', 'd1200000-0000-0000-0000-00000000000c', 'banner', 'el-c');
INSERT INTO abtest.element_variants (id, element_id, name, is_control) VALUES
    ('d1200000-0000-0000-0002-0000000000a1', 'd1200000-0000-0000-0001-00000000000a', 'control', true),
    ('d1200000-0000-0000-0002-0000000000a2', 'd1200000-0000-0000-0001-00000000000a', 'cheaper', false),
    ('d1200000-0000-0000-0002-0000000000b1', 'd1200000-0000-0000-0001-00000000000b', 'control', true),
    ('d1200000-0000-0000-0002-0000000000b2', 'd1200000-0000-0000-0001-00000000000b', 'one page', false),
    ('d1200000-0000-0000-0002-0000000000c1', 'd1200000-0000-0000-0001-00000000000c', 'control', true);

-- the JavaScript reference's experiment per visitor (a, b or - for none)
CREATE TEMP TABLE js_experiment (first int, codes text);
INSERT INTO js_experiment VALUES
    (1, 'abb-b--aa-ba-aa-ab-b-ab-babbaa-ab----aaa---a-a-a-----b-b-aba---aababba---aaaa-bbbaaba---aabaab-b-bb-'),
    (101, '--bbb-aa-b--ab-a-a-aba--ababbb---a-bbba-ab-babab-abbaabb-a--aabb-baaba-ab-abbb-b-baa-ba-bab--b-aa-aa'),
    (201, 'ba-bb--aaabaa-a--aa-aaaa-aa---bbabaaaa-a-a--abaa--a--abaaa-bbb-----baaa----aaaaba-baa--aab-baa--ba--'),
    (301, '-b-b--a-aab-ba-bb-bb---abaab----b--a--b---bb-aaaba-aa--b---bbb-ba-abbabaab-aa--aaabb-baba-aab---aab-'),
    (401, '--abbaa-aaa-aaba-aa-ba-ab---a---ba-a-baaba-abaa-----baaaabaaaa-a-b----aa-a-a--bbbabaaba-aba-ab-b-ab-'),
    (501, 'aaaab-aa-a-----b--a-aab--b-a-ab--a-aa---ab-aaba-a--bbaaaa-b--ab-b--b-aa-b-aaaaaa-aa-ab-a-ab-a-b--aba'),
    (601, '-bbba-bbab-aabbbaa-b-a-a--a--bbb-a---aa-----a-b-a--ba-abaaaa--aa-b--ab-a--------aaaaaaaaaa-ba-b-a--a'),
    (701, 'ba--baabb-bb-a----a--a-aa---a-a-bba-bba-ba---ab-a-ba-a--b-bb-a-b-aba-ba--abab-baa--aaa-aa-aba---a--a'),
    (801, 'a-a-b--b--ba-aa-a--aa-ab-a-a-aababa-aa-a-b--aa-babbabbbab-a-a-a--aa-baab-a-ba-aa-abab--bbb-a-aa--aab'),
    (901, 'a-aa-a-----aba-b-aaa--a--b-a-a---aaabab-a-a-a-aa-----a--ba-aa-bab-----a-a--a--ab-b-aba---ab-b--bab-a'),
    (1001, '-bab-----b-b-a-abbbb-a-babab-aaabaaa-b--aabaaaab-aa-a-b-a-babb-a-b----aaaa-ab-a-ba-a---a--ab----a---'),
    (1101, '-baab--a-a---aaaaba--abbababababbaa----a-baa-b-aa-aabbaabaaa-a-a---abb-a----ba-aa-baa--baaaba-a-a-bb'),
    (1201, '-aa---bab-bba-baa-a-b-aa-aba-aba--aba-a-abaa--bbba-a--baaaa-b-a-aab-ab--abaa-bb---aaaab-bba---a-a--b'),
    (1301, '----ba-a-a-abb-ba-b-aaaababaaa-ba--a----ab--------aabaaa-ba-ba-abb-a-b-aaa---ba-a-aba---aaa-aa-ba-b-'),
    (1401, '-a-b--a---a------a-b-baabb--a--abb-ab--aab-b---a-ab---a--a-ab-b-ababb-a--a-ba-b-bb-ab--aaababb---aa-'),
    (1501, '-ba-bb-b-babaa-baba------b---a---bb-ab-----aba-aaa-aa--baa--aaa-aa-abaa-bbaaaba-a--a--bb-aaa-a-baa-b'),
    (1601, 'a-a-bbab-bb-aba---b-a-b---b-aa--b---ab-b--b--baaa-bb-aaba--aaaa----bbaaaa---a-bb-b---b-a--b--aababa-'),
    (1701, 'b-ba-baaaa-a-b-ab--b---bba-a-a--aa-aaa------bba--a--aa-----bbb-a--a-bba--a--a-aaaa--b-bbbaab-aa---aa'),
    (1801, 'b-abbb---aabaa-aabb-aaba----a-b-bbbaaaaa-aa-ab-a-baabb-baaaa-a---b-abbaaab----b-a--a--abbbaab---a-a-'),
    (1901, '-babb-ab-b-baa-bbabab------bb-ab----bbaaabb--b-a-baabb------aa--a---bb--bbbaabbaaa-aabaaba-aaaaa--bb'),
    (2001, '--ab-a--baaa-aabaa-bbabaaa-aaabaab--aa-a-a---baab-b-aa-abaaabaa----ab-abb-ab--b-a----bb-aaa-bba---a-'),
    (2101, 'a---aa---aabbab-aab--a-a-ba--ba-aaa-abb-a-bb--aa--aa-ba---ab-ab--aab-aab-b-aaba----a-baaa-bbb-babb-b'),
    (2201, 'abbab-aa-a--aa---a--ab-babaa--ab-abbbba-a-baaaaabaa----aaa-aa--abbba-baba-----ba---bb--a-b--baab---a'),
    (2301, 'a--baaaa-aaaaaabab-a---bb-b-----b-a-ab-b-bb-aaaaba-babbaaabababa---ba-aa---aa--a--a--ab---aaaabaaaa-'),
    (2401, '-babab-a-a-bb-a-bbba--a--aba----ba--babbba--ab-a-aab--b-aaa---a-aaaabbbaa-b-abb-aa-aaabaa--baa-a-a--'),
    (2501, 'ab-bbba---baa--a--a--baa-a----babb--aaaabb-baa---ba--ab-aa-abaaabba-aa-----a-b-a--a-a-a---b-b-aaabaa'),
    (2601, 'ba--b-aaa-----baa-aabab-b--bb--aa-aaa-a-b-b-a-a-a-a--a--ab--b-a--b--b-a-------a---baa--aba-abbaa--aa'),
    (2701, '-aabaaba---a-a-ba---aab---aab-ba-aaaba-aa-ba---aa-aa-bbbbb-b-bb-bb-ba--aaaba-aba--ba-a--a--a-a-aaba-'),
    (2801, 'ab--aaabaa-a---a-a---a-bbbbaa-a-b--b-ba-a-a-bb-ab-bab-a--bb-baaa-ba--aa-aabaa-aa-aaaa-abaaa--a-ba--b'),
    (2901, '-a-a-b-aa-aa-aaabab-b-abbbbbb-baa--abb-b-b--a-bb-a---bbaa-b--a--b--ba-baa-a--ba-------b-b--aa----a--'),
    (3001, '-bbbaa--b-a-abaababb-b--a--bbaabbab--baba-aa--aa----b--b--baaab-a-a-ab--b--ba---ba--aabaabbbab-a---b'),
    (3101, '-b-aaaaa----ab-bba-b-bbaa-a-aaab---baaab-aa-aa--b-aabbaa-aabba-a-abba--aa-aa---aa-aaaaba-a-aaab--bb-'),
    (3201, '-b--baa-aa-aa----aba-bb-a--ba-b-----aa---b-baaaa-ab-ba-baaa--bbaa---aba-a-ab---ab-babbababb-a-bab-ab'),
    (3301, 'ab---b-b-bb-a-bbbb-a--ba--bb-aa--aa--ababa-bbb--b--aa--baa-aa-a---a-aab-aba-bb-baab-a--bb-a-aaabaabb'),
    (3401, '---aa--aaabba-a--bbbaba-bb---ba---bbaa-a-bab-a-ba-abaaa-abbaa--a--aa-a--aaa--ab-bb-a--a---aba-a--ab-'),
    (3501, '-aaaba-a-ab-ba--ba-bb-----b-aaaa--aaabbbabbb--aa-aaa-a-abab----a----a-a-a-baa--abbaaa-a----bb-ba-aaa'),
    (3601, '-b-aaba--a--aa-a-bb-b-ab--bab-a--aaba-bba--b----bab-a-abbaa-aa-a-aba-ba-baaab-a-bba-a-aab---bbab--aa'),
    (3701, '--ba-b--aa-aa-a--b--aab-aba--a-bba-a----b-a-b--b--aa---aba-baaa--b-a-b-aab---ab-bba-b-ba---abbba----'),
    (3801, 'b-b-abaabb-b-aaabbaa-ba-abb-aaabb--bb--abb-abaa----baa--bbaa-aaa--a--bb-ba--a-bb--abbaa-ba-ba-aabb-b'),
    (3901, 'b-bb--baaab--ba-a---ab--ba-b---a-b-ba-abbbaa-a---bb-b---ab----b-b-ba---b-a--aa-ba-bbb---aa--b-aaa---'),
    (4001, '-b---a-aab-b-aabbb-a-b-ab------b---ab-a-----a-b-aaba---ba-a--aa-ab-baaaab-b-a-aa--ab-bb-aaab--aba---'),
    (4101, '---aa---abaa--aabba-aaab-aa---aaa-bba-baba--a-b--aaa--b-aa-ab--aabbabb-ba-b---ba-ba-aa-ab---a--babbb'),
    (4201, '-baa--a-a-a-a-a-ba-a-abbabaab-aaaa-bb-aaa--b-b-aabaab-abb-b-a---a-b-aa-a-bb-bb-baaa-ba-aab-aa-a--aba'),
    (4301, '-a--bba-ab-aaaababa---baa-bb-bb-ba-bb-a--b--bab-ba-b-abaaaaba--b-aaaa--------aabb-babbb--aa--bab-bba'),
    (4401, '---a--aa----aba--aa-aab-a-aaab-----bbba-ba--b-b-a-aa-abaab-aaab-aa--abaa--b-a-a------a-----bb-ba---a'),
    (4501, 'aab--a-abb-aa-a-bba-a-ba---a-aabb----abaa--abbaa---abb--bb--------bb---ba-b--ab--a--aba--ab--baa----'),
    (4601, 'a-a-baaab--aaa-----b-b-b-aab-bbabb--bbabaaaa-b-a-aa-bb-a-aa-aa---aa--a-ababb-bb-a-a-bb-aabaa-ba-abba'),
    (4701, 'b-a-b-aa-aa-a----bba-b-aabbaaaab--a-abaa-aaaa-aaaaba-bab-ba-aab-------baaa-a------b--ab-bb----aa-b-b'),
    (4801, 'bbb--a--ab---baa--ab-b-b-----b-aa-aa--a-aaba------ababaa-----bb--aaa-aababab-baba-bb-ba-a-ab---aabba'),
    (4901, 'aa-a-a--b-b--a-baa--aaa---aab-b-abbb-a-aa-b-aab-aa-a---a-aaa-bba-ab-a---aaaba---bbb--a-aa-b-ab---a-a'),
    (5001, 'a-b--b-abb-----abaab-b---aa---ab-a-a-ab---bb--a-b--ba-b--ab-ababa---b-aa--b-----aaba--bb-b-aabb--ba-'),
    (5101, '---ab-aa-abb---bbabbaa-b--a--aaa----a-aaab-ab-baa-a--ab-----a-abaa-b----aaa----aaaa------aaabb-b---a'),
    (5201, 'a--a--a-a---bba--b-aa-b-b-ba--aa-aaa-b-a-aa-a--abb--abba-aababb--ab-aa-a-------a-a--aaa----ba--b-a-b'),
    (5301, 'bbab-a-aabaa-b-aab-b---bb-b--aa-b-a-a-aaaa-bb--aa-b--a--b-aa-b-baaaab-babb-ba-bb---ba--b-ab-b-a-aaa-'),
    (5401, 'abab--a---b----a-bbba-a-a-aa-ab-bbaa-aa-aabaa--aa-ba--a---b--a-a-b-bba-bba-aa-a--a---a-bb--ba----a--'),
    (5501, '------aa--a-ab-baa-ab-baaa-a-b--b-abaa-b-aabaa-ab--b-b--a-a--aa-b-a----aa---a--bbaa-ba-a-ab-aaba--aa'),
    (5601, '-aaa---bab--aba-a-aabbaaaa----a---a-a---bbaa------ba-aaaabbaab-abb------aaaaab--b--baa-b----baa-b-b-'),
    (5701, '--abaaa-b--ba-a--a----ab-b-a--ababbb--b-a-a-ab-bab--ab-abbbbb---a--bb--aba-baa--bb-a-aa-aa-bab---abb'),
    (5801, '-aaa---bb--ab--ba-----b-aab--b---aa-b-bb-aa-babba---b-bbbbab-baab-a-b--b--a-a-baa-bbba-aa----a--b---'),
    (5901, '-aba--a-aab--aaabbb-bba-a-b-aba-aaba--aa-baaaabba---b-bab--babbab--a-abaaaaaba-b--b-a--ab---aaaaaaaa'),
    (6001, 'b-bbab--aa-b-aaaa-a-aabb--aa-b---b-aba--aa-a--aaa--aabbaababab-ba--a-aaab-baba--b-aaabbaa-bb-aaaa-a-'),
    (6101, '-aa--a--a-baaabb-ab-b--aa----ba-b----aba-aaba---a--b-b-b-aba--ab-bbaaababaaaa-abab-baaaba-a-a-a-aba-'),
    (6201, '----aaaba--b--b-ab--aa-aa-----a---bba-a-b-baa-aaab-abbaabaaa-b-aaa--a--a-aabba-baabb---bb-a-ab-bb-a-'),
    (6301, '--aa-b-a-a-aaa-b-a--a-a--b-bba--abb-a---babbaba-b-b--a---a-b--bb---ababaa-aa-abaa--a--a-aaaaaab-a-b-'),
    (6401, '-bbbbb-----ab--b--ba---bba--aa-a-aa-b-b-aa-bbbaabb-baabaa-aaa-bbaa-aa-baba-a-baa--ab---aa-abb-babb-a'),
    (6501, 'a---b--bab-a-aaba-a-bababa-aabb-ab-aa-a-------abaaa--b-aa-aaa---a-aaabaa-ba-b-aba--------aab--a--aaa'),
    (6601, 'aa----aaba-bab--abbaaa---a--a-aaab-a--abb-a--a-aa-a-aaa-b--a-b----baa-a--a---a--aa--b----b--b--abbb-'),
    (6701, 'bb-aaa-a--ab--bb----ba--aabaaba-aaaa-aa-a--b-bbb-aab-bbaba----a-aaa--bab-abaabaaaab-bbba-aa--bbaaaab'),
    (6801, '----ba-bba-aaba-baaba---bbbb-abb-aaaaa-a-a-b-a-b---babbab---b--a--aba--a-b-bb--bb-aabb-ba-a-b-baaa-a'),
    (6901, 'b-abbbab---b-a-a-aa-ab--ba---bbab-baa-bb-aab-b-aaab--aabba-a--a---ab--ba--abab-a--baaaaa-abb--b--b-a'),
    (7001, '--aaa-bbba-baba--bbaa--b-bbababab-bb-a-b-------bbb-b-bb---a---aba-----ab--aaab-aba-b-a--a--a-a--b-aa'),
    (7101, 'abab-babba---b---aaabba-bbabababb-bb-a-a-a-bba-a-b-ab--ab-ab-aaaaa---aa-bbaab--a-a-aaba-a-a-ab--ba-b'),
    (7201, 'ab-bbaa-baaa--b-abaaa----b---aba-b-a--bab---aa-aa-aa--ba--aa-a----a---a-ba-b-aaaba--b---b-bb--b-aaab'),
    (7301, 'babba--aabab----aaaaa-a--aa---aab---ab--a-a-a-ab--bab--bb--aaba--babbabb-bb-bab-aaaba--a-aaab-baba-a'),
    (7401, 'bb-aa------a--baaaabba--ab-a-a-bba--b--a-a--aab-----b-----ab--a--aa-ab---babaaaa---ab--aaab-bb-ab---'),
    (7501, 'b----a-aa--a--aa-a-aaa-aa--baaa-abb---b-ab-a--baa--aab-a--aba------b-a-a-aa--a-aab-aaa-b-ab-b---b---'),
    (7601, 'abbaa--ababbba---a-a-a-b-b-bbaa-baa-b-a-a-----aa--b-a--b-baa---a-ba-b---aa--a-abaa-aba-a-b-b-bbaabb-'),
    (7701, 'b-b--ab-aabb--ababaaab--ba-abb-ba---ababba-abaa---aa--baab--a-a--a-ab-b-aa----a-b-b-aab-b----a-a---a'),
    (7801, 'b---aaa-b-b-b--b--ab--baa-a-b-aba---aaaab-aabbbbbab----a-bb-----a-aa-bbbabbbab--aaa---a-bbbb-abaaab-'),
    (7901, 'aaaabbabbab-a--b-ba-bbb-ba-abaab-aaab---aaa--a--ab--a-aa---ba--b-aaa-a-bb-b-bb--ab-b-a---abbaab-b-ab'),
    (8001, 'ba-b--abba---b-a-b---abaa-baabb--bb-aa--bbb-a--a-aabbba---ab-bbaa----a--abba--a---ba-aaaa-baab-baaba'),
    (8101, '--aba-a-abab-b---bb-aa--a-a---bbbbb-b-aa-a-bbaa-a--bb-b-abba---a-baa-a-b-aa-a-aaa---a--ab-a---aababb'),
    (8201, 'b-bbbababbbaba--aabbb--baaaa--bbba-bb-bbaaabababa-a-bbb----aaa--ab-bba--baab--ab-ba--aa-ab-aabb---ab'),
    (8301, '--baba--a---a-ab-abaabaab-a--a-a-b-a-abb-ab--bbbba-ba--a-------aa-aa-b-bbaa--aaaa--b-a-aabaa-abaa-b-'),
    (8401, 'baaaa-bb-ba---aab--bba--bab-aaaba---ba--abba-bb--aa-ab--aaa--baaaaaa-abab---bb---bba-abbbb-a--ab--a-'),
    (8501, 'ab---a-abba-a-aaaaa------aba-abaa----b--aa--aaa--baaa-bbbaaba-b--abaaaaba-b----aa-ba--aaabaa-a---a-b'),
    (8601, 'bbba------baabbaaabba-ba-----aa-baaa-ab--bbabb---aa-a-bb-aab-a--aababaa-a---aaa---ba-aa--bab-a--aaaa'),
    (8701, '-a--b-bb-aa-b--b-a-aab--b-abb-b-aaa--ab--a--a-aaa--aaabbabab-b--ba--baaaa-abb----aa-a-aaababb--aa-ab'),
    (8801, 'bab--a----a-a--abbabbbba-aababbbaaabbba-a-aabaab--b--aaab-baa--abaaba-abaaaa-a-a-abbaa-abbaa---bbbba'),
    (8901, 'ab-a-baa-b--bbaaaababaa--aa-ba--b---------aa-b-b-ab-aaabab-aa--ab-aa--aabbb--aaab--ba-ba-aba-baa---a'),
    (9001, '-ba-ab----a-a-ab-ab--ab-aa--ab-ba-a-aa--aabbababa--aaaab--aaaaa----b-b----b----bbb-b--a-aa-b-a--a-bb'),
    (9101, '--b-ab-bb-a-bbab--a-a---a-aa-ab-aabab-ba----ba---a-abb--baa-b-a-a-b---bbbba-ba--ba-a-baa----b----aa-'),
    (9201, 'aaba-a-babaabab-b-ba--a--aba-b-b-ab--b-abbaab--ba-baba-aba-b--bab--ba-a-ab--babbb-b-ba-a--abb-a-a---'),
    (9301, 'a---aa---aaaa--b-b-aabaaabb--b-a-a-b-b--a-aa--a---aaaaa--ab--a-----b---aabaabaab-bbbbbbba-bba-b-a---'),
    (9401, 'ab---aaabb-abaaa--aba-bba-aa--aa-b---ba-abaaabaaabb-abba-aaa-a--aa--b--ab-a-baab-baa--b--b-aa-b--aba'),
    (9501, 'aaba--b--aaaaa-b-a-b-----a-b---a--a-b-baa-b-abba-ab-aa-aa--aaa-aabaa-b-ba-a-a---a--a-aa-a-aab-baba--'),
    (9601, '----aa-a-a---a-a-ab-a-a--ab--baaaa-ab-aa-----b---a-babbaa-aaaabb--b-ab--aaaabab-babaaa-bbb-aa--a-aa-'),
    (9701, 'ba-abb-b-aba--ab--a-a-bbba-abba---b-ab-ababb-abb-bab-babab-ababaaaaaba-ab-a--a--bbaa-a-baaaaa-a-ba--'),
    (9801, '-abba--aabb--a--abbaabaa---aaab--aa-baabb-aaaaaaa-b-baaba-baaa-aa------aaabbba-b-a-ba-aabab-a-baba--'),
    (9901, '-aa----bbb--bb--aa-b-bb--b--ab-b--aaaab----aaaab---ba-------bba-a-aa--b-aa-ab-bb-ba-a-a--b-b----aba-')
;

-- the 10,000 visitors through abt_assign_bulk into each experiment of the
-- namespace: the enrolled ones are the reference's on every one, and no
-- visitor is in both
CREATE TEMP TABLE page AS
SELECT i, substr(j.codes, i - j.first + 1, 1) AS expected, pg_temp.visitor(i) AS visitor
  FROM generate_series(1, 10000) i
  JOIN js_experiment j ON i BETWEEN j.first AND j.first + 99;
CREATE TEMP TABLE bulk AS
SELECT 'a' AS experiment, b.user_id, (b.assignment->>'enrolled')::bool AS enrolled
  FROM abt_assign_bulk('d1200000-0000-0000-0000-00000000000a',
                       (SELECT array_agg(visitor ORDER BY i) FROM page)) b
UNION ALL
SELECT 'b', b.user_id, (b.assignment->>'enrolled')::bool
  FROM abt_assign_bulk('d1200000-0000-0000-0000-00000000000b',
                       (SELECT array_agg(visitor ORDER BY i) FROM page)) b;
ANALYZE page;   -- statistics for the joins below (temporary tables have none)
ANALYZE bulk;
SELECT count(*) AS visitors,
       count(*) FILTER (WHERE p.expected = 'a') AS in_a,
       count(*) FILTER (WHERE p.expected = 'b') AS in_b,
       count(*) FILTER (WHERE a.enrolled <> (p.expected = 'a')
                           OR b.enrolled <> (p.expected = 'b')) AS disagreements,
       count(*) FILTER (WHERE a.enrolled AND b.enrolled) AS in_both
  FROM page p
  JOIN bulk a ON a.experiment = 'a' AND a.user_id = p.visitor
  JOIN bulk b ON b.experiment = 'b' AND b.user_id = p.visitor;

-- every 10th of them through abt_assign_batch with an experiment without
-- namespace (new there, returning in the others), and a new visitor of the
-- same kind: the reference's experiment, and everyone in the third one
SELECT count(*) AS visitors,
       count(*) FILTER (WHERE (answers->0->>'enrolled')::bool <> (expected = 'a')
                           OR (answers->1->>'enrolled')::bool <> (expected = 'b')) AS disagreements,
       count(*) FILTER (WHERE (answers->0->>'enrolled')::bool AND (answers->1->>'enrolled')::bool) AS in_both,
       count(*) FILTER (WHERE (answers->2->>'enrolled')::bool) AS in_c
  FROM (SELECT p.expected,
               abt_assign_batch(ARRAY['d1200000-0000-0000-0000-00000000000a',
                                      'd1200000-0000-0000-0000-00000000000b',
                                      'd1200000-0000-0000-0000-00000000000c']::uuid[],
                                p.visitor) AS answers
          FROM page p WHERE p.i % 10 = 0) s;
-- stored assignments and counters: exactly the eligible visitors
SELECT e.name, (SELECT count(*) FROM abtest.assignments a WHERE a.experiment_id = e.id) AS assignments,
       (SELECT sum(t.total_allocations) FROM abtest.variant_totals t WHERE t.experiment_id = e.id) AS allocations
  FROM abtest.experiments e WHERE e.id::text LIKE 'd1200000-%' ORDER BY e.name;
-- abt_assign agrees, for new visitors too
SELECT count(*) AS abt_assign_disagreements
  FROM generate_series(10001, 10500) i
 WHERE (abt_assign('d1200000-0000-0000-0000-00000000000a', pg_temp.visitor(i))->>'enrolled')::bool
       <> abtest.in_namespace(pg_temp.visitor(i), U&'pag\00e9-\+01F37A', 0, 0.35);

-- the namespace is checked before coverage: at coverage 1 a visitor
-- outside the range is not enrolled; a visitor inside but outside coverage
-- neither (an experiment of its own namespace)
INSERT INTO abtest.experiments (id, name, status, seed, coverage, namespace, namespace_start, namespace_end) VALUES
    ('d1200000-0000-0000-0000-00000000000d', 'half covered', 'active', 'ns-d', 0.5, 'other', 0, 0.5);
INSERT INTO abtest.experiment_elements (id, experiment_id, name, seed) VALUES
    ('d1200000-0000-0000-0001-00000000000d', 'd1200000-0000-0000-0000-00000000000d', 'el', 'el-d');
INSERT INTO abtest.element_variants (id, element_id, name, is_control) VALUES
    ('d1200000-0000-0000-0002-0000000000d1', 'd1200000-0000-0000-0001-00000000000d', 'control', true);
SELECT count(*) AS visitors,
       count(*) FILTER (WHERE enrolled) AS enrolled,
       count(*) FILTER (WHERE enrolled <> (in_ns AND abt_gbhash('ns-d', 'd-' || i) <= 0.5)) AS wrong
  FROM (SELECT i, abtest.in_namespace('d-' || i, 'other', 0, 0.5) AS in_ns,
               (abt_assign('d1200000-0000-0000-0000-00000000000d', 'd-' || i)->>'enrolled')::bool AS enrolled
          FROM generate_series(1, 2000) i) s;

-- sticky: moving the range keeps every assigned visitor's variants
UPDATE abtest.experiments SET namespace_start = 0.5, namespace_end = 1
 WHERE id = 'd1200000-0000-0000-0000-00000000000d';
SELECT count(*) AS assigned,
       count(*) FILTER (WHERE (abt_assign(a.experiment_id, a.user_id)->>'enrolled')::bool) AS still_enrolled
  FROM abtest.assignments a WHERE a.experiment_id = 'd1200000-0000-0000-0000-00000000000d';
SELECT count(*) FILTER (WHERE (abt_assign('d1200000-0000-0000-0000-00000000000d', 'new-' || i)->>'enrolled')::bool
                              <> (abtest.in_namespace('new-' || i, 'other', 0.5, 1)
                                  AND abt_gbhash('ns-d', 'new-' || i) <= 0.5)) AS wrong_after_move
  FROM generate_series(1, 500) i;

-- overlapping ranges of one namespace (and account) are rejected; touching
-- ones, other namespaces, other accounts and completed experiments are not
SELECT pg_temp.err($$INSERT INTO abtest.experiments (id, name, seed, namespace, namespace_start, namespace_end)
                     VALUES ('d1200000-0000-0000-0000-000000000010', 'overlap', 's', U&'pag\00e9-\+01F37A', 0.3, 0.4)$$);
SELECT pg_temp.err($$INSERT INTO abtest.experiments (id, name, seed, namespace, namespace_start, namespace_end)
                     VALUES ('d1200000-0000-0000-0000-000000000010', 'inside', 's', U&'pag\00e9-\+01F37A', 0.4, 0.5)$$);
SELECT pg_temp.err($$INSERT INTO abtest.experiments (id, name, seed, namespace, namespace_start, namespace_end)
                     VALUES ('d1200000-0000-0000-0000-000000000011', 'touching', 's', U&'pag\00e9-\+01F37A', 0.6, 1)$$);
SELECT pg_temp.err($$INSERT INTO abtest.experiments (id, name, seed, namespace, namespace_start, namespace_end)
                     VALUES ('d1200000-0000-0000-0000-000000000012', 'other namespace', 's', 'pag', 0, 1)$$);
SELECT pg_temp.err($$INSERT INTO abtest.experiments (id, user_id, name, seed, namespace, namespace_start, namespace_end)
                     VALUES ('d1200000-0000-0000-0000-000000000013', 'd1200000-0000-0000-0000-0000000000f1',
                             'other account', 's', U&'pag\00e9-\+01F37A', 0, 1)$$);
SELECT pg_temp.err($$UPDATE abtest.experiments SET namespace_start = 0.5
                      WHERE id = 'd1200000-0000-0000-0000-000000000011'$$);
UPDATE abtest.experiments SET status = 'completed' WHERE id = 'd1200000-0000-0000-0000-00000000000b';
SELECT pg_temp.err($$UPDATE abtest.experiments SET namespace_start = 0.35
                      WHERE id = 'd1200000-0000-0000-0000-000000000011'$$);
SELECT pg_temp.err($$UPDATE abtest.experiments SET status = 'active'
                      WHERE id = 'd1200000-0000-0000-0000-00000000000b'$$);

-- bad input: SQLSTATE 23514, nothing written
SELECT label, pg_temp.err(format($$INSERT INTO abtest.experiments (name, seed, namespace, namespace_start, namespace_end)
                                   VALUES ('bad', 's', %L, %s, %s)$$, ns, s, e)) AS result
  FROM (VALUES ('empty name', '', '0', '1'),
               ('65 characters', repeat('n', 65), '0', '1'),
               ('start below 0', 'n', '-0.1', '0.5'),
               ('end above 1', 'n', '0.5', '1.1'),
               ('empty range', 'n', '0.5', '0.5'),
               ('reversed range', 'n', '0.6', '0.5'),
               ('NaN end', 'n', '0', '''NaN'''),
               ('no range', 'n', 'NULL', 'NULL'),
               ('no end', 'n', '0', 'NULL'),
               ('range without namespace', NULL, '0', '1')) v(label, ns, s, e);
SELECT count(*) AS bad_rows FROM abtest.experiments WHERE name = 'bad';
SELECT pg_temp.err($$INSERT INTO abtest.experiments (name, seed, namespace, namespace_start, namespace_end)
                     VALUES ('64 characters', 's', repeat(U&'\+01F600', 64), 0, 1)$$) AS longest_name;

-- the exclusion constraint decides, not the trigger that names the other
-- experiment first: without the trigger the same write still fails
ALTER TABLE abtest.experiments DISABLE TRIGGER namespace_overlap_check;
SELECT pg_temp.err($$INSERT INTO abtest.experiments (id, name, seed, namespace, namespace_start, namespace_end)
                     VALUES ('d1200000-0000-0000-0000-000000000010', 'overlap', 's', U&'pag\00e9-\+01F37A', 0.3, 0.4)$$)
       AS without_trigger;
ALTER TABLE abtest.experiments ENABLE TRIGGER namespace_overlap_check;
