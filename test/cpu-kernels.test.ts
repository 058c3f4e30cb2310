// Differential tests of the cpu kernels (GEMM, conv, pooling, cat) against naive float64 loops
// written here straight from the definitions, over random geometries.
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
import { afterEach, describe, expect, it } from 'vitest';
import { gemm, getGemmBackend, setGemmBackend, type FloatArray } from '../packages/core/src/kernels/gemm';
import { convOutSize, poolOutSize, type Conv2dGeometry, type Pool2dGeometry } from '@firegrad/ops';
import {
  adaptiveAvgPool2dBackward, adaptiveAvgPool2dForward, avgPool2dBackward, avgPool2dForward,
  backwardBiasInto as conv2dBackwardBias, backwardInputImages as conv2dBackwardInput,
  backwardWeightImages as conv2dBackwardWeight, catInto as catForward, forwardImages as conv2dForward,
  maxPool2dBackward, maxPool2dForward, sliceInto as sliceCopy, wasmMaxPool2x2Fits,
} from '@firegrad/ops/internal';

const RUNS = Number(process.env.FIREGRAD_RUNS ?? 100);
const U32 = 2 ** -24;

type Dtype = 'float32' | 'float64';
const DTYPES: Dtype[] = ['float64', 'float32'];

/** Random values in [−1, 1), float32-representable so both dtypes see the same numbers. */
function randomValues(n: number, seed: number): Float64Array {
  const a = new Float64Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; // xorshift32
    a[i] = Math.fround(s / 2 ** 31 - 1);
  }
  return a;
}

function asType(a: Float64Array, dtype: Dtype): FloatArray {
  return dtype === 'float64' ? Float64Array.from(a) : Float32Array.from(a);
}

function zeros(n: number, dtype: Dtype): FloatArray {
  return dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
}

/**
 * Checks got ≈ want elementwise: |got − want| ≤ rel·scale[i] (+ a denormal-sized floor). `n` is
 * the reduction length behind each value, used for the float32 bound.
 */
function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, scale: ArrayLike<number>,
  dtype: Dtype, n: number, what: string): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  const rel = dtype === 'float64' ? 1e-12 : Math.max(n, 2) * U32;
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= rel * scale[i] + 1e-30)) {
      expect.fail(`${what}[${i}] (${dtype}): got ${got[i]}, want ${want[i]}, |err| ${err} > ${rel * scale[i]}`);
    }
  }
}

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

// ---------------------------------------------------------------------------------------------
// Conv

interface ConvRef {
  out: Float64Array; outScale: Float64Array;
  dx: Float64Array; dxScale: Float64Array;
  dw: Float64Array; dwScale: Float64Array;
  db: Float64Array; dbScale: Float64Array;
}

/** The 7-deep direct convolution and, in the same loops, its three gradients given dy. */
function naiveConv(x: Float64Array, w: Float64Array, bias: Float64Array | null, dy: Float64Array,
  g: Conv2dGeometry): ConvRef {
  const { N, C, H, W, OC, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, groups } = g;
  const cg = C / groups, ocg = OC / groups;
  const r: ConvRef = {
    out: new Float64Array(N * OC * OH * OW), outScale: new Float64Array(N * OC * OH * OW),
    dx: new Float64Array(x.length), dxScale: new Float64Array(x.length),
    dw: new Float64Array(w.length), dwScale: new Float64Array(w.length),
    db: new Float64Array(OC), dbScale: new Float64Array(OC),
  };
  for (let n = 0; n < N; n++) {
    for (let oc = 0; oc < OC; oc++) {
      const gi = Math.floor(oc / ocg);
      for (let oh = 0; oh < OH; oh++) {
        for (let ow = 0; ow < OW; ow++) {
          const o = ((n * OC + oc) * OH + oh) * OW + ow;
          let s = bias ? bias[oc] : 0, m = Math.abs(s);
          for (let c = 0; c < cg; c++) {
            for (let kh = 0; kh < KH; kh++) {
              for (let kw = 0; kw < KW; kw++) {
                const ih = oh * SH - PH + kh * DH, iw = ow * SW - PW + kw * DW;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                const xi = ((n * C + gi * cg + c) * H + ih) * W + iw;
                const wi = ((oc * cg + c) * KH + kh) * KW + kw;
                s += x[xi] * w[wi];
                m += Math.abs(x[xi] * w[wi]);
                r.dx[xi] += w[wi] * dy[o];
                r.dxScale[xi] += Math.abs(w[wi] * dy[o]);
                r.dw[wi] += x[xi] * dy[o];
                r.dwScale[wi] += Math.abs(x[xi] * dy[o]);
              }
            }
          }
          r.out[o] = s;
          r.outScale[o] = m;
          r.db[oc] += dy[o];
          r.dbScale[oc] += Math.abs(dy[o]);
        }
      }
    }
  }
  return r;
}

