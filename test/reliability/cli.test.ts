// The CLIs' contract: bad input is refused with a message naming the flag, before any work and
// before any output folder exists; nothing a user has is lost (an existing run is not overwritten,
// Ctrl-C / SIGTERM save a checkpoint that resumes bit for bit). The scripts run as child processes.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { getBackend, withBackend } from '@firegrad/ops';
import { loadSafetensors } from '@firegrad/nn';
import { readCheckpoint } from '../../examples/lib/checkpoint';

const root = new URL('../../', import.meta.url).pathname;
// an absolute loader, so that scripts can run with another working directory
const TSX = pathToFileURL(join(root, 'node_modules/tsx/dist/loader.mjs')).href;

interface Result { code: number | null; stdout: string; stderr: string }

/** Runs a script to its end; `until`, when given, kills it (SIGKILL) once its stdout matches. */
function run(script: string, args: string[], opts: { cwd?: string; env?: Record<string, string>; until?: RegExp } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, join(root, script), ...args],
      { cwd: opts.cwd ?? root, env: { ...process.env, ...opts.env } });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; if (opts.until?.test(stdout)) child.kill('SIGKILL'); });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
const train = (args: string[], opts: Parameters<typeof run>[2] = {}) => run('examples/train-fashion-mnist.ts', ['--quiet', ...args], opts);
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `firegrad-cli-${name}-`));
const SMALL = ['--limit', '200', '--test-limit', '100', '--batch-size', '16'];

/** One finished 1-epoch run, trained once for the tests that need one: an --overwrite onto an earlier run's folder. */
let finished: Promise<{ dir: string; result: Result }> | null = null;
function finishedRun() {
  finished ??= (async () => {
    const dir = tmp('existing');
    writeFileSync(join(dir, 'checkpoint.safetensors'), 'an earlier run');
    writeFileSync(join(dir, 'metrics.json'), '{"earlier": true}');
    const refused = await train([...SMALL, '--out', dir]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/--out .* already holds a run \(checkpoint\.safetensors, metrics\.json\).*--resume.*--overwrite/);
    expect(readFileSync(join(dir, 'checkpoint.safetensors'), 'utf8')).toBe('an earlier run');
    expect(readFileSync(join(dir, 'metrics.json'), 'utf8')).toBe('{"earlier": true}');
    return { dir, result: await train([...SMALL, '--out', dir, '--overwrite']) };
  })();
  return finished;
}

/** Every tensor of two checkpoints, compared bit for bit. */
function expectSameCheckpoint(a: string, b: string): void {
  const ta = loadSafetensors(join(a, 'checkpoint.safetensors')), tb = loadSafetensors(join(b, 'checkpoint.safetensors'));
  expect(Object.keys(tb)).toEqual(Object.keys(ta));
  for (const k of Object.keys(ta)) expect(Buffer.from(tb[k].data.buffer).equals(Buffer.from(ta[k].data.buffer)), k).toBe(true);
}

