// The range kernels a pool worker can run, by name. A task carries its kernel's index in this
// list, so the driving thread and the workers must import the same list (they do: this module).
import type { TypedArray } from '@firegrad/core';
import { SAME_SHAPE_KERNELS, dropoutRange, reluBackwardRange, reluRange, type RangeKernel } from '@firegrad/core/internal';
import { catRange, sliceRange } from '../cpu/cat.js';
import { backwardBiasRange, reluBiasBackwardRange } from '../cpu/conv2d.js';
import { maxPool2dBackwardRange, maxPool2dForwardRange } from '../cpu/pool.js';

// Built on first use: the kernels' modules import the pool (./workers), which imports this one.
let kernels: readonly (readonly [string, RangeKernel])[] | null = null;
let indices = new Map<string, number>();

function table(): readonly (readonly [string, RangeKernel])[] {
  if (!kernels) {
    kernels = [
      ['relu', reluRange],
      ['reluBackward', reluBackwardRange],
      ['maxPool2dForward', maxPool2dForwardRange],
      ['maxPool2dBackward', maxPool2dBackwardRange],
      ['conv2dBackwardBias', backwardBiasRange],
      ['conv2dReluBiasBackward', reluBiasBackwardRange],
      ...Object.entries(SAME_SHAPE_KERNELS),
      ['cat', catRange],
      ['catSlice', sliceRange],
      ['dropout', dropoutRange],
    ];
    indices = new Map(kernels.map(([name], i) => [name, i]));
  }
  return kernels;
}

/** The index a task carries for the kernel `name`. */
export function rangeKernelIndex(name: string): number {
  table();
  const i = indices.get(name);
  if (i === undefined) throw new Error(`no range kernel named '${name}' in threads/range-kernels.ts`);
  return i;
}

/** Runs a RANGE task: ints are [kernel, lo, hi, ...the kernel's parameters]. */
export function runRangeTask(ints: readonly number[], operands: (TypedArray | null)[]): void {
  // A task has a slot for every operand; a range kernel's arrays are the first ones, the rest are null.
  table()[ints[0]][1](operands.filter((a) => a !== null), ints.slice(3), ints[1], ints[2]);
}
