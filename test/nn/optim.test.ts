// Optimizers and schedulers against PyTorch (test/fixtures/nn/optim.json): from the same start and
// the same 5 gradients, every parameter after every step, in float64.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Tensor } from '@firegrad/core';
import { Adam, AdamW, CosineAnnealingLR, SGD, StepLR, type Optimizer } from '@firegrad/nn';
import { expectClose } from '../helpers';

interface JsonTensor { shape: number[]; data: number[] }
const fx = JSON.parse(readFileSync(new URL('../fixtures/nn/optim.json', import.meta.url), 'utf8'));
const t64 = (t: JsonTensor, requiresGrad = false) => new Tensor(Float64Array.from(t.data), t.shape, { requiresGrad });

function make(c: any, params: Tensor[]): { opt: Optimizer; sched: { step(): void } | null } {
  const o = c.options;
  const opt = c.optimizer === 'SGD' ? new SGD(params, o) : c.optimizer === 'Adam' ? new Adam(params, o) : new AdamW(params, o);
  const s = c.scheduler;
  const sched = !s ? null : s.type === 'StepLR' ? new StepLR(opt, { stepSize: s.stepSize, gamma: s.gamma }) : new CosineAnnealingLR(opt, { tMax: s.tMax, etaMin: s.etaMin });
  return { opt, sched };
}

describe('optimizers match PyTorch step by step (float64, 1e-9)', () => {
  for (const c of fx.configs) {
    it(c.name, () => {
      const params = [t64(fx.params0.p0, true), t64(fx.params0.p1, true)];
      const { opt, sched } = make(c, params);
      c.steps.forEach((expected: any, k: number) => {
        params[0].grad = t64(fx.grads[k].p0);
        params[1].grad = t64(fx.grads[k].p1);
        opt.step();
        sched?.step();
        // the AMSGrad case differs from plain Adam by ~4e-6 from step 4 on, so 1e-9 tells them apart
        expectClose(params[0].data, expected.p0.data, 1e-9, 1e-12, `${c.name} step ${k + 1} p0`);
        expectClose(params[1].data, expected.p1.data, 1e-9, 1e-12, `${c.name} step ${k + 1} p1`);
        expect(opt.lr).toBeCloseTo(expected.lr, 12);
      });
    });
  }
});

describe('optimizer state', () => {
  it('stateDict / loadStateDict resume exactly (Adam)', () => {
    const start = () => [t64(fx.params0.p0, true), t64(fx.params0.p1, true)];
    const a = start(), b = start();
    const optA = new Adam(a, { lr: 0.01, amsgrad: true });
    const feed = (ps: Tensor[], k: number) => { ps[0].grad = t64(fx.grads[k].p0); ps[1].grad = t64(fx.grads[k].p1); };
    for (let k = 0; k < 5; k++) { feed(a, k); optA.step(); }
    const optB = new Adam(b, { lr: 0.01, amsgrad: true });
    for (let k = 0; k < 2; k++) { feed(b, k); optB.step(); }
    const saved = JSON.parse(JSON.stringify(optB.stateDict()));
    const optC = new Adam(b, { lr: 0.01, amsgrad: true });
    optC.loadStateDict(saved);
    for (let k = 2; k < 5; k++) { feed(b, k); optC.step(); }
    expect(Array.from(b[0].data)).toEqual(Array.from(a[0].data));
    expect(Array.from(b[1].data)).toEqual(Array.from(a[1].data));
  });
  it('Adam on float32 follows its formula exactly: moments stored in float32 and read back', () => {
    const n = 50, grads = (k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 7.1 + k) * 10 ** ((i % 7) - 3));
    const p = new Tensor(Float32Array.from({ length: n }, (_, i) => Math.cos(i)), [n], { requiresGrad: true });
    const opt = new Adam([p], { lr: 0.01, weightDecay: 0.1 });
    const want = Float32Array.from(p.data as Float32Array), m = new Float32Array(n), v = new Float32Array(n);
    for (let t = 1; t <= 4; t++) {
      const g = grads(t);
      p.grad = new Tensor(g, [n]);
      opt.step();
      const stepSize = 0.01 / (1 - 0.9 ** t), bc2Sqrt = Math.sqrt(1 - 0.999 ** t);
      for (let i = 0; i < n; i++) {
        const gi = g[i] + 0.1 * want[i];
        m[i] = 0.9 * m[i] + (1 - 0.9) * gi;
        v[i] = 0.999 * v[i] + (1 - 0.999) * gi * gi;
        want[i] -= stepSize * m[i] / (Math.sqrt(v[i]) / bc2Sqrt + 1e-8);
      }
      expect(p.data).toEqual(want);
    }
  });
  it('loadStateDict rejects a state for other parameters', () => {
    const opt = new SGD([t64(fx.params0.p0, true)], { lr: 0.1, momentum: 0.9 });
    expect(() => opt.loadStateDict({ step: 1, lr: 0.1, slots: [{ momentumBuffer: [1, 2] }] })).toThrow(/slot 'momentumBuffer' of parameter 0 has 2 values, parameter \[3, 4\]/);
    expect(() => opt.loadStateDict({ step: 1, lr: 0.1, slots: [] })).toThrow(/state has 0 parameters, optimizer has 1/);
  });
  it('skips parameters without a gradient and zeroGrad clears them', () => {
    const p = t64(fx.params0.p1, true), q = t64(fx.params0.p1, true);
    const before = Array.from(q.data);
    const opt = new SGD([p, q], { lr: 0.1 });
    p.grad = t64(fx.grads[0].p1);
    opt.step();
    expect(Array.from(q.data)).toEqual(before);
    opt.zeroGrad();
    expect(p.grad).toBeNull();
  });
  it('rejects bad arguments', () => {
    const p = t64(fx.params0.p1, true);
    expect(() => new SGD([p], { lr: -1 })).toThrow(/SGD: lr must be >= 0, got -1/);
    expect(() => new SGD([p], { lr: 0.1, nesterov: true })).toThrow(/nesterov needs momentum > 0/);
    expect(() => new Adam([])).toThrow(/Adam: got no parameters/);
    expect(() => new Adam([t64(fx.params0.p1)])).toThrow(/parameter 0 \[5\] does not require grad/);
  });
});
