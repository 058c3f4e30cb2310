// The one switch over every WebAssembly SIMD kernel (GEMM, ReLU, max-pool): off, each of them
// runs its JS loop, which is the reference the SIMD kernels are tested against (only an explicit
// setGemmBackend('wasm-simd') still sends GEMM to WebAssembly). Per thread (each worker has its
// own module instance); FIREGRAD_SIMD=0 in the environment starts it off, in workers too.

import { kindOf } from '../dtype.js';
import { ValueError } from '../errors.js';

let simdOn = globalThis.process?.env?.FIREGRAD_SIMD !== '0';

/** Turns the WebAssembly SIMD kernels on (the default) or off in this thread. */
export function setSimd(enabled: boolean): void {
  if (typeof enabled !== 'boolean') throw new ValueError(`setSimd: 'enabled' must be a boolean, got ${kindOf(enabled)}`);
  simdOn = enabled;
}

/** Whether float32 kernels with a WebAssembly SIMD version may use it (they also need it to compile). */
export function simdEnabled(): boolean {
  return simdOn;
}
