--
-- gbhash: GrowthBook compatibility of abt_gbhash, of enrolment (coverage)
-- and of the variant choice of abt_assign.
--
-- Every expected value below is a literal computed by
-- test/tools/growthbook_hash.js, GrowthBook's own JavaScript algorithm
-- (hashFnv32a over UTF-16 code units, hash v2, getBucketRanges,
-- chooseVariation, isIncludedInRollout); regenerate them with
-- `node test/tools/growthbook_hash.js`.  Every check prints ok = t; a wrong
-- value shows as f.  Ids of this file: a1000000-....
--

-- function properties: immutable, strict, parallel safe
SELECT p.oid::regprocedure, p.provolatile, p.proisstrict, p.proparallel
  FROM pg_proc p WHERE p.proname = 'abt_gbhash';
SELECT abt_gbhash(NULL, 'a') IS NULL AS null_seed, abt_gbhash('a', NULL) IS NULL AS null_id;

-- GrowthBook's published hash v2 vectors (packages/sdk-js/test/cases.json)
SELECT seed, id, abt_gbhash(seed, id) AS hash, abt_gbhash(seed, id) = expected AS ok
  FROM (VALUES ('seed', 'a', 0.0505::float8),
               ('seed', 'b', 0.2696),
               ('foo', 'ab', 0.2575),
               ('foo', 'def', 0.2019),
               ('89123klj', '8952klfjas09ujkasdf', 0.124),
               ('90850943850283058242805', '123', 0.7516),
               ('()**(%$##$%#$#', '___)((*":&', 0.0128)) v(seed, id, expected);

