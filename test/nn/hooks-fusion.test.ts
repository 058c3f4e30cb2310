// Honest modules: forward hooks see every registered module run, summary() watches through hooks
// without changing any value, conv+ReLU fusion is the Conv2d option `activation: 'relu'` (never a
// container's peephole), and SqueezeNet's features follow torchvision's layout per version.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Generator, Tensor, noGrad, zeros } from '@firegrad/core';
import {
  Conv2d, Fire, Module, ReLU, Sequential, SqueezeNet, SqueezeNetMini, init, squeezenet1_0, squeezenet1_1,
} from '@firegrad/nn';
import { fcOpts, leaf } from '../helpers';

const bits = (t: Tensor) => Array.from(t.data);

/** Each module's output by dotted name, recorded by hooks while fn runs; hooks removed after. */
function recordOutputs(model: Module, fn: () => unknown): Map<string, number[]> {
  const outputs = new Map<string, number[]>();
  const handles = [...model.namedModules()].map(([name, m]) =>
    m.registerForwardHook((_, __, y) => void outputs.set(name, bits(y))));
  try { fn(); } finally { handles.forEach((h) => h.remove()); }
  return outputs;
}

/** Records the wrapped model's output each time it runs (a non-leaf, so summary() watches only its inside). */
class Probe extends Module {
  readonly outputs: Tensor[] = [];
  constructor(readonly inner: Module) { super(); this.registerModule('inner', inner); }
  forward(x: Tensor): Tensor {
    const y = this.inner.forward(x);
    this.outputs.push(y);
    return y;
  }
}

describe('forward hooks', () => {
  it('call() runs forward, then each hook with (module, input, output); remove() stops it', () => {
    const relu = new ReLU();
    const seen: [Module, Tensor, Tensor][] = [];
    const handle = relu.registerForwardHook((m, x, y) => void seen.push([m, x, y]));
    const x = new Tensor(new Float32Array([-1, 2]), [2]);
    const y = relu.call(x);
    expect(bits(y)).toEqual([0, 2]);
    expect(seen).toEqual([[relu, x, y]]);
    expect(seen[0][1]).toBe(x);
    expect(seen[0][2]).toBe(y);
    handle.remove();
    handle.remove(); // a second remove is harmless
    relu.call(x);
    expect(seen).toHaveLength(1);
  });

  it('the same function registered twice runs twice; removing one handle keeps the other', () => {
    const relu = new ReLU();
    let calls = 0;
    const hook = () => void calls++;
    const first = relu.registerForwardHook(hook);
    relu.registerForwardHook(hook);
    relu.call(zeros([1]));
    expect(calls).toBe(2);
    first.remove();
    relu.call(zeros([1]));
    expect(calls).toBe(3);
  });

  it('a hook that removes itself while running does not disturb the others', () => {
    const relu = new ReLU();
    const order: string[] = [];
    const a = relu.registerForwardHook(() => { order.push('a'); a.remove(); });
    relu.registerForwardHook(() => void order.push('b'));
    relu.call(zeros([1]));
    relu.call(zeros([1]));
    expect(order).toEqual(['a', 'b', 'b']);
  });

  it('Sequential runs each child through call(), in order, with no conv+ReLU peephole', () => {
    const seq = new Sequential(new Conv2d(1, 2, 3), new ReLU());
    const order: string[] = [];
    for (const [name, m] of seq.namedChildren()) m.registerForwardHook(() => void order.push(name));
    seq.call(zeros([1, 1, 4, 4]));
    expect(order).toEqual(['0', '1']);
  });
});

describe('every registered module runs (no phantom modules)', () => {
  it('Fire registers only the convs it calls, each with activation relu; keys unchanged', () => {
    const fire = new Fire(8, 2, 4, 4, { bypass: 'projection' });
    expect([...fire.namedChildren()].map(([n, m]) => [n, (m as Conv2d).activation]))
      .toEqual([['squeeze', 'relu'], ['expand1x1', 'relu'], ['expand3x3', 'relu'], ['shortcut', 'relu']]);
    expect(Object.keys(fire.stateDict())).toEqual(['squeeze.weight', 'squeeze.bias', 'expand1x1.weight', 'expand1x1.bias',
      'expand3x3.weight', 'expand3x3.bias', 'shortcut.weight', 'shortcut.bias']);
  });

  it.each([
    ['SqueezeNet 1.0, complex bypass', () => squeezenet1_0({ numClasses: 3, bypass: 'complex' }), [1, 3, 21, 21]],
    ['SqueezeNet 1.1, simple bypass', () => squeezenet1_1({ numClasses: 3, bypass: 'simple' }), [1, 3, 17, 17]],
    ['SqueezeNetMini', () => new SqueezeNetMini(), [1, 1, 12, 12]],
  ] as const)('%s: one call reaches every module', (_, make, shape) => {
    const model = make().eval();
    const ran = recordOutputs(model, () => noGrad(() => model.call(zeros(shape))));
    expect([...ran.keys()].sort()).toEqual([...model.namedModules()].map(([n]) => n).sort());
  });
});

