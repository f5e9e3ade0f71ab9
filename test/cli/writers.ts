/**
 * Tiny writers of .npy and .safetensors files for the command's tests, written from the formats'
 * specifications and independent of the reader under test (src/cli/files.ts), plus exact half
 * encoders (they refuse a value the dtype cannot hold, so a test's float64 reference is the very
 * value in the file) and the float64 metrics of issue 13.
 */

/** The bytes of a typed array (little-endian host). */
export function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export interface NpyOptions {
  /** Format version: 1 (2-byte header length), 2 or 3 (4-byte; 3 is UTF-8). Default 1. */
  version?: 1 | 2 | 3;
  fortran?: boolean;
  /** The dict text as is (for malformed headers); default numpy's repr. */
  dict?: string;
}

/** A .npy file as numpy.lib.format writes it: magic, version, header length, the dict padded to 64 bytes, the data. */
export function npyBytes(descr: string, shape: readonly number[], data: Uint8Array, o: NpyOptions = {}): Uint8Array {
  const version = o.version ?? 1;
  const shapeText = `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;
  let dict = o.dict ?? `{'descr': '${descr}', 'fortran_order': ${o.fortran ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  const pre = version === 1 ? 10 : 12;
  const pad = 64 - ((pre + Buffer.byteLength(dict) + 1) % 64);
  dict += ' '.repeat(pad % 64) + '\n';
  const header = Buffer.from(dict, version === 3 ? 'utf8' : 'latin1');
  const out = new Uint8Array(pre + header.length + data.length);
  out.set([0x93, ...Buffer.from('NUMPY'), version, 0]);
  const dv = new DataView(out.buffer);
  if (version === 1) dv.setUint16(8, header.length, true);
  else dv.setUint32(8, header.length, true);
  out.set(header, pre);
  out.set(data, pre + header.length);
  return out;
}

export interface StTensor { dtype: string; shape: readonly number[]; data: Uint8Array }

/** A .safetensors file: u64 LE header length, the JSON header (space-padded to 8 bytes), the tensors' bytes in order. */
export function safetensorsBytes(tensors: Record<string, StTensor>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length] };
    offset += t.data.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const h = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + h.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  let at = 8 + h.length;
  for (const t of Object.values(tensors)) {
    out.set(t.data, at);
    at += t.data.length;
  }
  return out;
}

/** float16 bits of a value float16 holds exactly (normal or zero; throws otherwise). */
export function f16Exact(v: number): number {
  if (v === 0) return Object.is(v, -0) ? 0x8000 : 0;
  const s = v < 0 ? 0x8000 : 0, a = Math.abs(v);
  const e = Math.floor(Math.log2(a));
  const m = a / 2 ** e - 1; // in [0, 1)
  const mant = m * 1024;
  if (e < -14 || e > 15 || !Number.isInteger(mant)) throw new Error(`${v} is not a normal float16`);
  return s | ((e + 15) << 10) | mant;
}

/** bfloat16 bits of a value bfloat16 holds exactly (throws otherwise). */
export function bf16Exact(v: number): number {
  const u = new Uint32Array(new Float32Array([v]).buffer)[0];
  if ((u & 0xffff) !== 0 || Math.fround(v) !== v) throw new Error(`${v} is not a bfloat16`);
  return u >>> 16;
}

/** Float64 metrics of issue 13 over row-major (N, C) logits and class labels. */
export function classMetrics(x: ArrayLike<number>, N: number, C: number, labels: ArrayLike<number>, o: { ignoreIndex: number; topK: number[]; bins: number }) {
  let count = 0, ce = 0, ent = 0, brier = 0, correct = 0;
  const top = o.topK.map(() => 0);
  const binN = new Array(o.bins).fill(0), binAcc = new Array(o.bins).fill(0), binConf = new Array(o.bins).fill(0);
  let nearestEdge = Infinity; // the smallest distance of a confidence to a bin edge (the test keeps it far from float32 noise)
  for (let n = 0; n < N; n++) {
    const t = labels[n];
    if (t === o.ignoreIndex) continue;
    count++;
    const row = Array.from({ length: C }, (_, c) => x[n * C + c]);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    const p = row.map((v) => Math.exp(v - lse));
    ce += lse - row[t];
    ent -= p.reduce((s, pc, c) => s + (pc > 0 ? pc * (row[c] - lse) : 0), 0);
    brier += p.reduce((s, pc, c) => s + (pc - (c === t ? 1 : 0)) ** 2, 0);
    const rank = row.filter((v, c) => v > row[t] || (v === row[t] && c < t)).length;
    if (rank === 0) correct++;
    o.topK.forEach((k, i) => { if (rank < k) top[i]++; });
    const conf = Math.max(...p);
    const b = Math.min(o.bins - 1, Math.max(0, Math.ceil(conf * o.bins) - 1));
    for (let i = 1; i < o.bins; i++) nearestEdge = Math.min(nearestEdge, Math.abs(conf - i / o.bins));
    binN[b]++;
    binAcc[b] += rank === 0 ? 1 : 0;
    binConf[b] += conf;
  }
  let ece = 0;
  for (let b = 0; b < o.bins; b++) if (binN[b]) ece += (binN[b] / count) * Math.abs(binAcc[b] / binN[b] - binConf[b] / binN[b]);
  const r: Record<string, number> = { rows: N, count, crossEntropy: ce / count, perplexity: Math.exp(ce / count), accuracy: correct / count };
  o.topK.forEach((k, i) => { r[`top${k}`] = top[i] / count; });
  Object.assign(r, { entropy: ent / count, ece, brier: brier / count });
  return { metrics: r, nearestEdge };
}

/** Float64 BCE-with-logits mean and accuracy at 0.5 of sigmoid outputs z with 0/1 labels y. */
export function binaryMetrics(z: ArrayLike<number>, y: ArrayLike<number>) {
  let bce = 0, correct = 0;
  for (let i = 0; i < z.length; i++) {
    bce += Math.max(z[i], 0) - z[i] * y[i] + Math.log1p(Math.exp(-Math.abs(z[i])));
    if ((z[i] > 0 ? 1 : 0) === y[i]) correct++;
  }
  return { rows: z.length, count: z.length, bce: bce / z.length, accuracy: correct / z.length };
}