-- edge cases: empty strings, quotes, backslashes, control characters, long
-- ids, accents (precomposed and combining), CJK, RTL text, BMP boundaries
-- and characters above U+FFFF (surrogate pairs in JavaScript)
SELECT label, length(id) AS chars, abt_gbhash(seed, id) AS hash,
       abt_gbhash(seed, id) = expected AS ok
  FROM (VALUES
    ('both empty', '', '', 0.2305),
    ('empty seed', '', 'a', 0.0216),
    ('empty id', 'seed', '', 0.4286),
    ('spaces', ' ', ' ', 0.3811),
    ('zero', '0', '0', 0.7447),
    ('digits', '123', '456', 0.748),
    ('sql injection', 'seed', '''; DROP TABLE x; --', 0.6616),
    ('single quotes', 'it''s', 'o''clock''''', 0.5468),
    ('double quotes', '"', '"quoted"', 0.3709),
    ('backslashes', '\', 'a\b\\c\', 0.3975),
    ('like wildcards', '%_', '_%\%', 0.2507),
    ('tab newline', U&'\0009', U&'line1\000aline2\000d\000a', 0.6341),
    ('control chars', U&'\0001', U&'\0007\001b\007f', 0.5827),
    ('uuid seed', '0b6e3f62-9c1f-4c3a-8f7e-2d3b1a4c5e6f', 'user-42', 0.8642),
    ('256 x', 'len', repeat('x', 256), 0.0107),
    ('long 1000', 'long', repeat(U&'abc\00e9', 250), 0.6204),
    ('long 10000', 'long-seed-long-seed-long-seed-long-seed-long-seed-long-seed-long-seed-long-seed-long-seed-long-seed-', repeat('0123456789', 1000), 0.974),
    ('e acute', 'seed', U&'caf\00e9', 0.6052),
    ('e combining', 'seed', U&'cafe\0301', 0.9236),
    ('u umlaut', U&'\00fc', U&'M\00fcller', 0.8058),
    ('sharp s', U&'stra\00dfe', U&'Stra\00dfe', 0.6935),
    ('cyrillic seed', U&'\043a\043b\044e\0447', U&'\0438\0432\0430\043d', 0.5659),
    ('chinese', U&'\5b9e\9a8c', U&'\7528\6237\4e00\53f7', 0.514),
    ('japanese', 'seed', U&'\30c6\30b9\30c8\30e6\30fc\30b6\30fc', 0.9884),
    ('korean', 'seed', U&'\d55c\ad6d\c5b4', 0.4677),
    ('hebrew rtl', 'seed', U&'\05e9\05dc\05d5\05dd', 0.1596),
    ('arabic rtl', U&'\0628\0630\0631\0629', U&'\0645\0631\062d\0628\0627 123', 0.4021),
    ('rtl marks', 'seed', U&'\200fabc\200e\202edef\202c', 0.7445),
    ('emoji', 'seed', U&'\+01f600', 0.4346),
    ('emoji tone', U&'\+01f44d', U&'\+01f44d\+01f3fd', 0.7786),
    ('zwj family', 'seed', U&'\+01f468\200d\+01f469\200d\+01f467', 0.7591),
    ('flag', 'seed', U&'\+01f1eb\+01f1f7', 0.6274),
    ('emoji seed', U&'\+01f600', U&'\+01f600', 0.0499),
    ('utf8 2-byte bounds', 'seed', U&'\0080\07ff', 0.1263),
    ('utf8 3-byte bounds', 'seed', U&'\0800\fffd', 0.8102),
    ('bmp top', 'seed', U&'\ffff', 0.1646),
    ('bom', U&'\feff', U&'\feffid', 0.9844),
    ('private use', 'seed', U&'\e000\f8ff', 0.0893),
    ('first astral', 'seed', U&'\+010000', 0.7112),
    ('last astral', 'seed', U&'\+10ffff', 0.177),
    ('cjk ext b', 'seed', U&'\+020000\+02a6d6', 0.9811),
    ('mixed', U&'M\00fcnchen-\+01f37a', U&'a\00e9\4e2d\+01f600z', 0.4174)
       ) v(label, seed, id, expected);

-- The hash is seed || id: only the concatenation counts.
SELECT abt_gbhash('ab', 'c') = abt_gbhash('a', 'bc') AS concat_1,
       abt_gbhash('', U&'\00e9\+01f600') = abt_gbhash(U&'\00e9', U&'\+01f600') AS concat_2;

-- aggregates over generated ids: sum of hash*10000, sum of i*hash*10000 and
-- count of hash <= 0.5 against the JavaScript values; every hash is a
-- multiple of 0.0001 in [0, 0.9999]
SELECT label, count(*) = n AS count_ok,
       sum(round(h * 10000)) = s AS sum_ok,
       sum(i * round(h * 10000)) = si AS weighted_sum_ok,
       count(*) FILTER (WHERE h <= 0.5) = half AS half_ok,
       bool_and(h = round(h * 10000) / 10000 AND h >= 0 AND h <= 0.9999) AS grid_ok
  FROM (VALUES
    ('visitor-N', 'agg-seed', 'visitor-', '', 5000, 25085754, 62820313428, 2505),
    ('unicode-N', U&'\00e9\+01f600', U&'\00fc', U&'\+01f44d\+01f3fd', 2000, 10056629, 10222661499, 977)
       ) v(label, seed, prefix, suffix, n, s, si, half),
       LATERAL (SELECT i, abt_gbhash(seed, prefix || i || suffix) AS h
                  FROM generate_series(1, n) i) x
 GROUP BY label, n, s, si, half
 ORDER BY label;

--
-- Variant choice.  Experiment a1..01 has five elements; each picks with
-- chooseVariation(hash(element seed, visitor), getBucketRanges(weights
-- normalised to sum 1)) over its variants in (position, id) order.  Element
-- ids run against their positions, so the answer's order must come from
-- position.  Element 2's variants are ordered by position, then id (its
-- inserts are in neither order).
--
INSERT INTO abtest.experiments (id, name, status, seed, coverage) VALUES
    ('a1000000-0000-0000-0000-000000000001', 'gb bucket', 'active', 'gb-bucket-exp', 1);
INSERT INTO abtest.experiment_elements (id, experiment_id, name, selector, seed, position) VALUES
    ('a1000000-0000-0000-0001-000000000005', 'a1000000-0000-0000-0000-000000000001', 'el1', '#el1', 'gb-el-1', 10),
    ('a1000000-0000-0000-0001-000000000004', 'a1000000-0000-0000-0000-000000000001', 'el2', '#el2', U&'\00e9l\00e9ment-2', 20),
    ('a1000000-0000-0000-0001-000000000003', 'a1000000-0000-0000-0000-000000000001', 'el3', '#el3', 'gb-el-3', 30),
    ('a1000000-0000-0000-0001-000000000002', 'a1000000-0000-0000-0000-000000000001', 'el4', '#el4', 'gb-el-4', 40),
    ('a1000000-0000-0000-0001-000000000001', 'a1000000-0000-0000-0000-000000000001', 'el5', '#el5', 'gb-el-5', 50);
