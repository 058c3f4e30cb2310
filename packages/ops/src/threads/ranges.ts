// Core's range kernels (ReLU, …) and ops' own (pooling, …) on the worker pool: the range runner the
// pool installs while it can use tensors in place (see useGroup in ./workers). [0, total) is cut
// into one consecutive part per thread; each element is computed by one thread, by the kernel's
// operations for it alone, so results are bit-identical to one thread.
import type { FloatArray, TypedArray } from '@firegrad/core';
import { RANGE, type Region, type Task } from './protocol.js';
import { rangeKernelIndex, runRangeTask } from './range-kernels.js';
import { activeWorkers, countRangeJob } from './workers.js';

// Below this many elements in its largest array a job runs on one thread: a round trip to the
// workers costs ≈ 15–20 µs, and a memory-bound pass runs ≈ 1 ns per element.
const MIN_ELEMENTS = 1 << 16;
// A float array not in shared memory (a small output such as a bias gradient, below the size the
// allocator shares) goes through the arena when it is at most this long; a longer one keeps the job on one thread.
const MAX_STAGED = 1 << 14;

let unused: SharedArrayBuffer | undefined;

/** Runs kernel `name` over [0, total) on the pool; false (having done nothing) to run it on one thread. */
export function runRanges(name: string, total: number, arrays: TypedArray[], ints: readonly number[]): boolean {
  const workers = activeWorkers();
  // In a job's own part (a kernel that calls reluInto, say) the pool is busy: that part stays on its thread.
  if (!workers?.sharesBuffers || workers.inJob || total < workers.threads) return false;
  const Type = arrays[0] instanceof Float64Array ? Float64Array : Float32Array;
  let largest = 0, staged = 0;
  for (const a of arrays) {
    if (!(a instanceof Type || a instanceof Int32Array)) return false;
    if (!(a.buffer instanceof SharedArrayBuffer)) {
      if (a instanceof Int32Array || a.length > MAX_STAGED) return false;
      staged += a.length;
    }
    largest = Math.max(largest, a.length);
  }
  if (largest < MIN_ELEMENTS) return false;
  // Every thread, this one included, uses the staged copies; they are copied back after the job.
  const arena = staged ? workers.arenaView(Type === Float64Array ? 'float64' : 'float32', staged) : null;
  let top = 0;
  const regions: Region[] = [], views: TypedArray[] = [];
  // A staged array's slot is unused: an empty buffer, not its own (an ArrayBuffer would be copied into the message).
  const buffers = arrays.map((a) => a.buffer instanceof SharedArrayBuffer ? a.buffer : (unused ??= new SharedArrayBuffer(0)));
  arrays.forEach((a, b) => {
    if (a.buffer instanceof SharedArrayBuffer) {
      regions.push({ buffer: b + 1, offset: a.byteOffset / a.BYTES_PER_ELEMENT, length: a.length, int32: a instanceof Int32Array });
      views.push(a);
    } else {
      regions.push({ buffer: 0, offset: top, length: a.length });
      views.push(arena!.subarray(top, top + a.length));
      arena!.set(a, top);
      top += a.length;
    }
  });
  const index = rangeKernelIndex(name);
  const cuts = Array.from({ length: workers.threads + 1 }, (_, i) => Math.floor((total * i) / workers.threads));
  const tasks: Task[] = cuts.slice(2).map((hi, i) => ({ ints: [index, cuts[i + 1], hi, ...ints], regions, buffers }));
  workers.run(name, RANGE, Type === Float64Array ? 'float64' : 'float32', tasks, () => runRangeTask([index, 0, cuts[1], ...ints], views));
  arrays.forEach((a, b) => {
    if (regions[b].buffer === 0) (a as FloatArray).set(views[b] as FloatArray);
  });
  workers.endJob();
  countRangeJob();
  return true;
}
