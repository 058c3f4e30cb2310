// What the main thread and the workers agree on: the control block's layout, the task kinds, and
// how a task is written into and read from the block.
//
// The control block is an Int32Array over a SharedArrayBuffer. A task is either a conv2d kernel
// call on a sub-geometry (a range of images, output channels, input channels or groups of the full
// one; see ./conv2d-split), or a range kernel (./ranges) over [lo, hi). Its operands are element
// ranges, viewed as float32 or float64, of the arena (a SharedArrayBuffer the pool keeps for
// copies) or of the tensors' own shared buffers, which the driving thread posts to the worker with
// the job (Node; see ../cpu/workspace and setSharedAllocation). The geometry travels as
// conv2dOp.attributes, in their declared order, both ways: a field cannot be missed.
import type { FloatArray } from '@firegrad/core';
import { conv2dOp, type Conv2dGeometry } from '../conv2d.js';
import type { ImageStrides } from '../cpu/conv2d.js';

/** In every worker's workerData: worker.ts serves only when started as one of these workers. */
export const WORKER_ROLE = 'firegrad-conv2d-worker';

export const GEN = 0; // bumped to publish a job (or QUIT); workers Atomics.wait on it
export const DONE = 1; // workers that finished the current job
export const REPORTED = 2; // workers that finished starting up, well or not
export const FAILED = 3; // set by a worker that failed; its error message waits on its port
export const EPOCH = 4; // arena generation: a worker that sees a new one takes the new arena from its port
export const KIND = 5; // the job's task kind, or QUIT
export const DTYPE = 6; // 0: float32, 1: float64
export const COLLECTS = 7; // bumped when the driving thread collected garbage: each worker then collects after its next job
const TASKS = 8; // then one block per worker: its state, its retained scratch, its task

export const QUIT = 1, CONV_FORWARD = 2, CONV_BACKWARD_INPUT = 3, CONV_BACKWARD_WEIGHT = 4, RANGE = 5, CONV_FORWARD_RELU = 6;
/** conv2d's passes; CONV_FORWARD_RELU is the forward clamped at zero (fusedConv2d's ReLU, inside the GEMM). */
export type ConvTaskKind = typeof CONV_FORWARD | typeof CONV_FORWARD_RELU | typeof CONV_BACKWARD_INPUT | typeof CONV_BACKWARD_WEIGHT;
export type TaskKind = ConvTaskKind | typeof RANGE;

/** Operands of every task: up to four arrays (conv: three inputs, unused ones null, then the output). */
const OPERANDS = 4;
/** Integers of a task: a conv geometry, or a range kernel's [kernel, lo, hi, ...its parameters]. */
const TASK_INTS = 24;
// Per worker: its state and scratch (below), a has-task flag, the integers' count and the integers,
// then (buffer, offset, length, int32) per operand.
const TASK_SIZE = 4 + TASK_INTS + 4 * OPERANDS;

export const controlSize = (workers: number) => TASKS + workers * TASK_SIZE;

/** A worker's state slot: PENDING while the main thread waits for its part of the job, then FINISHED. */
export const stateSlot = (worker: number) => TASKS + worker * TASK_SIZE;
export const PENDING = 1, FINISHED = 2;
/** The bytes of scratch a worker retains between calls (see ../cpu/workspace), written after each job. */
export const scratchSlot = (worker: number) => TASKS + worker * TASK_SIZE + 1;

/**
 * Elements [offset, offset + length) of the job's dtype (int32 if `int32`: indices such as max
 * pooling's argmax) in buffer 0, the arena, or in buffer b ≥ 1, the task's b-th shared buffer
 * (Task.buffers, posted with the job).
 */
export interface Region { buffer: number; offset: number; length: number; int32?: boolean }
export interface Task { ints: number[]; regions: (Region | null)[]; buffers: SharedArrayBuffer[] }
/** Runs one task on arrays, on a worker or, for a dead one's part, on the calling thread. */
export type RunTask = (kind: TaskKind, ints: readonly number[], operands: (FloatArray | Int32Array | null)[]) => void;

export const geometryInts = (g: Conv2dGeometry): number[] => conv2dOp.attributes.map((k) => g[k]);

/** A conv task's integers: its (sub-)geometry, then the image strides of its input- and output-shaped operands. */
export const convTaskInts = (g: Conv2dGeometry, strides: ImageStrides): number[] => [...geometryInts(g), strides.input, strides.output];
/** The image strides after the geometry in a conv task's integers (see convTaskInts). */
export const stridesOf = (ints: readonly number[]): ImageStrides =>
  ({ input: ints[conv2dOp.attributes.length], output: ints[conv2dOp.attributes.length + 1] });

export function geometryOf(ints: readonly number[]): Conv2dGeometry {
  // Complete by construction: one entry per attribute of the descriptor.
  return Object.fromEntries(conv2dOp.attributes.map((k, j) => [k, ints[j]])) as Conv2dGeometry;
}

/** The task's integers and regions (its buffers travel by message). */
export function writeTask(ctrl: Int32Array, worker: number, task: Omit<Task, 'buffers'> | null): void {
  let i = TASKS + worker * TASK_SIZE + 2;
  ctrl[i++] = task ? 1 : 0;
  if (!task) return;
  if (task.ints.length > TASK_INTS) throw new Error(`a task carries at most ${TASK_INTS} integers, got ${task.ints.length}`);
  ctrl[i] = task.ints.length;
  ctrl.set(task.ints, i + 1);
  i += 1 + TASK_INTS;
  for (let o = 0; o < OPERANDS; o++) {
    const r = task.regions[o];
    ctrl[i++] = r ? r.buffer : -1;
    ctrl[i++] = r ? r.offset : 0;
    ctrl[i++] = r ? r.length : 0;
    ctrl[i++] = r?.int32 ? 1 : 0;
  }
}

export function readTask(ctrl: Int32Array, worker: number): Omit<Task, 'buffers'> | null {
  let i = TASKS + worker * TASK_SIZE + 2;
  if (ctrl[i++] === 0) return null;
  const ints = Array.from(ctrl.subarray(i + 1, i + 1 + ctrl[i]));
  i += 1 + TASK_INTS;
  const regions: (Region | null)[] = [];
  for (let o = 0; o < OPERANDS; o++, i += 4) {
    regions.push(ctrl[i] < 0 ? null : { buffer: ctrl[i], offset: ctrl[i + 1], length: ctrl[i + 2], ...(ctrl[i + 3] ? { int32: true } : {}) });
  }
  return { ints, regions };
}

/** A region as an array: of the arena, or of the task's shared buffers (`dtype` is the job's). */
export function regionView(r: Region, arena: FloatArray, buffers: readonly SharedArrayBuffer[]): FloatArray | Int32Array {
  if (r.buffer === 0) return arena.subarray(r.offset, r.offset + r.length);
  const b = buffers[r.buffer - 1];
  if (r.int32) return new Int32Array(b, 4 * r.offset, r.length);
  return arena instanceof Float64Array ? new Float64Array(b, 8 * r.offset, r.length) : new Float32Array(b, 4 * r.offset, r.length);
}