INSERT INTO abtest.element_variants (id, element_id, name, weight, position) VALUES
    ('a1000000-0000-0000-0002-000000000011', 'a1000000-0000-0000-0001-000000000005', 'w20', 0.2, 0),
    ('a1000000-0000-0000-0002-000000000012', 'a1000000-0000-0000-0001-000000000005', 'w30', 0.3, 1),
    ('a1000000-0000-0000-0002-000000000013', 'a1000000-0000-0000-0001-000000000005', 'w50', 0.5, 2),
    ('a1000000-0000-0000-0002-000000000021', 'a1000000-0000-0000-0001-000000000004', 'p1-id21', 3, 1),
    ('a1000000-0000-0000-0002-000000000022', 'a1000000-0000-0000-0001-000000000004', 'p0', 1, 0),
    ('a1000000-0000-0000-0002-000000000020', 'a1000000-0000-0000-0001-000000000004', 'p1-id20', 2, 1),
    ('a1000000-0000-0000-0002-000000000031', 'a1000000-0000-0000-0001-000000000003', 'zero', 0, 0),
    ('a1000000-0000-0000-0002-000000000032', 'a1000000-0000-0000-0001-000000000003', 'quarter', 1, 1),
    ('a1000000-0000-0000-0002-000000000033', 'a1000000-0000-0000-0001-000000000003', 'rest', 3, 2),
    ('a1000000-0000-0000-0002-000000000041', 'a1000000-0000-0000-0001-000000000002', 'tenth', 0.1, 0),
    ('a1000000-0000-0000-0002-000000000042', 'a1000000-0000-0000-0001-000000000002', 'fifth', 0.2, 1),
    ('a1000000-0000-0000-0002-000000000043', 'a1000000-0000-0000-0001-000000000002', 'seven', 0.7, 2),
    ('a1000000-0000-0000-0002-000000000051', 'a1000000-0000-0000-0001-000000000001', 'big1', 1e300, 0),
    ('a1000000-0000-0000-0002-000000000052', 'a1000000-0000-0000-0001-000000000001', 'big2', 3e300, 1);

