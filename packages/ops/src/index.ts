// @firegrad/ops: conv2d, pooling and cat/split on the cpu and gpujs backends.
import './backends.js';

export {
  conv2d, fusedConv2d, conv2dGeometry, type Activation, type Conv2dGeometry, type Conv2dOptions, type FusedConv2dOptions,
} from './conv2d.js';
export {
  maxPool2d, avgPool2d, adaptiveAvgPool2d, globalAvgPool2d, type MaxPool2dOptions, type AvgPool2dOptions, type Pool2dGeometry,
} from './pool.js';
export { cat, split } from './cat.js';
export { setNumThreads } from './threads/config.js';
export { initThreads, parallelInfo, scratchStats, type ParallelInfo, type ScratchStats } from './threads/workers.js';
export {
  setBackend, getBackend, withBackend, lastBackend, autoReason,
  type BackendName, type BackendChoice, type BackendOptions, type GpujsMode, type GpujsRunMode,
} from './kernels.js';
export { backendInfo, setBackendAsync, type BackendInfo } from './gpujs/backend.js';
export { convOutSize, poolOutSize, pair, type Pair } from './geometry.js';

// Normalization.
export { batchNorm, layerNorm, groupNorm, type BatchNormOptions, type BatchNormShape } from './norm.js';

// Padding and resizing.

// Transposed convolution.
