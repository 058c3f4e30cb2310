// A user's browser app against the installed tarballs, bundled by consumer-test.sh with esbuild
// (--platform=browser, no aliases) and run in Chromium by browser-smoke.mjs: a small Fire net
// trained 20 steps on the page's thread, and its weights round-tripped through safetensors bytes.
import { Generator, noGrad, randn } from '@firegrad/core';
import { lastGemmPath } from '@firegrad/core/internal';
import { lastBackend, parallelInfo } from '@firegrad/ops';
import {
  AdaptiveAvgPool2d, Adam, Conv2d, Fire, Flatten, MaxPool2d, ReLU, Sequential, crossEntropy, parseSafetensors, serializeSafetensors,
} from '@firegrad/nn';

/** What the page saw; browser-smoke.mjs checks it. */
export function run() {
  const g = new Generator(0);
  const net = () => new Sequential(
    new Conv2d(1, 16, 3, { padding: 1, activation: 'relu', generator: g }), new MaxPool2d(2),
    new Fire(16, 8, 16, 16, { generator: g }), new Conv2d(32, 4, 1, { generator: g }), new ReLU(), new AdaptiveAvgPool2d(1), new Flatten(),
  );
  const model = net();
  const x = randn([16, 1, 16, 16], { generator: g });
  const labels = Int32Array.from({ length: 16 }, (_, i) => i % 4);
  const opt = new Adam(model.parameters(), { lr: 3e-3 });
  const losses = [];
  for (let step = 0; step < 20; step++) {
    const loss = crossEntropy(model.call(x), labels);
    loss.backward();
    opt.step();
    opt.zeroGrad();
    losses.push(loss.item());
  }
  const ran = { conv: lastBackend('fusedConv2d'), gemm: lastGemmPath() };

  const bytes = serializeSafetensors(model.stateDict(), { format: 'pt' });
  const parsed = parseSafetensors(bytes);
  const copy = net();
  copy.loadStateDict(parsed.tensors);
  const [a, b] = noGrad(() => [model.eval().call(x), copy.eval().call(x)]);
  const sameOutput = a.data.length > 0 && a.data.every((v, i) => Object.is(v, b.data[i]));
  return { isolated: globalThis.crossOriginIsolated, losses, ran, threads: parallelInfo().threads, bytes: bytes.length, keys: Object.keys(parsed.tensors).length, metadata: parsed.metadata, sameOutput };
}
