// The GPU server's worker_threads entry in Node (started by ../platform/node; from the TypeScript
// sources through ./dev-bootstrap.mjs).
import { parentPort, workerData } from 'node:worker_threads';
import type { ServerRequest } from './webgpu-protocol.js';
import { serveWebGpu } from './webgpu-server.js';

const { control } = workerData as { control: SharedArrayBuffer };
void serveWebGpu(control, (handler) => parentPort?.on('message', (req: ServerRequest) => handler(req)));
