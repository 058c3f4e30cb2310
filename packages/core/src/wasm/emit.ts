// A minimal WebAssembly binary writer: just the encodings that the kernel modules (GEMM, ReLU,
// max-pool) need, so those modules can be generated at run time from TypeScript (no toolchain, no
// build step, no committed binary).
// Reference: the core spec's binary format, https://webassembly.github.io/spec/core/binary/

export type Bytes = number[];

export const I32 = 0x7f;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;

/** Unsigned LEB128 (indices, sizes, counts, memory offsets). */
function uleb(n: number): Bytes {
  const out: Bytes = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 (i32.const immediates). */
function sleb(n: number): Bytes {
  const out: Bytes = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
}

/** A vector: its length, then its items. */
function vec(items: Bytes[]): Bytes {
  return [...uleb(items.length), ...items.flat()];
}

function str(s: string): Bytes {
  return vec([...s].map((c) => [c.charCodeAt(0)]));
}

function section(id: number, body: Bytes): Bytes {
  return [id, ...uleb(body.length), ...body];
}

/** SIMD instructions: the 0xFD prefix, then the opcode as unsigned LEB128. */
const simd = (code: number, ...imm: Bytes): Bytes => [0xfd, ...uleb(code), ...imm];
/** A memory access immediate: log2 of the alignment hint, then the static byte offset. */
const memarg = (alignLog2: number, offset: number): Bytes => [alignLog2, ...uleb(offset)];

/** Instruction encodings, each the bytes of one instruction. */
export const op = {
  localGet: (i: number): Bytes => [0x20, ...uleb(i)],
  localSet: (i: number): Bytes => [0x21, ...uleb(i)],
  localTee: (i: number): Bytes => [0x22, ...uleb(i)],
  i32Const: (n: number): Bytes => [0x41, ...sleb(n)],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32Mul: [0x6c],
  i32Ne: [0x47],
  loop: [0x03, 0x40], // 0x40: the empty block type
  block: [0x02, 0x40],
  i32Eq: [0x46],
  i32And: [0x71],
  i32Xor: [0x73],
  i32Shl: [0x74],
  i32Shr: [0x76], // unsigned
  i32Rotl: [0x77],
  i32Store: (offset: number): Bytes => [0x36, ...memarg(2, offset)],
  f32Mul: [0x94],
  f64Lt: [0x63],
  f64ConvertI32U: [0xb8],
  f32ReinterpretI32: [0xbe],
  f32Gt: [0x5e],
  f64Add: [0xa0],
  f64PromoteF32: [0xbb],
  if: [0x04, 0x40],
  end: [0x0b],
  brIf: (depth: number): Bytes => [0x0d, ...uleb(depth)],
  memoryCopy: [0xfc, 0x0a, 0x00, 0x00], // (dst, src, bytes): memmove within memory 0 (bulk memory)
  memoryFill: [0xfc, 0x0b, 0x00], // (dst, byte value, bytes)
  i32Load: (offset: number): Bytes => [0x28, ...memarg(2, offset)],
  i32GeS: [0x4e],
  f32Zero: [0x43, 0, 0, 0, 0], // f32.const 0
  f32Add: [0x92],
  select: [0x1b], // (a, b, cond): a if cond ≠ 0, else b; both are evaluated
  f32Load: (offset: number): Bytes => [0x2a, ...memarg(2, offset)],
  f32Store: (offset: number): Bytes => [0x38, ...memarg(2, offset)],
  v128Load: (offset: number): Bytes => simd(0x00, ...memarg(4, offset)),
  v128Load32Splat: (offset: number): Bytes => simd(0x09, ...memarg(2, offset)),
  v128Store: (offset: number): Bytes => simd(0x0b, ...memarg(4, offset)),
  v128Zero: simd(0x0c, ...new Array<number>(16).fill(0)), // v128.const 0
  f32x4Add: simd(0xe4),
  f32x4Sub: simd(0xe5),
  f32x4Mul: simd(0xe6),
  f32x4Div: simd(0xe7),
  // Relaxed SIMD: a·b + c, fused (one rounding) or not as the engine chooses; c on top of the stack.
  f32x4RelaxedMadd: simd(0x105),
  f32x4Splat: simd(0x13),
  f32x4Max: simd(0xe9), // NaN if either lane is NaN; max(−0, +0) = +0
  f32x4Gt: simd(0x44), // all-ones lanes where a > b (false for NaN)
  v128And: simd(0x4e),
  v128Or: simd(0x50),
  v128Bitselect: simd(0x52), // (a & c) | (b & ~c), c on top of the stack
  f32x4Ne: simd(0x42), // all-ones lanes where a != b (true for NaN against anything)
  i32x4Splat: simd(0x11),
  i32x4Add: simd(0xae),
  i32x4Eq: simd(0x37), // all-ones lanes where a == b
  i32x4Const: (a: number, b: number, c: number, d: number): Bytes =>
    simd(0x0c, ...[a, b, c, d].flatMap((n) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff])),
  f64x2PromoteLowF32x4: simd(0x5f), // lanes 0 and 1, exactly
  f64x2Add: simd(0xf0),
  f64x2ExtractLane: (lane: number): Bytes => simd(0x21, lane),
  f64x2ReplaceLane: (lane: number): Bytes => simd(0x22, lane),
  /** i8x16.shuffle of the 32 bytes of a then b; `floats` picks four 4-byte lanes out of the eight. */
  shuffleF32: (floats: [number, number, number, number]): Bytes => simd(0x0d, ...floats.flatMap((f) => [4 * f, 4 * f + 1, 4 * f + 2, 4 * f + 3])),
};

