// safetensors IO: round trips keep every bit, the byte layout matches the format by hand, malformed
// files are rejected with a ValueError naming the file and the field, and saves are atomic.
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import fs, { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { DTypeError, Tensor, ValueError, numel, type DType } from '@firegrad/core';
import {
  loadSafetensors, parseSafetensors, readSafetensors, saveSafetensors, serializeSafetensors,
} from '@firegrad/nn';
import { RUNS, fcOpts, shapeArb } from '../helpers';

const dir = mkdtempSync(join(tmpdir(), 'firegrad-safetensors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => { vi.restoreAllMocks(); });

const ARRAYS = { float32: Float32Array, float64: Float64Array, int32: Int32Array } as const;
const bytesOf = (t: Tensor) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);

function expectSameTensors(actual: Record<string, Tensor>, expected: Record<string, Tensor>): void {
  expect(Object.keys(actual)).toEqual(Object.keys(expected));
  for (const [name, t] of Object.entries(expected)) {
    const a = actual[name];
    expect(a.dtype, name).toBe(t.dtype);
    expect(a.shape, name).toEqual(t.shape);
    expect(bytesOf(a), name).toEqual(bytesOf(t)); // bits, so NaN payloads and -0 count
  }
}

/** Tensors of every supported dtype; floats include NaN, ±Infinity and -0, and a few raw bytes are poked to get odd NaN payloads. */
const tensorArb = fc.record({ dtype: fc.constantFrom<DType>('float32', 'float64', 'int32'), shape: shapeArb(3, 3) })
  .chain(({ dtype, shape }) => {
    const n = numel(shape);
    const value = dtype === 'int32'
      ? fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })
      : fc.oneof(fc.constantFrom(NaN, Infinity, -Infinity, -0, 0), fc.double());
    return fc.tuple(fc.array(value, { minLength: n, maxLength: n }), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 3 }))
      .map(([values, pokes]) => {
        const data = ARRAYS[dtype].from(values);
        const raw = new Uint8Array(data.buffer);
        for (const [i, b] of pokes) if (raw.length > 0) raw[i % raw.length] = b;
        return new Tensor(data, shape);
      });
  });
const nameArb = fc.string({ minLength: 1, maxLength: 6, unit: fc.oneof(fc.constantFrom('a', 'b', '.', '0', '_'), fc.string({ minLength: 1, maxLength: 1, unit: 'binary' })) })
  .filter((s) => s !== '__metadata__');
const tensorsArb = fc.uniqueArray(fc.tuple(nameArb, tensorArb), { maxLength: 5, selector: ([name]) => name }).map((es) => Object.fromEntries(es));
const metadataArb = fc.option(fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 10, unit: 'binary' }), { maxKeys: 3, noNullPrototype: true }), { nil: undefined });

