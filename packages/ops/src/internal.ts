// White-box entry for tests and benchmarks (`@firegrad/ops/internal`): the op descriptors, the
// kernel table, each backend's kernels and the helpers inside them. Not public API.
import './backends.js';

export { kernelFor, registerKernel, dtypeOf } from './kernels.js';
export { conv2dOp, fusedConv2dOp, isPointwise, CONV2D_ATTRIBUTES, type Conv2dKernel, type FusedConv2dKernel } from './conv2d.js';
export { maxPool2dOp, avgPool2dOp, adaptiveAvgPool2dOp, type MaxPool2dKernel, type AvgPool2dKernel, type AdaptiveAvgPool2dKernel, type AdaptiveShape } from './pool.js';
export { catOp, type CatKernel } from './cat.js';
export {
  conv2dCpu, fusedConv2dCpu, forwardImages, backwardInputImages, backwardWeightImages, backwardBiasInto, lastConvAlgorithm, runConvTask,
} from './cpu/conv2d.js';
export {
  maxPool2dCpu, avgPool2dCpu, adaptiveAvgPool2dCpu, maxPool2dForward, maxPool2dBackward, avgPool2dForward, avgPool2dBackward,
  adaptiveAvgPool2dForward, adaptiveAvgPool2dBackward,
} from './cpu/pool.js';
export { catCpu, catInto, sliceInto } from './cpu/cat.js';
export { SCRATCH_CAP_BYTES } from './cpu/workspace.js';
export { conv2dGpujs, fusedConv2dGpujs } from './gpujs/conv2d.js';
export { maxPool2dGpujs, avgPool2dGpujs } from './gpujs/pool.js';
export { catGpujs } from './gpujs/cat.js';
export { MAX_ELEMENTS } from './gpujs/runner.js';
export { backendRunner, gpujsProbe } from './gpujs/backend.js';
export { runOnThreads } from './threads/conv2d-split.js';
export { CONV_FORWARD, CONV_BACKWARD_INPUT, CONV_BACKWARD_WEIGHT, controlSize, geometryInts, geometryOf, readTask, writeTask } from './threads/protocol.js';
export { activeWorkers, rangeJobCount, testHooks } from './threads/workers.js';
export { numThreads, threadsFromEnvironment } from './threads/config.js';
