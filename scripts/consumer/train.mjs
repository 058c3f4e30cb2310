// A user's plain-Node ESM script (no tsx, no flags) against the installed tarballs: a small Fire
// net trained 20 steps on 2 worker threads, saved and reloaded as safetensors. Exits non-zero when
// anything a user relies on does not hold.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator, randn, noGrad } from '@firegrad/core';
import { parallelInfo, setNumThreads } from '@firegrad/ops';
import {
  AdaptiveAvgPool2d, Adam, Conv2d, Fire, Flatten, MaxPool2d, ReLU, Sequential, crossEntropy, loadSafetensors, saveSafetensors,
} from '@firegrad/nn';

setNumThreads(2);
const g = new Generator(0);
const net = () => new Sequential(
  new Conv2d(1, 32, 3, { padding: 1, generator: g }), new ReLU(), new MaxPool2d(2),
  new Fire(32, 16, 32, 32, { generator: g }), new Conv2d(64, 4, 1, { generator: g }), new AdaptiveAvgPool2d(1), new Flatten(),
);
const model = net();
const x = randn([32, 1, 28, 28], { generator: g });
const labels = Int32Array.from({ length: 32 }, (_, i) => i % 4);
const opt = new Adam(model.parameters(), { lr: 3e-3 });
const losses = [];
for (let step = 0; step < 20; step++) {
  const loss = crossEntropy(model.call(x), labels);
  loss.backward();
  opt.step();
  opt.zeroGrad();
  losses.push(loss.item());
}
const info = parallelInfo();
assert.equal(info.threads, 2, `the worker pool did not start: ${info.reason}`);
assert.ok(info.jobs > 0, 'no conv job ran on the worker threads');
assert.ok(losses[19] < losses[0], `loss did not go down: ${losses[0]} -> ${losses[19]}`);

const file = join(mkdtempSync(join(tmpdir(), 'firegrad-consumer-')), 'net.safetensors');
saveSafetensors(file, model.stateDict());
const copy = net();
copy.loadStateDict(loadSafetensors(file));
const [a, b] = noGrad(() => [model.eval().call(x), copy.eval().call(x)]);
assert.deepEqual(Array.from(b.data), Array.from(a.data), 'the reloaded model computes something else');
console.log(`consumer: 20 steps on ${info.threads} threads (${info.jobs} split jobs), loss ${losses[0].toFixed(4)} -> ${losses[19].toFixed(4)}, safetensors round trip ok`);
