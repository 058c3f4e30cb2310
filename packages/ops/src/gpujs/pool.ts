// Pooling on the gpujs backend: maxPool2dGpujs and avgPool2dGpujs, forward and backward as gpu.js
// kernels over flat NCHW Float32Arrays. Semantics are PyTorch's: max pooling pads with −∞, ties go
// to the first maximum in row-major window order, and the argmax is the flat index ih·W + iw within
// the (n, c) plane. Windows may run past the input (ceil mode is already resolved into OH/OW by the
// op); only real cells are read. As for conv2d, the functions check only gpu.js's own limits and
// checkPool2dCall checks what createGpuKernels' callers pass raw.
import { DTypeError, ShapeError, ValueError } from '@firegrad/core';
import type * as fns from './kernel-functions.js';
import type { AvgPool2dKernel, MaxPool2dKernel, Pool2dGeometry } from '../pool.js';
import {
  LOOP_BUDGET, andThen, checkArray, checkSizes, float32, sync, type Runner, type KernelThis, type MaybePromise,
} from './runner.js';
import { backendRunner } from './backend.js';

// Helpers compiled into the kernels (see ./kernel-functions).
declare const coveringOutput: typeof fns.coveringOutput;
declare const avgPoolSpan: typeof fns.avgPoolSpan;

export const maxPool2dGpujs: MaxPool2dKernel = {
  forward: (x, g) => sync(maxPool2dForward(backendRunner(), float32(x), g)),
  backward: (dy, argmax, g) => sync(maxPool2dBackward(backendRunner(), float32(dy), argmax, g)),
};

export const avgPool2dGpujs: AvgPool2dKernel = {
  forward: (x, g, countIncludePad) => sync(avgPool2dForward(backendRunner(), float32(x), g, countIncludePad)),
  backward: (dy, g, countIncludePad) => sync(avgPool2dBackward(backendRunner(), float32(dy), g, countIncludePad)),
};

/** argmax of the window of output cell i, or −1 when the window holds no real cell. */
function maxPoolArgmaxKernel(this: KernelThis, x: Float32Array): number {
  const i = this.thread.x;
  const ow = i % this.constants.OW, t1 = Math.floor(i / this.constants.OW);
  const oh = t1 % this.constants.OH, plane = Math.floor(t1 / this.constants.OH);
  const base = plane * this.constants.HW;
  let best = 0;
  let arg = -1;
  for (let kh = 0; kh < this.constants.KH; kh++) {
    const ih = oh * this.constants.SH - this.constants.PH + kh * this.constants.DH;
    if (ih >= 0 && ih < this.constants.H) {
      for (let kw = 0; kw < this.constants.KW; kw++) {
        const iw = ow * this.constants.SW - this.constants.PW + kw * this.constants.DW;
        if (iw >= 0 && iw < this.constants.W) {
          const v = x[base + ih * this.constants.W + iw];
          // The first real cell is taken whatever its value (−∞ included), as PyTorch does; then a
          // strictly greater value, or any NaN (so the last NaN wins, like cpu and PyTorch's
          // `val > max || isnan(val)`). gpu.js has no isNaN; `!(v === v)` compiles to f32.eq on
          // WebAssembly. (`v !== v` was folded to false by Chromium's WebGPU on SwiftShader.)
          if (arg < 0 || v > best || !(v === v)) {
            best = v;
            arg = ih * this.constants.W + iw;
          }
        }
      }
    }
  }
  return arg;
}

/** out[i] = x at argmax[i] in its plane, or fill[0] (−∞) for a window with no real cell. */
function maxPoolGatherKernel(this: KernelThis, x: Float32Array, argmax: Float32Array, fill: Float32Array): number {
  const i = this.thread.x;
  const a = argmax[i];
  let v = fill[0];
  if (a >= 0) {
    // `| 0` makes the stored float an i32 before it joins the index sum; a float sum would round
    // once the plane offset passes 2^24.
    v = x[Math.floor(i / this.constants.OHW) * this.constants.HW + (a | 0)];
  }
  return v;
}

