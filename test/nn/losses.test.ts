// Float64 gradchecks (fast-check) of issue 15's losses (and Dropout, an nn op too) over random shapes and options, and hand math
// for values PyTorch defines specially. PyTorch fixtures: loss-fixtures.test.ts; bad input:
// test/reliability/losses.test.ts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Generator, Tensor, broadcastShapes, listOps, tensor } from '@firegrad/core';
import {
  Dropout, binaryCrossEntropy, binaryCrossEntropyWithLogits, crossEntropy, huberLoss, klDiv, l1Loss, nllLoss, smoothL1Loss,
} from '@firegrad/nn';
import { broadcastPairArb, expectGradcheck, fcOpts, leaf, seedArb, shapeArb, uniform } from '../helpers';

type Reduction = 'mean' | 'sum' | 'none';
const reductionArb = fc.constantFrom<Reduction>('mean', 'sum', 'none');

/** A shape and a weight shape that broadcasts to it without growing it (a suffix, some dims 1). */
const shapeAndWeightArb = shapeArb(3, 3).chain((shape) => fc.tuple(fc.constant(shape),
  fc.tuple(fc.nat(shape.length), fc.array(fc.boolean(), { minLength: shape.length, maxLength: shape.length }))
    .map(([drop, ones]) => shape.slice(drop).map((s, i) => (ones[i + drop] ? 1 : s)))));

interface ClassCase {
  shape: [number, number, number[]]; seed: number; reduction: Reduction; weighted: boolean;
  ignore: number; ignoreShare: number; eps: number;
}
const classCaseArb: fc.Arbitrary<ClassCase> = fc.record({
  // [N, C, d1, ...]: N 1..3, C 1..4, up to two spatial dims
  shape: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), shapeArb(2, 3, 1)),
  seed: seedArb, reduction: reductionArb, weighted: fc.boolean(),
  // -100 (the default), a class index, or one outside [0, C)
  ignore: fc.constantFrom(-100, 0, 2, 9), ignoreShare: fc.double({ min: 0, max: 0.6, noNaN: true }),
  eps: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true })),
});

/** Logits, targets (some equal to ignoreIndex) and maybe class weights; null where 'mean' is 0/0. */
function classInputs({ shape: [n, c, spatial], seed, reduction, weighted, ignore, ignoreShare }: ClassCase) {
  const g = new Generator(seed);
  const count = n * spatial.reduce((a, b) => a * b, 1);
  const targets = Int32Array.from({ length: count }, () => (g.random() < ignoreShare ? ignore : g.randint(0, c)));
  if (reduction === 'mean' && targets.every((t) => t === ignore)) return null;
  const x = leaf(g, [n, c, ...spatial], (r) => 2 * r.normal());
  const weight = weighted ? leaf(g, [c], uniform(0.2, 2), false) : undefined;
  return { x, target: new Tensor(targets, [n, ...spatial]), weight };
}

/** The op named first in each gradcheck test's title; the registry test at the bottom reads them. */
const gradcheckTitles: string[] = [];
const gradcheckIt = (title: string, property: () => void) => {
  gradcheckTitles.push(title.split(/[: ]/)[0]);
  it(title, property);
};

describe('gradcheck: Dropout (float64, fast-check)', () => {
  // A fresh generator per call, so every evaluation of the function draws the same mask.
  gradcheckIt('dropout: any p, any shape (the mask is fixed per seed)', () => fc.assert(fc.property(
    shapeArb(3, 4), seedArb, fc.constantFrom(0.2, 0.5, 1), (shape, seed, p) => {
      const x = leaf(new Generator(seed), shape);
      expectGradcheck((t) => new Dropout(p, { generator: new Generator(seed) }).forward(t), [x]);
    }), fcOpts()));
});

describe('gradcheck: class losses (float64, fast-check)', () => {
  gradcheckIt('crossEntropy: weights, ignoreIndex, label smoothing, spatial dims, every reduction', () => fc.assert(fc.property(classCaseArb, (p) => {
    const built = classInputs(p);
    fc.pre(built !== null);
    const { x, target, weight } = built!;
    expectGradcheck((t) => crossEntropy(t, target, { weight, ignoreIndex: p.ignore, labelSmoothing: p.eps, reduction: p.reduction }), [x]);
  }), fcOpts()));
  gradcheckIt('nllLoss: weights, ignoreIndex, spatial dims, every reduction', () => fc.assert(fc.property(classCaseArb, (p) => {
    const built = classInputs(p);
    fc.pre(built !== null);
    const { x, target, weight } = built!;
    expectGradcheck((t) => nllLoss(t, target, { weight, ignoreIndex: p.ignore, reduction: p.reduction }), [x]);
  }), fcOpts()));
});

