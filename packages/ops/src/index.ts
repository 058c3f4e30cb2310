// @firegrad/ops: conv2d, pooling and cat/split on the cpu and gpujs backends.
import './backends';

export {
  conv2d, fusedConv2d, conv2dGeometry, type Activation, type Conv2dGeometry, type Conv2dOptions, type FusedConv2dOptions,
} from './conv2d';
export {
  maxPool2d, avgPool2d, adaptiveAvgPool2d, globalAvgPool2d, type MaxPool2dOptions, type AvgPool2dOptions, type Pool2dGeometry,
} from './pool';
export { cat, split } from './cat';
export { setNumThreads } from './threads/config';
export { parallelInfo, scratchStats, type ParallelInfo, type ScratchStats } from './threads/workers';
export { setBackend, getBackend, withBackend, lastBackend, autoReason, type BackendName, type BackendChoice } from './kernels';
export { convOutSize, poolOutSize, pair, type Pair } from './geometry';
