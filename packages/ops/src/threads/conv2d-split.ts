// conv2d's cpu kernels split over the worker threads, bit-identical to one thread.
//
// A job is cut into one part per thread, and every part is a plain cpu-kernel call (../cpu/conv2d)
// on a sub-geometry, so each output element is computed by exactly one thread, by the same
// operations in the same order as on one thread:
// - by images (forward, grad-input): each image's GEMMs are the very same calls;
// - by channels: whole groups when groups > 1 (again the same per-group calls); with one group,
//   output channels (forward, grad-weight) or input channels (grad-input, grad-weight), which are
//   row or column ranges of each GEMM's C (W·col, Wᵀ·dY, dY·colᵀ). gemm computes an element of C
//   from its row of opA and column of opB alone, in depth order, whatever M and N are, provided
//   the part's call takes the same path as the whole one: gemm sends float32 problems to
//   WebAssembly SIMD by their size M·N·K, hence MIN_PART_MACS, far above that cutoff.
// grad-weight sums over the batch, so it is only split by channels: a batch split would add
// per-thread partial sums, a different rounding from the one accumulation chain of one thread.
// grad-bias is not a conv job: a range kernel over output channels (../cpu/conv2d, ./ranges).
//
// A worker reads and writes a box of a tensor in shared memory in place (Node, where the tensors
// are allocated there while the pool runs) when the box is contiguous, or a channel range of every
// image of x or y (the kernels step from image to image by the tensor's stride); any other box goes
// through the arena: the main thread copies the worker's input boxes in and its output boxes out.
// The main thread's own part reads and writes its boxes of x and y in place, and a weight box where contiguous.
import type { FloatArray } from '@firegrad/core';
import { isPointwise, type Conv2dGeometry } from '../conv2d.js';
import { packedStrides, type ImageStrides } from '../cpu/conv2d.js';
import { boxLength, boxStart, boxView, copyBoxIn, copyBoxOut, isContiguous, spanLength, type Box, type Layout } from './boxes.js';
import {
  CONV_BACKWARD_INPUT, CONV_BACKWARD_WEIGHT, CONV_FORWARD, CONV_FORWARD_RELU, convTaskInts, type ConvTaskKind, type Region, type Task,
} from './protocol.js';
import { activeWorkers, countJob } from './workers.js';

// Below this a job runs on one thread. A round trip to the workers costs ≈ 15 µs and the copies
// a few more; on 2 cores a split broke even at ≈ 0.5 ms of single-thread work: ≈ 5 MFLOP for
// float32 (WebAssembly SIMD GEMM, ≈ 10 GFLOP/s), < 1 MFLOP for float64 (JS GEMM, ≈ 3 GFLOP/s),
// and gained 1.2–1.5× at 9 and 5 MFLOP respectively.
const MIN_JOB_FLOP = { float32: 8e6, float64: 2e6 };
// Smallest GEMM call (multiply-adds) of a part in a one-group channel split, far above gemm's
// float32 WebAssembly cutoff (256).
const MIN_PART_MACS = 1 << 16;

/** What each operand slot [in0, in1, in2, out] of an op is: input x, output y, weight, bias. */
type Role = 'x' | 'y' | 'w' | 'bias';
const ROLES: Record<ConvTaskKind, (Role | null)[]> = {
  [CONV_FORWARD]: ['x', 'w', 'bias', 'y'],
  [CONV_FORWARD_RELU]: ['x', 'w', 'bias', 'y'],
  [CONV_BACKWARD_INPUT]: ['y', 'w', null, 'x'],
  [CONV_BACKWARD_WEIGHT]: ['x', 'y', null, 'w'],
};
const OUT = 3;
/**
 * Roles whose outer dimension is the image: a box of them is a channel range of each image, which
 * the kernels read and write in place given the tensor's image stride.
 */
const IMAGE_ROLES: Partial<Record<Role, keyof ImageStrides>> = { x: 'input', y: 'output' };

function layouts(g: Conv2dGeometry): Record<Role, Layout> {
  return {
    x: { outer: g.N, channels: g.C, plane: g.H * g.W },
    y: { outer: g.N, channels: g.OC, plane: g.OH * g.OW },
    w: { outer: g.OC, channels: g.C / g.groups, plane: g.KH * g.KW },
    bias: { outer: g.OC, channels: 1, plane: 1 },
  };
}

