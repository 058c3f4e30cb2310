// The timed unit of the browser bench, for firegrad: one training step of SqueezeNetMini on a fixed
// random batch, as bench/all.ts's W4 (SGD, momentum 0.9, dropout on), in whatever thread calls it.
import { Generator, randint, randn } from '@firegrad/core';
import { SGD, SqueezeNetMini, crossEntropy } from '@firegrad/nn';
import { BATCH } from './protocol';

/** Builds the model, batch and optimizer; the returned step trains once and returns the loss. */
export function firegradStep(): () => number {
  const g = new Generator(0);
  const model = new SqueezeNetMini({ generator: g });
  const x = randn([BATCH, 1, 28, 28], { generator: g });
  const labels = randint(0, 10, [BATCH], { generator: g }).data as Int32Array;
  const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  return () => {
    const loss = crossEntropy(model.call(x), labels);
    loss.backward();
    opt.step();
    opt.zeroGrad();
    return loss.item();
  };
}

/** Times `n` calls of a synchronous step; returns each call's ms and the last loss. */
export function timeSteps(step: () => number, n: number): { ms: number[]; loss: number } {
  const ms: number[] = [];
  let loss = NaN;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    loss = step();
    ms.push(performance.now() - t0);
  }
  return { ms, loss };
}