const convGeometry = fc.record({
  N: fc.integer({ min: 1, max: 3 }), C: fc.integer({ min: 1, max: 6 }), groupPick: fc.nat(),
  ocPerGroup: fc.integer({ min: 1, max: 3 }),
  H: fc.integer({ min: 1, max: 12 }), W: fc.integer({ min: 1, max: 12 }),
  KH: fc.integer({ min: 1, max: 5 }), KW: fc.integer({ min: 1, max: 5 }),
  SH: fc.integer({ min: 1, max: 3 }), SW: fc.integer({ min: 1, max: 3 }),
  padPickH: fc.nat(), padPickW: fc.nat(),
  DH: fc.integer({ min: 1, max: 3 }), DW: fc.integer({ min: 1, max: 3 }),
}).map(({ groupPick, ocPerGroup, padPickH, padPickW, ...r }): Conv2dGeometry => {
  const divisors = [1, 2, 3, 4, 5, 6].filter((d) => r.C % d === 0);
  const groups = divisors[groupPick % divisors.length];
  const PH = padPickH % (Math.floor(r.KH / 2) + 1), PW = padPickW % (Math.floor(r.KW / 2) + 1);
  return {
    ...r, groups, OC: groups * ocPerGroup, PH, PW,
    OH: convOutSize(r.H, r.KH, r.SH, PH, r.DH), OW: convOutSize(r.W, r.KW, r.SW, PW, r.DW),
  };
}).filter((g) => g.OH >= 1 && g.OW >= 1);

function checkConv(g: Conv2dGeometry, dtype: Dtype, withBias: boolean, seed: number): void {
  const xs = randomValues(g.N * g.C * g.H * g.W, seed);
  const ws = randomValues(g.OC * (g.C / g.groups) * g.KH * g.KW, seed + 1);
  const bs = withBias ? randomValues(g.OC, seed + 2) : null;
  const dys = randomValues(g.N * g.OC * g.OH * g.OW, seed + 3);
  const ref = naiveConv(xs, ws, bs, dys, g);
  const x = asType(xs, dtype), w = asType(ws, dtype), dy = asType(dys, dtype);
  const kdepth = (g.C / g.groups) * g.KH * g.KW;
  const label = `conv ${JSON.stringify(g)}`;

  const out = zeros(ref.out.length, dtype);
  conv2dForward(x, w, bs && asType(bs, dtype), g, out);
  expectClose(out, ref.out, ref.outScale, dtype, kdepth + 1, `${label} forward`);

  const dx = asType(randomValues(xs.length, seed + 4), dtype); // garbage: must be overwritten
  conv2dBackwardInput(dy, w, g, dx);
  expectClose(dx, ref.dx, ref.dxScale, dtype, g.OC / g.groups * g.KH * g.KW, `${label} dx`);

  const dw = asType(randomValues(ws.length, seed + 5), dtype);
  conv2dBackwardWeight(x, dy, g, dw);
  expectClose(dw, ref.dw, ref.dwScale, dtype, g.N * g.OH * g.OW, `${label} dw`);

  const db = asType(randomValues(g.OC, seed + 10), dtype);
  conv2dBackwardBias(dy, g, db);
  expectClose(db, ref.db, ref.dbScale, dtype, g.N * g.OH * g.OW, `${label} db`);

  // Batch ranges, as a worker pool would split them: per-image forward and dx pieces reproduce
  // the whole; per-range dw and db partial sums add up to it.
  if (g.N > 1) {
    const split = 1 + (seed % (g.N - 1));
    const out2 = zeros(out.length, dtype), dx2 = zeros(dx.length, dtype);
    // Garbage in the partial buffers: each range's sum must overwrite, not accumulate.
    const dwA = asType(randomValues(dw.length, seed + 6), dtype), dwB = asType(randomValues(dw.length, seed + 7), dtype);
    const dbA = asType(randomValues(db.length, seed + 8), dtype), dbB = asType(randomValues(db.length, seed + 9), dtype);
    for (const [n0, n1] of [[0, split], [split, g.N]]) {
      conv2dForward(x, w, bs && asType(bs, dtype), g, out2, n0, n1);
      conv2dBackwardInput(dy, w, g, dx2, n0, n1);
    }
    conv2dBackwardWeight(x, dy, g, dwA, 0, split);
    conv2dBackwardWeight(x, dy, g, dwB, split, g.N);
    conv2dBackwardBias(dy, g, dbA, 0, split);
    conv2dBackwardBias(dy, g, dbB, split, g.N);
    expect(Array.from(out2)).toEqual(Array.from(out));
    expect(Array.from(dx2)).toEqual(Array.from(dx));
    expectClose(dwA.map((v, i) => v + dwB[i]), ref.dw, ref.dwScale, dtype, g.N * g.OH * g.OW, `${label} dw split`);
    expectClose(dbA.map((v, i) => v + dbB[i]), ref.db, ref.dbScale, dtype, g.N * g.OH * g.OW, `${label} db split`);
  }
}