/** dx[plane, ih, iw] = Σ dy over the windows covering (ih, iw) whose argmax is this cell. */
function maxPoolBackwardKernel(this: KernelThis, dy: Float32Array, argmax: Float32Array): number {
  const i = this.thread.x;
  const idx = i % this.constants.HW, plane = Math.floor(i / this.constants.HW);
  const ih = Math.floor(idx / this.constants.W), iw = idx % this.constants.W;
  // One loop over the window's taps in row-major order (the same order as nested kh, kw loops).
  let sum = 0;
  for (let t = 0; t < this.constants.KHW; t++) {
    const oh = coveringOutput(ih + this.constants.PH - Math.floor(t / this.constants.KW) * this.constants.DH, this.constants.SH, this.constants.OH);
    const ow = coveringOutput(iw + this.constants.PW - (t % this.constants.KW) * this.constants.DW, this.constants.SW, this.constants.OW);
    if (oh >= 0 && ow >= 0) {
      const o = (plane * this.constants.OH + oh) * this.constants.OW + ow;
      if (argmax[o] === idx) {
        sum += dy[o];
      }
    }
  }
  return sum;
}

/**
 * Mean over the window of output cell i. Divisor with CIP = 1: the window clipped to the padded
 * extent, min(hs + KH, H + PH) − hs (times the same for w); with CIP = 0: the number of real cells.
 */
function avgPoolForwardKernel(this: KernelThis, x: Float32Array): number {
  const i = this.thread.x;
  const ow = i % this.constants.OW, t1 = Math.floor(i / this.constants.OW);
  const oh = t1 % this.constants.OH, plane = Math.floor(t1 / this.constants.OH);
  const hs = oh * this.constants.SH - this.constants.PH;
  const ws = ow * this.constants.SW - this.constants.PW;
  let real = 0;
  let sum = 0;
  for (let kh = 0; kh < this.constants.KH; kh++) {
    const ih = hs + kh;
    if (ih >= 0 && ih < this.constants.H) {
      for (let kw = 0; kw < this.constants.KW; kw++) {
        const iw = ws + kw;
        if (iw >= 0 && iw < this.constants.W) {
          sum += x[(plane * this.constants.H + ih) * this.constants.W + iw];
          real += 1;
        }
      }
    }
  }
  let out = 0;
  if (real > 0) {
    // With CIP = 0 the divisor equals `real`.
    out = sum / (avgPoolSpan(hs, this.constants.KH, this.constants.H, this.constants.PH, this.constants.CIP) *
      avgPoolSpan(ws, this.constants.KW, this.constants.W, this.constants.PW, this.constants.CIP));
  }
  return out;
}

/** dx[plane, ih, iw] = Σ dy[o] / divisor(o) over the windows o covering (ih, iw). */
function avgPoolBackwardKernel(this: KernelThis, dy: Float32Array): number {
  const i = this.thread.x;
  const iw = i % this.constants.W, t1 = Math.floor(i / this.constants.W);
  const ih = t1 % this.constants.H, plane = Math.floor(t1 / this.constants.H);
  let sum = 0;
  for (let kh = 0; kh < this.constants.KH; kh++) {
    const oh = coveringOutput(ih + this.constants.PH - kh, this.constants.SH, this.constants.OH);
    if (oh >= 0) {
      const hs = oh * this.constants.SH - this.constants.PH;
      const dh = avgPoolSpan(hs, this.constants.KH, this.constants.H, this.constants.PH, this.constants.CIP);
      for (let kw = 0; kw < this.constants.KW; kw++) {
        const ow = coveringOutput(iw + this.constants.PW - kw, this.constants.SW, this.constants.OW);
        if (ow >= 0) {
          const ws = ow * this.constants.SW - this.constants.PW;
          const dw = avgPoolSpan(ws, this.constants.KW, this.constants.W, this.constants.PW, this.constants.CIP);
          sum += dy[(plane * this.constants.OH + oh) * this.constants.OW + ow] / (dh * dw);
        }
      }
    }
  }
  return sum;
}

const shapes = (g: Pool2dGeometry) => ({ x: `N×C×H×W = ${g.N}×${g.C}×${g.H}×${g.W}`, y: `N×C×OH×OW = ${g.N}×${g.C}×${g.OH}×${g.OW}` });

