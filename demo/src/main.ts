// The demo page: controls, live chart and numbers from the training worker, the drawing pad with
// its top-5 predictions, and the confusion matrix at the end. All compute happens in the worker.
import { TrainingChart } from './chart';
import { DrawingPad } from './pad';
import type { BackendOption, FromWorker, ToWorker, TrainSettings } from './protocol';
import { CLASS_NAMES, renderConfusion, renderTop5 } from './results';
import { ASSET_FILE } from './asset';
import './style.css';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const worker = new Worker(new URL('./train-worker.ts', import.meta.url), { type: 'module' });
const send = (m: ToWorker, transfer: Transferable[] = []) => worker.postMessage(m, transfer);
const chart = new TrainingChart($('chart'));
const pad = new DrawingPad($<HTMLCanvasElement>('pad'), () => predict());
const backendSelect = $<HTMLSelectElement>('backend');
let predictionId = 0;
let sampleIndex = 0;
let smoothLoss = NaN, smoothAcc = NaN, smoothSpeed = NaN;

for (const n of [1, 2, 4, 8].filter((n) => n === 1 || n <= navigator.hardwareConcurrency)) {
  $<HTMLSelectElement>('threads').append(new Option(String(n), String(n), false, n === Math.min(4, navigator.hardwareConcurrency)));
}

const setState = (text: string) => { $('state').textContent = text; };
const busy = (running: boolean) => {
  $<HTMLButtonElement>('train').disabled = running;
  $<HTMLButtonElement>('stop').disabled = !running;
  $<HTMLInputElement>('checkpoint').disabled = running;
};

function predict(): void {
  send({ type: 'predict', id: ++predictionId, pixels: pad.pixels() });
}

const number = (id: string) => Number($<HTMLInputElement>(id).value);

$('train').addEventListener('click', () => {
  const settings: TrainSettings = {
    backend: backendSelect.value as BackendOption, threads: number('threads'), batchSize: number('batch'),
    epochs: number('epochs'), maxSteps: number('max-steps'), lr: number('lr'),
  };
  chart.reset();
  smoothLoss = smoothAcc = smoothSpeed = NaN;
  $('confusion-table').replaceChildren();
  $('test-accuracy').textContent = '–';
  $('run-info').textContent = '–';
  delete $('step').dataset.step;
  delete $('test-accuracy').dataset.final;
  busy(true);
  send({ type: 'train', settings });
});
$('stop').addEventListener('click', () => { send({ type: 'stop' }); setState('stopping after this step…'); });
$('clear').addEventListener('click', () => { pad.clear(); predict(); });
$('sample').addEventListener('click', () => send({ type: 'sample', index: sampleIndex++ * 97 }));
$<HTMLInputElement>('checkpoint').addEventListener('change', (e) => {
  const file = (e.target as HTMLInputElement).files?.[0];
  if (!file) return;
  setState(`loading ${file.name}…`);
  busy(true);
  $<HTMLButtonElement>('stop').disabled = true;
  file.arrayBuffer().then((bytes) => send({ type: 'load', name: file.name, bytes }, [bytes]), (err: Error) => setState(`error: ${err.message}`));
});

/** Exponential moving average (the first value starts it). */
const ema = (prev: number, x: number, k = 0.1) => (Number.isNaN(prev) ? x : prev + k * (x - prev));

worker.onmessage = (e: MessageEvent<FromWorker>) => {
  const m = e.data;
  switch (m.type) {
    case 'ready': {
      $('data-info').textContent = `${m.trainImages.toLocaleString('en-US')} train / ${m.testImages.toLocaleString('en-US')} test images, ` +
        `${m.parameters.toLocaleString('en-US')} parameters`;
      const notes: string[] = [];
      for (const option of backendSelect.options) {
        const why = m.backends[option.value as BackendOption];
        option.disabled = why !== null;
        if (why) notes.push(`${option.text}: ${why}`);
      }
      $('backend-note').textContent = notes.join(' · ');
      $<HTMLButtonElement>('train').disabled = false;
      setState(`ready (cross-origin isolated: ${crossOriginIsolated})`);
      predict();
      break;
    }
    case 'started': setState(`training ${m.totalSteps} steps…`); $('step').dataset.total = String(m.totalSteps); break;
    case 'info':
      $('run-info').textContent = `backend ${m.info.backend} (${m.info.detail}); ${m.info.threads}; ` +
        `crossOriginIsolated ${m.info.crossOriginIsolated}`;
      break;
    case 'progress':
      smoothLoss = ema(smoothLoss, m.loss);
      smoothAcc = ema(smoothAcc, m.accuracy);
      smoothSpeed = ema(smoothSpeed, m.imagesPerSecond);
      chart.addTrain(m.step, smoothLoss, smoothAcc);
      $('step').textContent = `${m.step} / ${$('step').dataset.total} (epoch ${m.epoch}), loss ${smoothLoss.toFixed(3)}`;
      $('speed').textContent = smoothSpeed.toFixed(1);
      Object.assign($('step').dataset, { step: String(m.step), loss: String(m.loss) }); // this step's own loss, unsmoothed
      break;
    case 'eval':
      chart.addTest(m.step, m.accuracy);
      $('test-accuracy').textContent = `${(100 * m.accuracy).toFixed(2)}% on ${m.images} images (step ${m.step})`;
      predict();
      break;
    case 'done':
      $('test-accuracy').textContent = `${(100 * m.accuracy).toFixed(2)}% on the test images`;
      $('test-accuracy').dataset.final = String(m.accuracy);
      renderConfusion($<HTMLTableElement>('confusion-table'), m.confusion);
      setState(m.step === 0 ? 'checkpoint evaluated' : `${m.stopped ? 'stopped' : 'done'} after ${m.step} steps, ${m.seconds.toFixed(1)} s`);
      busy(false);
      predict();
      break;
    case 'status': setState(m.text); break;
    case 'sample': pad.setPixels(m.pixels); $('sample').title = `test image ${m.index}: ${CLASS_NAMES[m.label]}`; break;
    case 'prediction':
      if (m.id !== predictionId) break; // a newer request is on its way
      renderTop5($('top5'), m.probabilities);
      $('top5').dataset.prediction = String(m.id);
      break;
    case 'error': setState(`error: ${m.message}`); busy(false); break;
  }
};
worker.onerror = (e) => setState(`worker error: ${e.message}`);
send({ type: 'init', dataUrl: new URL(ASSET_FILE, document.baseURI).href });
