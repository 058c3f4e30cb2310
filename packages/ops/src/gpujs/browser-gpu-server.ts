// The GPU server's Web Worker entry in a browser (started by ../platform/browser): the first message
// is the control block, every later one a request.
import type { ServerRequest } from './webgpu-protocol.js';
import { serveWebGpu } from './webgpu-server.js';

const scope = globalThis as unknown as { onmessage: ((e: { data: unknown }) => void) | null };
scope.onmessage = (first) => {
  scope.onmessage = null;
  void serveWebGpu(first.data as SharedArrayBuffer, (handler) => {
    scope.onmessage = (e) => handler(e.data as ServerRequest);
  });
};
