// ReLU's two loops, shared by the relu op and the ops that fuse a ReLU (conv2d). Float32 goes to
// WebAssembly SIMD (wasm/relu.ts: branch-free, ≈ 15× the JS loop on random signs) unless the SIMD
// switch is off (setSimd(false), FIREGRAD_SIMD=0); float64 and that setting use the JS loops,
// which are the reference.
import type { FloatArray } from '../dtype.js';
import { overRanges, type RangeKernel } from '../parallel.js';
import { biasGradientWasm, reluBackwardBiasWasm, reluBackwardWasm, reluWasm, wasmReluAvailable } from '../wasm/relu.js';
import { simdEnabled } from '../wasm/simd.js';

const useWasm = (a: FloatArray): a is Float32Array =>
  a instanceof Float32Array && simdEnabled() && wasmReluAvailable();

/** out[i] = x[i] > 0 ? x[i] : 0, NaN kept (as PyTorch); out may be x. Split over the worker threads when big. */
export function reluInto(x: FloatArray, out: FloatArray): void {
  overRanges('relu', reluRange, x.length, [x, out]);
}

/** out[i] = y[i] > 0 ? g[i] : 0, where y is ReLU's output; out may be g. Split over the worker threads when big. */
export function reluBackwardInto(y: FloatArray, g: FloatArray, out: FloatArray): void {
  overRanges('reluBackward', reluBackwardRange, y.length, [y, g, out]);
}

// Their arrays are float arrays of one dtype (reluInto and reluBackwardInto pass nothing else).
export const reluRange: RangeKernel = ([x, out], _, lo, hi) =>
  reluSerial((x as FloatArray).subarray(lo, hi), (out as FloatArray).subarray(lo, hi));
export const reluBackwardRange: RangeKernel = ([y, g, out], _, lo, hi) =>
  reluBackwardSerial((y as FloatArray).subarray(lo, hi), (g as FloatArray).subarray(lo, hi), (out as FloatArray).subarray(lo, hi));

function reluSerial(x: FloatArray, out: FloatArray): void {
  if (useWasm(x) && out instanceof Float32Array) return reluWasm(x, out);
  for (let i = 0; i < x.length; i++) { const v = x[i]; out[i] = v > 0 || v !== v ? v : 0; }
}

/**
 * ReLU's backward fused with the sums of a conv's bias gradient, for output channels [oc0, oc1) of
 * N × OC × plane float32 tensors (see reluBackwardBiasWasm); false, having done nothing, where the
 * WebAssembly path does not run (float64, SIMD off, planes over its chunk): the caller then makes
 * the two passes itself, with the same results.
 */
export function reluBackwardBiasFused(y: FloatArray, g: FloatArray, out: FloatArray, db: FloatArray,
  N: number, OC: number, plane: number, oc0: number, oc1: number): boolean {
  return useWasm(y) && g instanceof Float32Array && out instanceof Float32Array && db instanceof Float32Array &&
    reluBackwardBiasWasm(y, g, out, db, N, OC, plane, oc0, oc1);
}

/**
 * A conv's bias gradient for output channels [oc0, oc1) of an N × OC × plane float32 tensor, in
 * reluBackwardBiasFused's order of sums; false, having done nothing, where it does not run (the
 * caller then sums in JS, with the same results).
 */
export function biasGradientFused(g: FloatArray, db: FloatArray, N: number, OC: number, plane: number, oc0: number, oc1: number): boolean {
  return useWasm(g) && db instanceof Float32Array && biasGradientWasm(g, db, N, OC, plane, oc0, oc1);
}

function reluBackwardSerial(y: FloatArray, g: FloatArray, out: FloatArray): void {
  if (useWasm(y) && g instanceof Float32Array && out instanceof Float32Array) return reluBackwardWasm(y, g, out);
  for (let i = 0; i < y.length; i++) out[i] = y[i] > 0 ? g[i] : 0;
}
