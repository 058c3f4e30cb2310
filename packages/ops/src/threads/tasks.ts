// What a task runs, on a pool worker or, for a dead worker's part, on the driving thread.
import type { FloatArray } from '@firegrad/core';
import { runConvTask } from '../cpu/conv2d.js';
import { geometryOf, RANGE, stridesOf, type RunTask } from './protocol.js';
import { runRangeTask } from './range-kernels.js';

export const runTask: RunTask = (kind, ints, operands) =>
  // A conv task's regions are all of its float dtype.
  kind === RANGE ? runRangeTask(ints, operands) : runConvTask(kind, geometryOf(ints), operands as (FloatArray | null)[], stridesOf(ints));