-- 30 visitors, then visitors whose hash is exactly on a range boundary
SELECT visitor, got, got = expected AS ok
  FROM (VALUES
    ('gb-v1', 'w50,p1-id20,rest,seven,big2'),
    ('gb-v2', 'w20,p0,rest,seven,big2'),
    ('gb-v3', 'w30,p1-id20,rest,seven,big1'),
    ('gb-v4', 'w20,p1-id20,rest,seven,big2'),
    ('gb-v5', 'w50,p1-id21,quarter,fifth,big1'),
    ('gb-v6', 'w30,p1-id20,rest,fifth,big2'),
    ('gb-v7', 'w50,p1-id20,rest,seven,big2'),
    ('gb-v8', 'w20,p0,quarter,fifth,big2'),
    ('gb-v9', 'w30,p0,rest,seven,big2'),
    ('gb-v10', 'w30,p0,rest,seven,big2'),
    ('gb-v11', 'w50,p1-id21,rest,seven,big2'),
    ('gb-v12', 'w30,p1-id20,quarter,fifth,big2'),
    ('gb-v13', 'w50,p1-id21,rest,fifth,big2'),
    ('gb-v14', 'w20,p1-id21,quarter,seven,big2'),
    ('gb-v15', 'w20,p1-id20,rest,seven,big2'),
    ('gb-v16', 'w50,p1-id21,rest,seven,big1'),
    ('gb-v17', 'w30,p0,rest,seven,big2'),
    ('gb-v18', 'w30,p0,rest,seven,big1'),
    ('gb-v19', 'w50,p1-id21,rest,fifth,big1'),
    ('gb-v20', 'w30,p1-id21,quarter,seven,big2'),
    ('gb-v21', 'w50,p1-id21,rest,seven,big2'),
    ('gb-v22', 'w30,p1-id20,rest,seven,big2'),
    ('gb-v23', 'w20,p1-id20,rest,seven,big2'),
    ('gb-v24', 'w20,p1-id21,quarter,fifth,big1'),
    ('gb-v25', 'w50,p1-id21,rest,seven,big2'),
    ('gb-v26', 'w50,p1-id21,rest,seven,big2'),
    ('gb-v27', 'w50,p1-id21,rest,seven,big2'),
    ('gb-v28', 'w30,p1-id21,rest,seven,big1'),
    ('gb-v29', 'w50,p0,rest,seven,big2'),
    ('gb-v30', 'w20,p1-id20,rest,seven,big1'),
    ('b7446', 'w30,p0,quarter,fifth,big1') /* hash(gb-el-1) = 0.2 */,
    ('b3259', 'w50,p1-id21,rest,fifth,big2') /* hash(gb-el-1) = 0.5 */,
    ('b6620', 'w20,p1-id21,quarter,seven,big1') /* hash(gb-el-1) = 0 */,
    ('b33653', 'w50,p1-id21,rest,seven,big2') /* hash(gb-el-1) = 0.9999 */,
    ('b3114', 'w30,p1-id20,rest,fifth,big2') /* hash(gb-el-4) = 0.3 */,
    ('b15006', 'w30,p1-id21,rest,fifth,big2') /* hash(gb-el-4) = 0.1 */
       ) v(visitor, expected),
       LATERAL (SELECT string_agg(e->>'variant', ',' ORDER BY o) AS got
                  FROM jsonb_array_elements(abt_assign('a1000000-0000-0000-0000-000000000001',
                                                       visitor, '2024-03-01 12:00:00+00')->'elements')
                       WITH ORDINALITY x(e, o)) a;

-- 500 more visitors (s1..s500): the chosen variant's index in (position, id)
-- order, as one digit per visitor, per element in answer order
CREATE TEMP TABLE gb_answers AS
SELECT i, abt_assign('a1000000-0000-0000-0000-000000000001', 's' || i, '2024-03-01 12:00:00+00') AS a
  FROM generate_series(1, 500) i;
CREATE TEMP VIEW gb_variant_index AS
SELECT v.id, row_number() OVER (PARTITION BY v.element_id ORDER BY v.position, v.id) - 1 AS idx
  FROM abtest.element_variants v
  JOIN abtest.experiment_elements el ON el.id = v.element_id
 WHERE el.experiment_id = 'a1000000-0000-0000-0000-000000000001';
SELECT x.el, count(*) AS visitors,
       string_agg(g.idx::text, '' ORDER BY s.i) = d.digits AS ok
  FROM gb_answers s
 CROSS JOIN LATERAL jsonb_array_elements(s.a->'elements') WITH ORDINALITY x(e, el)
  JOIN gb_variant_index g ON g.id = (x.e->>'variant_id')::uuid
  JOIN (VALUES
    (1, '2022112220222212212122012221212120111200212122222210112002211011221220111212012111202022200212202100'
        '0121222022211012111111202011222221111202021022122102211222202202200022011112221201111122201102211020'
        '2012111102222120120211221102011122112222220020220222221221112222212110221211210221122111122211212102'
        '1122100122020211212022211002020202221220121220220102020101112210222201121222222201121120021021222222'
        '0212001201202111212222002211120202100212222000222102011210222022202212122122022221120012011221000211'),
    (2, '1122121212122012012002112212000012122210122210002021122121222222210201222211212012101122122022102202'
        '1221211222211222201121221112221221221212222111221121122012122122120010022022122022122121221110211221'
        '2002021111020022112120210120122110221211221122202120011222111121222012100120200222220102022221120222'
        '2121222222212021220222212011012111111222212120221120202122112121210212211112102222221210122222012222'
        '2002212011220212222011200011221212221121010021222102202221022211101222212122100222121211222220211220'),
    (3, '2221221212221222121122211222222222222112221221112221222222212222212212222222122222122112222222222222'
        '2221222222112221221222222222222212221222212211122122221222222222212221211122222211222212222222221221'
        '2212122221122222221222222212222212212222122222222121121122221211222222222211222221222122222221222222'
        '2222222222122212222212221222122112221222222112222222112211222212222122212212222222212112122222222121'
        '2222222221222112222222222212222222222222212212122112122221221222212221221222212212221112212121222211'),
    (4, '2221222222222222220220222220202212212022221222022200222222122221121212220222120120222222122200122212'
        '2211011222220222222222202222211112221222212122220120122222222222111012112212021121222120221022222220'
        '2122122122221020222212102121220222210221222222122221202221221222222222222211121212222121222221211222'
        '1012212222222210222222022011222222212222222222122222122222222120221202022221201122222211201021222222'
        '2112222102222200202221122120222222122022022222022102120222022222221222222012122222222221221121220222'),
    (5, '1011111110111110110110011111011100110111111111111110111111111111111001011111101111010111111011111011'
        '1111000111010111111111001111101110001011111011111001111110101101111110011011111111111111111111011111'
        '1111111001010111011110111111111110001111110111111111111110111011111110111110111111111100101111111111'
        '1110010011101111110110111011110011111010011001001101110011110110001101101011011111111111111111110111'
        '1111111111110111110111111101101111110110101011011101111111010001101111111111001000001101110111101111')
       ) d(el, digits) ON d.el = x.el
 GROUP BY x.el, d.digits
 ORDER BY x.el;

