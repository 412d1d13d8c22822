/**
 * IEEE 754 binary16 ("half") conversion for checkpoint storage: float32 → float16 rounds to the
 * nearest representable value, ties to the even significand (the IEEE default, and what numpy and
 * PyTorch do); values beyond ±65504 after rounding become ±Infinity; NaN stays NaN. Subnormal halves
 * (down to 2^-24) are produced and read exactly.
 */

const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

/** The binary16 bit pattern nearest to `value` (first rounded to float32, as stored tensors are). */
export function float32ToFloat16Bits(value: number): number {
  scratch[0] = value;
  const bits = scratchBits[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) {
    // Infinity keeps mantissa 0; NaN keeps a set quiet bit so it cannot turn into Infinity.
    return mantissa === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mantissa >>> 13);
  }
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    // Subnormal half: value = m · 2^-24. Below half of 2^-24 everything rounds to zero.
    if (halfExponent < -10) return sign;
    const full = mantissa | 0x800000;
    const shift = 14 - halfExponent;
    return sign | roundShift(full, shift);
  }
  // Rounding can carry into the exponent (and up to Infinity at the top): the bit layout makes
  // that carry land exactly where it should.
  return sign | ((halfExponent << 10) + roundShift(mantissa, 13));
}

/** value >> shift, rounded to nearest with ties to even. */
function roundShift(value: number, shift: number): number {
  const kept = value >>> shift;
  const remainder = value - kept * 2 ** shift;
  const halfway = 2 ** (shift - 1);
  if (remainder > halfway || (remainder === halfway && (kept & 1) === 1)) return kept + 1;
  return kept;
}

/** The number a binary16 bit pattern stands for. */
export function float16BitsToNumber(half: number): number {
  const sign = half & 0x8000 ? -1 : 1;
  const exponent = (half >>> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

export function float32ArrayToFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float32ToFloat16Bits(values[i]!);
  return out;
}

export function float16ArrayToFloat32(halves: Uint16Array): Float32Array {
  // A table of all 65536 values turns the decode of a large checkpoint into one lookup per weight.
  const table = float16Table();
  const out = new Float32Array(halves.length);
  for (let i = 0; i < halves.length; i++) out[i] = table[halves[i]!]!;
  return out;
}

let table: Float32Array | undefined;
function float16Table(): Float32Array {
  if (table === undefined) {
    table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) table[h] = float16BitsToNumber(h);
  }
  return table;
}

/** Largest finite binary16 value. */
export const FLOAT16_MAX = 65504;
