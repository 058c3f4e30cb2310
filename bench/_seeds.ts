import { setGemmBackend, randn, manualSeed, type GemmBackend } from '@firegrad/core';
import { setNumThreads } from '@firegrad/ops';
import { crossEntropy, loadSafetensors, SqueezeNet } from '@firegrad/nn';
const weights = loadSafetensors('/work/wt/gemm/test/fixtures/nn/squeezenet1_0_10.safetensors');
setNumThreads(1);
function g0(x: any, dtype: 'float32' | 'float64', backend: GemmBackend) {
  setGemmBackend(backend);
  const m = new SqueezeNet({ version: '1.0', numClasses: 10, dtype }).eval(); m.loadStateDict(weights);
  crossEntropy(m.forward(x.to(dtype)), new Int32Array([3])).backward();
  return Object.fromEntries(m.namedParameters())['features.0.weight'].grad!.data;
}
function rel(a: ArrayLike<number>, b: ArrayLike<number>) { let e = 0, s = 0; for (let i = 0; i < b.length; i++) { e = Math.max(e, Math.abs(a[i] - b[i])); s = Math.max(s, Math.abs(b[i])); } return e / s; }
for (let seed = 1; seed <= 10; seed++) {
  manualSeed(seed);
  const x = randn([1, 3, 227, 227], { dtype: 'float32' });
  const ref = g0(x, 'float64', 'auto');
  console.log(seed, 'wasm', rel(g0(x, 'float32', 'wasm-simd'), ref).toExponential(2), 'js', rel(g0(x, 'float32', 'js'), ref).toExponential(2));
}
