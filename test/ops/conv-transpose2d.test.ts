// convTranspose2d: against float64 scatter loops written from PyTorch's definition, PyTorch
// fixtures (stride 2/3, outputPadding, dilation, groups, with and without bias), gradcheck, every
// backend (gpujs runs it through conv2d's kernels and says so in lastBackend), the worker threads,
// the gpu.js kernels in every mode on its geometry, empty operands and argument errors.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DTypeError, Generator, ShapeError, Tensor, ValueError, randn, vjp, zeros, type FloatDType } from '@firegrad/core';
import { convTranspose2d, convTransposeOutSize, lastBackend, parallelInfo, setNumThreads, withBackend, type Conv2dGeometry } from '@firegrad/ops';
import { expectGradCase, type GradCase } from '../core/fixture-values';
import fixtures from '../fixtures/conv-geometry.json';
import { describeNodeOnly, env, expectClose, fcOpts, leaf } from '../helpers';
import { forEachBackend, releaseGpujsAfterAll } from './backends';
import { argumentErrors } from './errors';
import { check, gradcheckOp } from './gradcheck';
import { convRef, expectGpuClose, forEachGpuMode, gpuFcOpts, mulberry32, randomArray } from './gpujs-modes';

interface TCase {
  N: number; C: number; H: number; W: number; OC: number; KH: number; KW: number; stride: [number, number];
  padding: [number, number]; outputPadding: [number, number]; dilation: [number, number]; groups: number; bias: boolean; seed: number;
}
const optsOf = (c: TCase) => ({ stride: c.stride, padding: c.padding, outputPadding: c.outputPadding, dilation: c.dilation, groups: c.groups });
const outSize = (c: TCase, i: 0 | 1) =>
  convTransposeOutSize(i ? c.W : c.H, i ? c.KW : c.KH, c.stride[i], c.padding[i], c.dilation[i], c.outputPadding[i]);

// Any padding that leaves an output (PyTorch's only limit on it), any outputPadding below max(stride, dilation).
const frac = fc.double({ min: 0, max: 0.999, noNaN: true });
const tcaseArb = fc.record({
  N: fc.integer({ min: 1, max: 2 }), groups: fc.integer({ min: 1, max: 2 }), cg: fc.integer({ min: 1, max: 2 }), og: fc.integer({ min: 1, max: 2 }),
  H: fc.integer({ min: 1, max: 5 }), W: fc.integer({ min: 1, max: 5 }), KH: fc.integer({ min: 1, max: 4 }), KW: fc.integer({ min: 1, max: 4 }),
  stride: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  dilation: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  padFrac: fc.tuple(frac, frac), opFrac: fc.tuple(frac, frac), bias: fc.boolean(), seed: fc.nat(),
}).map(({ cg, og, groups, padFrac, opFrac, ...r }): TCase => {
  const dims = [0, 1] as const, k = [r.KH, r.KW], size = [r.H, r.W];
  const padding = dims.map((i) => Math.floor(padFrac[i] * (Math.floor(((size[i] - 1) * r.stride[i] + r.dilation[i] * (k[i] - 1)) / 2) + 1)));
  const outputPadding = dims.map((i) => Math.floor(opFrac[i] * Math.max(r.stride[i], r.dilation[i])));
  return { ...r, groups, C: cg * groups, OC: og * groups, padding: padding as [number, number], outputPadding: outputPadding as [number, number] };
});

/** y = convTranspose2d(x, w) + b straight from the definition: x[n, ci, i, j]·w[ci, o, kh, kw] lands on y[n, g·OCG + o, i·s − p + kh·d, …]. */
function scatterRef(x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null, c: TCase): Float64Array {
  const OH = outSize(c, 0), OW = outSize(c, 1), CG = c.C / c.groups, OCG = c.OC / c.groups;
  const y = new Float64Array(c.N * c.OC * OH * OW);
  if (b) for (let i = 0; i < y.length; i++) y[i] = b[Math.floor(i / (OH * OW)) % c.OC];
  for (let n = 0; n < c.N; n++) for (let ci = 0; ci < c.C; ci++) for (let ih = 0; ih < c.H; ih++) for (let iw = 0; iw < c.W; iw++) {
    const xv = x[((n * c.C + ci) * c.H + ih) * c.W + iw], oc0 = Math.floor(ci / CG) * OCG;
    for (let o = 0; o < OCG; o++) for (let kh = 0; kh < c.KH; kh++) for (let kw = 0; kw < c.KW; kw++) {
      const oh = ih * c.stride[0] - c.padding[0] + kh * c.dilation[0], ow = iw * c.stride[1] - c.padding[1] + kw * c.dilation[1];
      if (oh < 0 || oh >= OH || ow < 0 || ow >= OW) continue;
      y[((n * c.OC + oc0 + o) * OH + oh) * OW + ow] += xv * w[((ci * OCG + o) * c.KH + kh) * c.KW + kw];
    }
  }
  return y;
}

