// Memory over a long training run: RSS and JS heap every 100 steps of the small SqueezeNet
// (batch 16, SGD momentum). Flat numbers mean no leak through the tape, kernels or workspaces.
// Run: tsx bench/memory.ts [steps=1000]
import { Generator, randint, randn } from '@firegrad/core';
import { SGD, SqueezeNetMini, crossEntropy } from '@firegrad/nn';

const steps = Number(process.argv[2] ?? 1000);
const g = new Generator(0);
const model = new SqueezeNetMini({ generator: g });
const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
const x = randn([16, 1, 28, 28], { generator: g });
const y = randint(0, 10, [16], { generator: g }).data as Int32Array;
const mb = (n: number) => (n / 2 ** 20).toFixed(1);
console.log('step   rss MB   heapUsed MB   external+arrayBuffers MB');
const t0 = performance.now();
for (let step = 1; step <= steps; step++) {
  crossEntropy(model.forward(x), y).backward();
  opt.step();
  opt.zeroGrad();
  if (step % 100 === 0 || step === 1) {
    const m = process.memoryUsage();
    console.log(`${String(step).padStart(4)}   ${mb(m.rss).padStart(6)}   ${mb(m.heapUsed).padStart(11)}   ${mb(m.external + m.arrayBuffers).padStart(10)}`);
  }
}
console.log(`${steps} steps in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
