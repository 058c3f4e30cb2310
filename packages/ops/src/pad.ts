// pad: PyTorch's F.pad. `pads` lists (before, after) pairs starting from the LAST dim; negative pads
// crop. Every mode is separable: output[j0, j1, …] = input[map0[j0], map1[j1], …], where each dim's
// map gives the source index of an output index, or −1 for the constant fill. The op resolves the
// maps once (all mode rules live here); the kernels only gather (forward) and scatter-add (backward).
import {
  ShapeError, Tensor, ValueError, checkNumel, defineOp, floatData, fmtShape, kindOf, requireTensor, track,
  type FloatArray,
} from '@firegrad/core';
import { padBackwardCpu } from './cpu/pad.js';
import { dtypeOf, kernelFor } from './kernels.js';

export type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';
const MODES: readonly PadMode[] = ['constant', 'reflect', 'replicate', 'circular'];

export interface PadOptions {
  mode?: PadMode;
  /** The fill of 'constant' mode (default 0); the other modes accept only 0, as in PyTorch. */
  value?: number;
}

/**
 * A resolved pad over a collapsed shape (runs of unpadded dims merged): input and output sizes per
 * dim, and per dim the source index of every output index (−1: the fill value).
 */
export interface PadPlan {
  inShape: number[];
  outShape: number[];
  maps: Int32Array[];
  value: number;
}

/** Forward only: the backward (a scatter-add) runs on cpu on every backend. */
export interface PadKernel {
  forward(x: FloatArray, plan: PadPlan): FloatArray;
}

export const padOp = defineOp<PadKernel>({ name: 'pad', inputs: ['input'], differentiable: true, pkg: 'ops' });

export function pad(x: Tensor, pads: readonly number[], options: PadOptions = {}): Tensor {
  const op = padOp.name;
  requireTensor(op, 'input', x);
  const xd = floatData(op, 'input', x);
  const plan = padPlan(x.shape, pads, options);
  const outShape = x.shape.map((s, d) => s + before(pads, x.ndim, d) + after(pads, x.ndim, d));
  const out = kernelFor(padOp, dtypeOf(xd)).forward(xd, plan);
  return track(padOp, [x], new Tensor(out, outShape), (g) => {
    const dy = floatData(op, 'grad_output', g);
    return [new Tensor(padBackwardCpu(dy, plan), x.shape)];
  });
}

// PyTorch's order: pads[0], pads[1] pad the last dim, pads[2], pads[3] the one before it, …
const before = (pads: readonly number[], ndim: number, d: number) => pads[2 * (ndim - 1 - d)] ?? 0;
const after = (pads: readonly number[], ndim: number, d: number) => pads[2 * (ndim - 1 - d) + 1] ?? 0;

