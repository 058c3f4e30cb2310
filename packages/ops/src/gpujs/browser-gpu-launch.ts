// Starts the WebGPU bridge's GPU server as a module Web Worker. It lives here, beside the bridge, and
// not in '#platform': the pool worker's bundle includes '#platform', and a bundler that follows
// worker URLs (Vite) refuses the cycle pool worker → GPU server → pool worker.
import type { GpuServerHandle } from './webgpu-bridge.js';

interface WebWorker { postMessage(message: unknown): void; terminate(): void }
// The DOM's Worker (the project compiles without the DOM lib); a local named Worker keeps the
// `new Worker(new URL(…, import.meta.url))` below literal, which is what bundlers look for.
const Worker = (globalThis as unknown as { Worker: new (url: URL, options: { type: 'module' }) => WebWorker }).Worker;

export function startBrowserGpuServer(control: SharedArrayBuffer): GpuServerHandle {
  const w = new Worker(new URL('./browser-gpu-server.js', import.meta.url), { type: 'module' });
  w.postMessage(control);
  return { post: (req) => w.postMessage(req), terminate: () => w.terminate() };
}