describe('round trip', () => {
  it('serialize -> parse keeps names, dtypes, shapes, bits and metadata', () => {
    fc.assert(fc.property(tensorsArb, metadataArb, (tensors, metadata) => {
      const bytes = serializeSafetensors(tensors, metadata);
      expect(new DataView(bytes.buffer).getUint32(0, true) % 8).toBe(0); // header padded, so the data section is 8-aligned
      const back = parseSafetensors(bytes);
      expectSameTensors(back.tensors, tensors);
      expect(back.metadata).toEqual(metadata ?? {});
      expect(serializeSafetensors(back.tensors, back.metadata)).toEqual(bytes); // deterministic
    }), fcOpts());
  });

  it('save -> load / read through a file', () => {
    const path = join(dir, 'roundtrip.safetensors');
    fc.assert(fc.property(tensorsArb, metadataArb, (tensors, metadata) => {
      saveSafetensors(path, tensors, metadata);
      expectSameTensors(loadSafetensors(path), tensors);
      expect(readSafetensors(path).metadata).toEqual(metadata ?? {});
    }), fcOpts(Math.max(1, RUNS / 4)));
    expect(readdirSync(dir)).toEqual(['roundtrip.safetensors']);
  });

  it('a tensor named __proto__ stays an ordinary entry', () => {
    const tensors = Object.fromEntries([['__proto__', new Tensor(Float32Array.of(1), [1])]]);
    const back = parseSafetensors(serializeSafetensors(tensors, Object.fromEntries([['__proto__', 'x']])));
    expect(Object.keys(back.tensors)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(back.tensors)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(back.metadata, '__proto__')?.value).toBe('x');
  });

  it('parsed tensors own aligned copies, not views into the input', () => {
    const file = serializeSafetensors({ x: new Tensor(Float64Array.of(1.5, -2), [2]) });
    const shifted = new Uint8Array(file.length + 3);
    shifted.set(file, 3);
    const x = parseSafetensors(shifted.subarray(3)).tensors.x; // unaligned input, like a pooled Buffer
    shifted.fill(0);
    expect(x.data.buffer).not.toBe(shifted.buffer);
    expect(Array.from(x.data)).toEqual([1.5, -2]);
  });

  it('reads a header written by others without padding', () => {
    const json = '{"x":{"dtype":"I32","shape":[],"data_offsets":[0,4]}}'; // 53 bytes, not a multiple of 8
    const t = parseSafetensors(fileOf(json, Uint8Array.of(5, 0, 0, 0))).tensors.x;
    expect(t.shape).toEqual([]);
    expect(t.item()).toBe(5);
  });
});

