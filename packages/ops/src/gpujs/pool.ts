// Pooling on the gpujs backend: maxPool2dGpujs and avgPool2dGpujs, forward and backward as gpu.js
// kernels over flat NCHW Float32Arrays. Semantics are PyTorch's: max pooling pads with −∞, ties go
// to the first maximum in row-major window order, and the argmax is the flat index ih·W + iw within
// the (n, c) plane. Windows may run past the input (ceil mode is already resolved into OH/OW by the
// op); only real cells are read. As for conv2d, the functions check only gpu.js's own limits and
// checkPool2dCall checks what createGpuKernels' callers pass raw.
//
// The average window and its divisor are written in both average kernels, not shared: gpu.js
// compiles a kernel from its function's source, so a shared helper would have to be added to every
// GPU instance with gpu.addFunction and compiled per mode (WebGL, WebAssembly, WebGPU), whose
// argument typing differs; the two copies are a dozen lines each and tested against the cpu kernel.
import { DTypeError, ShapeError, ValueError } from '@firegrad/core';
import type { AvgPool2dKernel, MaxPool2dKernel, Pool2dGeometry } from '../pool';
import {
  LOOP_BUDGET, andThen, backendRunner, checkArray, checkSizes, float32, sync, type KernelRunner, type KernelThis, type MaybePromise,
} from './runner';

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
  const ow = i % this.constants.OW;
  const t1 = Math.floor(i / this.constants.OW);
  const oh = t1 % this.constants.OH;
  const plane = Math.floor(t1 / this.constants.OH);
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
          // `val > max || isnan(val)`). gpu.js has no isNaN; `v !== v` compiles to f32.ne on WebAssembly.
          if (arg < 0 || v > best || v !== v) {
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
  const idx = i % this.constants.HW;
  const plane = Math.floor(i / this.constants.HW);
  const ih = Math.floor(idx / this.constants.W);
  const iw = idx % this.constants.W;
  let sum = 0;
  for (let kh = 0; kh < this.constants.KH; kh++) {
    const th = ih + this.constants.PH - kh * this.constants.DH;
    if (th >= 0) {
      const oh = Math.floor(th / this.constants.SH);
      if (oh * this.constants.SH === th && oh < this.constants.OH) {
        for (let kw = 0; kw < this.constants.KW; kw++) {
          const tw = iw + this.constants.PW - kw * this.constants.DW;
          if (tw >= 0) {
            const ow = Math.floor(tw / this.constants.SW);
            if (ow * this.constants.SW === tw && ow < this.constants.OW) {
              const o = (plane * this.constants.OH + oh) * this.constants.OW + ow;
              if (argmax[o] === idx) {
                sum += dy[o];
              }
            }
          }
        }
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
  const ow = i % this.constants.OW;
  const t1 = Math.floor(i / this.constants.OW);
  const oh = t1 % this.constants.OH;
  const plane = Math.floor(t1 / this.constants.OH);
  const hs = oh * this.constants.SH - this.constants.PH;
  const ws = ow * this.constants.SW - this.constants.PW;
  let he = hs + this.constants.KH;
  if (he > this.constants.H + this.constants.PH) {
    he = this.constants.H + this.constants.PH;
  }
  let we = ws + this.constants.KW;
  if (we > this.constants.W + this.constants.PW) {
    we = this.constants.W + this.constants.PW;
  }
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
  let div = (he - hs) * (we - ws);
  if (this.constants.CIP === 0) {
    div = real;
  }
  let out = 0;
  if (real > 0) {
    out = sum / div;
  }
  return out;
}

/** dx[plane, ih, iw] = Σ dy[o] / divisor(o) over the windows o covering (ih, iw). */
function avgPoolBackwardKernel(this: KernelThis, dy: Float32Array): number {
  const i = this.thread.x;
  const iw = i % this.constants.W;
  const t1 = Math.floor(i / this.constants.W);
  const ih = t1 % this.constants.H;
  const plane = Math.floor(t1 / this.constants.H);
  let sum = 0;
  for (let kh = 0; kh < this.constants.KH; kh++) {
    const th = ih + this.constants.PH - kh;
    if (th >= 0) {
      const oh = Math.floor(th / this.constants.SH);
      if (oh * this.constants.SH === th && oh < this.constants.OH) {
        const hs = oh * this.constants.SH - this.constants.PH;
        let he = hs + this.constants.KH;
        if (he > this.constants.H + this.constants.PH) {
          he = this.constants.H + this.constants.PH;
        }
        let h0 = hs;
        if (h0 < 0) {
          h0 = 0;
        }
        let h1 = he;
        if (h1 > this.constants.H) {
          h1 = this.constants.H;
        }
        for (let kw = 0; kw < this.constants.KW; kw++) {
          const tw = iw + this.constants.PW - kw;
          if (tw >= 0) {
            const ow = Math.floor(tw / this.constants.SW);
            if (ow * this.constants.SW === tw && ow < this.constants.OW) {
              const ws = ow * this.constants.SW - this.constants.PW;
              let we = ws + this.constants.KW;
              if (we > this.constants.W + this.constants.PW) {
                we = this.constants.W + this.constants.PW;
              }
              let w0 = ws;
              if (w0 < 0) {
                w0 = 0;
              }
              let w1 = we;
              if (w1 > this.constants.W) {
                w1 = this.constants.W;
              }
              let div = (he - hs) * (we - ws);
              if (this.constants.CIP === 0) {
                div = (h1 - h0) * (w1 - w0);
              }
              sum += dy[(plane * this.constants.OH + oh) * this.constants.OW + ow] / div;
            }
          }
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
  return { H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, HW: H * W, OHW: OH * OW };
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

export function maxPool2dForward(r: KernelRunner, x: Float32Array, g: Pool2dGeometry): MaybePromise<{ out: Float32Array; argmax: Float32Array }> {
  const consts = checkLimits('maxPool2dForward', g);
  const len = g.N * g.C * g.OH * g.OW;
  return andThen(r.run('maxPoolArgmax', maxPoolArgmaxKernel, consts, len, [x]), (argmax) =>
    andThen(r.run('maxPoolGather', maxPoolGatherKernel, consts, len, [x, argmax, new Float32Array([-Infinity])]), (out) => ({ out, argmax })));
}

export function maxPool2dBackward(r: KernelRunner, dy: Float32Array, argmax: Float32Array | Int32Array, g: Pool2dGeometry): MaybePromise<Float32Array> {
  const op = 'maxPool2dBackward';
  const consts = checkLimits(op, g);
  // gpu.js reads every array as f32; the indices are below H·W ≤ 2^24 (checkLimits), so they convert exactly.
  const arg = argmax instanceof Int32Array ? Float32Array.from(argmax) : argmax;
  return r.run(op, maxPoolBackwardKernel, consts, g.N * g.C * g.H * g.W, [dy, arg]);
}

export function avgPool2dForward(r: KernelRunner, x: Float32Array, g: Pool2dGeometry, countIncludePad: boolean): MaybePromise<Float32Array> {
  const op = 'avgPool2dForward';
  const consts = { ...checkLimits(op, g), CIP: countIncludePad ? 1 : 0 };
  return r.run(op, avgPoolForwardKernel, consts, g.N * g.C * g.OH * g.OW, [x]);
}

export function avgPool2dBackward(r: KernelRunner, dy: Float32Array, g: Pool2dGeometry, countIncludePad: boolean): MaybePromise<Float32Array> {
  const op = 'avgPool2dBackward';
  const consts = { ...checkLimits(op, g), CIP: countIncludePad ? 1 : 0 };
  return r.run(op, avgPoolBackwardKernel, consts, g.N * g.C * g.H * g.W, [dy]);
}
