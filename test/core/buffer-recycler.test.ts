// Buffer recycling (core's buffer-recycler.ts) only changes where memory comes from: training with it
// must give bit-identical weights to training without it, on graphs where gradients alias (views,
// an input used twice, broadcasts) as well as on a real network. And it must actually be used.
import { afterEach, describe, expect, it } from 'vitest';
import { Generator, Tensor, bufferRecyclingStats, noGrad, randint, randn, setBufferRecycling } from '@firegrad/core';
import { Adam, ReLU, Sequential, SqueezeNetMini, crossEntropy } from '@firegrad/nn';
import { setSharedAllocation } from '@firegrad/core/internal';
import { parallelInfo, setNumThreads } from '@firegrad/ops';
import { itNodeOnly } from '../helpers';

afterEach(() => setBufferRecycling(true));

/** Runs `steps` training steps of `loss` on fresh parameters and returns the final parameters. */
function train(recycling: boolean, makeParams: () => Tensor[], loss: (ps: Tensor[], step: number) => Tensor, steps: number): number[][] {
  setBufferRecycling(recycling);
  const params = makeParams();
  const opt = new Adam(params, { lr: 1e-2 });
  for (let s = 0; s < steps; s++) {
    loss(params, s).backward();
    opt.step();
    opt.zeroGrad();
  }
  return params.map((p) => Array.from(p.data));
}

describe('buffer recycling', () => {
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
    const before = bufferRecyclingStats().reuses;
    const recycled = train(true, make, loss, 8);
    expect(bufferRecyclingStats().reuses).toBeGreaterThan(before);
    expect(recycled).toEqual(train(false, make, loss, 8));
  });

  it('sums fan-out gradients in place only where nothing else holds them (views, add, retained grads)', () => {
    const make = () => [randn([32, 64], { generator: new Generator(4), requiresGrad: true })];
    const loss = ([w]: Tensor[], step: number) => {
      const x = randn([32, 64], { generator: new Generator(step) });
      const s = w.mul(x);                                  // fan-out to four consumers
      const u = s.mul(x).reshape([64, 32]).retainGrad();   // s's first gradient: a view of u's, which is kept
      const a = s.add(s);                                  // the same gradient twice
      return u.sum().add(a.mul(a).sum()).add(s.mul(s).sum());
    };
    expect(train(true, make, loss, 4)).toEqual(train(false, make, loss, 4));
    const w = make()[0], x = randn([32, 64], { generator: new Generator(9) });
    const s = w.mul(x), u = s.mul(x).reshape([64, 32]).retainGrad();
    u.sum().add(s.mul(s).sum()).backward();
    expect(Array.from(u.grad!.data).every((v) => v === 1)).toBe(true);
  });

  it('leaves SqueezeNetMini training bit-identical, and reuses buffers every step', () => {
    const run = (recycling: boolean) => {
      setBufferRecycling(recycling);
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
    const before = bufferRecyclingStats().reuses;
    const recycled = run(true);
    const reused = bufferRecyclingStats().reuses - before;
    expect(reused).toBeGreaterThan(10);
    expect(recycled).toEqual(run(false));
  });

  itNodeOnly('FIREGRAD_RECYCLE=0 in the environment starts recycling off', 'a worker_threads Worker with its own environment', async () => {
    const { Worker } = await import('node:worker_threads');
    const code = `
      const { parentPort } = require('node:worker_threads');
      (async () => {
        (await import('tsx/esm/api')).register(); // a worker does not inherit vitest's TypeScript loading
        parentPort.postMessage((await import('@firegrad/core')).bufferRecyclingStats().enabled);
      })().catch((e) => parentPort.postMessage(String(e && e.stack || e)));`;
    const enabledWith = async (env: NodeJS.ProcessEnv) => {
      const worker = new Worker(code, { eval: true, env });
      try {
        return await new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
      } finally {
        await worker.terminate();
      }
    };
    expect(await enabledWith({ ...process.env, FIREGRAD_RECYCLE: '0' })).toBe(false);
    const unset = { ...process.env };
    delete unset.FIREGRAD_RECYCLE;
    expect(await enabledWith(unset)).toBe(true);
  });

  it('makes room for a new workload by dropping the buffers held longest, past its 256 MB cap', () => {
    // Workload A hands back nine 32 MB intermediates at once (a built-in module's call under noGrad).
    const chain = new Sequential(...Array.from({ length: 10 }, () => new ReLU()));
    noGrad(() => chain.call(randn([8 * 2 ** 20], { generator: new Generator(2) })));
    expect(bufferRecyclingStats().freeBytes).toBeGreaterThan(224 * 2 ** 20);
    // Workload B's gradient buffer must still be kept, and serve its next allocation.
    const w = randn([4096], { generator: new Generator(1), requiresGrad: true });
    w.mul(2).mul(3).sum().backward();
    const before = bufferRecyclingStats();
    randn([4096]);
    const after = bufferRecyclingStats();
    expect(after.reuses - before.reuses).toBe(1);
    expect(after.fresh - before.fresh).toBe(0);
    expect(after.freeBytes).toBeLessThanOrEqual(256 * 2 ** 20);
  });

  itNodeOnly('hands out only buffers of the current kind when shared allocation turns on or off', 'SharedArrayBuffer', () => {
    const churn = () => { // a backward pass that leaves an intermediate gradient of 4096 elements in the recycler
      const w = randn([4096], { generator: new Generator(1), requiresGrad: true });
      w.mul(2).mul(3).sum().backward();
    };
    const next = () => randn([4096]).data.buffer; // from the recycler when it holds one of the current kind
    setNumThreads(1); // no pool (applied by the next parallelInfo()): ordinary memory, until this test turns shared allocation on itself
    expect(parallelInfo().threads).toBe(1);
    churn();
    expect(next()).toBeInstanceOf(ArrayBuffer);
    churn(); // the recycler holds an ordinary buffer again
    try {
      setSharedAllocation(true, () => {}, 2 ** 40);
      expect(next()).toBeInstanceOf(SharedArrayBuffer); // not the one held from before
      churn();
      expect(next()).toBeInstanceOf(SharedArrayBuffer);
      churn(); // now a shared one is held
    } finally {
      setSharedAllocation(false);
    }
    expect(next()).not.toBeInstanceOf(SharedArrayBuffer);
  });
});
