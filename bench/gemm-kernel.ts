// GEMM kernel throughput, single thread, and the conv passes built on it:
// `npx tsx bench/gemm-kernel.ts [runs]` (--help). Prints the median GFLOP/s over `runs` timed samples
// (default 7) after a warm-up, and the path gemm took (float32 runs on WebAssembly SIMD unless
// FIREGRAD_SIMD=0). GEMM FLOPs = 2·M·N·K; conv FLOPs = 2·N·OC·OH·OW·(C/groups)·KH·KW per pass.
import { gemm, setGemmBackend, type FloatArray } from '@firegrad/core';
import { lastGemmPath } from '@firegrad/core/internal';
import { backwardInputImages, backwardWeightImages, forwardImages } from '@firegrad/ops/internal';
import { convOutSize, type Conv2dGeometry } from '@firegrad/ops';
import { Command } from 'commander';
import { intArg, median } from './util';

type FloatCtor = typeof Float32Array | typeof Float64Array;
const [runs] = new Command('npx tsx bench/gemm-kernel.ts')
  .description('GEMM kernel GFLOP/s (one thread) and the conv passes built on it')
  .argument('[runs]', 'timed samples per cell', intArg('runs'), 7)
  .parse().processedArgs as [number];

function rand(T: FloatCtor, n: number): FloatArray {
  const a = new T(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() - 0.5;
  return a;
}

/**
 * Median GFLOP/s of `call` by wall clock and by this process's CPU time (the latter is steadier
 * when other jobs share the two cores). Small problems repeat so one sample lasts ≳ 50 ms.
 */
function report(label: string, flop: number, call: () => void): void {
  const reps = Math.max(1, Math.round(1e8 / flop));
  call();
  const wall: number[] = [], cpu: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now(), c0 = process.cpuUsage();
    for (let q = 0; q < reps; q++) call();
    const c = process.cpuUsage(c0);
    wall.push((performance.now() - t0) / reps);
    cpu.push((c.user + c.system) / 1000 / reps);
  }
  const ms = median(wall), cpuMs = median(cpu);
  const rate = (t: number) => (flop / t / 1e6).toFixed(2).padStart(6);
  console.log(`${label.padEnd(40)} ${rate(ms)} GFLOP/s wall (${ms.toFixed(2)} ms)  ${rate(cpuMs)} cpu  [${lastGemmPath()}]`);
}

function benchGemm(label: string, T: FloatCtor, tA: boolean, tB: boolean, M: number, N: number, K: number): void {
  const A = rand(T, M * K), B = rand(T, K * N), C = new T(M * N);
  const lda = tA ? M : K, ldb = tB ? K : N;
  report(label, 2 * M * N * K, () => gemm(tA, tB, M, N, K, A, 0, lda, B, 0, ldb, C, 0, N, false));
}

function benchConv(label: string, T: FloatCtor, N: number, C: number, H: number, W: number,
  OC: number, K: number, stride: number, pad: number): void {
  const OH = convOutSize(H, K, stride, pad, 1), OW = convOutSize(W, K, stride, pad, 1);
  const g: Conv2dGeometry = {
    N, C, H, W, OC, KH: K, KW: K, SH: stride, SW: stride, PH: pad, PW: pad, DH: 1, DW: 1, groups: 1, OH, OW,
  };
  const x = rand(T, N * C * H * W), w = rand(T, OC * C * K * K), b = rand(T, OC);
  const y = new T(N * OC * OH * OW), dy = rand(T, y.length), dx = new T(x.length), dw = new T(w.length);
  const flop = 2 * N * OC * OH * OW * C * K * K;
  report(`${label} forward`, flop, () => forwardImages(x, w, b, g, y));
  report(`${label} grad input`, flop, () => backwardInputImages(dy, w, g, dx));
  report(`${label} grad weight`, flop, () => backwardWeightImages(x, dy, g, dw));
}

for (const n of [256, 512, 1024]) benchGemm(`gemm f32 ${n}³ NN`, Float32Array, false, false, n, n, n);
for (const [tA, tB] of [[true, false], [false, true], [true, true]] as const) {
  benchGemm(`gemm f32 512³ ${tA ? 'T' : 'N'}${tB ? 'T' : 'N'}`, Float32Array, tA, tB, 512, 512, 512);
}
benchGemm('gemm f64 512³ NN', Float64Array, false, false, 512, 512, 512);
setGemmBackend('js');
benchGemm('gemm f32 512³ NN', Float32Array, false, false, 512, 512, 512);
setGemmBackend('auto');
benchGemm('gemm f32 77×93×61 NN (edges)', Float32Array, false, false, 77, 93, 61);
benchConv('conv-A f32 8×16×55² 64×3² p1', Float32Array, 8, 16, 55, 55, 64, 3, 1, 1);
benchConv('conv-B f32 1×3×224² 64×3² s2', Float32Array, 1, 3, 224, 224, 64, 3, 2, 0);
benchConv('conv-A f64', Float64Array, 8, 16, 55, 55, 64, 3, 1, 1);
