import { describe, expect, it } from 'vitest';
import { createPrng } from '../../../main/base/random.ts';
import { tf } from '../../../main/engine/index.ts';
import {
  float16ArrayToFloat32,
  float16BitsToNumber,
  float32ArrayToFloat16,
  float32ToFloat16Bits,
} from '../../../main/models/float16.ts';

const ALL_HALVES = Uint16Array.from({ length: 65536 }, (_, i) => i);
const isNaNHalf = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;

describe('float16 storage', () => {
  it('decodes all 65536 bit patterns exactly as tfjs decodes float16 weights', () => {
    const ours = float16ArrayToFloat32(ALL_HALVES);
    const theirs = tf.io
      .decodeWeights(new Uint8Array(ALL_HALVES.buffer).buffer, [
        { name: 'all', shape: [65536], dtype: 'float32', quantization: { dtype: 'float16' } },
      ])
      .all!.dataSync();
    for (let h = 0; h < 65536; h++) {
      if (isNaNHalf(h)) expect(Number.isNaN(ours[h]!)).toBe(true);
      else expect(Object.is(ours[h], theirs[h]), `half 0x${h.toString(16)}`).toBe(true);
    }
  });

  it('encodes every half value back to its own bit pattern (NaN stays NaN)', () => {
    for (let h = 0; h < 65536; h++) {
      const back = float32ToFloat16Bits(float16BitsToNumber(h));
      if (isNaNHalf(h)) expect(isNaNHalf(back)).toBe(true);
      else expect(back, `half 0x${h.toString(16)}`).toBe(h);
    }
  });

  it('rounds to the nearest half, ties to the even significand', () => {
    // Exact midpoints between consecutive positive halves (normal and subnormal), both parities.
    for (const low of [0x0000, 0x0001, 0x0002, 0x03ff, 0x0400, 0x0401, 0x3c00, 0x3c01, 0x7bfe]) {
      const a = float16BitsToNumber(low);
      const b = float16BitsToNumber(low + 1);
      const mid = (a + b) / 2;
      expect(Math.fround(mid)).toBe(mid); // the midpoint is a float32, so the tie is real
      const even = low % 2 === 0 ? low : low + 1;
      expect(float32ToFloat16Bits(mid), `tie above 0x${low.toString(16)}`).toBe(even);
      expect(float32ToFloat16Bits(-mid)).toBe(0x8000 | even);
    }
    // Random float32 values across the half range: the result is a nearest half.
    const random = createPrng(5);
    for (let i = 0; i < 20000; i++) {
      const x = Math.fround((random.next() * 2 - 1) * 2 ** (random.next() * 40 - 25));
      const h = float32ToFloat16Bits(x);
      const v = float16BitsToNumber(h);
      const err = Math.abs(v - x);
      const magnitude = h & 0x7fff;
      const sign = h & 0x8000;
      for (const n of [magnitude - 1, magnitude + 1]) {
        if (n < 0 || n >= 0x7c00) continue;
        expect(err, `x = ${x}`).toBeLessThanOrEqual(Math.abs(float16BitsToNumber(sign | n) - x));
      }
    }
  });

  it('overflows to ±Infinity from 65520 up, keeps 65504, flushes below 2^-25 to signed zero', () => {
    expect(float16BitsToNumber(float32ToFloat16Bits(65504))).toBe(65504);
    expect(float16BitsToNumber(float32ToFloat16Bits(65519))).toBe(65504);
    expect(float32ToFloat16Bits(65520)).toBe(0x7c00);
    expect(float32ToFloat16Bits(-1e6)).toBe(0xfc00);
    expect(float32ToFloat16Bits(Number.POSITIVE_INFINITY)).toBe(0x7c00);
    expect(float32ToFloat16Bits(2 ** -24)).toBe(0x0001);
    expect(float32ToFloat16Bits(2 ** -25)).toBe(0x0000); // tie to even (0)
    expect(float32ToFloat16Bits(2 ** -25 * 1.0001)).toBe(0x0001);
    expect(float32ToFloat16Bits(-(2 ** -26))).toBe(0x8000);
    expect(isNaNHalf(float32ToFloat16Bits(Number.NaN))).toBe(true);
  });

  it('keeps the relative error of normal values within 2^-11', () => {
    const random = createPrng(9);
    const values = Float32Array.from({ length: 5000 }, () => (random.next() * 2 - 1) * 10);
    const back = float16ArrayToFloat32(float32ArrayToFloat16(values));
    for (let i = 0; i < values.length; i++) {
      if (Math.abs(values[i]!) < 2 ** -14) continue;
      expect(Math.abs(back[i]! - values[i]!)).toBeLessThanOrEqual(Math.abs(values[i]!) * 2 ** -11);
    }
  });
});
