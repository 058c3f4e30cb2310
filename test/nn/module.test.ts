// The Module API: registration, traversal, train/eval, state dicts, apply, zeroGrad, summary.
import { describe, expect, it } from 'vitest';
import { Generator, Tensor, ones, randn, setSimd, simdEnabled, zeros } from '@firegrad/core';
import { Conv2d, Dropout, Fire, Linear, Module, ReLU, Sequential, SqueezeNetMini, squeezenet1_0 } from '@firegrad/nn';

class WithBuffers extends Module {
  readonly lin = this.registerModule('lin', new Linear(3, 2));
  readonly running = this.registerBuffer('running', zeros([2]));
  readonly scratch = this.registerBuffer('scratch', zeros([4]), { persistent: false });
  forward(x: Tensor) { return this.lin.forward(x).add(this.running); }
}

describe('Module', () => {
  const net = () => new Sequential(
    new Conv2d(1, 2, 3, { generator: new Generator(0) }), new ReLU(), new Sequential(new Linear(4, 3), new Dropout(0.5)));
  it('names parameters with dotted paths in registration order', () => {
    expect([...net().namedParameters()].map(([n, t]) => [n, t.shape])).toEqual([
      ['0.weight', [2, 1, 3, 3]], ['0.bias', [2]], ['2.0.weight', [3, 4]], ['2.0.bias', [3]],
    ]);
  });
  it('lists children, modules and named modules', () => {
    const m = net();
    expect([...m.children()].map((c) => c.constructor.name)).toEqual(['Conv2d', 'ReLU', 'Sequential']);
    expect([...m.namedModules()].map(([n]) => n)).toEqual(['', '0', '1', '2', '2.0', '2.1']);
    expect([...m.modules()].length).toBe(6);
  });
  it('train() and eval() reach every submodule', () => {
    const m = net().eval();
    expect([...m.modules()].every((x) => !x.training)).toBe(true);
    m.train();
    expect([...m.modules()].every((x) => x.training)).toBe(true);
  });
  it('Dropout is the identity in eval mode and scales kept values by 1/(1-p) in training', () => {
    const d = new Dropout(0.25, { generator: new Generator(1) });
    const x = ones([1000]);
    const y = d.forward(x);
    const kept = Array.from(y.data).filter((v) => v !== 0);
    expect(kept.every((v) => Math.abs(v - 1 / 0.75) < 1e-6)).toBe(true);
    expect(Math.abs(kept.length / 1000 - 0.75)).toBeLessThan(0.07); // binomial sd √(0.75·0.25/1000) = 0.0137; 5σ
    d.eval();
    expect(d.forward(x)).toBe(x);
  });
  it('Dropout draws one uint32 per element in order, over several chunks of draws, and p = 1 zeroes all', () => {
    for (const p of [0.3, 1]) {
      const d = new Dropout(p, { generator: new Generator(4) }), ref = new Generator(4);
      const x = randn([3, 5000], { generator: new Generator(5) });
      const y = d.forward(x).data, keep = 1 - p;
      for (let i = 0; i < x.numel(); i++) {
        const want = Math.fround(x.data[i] * Math.fround(ref.nextUint32() < keep * 2 ** 32 ? 1 / keep : 0));
        if (!Object.is(y[i], want)) expect.fail(`p = ${p}, element ${i}: ${y[i]} ≠ ${want}`);
      }
      expect(d.generator.getState()).toEqual(ref.getState());
    }
  });
  it('Dropout keeps the definition on NaN, ±∞, ±0 and subnormals, on the WebAssembly kernel and on the JS loop', () => {
    const special = [NaN, Infinity, -Infinity, 0, -0, 1e-45, -1e-45, 3.4e38, -2];
    const x = new Tensor(Float32Array.from({ length: 40_003 }, (_, i) => special[i % special.length] * (1 + i / 1e5)), [40_003]);
    const initial = simdEnabled();
    try {
      for (const simd of [true, false]) {
        setSimd(simd);
        const d = new Dropout(0.4, { generator: new Generator(9) }), ref = new Generator(9);
        const y = d.forward(x).data;
        for (let i = 0; i < x.numel(); i++) {
          const want = Math.fround(x.data[i] * Math.fround(ref.nextUint32() < 0.6 * 2 ** 32 ? 1 / 0.6 : 0));
          if (!Object.is(y[i], want)) expect.fail(`SIMD ${simd}, element ${i}: ${y[i]} ≠ ${want}`);
        }
        expect(d.generator.getState()).toEqual(ref.getState());
      }
    } finally {
      setSimd(initial);
    }
  });
  it('buffers: persistent ones are in stateDict, non-persistent ones are not', () => {
    const m = new WithBuffers();
    expect(Object.keys(m.stateDict())).toEqual(['running', 'lin.weight', 'lin.bias']);
    expect([...m.namedBuffers()].map(([n]) => n)).toEqual(['running', 'scratch']);
    expect([...m.parameters()].length).toBe(2);
  });
  it('loadStateDict copies values in place and reports missing and unexpected keys', () => {
    const a = new WithBuffers(), b = new WithBuffers();
    const weightRef = b.lin.weight;
    a.running.data.fill(7);
    expect(b.loadStateDict(a.stateDict())).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(b.lin.weight).toBe(weightRef);
    expect(Array.from(b.lin.weight.data)).toEqual(Array.from(a.lin.weight.data));
    expect(Array.from(b.running.data)).toEqual([7, 7]);
    const partial = { 'lin.weight': a.lin.weight, extra: zeros([1]) };
    expect(() => b.loadStateDict(partial)).toThrow(/missing keys: running, lin\.bias; unexpected keys: extra/);
    expect(b.loadStateDict(partial, { strict: false })).toEqual({ missingKeys: ['running', 'lin.bias'], unexpectedKeys: ['extra'] });
  });
  it('loadStateDict names every shape mismatch, even when not strict, and writes nothing', () => {
    const m = new WithBuffers();
    const before = Array.from(m.lin.bias!.data);
    const bad = { ...m.stateDict(), 'lin.weight': zeros([3, 3]), 'lin.bias': ones([2]) };
    expect(() => m.loadStateDict(bad, { strict: false })).toThrow("loadStateDict: WithBuffers: shape mismatch for 'lin.weight': checkpoint [3, 3], model [2, 3]");
    expect(Array.from(m.lin.bias!.data)).toEqual(before);
  });
  it('loadStateDict converts float32 checkpoints into a float64 model', () => {
    const f32 = new Linear(2, 2), f64 = new Linear(2, 2, { dtype: 'float64' });
    f64.loadStateDict(f32.stateDict());
    expect(Array.from(f64.weight.data)).toEqual(Array.from(f32.weight.data));
    expect(f64.weight.dtype).toBe('float64');
  });
  it('apply visits children first, then the module; zeroGrad clears every grad', () => {
    const m = net();
    const seen: string[] = [];
    m.apply((x) => seen.push(x.constructor.name));
    expect(seen).toEqual(['Conv2d', 'ReLU', 'Linear', 'Dropout', 'Sequential', 'Sequential']);
    const x = ones([1, 1, 4, 4]);
    m.at(0).forward(x).sum().backward();
    expect((m.at(0) as Conv2d).weight.grad).not.toBeNull();
    m.zeroGrad();
    expect([...m.parameters()].every((p) => p.grad === null)).toBe(true);
  });
  it('rejects duplicate or dotted names', () => {
    class Bad extends Module {
      constructor(name: string) { super(); this.registerModule('a', new ReLU()); this.registerModule(name, new ReLU()); }
      forward(x: Tensor) { return x; }
    }
    expect(() => new Bad('a')).toThrow("Module: 'a' is already registered on Bad");
    expect(() => new Bad('b.c')).toThrow("Module: name 'b.c' must be non-empty and contain no '.'");
  });
  it('Fire validates its input and its identity bypass', () => {
    expect(() => new Fire(64, 16, 64, 64, { bypass: 'identity' })).toThrow(/identity bypass needs inChannels \(64\) = expand1x1 \+ expand3x3 \(128\)/);
    expect(() => new Fire(8, 2, 4, 4).forward(zeros([1, 3, 5, 5]))).toThrow('Fire: expected input [N, 8, H, W], got [1, 3, 5, 5]');
  });
  it('toString prints the tree', () => {
    expect(String(new Sequential(new Conv2d(1, 2, 3), new ReLU()))).toBe(
      'Sequential (\n  (0): Conv2d(1, 2, kernelSize=3×3, stride=1×1, padding=0×0)\n  (1): ReLU\n)');
  });
});

describe('summary', () => {
  it('lists every leaf layer with output shape, params and MACs, and totals them', () => {
    const s = new SqueezeNetMini().summary([1, 1, 28, 28]);
    expect(s.totalParams).toBe(145_418);
    expect(s.rows.reduce((n, r) => n + r.params, 0)).toBe(145_418);
    // conv 1→64 3×3 pad 1 at 28×28: 64·28·28·9 MACs (hand math)
    expect(s.rows[0]).toMatchObject({ name: 'features.0', outputShape: [1, 64, 28, 28], params: 640, macs: 64 * 28 * 28 * 9 });
    expect(s.rows.at(-1)!.outputShape).toEqual([1, 10, 1, 1]);
    expect(s.table).toMatch(/Total params: 145,418/);
  });
  it('SqueezeNet 1.0 at 224: MACs of the stem conv by hand, ~0.82 GMACs in all', () => {
    const s = squeezenet1_0().summary([1, 3, 224, 224]);
    expect(s.rows[0].macs).toBe(96 * 109 * 109 * 3 * 49);
    expect(s.totalMacs / 1e9).toBeGreaterThan(0.7);
    expect(s.totalMacs / 1e9).toBeLessThan(0.9);
  });
});
