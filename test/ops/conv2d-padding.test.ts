// conv2d's string paddings, PyTorch's: 'valid' is no padding; 'same' (stride 1 only) pads
// dilation·(kernel − 1) per dim, floor half on the top/left and the rest on the bottom/right, so an
// even kernel pads one more at the bottom/right. Checked against float64 loops with explicit
// top/bottom/left/right padding, PyTorch fixtures, gradcheck, every backend, and the errors.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Generator, ShapeError, ValueError, randn, zeros, type FloatDType } from '@firegrad/core';
import { conv2d, fusedConv2d, type Conv2dPadding } from '@firegrad/ops';
import { expectGradCase, type GradCase } from '../core/fixture-values';
import fixtures from '../fixtures/conv-geometry.json';
import { env, expectClose, fcOpts, leaf } from '../helpers';
import { forEachBackend, releaseGpujsAfterAll } from './backends';
import { argumentErrors } from './errors';
import { check } from './gradcheck';

interface SameCase {
  N: number; C: number; H: number; W: number; OC: number; KH: number; KW: number; dilation: [number, number]; groups: number;
  bias: boolean; seed: number;
}
// Even kernels (2, 4) as often as odd ones, and dilations 1–3: every split of the padding occurs.
const sameArb = fc.record({
  N: fc.integer({ min: 1, max: 2 }), groups: fc.integer({ min: 1, max: 2 }), cg: fc.integer({ min: 1, max: 2 }), og: fc.integer({ min: 1, max: 2 }),
  H: fc.integer({ min: 1, max: 7 }), W: fc.integer({ min: 1, max: 7 }), KH: fc.integer({ min: 1, max: 4 }), KW: fc.integer({ min: 1, max: 4 }),
  dilation: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })), bias: fc.boolean(), seed: fc.nat(),
}).map(({ cg, og, ...r }): SameCase => ({ ...r, C: cg * r.groups, OC: og * r.groups }));

/** conv2d from the definition with padding [top, bottom, left, right]; output size from those. */
function paddedRef(x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null, c: SameCase,
  [top, bottom, left, right]: number[]): { y: Float64Array; shape: number[] } {
  const [DH, DW] = c.dilation, CG = c.C / c.groups, OCG = c.OC / c.groups;
  const OH = c.H + top + bottom - DH * (c.KH - 1), OW = c.W + left + right - DW * (c.KW - 1);
  const y = new Float64Array(c.N * c.OC * OH * OW);
  for (let n = 0; n < c.N; n++) for (let oc = 0; oc < c.OC; oc++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    let s = b ? b[oc] : 0;
    for (let ci = 0; ci < CG; ci++) for (let kh = 0; kh < c.KH; kh++) for (let kw = 0; kw < c.KW; kw++) {
      const ih = oh - top + kh * DH, iw = ow - left + kw * DW;
      if (ih < 0 || ih >= c.H || iw < 0 || iw >= c.W) continue;
      const ch = Math.floor(oc / OCG) * CG + ci;
      s += x[((n * c.C + ch) * c.H + ih) * c.W + iw] * w[((oc * CG + ci) * c.KH + kh) * c.KW + kw];
    }
    y[((n * c.OC + oc) * OH + oh) * OW + ow] = s;
  }
  return { y, shape: [c.N, c.OC, OH, OW] };
}

function tensors(c: SameCase, dtype: FloatDType) {
  const g = new Generator(c.seed);
  const make = (shape: number[]) => dtype === 'float64' ? leaf(g, shape) : leaf(g, shape).float();
  const x = make([c.N, c.C, c.H, c.W]), w = make([c.OC, c.C / c.groups, c.KH, c.KW]);
  return c.bias ? [x, w, make([c.OC])] : [x, w];
}
const sameOpts = (c: SameCase) => ({ padding: 'same' as const, dilation: c.dilation, groups: c.groups });

describe("'same' and 'valid' against the definition", () => {
  it("'same' keeps H × W and pads d·(k−1): ⌊half⌋ top/left, the rest bottom/right (float64 and float32)", () => fc.assert(fc.property(sameArb, (c) => {
    const total = [c.dilation[0] * (c.KH - 1), c.dilation[1] * (c.KW - 1)];
    const pads = [Math.floor(total[0] / 2), total[0] - Math.floor(total[0] / 2), Math.floor(total[1] / 2), total[1] - Math.floor(total[1] / 2)];
    for (const dtype of ['float64', 'float32'] as const) {
      const [x, w, b] = tensors(c, dtype);
      const want = paddedRef(x.data, w.data, b ? b.data : null, c, pads);
      for (const fn of [conv2d, fusedConv2d]) {
        const y = fn(x, w, b ?? null, sameOpts(c));
        expect(y.shape).toEqual([c.N, c.OC, c.H, c.W]);
        expect(want.shape).toEqual(y.shape);
        const terms = (c.C / c.groups) * c.KH * c.KW + 1;
        expectClose(y.data, want.y, dtype === 'float64' ? 1e-12 : 1e-5, (dtype === 'float64' ? 1e-12 : 1e-6) * terms, `${fn.name} ${dtype}`);
      }
    }
  }), fcOpts()));

  it('the odd padding goes to the bottom/right: with a 2×2 kernel the last row and column see the padding', () => {
    // x = 1 everywhere, w = 1: an output cell counts the input cells of its window [oh, oh + 1] × [ow, ow + 1].
    const y = conv2d(zeros([1, 1, 3, 3]).add(1), zeros([1, 1, 2, 2]).add(1), null, { padding: 'same' });
    expect(Array.from(y.data)).toEqual([4, 4, 2, 4, 4, 2, 2, 2, 1]);
  });

  it("'valid' is padding 0, bit for bit, and fails where the kernel is larger than the input", () => {
    const g = new Generator(1), x = randn([2, 2, 5, 4], { generator: g }), w = randn([3, 2, 2, 3], { generator: g });
    expect(Array.from(conv2d(x, w, null, { padding: 'valid', dilation: [2, 1] }).data))
      .toEqual(Array.from(conv2d(x, w, null, { padding: 0, dilation: [2, 1] }).data));
    expect(() => conv2d(x, w, null, { padding: 'valid', dilation: 5 })).toThrow(ShapeError);
  });
});

