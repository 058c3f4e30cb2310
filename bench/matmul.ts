// float32 matmul at 256, 512, 1024: firegrad (one thread) against TF.js's pure-JS cpu backend,
// measured in the same run. Run: pnpm bench:matmul
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Generator, randn } from '@firegrad/core';
import { Command, Option } from 'commander';
import { fmt, gflops, intArg, time } from './util';

const { runs } = new Command('pnpm bench:matmul')
  .description('float32 matmul GFLOP/s at 256, 512, 1024: firegrad (one thread) against TF.js cpu')
  .addOption(new Option('--runs <n>', 'timed runs per cell').env('RUNS').argParser(intArg('--runs')).default(5))
  .parse().opts<{ runs: number }>();
await tf.setBackend('cpu');
console.log(`matmul float32, median of ${runs} runs (min–max), GFLOP/s; TF.js ${tf.version_core} cpu backend`);
console.log('size  | firegrad            | tfjs-cpu            | ratio');
for (const n of [256, 512, 1024]) {
  const g = new Generator(n);
  const a = randn([n, n], { generator: g }), b = randn([n, n], { generator: g });
  const flop = 2 * n ** 3;
  const ours = await time(() => a.matmul(b), runs);
  const ta = tf.tensor2d(a.data as Float32Array, [n, n]), tb = tf.tensor2d(b.data as Float32Array, [n, n]);
  const theirs = await time(() => { const c = tf.matMul(ta, tb); c.dataSync(); c.dispose(); }, n === 1024 ? Math.min(runs, 3) : runs);
  const row = (t: typeof ours) => `${fmt(gflops(flop, t.median))} (${fmt(gflops(flop, t.max))}–${fmt(gflops(flop, t.min))})`.padEnd(19);
  console.log(`${String(n).padEnd(5)} | ${row(ours)} | ${row(theirs)} | ${fmt(theirs.median / ours.median, 1)}×`);
}
