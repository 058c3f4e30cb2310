// Naive float64 references for the cpu kernels of @firegrad/ops (conv, pooling), written straight
// from the definitions, and the tolerance they are compared with; used by the op test files.
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
import { expect } from 'vitest';
import type { FloatArray } from '@firegrad/core';
import { convOutSize, poolOutSize, type Conv2dGeometry, type Pool2dGeometry } from '@firegrad/ops';
import { backwardBiasInto, backwardInputImages, backwardWeightImages, forwardImages, maxPool2dBackward, maxPool2dForward } from '@firegrad/ops/internal';

export { RUNS } from '../helpers';
const U32 = 2 ** -24;

export type Dtype = 'float32' | 'float64';
export const DTYPES: Dtype[] = ['float64', 'float32'];

/** Random values in [−1, 1), float32-representable so both dtypes see the same numbers. */
export function randomValues(n: number, seed: number): Float64Array {
  const a = new Float64Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; // xorshift32
    a[i] = Math.fround(s / 2 ** 31 - 1);
  }
  return a;
}

export function asType(a: Float64Array, dtype: Dtype): FloatArray {
  return dtype === 'float64' ? Float64Array.from(a) : Float32Array.from(a);
}

export function zeroArray(n: number, dtype: Dtype): FloatArray {
  return dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
}

/**
 * Checks got ≈ want elementwise: |got − want| ≤ rel·scale[i] (+ a denormal-sized floor). `n` is
 * the reduction length behind each value, used for the float32 bound.
 */
export function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, scale: ArrayLike<number>,
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

export const convGeometry = fc.record({
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

export function checkConv(g: Conv2dGeometry, dtype: Dtype, withBias: boolean, seed: number): void {
  const xs = randomValues(g.N * g.C * g.H * g.W, seed);
  const ws = randomValues(g.OC * (g.C / g.groups) * g.KH * g.KW, seed + 1);
  const bs = withBias ? randomValues(g.OC, seed + 2) : null;
  const dys = randomValues(g.N * g.OC * g.OH * g.OW, seed + 3);
  const ref = naiveConv(xs, ws, bs, dys, g);
  const x = asType(xs, dtype), w = asType(ws, dtype), dy = asType(dys, dtype);
  const kdepth = (g.C / g.groups) * g.KH * g.KW;
  const label = `conv ${JSON.stringify(g)}`;

  const out = zeroArray(ref.out.length, dtype);
  forwardImages(x, w, bs && asType(bs, dtype), g, out);
  expectClose(out, ref.out, ref.outScale, dtype, kdepth + 1, `${label} forward`);

  const dx = asType(randomValues(xs.length, seed + 4), dtype); // garbage: must be overwritten
  backwardInputImages(dy, w, g, dx);
  expectClose(dx, ref.dx, ref.dxScale, dtype, g.OC / g.groups * g.KH * g.KW, `${label} dx`);

  const dw = asType(randomValues(ws.length, seed + 5), dtype);
  backwardWeightImages(x, dy, g, dw);
  expectClose(dw, ref.dw, ref.dwScale, dtype, g.N * g.OH * g.OW, `${label} dw`);

  const db = asType(randomValues(g.OC, seed + 10), dtype);
  backwardBiasInto(dy, g, db);
  expectClose(db, ref.db, ref.dbScale, dtype, g.N * g.OH * g.OW, `${label} db`);

  // Batch ranges, as a worker pool would split them: per-image forward and dx pieces reproduce
  // the whole; per-range dw and db partial sums add up to it.
  if (g.N > 1) {
    const split = 1 + (seed % (g.N - 1));
    const out2 = zeroArray(out.length, dtype), dx2 = zeroArray(dx.length, dtype);
    // Garbage in the partial buffers: each range's sum must overwrite, not accumulate.
    const dwA = asType(randomValues(dw.length, seed + 6), dtype), dwB = asType(randomValues(dw.length, seed + 7), dtype);
    const dbA = asType(randomValues(db.length, seed + 8), dtype), dbB = asType(randomValues(db.length, seed + 9), dtype);
    for (const [n0, n1] of [[0, split], [split, g.N]]) {
      forwardImages(x, w, bs && asType(bs, dtype), g, out2, n0, n1);
      backwardInputImages(dy, w, g, dx2, n0, n1);
    }
    backwardWeightImages(x, dy, g, dwA, 0, split);
    backwardWeightImages(x, dy, g, dwB, split, g.N);
    backwardBiasInto(dy, g, dbA, 0, split);
    backwardBiasInto(dy, g, dbB, split, g.N);
    expect(Array.from(out2)).toEqual(Array.from(out));
    expect(Array.from(dx2)).toEqual(Array.from(dx));
    expectClose(dwA.map((v, i) => v + dwB[i]), ref.dw, ref.dwScale, dtype, g.N * g.OH * g.OW, `${label} dw split`);
    expectClose(dbA.map((v, i) => v + dbB[i]), ref.db, ref.dbScale, dtype, g.N * g.OH * g.OW, `${label} db split`);
  }
}

export function poolGeometry(dilation: boolean): fc.Arbitrary<Pool2dGeometry> {
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
export function naiveAvgPool(x: ArrayLike<number>, dy: ArrayLike<number>, g: Pool2dGeometry, countIncludePad: boolean) {
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
export function checkMaxPool(g: Pool2dGeometry, dtype: Dtype, xs: Float64Array, seed: number): void {
  const dys = randomValues(g.N * g.C * g.OH * g.OW, seed + 1);
  const ref = naiveMaxPool(xs, dys, g);
  const out = zeroArray(ref.out.length, dtype), argmax = new Int32Array(ref.out.length);
  maxPool2dForward(asType(xs, dtype), g, out, argmax);
  expect(Array.from(out)).toEqual(Array.from(ref.out));
  expect(Array.from(argmax)).toEqual(Array.from(ref.argmax));
  const dx = asType(randomValues(xs.length, seed + 2), dtype);
  maxPool2dBackward(asType(dys, dtype), argmax, g, dx);
  // Overlapping windows (stride < kernel) may route several dy to one input: a sum.
  expectClose(dx, ref.dx, ref.dxScale, dtype, g.KH * g.KW, `maxPool ${JSON.stringify(g)} dx`);
}

