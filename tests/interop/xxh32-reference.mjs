// An independent, from-the-specification XXH32 (the xxHash 32-bit algorithm)
// over bytes. check-vectors.mjs uses it to cross-check xxhashjs (which
// tggl-core uses) and the golden file: the spec says "hash the UTF-8 bytes of
// that text with XXH32", so both must agree with this on valid UTF-16 text.

const P1 = 2654435761;
const P2 = 2246822519;
const P3 = 3266489917;
const P4 = 668265263;
const P5 = 374761393;

const rotl = (x, r) => ((x << r) | (x >>> (32 - r))) >>> 0;
const mul = (a, b) => Math.imul(a, b) >>> 0;
const add = (a, b) => (a + b) >>> 0;

/** XXH32 of a Uint8Array (or Buffer) with a seed in [0, 2^32). Returns an unsigned 32-bit number. */
export function xxh32(bytes, seed) {
  seed = seed >>> 0;
  const len = bytes.length;
  const rd = (i) => (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24)) >>> 0;
  const round = (acc, lane) => mul(rotl(add(acc, mul(lane, P2)), 13), P1);
  let p = 0;
  let h;
  if (len >= 16) {
    let v1 = add(add(seed, P1), P2);
    let v2 = add(seed, P2);
    let v3 = seed;
    let v4 = (seed - P1) >>> 0;
    const limit = len - 16;
    do {
      v1 = round(v1, rd(p)); p += 4;
      v2 = round(v2, rd(p)); p += 4;
      v3 = round(v3, rd(p)); p += 4;
      v4 = round(v4, rd(p)); p += 4;
    } while (p <= limit);
    h = add(add(rotl(v1, 1), rotl(v2, 7)), add(rotl(v3, 12), rotl(v4, 18)));
  } else {
    h = add(seed, P5);
  }
  h = add(h, len);
  while (p + 4 <= len) {
    h = mul(rotl(add(h, mul(rd(p), P3)), 17), P4);
    p += 4;
  }
  while (p < len) {
    h = mul(rotl(add(h, mul(bytes[p], P5)), 11), P1);
    p += 1;
  }
  h ^= h >>> 15;
  h = mul(h, P2);
  h ^= h >>> 13;
  h = mul(h, P3);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The spec's percentage fraction for a text: XXH32(UTF-8(text), seed) / 0xFFFFFFFF, minus Number.EPSILON when exactly 1. */
export function fraction(text, seed) {
  let f = xxh32(Buffer.from(text, 'utf8'), seed) / 0xffffffff;
  if (f === 1) f -= Number.EPSILON;
  return f;
}