function tensors(c: TCase, dtype: FloatDType) {
  const g = new Generator(c.seed);
  const make = (shape: number[]) => dtype === 'float64' ? leaf(g, shape) : leaf(g, shape).float();
  const x = make([c.N, c.C, c.H, c.W]), w = make([c.C, c.OC / c.groups, c.KH, c.KW]);
  return c.bias ? [x, w, make([c.OC])] : [x, w];
}

describe('convTranspose2d against the definition', () => {
  it('a 1×1 kernel at stride 1 whose outputPadding (below the dilation) adds a row and a column that only the bias reaches', () => {
    const c: TCase = {
      N: 2, C: 3, H: 3, W: 4, OC: 2, KH: 1, KW: 1, stride: [1, 1], padding: [0, 0], outputPadding: [1, 1], dilation: [2, 2],
      groups: 1, bias: true, seed: 3,
    };
    for (const dtype of ['float64', 'float32'] as const) {
      const [x, w, b] = tensors(c, dtype);
      const { out, vjp: pull } = vjp((xx, ww, bb) => convTranspose2d(xx, ww, bb, optsOf(c)), x, w, b);
      expect(out.shape).toEqual([2, 2, 4, 5]);
      expectClose(out.data, scatterRef(x.data, w.data, b.data, c), 1e-6, 1e-6, `${dtype} output`);
      // ∂x[n, ci] = Σ_o w[ci, o]·dy[n, o] over the input's own pixels: dy = 1 on them and 100 on the extra row and column.
      const dy = zeros(out.shape, { dtype }).add(1);
      for (let p = 0; p < 4; p++) for (let i = 0; i < 20; i++) if (i % 5 === 4 || i >= 15) dy.data[p * 20 + i] = 100;
      const [gx] = pull(dy);
      for (let n = 0; n < 2; n++) for (let ci = 0; ci < 3; ci++) for (let i = 0; i < 12; i++) {
        expect(gx.data[(n * 3 + ci) * 12 + i]).toBeCloseTo(w.data[ci * 2] + w.data[ci * 2 + 1], 5);
      }
    }
  });

  it('forward equals the float64 scatter loops, float64 and float32, on random geometries', () => fc.assert(fc.property(tcaseArb, (c) => {
    for (const dtype of ['float64', 'float32'] as const) {
      const [x, w, b] = tensors(c, dtype);
      const y = convTranspose2d(x, w, b ?? null, optsOf(c));
      expect(y.shape).toEqual([c.N, c.OC, outSize(c, 0), outSize(c, 1)]);
      expect(y.dtype).toBe(dtype);
      const want = scatterRef(x.data, w.data, b ? b.data : null, c);
      const terms = (c.C / c.groups) * c.KH * c.KW + 1;
      expectClose(y.data, want, dtype === 'float64' ? 1e-12 : 1e-5, (dtype === 'float64' ? 1e-12 : 1e-6) * terms, `${dtype} output`);
    }
  }), fcOpts()));
});

describe('PyTorch fixtures (conv-geometry)', () => {
  const cases = (fixtures.cases as unknown as (Omit<GradCase, 'dtype'> & { op: string; params: any })[]).filter((c) => c.op === 'convTranspose2d');
  it('has the cases', () => expect(cases.length).toBe(10));
  for (const dtype of ['float64', 'float32'] as const) {
    for (const c of cases) {
      it(`${c.name}, ${dtype}`, () => expectGradCase({ ...c, dtype }, (x, w, b) => convTranspose2d(x, w, b ?? null, c.params)));
    }
  }
});

describe('gradcheck (float64, cpu)', () => {
  gradcheckOp('convTranspose2d', () => fc.assert(fc.property(tcaseArb, (c) => {
    check((x, w, b) => convTranspose2d(x, w, b ?? null, optsOf(c)), tensors(c, 'float64'));
  }), fcOpts()));
});

