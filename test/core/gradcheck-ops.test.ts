// Every differentiable primitive of @firegrad/core, gradchecked in float64 over random shapes and
// values (fast-check). The registry test at the bottom fails if an op has no property here.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as fg from '@firegrad/core';
import { Generator, Tensor, listOps } from '@firegrad/core';
import { awayFromZero, broadcastPairArb, expectGradcheck, fcOpts, leaf, seedArb, shapeArb, uniform } from '../helpers';

type Draw = (g: Generator) => number;

function binaryProperty(fn: (a: Tensor, b: Tensor) => Tensor, drawA?: Draw, drawB?: Draw) {
  return () => fc.assert(fc.property(broadcastPairArb(), seedArb, ([sa, sb], seed) => {
    const g = new Generator(seed);
    expectGradcheck(fn, [leaf(g, sa, drawA), leaf(g, sb, drawB)]);
  }), fcOpts());
}

function unaryProperty(fn: (x: Tensor) => Tensor, draw?: Draw) {
  return () => fc.assert(fc.property(shapeArb(), seedArb, (shape, seed) => {
    expectGradcheck(fn, [leaf(new Generator(seed), shape, draw)]);
  }), fcOpts());
}

/** A shape of rank >= 1 with a dim to work on, and keepDim. */
const dimCase = (minDim = 0) => shapeArb(3, 4, minDim, 1).chain((shape) =>
  fc.tuple(fc.constant(shape), fc.integer({ min: -shape.length, max: shape.length - 1 }), fc.boolean(), seedArb));

/** k/2 + [0.1, 0.4]: at least 0.1 from every integer and half-integer. */
const offGrid: Draw = (g) => g.randint(-20, 21) / 2 + 0.1 + 0.3 * g.random();

/** A shape of rank >= 1, a non-empty list of its dims, keepDim, seed; and a mode for pickDims. */
const dimsCase = (minDim = 0) => fc.tuple(shapeArb(3, 4, minDim, 1).chain((shape) =>
  fc.tuple(fc.constant(shape), fc.subarray([...shape.keys()], { minLength: 1 }), fc.boolean(), seedArb)), fc.integer({ min: 0, max: 2 }));

/** mode 0: no dim (all), 1: the first dim as a number, 2: the list. */
const pickDims = (dims: number[], mode: number) => (mode === 0 ? undefined : mode === 1 ? dims[0] : dims);

/** A random permutation of 0..n-1. */
const permArb = (n: number) => fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n });

/** scale · N(0, 1) draws at least 1e-3 from every point in `kinks`, where the gradient jumps. */
const awayFrom = (kinks: readonly number[], scale: number): Draw => (g) => {
  let v: number;
  do v = scale * g.normal(); while (kinks.some((k) => Math.abs(v - k) < 1e-3));
  return v;
};

