// Writes test/fixtures/nn/firegrad-saved.safetensors, a file saved by firegrad that
// scripts/make-fixtures.py reads back with PyTorch (and test/nn/safetensors.test.ts pins), and the
// BatchNorm2d state dict of test/nn/batchnorm-saved.ts with its _io file (pinned by test/nn/normalization.test.ts).
// Run: npx tsx scripts/write-roundtrip-fixture.ts
import { fileURLToPath } from 'node:url';
import { Tensor } from '@firegrad/core';
import { saveSafetensors } from '../packages/nn/src/safetensors';
import { firegradBatchNorm } from '../test/nn/batchnorm-saved';

const out = fileURLToPath(new URL('../test/fixtures/nn/firegrad-saved.safetensors', import.meta.url));
saveSafetensors(out, {
  a: new Tensor(Float32Array.from([0, 1, 2, 3, 4, 5]), [2, 3]),
  b: new Tensor(Float64Array.from([0.5, -1.25, 3e-8, 1e300]), [4]),
  c: new Tensor(Int32Array.from([1, -2, 3, -4]), [2, 2]),
  empty: new Tensor(new Float32Array(0), [0, 3]),
}, { format: 'pt', note: 'firegrad round trip' });
console.log(`wrote ${out}`);
const bn = firegradBatchNorm();
for (const [suffix, tensors] of [['', bn.state], ['_io', bn.io]] as const) {
  const path = fileURLToPath(new URL(`../test/fixtures/nn/firegrad-batchnorm2d${suffix}.safetensors`, import.meta.url));
  saveSafetensors(path, tensors, { format: 'pt' });
  console.log(`wrote ${path}`);
}
