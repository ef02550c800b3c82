#!/usr/bin/env node
// Proves Flagstaff's conformance vectors against the reference implementation,
// npm tggl-core (evalFlag / evalRules), and checks the XXH32 golden file.
//
// Usage: node tests/interop/check-vectors.mjs [vectors-dir]
//   (or `npm test` in tests/interop). Exits non-zero on any failure.
//
// For every vectors file it:
//   1. validates the file the way a strict loader would (shapes, field types,
//      iso/timestamp agreement, ranges, regex compiles, unique slugs and names,
//      `negate` present on every rule outside negate-absent.json) and checks
//      each expectation against its own flag (the expected value must be the
//      variation of the expected condition, or the default);
//   2. evaluates each case with tggl-core's evalFlag and compares active/value,
//      and finds the deciding condition (the first whose evalRules is true);
//   3. skips cases marked "specOnly" (where tggl-core 1.4.0 deviates from the
//      spec), but reports a failure if tggl-core actually agrees with such a
//      case, so that the marker never outlives the deviation.
// The golden file percentage-golden.json is recomputed with the xxhashjs copy
// that tggl-core loads, and cross-checked with an independent XXH32 over UTF-8.

import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { xxh32 } from './xxh32-reference.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const vectorsDir = path.resolve(process.argv[2] ?? path.join(here, '..', 'vectors'));
const GOLDEN = 'percentage-golden.json';
const NEGATE_ABSENT_FILE = 'negate-absent.json';

const require = createRequire(import.meta.url);
const tgglPath = require.resolve('tggl-core');
const tggl = require(tgglPath);
const XXH = createRequire(tgglPath)('xxhashjs'); // the very copy tggl-core uses
const tgglVersion = JSON.parse(fs.readFileSync(path.join(path.dirname(tgglPath), '..', 'package.json'), 'utf8')).version;

const failures = [];
const fail = (where, message) => failures.push(`${where}: ${message}`);
const show = (v) => (v === undefined ? 'undefined' : JSON.stringify(v));

function deepEqual(a, b) {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && deepEqual(a[k], b[k]));
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const isStringArray = (v) => Array.isArray(v) && v.every((x) => typeof x === 'string');
const isFiniteNumber = (v) => typeof v === 'number' && Number.isFinite(v);
const own = (o, k) => Object.prototype.hasOwnProperty.call(o, k);

// Fields each operator needs, beyond key/operator/negate, with their validators.
const OPERATORS = {
  EMPTY: {},
  TRUE: {},
  STR_EQUAL: { values: isStringArray },
  STR_EQUAL_SOFT: { values: isStringArray },
  STR_CONTAINS: { values: isStringArray },
  STR_STARTS_WITH: { values: isStringArray },
  STR_ENDS_WITH: { values: isStringArray },
  STR_AFTER: { value: (v) => typeof v === 'string' },
  STR_BEFORE: { value: (v) => typeof v === 'string' },
  REGEXP: { value: (v) => typeof v === 'string' },
  EQ: { value: isFiniteNumber },
  LT: { value: isFiniteNumber },
  GT: { value: isFiniteNumber },
  ARR_OVERLAP: { values: isStringArray },
  DATE_AFTER: { timestamp: isFiniteNumber, iso: (v) => typeof v === 'string' },
  DATE_BEFORE: { timestamp: isFiniteNumber, iso: (v) => typeof v === 'string' },
  SEMVER_EQ: { version: (v) => Array.isArray(v) && v.length > 0 && v.every(Number.isSafeInteger) },
  SEMVER_GTE: { version: (v) => Array.isArray(v) && v.length > 0 && v.every(Number.isSafeInteger) },
  SEMVER_LTE: { version: (v) => Array.isArray(v) && v.length > 0 && v.every(Number.isSafeInteger) },
  PERCENTAGE: { rangeStart: isFiniteNumber, rangeEnd: isFiniteNumber, seed: (v) => Number.isInteger(v) && v >= 0 && v <= 4294967295 },
};

function validateVariation(where, v) {
  if (!isObject(v)) return fail(where, 'variation must be an object');
  if (typeof v.active !== 'boolean') fail(where, 'variation.active must be a boolean');
  if (!own(v, 'value')) fail(where, 'variation.value is required (may be null)');
  for (const k of Object.keys(v)) if (k !== 'active' && k !== 'value') fail(where, `unknown variation field ${k}`);
}