describe('every backend: cpu-js, cpu-wasm, cpu-threads, gpujs', () => {
  releaseGpujsAfterAll();
  const RUNS_GPU = Number(env.FIREGRAD_GPU_RUNS ?? 12); // each new geometry compiles wasm kernels: slow
  it('output and every gradient agree with the cpu-js reference, float32 (gpujs runs forward and both gradients)', () =>
    fc.assert(fc.property(tcaseArb, (c) => {
      const inputs = tensors(c, 'float32');
      const [[, ref], ...others] = forEachBackend('convTranspose2d', (x, w, b) => convTranspose2d(x, w, b ?? null, optsOf(c)), inputs,
        (shape) => randn([...shape], { generator: new Generator(c.seed + 1) }));
      // The longest reduction is dW's, N·H·W·(output taps) at most; f32 products summed in different orders.
      const atol = 1e-6 * Math.max(c.N * c.H * c.W + (c.OC / c.groups) * c.KH * c.KW, 1);
      for (const [name, r] of others) {
        expectClose(r.out.data, ref.out.data, 1e-5, atol, `${name} output`);
        r.grads.forEach((gr, i) => expectClose(gr.data, ref.grads[i].data, 1e-5, atol, `${name} grad ${i}`));
      }
    }), { numRuns: RUNS_GPU }));

  it("lastBackend('convTranspose2d') is 'gpujs' for float32 forward and backward, 'cpu' for float64", () => {
    const x = randn([1, 2, 3, 3]), w = randn([2, 3, 3, 3]);
    withBackend('gpujs', { mode: 'webasm' }, () => {
      const { out, vjp: pull } = vjp((a, b) => convTranspose2d(a, b, null, { stride: 2, outputPadding: 1 }), x, w);
      expect(out.shape).toEqual([1, 3, 8, 8]);
      expect(lastBackend('convTranspose2d')).toBe('gpujs');
      pull(randn(out.shape));
      expect(lastBackend('convTranspose2d')).toBe('gpujs');
      convTranspose2d(x.double(), w.double());
      expect(lastBackend('convTranspose2d')).toBe('cpu');
    });
  });
});

forEachGpuMode(({ kernels, ran }) => {
  // The transposed conv's forward is conv2d's input gradient over a conv whose input (our output)
  // may be larger than its windows reach (outputPadding): the extra rows and columns must get zeros.
  it("conv2d's input-gradient kernel on transposed geometries: outputPadding, stride, dilation, groups", async () => {
    const k = kernels();
    await fc.assert(fc.asyncProperty(tcaseArb, async (c) => {
      const g: Conv2dGeometry = {
        N: c.N, C: c.OC, H: outSize(c, 0), W: outSize(c, 1), OC: c.C, KH: c.KH, KW: c.KW, SH: c.stride[0], SW: c.stride[1],
        PH: c.padding[0], PW: c.padding[1], DH: c.dilation[0], DW: c.dilation[1], groups: c.groups, OH: c.H, OW: c.W,
      };
      const rand = mulberry32(c.seed);
      const x = randomArray(c.N * c.C * c.H * c.W, rand), w = randomArray(c.C * (c.OC / c.groups) * c.KH * c.KW, rand);
      const want = scatterRef(x, w, null, c), ref = convRef(new Float32Array(g.N * g.C * g.H * g.W), w, null, x, g);
      expect(Array.from(ref.dx)).toEqual(Array.from(want)); // the adjoint conv's dX is the transposed conv: same terms, same order
      expectGpuClose('y', await k.conv2dBackwardInput(x, w, g), ref.dx, ref.dxMag, ref.dxLen);
      ran(k);
    }), gpuFcOpts);
  });
});

describeNodeOnly('worker threads', "Node's worker_threads pool from the calling thread", () => {
  it('a job big enough to split gives bit-identical results on 2 threads, forward and both gradients', () => {
    const c: TCase = {
      N: 2, C: 16, H: 32, W: 32, OC: 16, KH: 3, KW: 3, stride: [2, 2], padding: [1, 1], outputPadding: [1, 1], dilation: [1, 1],
      groups: 1, bias: true, seed: 5,
    };
    const run = () => {
      const { out, vjp: pull } = vjp((x, w, b) => convTranspose2d(x, w, b, optsOf(c)), ...tensors(c, 'float32'));
      return [out, ...pull(randn(out.shape, { generator: new Generator(9) }))].map((t) => Array.from(t.data));
    };
    const prev = parallelInfo().threads;
    try {
      setNumThreads(1);
      const one = run();
      setNumThreads(2);
      const jobs = parallelInfo().jobs;
      const two = run();
      expect(parallelInfo().jobs - jobs, 'jobs the pool ran').toBe(3);
      two.forEach((a, i) => expect(a, `result ${i}`).toEqual(one[i]));
    } finally {
      setNumThreads(prev);
    }
  });
});

