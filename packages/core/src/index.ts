export { Tensor, requireTensor, type TensorLike, type Dims, type IndexLike } from './tensor';
export { type DType, type FloatDType, type FloatArray, type TypedArray, allocate, isFloat, requireFloat, floatData, kindOf, MAX_NUMEL } from './dtype';
export { FiregradError, ShapeError, DTypeError, ValueError, AutogradError, fmtShape } from './errors';
export { Generator, defaultGenerator, manualSeed } from './generator';
export { numel, stridesOf, broadcastShapes, normalizeDim, normalizeDims, sameShape, checkNumel, type Shape } from './shape';
export { tensor, fromArray, zeros, ones, full, zerosLike, onesLike, arange, rand, randn, randint, type CreateOptions, type RandomOptions, type NestedArray } from './creation';
export { noGrad, isGradEnabled, track, Node, type BackwardFn, type BackwardOptions } from './autograd';
export { defineOp, listOps, isDefined, type OpDescriptor, type AttributesOf } from './op';
export { grad, vjp } from './functional';
export { gradcheck, type GradcheckOptions, type GradcheckReport, type GradcheckMismatch } from './gradcheck';
export { gemm, setGemmBackend, getGemmBackend, simdEnabled, type GemmBackend } from './kernels/gemm';
// The WebAssembly writer, for kernels outside core (ops' max-pool) built the same way.
export { encodeModule, instantiate as instantiateWasm, op as wasmOp, I32, V128, type Bytes as WasmBytes } from './kernels/wasm-emit';
export { setBufferPool, bufferPoolStats } from './buffer-pool';
export { reluInto, reluBackwardInto } from './kernels/relu';
export {
  add, sub, mul, div, pow, neg, exp, log, sqrt, abs, relu, sigmoid, tanh, clamp, where, gt, lt, ge, le, eq,
} from './ops/elementwise';
export { sum, mean, max, argmax, logsumexp, sumTo } from './ops/reduce';
export { matmul } from './ops/matmul';
export { softmax, logSoftmax } from './ops/softmax';
export {
  reshape, flatten, squeeze, unsqueeze, permute, transpose, expand, narrow, slice, gather, indexSelect, cast, clone,
} from './ops/shape';
