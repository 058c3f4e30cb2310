// Winograd's F(2×2, 3×3) against the im2col GEMM on the 3×3 layers of the benchmark nets, one
// thread: the time of the forward (with its ReLU) and of the grad-input, median of --runs, and each
// path's largest error against the float64 conv, relative to the largest output.
// Run: npx tsx bench/winograd.ts [--runs N]
import { Generator, randn, setWinograd } from '@firegrad/core';
import { conv2dGeometry, setNumThreads, type Conv2dGeometry } from '@firegrad/ops';
import { backwardInputImages, forwardImages } from '@firegrad/ops/internal';
import { Command, Option } from 'commander';
import { intArg, time } from './util';

const opts = new Command('npx tsx bench/winograd.ts')
  .description("Winograd's F(2×2, 3×3) against the im2col GEMM on 3×3 layers: time and float32 error")
  .addOption(new Option('--runs <n>', 'timed runs per cell').argParser(intArg('--runs')).default(9))
  .parse().opts<{ runs: number }>();

// [net, N, C, OC, H]: SqueezeNetMini's expand3x3 layers at the training batch, SqueezeNet 1.1's at batch 1.
const layers: [string, number, number, number, number][] = [
  ['SqueezeNetMini', 64, 32, 64, 14], ['SqueezeNetMini', 64, 32, 128, 7],
  ['SqueezeNet 1.1', 1, 16, 64, 55], ['SqueezeNet 1.1', 1, 32, 128, 27], ['SqueezeNet 1.1', 1, 48, 192, 13], ['SqueezeNet 1.1', 1, 64, 256, 13],
];
setNumThreads(1);
const gen = new Generator(1);

/** Median ms of --runs calls after 3 untimed ones. */
const timeMs = async (f: () => void) => (await time(f, opts.runs, 3)).median;

function relErr(got: Float32Array, want: Float64Array): number {
  let err = 0, scale = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return err / scale;
}

console.log(`Winograd F(2×2, 3×3) vs im2col GEMM, float32, 1 thread, median of ${opts.runs} (error: max |y − y64| / max |y64|)`);
for (const [net, N, C, OC, H] of layers) {
  const xt = randn([N, C, H, H], { generator: gen }), wt = randn([OC, C, 3, 3], { generator: gen }), bt = randn([OC], { generator: gen });
  const g: Conv2dGeometry = conv2dGeometry(xt, wt, bt, { padding: 1 });
  const [x, w, b] = [xt.data, wt.data, bt.data] as Float32Array[];
  const dy = randn([N, OC, H, H], { generator: gen }).data as Float32Array;
  const y = new Float32Array(N * OC * H * H), dx = new Float32Array(x.length);
  const y64 = new Float64Array(y.length), dx64 = new Float64Array(dx.length);
  forwardImages(Float64Array.from(x), Float64Array.from(w), Float64Array.from(b), g, y64, 0, N, true);
  backwardInputImages(Float64Array.from(dy), Float64Array.from(w), g, dx64);
  const cell = async (on: boolean) => {
    setWinograd(on);
    const fwd = await timeMs(() => forwardImages(x, w, b, g, y, 0, N, true));
    const dX = await timeMs(() => backwardInputImages(dy, w, g, dx));
    return { fwd, dX, yErr: relErr(y, y64), dxErr: relErr(dx, dx64) };
  };
  const wino = await cell(true), im2col = await cell(false);
  console.log(`${net.padEnd(15)} ${N}×${C}×${H}² → ${OC}`.padEnd(38)
    + `fwd ${im2col.fwd.toFixed(2)} → ${wino.fwd.toFixed(2)} ms (${(im2col.fwd / wino.fwd).toFixed(2)}×)  `
    + `dX ${im2col.dX.toFixed(2)} → ${wino.dX.toFixed(2)} ms (${(im2col.dX / wino.dX).toFixed(2)}×)  `
    + `error fwd ${im2col.yErr.toExponential(1)} → ${wino.yErr.toExponential(1)}, dX ${im2col.dxErr.toExponential(1)} → ${wino.dxErr.toExponential(1)}`);
}
setWinograd(true);