describe('empty operands (answered before any kernel, like PyTorch)', () => {
  it('no images, no input channels (the bias broadcast), no output channels', () => {
    for (const backend of ['cpu', 'gpujs'] as const) {
      withBackend(backend, () => {
        const b = new Tensor(Float32Array.of(1, -2), [2]);
        expect(convTranspose2d(zeros([0, 2, 3, 3]), zeros([2, 2, 3, 3]), b, { stride: 2 }).shape).toEqual([0, 2, 7, 7]);
        const { out, vjp: pull } = vjp((x, w, bb) => convTranspose2d(x, w, bb), zeros([1, 0, 2, 2]), zeros([0, 2, 2, 2]), b);
        expect(out.shape).toEqual([1, 2, 3, 3]);
        expect(Array.from(out.data)).toEqual([...Array(9).fill(1), ...Array(9).fill(-2)]);
        const [gx, gw, gb] = pull(new Tensor(Float32Array.from({ length: 18 }, (_, i) => i), [1, 2, 3, 3]));
        expect([gx.shape, gw.shape, Array.from(gb.data)]).toEqual([[1, 0, 2, 2], [0, 2, 2, 2], [36, 117]]);
        expect(convTranspose2d(zeros([1, 2, 3, 3]), zeros([2, 0, 3, 3])).shape).toEqual([1, 0, 5, 5]);
      });
    }
  });
});

describe('errors: bad input -> typed error naming op, argument and shapes', () => {
  const x = zeros([1, 4, 5, 5]), w = zeros([4, 3, 3, 3]);
  argumentErrors([
    ['3-D input', () => convTranspose2d(zeros([4, 5, 5]), w), ShapeError, /convTranspose2d: 'input' must be 4-D \(N, C_in, H, W\), got \[4, 5, 5\]/],
    ['channel mismatch', () => convTranspose2d(x, zeros([3, 3, 3, 3])),
      ShapeError, /convTranspose2d: weight expects 3 input channels but input has 4 \(input \[1, 4, 5, 5\], weight \[3, 3, 3, 3\]\)/],
    ['groups not dividing', () => convTranspose2d(zeros([1, 3, 5, 5]), zeros([3, 1, 3, 3]), null, { groups: 2 }),
      ValueError, /convTranspose2d: groups = 2 must divide input channels 3 \(input \[1, 3, 5, 5\]/],
    ['bias shape', () => convTranspose2d(x, w, zeros([4])), ShapeError, /convTranspose2d: 'bias' must have shape \[3\], got \[4\]/],
    ['dtype mixing', () => convTranspose2d(x, zeros([4, 3, 3, 3], { dtype: 'float64' })), DTypeError, /convTranspose2d: 'weight' is float64 but 'input' is float32/],
    ['outputPadding not below stride or dilation', () => convTranspose2d(x, w, null, { stride: 2, outputPadding: [1, 2] }), ValueError,
      /convTranspose2d: 'outputPadding' must be smaller than either stride or dilation, got outputPadding 1×2, stride 2×2, dilation 1×1 \(input \[1, 4, 5, 5\]/],
    ['negative outputPadding', () => convTranspose2d(x, w, null, { outputPadding: -1 }), ValueError, /convTranspose2d: 'outputPadding' must be an integer >= 0, got -1/],
    ['stride 0', () => convTranspose2d(x, w, null, { stride: 0 }), ValueError, /convTranspose2d: 'stride' must be an integer >= 1, got 0/],
    ['padding a string', () => convTranspose2d(x, w, null, { padding: 'same' as never }), ValueError, /convTranspose2d: argument 'padding' must be a number or a pair/],
    ['output too small', () => convTranspose2d(zeros([1, 4, 1, 1]), w, null, { padding: 2 }), ShapeError,
      /convTranspose2d: the output size -1×-1 for input 1×1 is too small: padding 2×2 .*\(input \[1, 4, 1, 1\], weight \[4, 3, 3, 3\]\)/],
    ['empty spatial input', () => convTranspose2d(zeros([1, 4, 0, 5]), w), ShapeError, /convTranspose2d: only the batch or the channels of 'input' may be empty, got \[1, 4, 0, 5\]/],
  ]);
});
