import { Generator, randn, Tensor } from '@firegrad/core';
import { conv2d, setNumThreads, parallelInfo, getBackend } from '@firegrad/ops';
const gen = new Generator(1);
const x = randn([3, 16, 30, 30], { generator: gen, requiresGrad: true } as any);
const w = randn([32, 16, 3, 3], { generator: gen, requiresGrad: true } as any);
const b = randn([32], { generator: gen, requiresGrad: true } as any);
function run(t: number) {
  setNumThreads(t);
  const t0 = performance.now();
  const y = conv2d(x, w, b, { padding: 1 });
  y.backward(randn(y.shape, { generator: new Generator(5) }));
  const r = [y.data, x.grad!.data, w.grad!.data, b.grad!.data].map((a) => Array.from(a as Float32Array));
  (x as any).grad = null; (w as any).grad = null; (b as any).grad = null;
  console.log(t, parallelInfo(), (performance.now() - t0).toFixed(1), 'ms');
  return r;
}
const a = run(1), c = run(2);
console.log(a.map((v, i) => v.every((e, j) => Object.is(e, c[i][j]))));
