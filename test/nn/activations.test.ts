// The activation modules: no state, PyTorch's class names and attribute names, forward is the functional op.
import { describe, expect, it } from 'vitest';
import * as fg from '@firegrad/core';
import { Generator, Tensor, randn } from '@firegrad/core';
import {
  ELU, GELU, Hardsigmoid, Hardswish, Hardtanh, LeakyReLU, LogSigmoid, Mish, PReLU, SELU, SiLU, Sequential, Softplus, type Module,
} from '@firegrad/nn';

const modules: [Module, (x: Tensor) => Tensor][] = [
  [new LeakyReLU(0.2), (x) => fg.leakyRelu(x, 0.2)],
  [new ELU(0.5), (x) => fg.elu(x, 0.5)],
  [new SELU(), fg.selu],
  [new SiLU(), fg.silu],
  [new Mish(), fg.mish],
  [new Softplus({ beta: 2, threshold: 1 }), (x) => fg.softplus(x, { beta: 2, threshold: 1 })],
  [new Hardtanh(-0.5, 2), (x) => fg.hardtanh(x, -0.5, 2)],
  [new Hardsigmoid(), fg.hardsigmoid],
  [new Hardswish(), fg.hardswish],
  [new LogSigmoid(), fg.logSigmoid],
  [new GELU({ approximate: 'tanh' }), (x) => fg.gelu(x, { approximate: 'tanh' })],
  [new GELU(), (x) => fg.gelu(x)],
];

describe('activation modules', () => {
  it('have PyTorch class names and no parameters, buffers or state', () => {
    expect(modules.map(([m]) => m.constructor.name)).toEqual([
      'LeakyReLU', 'ELU', 'SELU', 'SiLU', 'Mish', 'Softplus', 'Hardtanh', 'Hardsigmoid', 'Hardswish', 'LogSigmoid', 'GELU', 'GELU',
    ]);
    for (const [m] of modules) {
      expect(m.stateDict()).toEqual({});
      expect([...m.parameters()]).toEqual([]);
    }
  });
  it('keep their arguments under PyTorch names, camelCased, with PyTorch defaults', () => {
    expect(new LeakyReLU().negativeSlope).toBe(0.01);
    expect(new ELU().alpha).toBe(1);
    expect({ beta: new Softplus().beta, threshold: new Softplus().threshold }).toEqual({ beta: 1, threshold: 20 });
    expect({ minVal: new Hardtanh().minVal, maxVal: new Hardtanh().maxVal }).toEqual({ minVal: -1, maxVal: 1 });
    expect(new GELU({ approximate: 'tanh' }).approximate).toBe('tanh');
    expect(new GELU().approximate).toBe('none');
  });
  for (const dtype of ['float32', 'float64'] as const) {
    it(`forward (and call, in a Sequential) equals the functional op, ${dtype}`, () => {
      // values from -16 to 16, so each op's kinks and tails are crossed
      const x = randn([4, 7], { dtype, generator: new Generator(3) }).mul(8);
      for (const [m, f] of modules) {
        const want = Array.from(f(x).data);
        expect(Array.from(m.forward(x).data), m.constructor.name).toEqual(want);
        expect(Array.from(new Sequential(m).call(x).data), m.constructor.name).toEqual(want);
        expect(m.forward(x).dtype).toBe(dtype);
      }
    });
  }
  it('pass gradients back like the functional op', () => {
    const x = randn([3, 5], { dtype: 'float64', generator: new Generator(4) }).mul(4);
    for (const [m, f] of modules) {
      const [a] = fg.grad((t) => m.forward(t).sum())(x);
      const [b] = fg.grad((t) => f(t).sum())(x);
      expect(Array.from(a.data), m.constructor.name).toEqual(Array.from(b.data));
    }
  });
  it('PReLU: one weight parameter, PyTorch init 0.25, forward is prelu, the gradient reaches the weight', () => {
    const m = new PReLU(3, 0.25, { dtype: 'float64' });
    expect(Object.keys(m.stateDict())).toEqual(['weight']);
    expect([...m.namedParameters()].map(([n, t]) => [n, t.shape, Array.from(t.data)])).toEqual([['weight', [3], [0.25, 0.25, 0.25]]]);
    expect(new PReLU().weight.shape).toEqual([1]);
    expect(new PReLU().weight.dtype).toBe('float32');
    const x = randn([2, 3, 4], { dtype: 'float64', generator: new Generator(5) });
    expect(Array.from(m.call(x).data)).toEqual(Array.from(fg.prelu(x, m.weight).data));
    m.call(x).sum().backward();
    // d/dw_c sum(prelu(x)) = the sum of channel c's negative inputs
    const want = [0, 1, 2].map((c) => Array.from(x.narrow(1, c, 1).data).filter((v) => v < 0).reduce((a, b) => a + b, 0));
    Array.from(m.weight.grad!.data).forEach((v, c) => expect(v).toBeCloseTo(want[c], 12));
  });
});