/** A file from a header (object or raw JSON text), the data section and an optional header-length override. */
function fileOf(header: unknown, data: Uint8Array = new Uint8Array(0), length?: bigint): Uint8Array {
  const json = typeof header === 'string' ? new TextEncoder().encode(header)
    : header instanceof Uint8Array ? header : new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('byte layout', () => {
  it('matches a layout written out by hand', () => {
    const bytes = serializeSafetensors(
      { w: new Tensor(Float32Array.of(1, -2), [2]), i: new Tensor(Int32Array.of(7), []) },
      { k: 'v' },
    );
    const json = '{"__metadata__":{"k":"v"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"i":{"dtype":"I32","shape":[],"data_offsets":[8,12]}}';
    expect(json.length).toBe(132);
    const header = json + '    '; // padded with spaces to 136, a multiple of 8
    const expected = [
      136, 0, 0, 0, 0, 0, 0, 0, // u64 LE header length
      ...Array.from(header, (c) => c.charCodeAt(0)),
      0x00, 0x00, 0x80, 0x3f, // 1.0f
      0x00, 0x00, 0x00, 0xc0, // -2.0f
      0x07, 0x00, 0x00, 0x00, // int32 7
    ];
    expect(Array.from(bytes)).toEqual(expected);
  });

  it('omits __metadata__ when there is none', () => {
    const bytes = serializeSafetensors({ e: new Tensor(new Float64Array(0), [0]) });
    const json = '{"e":{"dtype":"F64","shape":[0],"data_offsets":[0,0]}}';
    expect(new TextDecoder().decode(bytes.subarray(8))).toBe(json.padEnd(56, ' '));
    expect(Array.from(bytes.subarray(0, 8))).toEqual([56, 0, 0, 0, 0, 0, 0, 0]);
  });
});

describe('committed fixture', () => {
  const path = fileURLToPath(new URL('../fixtures/nn/firegrad-saved.safetensors', import.meta.url));
  const expected = {
    a: new Tensor(Float32Array.from([0, 1, 2, 3, 4, 5]), [2, 3]),
    b: new Tensor(Float64Array.from([0.5, -1.25, 3e-8, 1e300]), [4]),
    c: new Tensor(Int32Array.from([1, -2, 3, -4]), [2, 2]),
    empty: new Tensor(new Float32Array(0), [0, 3]),
  };
  const metadata = { format: 'pt', note: 'firegrad round trip' };

  it('parses to exactly the values written by scripts/write-roundtrip-fixture.ts', () => {
    const back = readSafetensors(path);
    expectSameTensors(back.tensors, expected);
    expect(back.metadata).toEqual(metadata);
  });
  it('is byte-identical to what the serializer writes today', () => {
    expect(serializeSafetensors(expected, metadata)).toEqual(new Uint8Array(readFileSync(path)));
  });
});

describe('validation on read', () => {
  const f32 = (n: number) => new Uint8Array(4 * n);
  const entry = (dtype: unknown, shape: unknown, data_offsets: unknown) => ({ dtype, shape, data_offsets });
  const rejects = (bytes: Uint8Array, ...parts: (string | RegExp)[]) => {
    let err: unknown;
    try { parseSafetensors(bytes, 'model.st'); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ValueError);
    const msg = (err as Error).message;
    expect(msg.startsWith('safetensors: model.st: '), msg).toBe(true);
    for (const p of parts) expect(msg).toMatch(p);
  };

  it('file shorter than 8 bytes', () => rejects(new Uint8Array(5), 'file is 5 bytes'));
  it('header length past the end of the file names both numbers', () => rejects(fileOf('{}', new Uint8Array(0), 40n), 'header length 40 runs past the end of the file (10 bytes'));
  it('absurd header length', () => rejects(fileOf('{}', new Uint8Array(0), 2n ** 64n - 1n), 'header length 18446744073709551615 is absurdly large'));
  it('header not UTF-8', () => rejects(fileOf(Uint8Array.of(0x7b, 0xff, 0x7d)), 'not valid UTF-8 JSON'));
  it('header not JSON', () => rejects(fileOf('{"x": '), 'not valid UTF-8 JSON'));
  it('header not an object', () => {
    rejects(fileOf('[1, 2]'), 'header must be a JSON object, got an array');
    rejects(fileOf('null'), 'header must be a JSON object, got null');
  });
  it('__metadata__ not an object of strings', () => {
    rejects(fileOf({ __metadata__: ['a'] }), "'__metadata__' must be an object of strings");
    rejects(fileOf({ __metadata__: { epoch: 3 } }), "'__metadata__' value 'epoch' must be a string, got 3");
  });
  it('entry not an object', () => rejects(fileOf({ w: [1] }), "tensor 'w': entry must be an object"));
  it('missing fields', () => {
    for (const field of ['dtype', 'shape', 'data_offsets']) {
      const e: Record<string, unknown> = entry('F32', [1], [0, 4]);
      delete e[field];
      rejects(fileOf({ w: e }, f32(1)), `tensor 'w': missing field '${field}'`);
    }
  });
  it('unknown dtype is named, with the supported ones', () => {
    rejects(fileOf({ w: entry('BF16', [2], [0, 4]) }, f32(1)), 'tensor \'w\': unknown dtype "BF16" (supported: F32, F64, I32, I64)');
    rejects(fileOf({ w: entry(4, [1], [0, 4]) }, f32(1)), "tensor 'w': unknown dtype 4");
  });
  it("PyTorch's I64 is read into int32 when every value fits, and names the first value that does not", () => {
    const i64 = (...v: bigint[]) => new Uint8Array(BigInt64Array.from(v).buffer);
    const back = parseSafetensors(fileOf({ n: entry('I64', [3], [0, 24]) }, i64(7n, -(2n ** 31n), 2n ** 31n - 1n)), 'model.st').tensors.n;
    expect(back.dtype).toBe('int32');
    expect([...back.data]).toEqual([7, -(2 ** 31), 2 ** 31 - 1]);
    rejects(fileOf({ n: entry('I64', [2], [0, 16]) }, i64(1n, 2n ** 31n)),
      "tensor 'n': I64 value 2147483648 at flat index 1 does not fit in int32");
  });
  it('shape must hold non-negative safe integers', () => {
    for (const shape of [[-1], [1.5], ['2'], 3, [2 ** 53], null]) {
      rejects(fileOf({ w: entry('F32', shape, [0, 4]) }, f32(1)), "tensor 'w': field 'shape' must be an array of non-negative integers");
    }
  });
  it('data_offsets must be two integers', () => {
    for (const offsets of [[0], [0, 4, 8], [0, '4'], [0, 4.5], 'x', [0, 2 ** 53]]) {
      rejects(fileOf({ w: entry('F32', [1], offsets) }, f32(1)), "tensor 'w': field 'data_offsets' must be two integers");
    }
  });
  it('data_offsets out of range', () => {
    rejects(fileOf({ w: entry('F32', [1], [0, 8]) }, f32(1)), "tensor 'w': data_offsets [0, 8] out of range", '<= 4 (the data section length)');
    rejects(fileOf({ w: entry('F32', [1], [4, 0]) }, f32(1)), "tensor 'w': data_offsets [4, 0] out of range");
    rejects(fileOf({ w: entry('F32', [1], [-4, 0]) }, f32(1)), "tensor 'w': data_offsets [-4, 0] out of range");
  });
  it('byte count must match shape and dtype', () => {
    rejects(fileOf({ w: entry('F64', [2, 3], [0, 24]) }, f32(6)), "tensor 'w': shape [2, 3] with dtype F64 needs 48 bytes but data_offsets [0, 24] span 24");
  });
  it('overlapping tensors', () => {
    rejects(fileOf({ a: entry('F32', [2], [0, 8]), b: entry('F32', [2], [4, 12]) }, f32(3)), "tensors 'a' [0, 8] and 'b' [4, 12] overlap");
    rejects(fileOf({ a: entry('F32', [2], [0, 8]), b: entry('F32', [2], [0, 8]) }, f32(2)), 'overlap');
    rejects(fileOf({ a: entry('F32', [2], [0, 8]), e: entry('F32', [0], [4, 4]) }, f32(2)), "'a' [0, 8] and 'e' [4, 4] overlap");
  });
  it('holes between tensors', () => {
    rejects(fileOf({ a: entry('F32', [1], [0, 4]), b: entry('F32', [1], [8, 12]) }, f32(3)), "data bytes [4, 8) before tensor 'b' belong to no tensor (a hole)");
    rejects(fileOf({ b: entry('F32', [1], [4, 8]) }, f32(2)), "data bytes [0, 4) before tensor 'b'");
  });
  it('trailing bytes', () => {
    rejects(fileOf({ a: entry('F32', [1], [0, 4]) }, f32(2)), '4 trailing bytes: data bytes [4, 8) belong to no tensor');
    rejects(fileOf({}, new Uint8Array(1)), '1 trailing bytes');
  });
  it('the file path is the source in messages from readSafetensors', () => {
    const path = join(dir, 'short.safetensors');
    writeFileSync(path, Uint8Array.of(1, 2));
    expect(() => readSafetensors(path)).toThrow(`safetensors: ${path}: file is 2 bytes`);
    rmSync(path);
  });
});

describe('fuzzed corruptions', () => {
  /** Parse must succeed with tensors that match the header's byte ranges, or throw a safetensors ValueError. */
  function parseOrReject(bytes: Uint8Array): ReturnType<typeof parseSafetensors> | undefined {
    let out: ReturnType<typeof parseSafetensors>;
    try {
      out = parseSafetensors(bytes, 'fuzz.st');
    } catch (e) {
      expect(e).toBeInstanceOf(ValueError);
      expect((e as Error).message.startsWith('safetensors: fuzz.st: '), (e as Error).message).toBe(true);
      return undefined;
    }
    // Independent check of a success: every tensor has numel(shape) elements and exactly its byte range.
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    let covered = 0;
    for (const [name, t] of Object.entries(out.tensors)) {
      const [begin, end] = header[name].data_offsets;
      expect(t.data.length).toBe(numel(t.shape));
      const stored = bytes.subarray(8 + n + begin, 8 + n + end);
      // I64 is read into int32: compare values, each int64 of the file against its element
      if (header[name].dtype === 'I64') expect([...t.data]).toEqual([...new BigInt64Array(stored.slice().buffer)].map(Number));
      else expect(bytesOf(t)).toEqual(stored);
      covered += end - begin;
    }
    expect(covered).toBe(bytes.length - 8 - n);
    return out;
  }
  const baseArb = fc.tuple(tensorsArb, metadataArb).map(([tensors, metadata]) => ({ tensors, bytes: serializeSafetensors(tensors, metadata) }));
  const headerLen = (bytes: Uint8Array) => Number(new DataView(bytes.buffer).getBigUint64(0, true));

  it('truncation at any point', () => {
    fc.assert(fc.property(baseArb, fc.nat(), ({ tensors, bytes }, cut) => {
      const at = cut % (bytes.length + 1);
      const out = parseOrReject(bytes.slice(0, at));
      expect(out !== undefined).toBe(at === bytes.length); // any lost byte is detected
      if (out) expectSameTensors(out.tensors, tensors);
    }), fcOpts());
  });

  it('header length overwritten', () => {
    const lengthArb = fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 400n }));
    fc.assert(fc.property(baseArb, lengthArb, ({ tensors, bytes }, len) => {
      const copy = bytes.slice();
      new DataView(copy.buffer).setBigUint64(0, len, true);
      const out = parseOrReject(copy);
      if (out && len === BigInt(headerLen(bytes))) expectSameTensors(out.tensors, tensors);
    }), fcOpts());
  });

  it('random bytes of the header replaced', () => {
    fc.assert(fc.property(baseArb, fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }), ({ tensors, bytes }, flips) => {
      const copy = bytes.slice();
      const n = headerLen(bytes);
      for (const [i, b] of flips) copy[8 + (i % n)] = b;
      const out = parseOrReject(copy);
      if (out && copy.every((b, i) => b === bytes[i])) expectSameTensors(out.tensors, tensors);
    }), fcOpts());
  });

  it('header replaced by random JSON', () => {
    fc.assert(fc.property(baseArb, fc.json(), ({ bytes }, json) => {
      const n = headerLen(bytes);
      parseOrReject(fileOf(json, bytes.subarray(8 + n)));
    }), fcOpts());
  });

  it('header fields mutated: unknown dtypes, shifted offsets, wrong shapes, missing fields, junk metadata', () => {
    const junk = fc.oneof(fc.jsonValue(), fc.constantFrom(-1, 0.5, 2 ** 53, 1e300, '8', null));
    const mutationArb = fc.oneof(
      fc.record({ kind: fc.constant('dtype' as const), at: fc.nat(), value: fc.oneof(fc.constantFrom('BF16', 'F16', 'I64', 'f32', '', 'F64', 'I32', 'F32'), junk) }),
      fc.record({ kind: fc.constant('offset' as const), at: fc.nat(), which: fc.constantFrom(0, 1), delta: fc.integer({ min: -24, max: 24 }) }),
      fc.record({ kind: fc.constant('offsetValue' as const), at: fc.nat(), which: fc.constantFrom(0, 1), value: junk }),
      fc.record({ kind: fc.constant('shape' as const), at: fc.nat(), value: fc.oneof(fc.array(fc.integer({ min: -2, max: 6 }), { maxLength: 4 }), junk) }),
      fc.record({ kind: fc.constant('drop' as const), at: fc.nat(), field: fc.constantFrom('dtype', 'shape', 'data_offsets') }),
      fc.record({ kind: fc.constant('entry' as const), at: fc.nat(), value: junk }),
      fc.record({ kind: fc.constant('swap' as const), at: fc.nat(), other: fc.nat() }),
      fc.record({ kind: fc.constant('metadata' as const), value: fc.oneof(junk, fc.dictionary(fc.string({ maxLength: 3 }), junk, { maxKeys: 2 })) }),
      fc.record({ kind: fc.constant('data' as const), delta: fc.integer({ min: -8, max: 8 }) }),
    );
    fc.assert(fc.property(baseArb, fc.array(mutationArb, { minLength: 1, maxLength: 3 }), ({ tensors, bytes }, mutations) => {
      const n = headerLen(bytes);
      const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
      let data = bytes.subarray(8 + n);
      const names = Object.keys(header).filter((k) => k !== '__metadata__');
      for (const m of mutations) {
        if (m.kind === 'metadata') { header.__metadata__ = m.value; continue; }
        if (m.kind === 'data') {
          data = m.delta < 0 ? data.subarray(0, Math.max(0, data.length + m.delta)) : Uint8Array.from([...data, ...new Uint8Array(m.delta)]);
          continue;
        }
        if (names.length === 0) continue;
        const name = names[m.at % names.length];
        const e = header[name];
        if (typeof e !== 'object' || e === null || Array.isArray(e)) continue; // already replaced by junk
        if (m.kind === 'dtype') e.dtype = m.value;
        else if (m.kind === 'offset' && Array.isArray(e.data_offsets) && typeof e.data_offsets[m.which] === 'number') e.data_offsets[m.which] += m.delta;
        else if (m.kind === 'offsetValue' && Array.isArray(e.data_offsets)) e.data_offsets[m.which] = m.value;
        else if (m.kind === 'shape') e.shape = m.value;
        else if (m.kind === 'drop') delete e[m.field];
        else if (m.kind === 'entry') header[name] = m.value;
        else if (m.kind === 'swap') {
          const o = header[names[m.other % names.length]];
          if (typeof o === 'object' && o !== null) [e.data_offsets, o.data_offsets] = [o.data_offsets, e.data_offsets];
        }
      }
      const mutated = fileOf(JSON.stringify(header), data);
      const out = parseOrReject(mutated);
      // Unchanged means the same header text and the same data bytes: truncating then padding back
      // to the original length keeps the length but zeroes the tail, so the length alone is not enough.
      const original = bytes.subarray(8 + n);
      const sameData = data.length === original.length && data.every((b, i) => b === original[i]);
      if (out && JSON.stringify(header) === new TextDecoder().decode(bytes.subarray(8, 8 + n)).trimEnd() && sameData) {
        expectSameTensors(out.tensors, tensors);
      }
    }), fcOpts(RUNS * 3));
  });
});

