// Differential tests against PyTorch: test/fixtures/core.json is written by scripts/make-fixtures.py
// (Debian's python3-torch, float64). Each case: inputs, output, and the gradients of sum(output · gradOutput).
import { describe, expect, it } from 'vitest';
import * as fg from '@firegrad/core';
import { Tensor, vjp } from '@firegrad/core';
import { expectClose } from '../helpers';
import fixtures from '../fixtures/core.json';

interface JsonTensor { shape: number[]; data: number[] }
interface Case { name: string; inputs: Record<string, JsonTensor>; gradOutput: JsonTensor; output: JsonTensor; grads: Record<string, JsonTensor> }

// Imported, not read from disk, so the browser suite runs this file too.
const cases = fixtures.cases as unknown as Case[];

/** The same expressions as the Python script, in firegrad. Inputs arrive in the fixture's key order. */
const expressions: Record<string, (t: Record<string, Tensor>) => Tensor> = {
  logsoftmax_gather: ({ x, idx }) => x.logSoftmax(1).gather(1, idx),
  matmul_chain: ({ a, b, c }) => a.matmul(b).tanh().matmul(c),
  batched_matmul_broadcast: ({ a, b }) => a.matmul(b),
  matvec: ({ a, v }) => a.matmul(v),
  vecmat: ({ v, a }) => v.matmul(a),
  broadcast_reductions: ({ x, y }) => {
    const z = x.mul(y);
    return z.sum(2, true).div(x.abs().add(1).mean([0, 2], true)).add(z.max(1, true).mean(2, true));
  },
  softmax_dims: ({ x }) => x.softmax(0).mul(x.softmax(-1)),
  logsumexp_max: ({ x }) => x.logsumexp(1).add(x.max(1)).sub(x.sigmoid().mean()),
  pow_sqrt_div: ({ x, y }) => x.pow(y).div(x.add(y).sqrt()).add(x.pow(2.5)).sub(x.log().mul(y.neg().exp())),
  cross_entropy: ({ logits, labels }) => logits.logSoftmax(1).gather(1, labels.reshape(-1, 1)).mean().neg(),
  permute_reshape_narrow: ({ x }) => x.permute(2, 0, 1).reshape(4, 6).transpose(0, 1).narrow(0, 1, 3).mul(2).clamp(-1.5, 1.5),
  where_relu: ({ x, y }) => fg.where(x.gt(0), x.relu().mul(y), y.tanh()),
  index_select_expand: ({ x, idx }) => x.indexSelect(0, idx).unsqueeze(0).expand(2, 4, 3).mul(x.sum(0)),
  sum_all_mean: ({ x }) => x.mul(x).sum().div(x.mean().abs()),
  squeeze_unsqueeze: ({ x }) => x.squeeze(1).unsqueeze(0).sub(x.mean(0)).neg(),
};

const isIndex = (name: string) => name === 'idx' || name === 'labels';
const toTensor = (name: string, t: JsonTensor) =>
  new Tensor(isIndex(name) ? Int32Array.from(t.data) : Float64Array.from(t.data), t.shape);

describe('PyTorch fixtures (float64): values and gradients', () => {
  it('every fixture case has an expression here', () => {
    expect(cases.map((c) => c.name).sort()).toEqual(Object.keys(expressions).sort());
  });
  for (const c of cases) {
    it(c.name, () => {
      const names = Object.keys(c.inputs);
      const inputs = names.map((n) => toTensor(n, c.inputs[n]));
      const { out, vjp: pullback } = vjp((...xs) => expressions[c.name](Object.fromEntries(names.map((n, i) => [n, xs[i]]))), ...inputs);
      expect(out.shape).toEqual(c.output.shape);
      expectClose(out.data, c.output.data, 1e-10, 1e-12, `${c.name} output`);
      const grads = pullback(toTensor('gradOutput', c.gradOutput));
      for (const [name, expected] of Object.entries(c.grads)) {
        const got = grads[names.indexOf(name)];
        expect(got.shape).toEqual(expected.shape);
        expectClose(got.data, expected.data, 1e-10, 1e-12, `${c.name} grad ${name}`);
      }
    });
  }
});