/** Inputs x = y + d with every d drawn by `diff` (kept off the loss's kinks), y standard normal. */
function pairAround(g: Generator, shape: readonly number[], diff: (g: Generator) => number): [Tensor, Tensor] {
  const y = leaf(g, shape);
  const x = new Tensor(Float64Array.from(y.data, (v) => v + diff(g)), shape, { requiresGrad: true });
  return [x, y];
}
/** s·N(0, 1) at least 1e-3 from each point in `kinks`. */
const awayFrom = (kinks: readonly number[], s = 2) => (g: Generator) => {
  let v: number;
  do v = s * g.normal(); while (kinks.some((k) => Math.abs(v - k) < 1e-3));
  return v;
};

describe('gradcheck: elementwise losses, input and target (float64, fast-check)', () => {
  gradcheckIt('l1Loss (x − y kept off 0)', () => fc.assert(fc.property(shapeArb(), seedArb, reductionArb, (shape, seed, reduction) => {
    fc.pre(reduction !== 'mean' || shape.every((s) => s > 0));
    expectGradcheck((x, y) => l1Loss(x, y, { reduction }), pairAround(new Generator(seed), shape, awayFrom([0])));
  }), fcOpts()));
  gradcheckIt('smoothL1Loss with beta in [0, 2] (x − y kept off 0 and ±beta)', () => fc.assert(fc.property(
    shapeArb(), seedArb, reductionArb, fc.oneof(fc.constant(0), fc.double({ min: 0.01, max: 2, noNaN: true })), (shape, seed, reduction, beta) => {
      fc.pre(reduction !== 'mean' || shape.every((s) => s > 0));
      const pair = pairAround(new Generator(seed), shape, awayFrom([0, beta, -beta]));
      expectGradcheck((x, y) => smoothL1Loss(x, y, { beta, reduction }), pair);
    }), fcOpts()));
  gradcheckIt('huberLoss with delta in (0, 2] (x − y kept off ±delta)', () => fc.assert(fc.property(
    shapeArb(), seedArb, reductionArb, fc.double({ min: 0.01, max: 2, noNaN: true }), (shape, seed, reduction, delta) => {
      fc.pre(reduction !== 'mean' || shape.every((s) => s > 0));
      expectGradcheck((x, y) => huberLoss(x, y, { delta, reduction }), pairAround(new Generator(seed), shape, awayFrom([delta, -delta])));
    }), fcOpts()));
  gradcheckIt('binaryCrossEntropy with a broadcast weight (probabilities in [0.05, 0.95])', () => fc.assert(fc.property(
    shapeAndWeightArb, fc.boolean(), seedArb, reductionArb, ([shape, wShape], weighted, seed, reduction) => {
      fc.pre(reduction !== 'mean' || shape.every((s) => s > 0));
      const g = new Generator(seed);
      const weight = weighted ? leaf(g, wShape, uniform(0.1, 2), false) : undefined;
      const x = leaf(g, shape, uniform(0.05, 0.95)), y = leaf(g, shape, uniform(0, 1));
      expectGradcheck((a, b) => binaryCrossEntropy(a, b, { weight, reduction }), [x, y]);
    }), fcOpts()));
  gradcheckIt('binaryCrossEntropyWithLogits with a broadcast weight and posWeight', () => fc.assert(fc.property(
    shapeAndWeightArb, fc.boolean(), fc.boolean(), seedArb, reductionArb, ([shape, wShape], weighted, pos, seed, reduction) => {
      fc.pre(reduction !== 'mean' || shape.every((s) => s > 0));
      const g = new Generator(seed);
      const weight = weighted ? leaf(g, wShape, uniform(0.1, 2), false) : undefined;
      const posWeight = pos ? leaf(g, wShape, uniform(0.1, 3), false) : undefined;
      const x = leaf(g, shape, (r) => 4 * r.normal()), y = leaf(g, shape, uniform(0, 1));
      expectGradcheck((a, b) => binaryCrossEntropyWithLogits(a, b, { weight, posWeight, reduction }), [x, y]);
    }), fcOpts()));
  gradcheckIt('klDiv over broadcast shapes, every reduction, probability or log targets', () => fc.assert(fc.property(
    broadcastPairArb(), fc.boolean(), seedArb, fc.constantFrom('mean', 'batchmean', 'sum', 'none') as fc.Arbitrary<Reduction | 'batchmean'>,
    ([sa, sb], logTarget, seed, reduction) => {
      fc.pre(reduction !== 'mean' || broadcastShapes('test', sa, sb).every((s) => s > 0));
      fc.pre(reduction !== 'batchmean' || sa.length === 0 || sa[0] > 0);
      const g = new Generator(seed);
      const target = logTarget ? leaf(g, sb) : leaf(g, sb, uniform(0.05, 1));
      expectGradcheck((x, y) => klDiv(x, y, { reduction, logTarget }), [leaf(g, sa), target]);
    }), fcOpts()));
});