type Unit = 'image' | 'group' | 'outChannel' | 'inChannel';
interface Split { unit: Unit; ranges: [number, number][] }
interface Part { g: Conv2dGeometry; boxes: Record<Role, Box> }

/**
 * The split of an op over `threads`, or null when it should run on one. Images whenever there are
 * two or more, even unevenly (3 on 2 threads): a channel split repeats work in every thread (see
 * channelSplit), which with a fast GEMM costs more than the imbalance.
 */
function chooseSplit(op: ConvTaskKind, g: Conv2dGeometry, threads: number): Split | null {
  if (op !== CONV_BACKWARD_WEIGHT && g.N > 1) return { unit: 'image', ranges: ranges(g.N, threads) };
  return channelSplit(op, g, threads);
}

/**
 * Groups when there are several (nothing repeated). Otherwise every thread of an output-channel
 * split repeats the im2col and the GEMM packing of the columns matrix (C·KH·KW × OH·OW per image),
 * and every thread of an input-channel split repeats the packing of dY (OC × OH·OW), which is
 * smaller in most grad-weight passes (3×3 kernels, squeeze layers); forward can only split output
 * channels and grad-input input channels.
 */
function channelSplit(op: ConvTaskKind, g: Conv2dGeometry, threads: number): Split | null {
  if (g.groups > 1) {
    const split: Split = { unit: 'group', ranges: ranges(g.groups, threads) };
    return split.ranges.length > 1 ? split : null;
  }
  const pointwise = isPointwise(g);
  const units: Unit[] = op === CONV_FORWARD || op === CONV_FORWARD_RELU ? ['outChannel'] : op === CONV_BACKWARD_INPUT ? ['inChannel']
    : g.OC < (pointwise ? 1 : 2) * g.C * g.KH * g.KW ? ['inChannel', 'outChannel'] : ['outChannel', 'inChannel'];
  for (const unit of units) {
    const split: Split = { unit, ranges: ranges(unit === 'inChannel' ? g.C : g.OC, threads) };
    // Multiply-adds per unit in each GEMM call: KH·KW rows of Wᵀ·dY or columns of dY·colᵀ; a row of W·col or dY·colᵀ.
    const unitMacs = g.KH * g.KW * g.OH * g.OW * (unit === 'inChannel' ? g.OC : g.C);
    const smallest = Math.min(...split.ranges.map(([a, b]) => b - a));
    if (split.ranges.length > 1 && smallest * unitMacs >= MIN_PART_MACS) return split;
  }
  return null;
}

/** [0, total) cut into min(parts, total) consecutive ranges, sizes differing by at most one. */
function ranges(total: number, parts: number): [number, number][] {
  const k = Math.min(parts, total);
  return Array.from({ length: k }, (_, i) => [Math.floor((total * i) / k), Math.floor((total * (i + 1)) / k)]);
}

/** The part of the job covering units [u0, u1): its sub-geometry and the box of each operand. */
function part(g: Conv2dGeometry, unit: Unit, u0: number, u1: number): Part {
  const cg = g.C / g.groups, ocg = g.OC / g.groups;
  let [n0, n1, c0, c1, o0, o1, wc0, wc1] = [0, g.N, 0, g.C, 0, g.OC, 0, cg];
  if (unit === 'image') [n0, n1] = [u0, u1];
  else if (unit === 'group') [c0, c1, o0, o1] = [u0 * cg, u1 * cg, u0 * ocg, u1 * ocg];
  else if (unit === 'outChannel') [o0, o1] = [u0, u1];
  else [c0, c1, wc0, wc1] = [u0, u1, u0, u1];
  return {
    g: { ...g, N: n1 - n0, C: c1 - c0, OC: o1 - o0, groups: unit === 'group' ? u1 - u0 : g.groups },
    boxes: {
      x: { n0, n1, c0, c1 },
      y: { n0, n1, c0: o0, c1: o1 },
      w: { n0: o0, n1: o1, c0: wc0, c1: wc1 },
      bias: { n0: o0, n1: o1, c0: 0, c1: 1 },
    },
  };
}

