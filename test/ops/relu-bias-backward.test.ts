// A fused conv's ReLU backward and its bias gradient in one WebAssembly pass over dy (core's
// reluBackwardBiasWasm, through ops' reluBiasBackwardRange) must give the bits of the two passes
// it replaces: ReLU's backward (g where y > 0, else +0), then backwardBiasInto's four float64
// running sums per channel over the images in order. Planes of every length mod 4 (the scalar
// tail), channel sub-ranges (a thread's part), more channels than the sums region holds, and
// values at the edges: NaN, ±∞, −0, subnormals, in y and in dy. The same pass unmasked (a conv's
// bias gradient with no ReLU before it, core's biasGradientWasm) must give backwardBiasInto's bits.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { biasGradientFused, reluBackwardBiasFused, reluBackwardRange } from '@firegrad/core/internal';
import { backwardBiasInto } from '@firegrad/ops/internal';
import type { Conv2dGeometry } from '@firegrad/ops';
import { RUNS, expectIdentical, fcOpts } from '../helpers';

const SPECIAL = [NaN, Infinity, -Infinity, -0, 0, 1e-40, -1e-40, 3.4e38];

function values(n: number, seed: number, specials: boolean): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return specials && s % 17 === 0 ? SPECIAL[(s >>> 8) % SPECIAL.length] : s / 2 ** 32 - 0.5;
  });
}

const geometry = (N: number, OC: number, OH: number, OW: number): Conv2dGeometry =>
  ({ N, C: 1, H: OH, W: OW, OC, KH: 1, KW: 1, SH: 1, SW: 1, PH: 0, PW: 0, DH: 1, DW: 1, groups: 1, OH, OW });

/** Both ways over channels [oc0, oc1): [masked, db] fused, then [masked, db] by the two passes. */
function bothWays(N: number, OC: number, OH: number, OW: number, oc0: number, oc1: number, seed: number, specials: boolean) {
  const plane = OH * OW, n = N * OC * plane;
  const y = values(n, seed, specials), dy = values(n, seed + 1, specials);
  const fused = [new Float32Array(n), new Float32Array(OC)], twoPass = [new Float32Array(n), new Float32Array(OC)];
  const ran = reluBackwardBiasFused(y, dy, fused[0], fused[1], N, OC, plane, oc0, oc1);
  for (let i = 0; i < N; i++) reluBackwardRange([y, dy, twoPass[0]], [], (i * OC + oc0) * plane, (i * OC + oc1) * plane);
  backwardBiasInto(twoPass[0], geometry(N, OC, OH, OW), twoPass[1], 0, N, oc0, oc1);
  return { ran, fused, twoPass };
}

describe('ReLU backward fused with the bias gradient', () => {
  it('gives the bits of the two passes on random shapes, channel ranges and edge values', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 11 }), fc.integer({ min: 1, max: 11 }),
      fc.nat(), fc.boolean(), fc.nat(), (N, OC, OH, OW, cut, specials, seed) => {
        const oc0 = cut % OC, oc1 = oc0 + 1 + ((cut >>> 4) % (OC - oc0));
        const { ran, fused, twoPass } = bothWays(N, OC, OH, OW, oc0, oc1, seed, specials);
        expect(ran).toBe(true);
        expectIdentical(fused, twoPass);
      }), fcOpts(RUNS));
  });

  it('covers SqueezeNet-sized planes (13×13: a tail of 1; 55×55: 3) and more channels than its sums region holds', () => {
    for (const [N, OC, OH, OW] of [[4, 64, 13, 13], [2, 16, 55, 55], [1, 2500, 2, 3]] as const) {
      const { ran, fused, twoPass } = bothWays(N, OC, OH, OW, 0, OC, N * OC, true);
      expect(ran).toBe(true);
      expectIdentical(fused, twoPass);
    }
  });

  it('declines planes over its chunk, and float64, leaving the outputs untouched', () => {
    const n = 2 * 130 * 130, y = values(n, 1, false), out = new Float32Array(n), db = new Float32Array(2);
    expect(reluBackwardBiasFused(y, y, out, db, 1, 2, 130 * 130, 0, 2)).toBe(false);
    expect(out.every((v) => v === 0) && db.every((v) => v === 0)).toBe(true);
    const y64 = Float64Array.from(values(8, 2, false)), out64 = new Float64Array(8), db64 = new Float64Array(2);
    expect(reluBackwardBiasFused(y64, y64, out64, db64, 1, 2, 4, 0, 2)).toBe(false);
  });
});

describe('the bias gradient alone on WebAssembly SIMD', () => {
  /** [db] by the WebAssembly sums and by backwardBiasInto, over channels [oc0, oc1); dy must stay as it was. */
  function both(N: number, OC: number, OH: number, OW: number, oc0: number, oc1: number, seed: number, specials: boolean) {
    const plane = OH * OW, dy = values(N * OC * plane, seed, specials), before = dy.slice();
    const got = new Float32Array(OC), want = new Float32Array(OC);
    const ran = biasGradientFused(dy, got, N, OC, plane, oc0, oc1);
    backwardBiasInto(dy, geometry(N, OC, OH, OW), want, 0, N, oc0, oc1);
    expect(ran).toBe(true);
    expectIdentical([got, dy], [want, before]);
  }

  it('gives the bits of backwardBiasInto on random shapes, channel ranges and edge values', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 11 }), fc.integer({ min: 1, max: 11 }),
      fc.nat(), fc.boolean(), fc.nat(), (N, OC, OH, OW, cut, specials, seed) => {
        const oc0 = cut % OC, oc1 = oc0 + 1 + ((cut >>> 4) % (OC - oc0));
        both(N, OC, OH, OW, oc0, oc1, seed, specials);
      }), fcOpts(RUNS));
  });

  it('covers the training net\'s first conv (64 channels of 28×28) and more channels than the sums region holds', () => {
    for (const [N, OC, OH, OW] of [[3, 64, 28, 28], [1, 2500, 2, 3]] as const) both(N, OC, OH, OW, 0, OC, N + OC, true);
  });
});
