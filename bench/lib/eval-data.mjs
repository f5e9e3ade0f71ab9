// The evaluation benchmark's data (bench/eval.mjs, issue 13): the two test sets as .npy files,
// generated once with a seeded generator into a cache directory (bench/.cache/eval by default,
// gitignored), written a chunk of rows at a time (never whole in memory), each file first to a
// temporary name and renamed when complete, so an interrupted run leaves no truncated file behind.
//
// The logits look like a classifier's: uniform noise in [−4, 4) on every class, plus a boost on one
// class of each row (the target in 70% of the rows, another class otherwise) drawn uniformly in
// [0, ln(C·6.82) + 4), so the confidence (max probability) spreads over (0, 1) and every calibration
// bin, accuracy is neither 0 nor 1, and top-5 differs from top-1. Float16 logits are these values
// rounded to float16 (nearest even, bench/lib/half.mjs); labels are int64 class indices (what
// PyTorch and NumPy write by default), none ignored.
//
// As in the tests' random batches (test/eval-cases.ts), no row is ambiguous for a float32
// computation: a row whose confidence (in float64, on the values as stored) lies within 1e-5
// (relative) of an inner calibration bin edge i/15 gets its boost drawn again, so every
// implementation must put every row in the reference's bin.

import fs from 'node:fs';
import path from 'node:path';
import { rng } from './cases.mjs';
import { fromHalfBits, toHalfBits } from './half.mjs';

/** The calibration bins whose edges the generator keeps rows away from (bench/eval.mjs's evaluator). */
export const EDGE_BINS = 15;
/** How close (relative) to an edge a confidence counts as ambiguous (the tests' 1e-5). */
export const EDGE_REL = 1e-5;

/** Whether a confidence lies within EDGE_REL (relative) of an inner bin edge i/B. */
export function nearEdge(conf, bins = EDGE_BINS) {
  const k = Math.round(conf * bins);
  return k >= 1 && k <= bins - 1 && Math.abs(conf * bins - k) <= EDGE_REL * conf * bins;
}

/** max softmax of a row, in float64: 1 / Σ exp(x − max). */
function confidence(x, o, C) {
  let m = -Infinity;
  for (let j = 0; j < C; j++) if (x[o + j] > m) m = x[o + j];
  let S = 0;
  for (let j = 0; j < C; j++) S += Math.exp(x[o + j] - m);
  return 1 / S;
}

/** The cases of issue 13: id → rows, classes and the logits' dtype at scale 1. */
export const EVAL_CASES = {
  f32: { rows: 262144, C: 1000, dtype: 'float32' },
  f16: { rows: 8192, C: 32000, dtype: 'float16' },
};

/** Bumped whenever the generator changes (it is part of the file names). */
const GENERATOR = 'v2';
const SEED = 20240521;
const ITEM = { float32: 4, float16: 2 };
const DESCR = { float32: '<f4', float16: '<f2', int64: '<i8' };

/** The case at a scale: rows = max(1, round(rows·scale)); file stems and byte counts. */
export function scaledCase(id, scale) {
  const base = EVAL_CASES[id];
  if (!base) throw new Error(`unknown case "${id}" (cases: ${Object.keys(EVAL_CASES).join(', ')})`);
  const rows = Math.max(1, Math.round(base.rows * scale));
  const stem = `eval-${GENERATOR}-${rows}x${base.C}-${base.dtype}`;
  const logitsBytes = rows * base.C * ITEM[base.dtype];
  const labelsBytes = rows * 8;
  return {
    id, rows, C: base.C, dtype: base.dtype, shape: `${rows}x${base.C}`, stem,
    logitsBytes, labelsBytes, bytes: logitsBytes + labelsBytes,
  };
}

