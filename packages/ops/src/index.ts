import './register-cpu';
import './register-gpujs';

export { conv2d, fusedConv2d, conv2dGeometry, type Conv2dOptions, type FusedConv2dOptions } from './conv2d';
export { maxPool2d, avgPool2d, adaptiveAvgPool2d, globalAvgPool2d, type MaxPool2dOptions, type AvgPool2dOptions } from './pool';
export { cat, split } from './cat';
export { setNumThreads } from './parallel/threads';
export { parallelInfo, scratchStats, type ParallelInfo, type ScratchStats } from './parallel/pool';
export { setBackend, getBackend, withBackend, lastBackend, autoReason, type BackendName, type BackendChoice } from './backend';
export { convOutSize, poolOutSize, pair, type Conv2dGeometry, type Pool2dGeometry, type Pair } from './geometry';
