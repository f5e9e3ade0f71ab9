// The benchmark cases (issue 4): which ops at which shapes, the presets, and the synthetic inputs
// (seeded, so every implementation and both environments see the same numbers).

import { fromHalfBits, toHalfBits } from './half.mjs';

/**
 * Ops: cross-entropy with class-index targets ('mean'), softmax, logSoftmax, BCE-with-logits ('mean'), and
 * (issue 5) cross-entropy with class-index targets ('mean') together with its gradient w.r.t. the logits;
 * (issue 11) cross-entropy and softmax on half-precision logits (HALF_OPS).
 */
export const OPS = ['ce', 'ceF16', 'ceBf16', 'softmax', 'softmaxF16', 'logSoftmax', 'bce', 'ceGrad', 'ceZ'];

/**
 * The half-precision ops (issue 11): an op of the float32 suite (`base`) on logits given as float16 or
 * bfloat16 bits. Their logits are the base case's seeded float32 logits rounded to the dtype, and the
 * float64 reference is taken on those rounded values; softmax's output is in the input's dtype (the
 * library's default). Only this library, the floors and ONNX Runtime Web's WebGPU Softmax run them.
 */
export const HALF_OPS = {
  ceF16: { base: 'ce', dtype: 'float16' },
  ceBf16: { base: 'ce', dtype: 'bfloat16' },
  softmaxF16: { base: 'softmax', dtype: 'float16' },
};

/** The float32 op an op computes ('ceF16' → 'ce'), and its logits' dtype. */
export const baseOp = (op) => HALF_OPS[op]?.base ?? op;
export const dtypeOf = (op) => HALF_OPS[op]?.dtype ?? 'float32';
export const isHalf = (op) => op in HALF_OPS;

/** The z-loss coefficient and logit softcap of 'ceZ' (PaLM's 1e-4; Gemma 2's 30). */
export const CE_Z = { zLoss: 1e-4, softcap: 30 };

export const OP_LABELS = {
  ce: 'cross-entropy (index targets, mean)',
  ceF16: 'cross-entropy (index targets, mean), float16 logits',
  ceBf16: 'cross-entropy (index targets, mean), bfloat16 logits',
  softmaxF16: 'softmax, float16 in and out',
  softmax: 'softmax',
  logSoftmax: 'logSoftmax',
  bce: 'BCE with logits (mean)',
  ceGrad: 'cross-entropy + gradient (mean)',
  ceZ: 'cross-entropy with z-loss 1e-4 and softcap 30 (mean)',
};

/** Shapes per op for the full suite. */
export const FULL_SHAPES = {
  ce: ['4096x1000', '512x32000', '65536x10', '8x128256', '32x10', '256x100'],
  ceF16: ['512x32000', '8x128256'],
  ceBf16: ['512x32000', '8x128256'],
  softmax: ['4096x1000', '512x32000'],
  softmaxF16: ['512x32000'],
  logSoftmax: ['4096x1000', '512x32000'],
  bce: ['16M'],
  ceGrad: ['4096x1000', '512x32000', '32x10', '256x100'],
  ceZ: ['512x32000'],
};

/** The CI preset: one shape per op family, small enough that the whole run takes well under 3 minutes. */
export const QUICK_SHAPES = {
  ce: ['4096x1000'],
  ceF16: [],
  ceBf16: [],
  softmax: ['4096x1000'],
  softmaxF16: [],
  logSoftmax: [],
  bce: ['1M'],
  ceGrad: ['4096x1000'],
  ceZ: [],
};

/**
 * The default run (`npm run bench`, about 3.5 minutes on 2 cores): every implementation on the key
 * shapes: cross-entropy on each kind of row the dispatcher plans for (ordinary, LLM vocabulary, few
 * classes, a few very long rows), softmax (ONNX Runtime's WebGPU provider runs only softmax), BCE,
 * the loss with its gradient, cross-entropy on float16 and bfloat16 logits at the LLM vocabulary
 * (beside its float32 row), and the small batches of a training loop (cross-entropy at 32×10 and
 * 256×100, with its gradient at 256×100), where fixed per-call costs are all there is. The full suite (`--full`) adds logSoftmax, the 512×32000 softmax (also on
 * float16) and gradient, the half-precision cross-entropy at 8×128256, and BCE at 16M.
 */
export const DEFAULT_SHAPES = {
  ce: ['4096x1000', '512x32000', '65536x10', '8x128256', '32x10', '256x100'],
  ceF16: ['512x32000'],
  ceBf16: ['512x32000'],
  softmax: ['4096x1000'],
  softmaxF16: [],
  logSoftmax: [],
  bce: ['1M'],
  ceGrad: ['4096x1000', '256x100'],
  ceZ: ['512x32000'],
};

export const PRESETS = { quick: QUICK_SHAPES, default: DEFAULT_SHAPES, full: FULL_SHAPES };

/**
 * Timing per preset ({ runs, minRuns, budgetMs } for timing.mjs's measure()). The slowest baselines
 * (seconds per call) are held to minRuns, so the default's 2 is what keeps it near 3.5 minutes.
 */