function validateRule(where, rule, file) {
  if (!isObject(rule)) return fail(where, 'rule must be an object');
  if (typeof rule.key !== 'string') fail(where, 'rule.key must be a string');
  const spec = OPERATORS[rule.operator];
  if (!spec) return fail(where, `unknown operator ${show(rule.operator)}`);
  if (own(rule, 'negate')) {
    if (typeof rule.negate !== 'boolean') fail(where, 'negate must be a boolean');
  } else if (file !== NEGATE_ABSENT_FILE) {
    fail(where, `rule without negate (only ${NEGATE_ABSENT_FILE} may omit it)`);
  }
  for (const [field, ok] of Object.entries(spec)) {
    if (!own(rule, field)) fail(where, `${rule.operator} needs ${field}`);
    else if (!ok(rule[field])) fail(where, `${rule.operator}.${field} has a wrong type/value: ${show(rule[field])}`);
  }
  for (const k of Object.keys(rule)) {
    if (!['key', 'operator', 'negate', ...Object.keys(spec)].includes(k)) fail(where, `unknown field ${k} for ${rule.operator}`);
  }
  if (rule.operator === 'REGEXP' && typeof rule.value === 'string') {
    try { new RegExp(rule.value); } catch (e) { fail(where, `pattern does not compile: ${e.message}`); }
  }
  if (rule.operator === 'DATE_AFTER' || rule.operator === 'DATE_BEFORE') {
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(rule.iso ?? '')) fail(where, `iso must be YYYY-MM-DDTHH:mm:ss, got ${show(rule.iso)}`);
    else if (Date.parse(rule.iso + 'Z') !== rule.timestamp) fail(where, `iso ${rule.iso} and timestamp ${rule.timestamp} are not the same UTC instant`);
  }
  if (rule.operator === 'PERCENTAGE' && isFiniteNumber(rule.rangeStart) && isFiniteNumber(rule.rangeEnd)) {
    if (!(rule.rangeStart >= 0 && rule.rangeStart <= rule.rangeEnd && rule.rangeEnd <= 1)) fail(where, `need 0 <= rangeStart <= rangeEnd <= 1, got [${rule.rangeStart}, ${rule.rangeEnd}]`);
  }
}

function validateFile(file, doc) {
  if (!isObject(doc)) return fail(file, 'top level must be an object');
  for (const k of Object.keys(doc)) if (!['description', 'flags', 'cases'].includes(k)) fail(file, `unknown top-level field ${k}`);
  if (typeof doc.description !== 'string' || !doc.description) fail(file, 'description must be a non-empty string');
  if (!Array.isArray(doc.flags)) return fail(file, 'flags must be an array');
  if (!Array.isArray(doc.cases) || doc.cases.length === 0) return fail(file, 'cases must be a non-empty array');
  const slugs = new Map();
  for (const [i, flag] of doc.flags.entries()) {
    const where = `${file} flags[${i}]${flag && flag.slug ? ` (${flag.slug})` : ''}`;
    if (!isObject(flag)) { fail(where, 'flag must be an object'); continue; }
    for (const k of Object.keys(flag)) if (!['slug', 'conditions', 'defaultVariation'].includes(k)) fail(where, `unknown flag field ${k}`);
    if (typeof flag.slug !== 'string' || !flag.slug) fail(where, 'slug must be a non-empty string');
    else if (slugs.has(flag.slug)) fail(where, 'duplicate slug');
    else slugs.set(flag.slug, flag);
    if (!Array.isArray(flag.conditions)) { fail(where, 'conditions must be an array'); continue; }
    for (const [j, c] of flag.conditions.entries()) {
      const cw = `${where} conditions[${j}]`;
      if (!isObject(c) || !Array.isArray(c.rules)) { fail(cw, 'condition needs a rules array'); continue; }
      for (const k of Object.keys(c)) if (k !== 'rules' && k !== 'variation') fail(cw, `unknown condition field ${k}`);
      c.rules.forEach((r, n) => validateRule(`${cw} rules[${n}]`, r, file));
      validateVariation(cw, c.variation);
    }
    validateVariation(`${where} defaultVariation`, flag.defaultVariation);
  }
  const names = new Set();
  for (const [i, c] of doc.cases.entries()) {
    const where = `${file} cases[${i}]${c && c.name ? ` "${c.name}"` : ''}`;
    if (!isObject(c)) { fail(where, 'case must be an object'); continue; }
    for (const k of Object.keys(c)) if (!['name', 'flag', 'context', 'expect', 'specOnly'].includes(k)) fail(where, `unknown case field ${k}`);
    if (typeof c.name !== 'string' || !c.name) fail(where, 'name must be a non-empty string');
    else if (names.has(c.name)) fail(where, 'duplicate case name');
    else names.add(c.name);
    if (own(c, 'specOnly') && (typeof c.specOnly !== 'string' || !c.specOnly)) fail(where, 'specOnly must be a non-empty reason');
    if (!isObject(c.context)) fail(where, 'context must be an object');
    const flag = slugs.get(c.flag);
    if (!flag) { fail(where, `unknown flag ${show(c.flag)}`); continue; }
    const e = c.expect;
    if (!isObject(e)) { fail(where, 'expect must be an object'); continue; }
    for (const k of Object.keys(e)) if (!['active', 'value', 'condition'].includes(k)) fail(where, `unknown expect field ${k}`);
    if (typeof e.active !== 'boolean') fail(where, 'expect.active must be a boolean');
    if (e.active && !own(e, 'value')) fail(where, 'an active expectation needs a value');
    if (!e.active && own(e, 'value')) fail(where, 'an inactive expectation must omit value');
    if (!own(e, 'condition')) { fail(where, 'expect.condition is required (index or null)'); continue; }
    if (e.condition !== null && !(Number.isInteger(e.condition) && e.condition >= 0 && e.condition < (flag.conditions?.length ?? 0))) {
      fail(where, `expect.condition ${show(e.condition)} is not a condition index of ${flag.slug}`);
      continue;
    }
    // the expectation must be the variation of the deciding condition
    const variation = e.condition === null ? flag.defaultVariation : flag.conditions[e.condition]?.variation;
    if (variation && (variation.active !== e.active || (e.active && !deepEqual(variation.value, e.value)))) {
      fail(where, `expectation ${show(e)} is not the variation of ${e.condition === null ? 'the default' : `condition ${e.condition}`} (${show(variation)})`);
    }
  }
  return slugs;
}

