// The safetensors weights format: an 8-byte little-endian u64 header length N, N bytes of UTF-8
// JSON header ({ name: { dtype, shape, data_offsets }, __metadata__? }), then the raw little-endian
// data. serialize/parse are pure and browser-safe; save/read/load touch the file system ('#platform').
import { platform } from '#platform';
import { DTypeError, Tensor, ValueError, fmtShape, numel, type DType, type TypedArray } from '@firegrad/core';

export type SafetensorsContents = { tensors: Record<string, Tensor>; metadata: Record<string, string> };

const FILE_DTYPES = { F32: 'float32', F64: 'float64', I32: 'int32' } as const;
type FileDType = keyof typeof FILE_DTYPES;
const TO_FILE: Record<DType, FileDType> = { float32: 'F32', float64: 'F64', int32: 'I32' };
const ARRAYS = { float32: Float32Array, float64: Float64Array, int32: Int32Array } as const;
// PyTorch's int64 tensors (BatchNorm's num_batches_tracked) are read into int32, each value range-checked.
const READ_DTYPES = { ...FILE_DTYPES, I64: 'int32' } as const;
type ReadDType = keyof typeof READ_DTYPES;
const FILE_BYTES: Record<ReadDType, number> = { F32: 4, F64: 8, I32: 4, I64: 8 };
const SUPPORTED = Object.keys(READ_DTYPES).join(', ');
const METADATA_KEY = '__metadata__';
/** Same cap as the reference Rust reader: anything larger is a corrupt length, not a real header. */
const MAX_HEADER_BYTES = 100_000_000;
/** A real header nests 3 deep; JSON.parse recurses per level and overflows the stack near 10⁴. */
const MAX_HEADER_DEPTH = 64;

// Tensor bytes are copied straight from the typed arrays, which use the host's byte order.
const HOST_IS_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
function requireLittleEndian(): void {
  if (!HOST_IS_LE) throw new ValueError('safetensors: this host is big-endian; the format is little-endian and byte swapping is not implemented');
}