export const properties: Record<string, () => void> = {
  // issue 15, indexing and losses. select: a composite of narrow and reshape, any dim and index,
  // negative ones included (PyTorch accepts both).
  select: () => fc.assert(fc.property(dimCase(1).chain(([shape, dim, , seed]) => {
    const size = shape[dim < 0 ? dim + shape.length : dim];
    return fc.tuple(fc.constant([shape, dim, seed] as const), fc.integer({ min: -size, max: size - 1 }));
  }), ([[shape, dim, seed], index]) => {
    expectGradcheck((t) => t.select(dim, index), [leaf(new Generator(seed), shape)]);
  }), fcOpts()),

  // issue 15, elementwise math. maximum/minimum: operands on offset grids, never tied (the gradient
  // splits there); rounding ops: values 0.1+ from every integer and half-integer (their jumps).
  maximum: binaryProperty((a, b) => a.maximum(b), (g) => g.randint(-8, 9) / 4, (g) => g.randint(-8, 9) / 4 + 0.125),
  minimum: binaryProperty((a, b) => a.minimum(b), (g) => g.randint(-8, 9) / 4, (g) => g.randint(-8, 9) / 4 + 0.125),
  reciprocal: unaryProperty((x) => x.reciprocal(), awayFromZero(0.5)),
  rsqrt: unaryProperty((x) => x.rsqrt(), uniform(0.2, 3)),
  floor: unaryProperty((x) => x.floor(), offGrid),
  ceil: unaryProperty((x) => x.ceil(), offGrid),
  round: unaryProperty((x) => x.round(), offGrid),
  sign: unaryProperty((x) => x.sign(), awayFromZero()),
  erf: unaryProperty((x) => x.erf(), (g) => 2 * g.normal()),
  sin: unaryProperty((x) => x.sin(), (g) => 3 * g.normal()),
  cos: unaryProperty((x) => x.cos(), (g) => 3 * g.normal()),
  // issue 15, reductions. Normal draws never tie, so max/min are differentiable there; prod is linear
  // in each entry, so finite differences are exact at zeros too and the draws include exact zeros;
  // var keeps N − correction > 0 (the gradient is inf/NaN otherwise, tested against PyTorch).
  min: () => fc.assert(fc.property(dimsCase(1), ([[shape, dims, keepDim, seed], mode]) => {
    expectGradcheck((t) => t.min(pickDims(dims, mode), keepDim), [leaf(new Generator(seed), shape)]);
  }), fcOpts()),
  'max over several dims': () => fc.assert(fc.property(dimsCase(1), ([[shape, dims, keepDim, seed], mode]) => {
    expectGradcheck((t) => t.max(pickDims(dims, mode), keepDim), [leaf(new Generator(seed), shape)]);
  }), fcOpts()),
  prod: () => fc.assert(fc.property(dimCase(0), fc.boolean(), ([shape, dim, keepDim, seed], overall) => {
    const x = leaf(new Generator(seed), shape, (g) => (g.random() < 0.25 ? 0 : 1.5 * g.normal()));
    expectGradcheck((t) => (overall ? t.prod() : t.prod(dim, keepDim)), [x]);
  }), fcOpts()),
  var: () => fc.assert(fc.property(dimsCase(0), fc.integer({ min: 0, max: 3 }), ([[shape, dims, keepDim, seed], mode], correction) => {
    const picked = pickDims(dims, mode);
    const n = picked === undefined ? shape.reduce((a, b) => a * b, 1) : [picked].flat().reduce((a, d) => a * shape[d], 1);
    fc.pre(n - correction > 0);
    expectGradcheck((t) => t.var(picked, { correction, keepDim }), [leaf(new Generator(seed), shape)]);
  }), fcOpts()),
  std: () => fc.assert(fc.property(dimsCase(0), fc.integer({ min: 0, max: 3 }), ([[shape, dims, keepDim, seed], mode], correction) => {
    const picked = pickDims(dims, mode);
    const n = picked === undefined ? shape.reduce((a, b) => a * b, 1) : [picked].flat().reduce((a, d) => a * shape[d], 1);
    // at least two values: one value has std 0, where std has a kink
    fc.pre(n - correction > 0 && n >= 2);
    expectGradcheck((t) => t.std(picked, { correction, keepDim }), [leaf(new Generator(seed), shape)]);
  }), fcOpts()),
  add: binaryProperty((a, b) => a.add(b)),
  sub: binaryProperty((a, b) => a.sub(b)),
  mul: binaryProperty((a, b) => a.mul(b)),
  div: binaryProperty((a, b) => a.div(b), undefined, awayFromZero(0.5)),
  pow: binaryProperty((a, b) => a.pow(b), uniform(0.5, 2), uniform(-2, 2)),
  neg: unaryProperty((x) => x.neg()),
  exp: unaryProperty((x) => x.exp()),
  log: unaryProperty((x) => x.log(), uniform(0.2, 3)),
  sqrt: unaryProperty((x) => x.sqrt(), uniform(0.2, 3)),
  abs: unaryProperty((x) => x.abs(), awayFromZero()),
  relu: unaryProperty((x) => x.relu(), awayFromZero()),
  sigmoid: unaryProperty((x) => x.sigmoid()),
  tanh: unaryProperty((x) => x.tanh()),
  clamp: () => fc.assert(fc.property(
    shapeArb(), seedArb, fc.double({ min: -1, max: 0, noNaN: true }), fc.double({ min: 0.01, max: 1, noNaN: true }),
    (shape, seed, lo, width) => {
      const hi = lo + width;
      // keep every value at least 1e-3 from both bounds: the gradient jumps there
      const draw: Draw = (g) => { let v; do v = 2 * g.normal(); while (Math.abs(v - lo) < 1e-3 || Math.abs(v - hi) < 1e-3); return v; };
      expectGradcheck((x) => x.clamp(lo, hi), [leaf(new Generator(seed), shape, draw)]);
    },
  ), fcOpts()),
  where: () => fc.assert(fc.property(broadcastPairArb(), seedArb, ([sa, sb], seed) => {
    const g = new Generator(seed);
    const a = leaf(g, sa), b = leaf(g, sb);
    const cond = leaf(g, sa.length >= sb.length ? sa : sb, (r) => (r.random() < 0.5 ? 1 : 0), false);
    expectGradcheck((x, y) => fg.where(cond, x, y), [a, b]);
  }), fcOpts()),
  sum: () => fc.assert(fc.property(
    shapeArb(), fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 3 }), fc.boolean(), seedArb,
    (shape, dimsRaw, keepDim, seed) => {
      const dims = [...new Set(dimsRaw.filter((d) => d < shape.length))];
      const x = leaf(new Generator(seed), shape);
      expectGradcheck((t) => t.sum(dims.length ? dims : undefined, keepDim), [x]);
    },
  ), fcOpts()),
  max: () => fc.assert(fc.property(dimCase(1), fc.boolean(), ([shape, dim, keepDim, seed], overall) => {
    const x = leaf(new Generator(seed), shape);
    expectGradcheck((t) => (overall ? t.max() : t.max(dim, keepDim)), [x]);
  }), fcOpts()),
  matmul: () => fc.assert(fc.property(
    fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 4 }), fc.integer({ min: 1, max: 4 })),
    broadcastPairArb(2, 3), fc.integer({ min: 0, max: 3 }), seedArb, ([m, k, n], [ba, bb], vec, seed) => {
      const g = new Generator(seed);
      // vec: 1 = a is a vector, 2 = b is a vector, 3 = both, 0 = neither
      const a = leaf(g, vec & 1 ? [k] : [...ba, m, k]);
      const b = leaf(g, vec & 2 ? [k] : [...bb, k, n]);
      expectGradcheck((x, y) => x.matmul(y), [a, b]);
    }), fcOpts()),
  reshape: () => fc.assert(fc.property(shapeArb(), seedArb, (shape, seed) => {
    const x = leaf(new Generator(seed), shape);
    expectGradcheck((t) => t.reshape([...shape].reverse()).mul(t.reshape([...shape].reverse())), [x]);
  }), fcOpts()),
  permute: () => fc.assert(fc.property(shapeArb(4, 3).chain((s) => fc.tuple(fc.constant(s), permArb(s.length), seedArb)), ([shape, perm, seed]) => {
    expectGradcheck((t) => t.permute(perm), [leaf(new Generator(seed), shape)]);
  }), fcOpts()),
  expand: () => fc.assert(fc.property(broadcastPairArb(), seedArb, ([sa, sb], seed) => {
    const target = fg.broadcastShapes('test', sa, sb);
    expectGradcheck((t) => t.expand(target), [leaf(new Generator(seed), sa)]);
  }), fcOpts()),
  narrow: () => fc.assert(fc.property(dimCase(1).chain(([shape, dim, , seed]) => {
    const size = shape[dim < 0 ? dim + shape.length : dim];
    // a negative start counts from the end
    return fc.integer({ min: -size, max: size })
      .chain((start) => fc.tuple(fc.constant([shape, dim, seed] as const), fc.constant(start),
        fc.integer({ min: 0, max: size - (start < 0 ? start + size : start) })));
  }), ([[shape, dim, seed], start, length]) => {
    expectGradcheck((t) => t.narrow(dim, start, length), [leaf(new Generator(seed), shape)]);
  }), fcOpts()),
  gather: () => fc.assert(fc.property(dimCase(1), fc.integer({ min: 1, max: 5 }), ([shape, dim, , seed], k) => {
    const g = new Generator(seed);
    const d = dim < 0 ? dim + shape.length : dim;
    const idxShape = shape.map((s, i) => (i === d ? k : s));
    const index = fg.randint(0, shape[d], idxShape, { generator: g });
    expectGradcheck((t) => t.gather(dim, index), [leaf(g, shape)]);
  }), fcOpts()),
  indexSelect: () => fc.assert(fc.property(dimCase(1), fc.integer({ min: 0, max: 5 }), ([shape, dim, , seed], k) => {
    const g = new Generator(seed);
    const d = dim < 0 ? dim + shape.length : dim;
    const index = Int32Array.from({ length: k }, () => g.randint(0, shape[d]));
    expectGradcheck((t) => t.indexSelect(dim, index), [leaf(g, shape)]);
  }), fcOpts()),
  cast: () => fc.assert(fc.property(shapeArb(), seedArb, (shape, seed) => {
    // values on a 2^-8 grid and eps = 2^-8 are exact in float32, so the round trip is exactly linear
    const x = leaf(new Generator(seed), shape, (g) => g.randint(-512, 512) / 256);
    expectGradcheck((t) => t.to('float32').mul(3).to('float64'), [x], { eps: 2 ** -8 });
  }), fcOpts()),
  clone: unaryProperty((x) => x.clone().mul(x)),
  softmax: () => fc.assert(fc.property(dimCase(0), ([shape, dim, , seed]) => {
    expectGradcheck((t) => t.softmax(dim), [leaf(new Generator(seed), shape)]);
  }), fcOpts()),
  logSoftmax: () => fc.assert(fc.property(dimCase(0), ([shape, dim, , seed]) => {
    expectGradcheck((t) => t.logSoftmax(dim), [leaf(new Generator(seed), shape)]);
  }), fcOpts()),
  // activations (issue 15): values kept 1e-3 away from each kink, where the derivative jumps
  leakyRelu: () => fc.assert(fc.property(shapeArb(), seedArb, fc.double({ min: -2, max: 2, noNaN: true }), (shape, seed, slope) => {
    expectGradcheck((x) => fg.leakyRelu(x, slope), [leaf(new Generator(seed), shape, awayFromZero(1e-3))]);
  }), fcOpts()),
  elu: () => fc.assert(fc.property(shapeArb(), seedArb, fc.double({ min: 0.1, max: 3, noNaN: true }), (shape, seed, alpha) => {
    expectGradcheck((x) => fg.elu(x, alpha), [leaf(new Generator(seed), shape, awayFromZero(1e-3))]);
  }), fcOpts()),
  selu: unaryProperty((x) => fg.selu(x), awayFromZero(1e-3)),
  silu: unaryProperty((x) => fg.silu(x), (g) => 4 * g.normal()),
  mish: unaryProperty((x) => fg.mish(x), (g) => 4 * g.normal()),
  softplus: () => fc.assert(fc.property(
    shapeArb(), seedArb, fc.double({ min: 0.25, max: 4, noNaN: true }), fc.double({ min: 0.5, max: 20, noNaN: true }),
    (shape, seed, beta, threshold) => {
      // the linear tail starts at x = threshold / beta, with a jump of ~e^-threshold / beta
      expectGradcheck((x) => fg.softplus(x, { beta, threshold }), [leaf(new Generator(seed), shape, awayFrom([threshold / beta], 3))]);
    },
  ), fcOpts()),
  hardtanh: () => fc.assert(fc.property(
    shapeArb(), seedArb, fc.double({ min: -2, max: 0, noNaN: true }), fc.double({ min: 0.01, max: 2, noNaN: true }),
    (shape, seed, lo, width) => {
      const hi = lo + width;
      expectGradcheck((x) => fg.hardtanh(x, lo, hi), [leaf(new Generator(seed), shape, awayFrom([lo, hi], 2))]);
    },
  ), fcOpts()),
  hardsigmoid: unaryProperty((x) => fg.hardsigmoid(x), awayFrom([-3, 3], 4)),
  hardswish: unaryProperty((x) => fg.hardswish(x), awayFrom([-3, 3], 4)),
  logSigmoid: unaryProperty((x) => fg.logSigmoid(x), (g) => 10 * g.normal()),
  gelu: () => fc.assert(fc.property(shapeArb(), seedArb, fc.constantFrom('none', 'tanh') as fc.Arbitrary<'none' | 'tanh'>, (shape, seed, approximate) => {
    expectGradcheck((x) => fg.gelu(x, { approximate }), [leaf(new Generator(seed), shape, (g) => 4 * g.normal())]);
  }), fcOpts()),
  prelu: () => fc.assert(fc.property(shapeArb(4, 4), fc.boolean(), seedArb, (shape, single, seed) => {
    const g = new Generator(seed);
    const channels = shape.length >= 2 ? shape[1] : 1;
    // a weight per channel, or one shared; values may be negative, as in PyTorch
    const w = leaf(g, [single ? 1 : channels], (r) => 2 * r.normal());
    expectGradcheck((x, weight) => x.prelu(weight), [leaf(g, shape, awayFromZero(1e-3)), w]);
  }), fcOpts()),
};