/** Refuses what gpu.js cannot run exactly: buffers past 2^24 elements, windows past the loop budget. */
function checkLimits(op: string, g: Pool2dGeometry): Record<string, number> {
  const { N, C, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW } = g;
  const s = shapes(g);
  checkSizes(op, {}, [['input', N * C * H * W, s.x], [op.endsWith('Forward') ? 'output' : 'grad_output', N * C * OH * OW, s.y]]);
  if (KH + KH * KW > LOOP_BUDGET) throw new ValueError(`${op}: a ${KH}×${KW} window exceeds the per-thread loop budget of ${LOOP_BUDGET}`);
  return { H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, HW: H * W, OHW: OH * OW, KHW: KH * KW };
}

/**
 * What the pooling ops check, for the raw arrays createGpuKernels' callers pass: integer and
 * positive sizes, no dilation for average pooling, each array's length, the argmax's type.
 */
export function checkPool2dCall(op: string, g: Pool2dGeometry, arrays: [name: 'input' | 'grad_output' | 'argmax', a: unknown][]): void {
  const { KH, KW, SH, SW, DH, DW } = g;
  checkSizes(op, { ...g }, []);
  checkLimits(op, g);
  if (KH < 1 || KW < 1 || SH < 1 || SW < 1 || DH < 1 || DW < 1) {
    throw new ValueError(`${op}: kernel ${KH}×${KW}, stride ${SH}×${SW} and dilation ${DH}×${DW} must be positive`);
  }
  if (op.startsWith('avg') && (DH !== 1 || DW !== 1)) throw new ValueError(`${op}: average pooling takes no dilation, got ${DH}×${DW}`);
  const s = shapes(g);
  for (const [name, a] of arrays) {
    if (name === 'input') checkArray(op, name, a, g.N * g.C * g.H * g.W, s.x);
    else if (name === 'grad_output') checkArray(op, name, a, g.N * g.C * g.OH * g.OW, s.y);
    else if (!(a instanceof Float32Array || a instanceof Int32Array)) throw new DTypeError(`${op}: 'argmax' must be a Float32Array or an Int32Array`);
    else if (a.length !== g.N * g.C * g.OH * g.OW) throw new ShapeError(`${op}: 'argmax' has ${a.length} elements, expected ${g.N * g.C * g.OH * g.OW} (${s.y})`);
  }
}

export function maxPool2dForward(r: Runner, x: Float32Array, g: Pool2dGeometry): MaybePromise<{ out: Float32Array; argmax: Float32Array }> {
  const consts = checkLimits('maxPool2dForward', g);
  const len = g.N * g.C * g.OH * g.OW;
  return andThen(r.run('maxPoolArgmax', maxPoolArgmaxKernel, consts, len, [x]), (argmax) =>
    andThen(r.run('maxPoolGather', maxPoolGatherKernel, consts, len, [x, argmax, new Float32Array([-Infinity])]), (out) => ({ out, argmax })));
}

export function maxPool2dBackward(r: Runner, dy: Float32Array, argmax: Float32Array | Int32Array,
  g: Pool2dGeometry): MaybePromise<Float32Array> {
  const op = 'maxPool2dBackward';
  const consts = checkLimits(op, g);
  // gpu.js reads every array as f32; the indices are below H·W ≤ 2^24 (checkLimits), so they convert exactly.
  const arg = argmax instanceof Int32Array ? Float32Array.from(argmax) : argmax;
  return r.run(op, maxPoolBackwardKernel, consts, g.N * g.C * g.H * g.W, [dy, arg]);
}

export function avgPool2dForward(r: Runner, x: Float32Array, g: Pool2dGeometry, countIncludePad: boolean): MaybePromise<Float32Array> {
  const op = 'avgPool2dForward';
  const consts = { ...checkLimits(op, g), CIP: countIncludePad ? 1 : 0 };
  return r.run(op, avgPoolForwardKernel, consts, g.N * g.C * g.OH * g.OW, [x]);
}

export function avgPool2dBackward(r: Runner, dy: Float32Array, g: Pool2dGeometry, countIncludePad: boolean): MaybePromise<Float32Array> {
  const op = 'avgPool2dBackward';
  const consts = { ...checkLimits(op, g), CIP: countIncludePad ? 1 : 0 };
  return r.run(op, avgPoolBackwardKernel, consts, g.N * g.C * g.H * g.W, [dy]);
}
