// The training example end to end, as CI's smoke test: it learns (well above chance on 2,000
// images, one epoch), its checkpoint reloads to the same test accuracy, and a run stopped after
// epoch 1 and resumed ends with exactly the weights of an uninterrupted run.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Generator } from '@firegrad/core';
import { loadSafetensors } from '@firegrad/nn';
import { loadFashionMnist } from '../../examples/lib/fashion-mnist';
import { readCheckpoint } from '../../examples/lib/checkpoint';
import { buildModel, evaluate, subset, type Settings } from '../../examples/train-fashion-mnist';

const root = new URL('../../', import.meta.url).pathname;
function train(args: string[]): string {
  return execFileSync(process.execPath, ['--import', 'tsx', 'examples/train-fashion-mnist.ts', '--quiet', ...args], { cwd: root, encoding: 'utf8' });
}

describe('pnpm train (smoke)', () => {
  it('learns Fashion-MNIST from 2,000 images in one epoch, and its checkpoint reproduces the test accuracy', () => {
    const out = mkdtempSync(join(tmpdir(), 'firegrad-train-'));
    // 2,000 images in one epoch land at 50–63% test accuracy across seeds, in PyTorch and here alike (the
    // net has no batch norm and starts slowly); small batches give the most steps for the data
    const log = train(['--limit', '2000', '--epochs', '1', '--test-limit', '2000', '--batch-size', '8', '--lr', '0.0015', '--seed', '2', '--out', out]);
    expect(log).toMatch(/test accuracy/);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(metrics.testAccuracy).toBeGreaterThanOrEqual(0.5); // chance is 0.1
    // the summary states wall time by phase and peak RSS, and metrics.json keeps them
    expect(log).toMatch(/wall time: .*training .*evaluation .*peak RSS \d+ MB/);
    expect(metrics.peakRssMB).toBeGreaterThan(50);
    expect(metrics.wallSeconds).toBeGreaterThan(metrics.timing.trainSeconds + metrics.timing.evalSeconds);
    for (const f of ['loss.png', 'accuracy.png', 'confusion.png', 'predictions.png', 'checkpoint.safetensors']) {
      expect(readFileSync(join(out, f)).length, f).toBeGreaterThan(0);
    }
    const ck = readCheckpoint<Settings>(join(out, 'checkpoint.safetensors'));
    const model = buildModel(ck.run.settings, new Generator(123));
    model.loadStateDict(ck.model);
    const test = subset(loadFashionMnist().test, ck.run.settings.testLimit, ck.run.settings.seed + 1);
    expect(evaluate(model, test).accuracy).toBe(metrics.testAccuracy);
  }, 300_000);

  it('resume after epoch 1 ends with exactly the weights of an uninterrupted 2-epoch run', () => {
    const common = ['--limit', '300', '--test-limit', '100', '--batch-size', '32', '--seed', '7'];
    const straight = mkdtempSync(join(tmpdir(), 'firegrad-straight-'));
    train([...common, '--epochs', '2', '--out', straight]);
    // the same 2-epoch plan (so the same cosine schedule), stopped after epoch 1, then resumed
    const planned = mkdtempSync(join(tmpdir(), 'firegrad-planned-'));
    expect(train([...common, '--epochs', '2', '--stop-after', '1', '--out', planned])).toMatch(/stopped after epoch 1/);
    train(['--resume', planned]);
    const a = loadSafetensors(join(straight, 'checkpoint.safetensors'));
    const b = loadSafetensors(join(planned, 'checkpoint.safetensors'));
    expect(Object.keys(b)).toEqual(Object.keys(a));
    for (const k of Object.keys(a)) expect(Buffer.from(b[k].data.buffer).equals(Buffer.from(a[k].data.buffer)), k).toBe(true);
  }, 300_000);

  it('a corrupt checkpoint gives a clear error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'firegrad-bad-'));
    execFileSync('bash', ['-c', `printf 'garbage' > ${join(dir, 'checkpoint.safetensors')}`]);
    expect(() => train(['--resume', dir])).toThrow(/safetensors: .*checkpoint\.safetensors/);
  });
});