describe('values PyTorch defines specially (hand math)', () => {
  it('a label of -100 (the default ignoreIndex) adds nothing and leaves the mean', () => {
    const x = tensor([[2, 0, -1], [0.5, 0.5, 3], [1, 1, 1]], { dtype: 'float64' });
    const lse = (r: number[]) => Math.log(r.reduce((s, v) => s + Math.exp(v), 0));
    expect(crossEntropy(x, [0, -100, 2]).item()).toBeCloseTo(((lse([2, 0, -1]) - 2) + (lse([1, 1, 1]) - 1)) / 2, 14);
    // weighted: Σ w[y]·l / Σ w[y] over the kept targets
    const w = tensor([0.5, 3, 2], { dtype: 'float64' });
    expect(crossEntropy(x, [0, -100, 2], { weight: w }).item()).toBeCloseTo((0.5 * (lse([2, 0, -1]) - 2) + 2 * (lse([1, 1, 1]) - 1)) / 2.5, 14);
    expect(Array.from(crossEntropy(x, [0, -100, 2], { reduction: 'none' }).data)[1]).toBe(0);
  });
  it('every target ignored: sum is 0 with a zero gradient, none is zeros', () => {
    const x = tensor([[2, 0], [1, 3]], { dtype: 'float64', requiresGrad: true });
    const loss = crossEntropy(x, [-100, -100], { reduction: 'sum', labelSmoothing: 0.2 });
    expect(loss.item()).toBe(0);
    loss.backward();
    expect(Array.from(x.grad!.data)).toEqual([0, 0, 0, 0]);
    expect(Array.from(nllLoss(x, [-100, -100], { reduction: 'none' }).data)).toEqual([0, 0]);
  });
  it('binaryCrossEntropy at 0 and 1: each log clamped at -100, the gradient floored at 1e-12', () => {
    const x = tensor([0, 1, 0, 1], { dtype: 'float64', requiresGrad: true });
    const loss = binaryCrossEntropy(x, tensor([1, 0, 0, 1], { dtype: 'float64' }), { reduction: 'none' });
    expect(Array.from(loss.data, (v) => v + 0)).toEqual([100, 100, 0, 0]); // + 0: -0 counts as 0
    loss.sum().backward();
    // (x − y) / max(x(1 − x), 1e-12f), with PyTorch's float constant 1e-12f
    const floor = Math.fround(1e-12);
    expect(Array.from(x.grad!.data)).toEqual([-1 / floor, 1 / floor, 0, 0]);
  });
  it('binaryCrossEntropyWithLogits stays finite and accurate at |x| = 50 and 700', () => {
    const x = tensor([50, -50, 700, -700], { dtype: 'float64', requiresGrad: true });
    const y = tensor([0, 1, 1, 0], { dtype: 'float64' });
    const loss = binaryCrossEntropyWithLogits(x, y, { reduction: 'none' });
    // log(1 + e^50) = 50 + log1p(e^-50); the confident correct ones log1p(e^-700) ≈ 1e-304 and e^-∞ = 0
    const sp50 = 50 + Math.log1p(Math.exp(-50));
    expect(Array.from(loss.data)).toEqual([sp50, sp50, Math.log1p(Math.exp(-700)), 0]);
    loss.sum().backward();
    // σ(x) − y, with σ(−700) = e^-700 / (1 + e^-700) still a (subnormal-free) float64
    const sig = (v: number) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));
    expect(Array.from(x.grad!.data)).toEqual([sig(50), sig(-50) - 1, sig(700) - 1, sig(-700)]);
  });
  it('klDiv: a zero target contributes 0 (0·log 0 = 0) and a zero gradient', () => {
    const x = tensor([-1, -2], { dtype: 'float64', requiresGrad: true });
    const y = tensor([0, 0.5], { dtype: 'float64', requiresGrad: true });
    const loss = klDiv(x, y, { reduction: 'sum' });
    expect(loss.item()).toBeCloseTo(0.5 * (Math.log(0.5) + 2), 15);
    loss.backward();
    expect(Array.from(x.grad!.data)).toEqual([-0, -0.5]);
    expect(Array.from(y.grad!.data)).toEqual([0, Math.log(0.5) + 1 + 2]);
  });
});

describe('op registry (nn package)', () => {
  it('every differentiable nn op has a gradcheck property in this file (a test named after it)', () => {
    const nnOps = listOps().filter((op) => op.pkg === 'nn' && op.differentiable).map((op) => op.name);
    const checked = new Set(gradcheckTitles);
    expect(nnOps.length).toBeGreaterThan(0);
    expect(nnOps.filter((name) => !checked.has(name))).toEqual([]);
  });
});
