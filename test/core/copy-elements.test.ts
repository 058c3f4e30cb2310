// copyElements (core's copy.ts), which the WebAssembly kernels and cat use for dst.set(src, at)
// where one end may be shared memory: against an element-by-element copy of the raw bits, for
// every pairing of ordinary and shared ends, float32, int32 and float64, offsets of both parities
// (the staged path is taken where the two ends' addresses differ by 4 mod 8), lengths on both
// sides of the 1,024 elements from which Node copies with one shared end by memcpy, past one
// staging round, and NaN payloads, −0 and subnormals, which must arrive bit for bit.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { copyElements } from '@firegrad/core/internal';
import { RUNS } from '../helpers';

type Kind = 'f32' | 'i32' | 'f64';

function array(kind: Kind, length: number, shared: boolean, seed: number) {
  const bytes = length * (kind === 'f64' ? 8 : 4);
  const buffer: ArrayBufferLike = shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  const a = kind === 'f32' ? new Float32Array(buffer) : kind === 'i32' ? new Int32Array(buffer) : new Float64Array(buffer);
  const bits = new Uint32Array(a.buffer);
  let s = seed >>> 0;
  for (let i = 0; i < bits.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    // Every 7th word a special float32: a NaN with a payload, −0 or a subnormal.
    bits[i] = i % 7 === 3 ? [0x7fc01234, 0xffa00001, 0x80000000, 0x00000001][s & 3] : s;
  }
  return a;
}

const rawBits = (a: ArrayBufferView) => new Uint32Array(a.buffer, a.byteOffset, a.byteLength / 4);

/** 0, 1, 2, … in shared memory, filled in place (map() would return an array over an ordinary buffer). */
function sharedCount(n: number): Float32Array {
  const a = new Float32Array(new SharedArrayBuffer(4 * n));
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

describe('copyElements', () => {
  it('copies the same bits as an element-by-element copy, for ordinary and shared ends', () => {
    fc.assert(fc.property(
      fc.constantFrom<Kind>('f32', 'i32', 'f64'), fc.boolean(), fc.boolean(),
      fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1000, max: 1050 }), fc.integer({ min: 4000, max: 9000 })),
      fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 }), fc.nat(),
      (kind, srcShared, dstShared, length, srcStart, dstView, at, seed) => {
        const src = array(kind, srcStart + length + 3, srcShared, seed).subarray(srcStart, srcStart + length);
        const whole = array(kind, dstView + at + length + 3, dstShared, seed + 1);
        const dst = whole.subarray(dstView);
        const want = rawBits(whole).slice();
        const wordsPer = whole.BYTES_PER_ELEMENT / 4, from = rawBits(src);
        for (let i = 0; i < from.length; i++) want[(dstView + at) * wordsPer + i] = from[i];
        copyElements(dst, src, at);
        const got = rawBits(whole), bad = got.findIndex((w, i) => w !== want[i]);
        expect(bad, `word ${bad}: ${got[bad]?.toString(16)}, want ${want[bad]?.toString(16)}`).toBe(-1);
      }), { numRuns: RUNS });
  });

  it('accepts what dst.set accepts, and like it writes nothing of a copy that does not fit', () => {
    // 9,000 elements into ordinary memory go by memcpy in Node; 1,000 are staged (their ends differ
    // by 4 mod 8), and 9,000 into shared memory are staged over three rounds.
    for (const [n, sharedOut] of [[9000, false], [1000, false], [9000, true]] as const) {
      const s = sharedCount(n + 1);
      expect(s.buffer).toBeInstanceOf(SharedArrayBuffer);
      const target = (length: number) => sharedOut ? new Float32Array(new SharedArrayBuffer(4 * length)) : new Float32Array(length);
      const d = target(n);
      copyElements(d, s.subarray(1), 0); // fills d exactly
      expect(Array.from(d.subarray(n - 10))).toEqual(Array.from({ length: 10 }, (_, i) => n - 9 + i));
      copyElements(d, s.subarray(0, 0), n);
      // The target is a view inside a bigger buffer, so a copy past its ends would land in memory.
      const big = target(n + 16), e = big.subarray(7, 7 + n); // at an odd element: the first two copies below are mismatched
      expect(() => copyElements(e, s.subarray(0, n - 1), 2)).toThrow(RangeError); // one past the end
      expect(() => copyElements(e, s, 0)).toThrow(RangeError);
      expect(() => copyElements(e, s.subarray(0, n - 1), -1)).toThrow(RangeError);
      expect(big.every((v) => v === 0)).toBe(true);
    }
  });

  it('copies overlapping ranges of one shared buffer as dst.set does', () => {
    for (const [n, from, to] of [[5000, 0, 1], [5000, 1, 0], [5000, 0, 2], [3000, 3, 0]]) {
      const a = sharedCount(n + 8);
      expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
      const want = a.slice();
      want.set(want.subarray(from, from + n), to);
      copyElements(a, a.subarray(from, from + n), to);
      expect(Array.from(a)).toEqual(Array.from(want));
    }
  });
});
