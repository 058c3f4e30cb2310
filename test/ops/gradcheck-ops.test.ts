// Every differentiable op of @firegrad/ops, gradchecked in float64 on the cpu backend over random
// geometries. Small cases get the full Jacobian; larger ones the vᵀJu fast mode with three seeds.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Generator, Tensor, listOps } from '@firegrad/core';
import { adaptiveAvgPool2d, avgPool2d, cat, conv2d, fusedConv2d, globalAvgPool2d, maxPool2d, split } from '@firegrad/ops';
import { expectGradcheck, fcOpts, leaf, seedArb, shapeArb } from '../helpers';
import { convCaseArb, convValid, poolCaseArb, poolValid } from './arbitraries';

/** Full Jacobian when in·out is small, else three fast-mode (vᵀJu) checks. */
function check(fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[]) {
  const inSize = inputs.reduce((n, t) => n + t.size, 0);
  const outSize = fn(...inputs.map((t) => t.detach())).size;
  if (inSize * outSize <= 40_000) expectGradcheck(fn, inputs);
  else for (const seed of [0, 1, 2]) expectGradcheck(fn, inputs, { fast: true, seed });
}

export const properties: Record<string, () => void> = {
  conv2d: () => fc.assert(fc.property(convCaseArb.filter(convValid), (c) => {
    const g = new Generator(c.seed);
    const x = leaf(g, [c.N, c.C, c.H, c.W]), w = leaf(g, [c.OC, c.C / c.groups, c.KH, c.KW]);
    const inputs = c.bias ? [x, w, leaf(g, [c.OC])] : [x, w];
    const opts = { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups };
    check((xx, ww, bb) => conv2d(xx, ww, bb ?? null, opts), inputs);
  }), fcOpts()),
  fusedConv2d: () => fc.assert(fc.property(convCaseArb.filter(convValid), (c) => {
    const g = new Generator(c.seed);
    const x = leaf(g, [c.N, c.C, c.H, c.W]), w = leaf(g, [c.OC, c.C / c.groups, c.KH, c.KW]);
    const opts = { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups };
    // the same values and gradients as the unfused pair
    const fused = fusedConv2d(x.detach(), w.detach(), null, { ...opts, activation: 'relu' }), plain = conv2d(x.detach(), w.detach(), null, opts).relu();
    expect(Array.from(fused.data)).toEqual(Array.from(plain.data));
    check((xx, ww) => fusedConv2d(xx, ww, null, { ...opts, activation: 'relu' }), [x, w]);
  }), fcOpts()),
  maxPool2d: () => fc.assert(fc.property(poolCaseArb(true).filter(poolValid), (c) => {
    const x = leaf(new Generator(c.seed), [c.N, c.C, c.H, c.W]);
    check((t) => maxPool2d(t, { kernelSize: c.kernel, stride: c.stride, padding: c.padding, dilation: c.dilation, ceilMode: c.ceilMode }), [x]);
  }), fcOpts()),
  avgPool2d: () => fc.assert(fc.property(poolCaseArb(false).filter(poolValid), (c) => {
    const x = leaf(new Generator(c.seed), [c.N, c.C, c.H, c.W]);
    check((t) => avgPool2d(t, { kernelSize: c.kernel, stride: c.stride, padding: c.padding, ceilMode: c.ceilMode, countIncludePad: c.countIncludePad }), [x]);
  }), fcOpts()),
  adaptiveAvgPool2d: () => fc.assert(fc.property(
    fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 })), seedArb, ([N, C, H, W, OH, OW], seed) => {
      check((t) => adaptiveAvgPool2d(t, [OH, OW]), [leaf(new Generator(seed), [N, C, H, W])]);
    }), fcOpts()),
  cat: () => fc.assert(fc.property(shapeArb(3, 4, 0, 1), fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 4 }), fc.nat(), seedArb, (shape, sizes, dimRaw, seed) => {
    const g = new Generator(seed);
    const dim = dimRaw % shape.length;
    const parts = sizes.map((s) => leaf(g, shape.map((v, i) => (i === dim ? s : v))));
    check((...ts) => cat(ts, dim).mul(cat(ts, dim)), parts);
  }), fcOpts()),
};

describe('gradcheck: every differentiable ops op (float64, cpu)', () => {
  for (const [name, prop] of Object.entries(properties)) it(name, prop);
  it('split (composed from narrow) and globalAvgPool2d', () => fc.assert(fc.property(shapeArb(3, 5, 1, 1), fc.integer({ min: 1, max: 4 }), seedArb, (shape, chunk, seed) => {
    const x = leaf(new Generator(seed), shape);
    check((t) => cat(split(t, chunk, -1).map((p, i) => p.mul(i + 1)), -1), [x]);
  }), fcOpts()));
  it('globalAvgPool2d', () => {
    check((t) => globalAvgPool2d(t), [leaf(new Generator(3), [2, 3, 5, 4])]);
  });
});

describe('op registry (ops package)', () => {
  it('every registered ops op is gradchecked here', () => {
    const missing = listOps().filter((op) => op.pkg === 'ops' && op.differentiable && !(op.name in properties)).map((op) => op.name);
    expect(missing).toEqual([]);
    expect(listOps().filter((op) => op.pkg === 'ops').length).toBe(6);
  });
});
