/**
 * Streaming readers of the two array files the `eval` command takes: NumPy `.npy` and
 * `.safetensors`. Each file is opened once, its header parsed and checked against the file's size,
 * and its data read a batch of whole rows at a time (`fs` reads at an offset into a buffer the caller
 * may reuse): memory stays at a batch or two, whatever the file's size.
 *
 * Why not a package: npyjs (the npm registry's npy parser) parses a whole file from an ArrayBuffer
 * (and pulls in cross-fetch to get one), and no maintained package reads .npy or .safetensors a
 * range of rows at a time (the `safetensors` package on npm is a 0.0.1 placeholder). Both formats are
 * small and fully specified, so the parsers below are written out:
 * - .npy (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html): the magic
 *   `\x93NUMPY`, a version byte pair (1.0: a 2-byte header length; 2.0 and 3.0: 4 bytes; 3.0's header
 *   is UTF-8), then a Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (N, C), }`
 *   and the data at the end of the header.
 * - .safetensors (https://github.com/huggingface/safetensors#format): an 8-byte little-endian header
 *   length N, N bytes of JSON `{ name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": … }`
 *   with offsets relative to the byte after the header.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import { extname } from 'node:path';
import { LossError } from '../index.js';

export type FileDtype = 'float32' | 'float16' | 'bfloat16' | 'int32' | 'int64';

const ITEM_BYTES: Record<FileDtype, number> = { float32: 4, float16: 2, bfloat16: 2, int32: 4, int64: 8 };

/** A batch as the library takes it. */
export type Batch =
  | { data: Float32Array; shape: number[] }
  | { data: Uint16Array; shape: number[]; dtype: 'float16' | 'bfloat16' }
  | { data: Int32Array | BigInt64Array; shape: number[] };

/** An open tensor file: its header, and its rows on demand. */
export interface TensorFile {
  readonly path: string;
  readonly format: 'npy' | 'safetensors';
  /** The tensor's name (safetensors only). */
  readonly key?: string;
  readonly dtype: FileDtype;
  readonly shape: readonly number[];
  /** The first dimension (1 for a 0-d tensor). */
  readonly rows: number;
  /** Elements and bytes of one row (the product of the other dims). */
  readonly rowElements: number;
  readonly rowBytes: number;
  /** Bytes of all the data. */
  readonly dataBytes: number;
  /**
   * Rows [start, start + count) as a library-ready tensor of shape (count, …shape[1:]). The bytes are
   * read into `buffer` when given (at least count·rowBytes bytes; its previous contents are
   * overwritten, so a batch still in use needs a buffer of its own), else into a new one.
   */
  readRows(start: number, count: number, buffer?: ArrayBuffer): Promise<Batch>;
  close(): Promise<void>;
}

/** The reader's errors: a LossError (the library's one error type), with what and where. */
export class FileError extends LossError {}

const fail = (path: string, message: string): never => {
  throw new FileError(`${path}: ${message}`);
};

/**
 * Opens a .npy or .safetensors file (by its extension) and checks its header: the dtype is one of
 * FileDtype, the order C, the byte order little-endian, and the file holds every byte the header
 * promises. `key` names the tensor in a .safetensors file.
 */
export async function openTensorFile(path: string, key?: string): Promise<TensorFile> {
  if (endianness() !== 'LE') throw new FileError('this reader needs a little-endian host');
  const ext = extname(path).toLowerCase();
  if (ext !== '.npy' && ext !== '.safetensors') {
    fail(path, `unknown extension ${JSON.stringify(ext || '(none)')}: expected .npy or .safetensors`);
  }
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new FileError(`${path}: ${why}`, { cause: err });
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) fail(path, 'is not a regular file');
    const size = st.size;
    const header = ext === '.npy' ? await npyHeader(fh, path, size) : await safetensorsHeader(fh, path, size, key ?? '');
    return tensorFile(fh, path, ext === '.npy' ? 'npy' : 'safetensors', ext === '.npy' ? undefined : key, header);
  } catch (err) {
    await fh.close().catch(() => {});
    throw err;
  }
}

interface Header { dtype: FileDtype; shape: number[]; offset: number }

