// ReLU's float32 WebAssembly SIMD loops (core's wasm/relu.ts) against the JS loops, which
// follow PyTorch: relu keeps NaN, and the backward passes the gradient only where the output > 0.
import { afterEach, describe, expect, it } from 'vitest';
import { reluBackwardInto, reluInto, setSimd, simdEnabled } from '@firegrad/core';
import { reluBackwardWasm, reluWasm } from '@firegrad/core/internal';

const initial = simdEnabled();
afterEach(() => setSimd(initial));

/** Values with every special case, repeated past one 16384-float chunk, at a length not a multiple of 4. */
function values(n: number): Float32Array {
  const special = [NaN, -NaN, 0, -0, Infinity, -Infinity, 1e-45, -1e-45, 3.4e38, -3.4e38];
  const a = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    a[i] = i % 7 === 0 ? special[(i / 7) % special.length] : s / 2 ** 31 - 1;
  }
  return a;
}

describe('relu kernels', () => {
  const x = values(16384 * 2 + 7), g = values(x.length).reverse();

  it('forward: WebAssembly SIMD equals the JS loop (NaN kept, −0 and negatives to +0)', () => {
    setSimd(false);
    const want = new Float32Array(x.length);
    reluInto(x, want);
    const got = new Float32Array(x.length);
    reluWasm(x, got);
    expect(Array.from(got).map((v) => Object.is(v, -0) ? 'neg0' : v)).toEqual(Array.from(want).map((v) => Object.is(v, -0) ? 'neg0' : v));
    expect(want.some(Number.isNaN)).toBe(true);
    for (let i = 0; i < x.length; i++) if (x[i] > 0 && got[i] !== x[i]) expect.fail(`relu(${x[i]}) = ${got[i]}`);
  });

  it('backward: WebAssembly SIMD equals the JS loop, in place too', () => {
    setSimd(false);
    const y = new Float32Array(x.length);
    reluInto(x, y);
    const want = new Float32Array(x.length);
    reluBackwardInto(y, g, want);
    const got = g.slice();
    reluBackwardWasm(y, got, got);
    expect(got).toEqual(want);
    for (let i = 0; i < y.length; i++) if (want[i] !== (y[i] > 0 ? g[i] : 0) && !Number.isNaN(g[i])) expect.fail(`at ${i}`);
  });
});
