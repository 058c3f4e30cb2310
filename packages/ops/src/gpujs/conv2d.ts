// conv2d on the gpujs backend: conv2dGpujs and fusedConv2dGpujs, whose forward, input gradient (dX)
// and weight gradient (dW) are gpu.js kernels over flat NCHW Float32Arrays. One thread per output
// cell; every reduction is a gather. A reduction longer than LOOP_BUDGET is cut into parts: the
// kernel computes one partial sum per (part, cell) and `sumParts` adds them up in a second pass.
// The op validated the geometry; the functions here check only the limits of gpu.js itself (2^24
// elements, the loop budget), and checkConv2dCall checks what createGpuKernels' callers pass raw.
import { ValueError } from '@firegrad/core';
import type { Conv2dGeometry, Conv2dKernel, FusedConv2dKernel } from '../conv2d.js';
import { backwardBiasInto, withActivation } from '../cpu/conv2d.js';
import type * as fns from './kernel-functions.js';
import {
  LOOP_BUDGET, andThen, checkArray, checkSizes, float32, sync, type KernelFn, type Runner, type KernelThis, type MaybePromise,
} from './runner.js';
import { backendRunner } from './backend.js';

// Compiled into the kernels (see ./kernel-functions).
declare const coveringOutput: typeof fns.coveringOutput;

export const conv2dGpujs: Conv2dKernel = {
  forward: (x, w, b, g) => sync(conv2dForward(backendRunner(), float32(x), float32(w), b && float32(b), g)),
  backwardInput: (dy, w, g) => sync(conv2dBackwardInput(backendRunner(), float32(dy), float32(w), g)),
  backwardWeight: (x, dy, g) => sync(conv2dBackwardWeight(backendRunner(), float32(x), float32(dy), g)),
  // an OC-long sum: not worth a kernel launch
  backwardBias: (dy, g) => {
    const db = new Float32Array(g.OC);
    backwardBiasInto(dy, g, db);
    return db;
  },
};

export const fusedConv2dGpujs: FusedConv2dKernel = withActivation(conv2dGpujs);

/** out[j] = Σ_p parts[p·L + j]. */
function sumParts(this: KernelThis, parts: Float32Array): number {
  let sum = 0;
  for (let p = 0; p < this.constants.NP; p++) {
    sum += parts[p * this.constants.L + this.thread.x];
  }
  return sum;
}

/** y[n, oc, oh, ow], partial over input channels [part·CC, part·CC + CC) of oc's group. */
function conv2dForwardKernel(this: KernelThis, x: Float32Array, w: Float32Array, b: Float32Array): number {
  const part = Math.floor(this.thread.x / this.constants.L), j = this.thread.x % this.constants.L;
  const ow = j % this.constants.OW, t1 = Math.floor(j / this.constants.OW);
  const oh = t1 % this.constants.OH, t2 = Math.floor(t1 / this.constants.OH);
  const oc = t2 % this.constants.OC, n = Math.floor(t2 / this.constants.OC);
  const g = Math.floor(oc / this.constants.OCG);
  const c0 = part * this.constants.CC;
  let sum = 0;
  if (part === 0) {
    sum = b[oc];
  }
  for (let kh = 0; kh < this.constants.KH; kh++) {
    const ih = oh * this.constants.SH - this.constants.PH + kh * this.constants.DH;
    for (let kw = 0; kw < this.constants.KW; kw++) {
      const iw = ow * this.constants.SW - this.constants.PW + kw * this.constants.DW;
      const xb = ((n * this.constants.C + g * this.constants.CG + c0) * this.constants.H + ih) * this.constants.W + iw;
      const wb = ((oc * this.constants.CG + c0) * this.constants.KH + kh) * this.constants.KW + kw;
      for (let ci = 0; ci < this.constants.CC; ci++) {
        if (c0 + ci < this.constants.CG) {
          if (ih >= 0 && ih < this.constants.H && iw >= 0 && iw < this.constants.W) {
            sum += x[xb + ci * this.constants.HW] * w[wb + ci * this.constants.KHW];
          } else {
            // A padding cell is a zero that cpu (im2col) multiplies too: an infinite or NaN weight gives NaN.
            sum += 0 * w[wb + ci * this.constants.KHW];
          }
        }
      }
    }
  }
  return sum;
}

/**
 * dx[n, c, ih, iw]: Σ over the output cells whose window covers (ih, iw), partial over output channels [part·CC, part·CC + CC) of c's group.
 */
