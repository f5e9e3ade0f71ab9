/**
 * The PyTorch fixtures of linearCrossEntropy (test/fixtures/torch-linear/, written by scripts/torch-fixtures-linear.py,
 * torch 1.13 in float64): loading only. The loss is cross-entropy on z = hidden @ weight.T + bias (softcap, z-loss,
 * label smoothing, ignoreIndex, reductions as in that script's docstring); the expected values are torch's loss
 * and the gradients of hidden, weight and bias (backward seed: gradOutput for 'none', else 1).
 *
 * - `loadLinearCases()`: every case of linearCrossEntropy.json (small and odd shapes, one case a line);
 * - `loadLargeLinearCases()`: the large vocabularies (V = 32000, 128256), each a `<name>.json` plus .npy files
 *   (`<name>-hidden|weight|bias.npy` float32 inputs, `<name>-grad-weight|grad-bias.npy` float64 expected), read
 *   by the small .npy reader below (format 1.0–3.0, '<f4' / '<f8', C order).
 * Non-finite numbers are the strings "NaN", "Infinity", "-Infinity" in the JSON.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type LinearReduction = 'none' | 'mean' | 'sum';

export interface LinearOptions {
  ignoreIndex?: number;
  labelSmoothing?: number;
  zLoss?: number;
  softcap?: number;
  reduction?: LinearReduction;
}

export interface LinearCase {
  name: string;
  N: number;
  D: number;
  V: number;
  /** (N, D), row-major. */
  hidden: Float32Array;
  /** (V, D), row-major (nn.Linear's layout: one row a class). */
  weight: Float32Array;
  /** (V). */
  bias?: Float32Array;
  /** (N) class indices; rows equal to ignoreIndex (default -100) contribute nothing. */
  target: Int32Array;
  options: LinearOptions;
  /** (N), reduction 'none' only: the upstream gradient (absent: all ones). */
  gradOutput?: Float32Array;
  expected: {
    /** A number for 'mean' / 'sum' (NaN for 'mean' over no rows), per row (N) for 'none'. */
    loss: number | Float64Array;
    grad: { hidden: Float64Array; weight: Float64Array; bias?: Float64Array };
  };
}

export const LINEAR_FIXTURE_DIR = fileURLToPath(new URL('./fixtures/torch-linear/', import.meta.url));
export const LINEAR_JSON = 'linearCrossEntropy.json';

// ------------------------------------------------------------------ decoding

type JsonNum = number | 'NaN' | 'Infinity' | '-Infinity';

interface JsonTensor {
  data: JsonNum[];
  shape: number[];
}

interface JsonTarget {
  data: number[];
  shape: number[];
}

interface JsonCase {
  name: string;
  hidden: JsonTensor;
  weight: JsonTensor;
  bias?: JsonTensor;
  target: JsonTarget;
  options: LinearOptions;
  gradOutput?: JsonTensor;
  expected: { loss: JsonNum | JsonTensor; grad: { hidden: JsonTensor; weight: JsonTensor; bias?: JsonTensor } };
}

interface JsonLargeCase {
  name: string;
  N: number;
  D: number;
  V: number;
  target: JsonTarget;
  options: LinearOptions;
  expected: { loss: JsonNum; grad: { hidden: JsonTensor } };
}