describe('conv2d', () => {
  it('forward and gradients match the direct loops on random geometries', () => {
    fc.assert(fc.property(convGeometry, fc.constantFrom(...DTYPES), fc.boolean(), fc.nat(),
      (g, dtype, withBias, seed) => checkConv(g, dtype, withBias, seed)), { numRuns: 5 * RUNS });
  });

  it("handles stride-1 'same' convs (im2col by contiguous copies), with dilation and groups", () => {
    const same = fc.record({
      N: fc.integer({ min: 1, max: 2 }), C: fc.constantFrom(1, 2, 4), groups: fc.constantFrom(1, 2),
      H: fc.integer({ min: 1, max: 9 }), W: fc.integer({ min: 1, max: 9 }),
      KH: fc.constantFrom(1, 3, 5), KW: fc.constantFrom(1, 3, 5), DH: fc.integer({ min: 1, max: 3 }), DW: fc.integer({ min: 1, max: 3 }),
    }).filter((r) => r.C % r.groups === 0 && (r.KH > 1 || r.KW > 1)).map((r): Conv2dGeometry => {
      const PH = (r.DH * (r.KH - 1)) / 2, PW = (r.DW * (r.KW - 1)) / 2;
      return { ...r, OC: 2 * r.groups, SH: 1, SW: 1, PH, PW, OH: r.H, OW: r.W };
    });
    fc.assert(fc.property(same, fc.constantFrom(...DTYPES), fc.nat(), (g, dtype, seed) => checkConv(g, dtype, true, seed)),
      { numRuns: RUNS });
  });

  it('handles the pointwise (no im2col) path, with groups', () => {
    for (const dtype of DTYPES) {
      for (const groups of [1, 2]) {
        const g: Conv2dGeometry = {
          N: 2, C: 4, H: 5, W: 3, OC: 6, KH: 1, KW: 1, SH: 1, SW: 1, PH: 0, PW: 0, DH: 2, DW: 1, groups, OH: 5, OW: 3,
        };
        checkConv(g, dtype, true, 7 + groups);
      }
    }
  });

  it('handles images larger than a GEMM block (OH·OW > 1024, depth > 256)', () => {
    const g: Conv2dGeometry = {
      N: 1, C: 30, H: 36, W: 33, OC: 5, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, groups: 1, OH: 36, OW: 33,
    };
    for (const dtype of DTYPES) checkConv(g, dtype, true, 11);
  });
});

// ---------------------------------------------------------------------------------------------
// Pooling

