// TF.js set up for side-by-side runs: its pure-JS cpu backend and its wasm (XNNPACK, SIMD) backend.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// the union package registers the gradient functions (tfjs-core's Node bundle has none)
import '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

const require = createRequire(import.meta.url);
setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}/`);

export { tf };

/** Silences TF.js's "install tfjs-node" banner. */
export async function useBackend(name: 'cpu' | 'wasm'): Promise<void> {
  const log = console.log;
  console.log = () => {};
  try {
    if (!(await tf.setBackend(name))) throw new Error(`TF.js backend '${name}' failed to initialise`);
    await tf.ready();
    if (tf.getBackend() !== name) throw new Error(`TF.js runs on '${tf.getBackend()}', not '${name}'`);
  } finally {
    console.log = log;
  }
}
