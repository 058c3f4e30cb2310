// pnpm bench: the workloads W1–W6 of docs/benchmarks.md for firegrad and, in the same run,
// PyTorch (/usr/bin/python3, same thread count), ONNX Runtime (node, models exported by PyTorch),
// TF.js 4.22 wasm and cpu. Prints one table (median, min–max, ratio to firegrad) and writes it to
// bench/results/latest.json. Compare ratios within one run: the machine is shared and noisy.
//
//   pnpm bench [--quick] [--only W1,W4] [--runs N] [--no-skip-slow]
//   FIREGRAD_THREADS=n sets firegrad's threads, and PyTorch's and ONNX Runtime's with it.
//
// --skip-slow (the default) skips TF.js cpu's gradient cells (W4 ≈ 200 s, W5 ≈ 460 s, W6 fwd+bwd
// ≈ 50 s a call); --no-skip-slow runs each of them once.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator, noGrad, randint, randn, type Tensor } from '@firegrad/core';
import { SGD, SqueezeNetMini, crossEntropy, squeezenet1_0, squeezenet1_1, type Module } from '@firegrad/nn';
import { conv2d, parallelInfo } from '@firegrad/ops';
import { tf, useBackend } from './tfjs';
import { tfSqueezeNet, tfSqueezeNetMini, type TfNet } from './tfjs-squeezenet';
import { Command, InvalidArgumentError } from 'commander';
import { intArg, summarize, time, type Timing } from './util';
import { TARGETS, judgeTarget, targetsTable } from './targets';

const WORKLOADS = ['W1', 'W2', 'W3', 'W4', 'W5', 'W6'] as const;
type Workload = (typeof WORKLOADS)[number];
const args = new Command('pnpm bench')
  .description('workloads W1–W6 for firegrad, PyTorch, ONNX Runtime and TF.js (wasm, cpu) in one run; writes bench/results/latest.json')
  .option('--quick', 'shorter cells (3 runs, 5 s budget)', false)
  .option('--only <list>', `comma-separated workloads (${WORKLOADS.join(', ')})`, workloadList)
  .option('--runs <n>', 'most timed runs per cell (default 9, 3 with --quick)', intArg('--runs'))
  .option('--skip-slow', "skip TF.js cpu's gradient cells (the default)", true)
  .option('--no-skip-slow', 'run each of those cells once (minutes)')
  .addHelpText('after', "\nFIREGRAD_THREADS=n sets firegrad's threads, and PyTorch's and ONNX Runtime's with it.")
  .parse().opts<{ quick: boolean; only?: Workload[]; runs?: number; skipSlow: boolean }>();
const quick = args.quick;
const skipSlow = args.skipSlow;
const maxRuns = args.runs ?? (quick ? 3 : 9);
const minRuns = Math.min(maxRuns, quick ? 2 : 3);
const budgetMs = quick ? 5_000 : 30_000; // per cell: slow peers get fewer runs (never fewer than minRuns)
const WARMUP_RUNS = quick ? 5 : 20, WARMUP_MS = quick ? 1_000 : 3_000; // warm-up runs after the first, while the warm-up is under WARMUP_MS
const PYTHON = '/usr/bin/python3'; // the python3 first on PATH may lack torch (docs/benchmarks.md)

const picked = WORKLOADS.filter((w) => !args.only || args.only.includes(w));

function workloadList(v: string): Workload[] {
  return v.split(',').map((s) => {
    const w = s.trim().toUpperCase() as Workload;
    if (!WORKLOADS.includes(w)) throw new InvalidArgumentError(`--only: unknown workload '${s}' (expected ${WORKLOADS.join(', ')})`);
    return w;
  });
}

const W6_FLOP = 2 * 8 * 64 * 55 * 55 * 16 * 3 * 3; // 446 MFLOP forward
interface Row { id: string; workload: Workload; label: string; unit: 'ms' | 'img/s' | 's/step'; batch?: number; flop?: number }
const ROWS: Row[] = [
  { id: 'W1', workload: 'W1', label: 'W1 SqueezeNet 1.1 infer b1', unit: 'ms' },
  { id: 'W2', workload: 'W2', label: 'W2 SqueezeNet 1.0 infer b1', unit: 'ms' },
  { id: 'W3', workload: 'W3', label: 'W3 SqueezeNet 1.1 infer b16', unit: 'img/s', batch: 16 },
  { id: 'W4', workload: 'W4', label: 'W4 mini train b64', unit: 'img/s', batch: 64 },
  { id: 'W5', workload: 'W5', label: 'W5 SqueezeNet 1.1 train b8', unit: 's/step' },
  { id: 'W6 fwd', workload: 'W6', label: 'W6 conv fwd', unit: 'ms', flop: W6_FLOP },
  { id: 'W6 fwd+bwd', workload: 'W6', label: 'W6 conv fwd+bwd', unit: 'ms', flop: 3 * W6_FLOP },
];

