// gemmSum (a sum of products into one C, as a conv's grad-weight sums one product per image)
// against gemm called per term with accumulate from the second term on: bit for bit, on every
// backend, with the terms' operands built by the callback just before each product (the order it
// is called in is checked too). The shapes cross each blocking boundary of the WebAssembly path:
// several depth blocks (K > 256), A too big to pack whole, and C beyond one buffer block (M > 512
// or N > 1024: then the sum falls back to per-term products).
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { gemm, getGemmBackend, setGemmBackend, type GemmBackend } from '@firegrad/core';
import { gemmSum, wasmFmaAvailable, type GemmTerm } from '@firegrad/core/internal';
import { RUNS, expectIdentical, fcOpts } from '../helpers';

const initial = getGemmBackend();
afterEach(() => setGemmBackend(initial));
const BACKENDS: GemmBackend[] = ['js', 'wasm-simd', ...(wasmFmaAvailable() ? ['wasm-fma' as const] : [])];

function random(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

interface Case { M: number; N: number; K: number; count: number; transA: boolean; transB: boolean; seed: number }

/** [gemmSum's C, per-term gemm's C, the order gemmSum called the terms in]. */
function both({ M, N, K, count, transA, transB, seed }: Case): [Float32Array, Float32Array, number[]] {
  // Each term's operands live at their own offset of one array, rows padded (lda > the row).
  const lda = (transA ? M : K) + 3, ldb = (transB ? K : N) + 2;
  const aLen = (transA ? K : M) * lda, bLen = (transB ? N : K) * ldb;
  const A = random(count * aLen + 5, seed), B = random(count * bLen + 7, seed + 1);
  const term = (t: number): GemmTerm => ({ transA, transB, A, aOff: 5 + t * aLen, lda, B, bOff: 7 + t * bLen, ldb });
  const ldc = N + 1, got = random(M * ldc, seed + 2), want = got.slice();
  const calls: number[] = [];
  gemmSum(M, N, K, got, 1, ldc, count, (t) => { calls.push(t); return term(t); });
  for (let t = 0; t < count; t++) {
    const p = term(t);
    gemm(transA, transB, M, N, K, p.A, p.aOff, p.lda, p.B, p.bOff, p.ldb, want, 1, ldc, t > 0);
  }
  return [got, want, calls];
}

describe('gemmSum', () => {
  it('equals per-term gemm with accumulate, bit for bit, on random shapes and every backend', () => {
    const arb = fc.record({
      M: fc.integer({ min: 1, max: 40 }), N: fc.integer({ min: 1, max: 40 }), K: fc.integer({ min: 1, max: 300 }),
      count: fc.integer({ min: 1, max: 4 }), transA: fc.boolean(), transB: fc.boolean(), seed: fc.nat(),
    });
    for (const backend of BACKENDS) {
      setGemmBackend(backend);
      fc.assert(fc.property(arb, (c) => {
        const [got, want, calls] = both(c);
        expect(calls).toEqual(Array.from({ length: c.count }, (_, t) => t));
        expectIdentical([got], [want]);
      }), fcOpts(RUNS));
    }
  });

  it('refuses a term whose operands are not of C\'s type on the WebAssembly path', () => {
    setGemmBackend('wasm-simd');
    const A = new Float64Array(4), B = new Float64Array(4), C = new Float32Array(4);
    expect(() => gemmSum(2, 2, 2, C, 0, 2, 1, () => ({ transA: false, transB: false, A, aOff: 0, lda: 2, B, bOff: 0, ldb: 2 })))
      .toThrow(/gemmSum: a term's A and B must be of C's type/);
  });

  it('across the blocking boundaries: depth blocks, A not packed whole, C beyond one buffer block', () => {
    const cases: Omit<Case, 'seed'>[] = [
      { M: 64, N: 288, K: 784, count: 3, transA: false, transB: true }, // a conv's grad-weight, 28×28 images
      { M: 130, N: 20, K: 1100, count: 2, transA: true, transB: false }, // mPad·K > the whole-A region
      { M: 513, N: 9, K: 17, count: 2, transA: false, transB: false }, // M beyond one buffer block
      { M: 3, N: 1030, K: 9, count: 2, transA: false, transB: true }, // N beyond one buffer block
    ];
    for (const backend of BACKENDS) {
      setGemmBackend(backend);
      cases.forEach((c, i) => {
        const [got, want] = both({ ...c, seed: 40 + i });
        expectIdentical([got], [want]);
      });
    }
  });
});
