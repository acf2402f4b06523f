#!/usr/bin/env node
/*
 * growthbook_hash.js
 *		Independent reference for test/sql/gbhash.sql: GrowthBook's own
 *		JavaScript hashing and bucketing, run by plain node (no packages).
 *
 *   node test/tools/growthbook_hash.js              prints every reference
 *                                                   value gbhash.sql pastes
 *                                                   in as literals
 *   node test/tools/growthbook_hash.js hash SEED ID prints hash v2 of SEED+ID
 *   node test/tools/growthbook_hash.js namespace    prints the expected values
 *                                                   of test/sql/namespaces.sql
 *
 * hashFnv32a, hash (versions 1 and 2), getEqualWeights, inRange,
 * inNamespace, chooseVariation, getBucketRanges and isIncludedInRollout below follow GrowthBook's JS SDK
 * (packages/sdk-js/src/util.ts and core.ts, MIT licence, (c) GrowthBook,
 * Inc.) line for line, with the TypeScript types and console warnings left
 * out.  Nothing here shares code with src/growthbook.c: JavaScript strings are
 * UTF-16, so charCodeAt() yields the code units (surrogate pairs for
 * characters above U+FFFF) that the C code has to reconstruct from UTF-8.
 *
 * abtest's documented use of these (sql/abtest--1.0.sql, src/*.c):
 *   enrolment  isIncludedInRollout(visitor, experiment.seed, undefined,
 *                                  experiment.coverage, 2)
 *   namespace  inNamespace(visitor, [namespace, start, end]) (1.1: checked
 *              before enrolment)
 *   variant    chooseVariation(hash(element.seed, visitor, 2),
 *                              getBucketRanges(n, 1, weights normalised to
 *                              sum 1)) over the variants in (position, id)
 *                              order
 */
'use strict';

/* ---------------------------------------------- GrowthBook SDK (util.ts) */

function hashFnv32a(str) {
  let hval = 0x811c9dc5;
  const l = str.length;

  for (let i = 0; i < l; i++) {
    hval ^= str.charCodeAt(i);
    hval +=
      (hval << 1) + (hval << 4) + (hval << 7) + (hval << 8) + (hval << 24);
  }
  return hval >>> 0;
}

function hash(seed, value, version) {
  // New unbiased hashing algorithm
  if (version === 2) {
    return (hashFnv32a(hashFnv32a(seed + value) + "") % 10000) / 10000;
  }
  // Original biased hashing algorithm (keep for backwards compatibility)
  if (version === 1) {
    return (hashFnv32a(value + seed) % 1000) / 1000;
  }
  return null;
}

function getEqualWeights(n) {
  if (n <= 0) return [];
  return new Array(n).fill(1 / n);
}

function inRange(n, range) {
  return n >= range[0] && n < range[1];
}

function chooseVariation(n, ranges) {
  for (let i = 0; i < ranges.length; i++) {
    if (inRange(n, ranges[i])) {
      return i;
    }
  }
  return -1;
}

function getBucketRanges(numVariations, coverage, weights) {
  coverage = coverage === undefined ? 1 : coverage;
  if (coverage < 0) coverage = 0;
  else if (coverage > 1) coverage = 1;
  const equal = getEqualWeights(numVariations);
  weights = weights || equal;
  if (weights.length !== numVariations) weights = equal;
  const totalWeight = weights.reduce((w, sum) => sum + w, 0);
  if (totalWeight < 0.99 || totalWeight > 1.01) weights = equal;
  let cumulative = 0;
  return weights.map((w) => {
    const start = cumulative;
    cumulative += w;
    return [start, start + coverage * w];
  });
}

function inNamespace(hashValue, namespace) {
  const n = hash("__" + namespace[0], hashValue, 1);
  if (n === null) return false;
  return n >= namespace[1] && n < namespace[2];
}

/* core.ts */
function isIncludedInRollout(hashValue, seed, range, coverage, hashVersion) {
  if (!range && coverage === undefined) return true;
  if (!range && coverage === 0) return false;
  if (!hashValue) return false;
  const n = hash(seed, hashValue, hashVersion || 1);
  if (n === null) return false;
  return range ? inRange(n, range) : coverage !== undefined ? n <= coverage : true;
}

/* -------------------------------------------------- abtest's use of them */

/* Weights normalised to sum 1 (w / sum, summed in order), then GrowthBook. */
function abtestChoose(elementSeed, visitor, weights) {
  let total = 0;
  for (const w of weights) total += w;
  const normalised = weights.map((w) => w / total);
  return chooseVariation(hash(elementSeed, visitor, 2),
                         getBucketRanges(weights.length, 1, normalised));
}

function abtestEnrolled(experimentSeed, visitor, coverage) {
  return isIncludedInRollout(visitor, experimentSeed, undefined, coverage, 2);
}