/** Random pooling geometries with PyTorch's ceil-mode output sizes; dilation only if asked. */
function poolGeometry(dilation: boolean): fc.Arbitrary<Pool2dGeometry> {
  const d = fc.integer({ min: 1, max: dilation ? 3 : 1 });
  return fc.record({
    N: fc.integer({ min: 1, max: 3 }), C: fc.integer({ min: 1, max: 4 }),
    H: fc.integer({ min: 1, max: 12 }), W: fc.integer({ min: 1, max: 12 }),
    KH: fc.integer({ min: 1, max: 5 }), KW: fc.integer({ min: 1, max: 5 }),
    SH: fc.integer({ min: 1, max: 3 }), SW: fc.integer({ min: 1, max: 3 }),
    padPickH: fc.nat(), padPickW: fc.nat(), DH: d, DW: d, ceilMode: fc.boolean(),
  }).map(({ padPickH, padPickW, ceilMode, ...r }): Pool2dGeometry => {
    const PH = padPickH % (Math.floor(r.KH / 2) + 1), PW = padPickW % (Math.floor(r.KW / 2) + 1);
    return {
      ...r, PH, PW,
      OH: poolOutSize(r.H, r.KH, r.SH, PH, r.DH, ceilMode), OW: poolOutSize(r.W, r.KW, r.SW, PW, r.DW, ceilMode),
    };
  }).filter((g) => g.OH >= 1 && g.OW >= 1);
}

/** Max pool by scanning every tap in row-major order (PyTorch's CPU update rule), and its scatter. */
function naiveMaxPool(x: ArrayLike<number>, dy: ArrayLike<number>, g: Pool2dGeometry) {
  const { N, C, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW } = g;
  const out = new Float64Array(N * C * OH * OW), argmax = new Int32Array(out.length);
  const dx = new Float64Array(x.length), dxScale = new Float64Array(x.length);
  for (let p = 0; p < N * C; p++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        let best = -Infinity, at = -1;
        for (let kh = 0; kh < KH; kh++) {
          for (let kw = 0; kw < KW; kw++) {
            const ih = oh * SH - PH + kh * DH, iw = ow * SW - PW + kw * DW;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            const v = x[p * H * W + ih * W + iw];
            if (at < 0) at = ih * W + iw; // PyTorch starts from the first tap inside the input
            if (v > best || Number.isNaN(v)) {
              best = v;
              at = ih * W + iw;
            }
          }
        }
        const o = (p * OH + oh) * OW + ow;
        out[o] = best;
        argmax[o] = at;
        if (at >= 0) {
          dx[p * H * W + at] += dy[o];
          dxScale[p * H * W + at] += Math.abs(dy[o]);
        }
      }
    }
  }
  return { out, argmax, dx, dxScale };
}

/**
 * Average pool by counting taps: a tap counts toward the countIncludePad divisor when it lies in
 * the padded extent [−P, size + P), and toward the other divisor when it lies in the input.
 */
function naiveAvgPool(x: ArrayLike<number>, dy: ArrayLike<number>, g: Pool2dGeometry, countIncludePad: boolean) {
  const { N, C, H, W, KH, KW, SH, SW, PH, PW, OH, OW } = g;
  const out = new Float64Array(N * C * OH * OW), scale = new Float64Array(out.length);
  const dx = new Float64Array(x.length), dxScale = new Float64Array(x.length);
  for (let p = 0; p < N * C; p++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const taps: number[] = [];
        let padded = 0;
        for (let kh = 0; kh < KH; kh++) {
          for (let kw = 0; kw < KW; kw++) {
            const ih = oh * SH - PH + kh, iw = ow * SW - PW + kw;
            if (ih < H + PH && iw < W + PW) padded++;
            if (ih >= 0 && ih < H && iw >= 0 && iw < W) taps.push(p * H * W + ih * W + iw);
          }
        }
        const o = (p * OH + oh) * OW + ow;
        if (taps.length === 0) continue;
        const div = countIncludePad ? padded : taps.length;
        for (const t of taps) {
          out[o] += x[t] / div;
          scale[o] += Math.abs(x[t]) / div;
          dx[t] += dy[o] / div;
          dxScale[t] += Math.abs(dy[o]) / div;
        }
      }
    }
  }
  return { out, scale, dx, dxScale };
}