function conv2dBackwardInputKernel(this: KernelThis, dy: Float32Array, w: Float32Array): number {
  const part = Math.floor(this.thread.x / this.constants.L), j = this.thread.x % this.constants.L;
  const t1 = Math.floor(j / this.constants.W), iw = j % this.constants.W, ih = t1 % this.constants.H;
  const t2 = Math.floor(t1 / this.constants.H), c = t2 % this.constants.C, n = Math.floor(t2 / this.constants.C);
  const g = Math.floor(c / this.constants.CG), ci = c % this.constants.CG;
  const o0 = part * this.constants.CC;
  let sum = 0;
  for (let kh = 0; kh < this.constants.KH; kh++) {
    const oh = coveringOutput(ih + this.constants.PH - kh * this.constants.DH, this.constants.SH, this.constants.OH);
    if (oh >= 0) {
      for (let kw = 0; kw < this.constants.KW; kw++) {
        const ow = coveringOutput(iw + this.constants.PW - kw * this.constants.DW, this.constants.SW, this.constants.OW);
        if (ow >= 0) {
          const oc0 = g * this.constants.OCG + o0;
          const dyb = ((n * this.constants.OC + oc0) * this.constants.OH + oh) * this.constants.OW + ow;
          const wb = ((oc0 * this.constants.CG + ci) * this.constants.KH + kh) * this.constants.KW + kw;
          for (let oi = 0; oi < this.constants.CC; oi++) {
            if (o0 + oi < this.constants.OCG) {
              sum += dy[dyb + oi * this.constants.OHW] * w[wb + oi * this.constants.CKK];
            }
          }
        }
      }
    }
  }
  return sum;
}

/**
 * dw[oc, ci, kh, kw] = Σ_{n, oh, ow} dy[n, oc, oh, ow] · x[n, c, ih, iw], partial over the rows
 * (n, oh) in [part·RC, part·RC + RC).
 */
function conv2dBackwardWeightKernel(this: KernelThis, x: Float32Array, dy: Float32Array): number {
  const part = Math.floor(this.thread.x / this.constants.L), j = this.thread.x % this.constants.L;
  const kw = j % this.constants.KW, t1 = Math.floor(j / this.constants.KW);
  const kh = t1 % this.constants.KH, t2 = Math.floor(t1 / this.constants.KH);
  const ci = t2 % this.constants.CG, oc = Math.floor(t2 / this.constants.CG);
  const c = Math.floor(oc / this.constants.OCG) * this.constants.CG + ci;
  let sum = 0;
  for (let r = 0; r < this.constants.RC; r++) {
    const row = part * this.constants.RC + r;
    if (row < this.constants.ROWS) {
      const n = Math.floor(row / this.constants.OH), oh = row % this.constants.OH;
      const ih = oh * this.constants.SH - this.constants.PH + kh * this.constants.DH;
      const xb = ((n * this.constants.C + c) * this.constants.H + ih) * this.constants.W;
      const dyb = ((n * this.constants.OC + oc) * this.constants.OH + oh) * this.constants.OW;
      for (let ow = 0; ow < this.constants.OW; ow++) {
        const iw = ow * this.constants.SW - this.constants.PW + kw * this.constants.DW;
        if (ih >= 0 && ih < this.constants.H && iw >= 0 && iw < this.constants.W) {
          sum += x[xb + iw] * dy[dyb + ow];
        } else {
          // A padding cell is a zero that cpu (im2col) multiplies too: an infinite or NaN gradient gives NaN.
          sum += 0 * dy[dyb + ow];
        }
      }
    }
  }
  return sum;
}

/** Runs a partial-sum kernel with NP parts of L cells each, then adds the parts up if NP > 1. */
function runParts(r: Runner, op: string, fn: KernelFn, consts: Record<string, number>, args: Float32Array[]): MaybePromise<Float32Array> {
  const { L, NP } = consts;
  checkSizes(op, {}, [['partial sums', NP * L, `parts×cells = ${NP}×${L}`]]);
  if (NP > LOOP_BUDGET) throw new ValueError(`${op}: ${NP} partial sums exceed the per-thread loop budget of ${LOOP_BUDGET}`);
  const parts = r.run(op, fn, consts, NP * L, args);
  return NP === 1 ? parts : andThen(parts, (p) => r.run('sumParts', sumParts, { L, NP }, L, [p]));
}

/** Input channels (or output channels) per part so that one thread stays within LOOP_BUDGET. */
function chunkChannels(op: string, channels: number, KH: number, KW: number): { CC: number; NP: number } {
  const cc = Math.floor((LOOP_BUDGET - KH - KH * KW) / (KH * KW));
  if (cc < 1) throw new ValueError(`${op}: a ${KH}×${KW} kernel window exceeds the per-thread loop budget of ${LOOP_BUDGET}`);
  // At least one part, so an empty reduction (zero channels) still yields its zeros, or the bias.
  const CC = Math.max(1, Math.min(channels, cc));
  return { CC, NP: Math.max(1, Math.ceil(channels / CC)) };
}

/**
 * What conv2d's op checks, for the raw arrays createGpuKernels' callers pass: integer sizes,
 * groups dividing the channels, positive kernel, stride and dilation, and each array's length.
 */
