// The command's streaming readers (src/cli/files.ts) on files written by the test's own writers:
// every dtype of both formats, .npy versions 1.0/2.0/3.0, batches with reused buffers, a sparse file
// of several GiB read at its end with bounded memory, and every error the command reports.
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkPair, FileError, openTensorFile, type TensorFile } from '../../src/cli/files.js';
import { LossError } from '../../src/index.js';
import { bf16Exact, bytesOf, f16Exact, npyBytes, safetensorsBytes } from './writers.js';

const dir = mkdtempSync(join(tmpdir(), 'wgl-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(name: string, bytes: Uint8Array | string): string {
  const p = join(dir, `${n++}-${name}`);
  writeFileSync(p, bytes);
  return p;
}

/** Values every dtype holds exactly: k/8 for k in [-64, 64]. */
const values = (len: number) => Array.from({ length: len }, (_, i) => (((i * 37) % 129) - 64) / 8);

const DTYPES = [
  { dtype: 'float32', npy: '<f4', st: 'F32', make: (v: number[]) => new Float32Array(v), read: (d: any) => Array.from(d.data as Float32Array) },
  { dtype: 'float16', npy: '<f2', st: 'F16', make: (v: number[]) => new Uint16Array(v.map(f16Exact)), read: (d: any) => Array.from(d.data as Uint16Array).map(f16Back) },
  { dtype: 'bfloat16', npy: undefined, st: 'BF16', make: (v: number[]) => new Uint16Array(v.map(bf16Exact)), read: (d: any) => Array.from(d.data as Uint16Array).map(bf16Back) },
  { dtype: 'int32', npy: '<i4', st: 'I32', make: (v: number[]) => new Int32Array(v.map((x) => x * 8)), read: (d: any) => Array.from(d.data as Int32Array).map((x) => x / 8) },
  { dtype: 'int64', npy: '<i8', st: 'I64', make: (v: number[]) => new BigInt64Array(v.map((x) => BigInt(x * 8))), read: (d: any) => Array.from(d.data as BigInt64Array).map((x) => Number(x) / 8) },
] as const;
function f16Back(b: number): number {
  const e = (b >> 10) & 31, m = b & 1023, s = b & 0x8000 ? -1 : 1;
  return e === 0 ? s * m * 2 ** -24 : s * (1 + m / 1024) * 2 ** (e - 15);
}
function bf16Back(b: number): number {
  return new Float32Array(new Uint32Array([b << 16]).buffer)[0];
}

/** Reads the whole file in batches of `batch` rows through two alternating buffers, checking each batch's type and shape. */
async function readAll(f: TensorFile, batch: number, read: (d: any) => number[]): Promise<number[]> {
  const bufs = [new ArrayBuffer(batch * f.rowBytes), new ArrayBuffer(batch * f.rowBytes)];
  const out: number[] = [];
  for (let start = 0, slot = 0; start < f.rows; start += batch, slot ^= 1) {
    const count = Math.min(batch, f.rows - start);
    const b = await f.readRows(start, count, bufs[slot]);
    expect(b.data.buffer).toBe(bufs[slot]);
    expect(b.shape).toEqual([count, ...f.shape.slice(1)]);
    expect(b.data.length).toBe(count * f.rowElements);
    out.push(...read(b));
  }
  return out;
}

describe('every dtype, both formats, read in batches', () => {
  const shape = [23, 3, 2];
  const v = values(23 * 6);
  for (const t of DTYPES) {
    it(`${t.dtype}`, async () => {
      const data = bytesOf(t.make(v));
      const paths = [file('x.safetensors', safetensorsBytes({ other: { dtype: 'F32', shape: [2], data: bytesOf(new Float32Array([1, 2])) }, x: { dtype: t.st, shape, data } }, { format: 'pt' }))];
      if (t.npy) for (const version of [1, 2, 3] as const) paths.push(file(`v${version}.npy`, npyBytes(t.npy, shape, data, { version })));
      for (const p of paths) {
        const f = await openTensorFile(p, 'x');
        try {
          expect([f.dtype, f.shape, f.rows, f.rowElements, f.rowBytes]).toEqual([t.dtype, shape, 23, 6, data.length / 23]);
          expect(f.format).toBe(p.endsWith('.npy') ? 'npy' : 'safetensors');
          const whole = await f.readRows(0, 23);
          if (t.dtype === 'float16' || t.dtype === 'bfloat16') expect((whole as { dtype: string }).dtype).toBe(t.dtype);
          else expect('dtype' in whole).toBe(false);
          expect(whole.data.constructor.name).toBe({ float32: 'Float32Array', float16: 'Uint16Array', bfloat16: 'Uint16Array', int32: 'Int32Array', int64: 'BigInt64Array' }[t.dtype]);
          expect(t.read(whole)).toEqual(v);
          expect(await readAll(f, 5, t.read)).toEqual(v); // 5 batches, the last of 3 rows
          expect(t.read(await f.readRows(22, 1))).toEqual(v.slice(22 * 6));
          expect(t.read(await f.readRows(4, 0))).toEqual([]);
          await expect(f.readRows(20, 4)).rejects.toThrow(/outside \[0, 23\)/);
        } finally {
          await f.close();
        }
      }
    });
  }

  it('shapes: 1-D, 0-d, empty, and numpy\'s header spelling variants', async () => {
    const one = await openTensorFile(file('a.npy', npyBytes('<i8', [4], bytesOf(new BigInt64Array([1n, -2n, 3n, -100n])))));
    expect([one.shape, one.rows, one.rowElements]).toEqual([[4], 4, 1]);
    expect(Array.from((await one.readRows(1, 3)).data as BigInt64Array)).toEqual([-2n, 3n, -100n]);
    await one.close();
    const scalar = await openTensorFile(file('s.npy', npyBytes('<f4', [], bytesOf(new Float32Array([2.5])))));
    expect([scalar.shape, scalar.rows, scalar.rowElements]).toEqual([[], 1, 1]);
    expect(Array.from((await scalar.readRows(0, 1)).data as Float32Array)).toEqual([2.5]);
    await scalar.close();
    const empty = await openTensorFile(file('e.safetensors', safetensorsBytes({ labels: { dtype: 'I32', shape: [0, 7], data: new Uint8Array(0) } })), 'labels');
    expect([empty.rows, empty.rowBytes, empty.dataBytes]).toEqual([0, 28, 0]);
    await empty.close();
    // Keys in another order, double quotes, no trailing comma, a Python 2 long, Fortran order of a vector (same bytes as C).
    const dict = `{"shape": (2L, 1), 'fortran_order': True, "descr": "<f4"}`;
    const odd = await openTensorFile(file('odd.npy', npyBytes('', [], bytesOf(new Float32Array([1, 2])), { dict })));
    expect([odd.shape, Array.from((await odd.readRows(0, 2)).data as Float32Array)]).toEqual([[2, 1], [1, 2]]);
    await odd.close();
  });
});

it('a sparse file of 3 GiB: the header is checked against the size and rows at its end come back with bounded memory', async () => {
  const rows = 3 * 1024, C = 256 * 1024; // 3 GiB of float32, rows of 1 MiB
  const header = npyBytes('<f4', [rows, C], new Uint8Array(0), { version: 2 });
  const p = join(dir, 'big.npy');
  const fd = openSync(p, 'w');
  writeSync(fd, header);
  closeSync(fd);
  truncateSync(p, header.length + rows * C * 4 - 4); // one float short first: truncated
  await expect(openTensorFile(p)).rejects.toThrow(/truncated: shape \(3072, 262144\) of float32 needs 3221225472 data bytes, the file holds 3221225468/);
  const fd2 = openSync(p, 'r+');
  writeSync(fd2, bytesOf(new Float32Array([7.5])), 0, 4, header.length + rows * C * 4 - 4); // the last value
  closeSync(fd2);
  const before = process.memoryUsage().rss;
  const f = await openTensorFile(p);
  const buf = new ArrayBuffer(2 * f.rowBytes);
  const last = await f.readRows(rows - 2, 2, buf);
  expect([last.data.length, (last.data as Float32Array)[2 * C - 1], (last.data as Float32Array)[0]]).toEqual([2 * C, 7.5, 0]);
  expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  await f.close();
  rmSync(p);
});

describe('errors name the file and what is wrong', () => {
  const f32 = bytesOf(new Float32Array([1, 2, 3, 4, 5, 6]));
  const cases: [string, () => string, RegExp, string?][] = [
    ['missing file', () => join(dir, 'nope.npy'), /nope\.npy: no such file$/],
    ['a directory', () => { const d = join(dir, 'd.npy'); rmSync(d, { force: true, recursive: true }); mkdirSync(d); return d; }, /d\.npy: is a directory|is not a regular file/],
    ['unknown extension', () => file('x.bin', f32), /x\.bin: unknown extension "\.bin": expected \.npy or \.safetensors/],
    ['no extension', () => file('x', f32), /unknown extension "\(none\)"/],
    ['bad npy magic', () => file('m.npy', f32), /bad \.npy file: it does not start with the magic/],
    ['short npy', () => file('short.npy', new Uint8Array([0x93, 0x4e])), /bad \.npy file: 2 bytes/],
    ['npy version 4', () => { const b = npyBytes('<f4', [6], f32); b[6] = 4; return file('v4.npy', b); }, /unsupported \.npy version 4\.0/],
    ['npy header longer than the file', () => file('h.npy', npyBytes('<f4', [6], f32).slice(0, 40)), /truncated: the \.npy header claims 118 bytes/],
    ['npy header not a dict', () => file('d.npy', npyBytes('', [], f32, { dict: "descr='<f4'" })), /bad \.npy header: expected '\{' at 0/],
    ['npy header without shape', () => file('s.npy', npyBytes('', [], f32, { dict: "{'descr': '<f4', 'fortran_order': False}" })), /bad \.npy header: no 'shape'/],
    ['npy negative dim', () => file('neg.npy', npyBytes('<f4', [-1, 6], f32)), /bad header: shape \[-1,6\]/],
    ['npy float64', () => file('f8.npy', npyBytes('<f8', [3], f32)), /unsupported dtype float64: expected float32, float16, int32 or int64 \(numpy: a\.astype\(np\.float32\)\)/],
    ['npy uint8', () => file('u1.npy', npyBytes('|u1', [24], f32)), /unsupported dtype uint8/],
    ['npy structured', () => file('st.npy', npyBytes('', [], f32, { dict: "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (6,), }" })), /unsupported dtype: a structured array/],
    ['npy big-endian', () => file('be.npy', npyBytes('>f4', [6], f32)), /big-endian data \('>f4'\) is not supported/],
    ['npy Fortran order', () => file('fo.npy', npyBytes('<f4', [2, 3], f32, { fortran: true })), /Fortran-order data \(fortran_order: True\) is not supported/],
    ['npy truncated data', () => file('t.npy', npyBytes('<f4', [2, 3], f32).slice(0, -1)), /truncated: shape \(2, 3\) of float32 needs 24 data bytes, the file holds 23/],
    ['safetensors shorter than 8 bytes', () => file('a.safetensors', new Uint8Array(5)), /bad \.safetensors file: 5 bytes/],
    ['safetensors huge header length (not safetensors)', () => file('b.safetensors', npyBytes('<f4', [6], f32)), /bad \.safetensors file: a header length of \d+ bytes/],
    ['safetensors header past the end', () => file('c.safetensors', safetensorsBytes({ logits: { dtype: 'F32', shape: [6], data: f32 } }).slice(0, 30)), /truncated: the \.safetensors header is \d+ bytes/],
    ['safetensors header not JSON', () => { const b = safetensorsBytes({ logits: { dtype: 'F32', shape: [6], data: f32 } }); b[8] = 0x7b + 1; return file('j.safetensors', b); }, /bad \.safetensors header: not JSON/],
    ['safetensors missing key', () => file('k.safetensors', safetensorsBytes({ a: { dtype: 'F32', shape: [6], data: f32 }, b: { dtype: 'F32', shape: [6], data: f32 } }, { x: 'y' })), /no tensor "logits"; the file holds "a", "b"/],
    ['safetensors F64', () => file('f64.safetensors', safetensorsBytes({ logits: { dtype: 'F64', shape: [3], data: f32 } })), /tensor "logits": unsupported dtype "F64": expected F32, F16, BF16, I32 or I64/],
    ['safetensors offsets disagree with the shape', () => file('o.safetensors', safetensorsBytes({ logits: { dtype: 'F32', shape: [7], data: f32 } })), /tensor "logits" of shape \[7\] F32 needs 28 bytes, its data_offsets span 24/],
    ['safetensors truncated data', () => file('t.safetensors', safetensorsBytes({ logits: { dtype: 'F32', shape: [6], data: f32 } }).slice(0, -2)), /truncated: tensor "logits" ends at byte \d+, the file has \d+/],
  ];
  it.each(cases)('%s', async (_, make, message) => {
    const p = make();
    const err = await openTensorFile(p, 'logits').then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(FileError);
    expect(err).toBeInstanceOf(LossError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message.startsWith(p)).toBe(true);
    expect((err as Error).message).not.toMatch(/\n/);
  });

  it('data cut after opening: a read past the new end says truncated', async () => {
    const p = file('cut.npy', npyBytes('<f4', [3, 2], f32));
    const f = await openTensorFile(p);
    truncateSync(p, 100);
    await expect(f.readRows(0, 3)).rejects.toThrow(/truncated: the file ends at byte 100, before byte 152 that its header describes$/);
    await f.close();
  });
});

describe('checkPair: logits and labels that go together', () => {
  const open = (name: string, descr: string, shape: number[], bytes: number) => openTensorFile(file(name, npyBytes(descr, shape, new Uint8Array(bytes))));
  const pair = async (l: [string, number[], number], t: [string, number[], number], binary = false) => {
    const [a, b] = [await open('l.npy', ...l), await open('t.npy', ...t)];
    try {
      checkPair(a, b, binary);
    } finally {
      await a.close();
      await b.close();
    }
  };
  it('accepts (N, C) with (N), (N, C, d) with (N, d), binary (N) / (N, 1) with (N) / (N, 1) of any dtype', async () => {
    await pair(['<f4', [4, 3], 48], ['<i8', [4], 32]);
    await pair(['<f2', [4, 3, 2], 48], ['<i4', [4, 2], 32]);
    await pair(['<f4', [4], 16], ['<f4', [4, 1], 16], true);
    await pair(['<f4', [4, 1], 16], ['<i8', [4], 32], true);
  });
  it.each([
    ['rows differ', ['<f4', [4, 3], 48], ['<i8', [5], 40], false, /shape mismatch: logits .*l\.npy have 4 rows \(4, 3\), labels .*t\.npy have 5 \(5,\)/],
    ['K-dim labels differ', ['<f4', [4, 3, 2], 96], ['<i8', [4, 3], 96], false, /shape mismatch: logits \(4, 3, 2\) need labels \(4, 2\), .* is \(4, 3\)/],
    ['scalar labels', ['<f4', [4, 3], 48], ['<i8', [], 8], false, /shape mismatch: .* labels .* have none \(\)/],
    ['int logits', ['<i4', [4, 3], 48], ['<i8', [4], 32], false, /logits are int32; expected float32, float16 or bfloat16/],
    ['float labels', ['<f4', [4, 3], 48], ['<f4', [4], 16], false, /labels are float32; class indices must be int32 or int64 \(or use --binary/],
    ['1-D logits without --binary', ['<f4', [4], 16], ['<i8', [4], 32], false, /logits are \(4,\); expected \(N, C\)/],
    ['binary logits (N, 2)', ['<f4', [4, 2], 32], ['<f4', [4, 2], 32], true, /binary logits are \(4, 2\); expected \(N\) or \(N, 1\)/],
  ] as const)('rejects %s', async (_, l, t, binary, message) => {
    await expect(pair(l as never, t as never, binary)).rejects.toThrow(message);
  });
});