function decodeNumber(v: JsonNum): number {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  throw new Error(`linear fixture: bad number ${JSON.stringify(v)}`);
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function checkShape(where: string, shape: readonly number[], want: readonly number[]): void {
  if (shape.length !== want.length || shape.some((d, i) => d !== want[i])) {
    throw new Error(`linear fixture ${where}: shape [${shape}], expected [${want}]`);
  }
}

function f32(where: string, t: JsonTensor, want: readonly number[]): Float32Array {
  checkShape(where, t.shape, want);
  if (t.data.length !== numel(want)) throw new Error(`linear fixture ${where}: ${t.data.length} values for shape [${want}]`);
  return new Float32Array(t.data.map(decodeNumber));
}

function f64(where: string, t: JsonTensor, want: readonly number[]): Float64Array {
  checkShape(where, t.shape, want);
  if (t.data.length !== numel(want)) throw new Error(`linear fixture ${where}: ${t.data.length} values for shape [${want}]`);
  return new Float64Array(t.data.map(decodeNumber));
}

function targets(where: string, t: JsonTarget, N: number): Int32Array {
  checkShape(`${where} target`, t.shape, [N]);
  if (t.data.length !== N) throw new Error(`linear fixture ${where}: ${t.data.length} targets for N = ${N}`);
  return new Int32Array(t.data.map((v) => {
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new Error(`linear fixture ${where}: bad class index ${JSON.stringify(v)}`);
    return v;
  }));
}

/** Turns one parsed case of linearCrossEntropy.json into a LinearCase. */
export function decodeLinearCase(c: JsonCase): LinearCase {
  const w = c.name;
  if (c.hidden.shape.length !== 2 || c.weight.shape.length !== 2) throw new Error(`linear fixture ${w}: hidden/weight must be 2-D`);
  const [N, D] = c.hidden.shape;
  const V = c.weight.shape[0];
  const out: LinearCase = {
    name: c.name,
    N,
    D,
    V,
    hidden: f32(`${w} hidden`, c.hidden, [N, D]),
    weight: f32(`${w} weight`, c.weight, [V, D]),
    target: targets(w, c.target, N),
    options: { ...c.options },
    expected: {
      loss: typeof c.expected.loss === 'object' ? f64(`${w} loss`, c.expected.loss, [N]) : decodeNumber(c.expected.loss),
      grad: {
        hidden: f64(`${w} grad hidden`, c.expected.grad.hidden, [N, D]),
        weight: f64(`${w} grad weight`, c.expected.grad.weight, [V, D]),
      },
    },
  };
  if (c.bias) {
    out.bias = f32(`${w} bias`, c.bias, [V]);
    if (!c.expected.grad.bias) throw new Error(`linear fixture ${w}: a bias without its expected gradient`);
    out.expected.grad.bias = f64(`${w} grad bias`, c.expected.grad.bias, [V]);
  }
  if (c.gradOutput) out.gradOutput = f32(`${w} gradOutput`, c.gradOutput, [N]);
  return out;
}

/** Every case of test/fixtures/torch-linear/linearCrossEntropy.json, in file order (names unique). */
export function loadLinearCases(dir = LINEAR_FIXTURE_DIR): LinearCase[] {
  const parsed = JSON.parse(readFileSync(`${dir}/${LINEAR_JSON}`, 'utf8')) as JsonCase[];
  if (!Array.isArray(parsed)) throw new Error(`linear fixture: ${LINEAR_JSON} is not a list of cases`);
  return unique(parsed.map(decodeLinearCase));
}

function unique(cases: LinearCase[]): LinearCase[] {
  const names = new Set<string>();
  for (const c of cases) {
    if (names.has(c.name)) throw new Error(`linear fixture: duplicate case ${c.name}`);
    names.add(c.name);
  }
  return cases;
}

// ------------------------------------------------------------------ .npy, by hand

export interface NpyArray {
  dtype: '<f4' | '<f8';
  shape: number[];
  data: Float32Array | Float64Array;
}

/**
 * NumPy's .npy: the magic "\x93NUMPY", a version (major, minor), the header length (uint16 little-endian for
 * 1.0, uint32 for 2.0 and 3.0), a Python dict literal {'descr', 'fortran_order', 'shape'}, then the data.
 * Only little-endian float32 / float64 in C order.
 */
export function readNpy(bytes: Uint8Array, where = 'npy'): NpyArray {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.byteLength < 10 || !magic.every((b, i) => bytes[i] === b)) throw new Error(`${where}: not a .npy file`);
  const major = bytes[6];
  if (major < 1 || major > 3) throw new Error(`${where}: .npy version ${major}.${bytes[7]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr !== '<f4' && descr !== '<f8') throw new Error(`${where}: dtype ${descr ?? '?'} (only '<f4' and '<f8')`);
  if (fortran !== 'False') throw new Error(`${where}: fortran_order ${fortran ?? '?'} (only C order)`);
  if (shapeText === undefined) throw new Error(`${where}: no shape in header ${header}`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => {
    const n = Number(s.replace(/L$/, ''));
    if (!Number.isInteger(n) || n < 0) throw new Error(`${where}: bad shape (${shapeText})`);
    return n;
  });
  const width = descr === '<f4' ? 4 : 8;
  const n = numel(shape);
  const dataStart = start + headerLen;
  if (bytes.byteLength !== dataStart + n * width) {
    throw new Error(`${where}: ${bytes.byteLength - dataStart} data bytes for ${n} elements of ${descr}`);
  }
  const buf = bytes.slice(dataStart).buffer; // an aligned copy
  return { dtype: descr, shape, data: descr === '<f4' ? new Float32Array(buf) : new Float64Array(buf) };
}

function npy(dir: string, file: string, dtype: '<f4', shape: readonly number[]): Float32Array;
function npy(dir: string, file: string, dtype: '<f8', shape: readonly number[]): Float64Array;
function npy(dir: string, file: string, dtype: NpyArray['dtype'], shape: readonly number[]): NpyArray['data'] {
  const a = readNpy(new Uint8Array(readFileSync(`${dir}/${file}`)), file);
  if (a.dtype !== dtype) throw new Error(`${file}: dtype ${a.dtype}, expected ${dtype}`);
  checkShape(file, a.shape, shape);
  return a.data;
}

/** The large-vocabulary cases: every `<name>.json` of the directory but linearCrossEntropy.json, sorted by name. */
export function loadLargeLinearCases(dir = LINEAR_FIXTURE_DIR): LinearCase[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== LINEAR_JSON).sort();
  return unique(files.map((f) => {
    const c = JSON.parse(readFileSync(`${dir}/${f}`, 'utf8')) as JsonLargeCase;
    const { name, N, D, V } = c;
    if (`${name}.json` !== f) throw new Error(`linear fixture ${f}: its name is ${name}`);
    const out: LinearCase = {
      name,
      N,
      D,
      V,
      hidden: npy(dir, `${name}-hidden.npy`, '<f4', [N, D]),
      weight: npy(dir, `${name}-weight.npy`, '<f4', [V, D]),
      bias: npy(dir, `${name}-bias.npy`, '<f4', [V]),
      target: targets(name, c.target, N),
      options: { ...c.options },
      expected: {
        loss: decodeNumber(c.expected.loss),
        grad: {
          hidden: f64(`${name} grad hidden`, c.expected.grad.hidden, [N, D]),
          weight: npy(dir, `${name}-grad-weight.npy`, '<f8', [V, D]),
          bias: npy(dir, `${name}-grad-bias.npy`, '<f8', [V]),
        },
      },
    };
    return out;
  }));
}
