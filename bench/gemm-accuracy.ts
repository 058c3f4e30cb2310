// float32 gradient accuracy of SqueezeNet 1.0 against PyTorch's float64 (test/fixtures/nn, from
// scripts/make-fixtures.py): `npx tsx bench/gemm-accuracy.ts`. Prints max|g32 − g64| / max|g64|
// of firegrad's float32 gradients with the GEMM on WebAssembly SIMD (plain and fused) and on JS, next to PyTorch's
// float32, for the whole network and for features.0's dW alone (one 12,321-deep reduction, from
// the float64 dY rounded to float32: no ReLU or max-pool decision in it). With a count
// (`npx tsx bench/gemm-accuracy.ts 10`), also on that many seeded 1×3×227×227 inputs against
// firegrad's float64 (which matches PyTorch's to ~1e-12): where float32 rounding flips a max-pool
// or ReLU decision, features.0's whole-network error jumps to ~1e-3 whatever the GEMM's
// summation. One thread, so that every GEMM takes the chosen path.
import { manualSeed, randn, setGemmBackend, Tensor, type GemmBackend } from '@firegrad/core';
import { wasmFmaAvailable } from '@firegrad/core/internal';
import { conv2d, setNumThreads } from '@firegrad/ops';
import { Conv2d, crossEntropy, loadSafetensors, readSafetensors, SqueezeNet } from '@firegrad/nn';

const fixture = (name: string) => new URL(`../test/fixtures/nn/${name}`, import.meta.url).pathname;
const weights = loadSafetensors(fixture('squeezenet1_0_10.safetensors'));
setNumThreads(1);

function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let err = 0, scale = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return err / scale;
}

function model(dtype: 'float32' | 'float64'): SqueezeNet {
  const m = new SqueezeNet({ version: '1.0', numClasses: 10, dtype }).eval();
  m.loadStateDict(weights);
  return m;
}

function grads(io: Record<string, Tensor>, backend: GemmBackend, dtype: 'float32' | 'float64' = 'float32'): Record<string, Tensor> {
  setGemmBackend(backend);
  const m = model(dtype);
  crossEntropy(m.forward(io.input.to(dtype)), io.labels.data as Int32Array).backward();
  return Object.fromEntries([...m.namedParameters()].map(([k, p]) => [k, p.grad!]));
}

/** features.0's dW in float32 from x and the float64 network's dY at features.0's output. */
// The fused multiply-add kernel where the runtime has it, else the plain one again.
const FMA: GemmBackend = wasmFmaAvailable() ? 'wasm-fma' : 'wasm-simd';

function convDw(io: Record<string, Tensor>, backend: GemmBackend): Tensor {
  const m = model('float64');
  const stem = m.features.at(0) as Conv2d;
  const y = conv2d(io.input.to('float64'), stem.weight, stem.bias, { stride: 2 }).detach().requiresGrad_(true);
  let h = y;
  for (let i = 1; i < m.features.length; i++) h = m.features.at(i).forward(h);
  crossEntropy(m.classifier.forward(h).flatten(1), io.labels.data as Int32Array).backward();
  setGemmBackend(backend);
  const w = stem.weight.detach().to('float32').requiresGrad_(true);
  conv2d(io.input, w, null, { stride: 2 }).backward(y.grad!.to('float32'));
  return w.grad!;
}

for (const file of ['squeezenet1_0_10_io.safetensors', 'squeezenet1_0_10_227_grads.safetensors']) {
  const { tensors: io, metadata } = readSafetensors(fixture(file));
  // The 224 file holds PyTorch's float32 gradients; the 227 file only its error, in the metadata.
  const torch32 = (k: string) => io[`grad32.${k}`] ? relErr(io[`grad32.${k}`].data, io[`grad64.${k}`].data) : Number(metadata.torchRelErr32);
  const wasm = grads(io, 'wasm-simd'), fma = grads(io, FMA), js = grads(io, 'js');
  console.log(`${file} (input ${io.input.shape.join('×')}): whole network`);
  for (const key of Object.keys(io).filter((k) => k.startsWith('grad64.')).map((k) => k.slice(7))) {
    const want = io[`grad64.${key}`].data;
    console.log(`  ${key.padEnd(28)} wasm ${relErr(wasm[key].data, want).toExponential(2)}  ${FMA} ${relErr(fma[key].data, want).toExponential(2)}  js ${relErr(js[key].data, want).toExponential(2)}  torch f32 ${torch32(key).toExponential(2)}`);
  }
  if (metadata.torchConvDwRelErr32) {
    console.log(`  (PyTorch float32 flipped ${metadata.poolFlips32} max-pool and ${metadata.reluFlips32} ReLU decisions of float64's;`
      + ` its error is over 1e-5 on ${metadata['torchRelErr32Over1e-5']})`);
    const want = io['grad64.features.0.weight'].data;
    console.log(`  features.0 dW alone          wasm ${relErr(convDw(io, 'wasm-simd').data, want).toExponential(2)}  ${FMA} ${relErr(convDw(io, FMA).data, want).toExponential(2)}  js ${relErr(convDw(io, 'js').data, want).toExponential(2)}  torch f32 ${Number(metadata.torchConvDwRelErr32).toExponential(2)}`);
  }
}

const inputs = Number(process.argv[2] ?? 0);
if (inputs > 0) console.log(`features.0.weight, whole network, on ${inputs} seeded 1×3×227×227 inputs:`);
for (let s = 1; s <= inputs; s++) {
  manualSeed(s);
  const io = { input: randn([1, 3, 227, 227], { dtype: 'float32' }), labels: new Tensor(new Int32Array([3]), [1]) };
  const key = 'features.0.weight', want = grads(io, 'auto', 'float64')[key].data;
  console.log(`  seed ${String(s).padStart(2)}  wasm ${relErr(grads(io, 'wasm-simd')[key].data, want).toExponential(2)}  js ${relErr(grads(io, 'js')[key].data, want).toExponential(2)}`);
}