export const PRESET_TIMING = {
  quick: { runs: 5, minRuns: 3, budgetMs: 800 },
  default: { runs: 5, minRuns: 2, budgetMs: 1000 },
  full: { runs: 10, minRuns: 3, budgetMs: 2500 },
};

/** "4096x1000" → [4096, 1000]; "16M" → [16777216]; "1M" → [1048576]; "1000" → [1000]. */
export function parseShape(label) {
  const dims = String(label).toLowerCase().split('x').map((d) => {
    const m = /^(\d+)([km]?)$/.exec(d.trim());
    if (!m) throw new Error(`bad shape "${label}" (use NxC, or a length such as 16M)`);
    return Number(m[1]) * (m[2] === 'm' ? 1 << 20 : m[2] === 'k' ? 1 << 10 : 1);
  });
  if (dims.some((d) => d < 1)) throw new Error(`bad shape "${label}"`);
  return dims;
}

/** Whether an op takes a shape of this rank: row ops need (N, C), BCE any (one flat array here). */
export function fits(op, dims) {
  return op === 'bce' ? dims.length === 1 : dims.length === 2;
}

/**
 * The list of cases: `ops` (default all) × `shapes` (default the preset's shapes for each op; the
 * preset is 'quick' with `quick`, else 'full' unless named). A case is { op, shape: label, dims, id }.
 */
export function selectCases({ ops, shapes, quick, preset = quick ? 'quick' : 'full' } = {}) {
  const presetShapes = PRESETS[preset];
  if (!presetShapes) throw new Error(`unknown preset "${preset}" (presets: ${Object.keys(PRESETS).join(', ')})`);
  const chosen = ops && ops.length ? ops : OPS;
  for (const op of chosen) if (!OPS.includes(op)) throw new Error(`unknown op "${op}" (ops: ${OPS.join(', ')})`);
  const cases = [];
  for (const op of chosen) {
    const labels = shapes && shapes.length ? shapes : presetShapes[op];
    for (const label of labels) {
      const dims = parseShape(label);
      if (!fits(op, dims)) continue;
      cases.push({ op, shape: label, dims, id: `${op} ${label}`, base: baseOp(op), dtype: dtypeOf(op) });
    }
  }
  return cases;
}

/**
 * Bytes the op must move at least: inputs read (+ the output written for softmax/logSoftmax). The loss
 * with its gradient reads the logits twice (the row's log-sum-exp first, then softmax − one-hot), the
 * targets once, and writes the gradient once. Half-precision logits (and softmax outputs) count 2 bytes
 * an element, int32 targets 4.
 */
export function bytesOf(c) {
  const n = c.dims.reduce((a, b) => a * b, 1);
  const e = dtypeOf(c.op) === 'float32' ? 4 : 2;
  const op = baseOp(c.op);
  if (op === 'ce' || op === 'ceZ') return e * n + 4 * c.dims[0];
  if (op === 'ceGrad') return 3 * e * n + 4 * c.dims[0];
  if (op === 'bce') return 8 * n;
  return 2 * e * n;
}

/** mulberry32: a small seeded generator, the same in Node and in the browser. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Inputs of a case: logits x uniform in [-4, 4); class indices t for 'ce', 'ceGrad' and 'ceZ'; BCE targets y in [0, 1).
 * Seeded by the case id, so a case has the same data in every environment and run. A half-precision
 * case (HALF_OPS) gets its float32 case's data with the logits rounded to its dtype (nearest even):
 * `bits` (Uint16Array), `words` (the same bytes as Uint32Array words, 2 halves each, zero-padded to a
 * whole word), `dtype`, and `x` the rounded values decoded to float32 (what the reference and the
 * check use).
 */
export function makeData(c, seed = 20240521) {
  const op = baseOp(c.op), dtype = dtypeOf(c.op);
  if (dtype !== 'float32') {
    const data = makeData({ op, shape: c.shape, dims: c.dims, id: `${op} ${c.shape}` }, seed);
    const bits = toHalfBits(data.x, dtype);
    const padded = bits.length % 2 ? new Uint16Array(bits.length + 1) : bits;
    if (padded !== bits) padded.set(bits);
    return { ...data, x: fromHalfBits(bits, dtype), bits, words: new Uint32Array(padded.buffer, 0, padded.length / 2), dtype };
  }
  let h = seed;
  for (const ch of c.id) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  const r = rng(h);
  const n = c.dims.reduce((a, b) => a * b, 1);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = r() * 8 - 4;
  const data = { x, n };
  if (c.op === 'ce' || c.op === 'ceGrad' || c.op === 'ceZ') {
    const [N, C] = c.dims;
    data.N = N; data.C = C;
    data.t = new Int32Array(N);
    for (let i = 0; i < N; i++) data.t[i] = Math.floor(r() * C);
  } else if (c.op === 'bce') {
    data.y = new Float32Array(n);
    for (let i = 0; i < n; i++) data.y[i] = r();
  } else {
    [data.N, data.C] = c.dims;
  }
  return data;
}