/*
 * Namespaces (test/sql/namespaces.sql): visitor i of 1..NS_VISITORS is
 * NS_PREFIXES[i % 8] + i, mixing ASCII, accents, CJK, a combining mark and
 * emoji (surrogate pairs); the SQL test builds the same ids.
 */
const NS_VISITORS = 10000;
const NS_PREFIXES = ["v", "visitor-", "\u00e9", "\u00fc-", "\u7528\u6237",
                     "\u{1F600}", "\u{1F44D}\u{1F3FD}-", "a\u0301"];
const NS_NAME = "pag\u00e9-\u{1F37A}";
/* Experiments ns-a and ns-b of test/sql/namespaces.sql: their ranges. */
const NS_RANGES = [["a", 0, 0.35], ["b", 0.35, 0.6]];

function nsVisitor(i) {
  return NS_PREFIXES[i % 8] + i;
}

/* GrowthBook's published inNamespace and hash v1 cases (cases.json). */
const GROWTHBOOK_NAMESPACE = [
  ["1", ["namespace1", 0, 0.4], false], ["1", ["namespace1", 0.4, 1], true],
  ["1", ["namespace2", 0, 0.4], false], ["1", ["namespace2", 0.4, 1], true],
  ["2", ["namespace1", 0, 0.4], false], ["2", ["namespace1", 0.4, 1], true],
  ["2", ["namespace2", 0, 0.4], false], ["2", ["namespace2", 0.4, 1], true],
  ["3", ["namespace1", 0, 0.4], false], ["3", ["namespace1", 0.4, 1], true],
  ["3", ["namespace2", 0, 0.4], true], ["3", ["namespace2", 0.4, 1], false],
  ["4", ["namespace1", 0, 0.4], false], ["4", ["namespace1", 0.4, 1], true],
  ["4", ["namespace2", 0, 0.4], true], ["4", ["namespace2", 0.4, 1], false],
];
const GROWTHBOOK_V1 = [
  ["", "a", 0.22], ["", "b", 0.077], ["b", "a", 0.946], ["ef", "d", 0.652],
  ["asdf", "8952klfjas09ujk", 0.549], ["", "123", 0.011], ["", "___)((*\":&", 0.563],
];

/* Prints namespaces.sql's expected values, 100 visitors a line. */
function mainNamespace() {
  for (const [seed, id, want] of GROWTHBOOK_V1) {
    const got = hash(seed, id, 1);
    if (got !== want) throw new Error(`hash v1(${seed}, ${id}) = ${got}, not ${want}`);
  }
  for (const [id, ns, want] of GROWTHBOOK_NAMESPACE) {
    if (inNamespace(id, ns) !== want) throw new Error(`inNamespace(${id}, ${ns}) != ${want}`);
  }
  console.log("-- GrowthBook hash v1 and inNamespace cases (cases.json), checked: all match");
  console.log(`-- eligible for [0.25, 0.6) of namespace ${NS_NAME}: 1, else 0`);
  let lines = [];
  for (let i = 1; i <= NS_VISITORS; i += 100) {
    let row = "";
    for (let j = i; j < i + 100; j++) row += inNamespace(nsVisitor(j), [NS_NAME, 0.25, 0.6]) ? "1" : "0";
    lines.push(`    (${i}, '${row}')`);
  }
  console.log(lines.join(",\n"));
  console.log(`-- experiment whose range of ${NS_NAME} holds the visitor: a, b or -`);
  lines = [];
  for (let i = 1; i <= NS_VISITORS; i += 100) {
    let row = "";
    for (let j = i; j < i + 100; j++) {
      const r = NS_RANGES.find(([, a, b]) => inNamespace(nsVisitor(j), [NS_NAME, a, b]));
      row += r ? r[0] : "-";
    }
    lines.push(`    (${i}, '${row}')`);
  }
  console.log(lines.join(",\n"));
}

/* ------------------------------------------------------ SQL literal output */

