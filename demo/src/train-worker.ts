// The training worker: owns the data, the model and the optimizer, so the page stays responsive and
// Atomics.wait (the cpu backend's thread pool) is legal. Same recipe as `pnpm train` for SqueezeNetMini
// (Adam, cosine-annealed lr, seeded init and shuffle, normalisation), so checkpoints move both ways.
import { Generator, noGrad, type Tensor } from '@firegrad/core';
import { Adam, CosineAnnealingLR, SqueezeNetMini, crossEntropy, parseSafetensors } from '@firegrad/nn';
import { decodeAsset, type Split } from './asset';
import { backendAvailability, runInfo, useBackend } from './backend';
import { imageTensor, makeBatch } from './batches';
import type { FromWorker, ToWorker, TrainSettings } from './protocol';

const SEED = 1;
const QUICK_EVALS = 8; // test-accuracy points on the chart per run, at least 25 steps apart
const QUICK_EVAL_STRIDE = 10; // every 10th test image: 200 images, all classes (the test subset is sorted by class)

const post = (m: FromWorker) => postMessage(m);
let data: ReturnType<typeof decodeAsset>;
let model = new SqueezeNetMini({ generator: new Generator(SEED) });
let training = false;
let stopRequested = false;

async function init(url: string): Promise<void> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`fetching ${url}: HTTP ${response.status} (run pnpm demo, which builds the data asset)`);
  data = decodeAsset(new Uint8Array(await response.arrayBuffer()));
  post({ type: 'ready', parameters: model.numParameters(), trainImages: data.train.length, testImages: data.test.length, backends: backendAvailability() });
}

onmessage = (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  try {
    if (m.type === 'init') void init(m.dataUrl).catch(fail);
    else if (m.type === 'stop') stopRequested = true;
    else if (m.type === 'sample') post(sample(m.index));
    else if (m.type === 'predict') post({ type: 'prediction', id: m.id, probabilities: predict(m.pixels) });
    else if (m.type === 'load') load(m.name, m.bytes);
    else if (!training) void train(m.settings).catch(fail);
  } catch (err) {
    fail(err);
  }
};

function fail(err: unknown): void {
  training = false;
  post({ type: 'error', message: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
}

/** A macrotask turn, so that 'stop' and 'predict' messages are handled between steps. */
const yieldToEvents = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

async function train(s: TrainSettings): Promise<void> {
  training = true;
  stopRequested = false;
  await useBackend(s.backend, s.threads);
  const gen = new Generator(SEED);
  model = new SqueezeNetMini({ generator: gen });
  const optimizer = new Adam(model.parameters(), { lr: s.lr });
  const stepsPerEpoch = Math.ceil(data.train.length / s.batchSize);
  const totalSteps = s.maxSteps > 0 ? Math.min(s.maxSteps, s.epochs * stepsPerEpoch) : s.epochs * stepsPerEpoch;
  const scheduler = new CosineAnnealingLR(optimizer, { tMax: totalSteps });
  post({ type: 'started', totalSteps });
  const evalEvery = Math.max(25, Math.ceil(totalSteps / QUICK_EVALS));
  const started = performance.now();
  let step = 0;
  for (let epoch = 1; step < totalSteps && !stopRequested; epoch++) {
    const order = shuffled(data.train.length, gen);
    for (let b = 0; b < order.length && step < totalSteps && !stopRequested; b += s.batchSize) {
      const t0 = performance.now();
      model.train();
      const [x, y] = makeBatch(data.train, order.subarray(b, b + s.batchSize));
      const logits = model.call(x);
      const loss = crossEntropy(logits, y);
      loss.backward();
      optimizer.step();
      optimizer.zeroGrad();
      scheduler.step();
      step++;
      const seconds = (performance.now() - t0) / 1000;
      post({ type: 'progress', step, epoch, loss: loss.item(), accuracy: countCorrect(logits, y) / y.length, imagesPerSecond: y.length / seconds });
      if (step === 1) post({ type: 'info', info: runInfo() });
      if (step % evalEvery === 0 && step < totalSteps) {
        const quick = evaluate(strided(data.test, QUICK_EVAL_STRIDE));
        post({ type: 'eval', step, accuracy: quick.accuracy, loss: quick.loss, images: quick.images });
      }
      await yieldToEvents();
    }
  }
  post({ type: 'status', text: `evaluating on the ${data.test.length.toLocaleString('en-US')} test images…` });
  const final = evaluate(data.test);
  post({ type: 'eval', step, accuracy: final.accuracy, loss: final.loss, images: final.images });
  post({ type: 'done', step, stopped: stopRequested, accuracy: final.accuracy, loss: final.loss, confusion: final.confusion,
    seconds: (performance.now() - started) / 1000 });
  training = false;
}

function shuffled(n: number, gen: Generator): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) { const j = gen.randint(0, i + 1); [order[i], order[j]] = [order[j], order[i]]; }
  return order;
}

