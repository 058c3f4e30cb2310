// The wire between the WebGPU bridge's synchronous proxy (./webgpu-bridge) and the GPU server worker
// (./webgpu-server): requests go by postMessage (the server's event loop is free), answers come back
// in a SharedArrayBuffer the proxy blocks on with Atomics.wait, since the proxy's thread cannot run
// its event loop while an op waits for its result.

/** Int32 slots of the control block, then the answer's UTF-8 text. */
const STATE = 0; // 0 while a request is out, 1 once answered
const STATUS = 1; // 0 ok, 1 failed
const TEXT_LENGTH = 2;
const TEXT_OFFSET = 16;
const TEXT_CAPACITY = 8192;
export const CONTROL_BYTES = TEXT_OFFSET + TEXT_CAPACITY;

/** A kernel to run: its source (fn.toString()), baked-in sizes, output length and arguments; the result goes into `out`. */
interface RunRequest {
  kind: 'run';
  op: string;
  src: string;
  constants: Record<string, number>;
  length: number;
  args: Float32Array[];
  out: SharedArrayBuffer;
}
export type ServerRequest = RunRequest | { kind: 'destroy' };

/** The answer: ok with a text (the adapter on start, the kernel class after a run), or failed with a reason. */
export interface Answer { ok: boolean; text: string }

export function answer(control: SharedArrayBuffer, { ok, text }: Answer): void {
  const ctrl = new Int32Array(control, 0, 4);
  const bytes = new TextEncoder().encode(text).subarray(0, TEXT_CAPACITY);
  new Uint8Array(control, TEXT_OFFSET, TEXT_CAPACITY).set(bytes);
  ctrl[STATUS] = ok ? 0 : 1;
  ctrl[TEXT_LENGTH] = bytes.length;
  Atomics.store(ctrl, STATE, 1);
  Atomics.notify(ctrl, STATE);
}

/** Marks a request as out; call before posting it. */
export function expectAnswer(control: SharedArrayBuffer): void {
  Atomics.store(new Int32Array(control, 0, 4), STATE, 0);
}

/** Blocks until the server answers, or returns null after `timeoutMs`. */
export function awaitAnswer(control: SharedArrayBuffer, timeoutMs: number): Answer | null {
  return Atomics.wait(new Int32Array(control, 0, 4), STATE, 0, timeoutMs) === 'timed-out' ? null : readAnswer(control);
}

type WaitAsync = (a: Int32Array, index: number, value: number, timeoutMs: number) => { async: boolean; value: Promise<string> | string };

/** Waits for the server's answer without blocking this thread's event loop (Atomics.waitAsync), or null after `timeoutMs`. */
export async function awaitAnswerAsync(control: SharedArrayBuffer, timeoutMs: number): Promise<Answer | null> {
  const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;
  const r = waitAsync(new Int32Array(control, 0, 4), STATE, 0, timeoutMs);
  return (await r.value) === 'timed-out' ? null : readAnswer(control);
}

function readAnswer(control: SharedArrayBuffer): Answer {
  const ctrl = new Int32Array(control, 0, 4);
  // TextDecoder refuses views of shared memory: copy the bytes out first.
  const text = new TextDecoder().decode(new Uint8Array(control, TEXT_OFFSET, ctrl[TEXT_LENGTH]).slice());
  return { ok: ctrl[STATUS] === 0, text };
}