/* A SQL literal for any string: plain '...' for printable ASCII, else U&'...'. */
function sqlLiteral(s) {
  if (/^[\x20-\x7e]*$/.test(s)) return "'" + s.replace(/'/g, "''") + "'";
  let out = "";
  for (const ch of s) {                       // iterates code points
    const cp = ch.codePointAt(0);
    if (ch === "\\") out += "\\\\";
    else if (ch === "'") out += "''";
    else if (cp >= 0x20 && cp <= 0x7e) out += ch;
    else if (cp <= 0xffff) out += "\\" + cp.toString(16).padStart(4, "0");
    else out += "\\+" + cp.toString(16).padStart(6, "0");
  }
  return "U&'" + out + "'";
}

/* Long ids are written as repeat() so that the SQL stays readable. */
function sqlExpr(c) {
  return c.sql || sqlLiteral(c.id);
}

/* GrowthBook's published hash v2 vectors (packages/sdk-js/test/cases.json). */
const GROWTHBOOK_V2 = [
  ["seed", "a", 0.0505],
  ["seed", "b", 0.2696],
  ["foo", "ab", 0.2575],
  ["foo", "def", 0.2019],
  ["89123klj", "8952klfjas09ujkasdf", 0.124],
  ["90850943850283058242805", "123", 0.7516],
  ["()**(%$##$%#$#", "___)((*\":&", 0.0128],
];

/* Edge cases: [label, seed, id, optional SQL expression for the id]. */
const EDGE_CASES = [
  ["both empty", "", ""],
  ["empty seed", "", "a"],
  ["empty id", "seed", ""],
  ["spaces", " ", " "],
  ["zero", "0", "0"],
  ["digits", "123", "456"],
  ["sql injection", "seed", "'; DROP TABLE x; --"],
  ["single quotes", "it's", "o'clock''"],
  ["double quotes", "\"", "\"quoted\""],
  ["backslashes", "\\", "a\\b\\\\c\\"],
  ["like wildcards", "%_", "_%\\%"],
  ["tab newline", "\t", "line1\nline2\r\n"],
  ["control chars", "\u0001", "\u0007\u001b\u007f"],
  ["uuid seed", "0b6e3f62-9c1f-4c3a-8f7e-2d3b1a4c5e6f", "user-42"],
  ["256 x", "len", "x".repeat(256), "repeat('x', 256)"],
  ["long 1000", "long", "abc\u00e9".repeat(250), "repeat(U&'abc\\00e9', 250)"],
  ["long 10000", "long-seed-".repeat(10), "0123456789".repeat(1000),
   "repeat('0123456789', 1000)"],
  ["e acute", "seed", "caf\u00e9"],
  ["e combining", "seed", "cafe\u0301"],
  ["u umlaut", "\u00fc", "M\u00fcller"],
  ["sharp s", "stra\u00dfe", "Stra\u00dfe"],
  ["cyrillic seed", "\u043a\u043b\u044e\u0447", "\u0438\u0432\u0430\u043d"],
  ["chinese", "\u5b9e\u9a8c", "\u7528\u6237\u4e00\u53f7"],
  ["japanese", "seed", "\u30c6\u30b9\u30c8\u30e6\u30fc\u30b6\u30fc"],
  ["korean", "seed", "\ud55c\uad6d\uc5b4"],
  ["hebrew rtl", "seed", "\u05e9\u05dc\u05d5\u05dd"],
  ["arabic rtl", "\u0628\u0630\u0631\u0629", "\u0645\u0631\u062d\u0628\u0627 123"],
  ["rtl marks", "seed", "\u200fabc\u200e\u202edef\u202c"],
  ["emoji", "seed", "\u{1F600}"],
  ["emoji tone", "\u{1F44D}", "\u{1F44D}\u{1F3FD}"],
  ["zwj family", "seed", "\u{1F468}\u200d\u{1F469}\u200d\u{1F467}"],
  ["flag", "seed", "\u{1F1EB}\u{1F1F7}"],
  ["emoji seed", "\u{1F600}", "\u{1F600}"],
  ["utf8 2-byte bounds", "seed", "\u0080\u07ff"],
  ["utf8 3-byte bounds", "seed", "\u0800\ufffd"],
  ["bmp top", "seed", "\uffff"],
  ["bom", "\ufeff", "\ufeffid"],
  ["private use", "seed", "\ue000\uf8ff"],
  ["first astral", "seed", "\u{10000}"],
  ["last astral", "seed", "\u{10FFFF}"],
  ["cjk ext b", "seed", "\u{20000}\u{2A6D6}"],
  ["mixed", "M\u00fcnchen-\u{1F37A}", "a\u00e9\u4e2d\u{1F600}z"],
];

/* Aggregate checks over generated ids; [label, seed, prefix, suffix, n]. */
const AGGREGATES = [
  ["visitor-N", "agg-seed", "visitor-", "", 5000],
  ["unicode-N", "\u00e9\u{1F600}", "\u00fc", "\u{1F44D}\u{1F3FD}", 2000],
];

/*
 * Experiment gb-bucket (ids in gbhash.sql): its elements in position order,
 * each with its seed and its variants in (position, id) order as
 * [name, weight].
 */
const BUCKET_ELEMENTS = [
  ["gb-el-1", [["w20", 0.2], ["w30", 0.3], ["w50", 0.5]]],
  ["\u00e9l\u00e9ment-2", [["p0", 1], ["p1-id20", 2], ["p1-id21", 3]]],
  ["gb-el-3", [["zero", 0], ["quarter", 1], ["rest", 3]]],
  ["gb-el-4", [["tenth", 0.1], ["fifth", 0.2], ["seven", 0.7]]],
  ["gb-el-5", [["big1", 1e300], ["big2", 3e300]]],
];
const BUCKET_VISITORS = 30;      /* gb-v1 .. gb-v30, one row each */
const BUCKET_STRING_VISITORS = 500;  /* s1 .. s500, one digit string per element */

function main() {
  const args = process.argv.slice(2);
  if (args[0] === "namespace") {
    mainNamespace();
    return;
  }
  if (args[0] === "hash") {
    console.log(hash(args[1] || "", args[2] || "", 2));
    return;
  }

  // Self-check against GrowthBook's published vectors.
  for (const [seed, id, want] of GROWTHBOOK_V2) {
    const got = hash(seed, id, 2);
    if (got !== want) throw new Error(`hash(${seed}, ${id}) = ${got}, not ${want}`);
  }

  console.log("-- GrowthBook v2 vectors (cases.json), checked: all match");
  console.log("-- edge cases: (label, seed, id, expected)");
  console.log(EDGE_CASES.map((c) =>
    `    (${sqlLiteral(c[0])}, ${sqlLiteral(c[1])}, ${c[3] || sqlLiteral(c[2])}, ${hash(c[1], c[2], 2)})`
  ).join(",\n"));

  console.log("-- aggregates: (label, n, sum of hash*10000, sum of i*hash*10000, count hash <= 0.5)");
  for (const [label, seed, prefix, suffix, n] of AGGREGATES) {
    let s = 0, si = 0, half = 0;
    for (let i = 1; i <= n; i++) {
      const h = hash(seed, prefix + i + suffix, 2);
      const k = Math.round(h * 10000);
      s += k; si += i * k; if (h <= 0.5) half++;
    }
    console.log(`    (${sqlLiteral(label)}, ${sqlLiteral(seed)}, ${sqlLiteral(prefix)}, ${sqlLiteral(suffix)}, ${n}, ${s}, ${si}, ${half})`);
  }

  // Visitors whose hash sits exactly on a range or coverage boundary, found by search.
  const find = (seed, want, prefix) => {
    for (let i = 1; i < 10000000; i++)
      if (hash(seed, prefix + i, 2) === want) return prefix + i;
    return null;
  };
  const boundary = [
    ["gb-el-1", 0.2, "b"], ["gb-el-1", 0.5, "b"], ["gb-el-1", 0, "b"], ["gb-el-1", 0.9999, "b"],
    ["gb-el-4", 0.3, "b"], ["gb-el-4", 0.1, "b"],
  ].map(([seed, want, prefix]) => [find(seed, want, prefix), `hash(${seed}) = ${want}`]);

  console.log("-- bucket choice per visitor: (visitor, variant names per element)");
  const visitors = [];
  for (let v = 1; v <= BUCKET_VISITORS; v++) visitors.push(["gb-v" + v, ""]);
  const rows = visitors.concat(boundary).map(([id, note]) => {
    const names = BUCKET_ELEMENTS.map(([seed, vs]) =>
      vs[abtestChoose(seed, id, vs.map((x) => x[1]))][0]);
    return `    ('${id}', '${names.join(",")}')` + (note ? ` /* ${note} */` : "");
  });
  console.log(rows.join(",\n"));

  console.log(`-- bucket choice: variant index (0-based) of s1..s${BUCKET_STRING_VISITORS} per element`);
  BUCKET_ELEMENTS.forEach(([seed, vs], e) => {
    let digits = "";
    for (let v = 1; v <= BUCKET_STRING_VISITORS; v++)
      digits += abtestChoose(seed, "s" + v, vs.map((x) => x[1]));
    console.log(`    (${e + 1}, '${digits}')`);
  });

  console.log("-- coverage boundary visitors (experiment seed gb-cov)");
  for (const want of [0.5, 0.5001, 0, 0.9999]) {
    const id = find("gb-cov", want, "c");
    console.log(`    -- hash(gb-cov, ${id}) = ${want}: enrolled at coverage 0.5: `
      + `${abtestEnrolled("gb-cov", id, 0.5)}, at 0: ${abtestEnrolled("gb-cov", id, 0)}, `
      + `at 1: ${abtestEnrolled("gb-cov", id, 1)}`);
  }

  console.log("-- coverage: enrolled count of cov-1..cov-200 at 0.5");
  let n = 0;
  for (let i = 1; i <= 200; i++) if (abtestEnrolled("gb-cov", "cov-" + i, 0.5)) n++;
  console.log(`    ${n}`);
}

module.exports = { hashFnv32a, hash, getBucketRanges, chooseVariation, isIncludedInRollout,
                   inNamespace, nsVisitor,
                   abtestChoose, abtestEnrolled, sqlLiteral };

if (require.main === module) main();
