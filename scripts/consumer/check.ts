// A TypeScript user's file, type-checked against the published .d.ts under strict settings
// (tsconfig.nodenext.json and tsconfig.bundler.json).
import { Generator, tensor, gradcheck, type Tensor } from '@firegrad/core';
import { conv2d, maxPool2d, setBackend, type Conv2dOptions } from '@firegrad/ops';
import { Fire, Sequential, SqueezeNetMini, crossEntropy, type Module } from '@firegrad/nn';

const g = new Generator(1);
const opts: Conv2dOptions = { stride: 1, padding: 1 };
const x: Tensor = tensor([[[[1, 2], [3, 4]]]]);
const y: Tensor = maxPool2d(conv2d(x, tensor([[[[1]]]]), null, opts), 2);
const net: Module = new Sequential(new Fire(1, 2, 2, 2, { generator: g }));
const logits = new SqueezeNetMini({ generator: g }).call(tensor(new Float32Array(784), { shape: [1, 1, 28, 28] }));
const loss: Tensor = crossEntropy(logits, [3]);
setBackend('cpu');
const report = gradcheck((a) => a.mul(a).sum(), [tensor([1, 2], { dtype: 'float64', requiresGrad: true })]);
const ok: boolean = report.ok;
export { y, net, loss, ok };