const IMPLS = ['firegrad', 'pytorch', 'onnxruntime', 'tfjs-wasm', 'tfjs-cpu'] as const;
type Impl = (typeof IMPLS)[number];
type Outcome = { t: Timing } | { error: string } | { skipped: string };
const results = new Map<string, Outcome>(); // key: `${row} ${impl}`
const key = (row: string, impl: Impl) => `${row} ${impl}`;

// TF.js cpu's gradients run at ~0.01 GFLOP/s: one call is minutes.
const SLOW: Partial<Record<string, string>> = { W4: '≈200 s/step', W5: '≈460 s/step', 'W6 fwd+bwd': '≈50 s/call' };

/** One timed run sets how many runs fit the cell's budget, more warm-up follows; `single` times one cold call. */
async function measure(fn: () => unknown, single = false): Promise<Timing> {
  if (single) return time(fn, 1, 0);
  const t0 = performance.now();
  await fn();
  const first = performance.now() - t0;
  const runs = Math.max(minRuns, Math.min(maxRuns, Math.floor(budgetMs / first)));
  // More warm-up, the same for every implementation (torch_peer.py too): V8 compiles JS and
  // WebAssembly in background threads, which take CPU from the compute threads for the first
  // runs; firegrad's W1 measured ≈ 33 ms after six runs and ≈ 25 ms after twenty.
  const warmStart = performance.now();
  for (let i = 0; i < WARMUP_RUNS && first + performance.now() - warmStart < WARMUP_MS; i++) await fn();
  return time(fn, runs, 0);
}

async function record(row: string, impl: Impl, run: () => Promise<Timing | Outcome> | Timing | Outcome): Promise<void> {
  let out: Outcome;
  try {
    const r = await run();
    out = 'median' in r ? { t: r } : r;
  } catch (e) {
    out = { error: (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 160) };
  }
  results.set(key(row, impl), out);
  const shown = 't' in out ? `${out.t.median.toFixed(1)} ms (n=${out.t.runs})` : 'error' in out ? `failed: ${out.error}` : out.skipped;
  process.stderr.write(`  ${row.padEnd(11)} ${impl.padEnd(12)} ${shown}\n`);
}

// ---- firegrad ----

function trainStep(model: Module, x: Tensor, labels: Int32Array): () => void {
  const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  return () => {
    crossEntropy(model.call(x), labels).backward();
    opt.step();
    opt.zeroGrad();
  };
}

function firegradRows(w: Workload): Record<string, () => unknown> {
  const g = new Generator(0);
  const labels = (n: number) => randint(0, 10, [n], { generator: g }).data as Int32Array;
  switch (w) {
    case 'W1': case 'W2': case 'W3': {
      const model = (w === 'W2' ? squeezenet1_0 : squeezenet1_1)({ generator: g }).eval();
      const x = randn([w === 'W3' ? 16 : 1, 3, 224, 224], { generator: g });
      return { [w]: () => noGrad(() => model.call(x)) };
    }
    case 'W4': return { W4: trainStep(new SqueezeNetMini({ generator: g }), randn([64, 1, 28, 28], { generator: g }), labels(64)) };
    case 'W5': return { W5: trainStep(squeezenet1_1({ numClasses: 10, generator: g }), randn([8, 3, 224, 224], { generator: g }), labels(8)) };
    case 'W6': {
      const x = randn([8, 16, 55, 55], { generator: g, requiresGrad: true }), wt = randn([64, 16, 3, 3], { generator: g, requiresGrad: true });
      const dy = randn([8, 64, 55, 55], { generator: g });
      return {
        'W6 fwd': () => noGrad(() => conv2d(x, wt, null, { padding: 1 })),
        'W6 fwd+bwd': () => {
          x.grad = wt.grad = null; // as PyTorch's run does: assign, not accumulate
          conv2d(x, wt, null, { padding: 1 }).backward(dy);
        },
      };
    }
  }
}