export function checkConv2dCall(op: string, g: Conv2dGeometry, arrays: [name: 'input' | 'weight' | 'bias' | 'grad_output', a: unknown][]): void {
  const { C, OC, KH, KW, groups } = g;
  checkSizes(op, { ...g }, []);
  checkLimits(op, g);
  // Zero channels (or images) are valid, as on cpu: the empty sums give zeros.
  if (groups < 1 || C % groups !== 0 || OC % groups !== 0) {
    throw new ValueError(`${op}: in_channels=${C} and out_channels=${OC} must be divisible by groups=${groups}, a positive integer`);
  }
  if (g.SH < 1 || g.SW < 1 || g.DH < 1 || g.DW < 1 || KH < 1 || KW < 1) {
    throw new ValueError(`${op}: kernel ${KH}×${KW}, stride ${g.SH}×${g.SW} and dilation ${g.DH}×${g.DW} must be positive`);
  }
  const s = shapes(g, C / groups);
  const lengths = { input: [g.N * C * g.H * g.W, s.x], weight: [OC * (C / groups) * KH * KW, s.w], bias: [OC, `OC = ${OC}`], grad_output: [g.N * OC * g.OH * g.OW, s.dy] } as const;
  for (const [name, a] of arrays) checkArray(op, name, a, lengths[name][0], lengths[name][1]);
}

/** Refuses buffers gpu.js cannot index exactly (see MAX_ELEMENTS). */
function checkLimits(op: string, g: Conv2dGeometry): { CG: number; OCG: number } {
  const { N, C, H, W, OC, KH, KW, OH, OW, groups } = g;
  const s = shapes(g, C / groups);
  checkSizes(op, {}, [
    ['input', N * C * H * W, s.x], ['weight', OC * (C / groups) * KH * KW, s.w],
    [op === 'conv2dForward' ? 'output' : 'grad_output', N * OC * OH * OW, s.dy],
  ]);
  return { CG: C / groups, OCG: OC / groups };
}

const shapes = (g: Conv2dGeometry, CG: number) => ({
  x: `N×C×H×W = ${g.N}×${g.C}×${g.H}×${g.W}`,
  w: `OC×C/groups×KH×KW = ${g.OC}×${CG}×${g.KH}×${g.KW}`,
  dy: `N×OC×OH×OW = ${g.N}×${g.OC}×${g.OH}×${g.OW}`,
});

/** The sizes every conv kernel bakes in (so all of them are part of the cache key). */
function convConstants(g: Conv2dGeometry, CG: number, OCG: number) {
  const { C, H, W, OC, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW } = g;
  return { C, H, W, OC, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, CG, OCG };
}

export function conv2dForward(r: Runner, x: Float32Array, w: Float32Array, bias: Float32Array | null,
  g: Conv2dGeometry): MaybePromise<Float32Array> {
  const op = 'conv2dForward';
  const { CG, OCG } = checkLimits(op, g);
  const { CC, NP } = chunkChannels(op, CG, g.KH, g.KW);
  const consts = { ...convConstants(g, CG, OCG), L: g.N * g.OC * g.OH * g.OW, CC, NP, HW: g.H * g.W, KHW: g.KH * g.KW };
  return runParts(r, op, conv2dForwardKernel, consts, [x, w, bias ?? new Float32Array(g.OC)]);
}

export function conv2dBackwardInput(r: Runner, dy: Float32Array, w: Float32Array, g: Conv2dGeometry): MaybePromise<Float32Array> {
  const op = 'conv2dBackwardInput';
  const { CG, OCG } = checkLimits(op, g);
  const { CC, NP } = chunkChannels(op, OCG, g.KH, g.KW);
  const consts = { ...convConstants(g, CG, OCG), L: g.N * g.C * g.H * g.W, CC, NP, OHW: g.OH * g.OW, CKK: CG * g.KH * g.KW };
  return runParts(r, op, conv2dBackwardInputKernel, consts, [dy, w]);
}

export function conv2dBackwardWeight(r: Runner, x: Float32Array, dy: Float32Array, g: Conv2dGeometry): MaybePromise<Float32Array> {
  const op = 'conv2dBackwardWeight';
  const { CG, OCG } = checkLimits(op, g);
  const L = g.OC * CG * g.KH * g.KW;
  const ROWS = g.N * g.OH;
  if (ROWS * g.OW === 0) return r.isAsync ? Promise.resolve(new Float32Array(L)) : new Float32Array(L);
  // One row is OW inner iterations plus one outer; RC rows per part keep a thread within budget.
  const rc = Math.floor(LOOP_BUDGET / (g.OW + 1));
  if (rc < 1) throw new ValueError(`${op}: output width ${g.OW} exceeds the per-thread loop budget of ${LOOP_BUDGET}`);
  const RC = Math.min(ROWS, rc);
  const consts = { ...convConstants(g, CG, OCG), L, ROWS, RC, NP: Math.ceil(ROWS / RC) };
  return runParts(r, op, conv2dBackwardWeightKernel, consts, [x, dy]);
}