describe('validation on write', () => {
  const ok = new Tensor(Float32Array.of(1, 2), [2]);
  it('names', () => {
    expect(() => serializeSafetensors({ '': ok })).toThrow('safetensors: tensor names must be non-empty strings');
    expect(() => serializeSafetensors({ __metadata__: ok })).toThrow(ValueError);
    expect(() => serializeSafetensors({ __metadata__: ok })).toThrow("'__metadata__' is reserved");
  });
  it('values must be Tensors of a supported dtype', () => {
    expect(() => serializeSafetensors({ w: [1, 2] as unknown as Tensor })).toThrow("safetensors: tensor 'w' must be a firegrad Tensor, got object");
    // The constructor refuses a Uint8Array; one swapped in afterwards claims int32 but holds bytes,
    // and writing it as I32 would corrupt the file.
    expect(() => new Tensor(new Uint8Array(4) as unknown as Int32Array, [4])).toThrow(DTypeError);
    const bytes = new Tensor(new Int32Array(4), [4]);
    (bytes as { data: unknown }).data = new Uint8Array(4);
    expect(() => serializeSafetensors({ w: bytes })).toThrow(DTypeError);
    expect(() => serializeSafetensors({ w: bytes })).toThrow("safetensors: tensor 'w' has unsupported dtype int32 (Uint8Array)");
  });
  it('metadata values must be strings', () => {
    expect(() => serializeSafetensors({ w: ok }, { epoch: 3 } as unknown as Record<string, string>)).toThrow("safetensors: metadata 'epoch' must be a string, got number");
    expect(() => serializeSafetensors({ w: ok }, 'x' as unknown as Record<string, string>)).toThrow('safetensors: metadata must be an object of strings');
  });
});

