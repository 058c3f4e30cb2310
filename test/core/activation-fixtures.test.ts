// Differential tests of the activations against PyTorch: test/fixtures/activations.json is written by
// scripts/make-fixtures.py (activation_cases: Debian's python3-torch, float64): random values, the kinks,
// large |x|, ±Inf and NaN. Each case: input, params, output and the gradient of sum(output · gradOutput).
import { describe, expect, it } from 'vitest';
import * as fg from '@firegrad/core';
import { Tensor, vjp } from '@firegrad/core';
import { expectClose } from '../helpers';
import fixtures from '../fixtures/activations.json';

// JSON has no NaN or Inf: the script writes them as these strings.
type Num = number | 'NaN' | 'Infinity' | '-Infinity';
interface JsonTensor { shape: number[]; data: Num[] }
interface Case {
  name: string; op: string; params: Record<string, number | string>;
  inputs: Record<string, JsonTensor>; gradOutput: JsonTensor; output: JsonTensor; grads: Record<string, JsonTensor>;
}

// Imported, not read from disk, so the browser suite runs this file too.
const cases = fixtures.cases as unknown as Case[];
const num = (v: Num): number => (typeof v === 'number' ? v : Number(v));

/** The same calls as the Python script, in firegrad. */
const ops: Record<string, (x: Tensor, p: Record<string, number | string>, weight?: Tensor) => Tensor> = {
  leakyRelu: (x, p) => fg.leakyRelu(x, p.negativeSlope as number),
  elu: (x, p) => fg.elu(x, p.alpha as number),
  selu: (x) => fg.selu(x),
  silu: (x) => fg.silu(x),
  mish: (x) => fg.mish(x),
  softplus: (x, p) => fg.softplus(x, { beta: p.beta as number, threshold: p.threshold as number }),
  hardtanh: (x, p) => fg.hardtanh(x, p.minVal as number, p.maxVal as number),
  hardsigmoid: (x) => fg.hardsigmoid(x),
  hardswish: (x) => fg.hardswish(x),
  logSigmoid: (x) => fg.logSigmoid(x),
  gelu: (x, p) => fg.gelu(x, { approximate: p.approximate as 'none' | 'tanh' }),
  prelu: (x, _p, weight) => x.prelu(weight!),
};

/** NaN and ±Inf must match exactly; finite values within rtol/atol (and must be finite). */
function expectMatch(actual: ArrayLike<number>, expected: Num[], rtol: number, atol: number, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  const finite: number[] = [];
  expected.forEach((e, i) => {
    const want = num(e);
    if (Number.isFinite(want)) finite.push(i);
    else expect(actual[i], `${what}: element ${i}`).toBe(want); // toBe uses Object.is: NaN equals NaN
  });
  expectClose(finite.map((i) => actual[i]), finite.map((i) => num(expected[i])), rtol, atol, `${what} (finite elements)`);
}

/**
 * Elements whose float32-rounded input falls on the other side of a discontinuity than the float64
 * one: softplus's linear tail switches at beta·x = threshold with a jump of log1p(e^-threshold)/beta,
 * and a point drawn 1e-3 from it, or on it, is not the same point after rounding to float32.
 */
function float32Skips(c: Case): Set<number> {
  if (c.op !== 'softplus') return new Set();
  const b = c.params.beta as number, t = c.params.threshold as number;
  const xs = c.inputs.x.data.map(num), x32 = Float32Array.from(xs);
  return new Set(xs.flatMap((v, i) => ((v * b > t) !== (x32[i] * b > t) ? [i] : [])));
}

describe('activations: PyTorch fixtures', () => {
  it('every fixture op has a firegrad call here, and every op here has fixtures', () => {
    expect([...new Set(cases.map((c) => c.op))].sort()).toEqual(Object.keys(ops).sort());
  });
  for (const dtype of ['float64', 'float32'] as const) {
    // float64: the same formulas, so only rounding differs. float32: inputs rounded to f32 (6e-8
    // relative), computed in double and rounded once; tolerances as the ops fixtures use.
    const [rtol, atol] = dtype === 'float64' ? [1e-10, 1e-12] : [1e-4, 1e-5];
    describe(dtype, () => {
      for (const c of cases) {
        it(c.name, () => {
          const make = (t: JsonTensor) => {
            const data = t.data.map(num);
            return new Tensor(dtype === 'float64' ? Float64Array.from(data) : Float32Array.from(data), t.shape);
          };
          const names = Object.keys(c.inputs); // x, then weight for prelu
          const { out, vjp: pullback } = vjp((x, weight) => ops[c.op](x, c.params, weight), ...names.map((n) => make(c.inputs[n])));
          const grads = pullback(make(c.gradOutput));
          const skip = dtype === 'float32' ? float32Skips(c) : new Set<number>();
          const keep = <T>(a: ArrayLike<T>) => Array.from(a).filter((_, i) => !skip.has(i));
          expect(out.shape).toEqual(c.output.shape);
          expectMatch(keep(out.data), keep(c.output.data), rtol, atol, `${c.name} output`);
          expectMatch(keep(grads[0].data), keep(c.grads.x.data), rtol, atol, `${c.name} grad x`);
          if (c.grads.weight) {
            expectMatch(grads[1].data, c.grads.weight.data, rtol, atol, `${c.name} grad weight`);
          }
          expect(Object.keys(c.grads).sort()).toEqual(names.slice().sort());
        });
      }
    });
  }
});