describe('pnpm train: bad input -> a message naming the flag, before any work', () => {
  it('refuses bad flag values at once, and leaves no runs/<timestamp> folder behind', async () => {
    const cases: [string[], RegExp][] = [
      [['--batch-size', '0'], /--batch-size must be a positive integer/],
      [['--epochs', '0'], /--epochs must be a positive integer/],
      [['--seed', '1.5'], /--seed must be a non-negative integer/],
      [['--weight-decay', 'abc'], /--weight-decay must be a non-negative number/],
      [['--epochs', '2', '--stop-after', '2'], /--stop-after 2 must be below --epochs \(2\)/],
    ];
    const cwd = tmp('cwd');
    const results = await Promise.all(cases.map(([args]) => train([...args, ...SMALL], { cwd })));
    results.forEach((r, i) => {
      expect(r.code, cases[i][0].join(' ')).toBe(1);
      expect(r.stderr).toMatch(cases[i][1]);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(r.stdout).not.toMatch(/^data:/m); // failed before loading anything
    });
    expect(existsSync(join(cwd, 'runs'))).toBe(false);
  });

  it('--out onto an existing run is refused and the run is untouched; --overwrite replaces it', async () => {
    const { dir, result } = await finishedRun();
    expect(result.code, result.stderr).toBe(0);
    expect(readCheckpoint(join(dir, 'checkpoint.safetensors')).run.epoch).toBe(1);
    // one evaluation serves the last epoch's record and the final report
    const metrics = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8'));
    expect(metrics.testAccuracy).toBe(metrics.history.at(-1).testAccuracy);
    expect(metrics.testLoss).toBe(metrics.history.at(-1).testLoss);
  });

  it('--resume refuses the flags it takes from the checkpoint, and a finished run says so', async () => {
    const { dir } = await finishedRun();
    const before = readFileSync(join(dir, 'checkpoint.safetensors'));
    const [conflict, finished] = await Promise.all([
      train(['--resume', dir, '--lr', '0.1', '--model', 'squeezenet1_1', '--epochs', '2']),
      train(['--resume', dir]),
    ]);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toMatch(/--resume continues the run with the settings in its checkpoint; drop --model, --lr \(only --epochs, --stop-after, --quiet/);
    expect(finished.code).toBe(1);
    expect(finished.stderr).toMatch(/nothing to do: .* already finished 1 epoch \(raise --epochs to continue\)/);
    expect(readFileSync(join(dir, 'checkpoint.safetensors')).equals(before)).toBe(true);

    // the same folder serves predict, as --resume does (this used to be EISDIR)
    const predicted = await run('examples/predict.ts', [dir, '--index', '0']);
    expect(predicted.code, predicted.stderr).toBe(0);
    expect(predicted.stdout).toMatch(/^test image 0 \(true class: /);
  });

  it('--backend gpujs without a hardware GPU warns once, with the reason', async () => {
    const r = await train([...SMALL, '--backend', 'gpujs', '--out', join(tmp('gpujs'), 'run')], { until: /^model: /m });
    const warnings = r.stderr.match(/warning: --backend gpujs runs about 30× slower than --backend cpu on this machine: no hardware GPU/g) ?? [];
    // on a machine where 'auto' picks gpujs there is nothing to warn about
    expect(warnings.length).toBe(withBackend('auto', getBackend) === 'cpu' ? 1 : 0);
  });
});

describe('pnpm train: a signal saves the run at the next step, and --resume continues it bit for bit', () => {
  // augmentation and dropout draw from the generator every step, so its state must be saved mid-epoch too
  const common = ['--limit', '100', '--test-limit', '50', '--batch-size', '20', '--epochs', '2', '--augment', '--seed', '5'];
  let straight: Promise<string> | null = null;
  const uninterrupted = () => straight ??= (async () => {
    const dir = tmp('straight');
    const r = await train([...common, '--out', dir]);
    expect(r.code, r.stderr).toBe(0);
    return dir;
  })();

  it.each([
    ['SIGINT', 2, 130], // inside epoch 1 (5 steps an epoch)
    ['SIGTERM', 7, 143], // inside epoch 2
  ] as const)('%s after step %i: exit %i, then resume = an uninterrupted run', async (signal, step, code) => {
    const stopped = tmp('stopped');
    const [straightDir, b] = await Promise.all([
      uninterrupted(),
      train([...common, '--out', stopped], { env: { FIREGRAD_TRAIN_TEST_SIGNAL: `${signal}@${step}` } }),
    ]);
    expect(b.code, b.stderr).toBe(code);
    expect(b.stdout).toMatch(new RegExp(`${signal}: saved the run at step \\d+/5 of epoch ${step < 5 ? 1 : 2} .*pnpm train --resume`));
    expect(readdirSync(stopped)).toEqual(['checkpoint.safetensors']);
    expect(readCheckpoint(join(stopped, 'checkpoint.safetensors')).run.progress?.step).toBeGreaterThan(0);

    const resumed = await train(['--resume', stopped]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/resuming .* at step \d+\/5 of epoch/);
    expectSameCheckpoint(straightDir, stopped);
    const [ma, mb] = [straightDir, stopped].map((d) => JSON.parse(readFileSync(join(d, 'metrics.json'), 'utf8')));
    for (const k of ['trainLoss', 'trainAccuracy', 'testLoss', 'testAccuracy'] as const) expect(mb[k], k).toBe(ma[k]);
  });
});

describe('pnpm predict: clear messages, one prefix', () => {
  it('names a missing checkpoint, a non-PNG and a damaged PNG; refuses --index with --image', async () => {
    const dir = tmp('predict');
    const runDir = (await finishedRun()).dir;
    const notPng = join(dir, 'notes.png'), damaged = join(dir, 'cut.png');
    writeFileSync(notPng, 'hello');
    writeFileSync(damaged, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13])); // signature, then cut off
    const cases: [string[], RegExp][] = [
      [[join(dir, 'missing'), '--index', '0'], /^predict: \S*missing does not exist \(give a run folder or its checkpoint\.safetensors\)\n$/],
      [[runDir, '--index', '0', '--image', notPng], /^predict: give --index or --image, not both\n$/],
      [[runDir, '--image', notPng], /^predict: \S*notes\.png is not a PNG image\n$/],
      [[runDir, '--image', damaged], /^predict: \S*cut\.png is a damaged PNG image \(.*\)\n$/],
    ];
    const results = await Promise.all(cases.map(([args]) => run('examples/predict.ts', args)));
    results.forEach((r, i) => {
      expect(r.code, cases[i][0].join(' ')).toBe(1);
      expect(r.stderr).toMatch(cases[i][1]);
    });
  });
});

describe('bench scripts: --help and flag validation', () => {
  const scripts = ['all', 'matmul', 'conv', 'memory', 'gemm-kernel', 'profile-step', 'threads', 'browser/run'];

  it('every script prints usage for --help and exits 0 without benchmarking', async () => {
    const results = await Promise.all(scripts.map((s) => run(`bench/${s}.ts`, ['--help'])));
    results.forEach((r, i) => {
      expect(r.code, `${scripts[i]}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/^Usage: /);
      expect(r.stdout).not.toMatch(/median|thread\(s\)|NaN/); // what each benchmark prints first
      expect(r.stderr).toBe('');
    });
  });

  it('bad values are refused with the flag named', async () => {
    const cases: [string, string[], RegExp][] = [
      ['all', ['--only', 'W9'], /unknown workload 'W9'/],
      ['conv', ['--shapes', '7'], /--shapes: '7' is not a shape index in \[0, 4\)/],
      ['memory', ['abc'], /steps must be an integer >= 1/],
      ['threads', ['--threads', '1'], /--threads must be an integer >= 2/],
      ['browser/run', ['--only', 'tfjs-wasm'], /--only: unknown cell 'tfjs-wasm'/],
      ['browser/run', ['--chromium', '/nonexistent/chromium'], /no Chromium at \/nonexistent\/chromium/],
    ];
    const results = await Promise.all(cases.map(([s, args]) => run(`bench/${s}.ts`, args)));
    results.forEach((r, i) => {
      expect(r.code, cases[i].join(' ')).toBe(1);
      expect(r.stderr).toMatch(cases[i][2]);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
  });
});
