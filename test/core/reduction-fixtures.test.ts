// Differential tests of issue 15's reductions against PyTorch: test/fixtures/reductions.json is written
// by scripts/make-fixtures.py (reduction_cases), each case once in float64 and once in float32, both
// computed by torch (Debian's 1.13: its var/std backward formulas are the ones matched here).
// Non-finite values arrive as the strings "NaN" / "Infinity". argmin/argmax cases carry no gradients.
import { describe, expect, it } from 'vitest';
import * as fg from '@firegrad/core';
import { Tensor } from '@firegrad/core';
import { expectGradCase, toTensor, type JsonTensor } from './fixture-values';
import fixtures from '../fixtures/reductions.json';

interface Case {
  name: string; dtype: 'float64' | 'float32'; inputs: Record<string, JsonTensor>; output: JsonTensor;
  gradOutput?: JsonTensor; grads?: Record<string, JsonTensor>;
}

// Imported, not read from disk, so the browser suite runs this file too.
const cases = fixtures.cases as unknown as Case[];

/** torch.stack([argX(x, 1), argX(x, 0)[:4]]) from the script, for a 4×5 input. */
const argBoth = (f: (x: Tensor, dim: number) => Tensor) => (x: Tensor) => {
  const rows = Array.from(f(x, 1).data), cols = Array.from(f(x, 0).data).slice(0, 4);
  return new Tensor(Int32Array.from([...rows, ...cols]), [2, 4]);
};

/** The same expressions as the Python script, in firegrad. */
const expressions: Record<string, (x: Tensor) => Tensor> = {
  prod_dim: (x) => x.prod(1),
  prod_all: (x) => x.prod(),
  prod_dim_zeros: (x) => x.prod(1),
  prod_dim0_keepdim_zeros: (x) => fg.prod(x, 0, true),
  prod_all_one_zero: (x) => x.prod(),
  prod_all_two_zeros: (x) => x.prod(),
  prod_inf: (x) => x.prod(1),
  prod_inf_and_zero: (x) => x.prod(1),
  prod_scalar: (x) => x.prod(),
  var_dim_c0: (x) => x.var(1, { correction: 0 }),
  var_dim_c1: (x) => x.var(1, { correction: 1 }),
  var_dim_c2: (x) => fg.variance(x, 1, { correction: 2 }),
  std_dims_c0_keepdim: (x) => x.std([0, 2], { correction: 0, keepDim: true }),
  std_dims_c1_keepdim: (x) => x.std([0, 2], { correction: 1, keepDim: true }),
  std_dims_c2_keepdim: (x) => fg.std(x, [0, 2], { correction: 2, keepDim: true }),
  var_all: (x) => x.var(),
  std_all: (x) => x.std(undefined, { correction: 0 }),
  var_large: (x) => x.var(1),
  var_dim_n_eq_c: (x) => x.var(1, { correction: 2 }),
  var_dim_n_lt_c: (x) => x.var(1, { correction: 3 }),
  var_all_n_le_c: (x) => x.var(undefined, { correction: 4 }),
  var_single: (x) => x.var(0),
  var_scalar: (x) => x.var(),
  std_constant_slice: (x) => x.std(1),
  var_nan_inf: (x) => x.var(1),
  chain: (x) => x.std(0).mul(x.min([0, 1])).add(x.prod(1).sum()).sub(x.var(1, { correction: 0 }).max()),
};
for (const [op, f, arg] of [['max', fg.max, fg.argmax], ['min', fg.min, fg.argmin]] as const) {
  Object.assign(expressions, {
    [`${op}_all_ties`]: (x: Tensor) => f(x),
    [`${op}_dim_ties`]: (x: Tensor) => f(x, 2),
    [`${op}_dim0_keepdim_ties`]: (x: Tensor) => f(x, 0, true),
    [`${op}_dims_ties`]: (x: Tensor) => f(x, [0, 2]),
    [`${op}_dims_keepdim_ties`]: (x: Tensor) => f(x, [1, -1], true),
    [`${op}_all_nan`]: (x: Tensor) => f(x),
    [`${op}_dim_nan_inf`]: (x: Tensor) => f(x, 1),
    [`${op}_dims_random`]: (x: Tensor) => f(x, [0, 1]),
    [`arg${op}_ties_nan`]: argBoth(arg),
    [`arg${op}_all`]: (x: Tensor) => arg(x),
  });
}

describe('PyTorch fixtures, reductions (issue 15)', () => {
  it('every fixture case has an expression here, in both dtypes', () => {
    const names = [...new Set(cases.map((c) => c.name))].sort();
    expect(names).toEqual(Object.keys(expressions).sort());
    expect(cases.length).toBe(2 * names.length);
  });
  for (const c of cases) {
    it(`${c.name} (${c.dtype})`, () => {
      if (!c.grads) { // argmin / argmax: exact int32 indices
        const out = expressions[c.name](toTensor(c.inputs.x, c.dtype));
        expect(out.dtype).toBe('int32');
        expect(out.shape).toEqual(c.output.shape);
        expect(Array.from(out.data)).toEqual(c.output.data.map(Number));
        return;
      }
      expectGradCase({ ...c, gradOutput: c.gradOutput!, grads: c.grads }, expressions[c.name]);
    });
  }
});

describe('reductions: bad input is a typed error naming the op and argument (issue 15)', () => {
  const x = new Tensor(Float64Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
  const ints = new Tensor(Int32Array.from([1, 2]), [2]);
  it('int32 input is a DTypeError', () => {
    for (const [op, f] of [['min', () => ints.min()], ['prod', () => ints.prod()], ['var', () => ints.var()],
      ['std', () => ints.std()], ['argmin', () => ints.argmin()]] as const) {
      expect(f, op).toThrow(fg.DTypeError);
      expect(f, op).toThrow(new RegExp(`^${op}: .*'input'`));
    }
  });
  it('empty tensors and bad dims are ValueErrors', () => {
    const empty = fg.zeros([0, 3]);
    expect(() => empty.min()).toThrow('min: cannot reduce an empty tensor [0, 3]');
    expect(() => empty.max([0, 1])).toThrow('max: cannot reduce an empty tensor [0, 3]');
    expect(() => empty.argmin(0)).toThrow('argmin: cannot reduce an empty tensor [0, 3]');
    expect(() => x.max([1, -1])).toThrow(fg.ValueError);
    expect(() => x.max([1, -1])).toThrow(/^max: argument 'dim' repeats a dim/);
    expect(() => x.prod(2)).toThrow(fg.ValueError);
    expect(() => x.var(0, { correction: NaN })).toThrow("var: argument 'correction' must be a finite number, got NaN");
    expect(() => x.std(0, { correction: Infinity })).toThrow("std: argument 'correction' must be a finite number, got Infinity");
  });
  it('argmin of a tensor that requires grad does not record', () => {
    const leaf = x.clone().requiresGrad_();
    expect(leaf.argmin(1).requiresGrad).toBe(false);
  });
});