/**
 * A loop running `step` for local P (a byte address) = its start, +16, … until it reaches local END
 * (END − P a positive multiple of 16): the shape of the elementwise kernels.
 */
export function loopBy16(step: Bytes[], P = 0, END = 1): Bytes {
  return [
    ...op.loop, ...step.flat(),
    ...op.localGet(P), ...op.i32Const(16), ...op.i32Add, ...op.localTee(P), ...op.localGet(END), ...op.i32Ne, ...op.brIf(0),
    ...op.end,
  ];
}

interface Func {
  name: string;
  params: number[]; // value types; no results
  locals: number[]; // value types of the locals after the params
  body: Bytes; // instructions, without the final `end`
}

/**
 * A module with a memory of `pages` × 64 KiB (exported as "memory") and the given
 * functions, each exported under its name.
 */
export function encodeModule(funcs: Func[], pages: number): Uint8Array {
  const types = section(1, vec(funcs.map((f) => [0x60, ...vec(f.params.map((t) => [t])), ...vec([])])));
  const fnDecls = section(3, vec(funcs.map((_, i) => uleb(i))));
  const memory = section(5, vec([[0x00, ...uleb(pages)]])); // limits: min only
  const exports = section(7, vec([
    [...str('memory'), 0x02, 0],
    ...funcs.map((f, i) => [...str(f.name), 0x00, ...uleb(i)]),
  ]));
  const code = section(10, vec(funcs.map((f) => {
    const body = [...vec(f.locals.map((t) => [1, t])), ...f.body, ...op.end];
    return [...uleb(body.length), ...body];
  })));
  const magicAndVersion = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  return new Uint8Array([...magicAndVersion, ...types, ...fnDecls, ...memory, ...exports, ...code]);
}

// The project's libs (ES2022 + node) declare no WebAssembly API; this is the part used here.
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}

/**
 * Compiles and instantiates a module; null where WebAssembly or its SIMD proposal is missing (the
 * module then fails to compile, which is the feature test). `exports.memory.buffer` is its memory.
 */
export function instantiate<Exports>(bytes: Uint8Array): (Exports & { memory: { buffer: ArrayBuffer } }) | null {
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  try {
    return new wasm!.Instance(new wasm!.Module(bytes)).exports as Exports & { memory: { buffer: ArrayBuffer } };
  } catch {
    return null;
  }
}
