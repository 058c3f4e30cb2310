// Where a SqueezeNetMini training step (batch 64, float32, Adam) spends its time: V8's sampling
// profiler over STEPS steps (default 40, after 5 warm-ups), self time summed by function and by
// the source file that holds it, largest first. Run with FIREGRAD_THREADS=1 to see the kernels
// themselves; with 2 threads the main thread's wait for its worker shows up as `Atomics.wait`.
// Run: pnpm bench:profile [--steps N] [--batch N]   (--help)
import { Session } from 'node:inspector/promises';
import { Generator, randint, randn } from '@firegrad/core';
import { Adam, SqueezeNetMini, crossEntropy } from '@firegrad/nn';
import { parallelInfo } from '@firegrad/ops';
import { Command, Option } from 'commander';
import { intArg } from './util';

const { steps, batch } = new Command('pnpm bench:profile')
  .description('where a SqueezeNetMini training step spends its time (V8 sampling profiler)')
  .addOption(new Option('--steps <n>', 'profiled steps (after 5 warm-ups)').env('STEPS').argParser(intArg('--steps')).default(40))
  .addOption(new Option('--batch <n>', 'images per step').env('BATCH').argParser(intArg('--batch')).default(64))
  .parse().opts<{ steps: number; batch: number }>();
const gen = new Generator(1);
const model = new SqueezeNetMini({ generator: gen });
const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
const x = randn([batch, 1, 28, 28], { generator: gen });
const y = randint(0, 10, [batch], { generator: gen }).data as Int32Array;
const step = () => {
  const loss = crossEntropy(model.call(x), y);
  loss.backward();
  optimizer.step();
  optimizer.zeroGrad();
};
for (let i = 0; i < 5; i++) step();

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }
const session = new Session();
session.connect();
await session.post('Profiler.setSamplingInterval', { interval: 200 });
await session.post('Profiler.enable');
await session.post('Profiler.start');
const t0 = performance.now();
for (let i = 0; i < steps; i++) step();
const ms = (performance.now() - t0) / steps;
const { profile } = await session.post('Profiler.stop') as unknown as { profile: { nodes: ProfileNode[] } };
session.disconnect();

const byFunction = new Map<string, number>(), byFile = new Map<string, number>();
let total = 0;
for (const n of profile.nodes) {
  const hits = n.hitCount ?? 0;
  if (!hits) continue;
  total += hits;
  const file = n.callFrame.url.replace(/^.*\/(packages|node_modules)\//, '').replace(/^file:\/\//, '') || `(${n.callFrame.functionName || 'native'})`;
  const fn = `${n.callFrame.functionName || '(anonymous)'}  ${file}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + hits);
  byFile.set(file, (byFile.get(file) ?? 0) + hits);
}
const top = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n)
  .map(([k, v]) => `${(100 * v / total).toFixed(1).padStart(5)}%  ${k}`).join('\n');
console.log(`${steps} steps, batch ${batch}, ${parallelInfo().threads} thread(s): ${ms.toFixed(1)} ms/step = ${(1000 * batch / ms).toFixed(1)} img/s\n`);
console.log(`by file:\n${top(byFile, 20)}\n\nby function:\n${top(byFunction, 30)}`);