/** Short JSON rendering of a header value for error messages. */
function show(v: unknown): string {
  const s = v === undefined ? 'undefined' : JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The deepest [ / { nesting of JSON text outside strings (scanned without recursion). */
function nestingDepth(json: Uint8Array): number {
  let depth = 0, deepest = 0, inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) deepest = Math.max(deepest, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/** The bytes of a safetensors file holding `tensors` (in key order) and optional string `metadata`. */
export function serializeSafetensors(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Uint8Array {
  requireLittleEndian();
  if (!isPlainObject(tensors)) throw new ValueError(`safetensors: 'tensors' must be an object of name -> Tensor, got ${show(tensors)}`);
  // Validate everything before building anything, so a bad entry never yields a partial file.
  const entries = Object.entries(tensors);
  for (const [name, t] of entries) {
    if (name === '') throw new ValueError('safetensors: tensor names must be non-empty strings');
    if (name === METADATA_KEY) throw new ValueError(`safetensors: '${METADATA_KEY}' is reserved for metadata and cannot name a tensor`);
    if (!(t instanceof Tensor)) throw new ValueError(`safetensors: tensor '${name}' must be a firegrad Tensor, got ${typeof t}`);
    // Check the array too: a Tensor over, say, a Uint8Array reports dtype int32 but holds 1-byte items.
    if (!Object.hasOwn(ARRAYS, t.dtype) || !(t.data instanceof ARRAYS[t.dtype])) {
      throw new DTypeError(`safetensors: tensor '${name}' has unsupported dtype ${String(t.dtype)} (${t.data?.constructor?.name}); supported: float32, float64, int32`);
    }
    if (t.data.length !== numel(t.shape)) throw new ValueError(`safetensors: tensor '${name}' has ${t.data.length} elements but shape ${fmtShape(t.shape)}`);
  }
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) throw new ValueError(`safetensors: metadata must be an object of strings, got ${show(metadata)}`);
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new ValueError(`safetensors: metadata '${k}' must be a string, got ${typeof v}`);
    }
  }

  // __metadata__ first, as the Python writer does; Object.fromEntries keeps a '__proto__' key as data.
  const header: [string, unknown][] = metadata && Object.keys(metadata).length > 0 ? [[METADATA_KEY, { ...metadata }]] : [];
  let offset = 0;
  for (const [name, t] of entries) {
    header.push([name, { dtype: TO_FILE[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + t.data.byteLength] }]);
    offset += t.data.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(Object.fromEntries(header)));
  // Pad with spaces so the data section starts 8-byte aligned.
  const headerLen = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLen + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);
  let at = 8 + headerLen;
  for (const [, t] of entries) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

type Entry = { name: string; dtype: DType; fileDType: ReadDType; shape: number[]; begin: number; end: number };

/**
 * Tensors and metadata from the bytes of a safetensors file. The whole header is validated before
 * any tensor is built; every problem is a ValueError starting `safetensors: <source>:`.
 * Tensors own copies of their bytes, never views into `bytes`.
 */
export function parseSafetensors(bytes: Uint8Array, source = '<bytes>'): SafetensorsContents {
  requireLittleEndian();
  function fail(msg: string): never {
    throw new ValueError(`safetensors: ${source}: ${msg}`);
  }
  if (!(bytes instanceof Uint8Array)) fail(`expected a Uint8Array, got ${typeof bytes}`);
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, shorter than the 8-byte header length field`);

  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(`header length ${n} is absurdly large (limit ${MAX_HEADER_BYTES}; the file has ${bytes.length} bytes)`);
  if (n > BigInt(bytes.length - 8)) fail(`header length ${n} runs past the end of the file (${bytes.length} bytes, so at most ${bytes.length - 8} for the header)`);
  const headerLen = Number(n);

  const depth = nestingDepth(bytes.subarray(8, 8 + headerLen));
  if (depth > MAX_HEADER_DEPTH) fail(`header nests ${depth} levels deep (limit ${MAX_HEADER_DEPTH}; a valid header needs 3)`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(header)) fail(`header must be a JSON object, got ${Array.isArray(header) ? 'an array' : show(header)}`);

  const metadata: [string, string][] = [];
  if (Object.hasOwn(header, METADATA_KEY)) {
    const meta = header[METADATA_KEY];
    if (!isPlainObject(meta)) fail(`'${METADATA_KEY}' must be an object of strings, got ${show(meta)}`);
    for (const [k, v] of Object.entries(meta)) {
      if (typeof v !== 'string') fail(`'${METADATA_KEY}' value '${k}' must be a string, got ${show(v)}`);
      metadata.push([k, v]);
    }
  }

  const dataLen = bytes.length - 8 - headerLen;
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === METADATA_KEY) continue;
    const where = `tensor '${name}'`;
    if (!isPlainObject(info)) fail(`${where}: entry must be an object with dtype, shape and data_offsets, got ${show(info)}`);
    for (const field of ['dtype', 'shape', 'data_offsets']) {
      if (!Object.hasOwn(info, field)) fail(`${where}: missing field '${field}'`);
    }
    const { dtype, shape, data_offsets: offsets } = info;
    if (typeof dtype !== 'string' || !Object.hasOwn(READ_DTYPES, dtype)) {
      fail(`${where}: unknown dtype ${show(dtype)} (supported: ${SUPPORTED})`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`${where}: field 'shape' must be an array of non-negative integers, got ${show(shape)}`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o))) {
      fail(`${where}: field 'data_offsets' must be two integers [begin, end], got ${show(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (!(begin >= 0 && begin <= end && end <= dataLen)) {
      fail(`${where}: data_offsets [${begin}, ${end}] out of range: need 0 <= begin <= end <= ${dataLen} (the data section length)`);
    }
    const fileDType = dtype as ReadDType;
    const expected = numel(shape) * FILE_BYTES[fileDType];
    if (end - begin !== expected) {
      fail(`${where}: shape ${fmtShape(shape)} with dtype ${fileDType} needs ${expected} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`);
    }
    entries.push({ name, dtype: READ_DTYPES[fileDType], fileDType, shape, begin, end });
  }

  // The tensors must tile the data section exactly: no overlaps, no holes, no trailing bytes.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let prev: Entry | undefined;
  for (const e of sorted) {
    if (e.begin < cursor) fail(`tensors '${prev!.name}' [${prev!.begin}, ${prev!.end}] and '${e.name}' [${e.begin}, ${e.end}] overlap in data_offsets`);
    if (e.begin > cursor) fail(`data bytes [${cursor}, ${e.begin}) before tensor '${e.name}' belong to no tensor (a hole)`);
    cursor = e.end;
    prev = e;
  }
  if (cursor !== dataLen) fail(`${dataLen - cursor} trailing bytes: data bytes [${cursor}, ${dataLen}) belong to no tensor`);

  const dataStart = 8 + headerLen;
  const tensors = entries.map(({ name, dtype, fileDType, shape, begin, end }): [string, Tensor] => {
    const data: TypedArray = new ARRAYS[dtype](numel(shape));
    if (fileDType === 'I64') {
      const view = new DataView(bytes.buffer, bytes.byteOffset + dataStart + begin, end - begin);
      for (let i = 0; i < data.length; i++) {
        const v = view.getBigInt64(8 * i, true);
        if (v < -(2n ** 31n) || v >= 2n ** 31n) fail(`tensor '${name}': I64 value ${v} at flat index ${i} does not fit in int32 (firegrad's integer dtype)`);
        data[i] = Number(v);
      }
      return [name, new Tensor(data, shape)];
    }
    new Uint8Array(data.buffer).set(bytes.subarray(dataStart + begin, dataStart + end));
    return [name, new Tensor(data, shape)];
  });
  return { tensors: Object.fromEntries(tensors), metadata: Object.fromEntries(metadata) };
}

// Loaded lazily so that importing this module (and the pure functions above) works in a browser.
/**
 * Writes a safetensors file atomically: the bytes go to a temp file in the same directory, are
 * fsynced, then renamed over `path`. On any failure the temp file is removed and an existing
 * file at `path` is left untouched. Stale temp files of `path` from writers that died are removed
 * first. Directories are not created. Node only; in a browser use serializeSafetensors.
 */
export function saveSafetensors(path: string, tensors: Record<string, Tensor>, metadata?: Record<string, string>): void {
  checkPath('saveSafetensors', path);
  platform.writeFileAtomic('safetensors', path, serializeSafetensors(tensors, metadata));
}

function checkPath(op: string, path: unknown): void {
  if (typeof path !== 'string' || path === '') throw new ValueError(`safetensors: ${op}: 'path' must be a non-empty string, got ${show(path)}`);
}

/** Tensors and `__metadata__` of a safetensors file. */
export function readSafetensors(path: string): SafetensorsContents {
  checkPath('readSafetensors', path);
  return parseSafetensors(platform.readFile('safetensors', path), path);
}

/** The tensors of a safetensors file, ready for `module.loadStateDict(loadSafetensors(path))`. */
export function loadSafetensors(path: string): Record<string, Tensor> {
  return readSafetensors(path).tensors;
}
