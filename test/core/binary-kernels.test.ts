// The same-shape add, sub, mul and div on float32 WebAssembly SIMD (core's wasm/binary.ts) against
// their definition: each element is the float64 operation on the two float32 values, rounded to
// float32 (Math.fround), which is what the JS loops store. NaN, ±0, ±∞, subnormals and overflow,
// past one 16384-float chunk, at a length not a multiple of 4, in place, and over a sub-range.
import { afterEach, describe, expect, it } from 'vitest';
import { setSimd, simdEnabled } from '@firegrad/core';
import { SAME_SHAPE_KERNELS } from '@firegrad/core/internal';

const initial = simdEnabled();
afterEach(() => setSimd(initial));

function values(n: number, seed: number): Float32Array {
  const special = [NaN, 0, -0, Infinity, -Infinity, 1e-45, -1e-45, 3.4e38, -3.4e38, 1.17e-38];
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    a[i] = i % 5 === 0 ? special[(i / 5 + seed) % special.length] : (s / 2 ** 31 - 1) * 4;
  }
  return a;
}

const ops = { add: (a: number, b: number) => a + b, sub: (a: number, b: number) => a - b,
  mul: (a: number, b: number) => a * b, div: (a: number, b: number) => a / b };
const n = 16384 * 2 + 7;
const a = values(n, 1), b = values(n, 7);

describe('same-shape binary kernels on WebAssembly SIMD', () => {
  for (const [name, f] of Object.entries(ops) as [keyof typeof ops, (a: number, b: number) => number][]) {
    it(`${name}: every element is the float32 rounding of the exact operation, in place too`, () => {
      setSimd(true);
      const want = Float32Array.from(a, (v, i) => Math.fround(f(v, b[i])));
      const got = new Float32Array(n);
      SAME_SHAPE_KERNELS[name]([a, b, got], [], 0, n);
      const inPlace = a.slice();
      SAME_SHAPE_KERNELS[name]([inPlace, b, inPlace], [], 0, n);
      for (const [label, r] of [['out', got], ['in place', inPlace]] as const) {
        const at = r.findIndex((v, i) => !Object.is(v, want[i]));
        expect(at, `${label}: ${a[at]} ${name} ${b[at]} = ${r[at]}, want ${want[at]}`).toBe(-1);
      }
      expect(want.some(Number.isNaN) && want.some((v) => Math.abs(v) === Infinity), 'the special cases are exercised').toBe(true);
    });
  }

  it('a sub-range writes that range only, and equals the JS loop there', () => {
    const lo = 5, hi = 16384 + 11;
    const got = new Float32Array(n).fill(9), want = new Float32Array(n).fill(9);
    setSimd(true);
    SAME_SHAPE_KERNELS.mul([a, b, got], [], lo, hi);
    setSimd(false);
    SAME_SHAPE_KERNELS.mul([a, b, want], [], lo, hi);
    expect(got.findIndex((v, i) => !Object.is(v, want[i]))).toBe(-1);
    expect(got[lo - 1]).toBe(9);
    expect(got[hi]).toBe(9);
  });
});
