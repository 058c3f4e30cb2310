// pad's forward on the gpujs backend (padGpujs): one thread per output cell gathers through the
// plan's per-dim source maps (../pad.ts), so every mode is the same kernel. Plans of up to four
// (collapsed) dims run in one pass (NCHW's [N·C, H, W] and NCDHW's [N·C, D, H, W] do); a longer
// plan, possible only for constant pads of many dims, runs one padded dim per pass, which gives
// the same result because pad is separable. The backward runs on cpu on every backend.
import type { PadKernel, PadPlan } from '../pad.js';
import { andThen, checkSizes, float32, sync, type KernelThis, type MaybePromise, type Runner } from './runner.js';
import { backendRunner } from './backend.js';

export const padGpujs: PadKernel = {
  forward: (x, plan) => sync(padForward(backendRunner(), float32(x), plan)),
};

const RANK = 4;

/**
 * out[j0, j1, j2, j3] = x[m0[j0], m1[j1], m2[j2], m3[j3]], or fill[0] when any map entry is −1.
 * The maps sit end to end in `maps` (dim d's from offset Md); sizes are O0..O3 (output), I1..I3 (input).
 */
function padKernel(this: KernelThis, x: Float32Array, maps: Float32Array, fill: Float32Array): number {
  const i = this.thread.x;
  const j3 = i % this.constants.O3, t3 = Math.floor(i / this.constants.O3);
  const j2 = t3 % this.constants.O2, t2 = Math.floor(t3 / this.constants.O2);
  const j1 = t2 % this.constants.O1, j0 = Math.floor(t2 / this.constants.O1);
  const s0 = maps[j0], s1 = maps[this.constants.M1 + j1], s2 = maps[this.constants.M2 + j2], s3 = maps[this.constants.M3 + j3];
  let v = fill[0];
  if (s0 >= 0 && s1 >= 0 && s2 >= 0 && s3 >= 0) {
    // `| 0` keeps the stored floats' index sum in i32 (exact past 2^24 partial sums, as in maxPool)
    v = x[(((s0 | 0) * this.constants.I1 + (s1 | 0)) * this.constants.I2 + (s2 | 0)) * this.constants.I3 + (s3 | 0)];
  }
  return v;
}

function onePass(r: Runner, x: Float32Array, plan: PadPlan): MaybePromise<Float32Array> {
  // Left-pad to RANK dims with size-1 dims (map [0]).
  const extra = RANK - plan.inShape.length;
  const inShape = [...Array<number>(extra).fill(1), ...plan.inShape], outShape = [...Array<number>(extra).fill(1), ...plan.outShape];
  const maps = [...Array.from({ length: extra }, () => Int32Array.of(0)), ...plan.maps];
  const offsets = [0, maps[0].length, maps[0].length + maps[1].length, maps[0].length + maps[1].length + maps[2].length];
  const flat = new Float32Array(offsets[3] + maps[3].length);
  maps.forEach((m, d) => flat.set(m, offsets[d]));
  const total = outShape.reduce((a, b) => a * b, 1);
  checkSizes('pad', {}, [['output', total, `[${outShape.join(', ')}]`], ['input', x.length, `[${inShape.join(', ')}]`], ['maps', flat.length, 'Σ output dims']]);
  const consts = {
    O1: outShape[1], O2: outShape[2], O3: outShape[3], I1: inShape[1], I2: inShape[2], I3: inShape[3],
    M1: offsets[1], M2: offsets[2], M3: offsets[3],
  };
  return r.run('pad', padKernel, consts, total, [x, flat, new Float32Array([plan.value])]);
}

function padForward(r: Runner, x: Float32Array, plan: PadPlan): MaybePromise<Float32Array> {
  if (plan.inShape.length <= RANK) return onePass(r, x, plan);
  // One padded dim per pass, last dim first; each pass leaves the other dims as they are.
  const passes: PadPlan[] = [];
  let shape = [...plan.inShape];
  for (let d = plan.inShape.length - 1; d >= 0; d--) {
    if (plan.inShape[d] === plan.outShape[d] && plan.maps[d].every((s, j) => s === j)) continue;
    const inner = shape.slice(d + 1).reduce((a, b) => a * b, 1), outer = shape.slice(0, d).reduce((a, b) => a * b, 1);
    const id = (n: number) => Int32Array.from({ length: n }, (_, j) => j);
    passes.push({
      inShape: [outer, shape[d], inner], outShape: [outer, plan.outShape[d], inner], maps: [id(outer), plan.maps[d], id(inner)], value: plan.value,
    });
    shape = shape.map((s, k) => (k === d ? plan.outShape[d] : s));
  }
  return passes.reduce<MaybePromise<Float32Array>>((acc, p) => andThen(acc, (y) => onePass(r, y, p)), x);
}
