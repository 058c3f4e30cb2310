// conv2d GFLOP/s on SqueezeNet shapes: forward, grad-input, grad-weight, for firegrad's cpu and
// gpujs backends and TF.js's cpu and wasm backends, measured in the same run.
// Run: pnpm bench:conv [--runs N] [--shapes 0,2] [--no-tfjs-cpu-grads]   (pnpm bench:conv --help)
import { Generator, randn, type FloatArray } from '@firegrad/core';
import { conv2dGeometry, type Conv2dGeometry } from '@firegrad/ops';
import { backendRunner, backwardInputImages, backwardWeightImages, conv2dGpujs, forwardImages } from '@firegrad/ops/internal';
import { tf, useBackend } from './tfjs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { fmt, gflops, intArg, time, type Timing } from './util';

const shapes: { name: string; x: number[]; w: number[]; stride: number; padding: number }[] = [
  { name: '8×16×55×55 → 64 3×3 p1', x: [8, 16, 55, 55], w: [64, 16, 3, 3], stride: 1, padding: 1 },
  { name: '1×3×224×224 → 64 3×3 s2', x: [1, 3, 224, 224], w: [64, 3, 3, 3], stride: 2, padding: 0 },
  { name: '8×64×55×55 → 16 1×1', x: [8, 64, 55, 55], w: [16, 64, 1, 1], stride: 1, padding: 0 },
  { name: '8×16×55×55 → 64 1×1', x: [8, 16, 55, 55], w: [64, 16, 1, 1], stride: 1, padding: 0 },
];

type Pass = 'fwd' | 'dX' | 'dW';
interface Row { shape: string; impl: string; pass: Pass | 'fwd+dX+dW'; t: Timing | null; gflops: number | null; note?: string }
const rows: Row[] = [];
const record = (shape: string, impl: string, pass: Row['pass'], flop: number, t: Timing | null, note?: string) =>
  rows.push({ shape, impl, pass, t, gflops: t ? gflops(flop, t.median) : null, note });

const opts = new Command('pnpm bench:conv')
  .description('conv2d GFLOP/s on SqueezeNet shapes (fwd, dX, dW): firegrad cpu and gpujs, TF.js cpu and wasm')
  .addOption(new Option('--runs <n>', 'timed runs per cell').env('RUNS').argParser(intArg('--runs')).default(5))
  .addOption(new Option('--shapes <list>', `comma-separated shape indices (${shapes.map((s, i) => `${i}: ${s.name}`).join('; ')})`)
    .env('SHAPES').argParser(shapeList))
  .option('--no-tfjs-cpu-grads', "skip TF.js cpu's ~50 s gradient run (or TFJS_CPU_GRADS=0)")
  .parse().opts<{ runs: number; shapes?: typeof shapes; tfjsCpuGrads: boolean }>();
const runs = opts.runs;
const picked = opts.shapes ?? shapes;

