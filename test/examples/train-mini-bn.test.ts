// `pnpm train --model mini-bn`: the checkpoint carries the BatchNorm2d running statistics, so a reloaded
// model evaluates to the run's own test accuracy, and a run stopped by a signal mid-epoch and resumed
// ends with exactly the weights and buffers of an uninterrupted run.
import { spawnSync } from 'node:child_process';
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
/** Runs the training CLI; stdout, and the exit status when it is not 0 (`expectCode`, default 0). */
function train(args: string[], opts: { env?: Record<string, string>; expectCode?: number } = {}): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'examples/train-fashion-mnist.ts', '--quiet', ...args],
    { cwd: root, encoding: 'utf8', env: { ...process.env, ...opts.env } });
  expect(r.status, r.stderr).toBe(opts.expectCode ?? 0);
  return r.stdout;
}
const common = ['--model', 'mini-bn', '--limit', '200', '--test-limit', '100', '--batch-size', '32', '--seed', '3'];

describe('pnpm train --model mini-bn', () => {
  const straight = mkdtempSync(join(tmpdir(), 'firegrad-bn-straight-'));

  it('checkpoints the running statistics, and the reloaded model reproduces the test accuracy in eval mode', () => {
    expect(train([...common, '--epochs', '2', '--out', straight])).toMatch(/model: mini-bn \(146,378 parameters\)/);
    const ck = readCheckpoint<Settings>(join(straight, 'checkpoint.safetensors'));
    // 2 epochs of ceil(200 / 32) = 7 steps: every norm has seen 14 batches and moved off its initial 0 / 1
    expect(ck.model['features.1.num_batches_tracked'].item()).toBe(14);
    expect(ck.model['features.8.expand3x3Bn.num_batches_tracked'].item()).toBe(14);
    expect(Math.max(...ck.model['features.4.squeezeBn.running_mean'].data.map(Math.abs))).toBeGreaterThan(0);
    expect([...ck.model['features.4.squeezeBn.running_var'].data].some((v) => v !== 1)).toBe(true);
    const metrics = JSON.parse(readFileSync(join(straight, 'metrics.json'), 'utf8'));
    const model = buildModel(ck.run.settings, new Generator(123));
    model.loadStateDict(ck.model);
    const test = subset(loadFashionMnist().test, ck.run.settings.testLimit, ck.run.settings.seed + 1);
    expect(evaluate(model, test).accuracy).toBe(metrics.testAccuracy);
  }, 300_000);

  it('stopped by SIGINT mid-epoch and resumed: the same weights and buffers as the straight run', () => {
    const straightSd = loadSafetensors(join(straight, 'checkpoint.safetensors'));
    const signalled = mkdtempSync(join(tmpdir(), 'firegrad-bn-signal-'));
    // the run sends itself SIGINT after global step 10 (epoch 2, step 3) and exits 130
    expect(train([...common, '--epochs', '2', '--out', signalled], { env: { FIREGRAD_TRAIN_TEST_SIGNAL: 'SIGINT@10' }, expectCode: 130 }))
      .toMatch(/SIGINT: saved the run at step 3\/7 of epoch 2/);
    train(['--resume', signalled]);
    const resumed = loadSafetensors(join(signalled, 'checkpoint.safetensors'));
    expect(Object.keys(resumed)).toEqual(Object.keys(straightSd));
    expect(Object.keys(resumed)).toContain('model.features.7.expand1x1Bn.running_var');
    for (const k of Object.keys(straightSd)) expect(Buffer.from(resumed[k].data.buffer).equals(Buffer.from(straightSd[k].data.buffer)), k).toBe(true);
  }, 300_000);
});
