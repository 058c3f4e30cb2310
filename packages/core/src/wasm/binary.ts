// Same-shape add, sub, mul and div for float32 on WebAssembly SIMD. The JS loops run ≈ 3 ns per
// element on the dev VM (TurboFan re-checks three typed arrays every iteration): a training step's
// gradient fan-in and Dropout's backward spent ≈ 3% of it there. Here, as in ./relu, the operands go
// into the module's memory in chunks (memcpy), four lanes go per instruction, and the result comes
// back out: ≈ 0.5 ns per element. Each lane is the IEEE float32 operation, which is what JS's
// float64 operation rounded to float32 gives for these four (float64 holds every such result
// exactly enough that rounding twice changes nothing).
//
// Exported functions add, sub, mul, div(p, end) (bytes, end − p a positive multiple of 16): a[i] =
// a[i] ∘ b[i] over [p, end), b at the same place + CHUNK floats.

import { I32, encodeModule, instantiate, loopBy16, op, type Bytes } from './emit.js';
import { copyElements } from '../copy.js';

export type BinaryOp = 'add' | 'sub' | 'mul' | 'div';
const OPCODES: Record<BinaryOp, Bytes> = { add: op.f32x4Add, sub: op.f32x4Sub, mul: op.f32x4Mul, div: op.f32x4Div };
const CHUNK = 16384; // floats per operand region: a at 0, b after it

type RangeFn = (p: number, end: number) => void;
let kernels: (Record<BinaryOp, RangeFn> & { heap: Float32Array }) | null = null;
let loaded = false;

function binaryModule(): Uint8Array {
  const get = op.localGet, b = CHUNK * 4;
  return encodeModule(Object.entries(OPCODES).map(([name, opcode]) => ({
    name, params: [I32, I32], locals: [],
    body: loopBy16([get(0), get(0), op.v128Load(0), get(0), op.v128Load(b), opcode, op.v128Store(0)]),
  })), Math.ceil(2 * CHUNK * 4 / 65536));
}

/** Compiles the module on first use; false where WebAssembly SIMD is missing. */
export function wasmBinaryAvailable(): boolean {
  if (!loaded) {
    loaded = true;
    const exports = instantiate<Record<BinaryOp, RangeFn>>(binaryModule());
    kernels = exports && { ...exports, heap: new Float32Array(exports.memory.buffer) };
  }
  return kernels !== null;
}

/** out[i] = a[i] ∘ b[i], once wasmBinaryAvailable() said yes; out may be a or b. */
export function binaryWasm(kind: BinaryOp, a: Float32Array, b: Float32Array, out: Float32Array): void {
  const { heap } = kernels!, run = kernels![kind];
  for (let i = 0; i < a.length; i += CHUNK) {
    const n = Math.min(CHUNK, a.length - i);
    copyElements(heap, a.subarray(i, i + n), 0);
    copyElements(heap, b.subarray(i, i + n), CHUNK);
    run(0, ((n + 3) & ~3) * 4); // the lanes past n work on stale floats and are not copied out
    copyElements(out, heap.subarray(0, n), i);
  }
}