-- the weight-0 variant was never chosen; the stored map is the answer's
SELECT count(*) AS zero_weight_chosen
  FROM gb_answers s, jsonb_array_elements(s.a->'elements') e
 WHERE e->>'variant' = 'zero';
SELECT count(*) AS map_differs
  FROM gb_answers s
  JOIN abtest.assignments a
    ON a.experiment_id = 'a1000000-0000-0000-0000-000000000001' AND a.user_id = 's' || s.i
 WHERE a.variants <> (SELECT jsonb_object_agg(e->>'element_id', e->>'variant_id')
                        FROM jsonb_array_elements(s.a->'elements') e);

--
-- Enrolment: isIncludedInRollout(visitor, experiment seed, coverage), i.e.
-- coverage > 0 and gbhash(experiment seed, visitor) <= coverage.  Three
-- experiments share the seed gb-cov, with coverage 0.5, 0 and 1.
-- JavaScript: 110 of cov-1..cov-200 are enrolled at 0.5; gbhash(gb-cov, c)
-- is 0.5 for c33271, 0.5001 for c5906, 0 for c3925 and 0.9999 for c25807.
--
INSERT INTO abtest.experiments (id, name, status, seed, coverage) VALUES
    ('a1000000-0000-0000-0000-000000000002', 'gb cov 0.5', 'active', 'gb-cov', 0.5),
    ('a1000000-0000-0000-0000-000000000003', 'gb cov 0', 'active', 'gb-cov', 0),
    ('a1000000-0000-0000-0000-000000000004', 'gb cov 1', 'active', 'gb-cov', 1);
INSERT INTO abtest.experiment_elements (id, experiment_id, name, seed)
SELECT ('a1000000-0000-0000-0001-00000000001' || n)::uuid,
       ('a1000000-0000-0000-0000-00000000000' || n)::uuid, 'cov', 'gb-cov-el'
  FROM generate_series(2, 4) n;
INSERT INTO abtest.element_variants (id, element_id, name)
SELECT ('a1000000-0000-0000-0002-00000000010' || n)::uuid,
       ('a1000000-0000-0000-0001-00000000001' || n)::uuid, 'only'
  FROM generate_series(2, 4) n;

CREATE TEMP TABLE gb_cov AS
SELECT c.coverage, 'cov-' || i AS visitor,
       (abt_assign(c.id, 'cov-' || i, '2024-03-01 12:00:00+00')->>'enrolled')::boolean AS enrolled
  FROM abtest.experiments c, generate_series(1, 200) i
 WHERE c.id IN ('a1000000-0000-0000-0000-000000000002', 'a1000000-0000-0000-0000-000000000003',
                'a1000000-0000-0000-0000-000000000004');
SELECT coverage, count(*) FILTER (WHERE enrolled) AS enrolled,
       count(*) FILTER (WHERE enrolled IS DISTINCT FROM
                        (coverage > 0 AND abt_gbhash('gb-cov', visitor) <= coverage)) AS wrong
  FROM gb_cov GROUP BY coverage ORDER BY coverage;