function strided(split: Split, stride: number): Split {
  const idx = Array.from({ length: Math.ceil(split.length / stride) }, (_, k) => k * stride);
  const images = new Uint8Array(idx.length * 784);
  idx.forEach((i, k) => images.set(split.images.subarray(i * 784, (i + 1) * 784), k * 784));
  return { images, labels: Int32Array.from(idx, (i) => split.labels[i]), length: idx.length };
}

function countCorrect(logits: Tensor, labels: Int32Array): number {
  const pred = logits.argmax(1).data;
  return labels.reduce((n, l, i) => n + (pred[i] === l ? 1 : 0), 0);
}

/** Loss, accuracy and confusion matrix (rows: true class) on a split, in eval mode. */
function evaluate(split: Split, batchSize = 250) {
  model.eval();
  const confusion = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
  let lossSum = 0, correct = 0;
  noGrad(() => {
    for (let b = 0; b < split.length; b += batchSize) {
      const [x, y] = makeBatch(split, Int32Array.from({ length: Math.min(batchSize, split.length - b) }, (_, i) => b + i));
      const logits = model.call(x);
      lossSum += crossEntropy(logits, y, { reduction: 'sum' }).item();
      const pred = logits.argmax(1).data;
      y.forEach((label, i) => { confusion[label][pred[i]]++; if (pred[i] === label) correct++; });
    }
  });
  return { loss: lossSum / split.length, accuracy: correct / split.length, confusion, images: split.length };
}

/** Test image `index` (wrapped) as 0..1 intensities, for the drawing pad. */
function sample(index: number): FromWorker {
  const i = ((index % data.test.length) + data.test.length) % data.test.length;
  const pixels = Float32Array.from(data.test.images.subarray(i * 784, (i + 1) * 784), (v) => v / 255);
  return { type: 'sample', index: i, label: data.test.labels[i], pixels };
}

function predict(pixels: Float32Array): number[] {
  model.eval();
  return noGrad(() => Array.from(model.call(imageTensor(pixels)).softmax(1).data));
}

/** A `pnpm train` checkpoint (weights under 'model.', optimizer slots ignored) or a bare SqueezeNetMini state dict. */
function load(name: string, bytes: ArrayBuffer): void {
  if (training) throw new Error('stop the training before loading a checkpoint');
  const { tensors, metadata } = parseSafetensors(new Uint8Array(bytes), name);
  const run = metadata.run ? JSON.parse(metadata.run) as { settings?: { model?: string } } : null;
  if (run?.settings?.model && run.settings.model !== 'mini') {
    throw new Error(`${name}: a checkpoint of '${run.settings.model}'; the demo runs SqueezeNetMini (pnpm train --model mini)`);
  }
  const isCheckpoint = Object.keys(tensors).some((k) => k.startsWith('model.'));
  const weights = Object.fromEntries(Object.entries(tensors).filter(([k]) => !isCheckpoint || k.startsWith('model.'))
    .map(([k, t]) => [isCheckpoint ? k.slice('model.'.length) : k, t]));
  model.loadStateDict(weights);
  post({ type: 'status', text: `loaded ${Object.keys(weights).length} tensors from ${name}; evaluating…` });
  const result = evaluate(data.test);
  post({ type: 'done', step: 0, stopped: false, accuracy: result.accuracy, loss: result.loss, confusion: result.confusion, seconds: 0 });
}