function evaluate(flag, context) {
  let condition = null;
  for (const [i, c] of flag.conditions.entries()) {
    if (tggl.evalRules(context, c.rules)) { condition = i; break; }
  }
  const value = tggl.evalFlag(context, flag);
  return { active: value !== undefined, value, condition };
}

// ------------------------------------------------------------------ vectors
const files = fs.readdirSync(vectorsDir).filter((f) => f.endsWith('.json') && f !== GOLDEN).sort();
if (files.length === 0) fail(vectorsDir, 'no vectors files found');
let passed = 0, failed = 0, skipped = 0, total = 0;
const skippedByReason = new Map();
const perFile = [];

for (const file of files) {
  const before = failures.length;
  let doc;
  try {
    doc = JSON.parse(fs.readFileSync(path.join(vectorsDir, file), 'utf8'));
  } catch (e) {
    fail(file, `invalid JSON: ${e.message}`);
    perFile.push({ file, cases: 0, passed: 0, failed: 0, skipped: 0, invalid: 1 });
    continue;
  }
  const slugs = validateFile(file, doc);
  const invalid = failures.length - before;
  const stats = { file, cases: 0, passed: 0, failed: 0, skipped: 0, invalid };
  for (const c of doc.cases ?? []) {
    if (!isObject(c)) continue;
    stats.cases++; total++;
    const flag = slugs?.get(c.flag);
    const where = `${file} "${c.name}"`;
    let got;
    try {
      got = flag ? evaluate(flag, c.context) : null;
    } catch (e) {
      got = { error: e.message };
    }
    const e = c.expect ?? {};
    const agrees = got && !got.error && got.active === e.active && (!e.active || deepEqual(got.value, e.value)) && got.condition === e.condition;
    if (c.specOnly) {
      stats.skipped++; skipped++;
      skippedByReason.set(c.specOnly, [...(skippedByReason.get(c.specOnly) ?? []), `${file}: ${c.name}`]);
      if (agrees) {
        stats.failed++; failed++;
        fail(where, `marked specOnly but tggl-core ${tgglVersion} agrees with the expectation; remove specOnly`);
      }
      continue;
    }
    if (agrees) { stats.passed++; passed++; continue; }
    stats.failed++; failed++;
    if (!got) fail(where, 'could not evaluate (invalid flag)');
    else if (got.error) fail(where, `tggl-core threw: ${got.error}`);
    else fail(where, `expected ${show(e)}, tggl-core gave {"active":${got.active}${got.active ? `,"value":${show(got.value)}` : ''},"condition":${show(got.condition)}} (context ${show(c.context)})`);
  }
  perFile.push(stats);
}

