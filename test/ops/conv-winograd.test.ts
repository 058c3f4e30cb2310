// Winograd's F(2×2, 3×3) path of float32 3×3 convs (core's wasm/winograd.ts), forward and
// grad-input, against the float64 im2col conv as the exact reference: within a bound derived from
// the float32 unit roundoff, on random geometries (odd and tiny planes, groups, a bias, the fused
// ReLU). Images holding ∞ or NaN must get the im2col path's bits, and the others must not change.
// Bit-identity over thread counts is in conv2d.test.ts; the PyTorch fixtures of SqueezeNet
// (nn/squeezenet.test.ts) run through this path too.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ValueError, setWinograd, winogradEnabled } from '@firegrad/core';
import type { Conv2dGeometry } from '@firegrad/ops';
import { backwardInputImages, forwardImages, lastConvAlgorithm } from '@firegrad/ops/internal';
import { RUNS, fcOpts } from '../helpers';
import { mulberry32, randomArray } from './gpujs-modes';

const initial = winogradEnabled();
afterEach(() => setWinograd(initial));

const geometryArb = fc.record({
  N: fc.integer({ min: 1, max: 3 }), groups: fc.integer({ min: 1, max: 2 }), cg: fc.integer({ min: 16, max: 20 }),
  ocg: fc.integer({ min: 16, max: 21 }), H: fc.integer({ min: 1, max: 17 }), W: fc.integer({ min: 1, max: 17 }),
  bias: fc.boolean(), relu: fc.boolean(), seed: fc.nat(),
}).map(({ N, groups, cg, ocg, H, W, ...rest }) => ({
  g: {
    N, C: groups * cg, H, W, OC: groups * ocg, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, groups, OH: H, OW: W,
  } satisfies Conv2dGeometry,
  ...rest,
}));

const random = (n: number, seed: number) => randomArray(n, mulberry32(seed));

/** Unit roundoff of float32, and γ_n = n·u / (1 − n·u): the worst-case relative error of an n-term sum of products. */
const u = 2 ** -24;
const gamma = (n: number) => (n * u) / (1 - n * u);

interface Pass { got: Float32Array; exact: Float64Array; magnitude: Float64Array; terms: number; algorithm: string | null }

/** Forward with Winograd on, its float64 reference, and the reference of |x|·|w| + |bias| (the sum the error bound scales with). */
function forward(g: Conv2dGeometry, x: Float32Array, w: Float32Array, bias: Float32Array | null, relu: boolean): Pass {
  setWinograd(true);
  const got = new Float32Array(g.N * g.OC * g.OH * g.OW);
  forwardImages(x, w, bias, g, got, 0, g.N, relu);
  const algorithm = lastConvAlgorithm();
  const exact = new Float64Array(got.length), magnitude = new Float64Array(got.length);
  forwardImages(Float64Array.from(x), Float64Array.from(w), bias && Float64Array.from(bias), g, exact, 0, g.N, relu);
  const abs = (a: Float32Array) => Float64Array.from(a, Math.abs);
  forwardImages(abs(x), abs(w), bias && abs(bias), g, magnitude);
  return { got, exact, magnitude, terms: (g.C / g.groups) * 9, algorithm };
}

function backwardInput(g: Conv2dGeometry, dy: Float32Array, w: Float32Array): Pass {
  setWinograd(true);
  const got = new Float32Array(g.N * g.C * g.H * g.W);
  backwardInputImages(dy, w, g, got);
  const algorithm = lastConvAlgorithm();
  const exact = new Float64Array(got.length), magnitude = new Float64Array(got.length);
  backwardInputImages(Float64Array.from(dy), Float64Array.from(w), g, exact);
  backwardInputImages(Float64Array.from(dy, Math.abs), Float64Array.from(w, Math.abs), g, magnitude);
  return { got, exact, magnitude, terms: (g.OC / g.groups) * 9, algorithm };
}

/**
 * |got − exact| ≤ 4·γ_(terms + 8)·Σ|terms| element-wise: four times the worst-case bound of the direct
 * sum, plus 8 for the transforms' additions (each input tile value is a sum of up to 4 pixels, each
 * output a sum of up to 9 products' combinations; their coefficients are ±1 and ½, exact in float32).
 * The direct im2col sum stays within 1·γ; the slack is Winograd's recombination of rounded products.
 */
function expectWithinBound({ got, exact, magnitude, terms }: Pass, what: string): void {
  const bound = 4 * gamma(terms + 8);
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i] - exact[i]);
    if (!(err <= bound * magnitude[i])) {
      expect.fail(`${what}: element ${i} is ${got[i]}, exact ${exact[i]}: error ${err} above ${bound * magnitude[i]}`);
    }
  }
}