/** maxPool2d forward (values, argmax) and backward on `xs` against the tap-scanning loop. */
function checkMaxPool(g: Pool2dGeometry, dtype: Dtype, xs: Float64Array, seed: number): void {
  const dys = randomValues(g.N * g.C * g.OH * g.OW, seed + 1);
  const ref = naiveMaxPool(xs, dys, g);
  const out = zeros(ref.out.length, dtype), argmax = new Int32Array(ref.out.length);
  maxPool2dForward(asType(xs, dtype), g, out, argmax);
  expect(Array.from(out)).toEqual(Array.from(ref.out));
  expect(Array.from(argmax)).toEqual(Array.from(ref.argmax));
  const dx = asType(randomValues(xs.length, seed + 2), dtype);
  maxPool2dBackward(asType(dys, dtype), argmax, g, dx);
  // Overlapping windows (stride < kernel) may route several dy to one input: a sum.
  expectClose(dx, ref.dx, ref.dxScale, dtype, g.KH * g.KW, `maxPool ${JSON.stringify(g)} dx`);
}

describe('maxPool2d', () => {
  it('matches the tap-scanning loop (values, argmax, scatter) on ceil-mode geometries', () => {
    fc.assert(fc.property(poolGeometry(true), fc.constantFrom(...DTYPES), fc.nat(), fc.boolean(), (g, dtype, seed, ties) => {
      const xs = randomValues(g.N * g.C * g.H * g.W, seed);
      // Coarse values make ties common, to pin down first-max-wins.
      checkMaxPool(g, dtype, ties ? xs.map((v) => Math.round(v * 2)) : xs, seed);
    }), { numRuns: 3 * RUNS });
  });

  const pool2x2 = (N: number, C: number, H: number, W: number): Pool2dGeometry =>
    ({ N, C, H, W, KH: 2, KW: 2, SH: 2, SW: 2, PH: 0, PW: 0, DH: 1, DW: 1, OH: Math.floor(H / 2), OW: Math.floor(W / 2) });
  const initialBackend = getGemmBackend();
  afterEach(() => setGemmBackend(initialBackend));

  it('takes the 2×2, stride-2 fast path (JS, and WebAssembly SIMD for float32) with the same values, argmax, NaN and ties rule', () => {
    const arb = fc.record({
      N: fc.integer({ min: 1, max: 2 }), C: fc.integer({ min: 1, max: 3 }), H: fc.integer({ min: 2, max: 11 }), W: fc.integer({ min: 2, max: 11 }),
    }).map((r) => pool2x2(r.N, r.C, r.H, r.W));
    fc.assert(fc.property(arb, fc.constantFrom(...DTYPES), fc.boolean(), fc.nat(), (g, dtype, simd, seed) => {
      setGemmBackend(simd ? 'auto' : 'js');
      // Coarse values for ties (−0 against +0 among them), and a NaN now and then.
      const xs = randomValues(g.N * g.C * g.H * g.W, seed).map((v, i) => (i % 11 === 3 ? NaN : i % 7 === 2 ? -0 : Math.round(v * 2)));
      checkMaxPool(g, dtype, xs, seed);
    }), { numRuns: 2 * RUNS });
  });

  it('gives bit-identical results on SIMD and JS across chunks of planes, and for planes too big for a chunk', () => {
    // 64×64 planes of 28×28 (the training net's first pool) span several of the SIMD kernel's
    // chunks; a 260×258 plane does not fit one and takes the JS loop.
    expect(wasmMaxPool2x2Fits(28, 28)).toBe(true); // else both runs below would be JS
    expect(wasmMaxPool2x2Fits(260, 258)).toBe(false);
    for (const g of [pool2x2(64, 64, 28, 28), pool2x2(3, 300, 13, 12), pool2x2(1, 2, 260, 258)]) {
      const x = Float32Array.from(randomValues(g.N * g.C * g.H * g.W, g.C).map((v, i) => (i % 97 === 5 ? NaN : Math.round(v * 8))));
      const run = (backend: 'js' | 'auto') => {
        setGemmBackend(backend);
        const out = new Float32Array(g.N * g.C * g.OH * g.OW).fill(7), argmax = new Int32Array(out.length).fill(-7);
        maxPool2dForward(x, g, out, argmax);
        return { out, argmax };
      };
      const js = run('js'), simd = run('auto');
      // The first differing output, if any (a diff of 800k elements would take vitest minutes).
      const bits = new Int32Array(simd.out.buffer), jsBits = new Int32Array(js.out.buffer);
      const at = simd.argmax.findIndex((a, i) => a !== js.argmax[i] || bits[i] !== jsBits[i]);
      expect(at === -1 ? null : { at, simd: [simd.out[at], simd.argmax[at]], js: [js.out[at], js.argmax[at]] }, JSON.stringify(g)).toBeNull();
    }
  });

  it('propagates NaN and pads with −∞', () => {
    const g: Pool2dGeometry = { N: 1, C: 1, H: 2, W: 3, KH: 2, KW: 2, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, OH: 3, OW: 4 };
    const x = new Float64Array([-5, NaN, -7, -3, -2, NaN]);
    const out = new Float64Array(12), argmax = new Int32Array(12);
    maxPool2dForward(x, g, out, argmax);
    expect(Array.from(out)).toEqual([-5, NaN, NaN, -7, -3, NaN, NaN, NaN, -3, -2, NaN, NaN]);
    // In a window with two NaNs the later one is recorded, as PyTorch's update rule gives.
    expect(Array.from(argmax)).toEqual([0, 1, 1, 2, 3, 1, 5, 5, 3, 4, 5, 5]);
  });

  it('gives −∞ and argmax −1 for a window wholly in the padding, and routes no gradient there', () => {
    // Taps at −1 and 2 of a 2-wide input: the first window sees no element.
    const g: Pool2dGeometry = { N: 1, C: 1, H: 1, W: 2, KH: 1, KW: 2, SH: 1, SW: 1, PH: 0, PW: 1, DH: 1, DW: 3, OH: 1, OW: 1 };
    const out = new Float32Array(1), argmax = new Int32Array(1), dx = new Float32Array([9, 9]);
    maxPool2dForward(new Float32Array([1, 2]), g, out, argmax);
    expect([out[0], argmax[0]]).toEqual([-Infinity, -1]);
    maxPool2dBackward(new Float32Array([1]), argmax, g, dx);
    expect(Array.from(dx)).toEqual([0, 0]);
  });
});

