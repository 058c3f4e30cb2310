// gradcheck must be able to fail. Each op below has a deliberately wrong backward; gradcheck has to
// report it (and name where), while the correct twin passes.
import { describe, expect, it } from 'vitest';
import { Generator, Tensor, gradcheck, defineOp, sumTo, track, matmul } from '@firegrad/core';
import { leaf } from '../helpers';

const SQUARE_X2 = defineOp({ name: 'planted.squareOffByFactor', inputs: ['input'], differentiable: true, pkg: 'test' });
/** x², backward says 4x instead of 2x. */
const squareOffByFactor = (x: Tensor) =>
  track(SQUARE_X2, [x], x.detach().mul(x.detach()), (g) => [g.mul(x.detach()).mul(4)]);

const MATMUL_T = defineOp({ name: 'planted.matmulTransposed', inputs: ['input'], differentiable: true, pkg: 'test' });
/** a·b, but grad_a = bᵀ·g style mistake: uses gᵀ-shaped product for a square case (transposed grad). */
const matmulTransposedGrad = (a: Tensor, b: Tensor) =>
  track(MATMUL_T, [a, b], matmul(a.detach(), b.detach()), (g) => [matmul(g, b.detach().T).T, matmul(a.detach().T, g)]);

const ADD_NOREDUCE = defineOp({ name: 'planted.addNoReduce', inputs: ['input'], differentiable: true, pkg: 'test' });
/** a + b with broadcasting, but the gradient of the broadcast operand is not summed back. */
const addNoReduce = (a: Tensor, b: Tensor) =>
  track(ADD_NOREDUCE, [a, b], a.detach().add(b.detach()), (g) => [sumTo(g, a.shape), g]);

const SIN_SIGN = defineOp({ name: 'planted.expWrongSign', inputs: ['input'], differentiable: true, pkg: 'test' });
const expWrongSign = (x: Tensor) => {
  const out = x.detach().exp();
  return track(SIN_SIGN, [x], out, (g) => [g.mul(out).neg()]);
};

let calls = 0;
const NONDET = defineOp({ name: 'planted.nonReentrant', inputs: ['input'], differentiable: true, pkg: 'test' });
/** Correct on average, but each backward call returns something different. */
const nonReentrant = (x: Tensor) => track(NONDET, [x], x.detach().mul(2), (g) => [g.mul(2 + (calls++ % 2) * 1e-3)]);

const BIAS = defineOp({ name: 'planted.gradWithoutCotangent', inputs: ['input'], differentiable: true, pkg: 'test' });
/** Backward ignores the incoming gradient for one term (gives a gradient even for g = 0). */
const gradWithoutCotangent = (x: Tensor) => track(BIAS, [x], x.detach().mul(3), (g) => [g.mul(3).add(1e-3)]);

describe('gradcheck catches planted bugs', () => {
  const g = new Generator(7);
  it('off by a factor', () => {
    const report = gradcheck(squareOffByFactor, [leaf(g, [3, 2])]);
    expect(report.ok).toBe(false);
    expect(report.worst?.input).toBe(0);
    expect(report.message).toMatch(/differ; worst: input 0/);
  });
  it('a transposed gradient', () => {
    const report = gradcheck(matmulTransposedGrad, [leaf(g, [3, 3]), leaf(g, [3, 3])]);
    expect(report.ok).toBe(false);
    expect(report.worst?.input).toBe(0);
  });
  it('a missing broadcast reduction (caught by the shape check, reported)', () => {
    const report = gradcheck(addNoReduce, [leaf(g, [2, 3]), leaf(g, [3])]);
    expect(report.ok).toBe(false);
    expect(report.message).toMatch(/planted\.addNoReduce.*shape \[2, 3\].*\[3\]/);
  });
  it('a wrong sign', () => {
    expect(gradcheck(expWrongSign, [leaf(g, [4])]).ok).toBe(false);
  });
  it('a backward that is not reentrant', () => {
    const report = gradcheck(nonReentrant, [leaf(g, [2])], { atol: 1e-2 });
    expect(report.ok).toBe(false);
    expect(report.message).toMatch(/not reentrant/);
  });
  it('a gradient that does not scale with the output gradient', () => {
    const report = gradcheck(gradWithoutCotangent, [leaf(g, [2])], { atol: 1e-2 });
    expect(report.ok).toBe(false);
    expect(report.message).toMatch(/zero output gradient/);
  });
  it('fast mode catches the factor bug too', () => {
    expect(gradcheck(squareOffByFactor, [leaf(g, [20, 10])], { fast: true }).ok).toBe(false);
  });
  it('the correct twins pass', () => {
    expect(gradcheck((x) => x.mul(x), [leaf(g, [3, 2])]).ok).toBe(true);
    expect(gradcheck((a, b) => a.matmul(b), [leaf(g, [3, 3]), leaf(g, [3, 3])]).ok).toBe(true);
    expect(gradcheck((a, b) => a.add(b), [leaf(g, [2, 3]), leaf(g, [3])]).ok).toBe(true);
  });
  it('rejects float32 inputs and inputs without requiresGrad', () => {
    const x32 = new Tensor(new Float32Array(3), [3], { requiresGrad: true });
    expect(() => gradcheck((x) => x.mul(2), [x32])).toThrow(/input 0 \[3\] is float32; finite differences need float64/);
    expect(() => gradcheck((x) => x.mul(2), [leaf(g, [3], undefined, false)])).toThrow(/no input has requiresGrad/);
  });
});
