// Dropout's mask and output in one pass, split over the worker threads when big: element i keeps
// x[i] when the generator's i-th 32-bit draw of this call is below keep·2³², so the values are
// those of one thread drawing the whole stream in order, whatever the split. A thread starts its
// range [lo, hi) from the call's starting state advanced by lo draws (advanceState), and the
// generator ends advanced by the element count. Float32 runs on WebAssembly (../wasm/dropout) unless
// the SIMD switch is off.
import type { FloatArray } from '../dtype.js';
import { advanceState, xoshiroFill, type Generator } from '../generator.js';
import { overRanges, type RangeKernel } from '../parallel.js';
import { dropoutWasm, wasmDropoutAvailable } from '../wasm/dropout.js';
import { simdEnabled } from '../wasm/simd.js';

/** Draws taken at a time: the generator's state stays in locals for a chunk. */
const CHUNK = 4096;
const draws = new Uint32Array(CHUNK);
/** p's float64 bits travel as two int32 task parameters. */
const bits = new Float64Array(1), words = new Int32Array(bits.buffer);

/**
 * mask[i] = 1/(1-p) or 0 (x's dtype; p = 1 gives 0, not ∞·0), out[i] = x[i]·mask[i], drawing
 * one number per element from `gen`, which ends advanced by x.length draws.
 */
export function dropoutInto(gen: Generator, p: number, x: FloatArray, mask: FloatArray, out: FloatArray): void {
  const state = gen.getState().slice(0, 4);
  bits[0] = p;
  ended = null;
  overRanges('dropout', dropoutRange, x.length, [x, mask, out], [...state.map((w) => w | 0), words[0], words[1]]);
  // Run here as one range, the kernel left the end state; split, the last range ended elsewhere.
  const s = ended ?? advanced(state, x.length);
  gen.setState([...s, gen.getState()[4]]);
}

let ended: Uint32Array | null = null;

function advanced(state: number[], count: number): Uint32Array {
  const s = Uint32Array.from(state);
  advanceState(s, count);
  return s;
}

/** ints: the call's starting state (4 words), then p's float64 bits (2 words). */
export const dropoutRange: RangeKernel = (arrays, ints, lo, hi) => {
  const [x, mask, out] = arrays as FloatArray[];
  words[0] = ints[4];
  words[1] = ints[5];
  const keep = 1 - bits[0], threshold = keep * 2 ** 32, kept = keep > 0 ? 1 / keep : 0;
  const s = Uint32Array.from(ints.slice(0, 4), (w) => w >>> 0);
  advanceState(s, lo);
  if (x instanceof Float32Array && mask instanceof Float32Array && out instanceof Float32Array && simdEnabled() && wasmDropoutAvailable()) {
    dropoutWasm(s, threshold, kept, x, mask, out, lo, hi);
  } else {
    dropoutLoop(s, threshold, kept, x, mask, out, lo, hi);
  }
  if (lo === 0 && hi === x.length) ended = s;
};

/** The reference loop (float64, or the WebAssembly switch off): the same draws and results as ../wasm/dropout. */
function dropoutLoop(s: Uint32Array, threshold: number, kept: number, x: FloatArray, mask: FloatArray, out: FloatArray,
  lo: number, hi: number): void {
  // Kept without a branch: keep/drop is a coin flip the branch predictor cannot learn. out reads
  // the mask back, so it is x times the rounded scale.
  for (let i0 = lo; i0 < hi; i0 += CHUNK) {
    const n = Math.min(CHUNK, hi - i0);
    xoshiroFill(s, draws, 0, n);
    for (let j = 0, i = i0; j < n; j++, i++) {
      mask[i] = kept * +(draws[j] < threshold);
      out[i] = x[i] * mask[i];
    }
  }
}
