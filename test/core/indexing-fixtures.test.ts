// Differential tests of issue 15's indexing against PyTorch: test/fixtures/indexing.json is written by
// scripts/make-fixtures.py (indexing_cases), each case in float64 and float32. Negative dims, starts
// and indices where PyTorch accepts them, and strided slices (Python's x[a:b:step] on one dim).
import { describe, expect, it } from 'vitest';
import type { Tensor } from '@firegrad/core';
import { expectGradCase, type GradCase } from './fixture-values';
import fixtures from '../fixtures/indexing.json';

const cases = fixtures.cases as unknown as GradCase[];

/** The same expressions as the Python script, in firegrad. */
const expressions: Record<string, (x: Tensor, index?: Tensor) => Tensor> = {
  narrow_neg_dim_start: (x) => x.narrow(-1, -3, 2),
  narrow_neg_start_full: (x) => x.narrow(1, -5, 5),
  narrow_empty_at_end: (x) => x.narrow(0, 3, 0),
  select_neg_index: (x) => x.select(1, -1),
  select_neg_dim: (x) => x.select(-1, -4),
  select_first: (x) => x.select(0, 0),
  select_1d: (x) => x.select(0, -2),
  slice_step2: (x) => x.slice(1, 1, undefined, 2),
  slice_neg_start_step3: (x) => x.slice(1, -4, 5, 3),
  slice_clipped_step4: (x) => x.slice(0, -10, 10, 4),
  slice_neg_end_step2: (x) => x.slice(2, 0, -1, 2),
  slice_empty_step2: (x) => x.slice(1, 4, 1, 2),
  slice_step_past_end: (x) => x.slice(1, 2, undefined, 7),
  gather_neg_dim: (x, index) => x.gather(-1, index!),
  chain: (x) => x.select(0, -1).slice(0, 0, undefined, 2).narrow(-1, -2, 2).mul(x.slice(0, 1).slice(1, -3, undefined, 2).slice(2, 1).sum()),
};

describe('PyTorch fixtures, indexing (issue 15)', () => {
  it('every fixture case has an expression here, in both dtypes', () => {
    const names = [...new Set(cases.map((c) => c.name))].sort();
    expect(names).toEqual(Object.keys(expressions).sort());
    expect(cases.length).toBe(2 * names.length);
  });
  for (const c of cases) it(`${c.name} (${c.dtype})`, () => expectGradCase(c, expressions[c.name]));
});
