// The README's autograd example. Run: pnpm example:autograd
import { tensor, gradcheck } from '@firegrad/core';

const x = tensor([[1, 2], [3, 4]], { dtype: 'float64', requiresGrad: true });
const w = tensor([[0.5], [-1]], { dtype: 'float64', requiresGrad: true });
const loss = x.matmul(w).tanh().sum();   // records a tape
loss.backward();                         // walks it once, newest to oldest
console.log(x.grad!.toArray(), w.grad!.toArray());

const report = gradcheck((a, b) => a.matmul(b).tanh(), [x, w]); // float64 finite differences vs VJPs
console.log(report.message);