// ------------------------------------------------------------------ golden
let goldenChecked = 0, goldenFailed = 0;
const goldenPath = path.join(vectorsDir, GOLDEN);
if (fs.existsSync(goldenPath)) {
  const before = failures.length;
  try {
    const g = JSON.parse(fs.readFileSync(goldenPath, 'utf8'));
    if (typeof g.description !== 'string' || !Array.isArray(g.entries) || g.entries.length === 0) fail(GOLDEN, 'needs description and a non-empty entries array');
    const seen = new Set();
    for (const [i, en] of (g.entries ?? []).entries()) {
      goldenChecked++;
      const where = `${GOLDEN} entries[${i}] ${show(en.text)} seed ${en.seed}`;
      const b0 = failures.length;
      if (typeof en.text !== 'string' || !Number.isInteger(en.seed) || en.seed < 0 || en.seed > 4294967295) { fail(where, 'needs a string text and an integer seed in [0, 2^32)'); goldenFailed++; continue; }
      const key = `${en.text}\u0000${en.seed}`;
      if (seen.has(key)) fail(where, 'duplicate entry');
      seen.add(key);
      const hash = XXH.h32(String(en.text), en.seed).toNumber() >>> 0; // exactly as tggl-core
      let fraction = hash / 0xffffffff;
      if (fraction === 1) fraction -= Number.EPSILON;
      if (hash !== en.hash) fail(where, `hash ${en.hash} but xxhashjs gives ${hash}`);
      if (fraction !== en.fraction) fail(where, `fraction ${en.fraction} but tggl-core's formula gives ${fraction}`);
      const independent = xxh32(Buffer.from(en.text, 'utf8'), en.seed);
      if (independent !== en.hash) fail(where, `independent XXH32 over UTF-8 gives ${independent}, file says ${en.hash}`);
      // and tggl-core's own PERCENTAGE rule must place the text in [fraction, next) and not in [0, fraction)
      const at = { key: 'k', operator: 'PERCENTAGE', negate: false, rangeStart: fraction, rangeEnd: 1, seed: en.seed };
      const below = { ...at, rangeStart: 0, rangeEnd: fraction };
      if (!tggl.evalRule(at, en.text) || tggl.evalRule(below, en.text)) fail(where, 'tggl-core evalRule does not place the text at this fraction');
      if (failures.length > b0) goldenFailed++;
    }
  } catch (e) {
    fail(GOLDEN, `invalid: ${e.message}`);
    goldenFailed++;
  }
  if (failures.length > before && goldenFailed === 0) goldenFailed = 1;
} else {
  fail(GOLDEN, 'missing');
  goldenFailed++;
}

// ------------------------------------------------------------------ report
console.log(`tggl-core ${tgglVersion}, vectors in ${path.relative(process.cwd(), vectorsDir) || '.'}`);
for (const s of perFile) {
  console.log(`  ${s.file.padEnd(32)} ${String(s.cases).padStart(4)} cases: ${s.passed} passed, ${s.failed} failed, ${s.skipped} specOnly skipped${s.invalid ? `, ${s.invalid} validation errors` : ''}`);
}
console.log(`  ${GOLDEN.padEnd(32)} ${String(goldenChecked).padStart(4)} entries: ${goldenChecked - goldenFailed} match xxhashjs and an independent XXH32, ${goldenFailed} failed`);
if (skippedByReason.size) {
  console.log(`\nSkipped ${skipped} specOnly case(s) where tggl-core ${tgglVersion} deviates from the spec:`);
  for (const [reason, list] of skippedByReason) {
    console.log(`  ${list.length} x ${reason}`);
    for (const n of list) console.log(`      - ${n}`);
  }
}
if (failures.length) {
  console.log(`\n${failures.length} problem(s):`);
  for (const f of failures) console.log(`  FAIL ${f}`);
}
const validationErrors = failures.length - failed - goldenFailed;
console.log(`\n${total} cases in ${perFile.length} files, ${goldenChecked} golden entries${validationErrors > 0 ? `, ${validationErrors} validation error(s)` : ''}`);
console.log(`${passed + goldenChecked - goldenFailed} passed, ${failed + goldenFailed + Math.max(0, validationErrors)} failed, ${skipped} skipped`);
process.exit(failures.length ? 1 : 0);
