// Runs in a dedicated Worker started by environment.test.ts: a module worker that imports the
// workspace packages (as the threads pool's workers do) and blocks on a SharedArrayBuffer the page
// sent, which only a worker may do, then answers with what it saw.
import { tensor } from '@firegrad/core';

const scope = globalThis as unknown as {
  crossOriginIsolated: boolean;
  onmessage: (e: { data: Int32Array }) => void;
  postMessage(message: unknown): void;
};

scope.onmessage = ({ data: flag }) => {
  // Returns 'not-equal' at once if the page already stored 1, else 'ok' when it does.
  const waited = Atomics.wait(flag, 0, 0, 10_000);
  scope.postMessage({ isolated: scope.crossOriginIsolated, waited, value: Atomics.load(flag, 0), sum: tensor([1, 2, 3]).sum().item() });
};