describe("Winograd's F(2×2, 3×3) for float32 3×3 convs", () => {
  it('forward (bias, fused ReLU) and grad-input stay within the float32 bound of the exact float64 conv', () => {
    fc.assert(fc.property(geometryArb, ({ g, bias, relu, seed }) => {
      const x = random(g.N * g.C * g.H * g.W, seed), w = random(g.OC * (g.C / g.groups) * 9, seed + 1);
      const b = bias ? random(g.OC, seed + 2) : null, dy = random(g.N * g.OC * g.OH * g.OW, seed + 3);
      expectWithinBound(forward(g, x, w, b, relu), 'forward');
      expectWithinBound(backwardInput(g, dy, w), 'grad-input');
    }), fcOpts(RUNS));
  });

  it('stays within the bound where U_ξ and the products fill their regions in blocks of output channels (512 → 512)', () => {
    // 512 × 512 kernels: the 16 U_ξ do not fit the A region at once, nor one whole U_ξ.
    const g: Conv2dGeometry = { N: 1, C: 512, H: 6, W: 5, OC: 512, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, groups: 1, OH: 6, OW: 5 };
    const x = random(512 * 30, 11), w = random(512 * 512 * 9, 12), b = random(512, 13), dy = random(512 * 30, 14);
    for (const [what, pass] of [['forward', forward(g, x, w, b, true)], ['grad-input', backwardInput(g, dy, w)]] as const) {
      expect(pass.algorithm, what).toBe('winograd');
      expectWithinBound(pass, what);
    }
  });

  it('is the path these geometries take, and only with at least 16 channels read and the switch on', () => {
    const [{ g }] = fc.sample(geometryArb, { numRuns: 1, seed: 7 });
    const x = random(g.N * g.C * g.H * g.W, 1), w = random(g.OC * (g.C / g.groups) * 9, 2), dy = random(g.N * g.OC * g.H * g.W, 3);
    const run = (on: boolean, geometry = g) => {
      setWinograd(on);
      forwardImages(x, w, null, geometry, new Float32Array(g.N * g.OC * g.H * g.W));
      const forward = lastConvAlgorithm();
      backwardInputImages(dy, w, geometry, new Float32Array(x.length));
      return [forward, lastConvAlgorithm()];
    };
    expect(run(true)).toEqual(['winograd', 'winograd']);
    expect(run(false)).toEqual(['im2col', 'im2col']);
    // 15 channels read per group: the forward takes im2col (grad-input still reads ≥ 16 of dy's)
    const thin = { ...g, C: 15 * g.groups };
    expect(run(true, thin)).toEqual(['im2col', 'winograd']);
    // no padding (the output is smaller than the input): im2col
    const valid: Conv2dGeometry = { ...g, N: 1, groups: 1, C: 16, OC: 16, H: 6, W: 6, PH: 0, PW: 0, OH: 4, OW: 4 };
    setWinograd(true);
    forwardImages(random(16 * 36, 4), random(16 * 16 * 9, 5), null, valid, new Float32Array(16 * 16));
    expect(lastConvAlgorithm()).toBe('im2col');
  });

  it('gives an image holding ∞ or NaN the bits of the im2col path, and leaves the other images alone', () => {
    const g: Conv2dGeometry = { N: 4, C: 32, H: 9, W: 10, OC: 20, KH: 3, KW: 3, SH: 1, SW: 1, PH: 1, PW: 1, DH: 1, DW: 1, groups: 2, OH: 9, OW: 10 };
    const plane = g.H * g.W, x = random(g.N * g.C * plane, 5), w = random(g.OC * 16 * 9, 6), dy = random(g.N * g.OC * plane, 7);
    x[1 * g.C * plane + 3 * plane + 4 * g.W + 5] = Infinity; // image 1, group 0
    x[3 * g.C * plane + g.C * plane - 1] = NaN; // image 3, group 1, its last pixel
    dy[2 * g.OC * plane + 7] = -Infinity; // image 2, group 0
    const passes = (on: boolean) => {
      setWinograd(on);
      const out = new Float32Array(g.N * g.OC * plane), dx = new Float32Array(x.length);
      forwardImages(x, w, null, g, out, 0, g.N, true);
      backwardInputImages(dy, w, g, dx);
      return { out, dx };
    };
    const winograd = passes(true), im2col = passes(false), clean = (() => {
      setWinograd(true);
      const out = new Float32Array(g.N * g.OC * plane), dx = new Float32Array(x.length);
      forwardImages(x.map((v) => (Number.isFinite(v) ? v : 0)), w, null, g, out, 0, g.N, true);
      backwardInputImages(dy.map((v) => (Number.isFinite(v) ? v : 0)), w, g, dx);
      return { out, dx };
    })();
    const block = (a: Float32Array, n: number, group: number, channels: number) =>
      Array.from(a.subarray((n * 2 + group) * channels * plane, (n * 2 + group + 1) * channels * plane));
    const tainted = { out: [[1, 0], [3, 1]], dx: [[2, 0]] } as const;
    for (const pass of ['out', 'dx'] as const) {
      const channels = pass === 'out' ? g.OC / 2 : g.C / 2;
      for (let n = 0; n < g.N; n++) {
        for (let group = 0; group < 2; group++) {
          const hit = tainted[pass].some(([tn, tg]) => tn === n && tg === group);
          const want = hit ? im2col[pass] : clean[pass];
          expect(block(winograd[pass], n, group, channels), `${pass} image ${n} group ${group}`).toEqual(block(want, n, group, channels));
        }
      }
    }
  });

  it('setWinograd takes a boolean', () => {
    expect(() => setWinograd(1 as unknown as boolean)).toThrow(ValueError);
    expect(() => setWinograd(1 as unknown as boolean)).toThrow("setWinograd: 'on' must be a boolean, got number 1");
  });
});
