// White-box entry (@firegrad/core/internal) for tests and benches: kernel internals that the
// public API hides, such as which GEMM path ran or the raw WebAssembly ReLU loops.
export { lastGemmPath, type GemmPath } from './gemm.js';
export { reluWasm, reluBackwardWasm } from './wasm/relu.js';
