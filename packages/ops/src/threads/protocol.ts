// What the main thread and the workers agree on: the control block's layout, the task kinds, and
// how a task is written into and read from the block.
//
// The control block is an Int32Array over a SharedArrayBuffer. A task is a conv2d kernel call on a
// sub-geometry (a range of images, output channels, input channels or groups of the full one; see
// ./conv2d-split) whose operands are ranges of the arena, a second SharedArrayBuffer holding the
// job's data, viewed as float32 or float64. The geometry travels as conv2dOp.attributes, in their
// declared order, both ways: a field cannot be missed.
import type { FloatArray } from '@firegrad/core';
import { conv2dOp, type Conv2dGeometry } from '../conv2d.js';

/** In every worker's workerData: worker.ts serves only when started as one of these workers. */
export const WORKER_ROLE = 'firegrad-conv2d-worker';

export const GEN = 0; // bumped to publish a job (or QUIT); workers Atomics.wait on it
export const DONE = 1; // workers that finished the current job
export const REPORTED = 2; // workers that finished starting up, well or not
export const FAILED = 3; // set by a worker that failed; its error message waits on its port
export const EPOCH = 4; // arena generation: a worker that sees a new one takes the new arena from its port
export const KIND = 5; // the job's task kind, or QUIT
export const DTYPE = 6; // 0: float32, 1: float64
const TASKS = 8; // then one block per worker: its state, its retained scratch, its task

export const QUIT = 1, CONV_FORWARD = 2, CONV_BACKWARD_INPUT = 3, CONV_BACKWARD_WEIGHT = 4;
export type ConvTaskKind = typeof CONV_FORWARD | typeof CONV_BACKWARD_INPUT | typeof CONV_BACKWARD_WEIGHT;

/** Operands of every task: three inputs (unused ones null) then the output. */
const OPERANDS = 4;
// Per worker: its state and scratch (below), a has-task flag, the geometry, then (offset, length)
// in arena elements per operand.
const TASK_SIZE = 3 + conv2dOp.attributes.length + 2 * OPERANDS;

export const controlSize = (workers: number) => TASKS + workers * TASK_SIZE;

/** A worker's state slot: PENDING while the main thread waits for its part of the job, then FINISHED. */
export const stateSlot = (worker: number) => TASKS + worker * TASK_SIZE;
export const PENDING = 1, FINISHED = 2;
/** The bytes of scratch a worker retains between jobs (see ../cpu/workspace), written after each job. */
export const scratchSlot = (worker: number) => TASKS + worker * TASK_SIZE + 1;

/** A range of the arena, in elements of the job's dtype. */
export interface Region { offset: number; length: number }
export interface Task { g: Conv2dGeometry; regions: (Region | null)[] }
/** Runs one task on arrays (the cpu kernel's runConvTask), on a worker or, for a dead one, the calling thread. */
export type RunTask = (kind: ConvTaskKind, g: Conv2dGeometry, operands: (FloatArray | null)[]) => void;

export function writeTask(ctrl: Int32Array, worker: number, task: Task | null): void {
  let i = TASKS + worker * TASK_SIZE + 2;
  ctrl[i++] = task ? 1 : 0;
  if (!task) return;
  for (const k of conv2dOp.attributes) ctrl[i++] = task.g[k];
  for (const r of task.regions) {
    ctrl[i++] = r ? r.offset : -1;
    ctrl[i++] = r ? r.length : 0;
  }
}

export function readTask(ctrl: Int32Array, worker: number): Task | null {
  let i = TASKS + worker * TASK_SIZE + 2;
  if (ctrl[i++] === 0) return null;
  const values = conv2dOp.attributes.map(() => ctrl[i++]);
  // Complete by construction: one entry per attribute of the descriptor.
  const g = Object.fromEntries(conv2dOp.attributes.map((k, j) => [k, values[j]])) as Conv2dGeometry;
  const regions: (Region | null)[] = [];
  for (let o = 0; o < OPERANDS; o++, i += 2) regions.push(ctrl[i] < 0 ? null : { offset: ctrl[i], length: ctrl[i + 1] });
  return { g, regions };
}
