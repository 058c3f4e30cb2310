// White-box entry (@firegrad/core/internal) for tests and benches: kernel internals that the
// public API hides, such as which GEMM path ran or the raw WebAssembly ReLU loops; and the hooks
// that @firegrad/ops' worker threads drive.
export { gemmSum, lastGemmPath, type GemmPath, type GemmTerm } from './gemm.js';
export { wasmFmaAvailable } from './wasm/gemm.js';
export { reluWasm, reluBackwardWasm } from './wasm/relu.js';
export { setSharedAllocation, sharedBuffer, sharingMemory, uninitializedLike } from './dtype.js';
export { overRanges, setRangeRunner, type RangeKernel, type RangeRunner } from './parallel.js';
export { biasGradientFused, reluRange, reluBackwardRange, reluBackwardBiasFused } from './kernels/relu.js';
export { SAME_SHAPE_KERNELS } from './kernels/same-shape.js';
export { winogradAvailable, winogradConv, winogradWeights } from './wasm/winograd.js';
export { wasmColumns, im2colWasm, col2imWasm, type WindowGeometry } from './wasm/columns.js';
export { ownIntermediates } from './autograd.js';
export { copyElements } from './copy.js';
export { dropoutInto, dropoutRange } from './kernels/dropout.js';
export { maxPoolBackward2x2Wasm } from './wasm/max-pool.js';
