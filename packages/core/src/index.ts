export { Tensor, requireTensor, type TensorLike, type Dims, type IndexLike } from './tensor.js';
export { type DType, type FloatDType, type FloatArray, type TypedArray, allocate, allocateLike, isFloat, requireFloat, floatData, kindOf, MAX_NUMEL } from './dtype.js';
export { FiregradError, ShapeError, DTypeError, ValueError, AutogradError, fmtShape } from './errors.js';
export { Generator, defaultGenerator, manualSeed } from './generator.js';
export { numel, stridesOf, broadcastShapes, normalizeDim, normalizeDims, sameShape, checkNumel, type Shape } from './shape.js';
export { tensor, fromArray, zeros, ones, full, zerosLike, onesLike, arange, rand, randn, randint, type CreateOptions, type RandomOptions, type NestedArray } from './creation.js';
export { noGrad, isGradEnabled, track, Node, type BackwardFn, type BackwardOptions } from './autograd.js';
export { defineOp, listOps, isDefined, type OpDescriptor, type AttributesOf } from './op.js';
export { grad, vjp } from './functional.js';
export { gradcheck, type GradcheckOptions, type GradcheckReport, type GradcheckMismatch } from './gradcheck.js';
export { gemm, setGemmBackend, getGemmBackend, type GemmBackend, type GemmEpilogue } from './gemm.js';
export { setSimd, simdEnabled } from './wasm/simd.js';
export { setWinograd, winogradEnabled } from './wasm/winograd.js';
export { maxPoolStride2Wasm, wasmMaxPoolFits } from './wasm/max-pool.js';
export { setBufferRecycling, bufferRecyclingStats } from './buffer-recycler.js';
export { reluInto, reluBackwardInto } from './kernels/relu.js';
export {
  add, sub, mul, div, pow, neg, exp, log, sqrt, abs, relu, sigmoid, tanh, clamp, where, gt, lt, ge, le, eq,
} from './ops/elementwise.js';
export { maximum, minimum, reciprocal, rsqrt, floor, ceil, round, sign, erf, sin, cos } from './ops/math.js';
export { sum, mean, max, min, argmax, argmin, prod, variance, std, logsumexp, sumTo, type VarOptions } from './ops/reduce.js';
export { matmul } from './ops/matmul.js';
export { softmax, logSoftmax } from './ops/softmax.js';
export {
  leakyRelu, elu, selu, silu, mish, softplus, hardtanh, hardsigmoid, hardswish, logSigmoid, gelu, prelu, type SoftplusOptions, type GeluOptions,
} from './ops/activations.js';
export {
  reshape, flatten, squeeze, unsqueeze, permute, transpose, expand, narrow, slice, select, gather, indexSelect, cast, clone,
} from './ops/shape.js';