function shapeList(v: string): typeof shapes {
  return v.split(',').map((i) => {
    if (!/^\d+$/.test(i.trim()) || Number(i) >= shapes.length) throw new InvalidArgumentError(`--shapes: '${i}' is not a shape index in [0, ${shapes.length})`);
    return shapes[Number(i)];
  });
}
for (const s of picked) {
  const gen = new Generator(1);
  const x = randn(s.x, { generator: gen }), w = randn(s.w, { generator: gen });
  const g: Conv2dGeometry = conv2dGeometry(x, w, null, { stride: s.stride, padding: s.padding });
  const flop = 2 * g.N * g.OC * g.OH * g.OW * g.C * g.KH * g.KW;
  const dy = randn([g.N, g.OC, g.OH, g.OW], { generator: gen });
  const xd = x.data as FloatArray, wd = w.data as FloatArray, dyd = dy.data as FloatArray;
  const out = new Float32Array(dy.numel()), dx = new Float32Array(x.numel()), dw = new Float32Array(w.numel());

  const cpu = {
    fwd: await time(() => forwardImages(xd, wd, null, g, out), runs),
    dX: await time(() => backwardInputImages(dyd, wd, g, dx), runs),
    dW: await time(() => backwardWeightImages(xd, dyd, g, dw), runs),
  };
  const gpu = {
    fwd: await time(() => conv2dGpujs.forward(xd, wd, null, g), runs),
    dX: await time(() => conv2dGpujs.backwardInput(dyd, wd, g), runs),
    dW: await time(() => conv2dGpujs.backwardWeight(xd, dyd, g), runs),
  };
  for (const p of ['fwd', 'dX', 'dW'] as const) {
    record(s.name, 'firegrad cpu', p, flop, cpu[p]);
    record(s.name, `firegrad gpujs (${backendRunner().lastClass})`, p, flop, gpu[p]);
  }
  record(s.name, 'firegrad cpu', 'fwd+dX+dW', 3 * flop, sumTimings(cpu.fwd, cpu.dX, cpu.dW));

  // TF.js works in NHWC; the FLOPs are the same.
  const [N, C, H, W] = s.x, [OC, , KH, KW] = s.w;
  for (const backend of ['cpu', 'wasm'] as const) {
    await useBackend(backend);
    const tx = tf.randomNormal([N, H, W, C]) as any, tw = tf.randomNormal([KH, KW, C, OC]) as any;
    // 'same' equals padding (k-1)/2 at stride 1; explicit padding arrays send TF.js wasm to a slow path
    const pad = s.padding === 0 ? 'valid' : s.stride === 1 && 2 * s.padding === KH - 1 ? 'same' : [[0, 0], [s.padding, s.padding], [s.padding, s.padding], [0, 0]];
    const conv = (a: any, b: any) => tf.conv2d(a, b, s.stride, pad as any);
    const slow = backend === 'cpu';
    // no tf.tidy around dataSync(): measured 50× slower on the wasm backend
    const fwd = await time(() => { const y = conv(tx, tw); y.dataSync(); y.dispose(); }, slow ? Math.min(runs, 3) : runs);
    record(s.name, `tfjs ${backend}`, 'fwd', flop, fwd);
    const wantGrads = backend === 'wasm' || (opts.tfjsCpuGrads && process.env.TFJS_CPU_GRADS !== '0' && s === shapes[0]);
    if (!wantGrads) { record(s.name, `tfjs ${backend}`, 'fwd+dX+dW', 3 * flop, null, 'skipped (tens of seconds per call)'); continue; }
    try {
      const t = await time(
        () => tf.grads((a: any, b: any) => tf.sum(conv(a, b)))([tx, tw]).forEach((r) => { r.dataSync(); r.dispose(); }),
        slow ? 1 : runs, slow ? 0 : 1);
      record(s.name, `tfjs ${backend}`, 'fwd+dX+dW', 3 * flop, t);
    } catch (e) {
      record(s.name, `tfjs ${backend}`, 'fwd+dX+dW', 3 * flop, null, `fails: ${(e as Error).message.split('\n')[0].slice(0, 80)}`);
    }
    tx.dispose(); tw.dispose();
  }
}
await backendRunner().destroy();

function sumTimings(...ts: Timing[]): Timing {
  const f = (k: keyof Timing) => ts.reduce((a, t) => a + (t[k] as number), 0);
  return { median: f('median'), min: f('min'), max: f('max'), runs: ts[0].runs };
}

console.log(`conv2d float32, median of ${runs} runs (min–max ms); one thread; TF.js ${tf.version_core}`);
for (const s of picked) {
  console.log(`\n${s.name}`);
  const base = rows.filter((r) => r.shape === s.name);
  for (const r of base) {
    const ours = base.find((o) => o.impl === 'firegrad cpu' && o.pass === r.pass);
    const ratio = r.t && ours?.t && r !== ours ? `  ${fmt(r.t.median / ours.t.median, 2)}× firegrad cpu's time` : '';
    const t = r.t ? `${fmt(r.t.median, 1)} ms (${fmt(r.t.min, 1)}–${fmt(r.t.max, 1)})` : r.note ?? '';
    console.log(`  ${r.impl.padEnd(34)} ${r.pass.padEnd(9)} ${r.gflops !== null ? `${fmt(r.gflops)} GFLOP/s`.padEnd(15) : ''.padEnd(15)} ${t}${ratio}`);
  }
}
