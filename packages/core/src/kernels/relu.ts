// ReLU's two loops, shared by the relu op and the ops that fuse a ReLU (conv2d). Float32 goes to
// WebAssembly SIMD (wasm/relu.ts: branch-free, ≈ 15× the JS loop on random signs) unless the SIMD
// switch is off (setSimd(false), FIREGRAD_SIMD=0); float64 and that setting use the JS loops,
// which are the reference.
import type { FloatArray } from '../dtype.js';
import { reluBackwardWasm, reluWasm, wasmReluAvailable } from '../wasm/relu.js';
import { simdEnabled } from '../wasm/simd.js';

const useWasm = (a: FloatArray): a is Float32Array =>
  a instanceof Float32Array && simdEnabled() && wasmReluAvailable();

/** out[i] = x[i] > 0 ? x[i] : 0, NaN kept (as PyTorch); out may be x. */
export function reluInto(x: FloatArray, out: FloatArray): void {
  if (useWasm(x) && out instanceof Float32Array) return reluWasm(x, out);
  for (let i = 0; i < x.length; i++) { const v = x[i]; out[i] = v > 0 || v !== v ? v : 0; }
}

/** out[i] = y[i] > 0 ? g[i] : 0, where y is ReLU's output; out may be g. */
export function reluBackwardInto(y: FloatArray, g: FloatArray, out: FloatArray): void {
  if (useWasm(y) && g instanceof Float32Array && out instanceof Float32Array) return reluBackwardWasm(y, g, out);
  for (let i = 0; i < y.length; i++) out[i] = y[i] > 0 ? g[i] : 0;
}
