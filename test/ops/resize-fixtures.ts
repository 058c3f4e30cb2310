// PyTorch fixtures of pad and interpolate (test/fixtures/resize.json from scripts/make-fixtures.py,
// resize_cases): each case in float64 and in float32, both computed by torch, with the call's
// params camelCased as firegrad takes them. pad.test.ts and interpolate.test.ts run their op's cases.
import { describe, expect, it } from 'vitest';
import type { Tensor } from '@firegrad/core';
import { interpolate, pad, type InterpolateOptions, type PadMode } from '@firegrad/ops';
import { expectGradCase, type GradCase } from '../core/fixture-values';
import fixtures from '../fixtures/resize.json';

type Params =
  | { op: 'pad'; pad: number[]; mode: PadMode; value: number }
  | ({ op: 'interpolate' } & InterpolateOptions);
type Case = GradCase & { params: Params };

// Imported, not read from disk, so the browser suite runs the fixtures too.
const cases = fixtures.cases as unknown as Case[];

function call(p: Params): (x: Tensor) => Tensor {
  if (p.op === 'pad') return (x) => pad(x, p.pad, { mode: p.mode, value: p.value });
  const { op: _, ...options } = p;
  return (x) => interpolate(x, options);
}

/** Declares the fixture tests of one op's cases. */
export function resizeFixtures(op: Params['op']): void {
  describe(`PyTorch fixtures (${op})`, () => {
    const mine = cases.filter((c) => c.params.op === op);
    it('every case comes in float64 and float32', () => {
      expect(mine.length).toBeGreaterThan(10);
      const names = [...new Set(mine.map((c) => c.name))];
      expect(mine.length).toBe(2 * names.length);
    });
    for (const c of mine) it(`${c.name} (${c.dtype})`, () => expectGradCase(c, call(c.params)));
  });
}
