// Differential tests of issue 15's elementwise math against PyTorch: test/fixtures/elementwise.json is
// written by scripts/make-fixtures.py (elementwise_cases), each case once in float64 and once in
// float32, both computed by torch. Non-finite values arrive as the strings "NaN" / "Infinity".
import { describe, expect, it } from 'vitest';
import * as fg from '@firegrad/core';
import { Tensor } from '@firegrad/core';
import { expectGradCase, expectMatch, toTensor, type GradCase } from './fixture-values';
import fixtures from '../fixtures/elementwise.json';

type Case = GradCase;

// Imported, not read from disk, so the browser suite runs this file too.
const cases = fixtures.cases as unknown as Case[];

/** The same expressions as the Python script, in firegrad. Inputs arrive in the fixture's key order. */
const expressions: Record<string, (...t: Tensor[]) => Tensor> = {
  maximum_broadcast: (a, b) => a.maximum(b),
  minimum_broadcast: (a, b) => a.minimum(b),
  maximum_ties_nan_inf: (a, b) => fg.maximum(a, b),
  minimum_ties_nan_inf: (a, b) => fg.minimum(a, b),
  maximum_ties_broadcast: (a, b) => a.maximum(b),
  minimum_ties_broadcast: (a, b) => a.minimum(b),
  floor_special: (x) => x.floor(),
  ceil_special: (x) => x.ceil(),
  round_special: (x) => x.round(),
  sign_special: (x) => x.sign(),
  round_halves: (x) => fg.round(x),
  reciprocal_special: (x) => x.reciprocal(),
  rsqrt_special: (x) => x.rsqrt(),
  erf_grid: (x) => x.erf(),
  sin_special: (x) => x.sin(),
  cos_special: (x) => x.cos(),
  chain_broadcast: (a, b, c) => a.maximum(b).erf().mul(a.minimum(c).sin()).add(c.rsqrt().mul(a.cos())).sub(b.reciprocal().mul(a.round())),
};

describe('PyTorch fixtures, elementwise math (issue 15)', () => {
  it('every fixture case has an expression here, in both dtypes', () => {
    const names = [...new Set(cases.map((c) => c.name))].sort();
    expect(names).toEqual(Object.keys(expressions).sort());
    expect(cases.length).toBe(2 * names.length);
  });
  for (const c of cases) it(`${c.name} (${c.dtype})`, () => expectGradCase(c, expressions[c.name]));
  it('erf matches PyTorch to 3e-15 relative in float64 on the grid to |x| = 6.5 (gelu builds on it)', () => {
    const c = cases.find((k) => k.name === 'erf_grid' && k.dtype === 'float64')!;
    const out = toTensor(c.inputs.x, 'float64').erf();
    expectMatch(out.data, c.output, 3e-15, 1e-320, 'erf float64');
  });
});

describe('elementwise math: semantics and errors', () => {
  it('round is half to even, like torch.round', () => {
    const x = new Tensor(Float64Array.from([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5]), [7]);
    expect(Array.from(x.round().data)).toEqual([-2, -2, -0, 0, 2, 2, 4]);
  });
  it('maximum of a NaN and a number is NaN either way round', () => {
    const a = new Tensor(Float64Array.from([NaN, 1]), [2]), b = new Tensor(Float64Array.from([1, NaN]), [2]);
    expect(Array.from(a.maximum(b).data)).toEqual([NaN, NaN]);
    expect(Array.from(a.minimum(b).data)).toEqual([NaN, NaN]);
  });
  it('bad input: typed errors naming the op, argument and shapes', () => {
    const a = new Tensor(new Float64Array(6), [2, 3]), b = new Tensor(new Float64Array(4), [4]);
    expect(() => a.maximum(b)).toThrow(fg.ShapeError);
    expect(() => a.maximum(b)).toThrow(/maximum.*\[2, ?3\].*\[4\]/);
    expect(() => a.minimum(new Tensor(new Float32Array(6), [2, 3]))).toThrow(fg.DTypeError);
    expect(() => a.minimum(new Tensor(new Float32Array(6), [2, 3]))).toThrow(/minimum: dtypes differ/);
    const ints = new Tensor(new Int32Array(3), [3]);
    for (const f of [fg.erf, fg.floor, fg.sin, fg.rsqrt] as const) expect(() => f(ints)).toThrow(fg.DTypeError);
    expect(() => fg.erf({} as Tensor)).toThrow(/erf: argument 'input' must be a Tensor/);
  });
});
