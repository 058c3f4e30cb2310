// The buffer pool (core/src/buffer-pool.ts) only changes where memory comes from: training with it
// must give bit-identical weights to training without it, on graphs where gradients alias (views,
// an input used twice, broadcasts) as well as on a real network. And it must actually be used.
import { afterEach, describe, expect, it } from 'vitest';
import { Generator, Tensor, bufferPoolStats, randint, randn, setBufferPool } from '@firegrad/core';
import { Adam, SqueezeNetMini, crossEntropy } from '@firegrad/nn';

afterEach(() => setBufferPool(true));

/** Runs `steps` training steps of `loss` on fresh parameters and returns the final parameters. */
function train(pool: boolean, makeParams: () => Tensor[], loss: (ps: Tensor[], step: number) => Tensor, steps: number): number[][] {
  setBufferPool(pool);
  const params = makeParams();
  const opt = new Adam(params, { lr: 1e-2 });
  for (let s = 0; s < steps; s++) {
    loss(params, s).backward();
    opt.step();
    opt.zeroGrad();
  }
  return params.map((p) => Array.from(p.data));
}

describe('buffer pool', () => {
  it('leaves aliasing graphs bit-identical (views, x used twice, broadcast, retained grads)', () => {
    const make = () => {
      const g = new Generator(3);
      return [randn([32, 64], { generator: g, requiresGrad: true }), randn([64], { generator: g, requiresGrad: true })];
    };
    const loss = ([w, b]: Tensor[], step: number) => {
      const x = randn([32, 64], { generator: new Generator(step) });
      const h = w.mul(x).add(b).relu();               // broadcast add
      const v = h.reshape([64, 32]).transpose(0, 1);   // a view, then a copy
      const twice = v.add(v);                          // one tensor as both inputs
      twice.retainGrad();
      return twice.mul(twice).sum().add(h.sum());      // fan-out of h
    };
    const before = bufferPoolStats().reuses;
    const pooled = train(true, make, loss, 8);
    expect(bufferPoolStats().reuses).toBeGreaterThan(before);
    expect(pooled).toEqual(train(false, make, loss, 8));
  });

  it('leaves SqueezeNetMini training bit-identical, and reuses buffers every step', () => {
    const run = (pool: boolean) => {
      setBufferPool(pool);
      const gen = new Generator(5);
      const model = new SqueezeNetMini({ generator: gen });
      const opt = new Adam(model.parameters(), { lr: 3e-3 });
      for (let s = 0; s < 4; s++) {
        const x = randn([4, 1, 28, 28], { generator: gen });
        const y = randint(0, 10, [4], { generator: gen }).data as Int32Array;
        crossEntropy(model.forward(x), y).backward();
        opt.step();
        opt.zeroGrad();
      }
      return [...model.parameters()].map((p) => Array.from(p.data));
    };
    const before = bufferPoolStats().reuses;
    const pooled = run(true);
    const reused = bufferPoolStats().reuses - before;
    expect(reused).toBeGreaterThan(10);
    expect(pooled).toEqual(run(false));
  });
});