/** Validates a pad call (errors name the op, the argument and the shapes) and resolves its maps. */
function padPlan(shape: readonly number[], pads: readonly number[], options: PadOptions): PadPlan {
  if (typeof options !== 'object' || options === null) throw new ValueError(`pad: argument 'options' must be an object, got ${kindOf(options)}`);
  const { mode = 'constant', value = 0 } = options;
  const where = `input ${fmtShape(shape)}, pad [${Array.isArray(pads) ? pads.join(', ') : ''}]`;
  if (!Array.isArray(pads) || !pads.every((p) => Number.isInteger(p))) {
    throw new ValueError(`pad: argument 'pad' must be an array of integers, got ${Array.isArray(pads) ? `[${pads.map(kindOf).join(', ')}]` : kindOf(pads)}`);
  }
  if (!MODES.includes(mode)) throw new ValueError(`pad: argument 'mode' must be one of ${MODES.map((m) => `'${m}'`).join(', ')}, got ${kindOf(mode)}`);
  if (typeof value !== 'number') throw new ValueError(`pad: argument 'value' must be a number, got ${kindOf(value)}`);
  if (pads.length % 2 !== 0) throw new ValueError(`pad: argument 'pad' must hold (before, after) pairs, got an odd length ${pads.length} (${where})`);
  const ndim = shape.length, k = pads.length / 2;
  if (k > ndim) throw new ValueError(`pad: argument 'pad' pads ${k} dims but the input has ${ndim} (${where})`);
  if (mode !== 'constant') {
    if (value !== 0) throw new ValueError(`pad: mode '${mode}' takes no 'value', got ${value} (${where})`);
    // PyTorch pads the last 1, 2 or 3 dims of an input with one or two more dims (batch and channel, or channel only).
    if (k < 1 || k > 3 || (ndim !== k + 1 && ndim !== k + 2)) {
      throw new ShapeError(`pad: mode '${mode}' pads the last 1 to 3 dims of a (k+1)-D or (k+2)-D input, got ${k} (before, after) pairs for ${ndim}-D (${where})`);
    }
    if (mode !== 'circular') {
      // as in PyTorch: only the batch dim of a (k+2)-D input may be empty
      const empty = shape.findIndex((s, d) => s === 0 && !(d === 0 && ndim === k + 2));
      if (empty >= 0) throw new ShapeError(`pad: mode '${mode}' needs a non-empty input in dim ${empty} (${where})`);
    }
  }
  const dims = shape.map((size, d) => {
    const l = before(pads, ndim, d), r = after(pads, ndim, d), out = size + l + r;
    const dimWhere = `pad (${l}, ${r}) for dim ${d} of size ${size} (${where})`;
    const padded = d >= ndim - k, clamped = padded && (mode === 'reflect' || mode === 'replicate');
    if (out < (clamped ? 1 : 0)) throw new ShapeError(`pad: the output would have ${out} elements in dim ${d}: ${dimWhere}`);
    if (padded && mode === 'reflect' && (l >= size || r >= size)) throw new ValueError(`pad: mode 'reflect' needs each pad less than the dim's size: ${dimWhere}`);
    // PyTorch crops first, then wraps within what is left: a pad may not exceed that.
    const kept = size - Math.max(-l, 0) - Math.max(-r, 0);
    if (mode === 'circular' && (l > kept || r > kept)) {
      throw new ValueError(`pad: mode 'circular' needs each pad at most the dim's size (after cropping, ${kept}): ${dimWhere}`);
    }
    return { size, l, out, kept };
  });
  checkNumel(padOp.name, dims.map((t) => t.out));
  const maps = dims.map(({ size, l, out, kept }) => {
    const map = new Int32Array(out);
    if (mode === 'circular') {
      const a = Math.max(-l, 0), lp = Math.max(l, 0);
      for (let j = 0; j < out; j++) map[j] = a + (((j - lp) % kept) + kept) % kept;
      return map;
    }
    for (let j = 0; j < out; j++) {
      const i = j - l;
      if (mode === 'constant') map[j] = i >= 0 && i < size ? i : -1;
      else if (mode === 'replicate') map[j] = Math.min(Math.max(i, 0), size - 1);
      else map[j] = i < 0 ? -i : i >= size ? 2 * (size - 1) - i : i;
    }
    return map;
  });
  return collapse(shape, maps, value);
}

/** Merges each run of unpadded dims (identity maps) into one dim, so kernels loop over fewer dims. */
function collapse(shape: readonly number[], maps: Int32Array[], value: number): PadPlan {
  const plan: PadPlan = { inShape: [], outShape: [], maps: [], value };
  let run = 1; // the product of the current run of unpadded dims
  const isIdentity = (m: Int32Array, size: number) => m.length === size && m.every((s, j) => s === j);
  const push = (inSize: number, map: Int32Array) => {
    plan.inShape.push(inSize);
    plan.outShape.push(map.length);
    plan.maps.push(map);
  };
  const flush = () => {
    if (run !== 1) push(run, Int32Array.from({ length: run }, (_, j) => j));
    run = 1;
  };
  shape.forEach((size, d) => {
    if (isIdentity(maps[d], size)) {
      run *= size;
      return;
    }
    flush();
    push(size, maps[d]);
  });
  if (run !== 1 || plan.inShape.length === 0) push(run, Int32Array.from({ length: run }, (_, j) => j));
  return plan;
}