// ---- PyTorch (a child process per workload) and ONNX Runtime on the models it exports ----

const torchCheck = spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
const torchMissing = torchCheck.status === 0 ? null : `no torch/torchvision in ${PYTHON}: ${(torchCheck.stderr || String(torchCheck.error)).trim().split('\n').pop()}`;
let torchVersion: string | null = null;

type Ort = typeof import('onnxruntime-node');
let ort: Ort | null = null, ortMissing: string | null = null;
try {
  ort = await import('onnxruntime-node');
} catch (e) {
  ortMissing = `onnxruntime-node does not load: ${(e as Error).message.split('\n')[0]}`;
}
const onnxDir = mkdtempSync(join(tmpdir(), 'firegrad-bench-'));

// PyTorch's OpenMP threads spin while they wait: when another process holds a core, its 2-thread
// times can jump ~10× for a whole run (PyTorch's W1 measured 39–952 ms in one run). Check the load averages printed.
async function peersFromPython(w: Workload, threads: number): Promise<string | null> {
  const rows = ROWS.filter((r) => r.workload === w);
  const onnx = ort && w !== 'W4' && w !== 'W5' ? join(onnxDir, `${w}.onnx`) : null;
  if (torchMissing) {
    for (const r of rows) await record(r.id, 'pytorch', () => ({ skipped: `skipped: ${torchMissing}` }));
    return null;
  }
  const cfg = { workload: w, threads, runs: maxRuns, minRuns, budgetMs, warmupRuns: WARMUP_RUNS, warmupMs: WARMUP_MS, onnx };
  const p = spawnSync(PYTHON, [join(import.meta.dirname, 'torch_peer.py'), JSON.stringify(cfg)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  let parsed: { torch: string; rows: Record<string, number[] | { error: string }> } | null = null;
  try {
    parsed = JSON.parse(p.stdout.trim().split('\n').pop() ?? '');
  } catch { /* reported below with the process's stderr */ }
  for (const r of rows) {
    await record(r.id, 'pytorch', () => {
      if (!parsed) throw new Error(`torch_peer.py exited ${p.status}: ${(p.stderr || '').trim().split('\n').pop()}`);
      torchVersion = parsed.torch;
      const ms = parsed.rows[r.id];
      if (!Array.isArray(ms)) return ms;
      return summarize(ms);
    });
  }
  return parsed && onnx ? onnx : null;
}

async function onnxRuntime(w: Workload, model: string | null, threads: number): Promise<void> {
  for (const r of ROWS.filter((r) => r.workload === w)) {
    if (r.id === 'W4' || r.id === 'W5' || r.id === 'W6 fwd+bwd') { await record(r.id, 'onnxruntime', () => ({ skipped: 'inference only' })); continue; }
    if (!ort || !model) { await record(r.id, 'onnxruntime', () => ({ skipped: ortMissing ?? torchMissing ?? 'no ONNX model (PyTorch export failed)' })); continue; }
    const session = await ort.InferenceSession.create(model, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' });
    const shape = r.id === 'W6 fwd' ? [8, 16, 55, 55] : [w === 'W3' ? 16 : 1, 3, 224, 224];
    // slice(): a copy in ordinary memory; ONNX Runtime refuses a SharedArrayBuffer (tensors live in one while the pool runs).
    const x = new ort.Tensor('float32', (randn(shape, { generator: new Generator(0) }).data as Float32Array).slice(), shape);
    const expected = r.id === 'W6 fwd' ? '8,64,55,55' : `${shape[0]},1000`;
    await record(r.id, 'onnxruntime', async () => {
      const { y } = await session.run({ x });
      if (y.dims.join() !== expected) throw new Error(`ONNX Runtime output ${y.dims} ≠ [${expected}]`);
      return measure(() => session.run({ x }));
    });
    await session.release();
  }
}

// ---- TF.js (NHWC) ----

interface TfRows { rows: Record<string, () => void>; dispose: () => void }

function tfTrainStep(net: TfNet, x: tf.Tensor4D, labels: tf.Tensor2D): () => void {
  const opt = tf.train.momentum(0.01, 0.9);
  return () => {
    const cost = opt.minimize(() => tf.losses.softmaxCrossEntropy(labels, net.forward(x, true)), true, net.params)!;
    cost.dataSync();
    cost.dispose();
  };
}

function tfjsRows(w: Workload): TfRows {
  const owned: tf.Tensor[] = [];
  const keep = <T extends tf.Tensor>(t: T): T => (owned.push(t), t);
  // dataSync() outside tf.tidy: inside it, measured 50× slower on the wasm backend
  const infer = (net: TfNet, x: tf.Tensor4D) => () => { const y = tf.tidy(() => net.forward(x, false)); y.dataSync(); y.dispose(); };
  const oneHot = (n: number) => keep(tf.tidy(() => tf.oneHot(tf.randomUniform([n], 0, 10, 'int32') as tf.Tensor1D, 10)) as tf.Tensor2D);
  let net: TfNet | null = null;
  const dispose = () => { for (const t of [...owned, ...(net?.params ?? [])]) t.dispose(); };
  switch (w) {
    case 'W1': case 'W2': case 'W3':
      net = tfSqueezeNet(w === 'W2' ? '1.0' : '1.1', 1000);
      return { rows: { [w]: infer(net, keep(tf.randomNormal([w === 'W3' ? 16 : 1, 224, 224, 3]))) }, dispose };
    case 'W4':
      net = tfSqueezeNetMini();
      return { rows: { W4: tfTrainStep(net, keep(tf.randomNormal([64, 28, 28, 1])), oneHot(64)) }, dispose };
    case 'W5':
      net = tfSqueezeNet('1.1', 10);
      return { rows: { W5: tfTrainStep(net, keep(tf.randomNormal([8, 224, 224, 3])), oneHot(8)) }, dispose };
    case 'W6': {
      const x = keep(tf.randomNormal([8, 55, 55, 16])) as tf.Tensor4D, wt = keep(tf.randomNormal([3, 3, 16, 64])) as tf.Tensor4D;
      const dy = keep(tf.randomNormal([8, 55, 55, 64]));
      // 'same' is padding 1 here; explicit padding arrays send TF.js wasm to a slow path
      const conv = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same');
      return {
        rows: {
          'W6 fwd': () => { const y = conv(x, wt); y.dataSync(); y.dispose(); },
          'W6 fwd+bwd': () => { for (const g of tf.grads(conv)([x, wt], dy)) { g.dataSync(); g.dispose(); } },
        },
        dispose,
      };
    }
  }
}

async function tfjs(w: Workload, backend: 'wasm' | 'cpu'): Promise<void> {
  const impl: Impl = `tfjs-${backend}`;
  await useBackend(backend);
  const { rows, dispose } = tfjsRows(w);
  for (const [row, fn] of Object.entries(rows)) {
    const slow = backend === 'cpu' ? SLOW[row] : undefined;
    if (slow && skipSlow) { await record(row, impl, () => ({ skipped: `skipped (--skip-slow; ${slow})` })); continue; }
    await record(row, impl, () => measure(fn, slow !== undefined));
  }
  dispose();
}

// ---- run ----

tf.enableProdMode(); // silences TF.js's "install tfjs-node" banner; changes no kernel
const info = parallelInfo();
const threads = info.threads;
const load0 = loadavg()[0];
console.error(`firegrad: ${info.reason}; PyTorch and ONNX Runtime get ${threads} thread(s); TF.js 1 thread. ` +
  `Runs per cell: ${minRuns}–${maxRuns} within ${budgetMs / 1000} s. Load average ${load0.toFixed(2)}.`);
const started = performance.now();
try {
  for (const w of picked) {
    console.error(`${w}:`);
    for (const [row, fn] of Object.entries(firegradRows(w))) await record(row, 'firegrad', () => measure(fn));
    const model = await peersFromPython(w, threads);
    await onnxRuntime(w, model, threads);
    await tfjs(w, 'wasm');
    await tfjs(w, 'cpu');
  }
} finally {
  rmSync(onnxDir, { recursive: true, force: true });
}

// ---- report ----

/** A timing in the row's unit: median, best, worst (throughputs flip min and max). */
function inUnit(r: Row, t: Timing): { median: number; lo: number; hi: number } {
  if (r.unit === 'img/s') return { median: (r.batch! * 1e3) / t.median, lo: (r.batch! * 1e3) / t.max, hi: (r.batch! * 1e3) / t.min };
  const k = r.unit === 's/step' ? 1e-3 : 1;
  return { median: t.median * k, lo: t.min * k, hi: t.max * k };
}
const num = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toPrecision(2));

const notes: string[] = [];
const noteFor = (text: string) => {
  const i = notes.indexOf(text);
  return `[${(i < 0 ? notes.push(text) : i + 1)}]`;
};
const rowsShown = ROWS.filter((r) => picked.includes(r.workload));
const json: object[] = [];
const table = rowsShown.map((r) => {
  const ours = results.get(key(r.id, 'firegrad'));
  const cells = IMPLS.map((impl) => {
    const out = results.get(key(r.id, impl))!;
    if ('skipped' in out) {
      json.push({ row: r.id, impl, skipped: out.skipped });
      return out.skipped;
    }
    if ('error' in out) {
      json.push({ row: r.id, impl, error: out.error });
      const cannotTrain = impl === 'tfjs-wasm' && /Conv2DBackprop/.test(out.error);
      return `${cannotTrain ? 'cannot train' : 'failed'} ${noteFor(`${impl} ${r.id}: ${out.error}`)}`;
    }
    const v = inUnit(r, out.t);
    // peer's time ÷ firegrad's: > 1 means firegrad is faster
    const ratio = ours && 't' in ours ? out.t.median / ours.t.median : null;
    const gf = r.flop ? r.flop / out.t.median / 1e6 : null;
    json.push({ row: r.id, impl, unit: r.unit, ...v, ms: out.t, gflops: gf, timeRatioToFiregrad: ratio });
    return `${num(v.median)} (${num(v.lo)}–${num(v.hi)})${gf ? ` [${num(gf)} GF/s]` : ''}${out.t.runs < maxRuns ? ` n=${out.t.runs}` : ''}` +
      `${impl !== 'firegrad' && ratio ? ` **${num(ratio)}×**` : ''}`;
  });
  return [`${r.label} (${r.unit})`, ...cells];
});

const header = ['workload', `firegrad (${threads} thr)`, `PyTorch ${torchVersion ?? ''} (${threads} thr)`, `ONNX Runtime ${ort?.env.versions.node ?? ''} (${threads} thr)`,
  `TF.js ${tf.version_core} wasm`, `TF.js ${tf.version_core} cpu`];
const lines = [header, header.map(() => '---'), ...table].map((cells) => `| ${cells.join(' | ')} |`);
console.log(`\nMedian (min–max) of up to ${maxRuns} runs after warm-up; n = runs where fewer. **r×** = the peer's time ÷ firegrad's ` +
  `(> 1: firegrad is faster). ${cpus()[0]?.model ?? ''}, ${cpus().length} cores, Node ${process.versions.node}; ` +
  `load average ${load0.toFixed(2)} → ${loadavg()[0].toFixed(2)}; ${((performance.now() - started) / 1000).toFixed(0)} s.\n`);
console.log(lines.join('\n'));
if (notes.length) console.log(`\n${notes.map((n, i) => `[${i + 1}] ${n}`).join('\n')}`);

// issue 16's targets, from the ratios of this same run
const timingOf = (row: string, impl: Impl): Timing | string => {
  const out = results.get(key(row, impl))!;
  return 't' in out ? out.t : 'error' in out ? `failed (${out.error})` : out.skipped;
};
const targets = TARGETS.filter((t) => picked.includes(t.row as Workload))
  .map((t) => judgeTarget(t, timingOf(t.row, 'firegrad'), timingOf(t.row, t.peer)));
if (targets.length) {
  console.log(`\nTargets (issue 16), from this run's medians:\n\n${targetsTable(targets, (row) => ROWS.find((r) => r.id === row)!.label)}`);
}

const outDir = join(import.meta.dirname, 'results');
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify({
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.versions.node, loadavg: [load0, loadavg()[0]] },
  settings: { quick, skipSlow, only: picked, minRuns, maxRuns, budgetMs, threads: info.reason },
  versions: { tfjs: tf.version_core, torch: torchVersion, onnxruntime: ort?.env.versions.node ?? null },
  results: json,
  targets: targets.map(({ target, ratio, met, missing }) => ({ ...target, ratio, met, missing })),
}, null, 2)}\n`);
console.log(`\nwrote ${join('bench', 'results', 'latest.json')}`);
