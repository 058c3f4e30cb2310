// PyTorch fixtures (test/fixtures/ops.json from scripts/make-fixtures.py): forward values and every
// gradient of sum(output · gradOutput), in float64 and float32. Each op's test file runs its cases.
import { describe, expect, it } from 'vitest';
import { Tensor, vjp } from '@firegrad/core';
import { adaptiveAvgPool2d, avgPool2d, conv2d, maxPool2d } from '@firegrad/ops';
import { expectClose } from '../helpers';
import fixtures from '../fixtures/ops.json';

interface JsonTensor { shape: number[]; data: number[] }
export interface Case {
  name: string; op: string; inputs: Record<string, JsonTensor>; params: any; gradOutput: JsonTensor; output: JsonTensor;
  grads: Record<string, JsonTensor>; shapes?: Record<string, number[]>;
  gradSummaries?: { x: { sum: number; sumAbs: number; sumSq: number; slice: number[] } };
}
// Imported, not read from disk, so the browser suite runs the fixtures too.
export const cases = fixtures.cases as Case[];

function build(c: Case): (...xs: Tensor[]) => Tensor {
  const p = c.params;
  switch (c.op) {
    case 'conv2d': return (x, w, b) => conv2d(x, w, b ?? null, p);
    case 'maxPool2d': return (x) => maxPool2d(x, p);
    case 'avgPool2d': return (x) => avgPool2d(x, p);
    case 'adaptiveAvgPool2d': return (x) => adaptiveAvgPool2d(x, p.outputSize);
    case 'chain': return (x, w, b) => {
      const pool = (t: Tensor) => maxPool2d(t, p.pool);
      return pool(pool(pool(conv2d(x, w, b, p.conv).relu())));
    };
    default: throw new Error(`unknown op ${c.op}`);
  }
}

const summary = (d: ArrayLike<number>) => {
  let sum = 0, sumAbs = 0, sumSq = 0;
  for (let i = 0; i < d.length; i++) { sum += d[i]; sumAbs += Math.abs(d[i]); sumSq += d[i] * d[i]; }
  return { sum, sumAbs, sumSq };
};

/** Declares the fixture tests of the cases whose op is in `ops`, in float64 and float32. */
export function pytorchFixtures(ops: readonly string[]): void {
  for (const dtype of ['float64', 'float32'] as const) {
    // float64: exact up to summation order. float32: inputs rounded to f32 (6e-8 relative) and f32
    // accumulation over at most a few hundred terms of O(1) values.
    const [rtol, atol] = dtype === 'float64' ? [1e-10, 1e-12] : [1e-4, 1e-5];
    describe(`PyTorch fixtures, ${dtype}`, () => {
      for (const c of cases.filter((k) => ops.includes(k.op))) {
        it(c.name, () => {
          const names = Object.keys(c.inputs);
          const make = (t: JsonTensor) => new Tensor(dtype === 'float64' ? Float64Array.from(t.data) : Float32Array.from(t.data), t.shape);
          const { out, vjp: pullback } = vjp(build(c), ...names.map((n) => make(c.inputs[n])));
          expect(out.shape).toEqual(c.output.shape);
          expectClose(out.data, c.output.data, rtol, atol, `${c.name} output`);
          const grads = pullback(make(c.gradOutput));
          for (const [name, expected] of Object.entries(c.grads)) {
            expectClose(grads[names.indexOf(name)].data, expected.data, rtol, atol, `${c.name} grad ${name}`);
          }
          if (c.gradSummaries) {
            const gx = grads[names.indexOf('x')].data, s = summary(gx), e = c.gradSummaries.x;
            expectClose([s.sum, s.sumAbs, s.sumSq], [e.sum, e.sumAbs, e.sumSq], rtol, atol, `${c.name} grad x summary`);
            expectClose(Array.from(gx.subarray(0, e.slice.length)), e.slice, rtol, atol, `${c.name} grad x slice`);
          }
        });
      }
    });
  }
}
