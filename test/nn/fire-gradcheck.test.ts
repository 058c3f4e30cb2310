// Fire against torchvision's Fire (fixture), and float64 gradchecks of Fire with each bypass kind
// and of a tiny SqueezeNet-shaped net end to end (every parameter and the input).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Generator, Tensor } from '@firegrad/core';
import { AdaptiveAvgPool2d, Conv2d, Dropout, Fire, MaxPool2d, ReLU, Sequential, crossEntropy, type Module } from '@firegrad/nn';
import { expectClose, expectGradcheck, leaf } from '../helpers';

interface JsonTensor { shape: number[]; data: number[] }
const fx = JSON.parse(readFileSync(new URL('../fixtures/nn/fire.json', import.meta.url), 'utf8'));
const t64 = (t: JsonTensor) => new Tensor(Float64Array.from(t.data), t.shape);

describe('Fire against torchvision (float64)', () => {
  it('output and every gradient', () => {
    const p = fx.params;
    const fire = new Fire(p.inplanes, p.squeezePlanes, p.expand1x1Planes, p.expand3x3Planes, { dtype: 'float64' });
    fire.loadStateDict(Object.fromEntries(Object.entries(fx.stateDict).map(([k, v]) => [k, t64(v as JsonTensor)])));
    const x = t64(fx.inputs.x).requiresGrad_();
    const out = fire.forward(x);
    expectClose(out.data, fx.output.data, 1e-10, 1e-12, 'output');
    out.backward(t64(fx.gradOutput));
    expectClose(x.grad!.data, fx.grads.x.data, 1e-10, 1e-12, 'grad x');
    for (const [n, t] of fire.namedParameters()) expectClose(t.grad!.data, fx.grads[n].data, 1e-10, 1e-12, `grad ${n}`);
  });
});

/** fn(x, ...params) running the module with the given tensors as its parameters. */
function functional(model: Module, head: (y: Tensor) => Tensor = (y) => y) {
  const names = [...model.namedParameters()].map(([n]) => n);
  const fn = (x: Tensor, ...ps: Tensor[]) => model.withParameters(Object.fromEntries(names.map((n, i) => [n, ps[i]])), () => head(model.forward(x)));
  const params = () => [...model.parameters()].map((t) => t.detach().requiresGrad_());
  return { fn, params };
}

/** Gradchecks a module's output with respect to its input and every parameter (vᵀJu, 3 seeds). */
function gradcheckModule(model: Module, x: Tensor, head?: (y: Tensor) => Tensor) {
  const { fn, params } = functional(model, head);
  for (const seed of [0, 1, 2]) expectGradcheck(fn, [x, ...params()], { fast: true, seed });
}

describe('gradcheck (float64) of Fire with each bypass', () => {
  for (const bypass of ['none', 'identity', 'projection'] as const) {
    it(bypass, () => {
      const g = new Generator(11);
      const inC = bypass === 'identity' ? 6 : 4;
      const fire = new Fire(inC, 2, 3, 3, { dtype: 'float64', bypass, generator: g });
      // biases away from zero so no ReLU sits at its kink
      for (const [, p] of fire.namedParameters()) if (p.ndim === 1) p.data.forEach((_, i) => (p.data[i] = 0.3 + 0.1 * g.normal()));
      for (const seed of [1, 2, 3]) {
        const x = leaf(new Generator(seed), [2, inC, 5, 4]);
        gradcheckModule(fire, x);
      }
      // and the full Jacobian on a small input
      const { fn, params } = functional(fire);
      expectGradcheck(fn, [leaf(new Generator(4), [1, inC, 3, 3]), ...params()]);
    });
  }
});

describe('gradcheck (float64) of a tiny SqueezeNet-shaped net end to end', () => {
  it('conv → relu → ceil-mode pool → Fire → pool → Fire(identity) → dropout(eval) → conv → relu → avgpool → cross-entropy', () => {
    const g = new Generator(5);
    const o = { dtype: 'float64' as const, generator: g };
    const net = new Sequential(
      new Conv2d(2, 4, 3, { ...o, stride: 2 }), new ReLU(), new MaxPool2d(3, { stride: 2, ceilMode: true }),
      new Fire(4, 2, 3, 3, { ...o, bypass: 'projection' }), new MaxPool2d(2, { ceilMode: true }),
      new Fire(6, 2, 3, 3, { ...o, bypass: 'identity' }), new Dropout(0.5),
      new Conv2d(6, 3, 1, o), new ReLU(), new AdaptiveAvgPool2d(1),
    ).eval();
    for (const [, p] of net.namedParameters()) if (p.ndim === 1) p.data.forEach((_, i) => (p.data[i] = 0.2 + 0.1 * g.normal()));
    const labels = new Int32Array([0, 2]);
    gradcheckModule(net, leaf(new Generator(6), [2, 2, 13, 11]), (y) => crossEntropy(y.flatten(1), labels));
    expect(net.forward(leaf(new Generator(6), [2, 2, 13, 11], undefined, false)).shape).toEqual([2, 3, 1, 1]);
  });
});
