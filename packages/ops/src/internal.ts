// White-box entry for tests and benchmarks (`@firegrad/ops/internal`): the op descriptors, the
// kernel table, each backend's kernels and the helpers inside them. Not public API.
import './backends';

export { kernelFor, registerKernel, dtypeOf } from './kernels';
export { conv2dOp, fusedConv2dOp, isPointwise, CONV2D_ATTRIBUTES, type Conv2dKernel, type FusedConv2dKernel } from './conv2d';
export { maxPool2dOp, avgPool2dOp, adaptiveAvgPool2dOp, type MaxPool2dKernel, type AvgPool2dKernel, type AdaptiveAvgPool2dKernel, type AdaptiveShape } from './pool';
export { catOp, type CatKernel } from './cat';
export { conv2dCpu, fusedConv2dCpu, forwardImages, backwardInputImages, backwardWeightImages, backwardBiasInto, runConvTask } from './cpu/conv2d';
export {
  maxPool2dCpu, avgPool2dCpu, adaptiveAvgPool2dCpu, maxPool2dForward, maxPool2dBackward, avgPool2dForward, avgPool2dBackward,
  adaptiveAvgPool2dForward, adaptiveAvgPool2dBackward,
} from './cpu/pool';
export { catCpu, catInto, sliceInto } from './cpu/cat';
export { SCRATCH_CAP_BYTES } from './cpu/workspace';
export { conv2dGpujs, fusedConv2dGpujs } from './gpujs/conv2d';
export { maxPool2dGpujs, avgPool2dGpujs } from './gpujs/pool';
export { catGpujs } from './gpujs/cat';
export { backendRunner, gpujsProbe, MAX_ELEMENTS } from './gpujs/runner';
export { runOnThreads } from './threads/conv2d-split';
export { CONV_FORWARD, CONV_BACKWARD_INPUT, CONV_BACKWARD_WEIGHT, controlSize, readTask, writeTask } from './threads/protocol';
export { activeWorkers, testHooks } from './threads/workers';
export { numThreads, threadsFromEnvironment } from './threads/config';