describe('conv+ReLU fusion is explicit: Conv2d activation relu equals Conv2d then ReLU, bit for bit', () => {
  it('property: values and gradients (x, weight, bias), float32 and float64', () => fc.assert(fc.property(
    fc.record({
      n: fc.integer({ min: 1, max: 2 }), c: fc.integer({ min: 1, max: 3 }), oc: fc.integer({ min: 1, max: 3 }),
      h: fc.integer({ min: 3, max: 6 }), w: fc.integer({ min: 3, max: 6 }), k: fc.integer({ min: 1, max: 3 }),
      stride: fc.integer({ min: 1, max: 2 }), padding: fc.integer({ min: 0, max: 1 }),
      dtype: fc.constantFrom('float32' as const, 'float64' as const), seed: fc.nat(),
    }),
    ({ n, c, oc, h, w, k, stride, padding, dtype, seed }) => {
      const make = (activation: 'relu' | 'linear') =>
        new Conv2d(c, oc, k, { stride, padding, dtype, activation, generator: new Generator(seed) });
      const fused = make('relu');
      const separate = new Sequential(make('linear'), new ReLU());
      const run = (model: Module) => {
        const x = leaf(new Generator(seed + 1), [n, c, h, w], undefined, false).to(dtype).detach().requiresGrad_(true);
        const y = model.call(x);
        y.mul(leaf(new Generator(seed + 2), y.shape, undefined, false).to(dtype)).sum().backward();
        return [bits(y), bits(x.grad!), ...[...model.parameters()].map((p) => bits(p.grad!))];
      };
      expect(run(separate)).toEqual(run(fused));
    }), fcOpts(40)));

  it('describe() shows the activation; the default is linear', () => {
    expect(new Conv2d(1, 2, 3, { activation: 'relu' }).describe()).toBe('Conv2d(1, 2, kernelSize=3×3, stride=1×1, padding=0×0, activation=relu)');
    expect(new Conv2d(1, 2, 3).activation).toBe('linear');
  });
});

describe('summary() observes without changing results', () => {
  it('the reported case: a Fire block on [1, 4, 5, 5] gives the same output under summary() (ReLU kept, no negatives)', () => {
    const probe = new Probe(new Fire(4, 3, 8, 8, { generator: new Generator(12) }));
    probe.summary([1, 4, 5, 5]);
    const expected = noGrad(() => probe.eval().forward(zeros([1, 4, 5, 5])));
    const [underSummary] = probe.outputs;
    expect(bits(underSummary)).toEqual(bits(expected));
    expect(bits(underSummary).filter((v) => v < 0)).toEqual([]);
  });

  it.each([
    ['Fire with projection bypass', () => new Fire(4, 3, 8, 8, { bypass: 'projection', generator: new Generator(3) }), [1, 4, 5, 5]],
    ['SqueezeNetMini', () => new SqueezeNetMini({ generator: new Generator(4) }), [2, 1, 12, 12]],
    ['SqueezeNet 1.1', () => new SqueezeNet({ version: '1.1', numClasses: 4, generator: new Generator(5) }), [1, 3, 17, 17]],
  ] as const)('%s: every module’s output is identical with and without summary()', (_, make, shape) => {
    const model = make();
    // SqueezeNet's init zeroes biases; nonzero ones make a zero input exercise every ReLU
    for (const [name, p] of model.namedParameters()) if (name.endsWith('bias')) init.uniform(p, -1, 1, { generator: new Generator(6) });
    const underSummary = recordOutputs(model, () => model.summary(shape));
    const normal = recordOutputs(model, () => noGrad(() => model.eval().call(zeros(shape))));
    expect(underSummary.size).toBe([...model.modules()].length);
    expect(underSummary).toEqual(normal);
  });

  it('summary() leaves no hook behind and restores the training mode', () => {
    const model = new SqueezeNetMini();
    const { rows } = model.summary([1, 1, 12, 12]);
    const leaves = [...model.modules()].filter((m) => [...m.children()].length === 0).length;
    expect(rows).toHaveLength(leaves);
    expect(model.training).toBe(true);
    noGrad(() => model.eval().call(zeros([1, 1, 12, 12])));
    expect(rows).toHaveLength(leaves); // a leftover hook would have appended to this same array
  });
});

describe('SqueezeNet features are torchvision’s literal lists, bypass applied per Fire', () => {
  const layout = (model: SqueezeNet) => [...model.features.children()].map((m) =>
    m instanceof Fire ? `Fire(${m.inChannels},${m.squeeze.outChannels},${m.expand1x1.outChannels},${m.bypass})` : m.constructor.name);
  const fires = (version: '1.0' | '1.1', bypass: 'none' | 'simple' | 'complex') =>
    layout(new SqueezeNet({ version, bypass })).filter((s) => s.startsWith('Fire'));

  it('1.0 and 1.1 layer lists (torchvision squeezenet.py)', () => {
    expect(layout(squeezenet1_0())).toEqual(['Conv2d', 'ReLU', 'MaxPool2d', 'Fire(96,16,64,none)', 'Fire(128,16,64,none)',
      'Fire(128,32,128,none)', 'MaxPool2d', 'Fire(256,32,128,none)', 'Fire(256,48,192,none)', 'Fire(384,48,192,none)',
      'Fire(384,64,256,none)', 'MaxPool2d', 'Fire(512,64,256,none)']);
    expect(layout(squeezenet1_1())).toEqual(['Conv2d', 'ReLU', 'MaxPool2d', 'Fire(64,16,64,none)', 'Fire(128,16,64,none)',
      'MaxPool2d', 'Fire(128,32,128,none)', 'Fire(256,32,128,none)', 'MaxPool2d', 'Fire(256,48,192,none)',
      'Fire(384,48,192,none)', 'Fire(384,64,256,none)', 'Fire(512,64,256,none)']);
  });

  it.each(['1.0', '1.1'] as const)('%s: simple = identity around Fire3/5/7/9; complex adds projections around Fire2/4/6/8', (version) => {
    const kind = (s: string) => s.slice(s.lastIndexOf(',') + 1, -1);
    expect(fires(version, 'simple').map(kind)).toEqual(['none', 'identity', 'none', 'identity', 'none', 'identity', 'none', 'identity']);
    expect(fires(version, 'complex').map(kind)).toEqual(['projection', 'identity', 'projection', 'identity', 'projection', 'identity', 'projection', 'identity']);
  });
});
