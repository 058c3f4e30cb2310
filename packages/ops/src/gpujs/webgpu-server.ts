// The GPU server: runs in its own worker (./node-gpu-server in Node, ./browser-gpu-server in a
// browser), owns an asynchronous gpu.js runner in 'webgpu' mode, and answers the synchronous proxy
// of ./webgpu-bridge one request at a time (the proxy waits for each before sending the next).
import { KernelRunner } from './runner.js';
import { installWebGpuShim, probeWebGpu, uninstallWebGpuShim } from './webgpu.js';
import { answer, type ServerRequest } from './webgpu-protocol.js';

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Finds an adapter, answers with its name (or why there is none), then serves requests from `listen`. */
export async function serveWebGpu(control: SharedArrayBuffer, listen: (handler: (req: ServerRequest) => void) => void): Promise<void> {
  let runner: KernelRunner;
  try {
    if (!(await installWebGpuShim())) {
      answer(control, { ok: false, text: (await probeWebGpu()).reason });
      return;
    }
    runner = new KernelRunner('webgpu', true, true);
    const { adapter } = await probeWebGpu();
    answer(control, { ok: true, text: adapter ? adapter.name : 'unnamed adapter' });
  } catch (e) {
    answer(control, { ok: false, text: message(e) });
    return;
  }
  listen((req) => void serve(runner, control, req));
}

async function serve(runner: KernelRunner, control: SharedArrayBuffer, req: ServerRequest): Promise<void> {
  try {
    if (req.kind === 'destroy') {
      await runner.destroy();
      await uninstallWebGpuShim();
      answer(control, { ok: true, text: '' });
      return;
    }
    const result = await runner.run(req.op, req.src, req.constants, req.length, req.args);
    new Float32Array(req.out).set(result);
    answer(control, { ok: true, text: runner.lastClass });
  } catch (e) {
    answer(control, { ok: false, text: message(e) });
  }
}
