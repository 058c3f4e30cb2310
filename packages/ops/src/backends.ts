// Which kernel runs each op on each backend: a plain list. cpu is the reference, runs every
// float64 call and every op a backend lacks; gpujs runs float32 on gpu.js. The gpujs probe decides
// what setBackend('auto') means on this machine, and which gpu.js modes setBackend('gpujs') can run.
import { catOp } from './cat.js';
import { conv2dOp, fusedConv2dOp } from './conv2d.js';
import { catCpu } from './cpu/cat.js';
import { batchNormCpu } from './cpu/norm.js';
import { conv2dCpu, fusedConv2dCpu } from './cpu/conv2d.js';
import { adaptiveAvgPool2dCpu, avgPool2dCpu, maxPool2dCpu } from './cpu/pool.js';
import { catGpujs } from './gpujs/cat.js';
import { batchNormGpujs } from './gpujs/norm.js';
import { conv2dGpujs, fusedConv2dGpujs } from './gpujs/conv2d.js';
import { avgPool2dGpujs, maxPool2dGpujs } from './gpujs/pool.js';
import { gpujsProbe, selectGpujsMode } from './gpujs/backend.js';
import { registerKernel, setAutoProbe, setModeSelector } from './kernels.js';
import { batchNormOp } from './norm.js';
import { adaptiveAvgPool2dOp, avgPool2dOp, maxPool2dOp } from './pool.js';

registerKernel(conv2dOp, 'cpu', conv2dCpu);
registerKernel(fusedConv2dOp, 'cpu', fusedConv2dCpu);
registerKernel(maxPool2dOp, 'cpu', maxPool2dCpu);
registerKernel(avgPool2dOp, 'cpu', avgPool2dCpu);
registerKernel(adaptiveAvgPool2dOp, 'cpu', adaptiveAvgPool2dCpu);
registerKernel(catOp, 'cpu', catCpu);
registerKernel(batchNormOp, 'cpu', batchNormCpu);

registerKernel(conv2dOp, 'gpujs', conv2dGpujs);
registerKernel(fusedConv2dOp, 'gpujs', fusedConv2dGpujs);
registerKernel(maxPool2dOp, 'gpujs', maxPool2dGpujs);
registerKernel(avgPool2dOp, 'gpujs', avgPool2dGpujs);
registerKernel(catOp, 'gpujs', catGpujs);
registerKernel(batchNormOp, 'gpujs', batchNormGpujs);

setAutoProbe(gpujsProbe);
setModeSelector(selectGpujsMode);
