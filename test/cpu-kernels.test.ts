// Differential tests of the GEMM kernel against the naive triple loop, over random shapes, offsets
// and strides. (The conv, pooling and cat kernels are tested in test/ops/<op>.test.ts.)
//
// Tolerances. Every reference accumulates in float64 and we compare |got − want| against the sum
// of the magnitudes of the terms that make up the result (`scale`), so cancellation cannot make a
// correct result look wrong:
// - float64 kernels differ from the reference only in summation order: error ≤ n·2⁻⁵³·scale,
//   which for the reductions here (n ≤ ~3000) is below 1e-12·scale.
// - float32 kernels get float32-representable inputs (so products are exact in doubles) and round
//   to float32 at most once per stored partial result. The classic worst-case bound for a float32
//   sum of n terms, n·2⁻²⁴·scale (Higham's γₙ), covers any such scheme, and an indexing bug still
//   shows as an error of the order of a whole term, far above it for these sizes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gemm } from '../packages/core/src/kernels/gemm';
import { DTYPES, RUNS, asType, expectClose, randomValues, type Dtype } from './ops/references';


// ---------------------------------------------------------------------------------------------
// GEMM

/** C = opA(A)·opB(B) (+ C0) by the triple loop, plus the magnitude scale of each result. */
function naiveGemm(tA: boolean, tB: boolean, M: number, N: number, K: number,
  A: ArrayLike<number>, aOff: number, lda: number, B: ArrayLike<number>, bOff: number, ldb: number,
  C0: ArrayLike<number> | null, cOff: number, ldc: number): { C: Float64Array; scale: Float64Array } {
  const C = new Float64Array(M * N), scale = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = C0 ? C0[cOff + i * ldc + j] : 0;
      let m = Math.abs(s);
      for (let k = 0; k < K; k++) {
        const a = tA ? A[aOff + k * lda + i] : A[aOff + i * lda + k];
        const b = tB ? B[bOff + j * ldb + k] : B[bOff + k * ldb + j];
        s += a * b;
        m += Math.abs(a * b);
      }
      C[i * N + j] = s;
      scale[i * N + j] = m;
    }
  }
  return { C, scale };
}

interface GemmCase {
  tA: boolean; tB: boolean; M: number; N: number; K: number;
  aOff: number; bOff: number; cOff: number; padA: number; padB: number; padC: number; accumulate: boolean;
}

function checkGemm(c: GemmCase, dtype: Dtype, seed: number): void {
  const { tA, tB, M, N, K, aOff, bOff, cOff, accumulate } = c;
  const lda = (tA ? M : K) + c.padA, ldb = (tB ? K : N) + c.padB, ldc = N + c.padC;
  const aRows = tA ? K : M, bRows = tB ? N : K;
  const A = asType(randomValues(aOff + aRows * lda, seed), dtype);
  const B = asType(randomValues(bOff + bRows * ldb, seed + 1), dtype);
  // C starts as random values: they are the addend with accumulate, and a sentinel elsewhere.
  const C = asType(randomValues(cOff + M * ldc + 3, seed + 2), dtype);
  const C0 = Float64Array.from(C);
  gemm(tA, tB, M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc, accumulate);
  const want = naiveGemm(tA, tB, M, N, K, A, aOff, lda, B, bOff, ldb, accumulate ? C0 : null, cOff, ldc);
  const got = new Float64Array(M * N);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) got[i * N + j] = C[cOff + i * ldc + j];
  const label = `gemm ${tA ? 'T' : 'N'}${tB ? 'T' : 'N'} ${M}×${N}×${K}${accumulate ? ' +=' : ''}`;
  expectClose(got, want.C, want.scale, dtype, K + 1, label);
  // Everything outside the M×N window of C is untouched.
  for (let i = 0; i < C.length; i++) {
    const r = Math.floor((i - cOff) / ldc), col = (i - cOff) % ldc;
    const inside = i >= cOff && r < M && col < N;
    if (!inside && C[i] !== C0[i]) expect.fail(`${label}: wrote C[${i}] outside the output window`);
  }
}

describe('gemm', () => {
  const combos = [[false, false], [true, false], [false, true], [true, true]] as const;

  it('matches the triple loop on fixed edge sizes, all transposes and dtypes', () => {
    // 0 and 1 in every position; sizes around the 4×4 tile; and sizes crossing the KC (256),
    // MC (64) and NC (1024) block boundaries.
    const sizes: [number, number, number][] = [
      [0, 0, 0], [0, 3, 2], [3, 0, 2], [3, 2, 0], [1, 1, 1], [1, 7, 1], [7, 1, 5], [1, 1, 9],
      [4, 4, 4], [5, 3, 7], [8, 9, 1], [13, 17, 19], [70, 6, 3], [3, 5, 300], [66, 9, 513], [2, 1030, 3],
    ];
    let seed = 1;
    for (const [tA, tB] of combos) {
      for (const [M, N, K] of sizes) {
        for (const dtype of DTYPES) {
          for (const accumulate of [false, true]) {
            const c = { tA, tB, M, N, K, aOff: 3, bOff: 5, cOff: 2, padA: 1, padB: 2, padC: 3, accumulate };
            checkGemm(c, dtype, seed++);
          }
        }
      }
    }
  });

  it('matches the triple loop on random shapes, offsets and leading dims', () => {
    const arb = fc.record({
      tA: fc.boolean(), tB: fc.boolean(),
      M: fc.integer({ min: 0, max: 40 }), N: fc.integer({ min: 0, max: 40 }), K: fc.integer({ min: 0, max: 40 }),
      aOff: fc.integer({ min: 0, max: 5 }), bOff: fc.integer({ min: 0, max: 5 }), cOff: fc.integer({ min: 0, max: 5 }),
      padA: fc.integer({ min: 0, max: 3 }), padB: fc.integer({ min: 0, max: 3 }), padC: fc.integer({ min: 0, max: 3 }),
      accumulate: fc.boolean(),
    });
    fc.assert(fc.property(arb, fc.constantFrom(...DTYPES), fc.nat(), (c, dtype, seed) => checkGemm(c, dtype, seed)),
      { numRuns: 5 * RUNS });
  });

  it('with K = 0 zeroes C, or leaves it alone when accumulating', () => {
    const C = new Float32Array([1, 2, 3, 4, 5, 6]);
    gemm(false, false, 2, 2, 0, new Float32Array(0), 0, 0, new Float32Array(0), 0, 2, C, 0, 3, true);
    expect(Array.from(C)).toEqual([1, 2, 3, 4, 5, 6]);
    gemm(false, false, 2, 2, 0, new Float32Array(0), 0, 0, new Float32Array(0), 0, 2, C, 0, 3, false);
    expect(Array.from(C)).toEqual([0, 0, 3, 0, 0, 6]);
  });
});