describe('atomic save', () => {
  const old = { w: new Tensor(Float64Array.of(1, 2, 3), [3]) };
  const fresh = { w: new Tensor(Float32Array.of(9), [1]) };
  function withOldFile(name: string): { path: string; before: Uint8Array; sub: string } {
    const sub = mkdtempSync(join(dir, 'atomic-'));
    const path = join(sub, name);
    saveSafetensors(path, old);
    return { path, before: new Uint8Array(readFileSync(path)), sub };
  }
  const expectUntouched = ({ path, before, sub }: { path: string; before: Uint8Array; sub: string }) => {
    expect(new Uint8Array(readFileSync(path))).toEqual(before);
    expect(readdirSync(sub)).toEqual([path.slice(sub.length + 1)]); // no temp files left
  };

  it('a bad tensor after a good one leaves the old file alone', () => {
    const f = withOldFile('m.safetensors');
    const bad = new Tensor(new Int32Array(1), [1]);
    (bad as { data: unknown }).data = new Uint8Array(1); // the constructor would refuse it
    expect(() => saveSafetensors(f.path, { ok: fresh.w, bad })).toThrow(DTypeError);
    expectUntouched(f);
  });

  it('a write failing midway leaves the old file alone and removes the temp file', () => {
    const f = withOldFile('m.safetensors');
    const realWrite = fs.writeSync;
    let calls = 0;
    vi.spyOn(fs, 'writeSync').mockImplementation(((fd: number, buf: Uint8Array, off: number) => {
      if (calls++ > 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      return realWrite(fd, buf, off, 8); // a short first write, then the disk fills up
    }) as typeof fs.writeSync);
    expect(() => saveSafetensors(f.path, fresh)).toThrow('ENOSPC');
    expect(calls).toBe(2);
    expectUntouched(f);
  });

  it('a failing rename leaves the old file alone and removes the temp file', () => {
    const f = withOldFile('m.safetensors');
    vi.spyOn(fs, 'renameSync').mockImplementation(() => { throw new Error('EXDEV: rename failed'); });
    expect(() => saveSafetensors(f.path, fresh)).toThrow('EXDEV');
    expectUntouched(f);
  });

  it('short writes are continued until every byte is out', () => {
    const f = withOldFile('m.safetensors');
    const realWrite = fs.writeSync;
    vi.spyOn(fs, 'writeSync').mockImplementation(((fd: number, buf: Uint8Array, off: number, len: number) => realWrite(fd, buf, off, Math.min(len, 5))) as typeof fs.writeSync);
    saveSafetensors(f.path, fresh);
    vi.restoreAllMocks();
    expect(new Uint8Array(readFileSync(f.path))).toEqual(serializeSafetensors(fresh));
  });

  it('removes temp files left by writers that died (kill -9), keeps live writers\' and other targets\'', () => {
    const sub = mkdtempSync(join(dir, 'stale-'));
    const { pid: deadPid } = spawnSync(process.execPath, ['-e', '']); // has exited by now
    expect(deadPid).toBeGreaterThan(0);
    const stale = [`m.safetensors.tmp-${deadPid}-k3j9x0qa`, `m.safetensors.tmp-${deadPid}-z`];
    const kept = [
      `m.safetensors.tmp-${process.ppid}-abcdefgh`, // another process that is still running
      `m.safetensors.tmp-${process.pid}-abcdefgh`, // this process (a worker thread may be mid-save)
      `other.safetensors.tmp-${deadPid}-abcdefgh`, // a different target
      `m.safetensors.tmp-${deadPid}-notours.bak`, // not our naming pattern
      'm.safetensors.bak',
    ];
    for (const name of [...stale, ...kept]) writeFileSync(join(sub, name), 'partial');
    saveSafetensors(join(sub, 'm.safetensors'), fresh);
    expect(readdirSync(sub).sort()).toEqual([...kept, 'm.safetensors'].sort());
  });

  it('does not create directories', () => {
    const path = join(dir, 'no-such-dir', 'm.safetensors');
    expect(() => saveSafetensors(path, fresh)).toThrow(ValueError);
    expect(() => saveSafetensors(path, fresh)).toThrow(`safetensors: cannot save '${path}': directory '${join(dir, 'no-such-dir')}' does not exist`);
    expect(readdirSync(dir)).not.toContain('no-such-dir');
  });
});