-- not-enrolled visitors left no row
SELECT e.coverage, count(a.user_id) AS assignments
  FROM abtest.experiments e
  LEFT JOIN abtest.assignments a ON a.experiment_id = e.id
 WHERE e.seed = 'gb-cov' GROUP BY e.coverage ORDER BY e.coverage;

-- boundary visitors: hash = coverage is enrolled; coverage 0 enrols even
-- hash 0 nobody; coverage 1 enrols hash 0.9999
SELECT v.visitor, abt_gbhash('gb-cov', v.visitor) AS hash, e.coverage,
       (abt_assign(e.id, v.visitor, '2024-03-01 12:00:00+00')->>'enrolled')::boolean AS enrolled
  FROM (VALUES ('c33271'), ('c5906'), ('c3925'), ('c25807')) v(visitor),
       abtest.experiments e
 WHERE e.seed = 'gb-cov'
 ORDER BY v.visitor, e.coverage;

-- Raising the coverage enrols more visitors; the enrolled keep their row.
UPDATE abtest.experiments SET coverage = 0.75 WHERE id = 'a1000000-0000-0000-0000-000000000002';
SELECT count(*) FILTER (WHERE (a->>'enrolled')::boolean) AS enrolled,
       count(*) FILTER (WHERE (a->>'new')::boolean) AS new,
       count(*) FILTER (WHERE (a->>'enrolled')::boolean IS DISTINCT FROM
                        (abt_gbhash('gb-cov', 'cov-' || i) <= 0.75)) AS wrong
  FROM (SELECT i, abt_assign('a1000000-0000-0000-0000-000000000002', 'cov-' || i,
                             '2024-03-01 12:00:00+00') AS a
          FROM generate_series(1, 200) i) s;
SELECT count(*) = (SELECT count(*) FROM generate_series(1, 200) i
                    WHERE abt_gbhash('gb-cov', 'cov-' || i) <= 0.75) + 2 AS assignment_rows_ok
  FROM abtest.assignments WHERE experiment_id = 'a1000000-0000-0000-0000-000000000002';

--
-- Seeds not given default to the row id's text: enrolment hashes the
-- experiment id, the variant choice the element id.
--
INSERT INTO abtest.experiments (id, name, status, coverage) VALUES
    ('a1000000-0000-0000-0000-000000000005', 'gb default seeds', 'active', 0.6);
INSERT INTO abtest.experiment_elements (id, experiment_id, name) VALUES
    ('a1000000-0000-0000-0001-000000000051', 'a1000000-0000-0000-0000-000000000005', 'dflt');
INSERT INTO abtest.element_variants (id, element_id, name, position) VALUES
    ('a1000000-0000-0000-0002-000000000501', 'a1000000-0000-0000-0001-000000000051', 'first', 0),
    ('a1000000-0000-0000-0002-000000000502', 'a1000000-0000-0000-0001-000000000051', 'second', 1);
SELECT e.seed = e.id::text AS experiment_seed_is_id, el.seed = el.id::text AS element_seed_is_id
  FROM abtest.experiments e JOIN abtest.experiment_elements el ON el.experiment_id = e.id
 WHERE e.id = 'a1000000-0000-0000-0000-000000000005';
SELECT count(*) FILTER (WHERE (a->>'enrolled')::boolean) AS enrolled,
       count(*) FILTER (WHERE (a->>'enrolled')::boolean IS DISTINCT FROM
                        (abt_gbhash('a1000000-0000-0000-0000-000000000005', v) <= 0.6)) AS wrong_enrolment,
       count(*) FILTER (WHERE (a->>'enrolled')::boolean AND a->'elements'->0->>'variant' IS DISTINCT FROM
                        CASE WHEN abt_gbhash('a1000000-0000-0000-0001-000000000051', v) < 0.5
                             THEN 'first' ELSE 'second' END) AS wrong_variant
  FROM (SELECT 'd' || i AS v, abt_assign('a1000000-0000-0000-0000-000000000005', 'd' || i,
                                         '2024-03-01 12:00:00+00') AS a
          FROM generate_series(1, 300) i) s;
