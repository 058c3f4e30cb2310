export { Module, type ForwardHook, type HookHandle, type LoadResult } from './module.js';
export {
  Conv2d, Linear, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, Dropout, ReLU, Flatten, Softmax, Sequential,
  type Conv2dOptions, type LayerOptions,
} from './layers.js';
export { LeakyReLU, ELU, SELU, SiLU, Mish, Softplus, Hardtanh, Hardsigmoid, Hardswish, LogSigmoid, GELU, PReLU } from './activations.js';
export { Fire, SqueezeNet, SqueezeNetMini, squeezenet1_0, squeezenet1_1, squeezeNetInit, type FireBypass, type SqueezeNetBypass, type SqueezeNetOptions } from './squeezenet.js';
export * as init from './init.js';
export { crossEntropy, nllLoss, mseLoss, type Reduction, type Labels } from './losses.js';
export { Optimizer, SGD, Adam, AdamW, StepLR, CosineAnnealingLR, type OptimizerState, type SGDOptions, type AdamOptions } from './optim.js';
export { TensorDataset, DataLoader, type Dataset, type DataLoaderOptions } from './data.js';
export { summarize, type Summary, type SummaryRow } from './summary.js';
export { saveSafetensors, loadSafetensors, readSafetensors, serializeSafetensors, parseSafetensors } from './safetensors.js';

// Normalization layers.
export {
  BatchNorm1d, BatchNorm2d, InstanceNorm2d, LayerNorm, GroupNorm, type BatchNormOptions, type LayerNormOptions,
  type GroupNormOptions,
} from './normalization.js';

// Padding and resizing layers.
export { ZeroPad2d, ConstantPad2d, ReflectionPad2d, ReplicationPad2d, Upsample, type Padding2d } from './padding.js';

// Transposed convolution layer.
export { ConvTranspose2d, type ConvTranspose2dLayerOptions } from './conv-transpose.js';

// More losses.
export { type CrossEntropyOptions, type NllOptions } from './losses.js';
export {
  l1Loss, smoothL1Loss, huberLoss, binaryCrossEntropy, binaryCrossEntropyWithLogits, klDiv,
  type LossOptions, type SmoothL1Options, type HuberOptions, type BceOptions, type BceWithLogitsOptions, type KlDivOptions,
} from './losses-pointwise.js';