describe('avgPool2d', () => {
  it('matches the tap-counting loop with and without countIncludePad, on ceil-mode geometries', () => {
    fc.assert(fc.property(poolGeometry(false), fc.constantFrom(...DTYPES), fc.boolean(), fc.nat(),
      (geo, dtype, includePad, seed) => {
        const xs = randomValues(geo.N * geo.C * geo.H * geo.W, seed);
        const dys = randomValues(geo.N * geo.C * geo.OH * geo.OW, seed + 1);
        const ref = naiveAvgPool(xs, dys, geo, includePad);
        const out = zeros(ref.out.length, dtype);
        avgPool2dForward(asType(xs, dtype), geo, includePad, out);
        expectClose(out, ref.out, ref.scale, dtype, geo.KH * geo.KW + 1, `avgPool ${JSON.stringify(geo)} forward`);
        const dx = asType(randomValues(xs.length, seed + 2), dtype);
        avgPool2dBackward(asType(dys, dtype), geo, includePad, dx);
        expectClose(dx, ref.dx, ref.dxScale, dtype, geo.KH * geo.KW + 1, `avgPool ${JSON.stringify(geo)} dx`);
      }), { numRuns: 3 * RUNS });
  });

  it('uses the padded-extent divisor for a ceil-mode window past the padding (PyTorch)', () => {
    // H = W = 4, k = 3, s = 2, p = 1, ceil: OH = 3; the last window [3, 6) is clipped to the
    // padded extent [−1, 5), so its divisor is 2 (rows) × 2 (cols) with countIncludePad.
    const g: Pool2dGeometry = { N: 1, C: 1, H: 4, W: 4, KH: 3, KW: 3, SH: 2, SW: 2, PH: 1, PW: 1, DH: 1, DW: 1, OH: 3, OW: 3 };
    expect(poolOutSize(4, 3, 2, 1, 1, true)).toBe(3);
    const x = new Float64Array(16).fill(1);
    const out = new Float64Array(9);
    avgPool2dForward(x, g, true, out);
    // Corner (0,0): window [−1, 2)² holds 4 real ones over divisor 9; last corner: 1 one over 4.
    expect(out[0]).toBeCloseTo(4 / 9, 15);
    expect(out[8]).toBeCloseTo(1 / 4, 15);
    avgPool2dForward(x, g, false, out);
    expect(Array.from(out)).toEqual(new Array(9).fill(1));
  });
});