describe('PyTorch fixtures (conv-geometry)', () => {
  const cases = (fixtures.cases as unknown as (Omit<GradCase, 'dtype'> & { op: string; params: any })[]).filter((c) => c.op === 'conv2d');
  it("has the 'same' and 'valid' cases", () => expect(cases.map((c) => c.params.padding).sort()).toEqual([...Array(5).fill('same'), 'valid', 'valid']));
  for (const dtype of ['float64', 'float32'] as const) {
    for (const c of cases) {
      it(`${c.name}, ${dtype}`, () => expectGradCase({ ...c, dtype }, (x, w, b) => conv2d(x, w, b ?? null, c.params)));
    }
  }
});

describe('gradcheck (float64, cpu)', () => {
  it("conv2d and fusedConv2d with 'same': even kernels, dilation, groups (asymmetric padding)", () => fc.assert(fc.property(sameArb, (c) => {
    check((x, w, b) => conv2d(x, w, b ?? null, sameOpts(c)), tensors(c, 'float64'));
    check((x, w, b) => fusedConv2d(x, w, b ?? null, { ...sameOpts(c), activation: 'relu' }), tensors(c, 'float64'));
  }), fcOpts()));
});

describe('every backend: cpu-js, cpu-wasm, cpu-threads, gpujs', () => {
  releaseGpujsAfterAll();
  const RUNS_GPU = Number(env.FIREGRAD_GPU_RUNS ?? 12); // each new geometry compiles wasm kernels: slow
  it("'same' (asymmetric with even kernels): output and every gradient agree with the cpu-js reference, float32", () =>
    fc.assert(fc.property(sameArb, (c) => {
      const [[, ref], ...others] = forEachBackend('conv2d', (x, w, b) => conv2d(x, w, b ?? null, sameOpts(c)), tensors(c, 'float32'),
        (shape) => randn([...shape], { generator: new Generator(c.seed + 1) }));
      const atol = 1e-6 * Math.max(c.N * c.H * c.W + (c.C / c.groups) * c.KH * c.KW, 1);
      for (const [name, r] of others) {
        expectClose(r.out.data, ref.out.data, 1e-5, atol, `${name} output`);
        r.grads.forEach((gr, i) => expectClose(gr.data, ref.grads[i].data, 1e-5, atol, `${name} grad ${i}`));
      }
    }), { numRuns: RUNS_GPU }));
});

describe('errors: bad input -> typed error naming op, argument and shapes', () => {
  const x = zeros([1, 2, 5, 5]), w = zeros([3, 2, 2, 2]);
  argumentErrors([
    ["strided 'same' (PyTorch refuses it)", () => conv2d(x, w, null, { padding: 'same', stride: [1, 2] }), ValueError,
      /conv2d: padding='same' is not supported for strided convolutions, got stride 1×2 \(input \[1, 2, 5, 5\], weight \[3, 2, 2, 2\]\)/],
    ["strided 'same', fused", () => fusedConv2d(x, w, null, { padding: 'same', stride: 2 }), ValueError,
      /fusedConv2d: padding='same' is not supported for strided convolutions, got stride 2×2/],
    ['an unknown padding string', () => conv2d(x, w, null, { padding: 'full' as Conv2dPadding }), ValueError,
      /conv2d: argument 'padding' must be a number or a pair \[h, w\] of numbers, or 'same' or 'valid', got 'full' \(input \[1, 2, 5, 5\]/],
    ["'same' on an empty plane", () => conv2d(zeros([1, 2, 0, 5]), w, null, { padding: 'same' }), ShapeError,
      /conv2d: padding='same' needs a non-empty input plane, got 0×5 \(input \[1, 2, 0, 5\]/],
    ["'same' with a bad dilation names the dilation", () => conv2d(x, w, null, { padding: 'same', dilation: 0 }), ValueError,
      /conv2d: 'dilation' must be an integer >= 1, got 0/],
  ]);
});