/** Composite ops built from the primitives: gradchecked too, though they own no backward. */
const composites: Record<string, () => void> = {
  mean: () => fc.assert(fc.property(dimCase(0), ([shape, dim, keepDim, seed]) => {
    expectGradcheck((t) => t.mean(dim, keepDim), [leaf(new Generator(seed), shape)]);
  }), fcOpts()),
  logsumexp: () => fc.assert(fc.property(dimCase(0), ([shape, dim, keepDim, seed]) => {
    expectGradcheck((t) => t.logsumexp(dim, keepDim), [leaf(new Generator(seed), shape)]);
  }), fcOpts()),
  'transpose + flatten + squeeze/unsqueeze': () => fc.assert(fc.property(shapeArb(3, 3, 1, 2), seedArb, (shape, seed) => {
    expectGradcheck((t) => t.transpose(0, -1).flatten().unsqueeze(0).unsqueeze(-1).squeeze().mul(2), [leaf(new Generator(seed), shape)]);
  }), fcOpts()),
  slice: () => fc.assert(fc.property(dimCase(1), fc.integer({ min: -5, max: 5 }), fc.integer({ min: -5, max: 5 }), fc.integer({ min: 1, max: 4 }),
    ([shape, dim, , seed], s, e, step) => {
      expectGradcheck((t) => t.slice(dim, s, e, step), [leaf(new Generator(seed), shape)]);
    }), fcOpts()),
  'fan-out (one input used many times)': () => fc.assert(fc.property(shapeArb(2, 3), seedArb, (shape, seed) => {
    expectGradcheck((t) => t.mul(t).add(t.exp()).sub(t.tanh().mul(t)), [leaf(new Generator(seed), shape)]);
  }), fcOpts()),
};

