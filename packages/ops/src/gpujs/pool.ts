// Max and average 2-D pooling, forward and backward, as gpu.js kernels over flat NCHW Float32Arrays.
// Semantics are PyTorch's: max pooling pads with −∞, ties go to the first maximum in row-major window
// order, and the argmax is the flat index ih·W + iw within the (n, c) plane. Windows may run past the
// input (ceil mode is already resolved into OH/OW by geometry.ts); only real cells are read.
import type { Pool2dGeometry } from '../geometry';
import { DTypeError, ShapeError, ValueError } from '@firegrad/core';
import { LOOP_BUDGET, andThen, checkArray, checkSizes, type KernelRunner, type KernelThis, type MaybePromise } from './context';

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

function validate(op: string, g: Pool2dGeometry) {
  const { N, C, H, W, KH, KW, SH, SW, DH, DW, OH, OW } = g;
  const x = `N×C×H×W = ${N}×${C}×${H}×${W}`, y = `N×C×OH×OW = ${N}×${C}×${OH}×${OW}`;
  checkSizes(op, { ...g }, [['input', N * C * H * W, x], [op.endsWith('Forward') ? 'output' : 'grad_output', N * C * OH * OW, y]]);
  if (KH < 1 || KW < 1 || SH < 1 || SW < 1 || DH < 1 || DW < 1) {
    throw new ValueError(`${op}: kernel ${KH}×${KW}, stride ${SH}×${SW} and dilation ${DH}×${DW} must be positive`);
  }
  if (KH + KH * KW > LOOP_BUDGET) throw new ValueError(`${op}: a ${KH}×${KW} window exceeds the per-thread loop budget of ${LOOP_BUDGET}`);
  const { PH, PW } = g;
  return {
    consts: { H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW, HW: H * W, OHW: OH * OW },
    x,
    y,
  };
}

export function maxPool2dForward(r: KernelRunner, x: Float32Array, g: Pool2dGeometry): MaybePromise<{ out: Float32Array; argmax: Float32Array }> {
  const op = 'maxPool2dForward';
  const v = validate(op, g);
  checkArray(op, 'input', x, g.N * g.C * g.H * g.W, v.x);
  const len = g.N * g.C * g.OH * g.OW;
  return andThen(r.run('maxPoolArgmax', maxPoolArgmaxKernel, v.consts, len, [x]), (argmax) =>
    andThen(r.run('maxPoolGather', maxPoolGatherKernel, v.consts, len, [x, argmax, new Float32Array([-Infinity])]), (out) => ({ out, argmax })));
}

export function maxPool2dBackward(r: KernelRunner, dy: Float32Array, argmax: Float32Array | Int32Array, g: Pool2dGeometry): MaybePromise<Float32Array> {
  const op = 'maxPool2dBackward';
  const v = validate(op, g);
  checkArray(op, 'grad_output', dy, g.N * g.C * g.OH * g.OW, v.y);
  if (!(argmax instanceof Float32Array || argmax instanceof Int32Array)) {
    throw new DTypeError(`${op}: 'argmax' must be a Float32Array or an Int32Array`);
  }
  if (argmax.length !== dy.length) throw new ShapeError(`${op}: 'argmax' has ${argmax.length} elements, expected ${dy.length} (${v.y})`);
  // gpu.js reads every array as f32; the indices are below H·W ≤ 2^24 (validate), so they convert exactly.
  const arg = argmax instanceof Int32Array ? Float32Array.from(argmax) : argmax;
  return r.run(op, maxPoolBackwardKernel, v.consts, g.N * g.C * g.H * g.W, [dy, arg]);
}

function avgValidate(op: string, g: Pool2dGeometry, countIncludePad: boolean) {
  const v = validate(op, g);
  if (g.DH !== 1 || g.DW !== 1) throw new ValueError(`${op}: average pooling takes no dilation, got ${g.DH}×${g.DW}`);
  return { ...v, consts: { ...v.consts, CIP: countIncludePad ? 1 : 0 } };
}

export function avgPool2dForward(r: KernelRunner, x: Float32Array, g: Pool2dGeometry, countIncludePad: boolean): MaybePromise<Float32Array> {
  const op = 'avgPool2dForward';
  const v = avgValidate(op, g, countIncludePad);
  checkArray(op, 'input', x, g.N * g.C * g.H * g.W, v.x);
  return r.run(op, avgPoolForwardKernel, v.consts, g.N * g.C * g.OH * g.OW, [x]);
}

export function avgPool2dBackward(r: KernelRunner, dy: Float32Array, g: Pool2dGeometry, countIncludePad: boolean): MaybePromise<Float32Array> {
  const op = 'avgPool2dBackward';
  const v = avgValidate(op, g, countIncludePad);
  checkArray(op, 'grad_output', dy, g.N * g.C * g.OH * g.OW, v.y);
  return r.run(op, avgPoolBackwardKernel, v.consts, g.N * g.C * g.H * g.W, [dy]);
}