describe('adaptiveAvgPool2d', () => {
  it('matches the window-mean loop, including output larger than input and global pooling', () => {
    const arb = fc.record({
      N: fc.integer({ min: 1, max: 2 }), C: fc.integer({ min: 1, max: 3 }),
      H: fc.integer({ min: 1, max: 12 }), W: fc.integer({ min: 1, max: 12 }),
      OH: fc.integer({ min: 1, max: 14 }), OW: fc.integer({ min: 1, max: 14 }),
    });
    fc.assert(fc.property(arb, fc.constantFrom(...DTYPES), fc.nat(), ({ N, C, H, W, OH, OW }, dtype, seed) => {
      const xs = randomValues(N * C * H * W, seed), dys = randomValues(N * C * OH * OW, seed + 1);
      const out = new Float64Array(N * C * OH * OW), scale = new Float64Array(out.length);
      const dx = new Float64Array(xs.length), dxScale = new Float64Array(xs.length);
      for (let p = 0; p < N * C; p++) {
        for (let i = 0; i < OH; i++) {
          for (let j = 0; j < OW; j++) {
            // Integer forms of ⌊i·H/OH⌋ and ⌈(i+1)·H/OH⌉.
            const h0 = Math.trunc((i * H) / OH), h1 = Math.trunc(((i + 1) * H + OH - 1) / OH);
            const w0 = Math.trunc((j * W) / OW), w1 = Math.trunc(((j + 1) * W + OW - 1) / OW);
            const o = (p * OH + i) * OW + j, cnt = (h1 - h0) * (w1 - w0);
            for (let ih = h0; ih < h1; ih++) {
              for (let iw = w0; iw < w1; iw++) {
                const t = (p * H + ih) * W + iw;
                out[o] += xs[t] / cnt;
                scale[o] += Math.abs(xs[t]) / cnt;
                dx[t] += dys[o] / cnt;
                dxScale[t] += Math.abs(dys[o]) / cnt;
              }
            }
          }
        }
      }
      const got = zeros(out.length, dtype);
      adaptiveAvgPool2dForward(asType(xs, dtype), N, C, H, W, OH, OW, got);
      expectClose(got, out, scale, dtype, H * W + 1, 'adaptiveAvgPool forward');
      const gotDx = asType(randomValues(xs.length, seed + 2), dtype);
      adaptiveAvgPool2dBackward(asType(dys, dtype), N, C, H, W, OH, OW, gotDx);
      expectClose(gotDx, dx, dxScale, dtype, OH * OW + 1, 'adaptiveAvgPool dx');
    }), { numRuns: 3 * RUNS });
  });
});

// ---------------------------------------------------------------------------------------------
// Cat

describe('cat', () => {
  it('catForward interleaves parts per outer row and sliceCopy takes them back', () => {
    const arb = fc.record({
      outer: fc.integer({ min: 0, max: 5 }),
      sizes: fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 4 }),
    });
    fc.assert(fc.property(arb, fc.constantFrom(...DTYPES), fc.nat(), ({ outer, sizes }, dtype, seed) => {
      const total = sizes.reduce((a, b) => a + b, 0);
      const parts = sizes.map((s, j) => asType(randomValues(outer * s, seed + j), dtype));
      const out = zeros(outer * total, dtype);
      catForward(parts, outer, sizes, out);
      const want = new Float64Array(outer * total);
      for (let o = 0; o < outer; o++) {
        let off = 0;
        sizes.forEach((s, j) => {
          for (let i = 0; i < s; i++) want[o * total + off + i] = parts[j][o * s + i];
          off += s;
        });
      }
      expect(Array.from(out)).toEqual(Array.from(want));
      let off = 0;
      sizes.forEach((s, j) => {
        const back = zeros(outer * s, dtype);
        sliceCopy(out, outer, total, off, s, back);
        expect(Array.from(back)).toEqual(Array.from(parts[j]));
        off += s;
      });
    }), { numRuns: RUNS });
  });
});
