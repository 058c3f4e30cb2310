// The worker pool (packages/ops/src/threads), 1 thread against THREADS (default 2): conv2d
// GFLOP/s per pass on 8×16×55×55 → 64 3×3 p1, a full SqueezeNetMini training step in images/s,
// and the costs behind the pool's limits: an empty job's round trip, and a max-pool against the
// copies a split of it would need. float32, medians of RUNS runs (default 9) after warm-ups.
// The two settings alternate run by run (conv) or in blocks (training step, in two processes that
// stay warm), so that a machine whose spare capacity drifts, as shared ones do, weighs on both alike.
// Run: npx tsx bench/threads.ts [--runs N] [--threads N]   (--help)
import { fork, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { Generator, randn, type FloatArray } from '@firegrad/core';
import { conv2dGeometry, maxPool2d, parallelInfo, setNumThreads } from '@firegrad/ops';
import {
  CONV_BACKWARD_INPUT, CONV_BACKWARD_WEIGHT, CONV_FORWARD, activeWorkers, backwardInputImages, backwardWeightImages, forwardImages,
  runConvTask, runOnThreads,
} from '@firegrad/ops/internal';
import { Command, Option } from 'commander';
import { fmt, gflops, intArg, median, summarize, time, type Timing } from './util';
import type { StepReply, StepRequest } from './threads-step';

const { runs, threads } = new Command('npx tsx bench/threads.ts')
  .description('the worker pool: 1 thread against --threads on conv2d, a training step, and the pool costs')
  .addOption(new Option('--runs <n>', 'timed runs per cell').env('RUNS').argParser(intArg('--runs')).default(9))
  .addOption(new Option('--threads <n>', 'threads to compare with one').env('THREADS').argParser(intArg('--threads', 2)).default(2))
  .parse().opts<{ runs: number; threads: number }>();
const ms = (t: Timing) => `${fmt(t.median, 1)} ms (${fmt(t.min, 1)}–${fmt(t.max, 1)})`;

function useThreads(n: number): void {
  setNumThreads(n);
  if (parallelInfo().threads !== n) throw new Error(`asked for ${n} threads: ${parallelInfo().reason}`);
}

/** Median, min and max of each function's run times, the functions taking turns run by run. */
function alternate(fns: (() => void)[], n: number, warmup = 2): Timing[] {
  for (let i = 0; i < warmup; i++) fns.forEach((f) => f());
  const samples = fns.map(() => [] as number[]);
  for (let i = 0; i < n; i++) {
    fns.forEach((f, k) => {
      const t0 = performance.now();
      f();
      samples[k].push(performance.now() - t0);
    });
  }
  return samples.map(summarize);
}

// conv2d: one thread is the plain kernel, which is what the registered kernel runs with
// setNumThreads(1); runOnThreads, the split it runs otherwise.
useThreads(threads);
const gen = new Generator(1);
const x = randn([8, 16, 55, 55], { generator: gen }), w = randn([64, 16, 3, 3], { generator: gen });
const g = conv2dGeometry(x, w, null, { padding: 1 });
const flop = 2 * g.N * g.OC * g.OH * g.OW * g.C * g.KH * g.KW;
const xd = x.data as FloatArray, wd = w.data as FloatArray;
const dyd = randn([g.N, g.OC, g.OH, g.OW], { generator: gen }).data as FloatArray;
// In shared memory, as the pool's own outputs are: a worker then writes its part in place.
const sharedFloats = (n: number) => new Float32Array(new SharedArrayBuffer(4 * n));
const out = sharedFloats(dyd.length), dx = sharedFloats(xd.length), dw = sharedFloats(wd.length);
const conv = {
  fwd: alternate([() => forwardImages(xd, wd, null, g, out), () => runOnThreads(CONV_FORWARD, g, [xd, wd, null, out], runConvTask)], runs),
  dX: alternate([() => backwardInputImages(dyd, wd, g, dx), () => runOnThreads(CONV_BACKWARD_INPUT, g, [dyd, wd, null, dx], runConvTask)], runs),
  dW: alternate([() => backwardWeightImages(xd, dyd, g, dw), () => runOnThreads(CONV_BACKWARD_WEIGHT, g, [xd, dyd, null, dw], runConvTask)], runs),
};

// A job with no work: publish, wake the workers, wait for them (1000 in a row).
const pool = activeWorkers()!;
const roundTrip = await time(() => { for (let i = 0; i < 1000; i++) pool.run('conv2d', CONV_FORWARD, 'float32', [], () => {}); }, runs);

// The training step (./threads-step: SqueezeNetMini, batch 64, SGD with momentum) runs in two
// processes, one per setting, each warmed up once and then kept warm, as a training run is: a pool
// restarted for every block (setNumThreads) measured its young workers, whose steps were still
// 10–30% slower after 6 steps and settled only after 20–30 (their JIT and WebAssembly tiers warm up
// afresh). The processes take turns, a block of steps each; each block's first step is not timed
// (the idle process's workers were asleep, its caches cold).
const STEP_WARMUPS = 30, blocks = 5, perBlock = Math.max(5, Math.ceil(runs / 2));
const children = [1, threads].map((n) => fork(new URL('./threads-step.ts', import.meta.url), { env: { ...process.env, FIREGRAD_THREADS: String(n) } }));
const ask = (child: ChildProcess, steps: number) => new Promise<StepReply>((resolve, reject) => {
  const exited = (code: number | null) => reject(new Error(`a step process exited (${code}) during ${steps} steps`));
  child.once('exit', exited);
  child.once('message', (m) => {
    child.off('exit', exited);
    resolve(m as StepReply);
  });
  child.send({ steps } satisfies StepRequest);
});
for (const child of children) {
  const { threads: got, reason } = await ask(child, STEP_WARMUPS);
  if (got !== (child === children[0] ? 1 : threads)) throw new Error(`a step process runs ${got} threads: ${reason}`);
}
const stepMs: number[][] = [[], []], blockMedians: number[][] = [[], []];
for (let b = 0; b < blocks; b++) {
  for (const [k, child] of children.entries()) {
    const { ms } = await ask(child, perBlock + 1);
    stepMs[k].push(...ms.slice(1));
    blockMedians[k].push(median(ms.slice(1)));
  }
}
for (const child of children) child.disconnect();
const steps = stepMs.map(median);
const ratios = blockMedians[0].map((one, b) => one / blockMedians[1][b]).sort((a, b) => a - b);

// Why pooling stays on one thread: the whole max-pool against the copies in and out of shared
// memory that a split by images would need.
const pooled = randn([64, 64, 28, 28], { generator: gen });
const [pooling] = alternate([() => maxPool2d(pooled, { kernelSize: 2 })], runs);
const shared = new Float32Array(new SharedArrayBuffer(pooled.numel() * 4));
const src = pooled.data as Float32Array, half = src.length / 2;
const [copies] = alternate([() => { shared.set(src.subarray(0, half)); src.set(shared.subarray(0, half / 4)); }], runs);

console.log(`threads bench, float32, median of ${runs} runs (min–max); load average ${loadavg().map((l) => fmt(l, 1)).join(' ')}`);
console.log(`\nconv2d 8×16×55×55 → 64 3×3 p1 (${fmt(flop / 1e6, 0)} MFLOP a pass)`);
for (const [pass, [one, many]] of Object.entries(conv)) {
  console.log(`  ${pass.padEnd(4)} 1 thread ${fmt(gflops(flop, one.median)).padStart(6)} GFLOP/s ${ms(one).padEnd(24)}` +
    `${threads} threads ${fmt(gflops(flop, many.median)).padStart(6)} GFLOP/s ${ms(many).padEnd(24)} ${fmt(one.median / many.median)}×`);
}
console.log(`\nSqueezeNetMini training step, batch 64, SGD (median of ${blocks} blocks of ${perBlock} steps, two warm processes taking turns)`);
console.log(`  1 thread ${fmt(64000 / steps[0], 1)} images/s (${fmt(steps[0], 0)} ms)   ${threads} threads ${fmt(64000 / steps[1], 1)} images/s (${fmt(steps[1], 0)} ms)   ` +
  `${fmt(steps[0] / steps[1])}× (blocks ${fmt(ratios[0])}–${fmt(ratios[ratios.length - 1])}×)`);
console.log(`\nempty job round trip on ${threads} threads: ${fmt(roundTrip.median, 1)} µs (${fmt(roundTrip.min, 1)}–${fmt(roundTrip.max, 1)})`);
console.log(`max-pool 2×2 of 64×64×28×28: ${ms(pooling)}; copying half its input in and half its output out: ${ms(copies)}`);
console.log(`pool: ${parallelInfo().reason}; ${parallelInfo().jobs} jobs ran on more than one thread`);