describe('gradcheck: every differentiable core op (float64, fast-check)', () => {
  for (const [name, prop] of Object.entries(properties)) it(name, prop);
});

describe('gradcheck: composite ops', () => {
  for (const [name, prop] of Object.entries(composites)) it(name, prop);
});

describe('gradcheck: fast mode (vᵀJu) on larger inputs', () => {
  it('matmul + tanh on 30×40 · 40×20', () => {
    const g = new Generator(1);
    expectGradcheck((a, b) => a.matmul(b).tanh(), [leaf(g, [30, 40]), leaf(g, [40, 20])], { fast: true });
  });
  it('logSoftmax over 64×100', () => {
    expectGradcheck((x) => x.logSoftmax(1).mul(x), [leaf(new Generator(2), [64, 100])], { fast: true });
  });
});

describe('op registry', () => {
  it('every registered core op is gradchecked here or marked non-differentiable', () => {
    const missing = listOps().filter((op) => op.pkg === 'core' && op.differentiable && !(op.name in properties)).map((op) => op.name);
    expect(missing).toEqual([]);
  });
  it('non-differentiable ops produce tensors that do not require grad', () => {
    const x = new Tensor(Float64Array.from([1, 3, 2]), [3], { requiresGrad: true });
    for (const t of [x.gt(1), x.lt(2), x.ge(2), x.le(2), x.eq(2), x.argmax(), x.argmin()]) expect(t.requiresGrad).toBe(false);
    const nonDiff = listOps().filter((op) => !op.differentiable).map((op) => op.name).sort();
    expect(nonDiff).toEqual(['argmax', 'argmin', 'eq', 'ge', 'gt', 'le', 'lt']);
  });
});