/** Whether a conv pass of this geometry has enough work to be split. */
const bigEnough = (g: Conv2dGeometry, dtype: 'float32' | 'float64') =>
  2 * g.N * g.OC * g.OH * g.OW * (g.C / g.groups) * g.KH * g.KW >= MIN_JOB_FLOP[dtype];

/**
 * Runs the task kind on the worker threads, each part through the cpu kernel, with operands
 * [in0, in1, in2, out]; false (having done nothing) when it should run on one thread instead.
 */
export function runOnThreads(op: ConvTaskKind, g: Conv2dGeometry, operands: (FloatArray | null)[],
  runTask: (kind: ConvTaskKind, g: Conv2dGeometry, operands: (FloatArray | null)[], strides: ImageStrides) => void): boolean {
  const dtype = operands[OUT] instanceof Float64Array ? 'float64' : 'float32';
  if (!bigEnough(g, dtype)) return false;
  const workers = activeWorkers();
  const split = workers && chooseSplit(op, g, workers.threads);
  if (!workers || !split) return false;
  const L = layouts(g), roles = ROLES[op];
  const [mine, ...theirs] = split.ranges.map(([u0, u1]) => part(g, split.unit, u0, u1));

  // Arena: each distinct input box the workers read through it (once), each such output box, and
  // the main part's weight boxes that are not contiguous. A box of an image-shaped operand (x, y)
  // is used in place, strided, where the thread can reach the tensor's memory.
  let top = 0;
  const alloc = (length: number): Region => ({ buffer: 0, offset: (top += length) - length, length });
  const inputs = new Map<string, { slot: number; box: Box; region: Region }>();
  const copiedOut: { task: number; region: Region }[] = [];
  const tasks: Task[] = theirs.map((p, t) => {
    const buffers: SharedArrayBuffer[] = [];
    const strides = packedStrides(p.g); // of the operands packed in the arena; in place ones get the tensor's below
    const regions = roles.map((role, slot) => {
      const a = operands[slot];
      if (!role || !a) return null;
      const box = p.boxes[role], length = boxLength(L[role], box), imageStride = IMAGE_ROLES[role];
      if (workers.sharesBuffers && a.buffer instanceof SharedArrayBuffer && (imageStride || isContiguous(L[role], box))) {
        if (imageStride) strides[imageStride] = L[role].channels * L[role].plane;
        const offset = a.byteOffset / a.BYTES_PER_ELEMENT + boxStart(L[role], box);
        return { buffer: buffers.push(a.buffer), offset, length: spanLength(L[role], box) };
      }
      if (slot === OUT) {
        const region = alloc(length);
        copiedOut.push({ task: t, region });
        return region;
      }
      const key = `${slot}:${box.n0},${box.n1},${box.c0},${box.c1}`;
      if (!inputs.has(key)) inputs.set(key, { slot, box, region: alloc(length) });
      return inputs.get(key)!.region;
    });
    return { ints: convTaskInts(p.g, strides), regions, buffers };
  });
  const mainRegions = roles.map((role, slot) =>
    role && operands[slot] && !IMAGE_ROLES[role] && !isContiguous(L[role], mine.boxes[role]) ? alloc(boxLength(L[role], mine.boxes[role])) : null);
  const mainStrides = { input: L.x.channels * L.x.plane, output: L.y.channels * L.y.plane }; // its x and y are in place

  const arena = workers.arenaView(dtype, top);
  for (const { slot, box, region } of inputs.values()) copyBoxIn(operands[slot]!, L[roles[slot]!], box, arena, region.offset);
  workers.run('conv2d', op, dtype, tasks, () => {
    runTask(op, mine.g, roles.map((role, slot) => {
      const a = operands[slot], r = mainRegions[slot];
      if (!role || !a) return null;
      if (!r) return boxView(a, L[role], mine.boxes[role]);
      if (slot !== OUT) copyBoxIn(a, L[role], mine.boxes[role], arena, r.offset);
      return arena.subarray(r.offset, r.offset + r.length);
    }), mainStrides);
  });
  const outRole = roles[OUT]!, out = operands[OUT]!;
  for (const { task, region } of copiedOut) copyBoxOut(arena, region.offset, out, L[outRole], theirs[task].boxes[outRole]);
  if (mainRegions[OUT]) copyBoxOut(arena, mainRegions[OUT].offset, out, L[outRole], mine.boxes[outRole]);
  workers.endJob();
  countJob();
  return true;
}