/** A .npy version 1.0 header for a C-order array (the header padded to a multiple of 64 bytes, as numpy does). */
export function npyHeader(descr, shape) {
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const unpadded = 10 + dict.length + 1;
  const total = Math.ceil(unpadded / 64) * 64;
  const text = dict + ' '.repeat(total - unpadded) + '\n';
  const out = Buffer.alloc(10 + text.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  out.writeUInt16LE(text.length, 8);
  out.write(text, 10, 'latin1');
  return out;
}

/** Where a case's files are, and whether both are there with the size their headers promise. */
export function filesOf(c, dir) {
  const logits = path.join(dir, `${c.stem}-logits.npy`);
  const labels = path.join(dir, `${c.stem}-labels.npy`);
  const size = (p) => { try { return fs.statSync(p).size; } catch { return -1; } };
  const want = (descr, shape, bytes) => npyHeader(descr, shape).length + bytes;
  const ready = size(logits) === want(DESCR[c.dtype], [c.rows, c.C], c.logitsBytes) && size(labels) === want(DESCR.int64, [c.rows], c.labelsBytes);
  return { logits, labels, ready };
}

/** Free bytes for an unprivileged user on the file system holding `dir` (what `df` reports as Avail). */
export function freeBytes(dir) {
  let d = path.resolve(dir);
  while (!fs.existsSync(d)) d = path.dirname(d);
  const s = fs.statfsSync(d);
  return { bytes: Number(s.bavail) * Number(s.bsize), at: d };
}

/**
 * Writes the case's logits and labels (rows in chunks of about 8 MiB). The row generator is seeded
 * by the case's id and shape, so a file is the same wherever it is generated.
 */
export function generate(c, files, { log = () => {} } = {}) {
  fs.mkdirSync(path.dirname(files.logits), { recursive: true });
  let h = SEED;
  for (const ch of `${c.id} ${c.shape}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  const r = rng(h);
  const C = c.C;
  const boostMax = Math.log(C * 6.82) + 4;
  const chunkRows = Math.max(1, Math.floor((8 << 20) / (C * 4)));
  const tmpX = `${files.logits}.${process.pid}.tmp`, tmpT = `${files.labels}.${process.pid}.tmp`;
  const fx = fs.openSync(tmpX, 'w'), ft = fs.openSync(tmpT, 'w');
  const t0 = Date.now();
  let redrawn = 0;
  try {
    fs.writeSync(fx, npyHeader(DESCR[c.dtype], [c.rows, C]));
    fs.writeSync(ft, npyHeader(DESCR.int64, [c.rows]));
    const half = c.dtype === 'float16';
    const x = new Float32Array(chunkRows * C);
    const bits = half ? new Uint16Array(chunkRows * C) : undefined;
    const decode = half ? fromHalfBits(Uint16Array.from({ length: 65536 }, (_, i) => i), 'float16') : undefined;
    const t = new BigInt64Array(chunkRows);
    const tw = new Int32Array(t.buffer); // little-endian: low word, high word (0 for a class index)
    for (let start = 0; start < c.rows; start += chunkRows) {
      const n = Math.min(chunkRows, c.rows - start);
      for (let i = 0; i < n; i++) {
        const o = i * C;
        for (let j = 0; j < C; j++) x[o + j] = r() * 8 - 4;
        const label = Math.floor(r() * C);
        const boosted = r() < 0.7 ? label : Math.floor(r() * C);
        const base = x[o + boosted];
        for (;;) {
          x[o + boosted] = base + r() * boostMax;
          if (half) {
            const row = toHalfBits(x.subarray(o, o + C), 'float16');
            bits.set(row, o);
            for (let j = 0; j < C; j++) x[o + j] = decode[row[j]]; // the values as stored
          }
          if (!nearEdge(confidence(x, o, C))) break;
          redrawn++;
        }
        tw[2 * i] = label;
        tw[2 * i + 1] = 0;
      }
      const bytes = half ? bits.subarray(0, n * C) : x.subarray(0, n * C);
      fs.writeSync(fx, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      fs.writeSync(ft, new Uint8Array(t.buffer, 0, n * 8));
    }
  } catch (err) {
    fs.closeSync(fx); fs.closeSync(ft);
    fs.rmSync(tmpX, { force: true }); fs.rmSync(tmpT, { force: true });
    throw err;
  }
  fs.closeSync(fx); fs.closeSync(ft);
  fs.renameSync(tmpX, files.logits);
  fs.renameSync(tmpT, files.labels);
  log(`eval: generated ${path.basename(files.logits)} and ${path.basename(files.labels)} (${(c.bytes / 1e9).toFixed(2)} GB) in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${redrawn} row${redrawn === 1 ? '' : 's'} drawn again (confidence at a bin edge)`);
}