/** Reads exactly `length` bytes at `position` into `target` (at 0); fails as truncated at the end of the file. */
async function readExactly(fh: FileHandle, path: string, target: Uint8Array, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(target, done, length - done, position + done);
    if (bytesRead === 0) {
      const size = await fh.stat().then((st) => st.size, () => position + done);
      fail(path, `truncated: the file ends at byte ${size}, before byte ${position + length} that its header describes`);
    }
    done += bytesRead;
  }
}

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function checkShape(path: string, shape: unknown): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(path, `bad header: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  }
  return shape as number[];
}

// ---------------------------------------------------------------- .npy

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const NPY_DTYPES: Record<string, FileDtype> = { f4: 'float32', f2: 'float16', i4: 'int32', i8: 'int64' };
const NPY_NAMES: Record<string, string> = { f8: 'float64', f16: 'float128', u1: 'uint8', i1: 'int8', u2: 'uint16', i2: 'int16', u4: 'uint32', u8: 'uint64', b1: 'bool', c8: 'complex64', c16: 'complex128' };
/** A sanity bound on the header (numpy writes a few hundred bytes; its reader refuses more than 10000 by default). */
const NPY_MAX_HEADER = 1 << 20;

async function npyHeader(fh: FileHandle, path: string, size: number): Promise<Header> {
  const pre = new Uint8Array(12);
  if (size < 10) fail(path, `bad .npy file: ${size} bytes, shorter than the magic and version`);
  await readExactly(fh, path, pre, Math.min(12, size), 0);
  if (!NPY_MAGIC.every((b, i) => pre[i] === b)) fail(path, 'bad .npy file: it does not start with the magic "\\x93NUMPY"');
  const major = pre[6], minor = pre[7];
  if (![1, 2, 3].includes(major) || minor !== 0) fail(path, `unsupported .npy version ${major}.${minor} (1.0, 2.0 and 3.0 are read)`);
  const lenBytes = major === 1 ? 2 : 4;
  if (size < 8 + lenBytes) fail(path, 'bad .npy file: truncated before the header length');
  const view = new DataView(pre.buffer);
  const headerLen = lenBytes === 2 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (headerLen > NPY_MAX_HEADER) fail(path, `bad .npy header: ${headerLen} bytes long`);
  const offset = 8 + lenBytes + headerLen;
  if (size < offset) fail(path, `truncated: the .npy header claims ${headerLen} bytes, the file has ${size - 8 - lenBytes} after the length`);
  const bytes = new Uint8Array(headerLen);
  await readExactly(fh, path, bytes, headerLen, 8 + lenBytes);
  let text: string;
  try {
    text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1', { fatal: major === 3 }).decode(bytes);
  } catch {
    return fail(path, 'bad .npy header: not UTF-8');
  }
  const { descr, fortran, shape } = parseNpyDict(path, text);
  const m = /^([<>|=])([a-zA-Z])(\d+)$/.exec(descr);
  if (!m) fail(path, `unsupported dtype ${JSON.stringify(descr)}: expected float32, float16, int32 or int64 ('<f4', '<f2', '<i4', '<i8')`);
  const [, order, kind, width] = m!;
  const code = kind + width;
  if (order === '>' && width !== '1') fail(path, `big-endian data ('${descr}') is not supported: save it little-endian (numpy: a.astype(a.dtype.newbyteorder('<')))`);
  const dtype = NPY_DTYPES[code];
  if (!dtype) {
    fail(path, `unsupported dtype ${NPY_NAMES[code] ?? JSON.stringify(descr)}: expected float32, float16, int32 or int64${code === 'f8' ? ' (numpy: a.astype(np.float32))' : ''}`);
  }
  if (order === '=' && endianness() !== 'LE') fail(path, `native byte order ('${descr}') is not little-endian here`);
  if (fortran && shape.filter((d) => d > 1).length > 1) {
    fail(path, "Fortran-order data (fortran_order: True) is not supported: save it in C order (numpy: np.ascontiguousarray(a))");
  }
  const dataBytes = numel(shape) * ITEM_BYTES[dtype];
  if (size < offset + dataBytes) {
    fail(path, `truncated: shape (${shape.join(', ')}) of ${dtype} needs ${dataBytes} data bytes, the file holds ${size - offset}`);
  }
  return { dtype, shape, offset };
}

/**
 * The header dict, as numpy writes it (`repr` of a dict with the keys descr, fortran_order, shape),
 * with a small literal parser (strings, True/False, tuples of integers) rather than regular
 * expressions over the whole text, so reordered keys and odd spacing parse too.
 */
function parseNpyDict(path: string, text: string): { descr: string; fortran: boolean; shape: number[] } {
  let i = 0;
  const bad = (what: string): never => fail(path, `bad .npy header: ${what} in ${JSON.stringify(text.trim().slice(0, 200))}`);
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const expect = (c: string) => {
    ws();
    if (text[i] !== c) bad(`expected '${c}' at ${i}`);
    i++;
  };
  const value = (): unknown => {
    ws();
    const c = text[i];
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) bad('an unterminated string');
      const s = text.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    if (c === '(' || c === '[') {
      const close = c === '(' ? ')' : ']';
      i++;
      const items: unknown[] = [];
      for (;;) {
        ws();
        if (text[i] === close) {
          i++;
          return items;
        }
        items.push(value());
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== close) bad(`expected ',' or '${close}' at ${i}`);
      }
    }
    const m = /^(True|False|-?\d+L?)/.exec(text.slice(i));
    if (!m) return bad(`an unexpected value at ${i}`);
    i += m[0].length;
    return m[0] === 'True' ? true : m[0] === 'False' ? false : Number(m[0].replace('L', ''));
  };
  expect('{');
  const dict: Record<string, unknown> = {};
  for (;;) {
    ws();
    if (text[i] === '}') break;
    const k = value();
    if (typeof k !== 'string') bad('a key that is not a string');
    expect(':');
    dict[k as string] = value();
    ws();
    if (text[i] === ',') i++;
    else if (text[i] !== '}') bad(`expected ',' or '}' at ${i}`);
  }
  for (const k of ['descr', 'fortran_order', 'shape']) if (!(k in dict)) bad(`no '${k}'`);
  if (typeof dict.descr !== 'string') {
    fail(path, `unsupported dtype: a structured array (descr ${JSON.stringify(dict.descr)}); expected float32, float16, int32 or int64`);
  }
  if (typeof dict.fortran_order !== 'boolean') bad("'fortran_order' is not True or False");
  return { descr: dict.descr as string, fortran: dict.fortran_order as boolean, shape: checkShape(path, dict.shape) };
}

// ---------------------------------------------------------------- .safetensors

const ST_DTYPES: Record<string, FileDtype> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16', I32: 'int32', I64: 'int64' };
/** The format's own limit on the header (safetensors: MAX_HEADER_SIZE = 100 MB). */
const ST_MAX_HEADER = 100_000_000;

async function safetensorsHeader(fh: FileHandle, path: string, size: number, key: string): Promise<Header> {
  if (size < 8) fail(path, `bad .safetensors file: ${size} bytes, shorter than the 8-byte header length`);
  const pre = new Uint8Array(8);
  await readExactly(fh, path, pre, 8, 0);
  const n = new DataView(pre.buffer).getBigUint64(0, true);
  if (n > BigInt(ST_MAX_HEADER)) fail(path, `bad .safetensors file: a header length of ${n} bytes (the format's limit is 100 MB; is this a safetensors file?)`);
  const headerLen = Number(n);
  if (size < 8 + headerLen) fail(path, `truncated: the .safetensors header is ${headerLen} bytes, the file has ${size - 8} after the length`);
  const bytes = new Uint8Array(headerLen);
  await readExactly(fh, path, bytes, headerLen, 8);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    return fail(path, `bad .safetensors header: not JSON (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return fail(path, 'bad .safetensors header: not a JSON object');
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  if (!Object.hasOwn(header, key) || key === '__metadata__') {
    fail(path, `no tensor ${JSON.stringify(key)}; the file holds ${names.length ? names.map((s) => JSON.stringify(s)).join(', ') : 'no tensors'}`);
  }
  const t = (header as Record<string, unknown>)[key] as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
  const where = `tensor ${JSON.stringify(key)}`;
  if (typeof t !== 'object' || t === null) return fail(path, `bad .safetensors header: ${where} is not an object`);
  const dtype = typeof t.dtype === 'string' ? ST_DTYPES[t.dtype] : undefined;
  if (!dtype) fail(path, `${where}: unsupported dtype ${JSON.stringify(t.dtype)}: expected F32, F16, BF16, I32 or I64`);
  const shape = checkShape(`${path}: ${where}`, t.shape);
  const off = t.data_offsets;
  if (!Array.isArray(off) || off.length !== 2 || !off.every((v) => Number.isSafeInteger(v) && v >= 0) || off[1] < off[0]) {
    fail(path, `bad .safetensors header: ${where} has data_offsets ${JSON.stringify(off)}`);
  }
  const [begin, end] = off as number[];
  const dataBytes = numel(shape) * ITEM_BYTES[dtype!];
  if (end - begin !== dataBytes) {
    fail(path, `bad .safetensors header: ${where} of shape [${shape.join(', ')}] ${t.dtype} needs ${dataBytes} bytes, its data_offsets span ${end - begin}`);
  }
  const offset = 8 + headerLen + begin;
  if (size < 8 + headerLen + end) {
    fail(path, `truncated: ${where} ends at byte ${8 + headerLen + end}, the file has ${size}`);
  }
  return { dtype: dtype!, shape, offset };
}

// ---------------------------------------------------------------- rows

function tensorFile(fh: FileHandle, path: string, format: 'npy' | 'safetensors', key: string | undefined, h: Header): TensorFile {
  const item = ITEM_BYTES[h.dtype];
  const rows = h.shape.length ? h.shape[0] : 1;
  const rowElements = numel(h.shape.slice(1));
  const rowBytes = rowElements * item;
  const rest = h.shape.slice(1);
  let closed = false;
  return {
    path, format, key, dtype: h.dtype, shape: h.shape, rows, rowElements, rowBytes,
    dataBytes: rows * rowBytes,
    async readRows(start, count, buffer) {
      if (closed) fail(path, 'read after close');
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(count) || start < 0 || count < 0 || start + count > rows) {
        throw new RangeError(`${path}: rows [${start}, ${start + count}) are outside [0, ${rows})`);
      }
      const bytes = count * rowBytes;
      if (buffer && buffer.byteLength < bytes) throw new RangeError(`${path}: a buffer of ${buffer.byteLength} bytes for ${bytes}`);
      const buf = buffer ?? new ArrayBuffer(bytes);
      await readExactly(fh, path, new Uint8Array(buf, 0, bytes), bytes, h.offset + start * rowBytes);
      const n = count * rowElements;
      const shape = h.shape.length ? [count, ...rest] : [];
      switch (h.dtype) {
        case 'float32': return { data: new Float32Array(buf, 0, n), shape };
        case 'float16': case 'bfloat16': return { data: new Uint16Array(buf, 0, n), shape, dtype: h.dtype };
        case 'int32': return { data: new Int32Array(buf, 0, n), shape };
        case 'int64': return { data: new BigInt64Array(buf, 0, n), shape };
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await fh.close();
    },
  };
}

/** How a file names itself in messages: the path, and the tensor's key in a .safetensors file. */
export function describe(f: TensorFile): string {
  return f.key !== undefined ? `${f.path} [${JSON.stringify(f.key)}]` : f.path;
}

const shapeText = (s: readonly number[]) => `(${s.join(', ')}${s.length === 1 ? ',' : ''})`;

/**
 * Checks that logits and labels go together, before anything is read: the same rows, and the shapes
 * the evaluator takes: classes logits (N, C, d1, …) float with int labels (N, d1, …); binary logits
 * (N) or (N, 1) with labels of as many elements per row.
 */
export function checkPair(logits: TensorFile, labels: TensorFile, binary: boolean): void {
  const L = describe(logits), T = describe(labels);
  if (logits.dtype === 'int32' || logits.dtype === 'int64') {
    throw new FileError(`${L}: logits are ${logits.dtype}; expected float32, float16 or bfloat16`);
  }
  if (logits.shape.length === 0) throw new FileError(`${L}: logits are a scalar; expected ${binary ? '(N) or (N, 1)' : '(N, C)'}`);
  if (logits.rows !== labels.rows || labels.shape.length === 0) {
    throw new FileError(`shape mismatch: logits ${L} have ${logits.rows} rows ${shapeText(logits.shape)}, labels ${T} have ${labels.shape.length ? labels.rows : 'none'} ${shapeText(labels.shape)}`);
  }
  if (binary) {
    if (logits.shape.length > 2 || (logits.shape.length === 2 && logits.shape[1] !== 1)) {
      throw new FileError(`${L}: binary logits are ${shapeText(logits.shape)}; expected (N) or (N, 1)`);
    }
    if (labels.rowElements !== logits.rowElements || labels.shape.length > 2) {
      throw new FileError(`shape mismatch: binary logits ${shapeText(logits.shape)} and labels ${shapeText(labels.shape)}`);
    }
    return;
  }
  if (labels.dtype !== 'int32' && labels.dtype !== 'int64') {
    throw new FileError(`${T}: labels are ${labels.dtype}; class indices must be int32 or int64 (or use --binary for 0/1 labels of sigmoid outputs)`);
  }
  if (logits.shape.length < 2) throw new FileError(`${L}: logits are ${shapeText(logits.shape)}; expected (N, C) or (N, C, d1, …) (or --binary for sigmoid outputs)`);
  const want = [logits.rows, ...logits.shape.slice(2)];
  if (labels.shape.length !== want.length || labels.shape.some((d, i) => d !== want[i])) {
    throw new FileError(`shape mismatch: logits ${shapeText(logits.shape)} need labels ${shapeText(want)}, ${T} is ${shapeText(labels.shape)}`);
  }
}
