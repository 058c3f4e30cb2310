// A call() of nn's own modules hands its intermediate arrays to the buffer recycler once they are
// dead (core's ownIntermediates, nn's sealBuiltIns): at once without a tape, else when
// Tensor.backward frees the graph. It must change no result, must leave alone every tensor a user
// can still reach (hook captures, a custom module's fields, the output and its views, .grad), and
// must actually make steady-state training and inference reuse their memory.
import { afterEach, describe, expect, it } from 'vitest';
import { Generator, Tensor, bufferRecyclingStats, noGrad, randint, randn, setBufferRecycling } from '@firegrad/core';
import { Adam, Conv2d, Flatten, Module, ReLU, Sequential, SqueezeNetMini, crossEntropy, squeezenet1_1 } from '@firegrad/nn';

afterEach(() => setBufferRecycling(true));

const batch = (gen: Generator, n = 4) =>
  [randn([n, 1, 28, 28], { generator: gen }), randint(0, 10, [n], { generator: gen }).data as Int32Array] as const;

/** Steps of SqueezeNetMini through call(); the final parameters, and per step the fresh and reused allocations. */
function trainMini(recycling: boolean, steps: number) {
  setBufferRecycling(recycling);
  const gen = new Generator(11);
  const model = new SqueezeNetMini({ generator: gen });
  const opt = new Adam(model.parameters(), { lr: 3e-3 });
  const perStep: { fresh: number; reuses: number }[] = [];
  for (let s = 0; s < steps; s++) {
    const [x, y] = batch(gen);
    const before = bufferRecyclingStats();
    crossEntropy(model.call(x), y).backward();
    opt.step();
    opt.zeroGrad();
    const after = bufferRecyclingStats();
    perStep.push({ fresh: after.fresh - before.fresh, reuses: after.reuses - before.reuses });
  }
  return { params: [...model.parameters()].map((p) => Array.from(p.data)), perStep };
}

/** One training step of `model` on a fixed batch through call(). */
function step(model: Module, opt: Adam, gen: Generator) {
  const [x, y] = batch(gen);
  crossEntropy(model.call(x).flatten(1), y).backward();
  opt.step();
  opt.zeroGrad();
}

describe('owned forward: intermediate arrays of built-in modules recycled', () => {
  it('leaves SqueezeNetMini training bit-identical, and a steady-state step allocates almost nothing fresh', () => {
    const on = trainMini(true, 5), off = trainMini(false, 5);
    expect(on.params).toEqual(off.params);
    // Without recycling every array of a recyclable size is fresh. With it, from the third step on,
    // only the parameters' new gradients (.grad lives on, so it is never recycled: zeroGrad drops
    // it) and at most two gradients the backward pass needs before the forward's arrays come back.
    const gradArrays = [...new SqueezeNetMini().parameters()].filter((p) => p.numel() >= 1024).length;
    for (const { fresh, reuses } of on.perStep.slice(2)) {
      expect(fresh).toBeLessThanOrEqual(gradArrays + 2);
      expect(reuses).toBeGreaterThan(3 * fresh);
    }
    expect(off.perStep[4].reuses).toBe(0);
  });

  it('makes repeated inference under noGrad reuse its intermediates, with identical outputs', () => {
    const model = squeezenet1_1({ generator: new Generator(2) }).eval();
    const x = randn([1, 3, 64, 64], { generator: new Generator(3) });
    const first = Array.from(noGrad(() => model.call(x)).data);
    const before = bufferRecyclingStats();
    const second = noGrad(() => model.call(x));
    const after = bufferRecyclingStats();
    expect(Array.from(second.data)).toEqual(first);
    expect(after.fresh - before.fresh).toBeLessThanOrEqual(1); // the output (kept by the caller) at most
    expect(after.reuses - before.reuses).toBeGreaterThan(10);
  });

  it('never recycles what a forward hook captured inside the tree', () => {
    const gen = new Generator(4);
    const model = new SqueezeNetMini({ generator: gen });
    const captured: Tensor[] = [];
    model.features.registerForwardHook((_m, _x, y) => void captured.push(y));
    const inner = [...model.features.children()][3];
    inner.registerForwardHook((_m, _x, y) => void captured.push(y));
    const opt = new Adam(model.parameters(), { lr: 1e-3 });
    step(model, opt, gen);
    const copies = captured.map((t) => Array.from(t.data));
    for (let i = 0; i < 3; i++) step(model, opt, gen); // later steps take recycled arrays
    expect(captured.slice(0, copies.length).map((t) => Array.from(t.data))).toEqual(copies);
  });

  it('never recycles a tensor a custom module keeps, nor an output that is a view of an intermediate', () => {
    class Keeper extends Module {
      kept: Tensor | null = null;
      readonly body = this.registerModule('body', new Sequential(new Conv2d(1, 4, 3, { generator: new Generator(5) }), new ReLU(), new Flatten()));
      forward(x: Tensor): Tensor {
        this.kept = this.body.call(x); // a view (Flatten) of the ReLU's output: the body's output
        return this.kept.mul(2);
      }
    }
    // A subclass of a built-in is not sealed either: its forward may keep anything.
    class KeepingSequential extends Sequential {
      kept: Tensor[] = [];
      override forward(x: Tensor): Tensor {
        for (const layer of this.children()) this.kept.push(x = layer.call(x));
        return x;
      }
    }
    const gen = new Generator(6);
    const keeper = new Keeper(), sub = new KeepingSequential(new Conv2d(1, 4, 3, { generator: gen }), new ReLU(), new Flatten());
    for (const model of [keeper, sub]) {
      const opt = new Adam(model.parameters(), { lr: 1e-3 });
      const loss = () => model.call(randn([2, 1, 28, 28], { generator: gen })).flatten(1).sum();
      loss().backward();
      const kept = model === keeper ? [keeper.kept!] : [...sub.kept];
      const copies = kept.map((t) => Array.from(t.data));
      for (let i = 0; i < 3; i++) {
        loss().backward();
        opt.step();
        opt.zeroGrad();
      }
      expect(kept.map((t) => Array.from(t.data))).toEqual(copies);
    }
  });

  it('keeps the graph for retainGraph, and a second backward after freeing still fails clearly', () => {
    const gen = new Generator(7);
    const model = new SqueezeNetMini({ generator: gen });
    const [x, y] = batch(gen);
    const loss = crossEntropy(model.call(x), y);
    const w = [...model.parameters()][0];
    loss.backward(undefined, { retainGraph: true });
    const once = Array.from(w.grad!.data);
    model.zeroGrad();
    loss.backward();
    expect(Array.from(w.grad!.data)).toEqual(once);
    expect(() => loss.backward()).toThrow(/backward through the graph a second time/);
  });
});
