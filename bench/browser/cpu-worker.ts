// A dedicated Worker that trains with firegrad's cpu backend: the pool of cpu threads blocks in
// Atomics.wait, which a page's main thread may not do, so the cpu cells run here (one worker per
// thread count, each keeping its model between rounds). It checks that what it was asked for ran.
import { initThreads, lastBackend, parallelInfo, setBackend, setNumThreads } from '@firegrad/ops';
import type { FromWorker, ToWorker } from './protocol';
import { firegradStep, timeSteps } from './train-step';

let step: (() => number) | null = null;
let threads = 1;

async function handle(msg: ToWorker): Promise<FromWorker> {
  if (msg.kind === 'init') {
    threads = msg.threads;
    setBackend('cpu');
    setNumThreads(threads);
    const info = await initThreads(); // the pool's Workers start only while this thread is not blocked
    if (info.threads !== threads) return { kind: 'unavailable', reason: `firegrad asked for ${threads} threads runs ${info.threads}: ${info.reason}` };
    step = firegradStep();
    return { kind: 'ready', ran: `firegrad cpu, ${info.threads} thread(s)` };
  }
  if (!step) throw new Error('steps before init');
  const jobsBefore = parallelInfo().jobs;
  const { ms, loss } = timeSteps(step, msg.n);
  const info = parallelInfo();
  if (lastBackend('fusedConv2d') !== 'cpu') throw new Error(`fusedConv2d ran on ${lastBackend('fusedConv2d')}, not cpu`);
  // Each step has convs big enough to split: with a pool, some must have run on more than one thread.
  if (threads > 1 && info.jobs === jobsBefore) throw new Error(`no conv2d job ran on more than one thread (${info.reason})`);
  if (info.threads !== threads) throw new Error(`the pool fell back to ${info.threads} thread(s): ${info.reason}`);
  return { kind: 'done', ms, loss, ran: `firegrad cpu, ${info.threads} thread(s), ${info.jobs} multi-thread jobs so far` };
}

self.onmessage = (e: MessageEvent<ToWorker>) => {
  handle(e.data).then((reply) => self.postMessage(reply), (err: unknown) => {
    self.postMessage({ kind: 'error', message: err instanceof Error ? err.message : String(err) } satisfies FromWorker);
  });
};
