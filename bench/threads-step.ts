// A child process of bench/threads.ts: SqueezeNetMini training steps (batch 64 of 1×28×28,
// cross-entropy, SGD with momentum 0.9) on FIREGRAD_THREADS threads, run when the parent asks, so
// that it can alternate two processes that each stay warm, as a training run does.
// Message in: { steps }; out: { ms } (each step's time) and the pool's thread count.
import { Generator, randint, randn } from '@firegrad/core';
import { SGD, SqueezeNetMini, crossEntropy } from '@firegrad/nn';
import { parallelInfo } from '@firegrad/ops';

export interface StepRequest { steps: number }
export interface StepReply { ms: number[]; threads: number; reason: string }

const gen = new Generator(1);
const model = new SqueezeNetMini({ generator: new Generator(0) });
const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
// Started here, as a training run's first conv would start it: the parameters were made before, in
// ordinary memory, and the batch after, in shared memory, as in `pnpm train`.
const info = parallelInfo();
const images = randn([64, 1, 28, 28], { generator: gen });
const labels = randint(0, 10, [64], { generator: gen }).data as Int32Array;

process.on('message', ({ steps }: StepRequest) => {
  const ms: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    crossEntropy(model.call(images), labels).backward();
    opt.step();
    opt.zeroGrad();
    ms.push(performance.now() - t0);
  }
  process.send!({ ms, threads: info.threads, reason: info.reason } satisfies StepReply);
});
process.on('disconnect', () => process.exit(0));
