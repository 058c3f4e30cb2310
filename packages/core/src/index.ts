export { Tensor, requireTensor, type TensorLike, type Dims, type IndexLike } from './tensor';
export { type DType, type FloatDType, type FloatArray, type TypedArray, allocate, allocateLike, isFloat, requireFloat, floatData, kindOf, MAX_NUMEL } from './dtype';
export { FiregradError, ShapeError, DTypeError, ValueError, AutogradError, fmtShape } from './errors';
export { Generator, defaultGenerator, manualSeed } from './generator';
export { numel, stridesOf, broadcastShapes, normalizeDim, normalizeDims, sameShape, checkNumel, type Shape } from './shape';
export { tensor, fromArray, zeros, ones, full, zerosLike, onesLike, arange, rand, randn, randint, type CreateOptions, type RandomOptions, type NestedArray } from './creation';
export { noGrad, isGradEnabled, track, Node, type BackwardFn, type BackwardOptions } from './autograd';
export { defineOp, listOps, isDefined, type OpDescriptor, type AttributesOf } from './op';
export { grad, vjp } from './functional';
export { gradcheck, type GradcheckOptions, type GradcheckReport, type GradcheckMismatch } from './gradcheck';
export { gemm, setGemmBackend, getGemmBackend, type GemmBackend } from './gemm';
export { setSimd, simdEnabled } from './wasm/simd';
export { maxPool2x2Wasm, wasmMaxPool2x2Fits } from './wasm/max-pool';
export { setBufferRecycling, bufferRecyclingStats } from './buffer-recycler';
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
