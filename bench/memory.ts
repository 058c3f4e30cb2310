// Memory over a long training run: RSS, JS heap and array-buffer memory every 100 steps of the
// small SqueezeNet (batch 64 as in W4 and `pnpm train`, Adam), and the share of the time spent in
// garbage collection. Flat numbers mean no leak through the tape, kernels, workspaces or pool: the
// last line is the verdict from RSS's least-squares slope after step 100.
// Run: pnpm bench:memory [steps=1000] [batch=64]   (pnpm bench:memory --help)
import { PerformanceObserver } from 'node:perf_hooks';
import { Generator, randint, randn } from '@firegrad/core';
import { Adam, SqueezeNetMini, crossEntropy } from '@firegrad/nn';
import { parallelInfo } from '@firegrad/ops';
import { Command } from 'commander';
import { intArg, rssVerdict } from './util';

const program = new Command('pnpm bench:memory')
  .description('memory (RSS, heap, array buffers) and GC share over a long SqueezeNetMini training run')
  .argument('[steps]', 'training steps', intArg('steps'), 1000)
  .argument('[batch]', 'images per step', intArg('batch'), 64)
  .parse();
const [steps, batch] = program.processedArgs as [number, number];
const g = new Generator(0);
const model = new SqueezeNetMini({ generator: g });
const opt = new Adam(model.parameters(), { lr: 1e-3 });
const x = randn([batch, 1, 28, 28], { generator: g });
const y = randint(0, 10, [batch], { generator: g }).data as Int32Array;
const mb = (n: number) => (n / 2 ** 20).toFixed(1);

let gcMs = 0, gcCount = 0;
const observer = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) { gcMs += e.duration; gcCount++; }
});
observer.observe({ entryTypes: ['gc'] });

console.log(`${steps} steps of SqueezeNetMini, batch ${batch}, ${parallelInfo().threads} thread(s)`);
console.log('step   rss MB   heapUsed MB   arrayBuffers MB   GC share of the last 100 steps');
const t0 = performance.now();
let tBlock = t0, gcBlock = 0;
const rows: number[][] = [];
for (let step = 1; step <= steps; step++) {
  crossEntropy(model.call(x), y).backward();
  opt.step();
  opt.zeroGrad();
  if (step % 100 === 0 || step === 1) {
    await new Promise((r) => setImmediate(r)); // lets the observer deliver this block's GC entries
    const m = process.memoryUsage(), now = performance.now();
    const share = (gcMs - gcBlock) / (now - tBlock);
    rows.push([step, m.rss, m.heapUsed, m.arrayBuffers]);
    console.log(`${String(step).padStart(4)}   ${mb(m.rss).padStart(6)}   ${mb(m.heapUsed).padStart(11)}   ` +
      `${mb(m.arrayBuffers).padStart(15)}   ${(100 * share).toFixed(1)}%`);
    tBlock = now;
    gcBlock = gcMs;
  }
}
await new Promise((r) => setImmediate(r));
const seconds = (performance.now() - t0) / 1000;
observer.disconnect();
// Growth from step 100 (after warm-up and the workspaces' first growth) to the end.
const [first, last] = [rows.find((r) => r[0] === 100) ?? rows[0], rows.at(-1)!];
console.log(`${steps} steps in ${seconds.toFixed(0)} s (${(steps * batch / seconds).toFixed(1)} img/s); ` +
  `GC: ${gcCount} pauses, ${(gcMs / 1000).toFixed(1)} s = ${(100 * gcMs / 1000 / seconds).toFixed(1)}% of the time`);
console.log(`from step ${first[0]} to ${last[0]}: rss ${mb(last[1] - first[1])} MB, heapUsed ${mb(last[2] - first[2])} MB, ` +
  `arrayBuffers ${mb(last[3] - first[3])} MB; peak RSS ${mb(process.resourceUsage().maxRSS * 1024)} MB`);
const verdict = rssVerdict(rows.filter((r) => r[0] >= first[0]).map((r) => [r[0], r[1]]));
console.log(verdict.line);
