// Which kernel runs each op on each backend: a plain list. cpu is the reference, runs every
// float64 call and every op a backend lacks; gpujs runs float32 on gpu.js. The gpujs probe decides
// what setBackend('auto') means on this machine, and which gpu.js modes setBackend('gpujs') can run.
import { catOp } from './cat.js';
import { conv2dOp, fusedConv2dOp } from './conv2d.js';
import { convTranspose2dOp } from './conv-transpose2d.js';
import { catCpu } from './cpu/cat.js';
import { batchNormCpu } from './cpu/norm.js';
import { conv2dCpu, fusedConv2dCpu } from './cpu/conv2d.js';
import { interpolateCpu } from './cpu/interpolate.js';
import { padCpu } from './cpu/pad.js';
import { adaptiveAvgPool2dCpu, avgPool2dCpu, maxPool2dCpu } from './cpu/pool.js';
import { catGpujs } from './gpujs/cat.js';
import { batchNormGpujs } from './gpujs/norm.js';
import { conv2dGpujs, fusedConv2dGpujs } from './gpujs/conv2d.js';
import { padGpujs } from './gpujs/pad.js';
import { avgPool2dGpujs, maxPool2dGpujs } from './gpujs/pool.js';
import { gpujsProbe, selectGpujsMode } from './gpujs/backend.js';
import { interpolateOp } from './interpolate.js';
import { registerKernel, setAutoProbe, setModeSelector } from './kernels.js';
import { batchNormOp } from './norm.js';
import { padOp } from './pad.js';
import { adaptiveAvgPool2dOp, avgPool2dOp, maxPool2dOp } from './pool.js';

registerKernel(conv2dOp, 'cpu', conv2dCpu);
registerKernel(fusedConv2dOp, 'cpu', fusedConv2dCpu);
// conv2d's own kernels: a transposed conv is conv2d's passes in another order (conv-transpose2d.ts).
registerKernel(convTranspose2dOp, 'cpu', conv2dCpu);
registerKernel(maxPool2dOp, 'cpu', maxPool2dCpu);
registerKernel(avgPool2dOp, 'cpu', avgPool2dCpu);
registerKernel(adaptiveAvgPool2dOp, 'cpu', adaptiveAvgPool2dCpu);
registerKernel(catOp, 'cpu', catCpu);
registerKernel(padOp, 'cpu', padCpu);
registerKernel(interpolateOp, 'cpu', interpolateCpu);
registerKernel(batchNormOp, 'cpu', batchNormCpu);

registerKernel(conv2dOp, 'gpujs', conv2dGpujs);
registerKernel(fusedConv2dOp, 'gpujs', fusedConv2dGpujs);
registerKernel(convTranspose2dOp, 'gpujs', conv2dGpujs);
registerKernel(maxPool2dOp, 'gpujs', maxPool2dGpujs);
registerKernel(avgPool2dOp, 'gpujs', avgPool2dGpujs);
registerKernel(catOp, 'gpujs', catGpujs);
registerKernel(padOp, 'gpujs', padGpujs);
registerKernel(batchNormOp, 'gpujs', batchNormGpujs);

setAutoProbe(gpujsProbe);
setModeSelector(selectGpujsMode);
