#!/usr/bin/env node
/**
 * The `webgpu-losses` command (bin entry, built to dist/cli.js beside the library, which it imports
 * from ./index.js rather than bundling again).
 *
 *   webgpu-losses eval --logits FILE --labels FILE [options]
 *
 * streams the rows of two .npy / .safetensors files through `losses.evaluator()` in batches and
 * prints every metric: a table, or with --json exactly one JSON object on stdout. Reading is
 * double-buffered (batch i+1 comes off the disk while batch i is evaluated) and memory stays at two
 * batches, whatever the files' size. Exit codes: 0 success, 1 an error (one line on stderr), 2 a
 * usage error.
 */
import { readFileSync } from 'node:fs';
import { createLosses, LossError } from '../index.js';
import type { EvaluationResult, Evaluator, Losses } from '../types.js';
import { checkPair, describe, openTensorFile, type Batch, type TensorFile } from './files.js';

const USAGE = `Usage: webgpu-losses eval --logits FILE --labels FILE [options]

Streams logits and labels from .npy or .safetensors files through the evaluator and prints
cross-entropy, perplexity, accuracy, top-k accuracy, entropy, ECE and Brier score over the
non-ignored rows (or, with --binary, BCE-with-logits, accuracy, ECE and Brier).

Files:
  --logits FILE          (N, C) or (N, C, d1, ...) float32, float16 or bfloat16 logits
  --labels FILE          (N) or (N, d1, ...) int32 or int64 class indices (--binary: 0/1 labels)
  --logits-key NAME      tensor name in a .safetensors file (default: logits)
  --labels-key NAME      tensor name in a .safetensors file (default: labels)

Metrics:
  --top-k K              top-k accuracy; repeat or give a list: --top-k 1,5,10 (default 5; none: --top-k none)
  --bins B               equal-width confidence bins of ECE (default 15)
  --ignore-index I       label of rows left out of the metrics (default -100)
  --binary               sigmoid outputs: logits (N) or (N, 1), labels 0/1

Run:
  --backend B            auto (WebGPU through the optional 'webgpu' package when it finds an
                         adapter, else the CPU), webgpu or cpu (default auto)
  --batch-rows N         rows per batch (default: about 64 MiB of logits, at most 1048576 rows)
  --json                 print exactly one JSON object with the metrics on stdout
  -h, --help             this text
  --version              the package's version

A progress bar goes to stderr when it is a terminal. Exit status: 0 success, 1 error, 2 usage.
.npy: versions 1.0-3.0, C order, little-endian ('<f4', '<f2', '<i4', '<i8').
.safetensors: F32, F16, BF16, I32, I64.
`;

/** A bad command line: the message, then a pointer to --help, and exit status 2. */
class UsageError extends Error {}

interface EvalArgs {
  logits: string;
  labels: string;
  logitsKey: string;
  labelsKey: string;
  backend: 'auto' | 'webgpu' | 'cpu';
  batchRows?: number;
  topK?: number[];
  bins: number;
  ignoreIndex: number;
  binary: boolean;
  json: boolean;
}

const VALUE_OPTIONS = ['--logits', '--labels', '--logits-key', '--labels-key', '--backend', '--batch-rows', '--top-k', '--bins', '--ignore-index'];
const FLAG_OPTIONS = ['--binary', '--json', '--help', '-h', '--version'];

function integer(name: string, text: string, min: number): number {
  const v = /^[+-]?\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(v) || v < min) throw new UsageError(`${name} ${JSON.stringify(text)}: expected an integer${min > -Infinity ? ` ≥ ${min}` : ''}`);
  return v;
}

/** Edit distance (insertions, deletions, substitutions). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** The closest known option, for "did you mean" (--topk, --top_k, --labls → --top-k, --labels). */
function suggest(opt: string): string {
  const norm = (s: string) => s.replace(/^-+/, '').replace(/[-_]/g, '').toLowerCase();
  let best = '', bestD = 3;
  for (const o of [...VALUE_OPTIONS, ...FLAG_OPTIONS]) {
    const d = distance(norm(o), norm(opt));
    if (d < bestD) [best, bestD] = [o, d];
  }
  return best ? ` (did you mean ${best}?)` : '';
}

type Command = { kind: 'help' } | { kind: 'version' } | { kind: 'eval'; args: EvalArgs };

function parseCommandLine(argv: string[]): Command {
  if (argv.length === 0) throw new UsageError('no command given');
  if (argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') return { kind: 'help' };
  if (argv[0] === '--version') return { kind: 'version' };
  if (argv[0] !== 'eval') throw new UsageError(`unknown command ${JSON.stringify(argv[0])} (the command is eval)`);
  const values = new Map<string, string[]>();
  const flags = new Set<string>();
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (FLAG_OPTIONS.includes(name)) {
      if (eq > 0) throw new UsageError(`${name} takes no value`);
      flags.add(name);
    } else if (VALUE_OPTIONS.includes(name)) {
      let v: string;
      if (eq > 0) v = a.slice(eq + 1);
      else {
        if (i + 1 >= argv.length) throw new UsageError(`${name} needs a value`);
        v = argv[++i];
      }
      values.set(name, [...(values.get(name) ?? []), v]);
    } else if (a.startsWith('-')) {
      throw new UsageError(`unknown option ${name}${suggest(name)}`);
    } else {
      throw new UsageError(`unexpected argument ${JSON.stringify(a)}`);
    }
  }
  if (flags.has('--help') || flags.has('-h')) return { kind: 'help' };
  if (flags.has('--version')) return { kind: 'version' };
  const one = (name: string): string | undefined => {
    const v = values.get(name);
    if (v && v.length > 1) throw new UsageError(`${name} given ${v.length} times`);
    return v?.[0];
  };
  const logits = one('--logits'), labels = one('--labels');
  if (!logits) throw new UsageError('--logits FILE is required');
  if (!labels) throw new UsageError('--labels FILE is required');
  const backend = one('--backend') ?? 'auto';
  if (backend !== 'auto' && backend !== 'webgpu' && backend !== 'cpu') throw new UsageError(`--backend ${JSON.stringify(backend)}: expected auto, webgpu or cpu`);
  const batchRowsText = one('--batch-rows');
  const binary = flags.has('--binary');
  let topK: number[] | undefined;
  const topKTexts = values.get('--top-k');
  if (topKTexts) {
    const items = topKTexts.flatMap((t) => t.split(',')).map((s) => s.trim());
    topK = items.length === 1 && items[0].toLowerCase() === 'none' ? [] : [...new Set(items.map((s) => integer('--top-k', s, 1)))];
    if (binary && topK.length) throw new UsageError('--top-k does not apply to --binary');
  }
  return {
    kind: 'eval',
    args: {
      logits, labels,
      logitsKey: one('--logits-key') ?? 'logits',
      labelsKey: one('--labels-key') ?? 'labels',
      backend,
      batchRows: batchRowsText === undefined ? undefined : integer('--batch-rows', batchRowsText, 1),
      topK,
      bins: integer('--bins', one('--bins') ?? '15', 1),
      ignoreIndex: integer('--ignore-index', one('--ignore-index') ?? '-100', -Infinity),
      binary,
      json: flags.has('--json'),
    },
  };
}

// ---------------------------------------------------------------- backend

/** Dawn's GPU object, kept referenced while the device lives (a collected one aborts the process). */
let gpuRef: unknown;

/** The library on the asked backend; `note` says on stderr which one and, for a fallback, why. */
async function openLosses(backend: EvalArgs['backend']): Promise<{ losses: Losses; note: string }> {
  if (backend === 'cpu') return { losses: await createLosses({ backend: 'cpu' }), note: 'backend cpu' };
  let reason: string | undefined;
  try {
    const mod = (await import('webgpu')) as { create(flags: string[]): unknown };
    gpuRef = mod.create([]);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException)?.code;
    reason = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND'
      ? "the optional 'webgpu' package is not installed (npm i webgpu)"
      : `the 'webgpu' package failed to load: ${oneLine(err)}`;
  }
  if (reason !== undefined) {
    if (backend === 'webgpu') throw new LossError(`--backend webgpu: ${reason}`);
    return { losses: await createLosses({ backend: 'cpu' }), note: `backend cpu (WebGPU not used: ${reason})` };
  }
  const losses = await createLosses({ backend, gpu: gpuRef as never });
  if (losses.backend === 'cpu') return { losses, note: `backend cpu (WebGPU not used: ${losses.fallbackReason ?? 'no adapter'})` };
  const info = (losses.device as { adapterInfo?: { vendor?: string; architecture?: string; device?: string; description?: string } } | undefined)?.adapterInfo;
  const name = info ? [info.description || info.device, info.vendor, info.architecture].filter(Boolean).join(', ') : '';
  return { losses, note: `backend webgpu${name ? ` (${name})` : ''}` };
}

// ---------------------------------------------------------------- progress

const MiB = 1024 * 1024;

function duration(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  s = Math.round(s);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const mm = String(m).padStart(h ? 2 : 1, '0'), ss = String(sec).padStart(2, '0');
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

function rate(v: number): string {
  return v >= 1e9 ? `${(v / 1e9).toFixed(2)}G` : v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : v.toFixed(0);
}

/** A one-line bar on a terminal's stderr, redrawn at most 10 times a second; nothing elsewhere. */
class Progress {
  private readonly t0 = performance.now();
  private last = 0;
  constructor(private readonly rows: number, private readonly bytesPerRow: number, private readonly tty: NodeJS.WriteStream | undefined) {}

  update(done: number): void {
    if (!this.tty) return;
    const now = performance.now();
    if (now - this.last < 100 && done < this.rows) return;
    this.last = now;
    const s = (now - this.t0) / 1000;
    const frac = this.rows ? done / this.rows : 1;
    const perS = s > 0 ? done / s : 0;
    const eta = perS > 0 ? (this.rows - done) / perS : Infinity;
    const stats = ` ${(frac * 100).toFixed(1).padStart(5)}% ${done}/${this.rows} rows  ${rate(perS)} rows/s  ${(perS * this.bytesPerRow / 1e6).toFixed(1)} MB/s  ETA ${duration(eta)}`;
    const width = Math.max(10, Math.min(30, (this.tty.columns || 80) - 72));
    const fill = Math.round(frac * width);
    this.tty.write(`\r[${'#'.repeat(fill)}${'.'.repeat(width - fill)}]${stats}\x1b[K`);
  }

  /** Clears the bar. */
  end(): void {
    if (this.tty) this.tty.write('\r\x1b[K');
  }
}

// ---------------------------------------------------------------- eval

/**
 * Rows per batch by default: as many as fit in about 64 MiB of logits (at least one), and at most
 * 1 Mi rows: the evaluator keeps a 32-byte record per row of a batch in one storage binding
 * (128 MiB under WebGPU's default limits), which narrow rows (binary, a few classes) would overflow.
 */
const DEFAULT_BATCH_BYTES = 64 * MiB;
const DEFAULT_MAX_BATCH_ROWS = 1 << 20;

interface Pair { logits: Batch; labels: Batch }

/** A batch as the evaluator takes it: binary (N) or (N, 1) both flattened to (N). */
function forEvaluator(b: Batch, binary: boolean): Batch {
  return binary ? { ...b, shape: [b.data.length] } : b;
}

async function evaluate(a: EvalArgs, stderr: NodeJS.WriteStream): Promise<{ result: EvaluationResult; table: string }> {
  const files: TensorFile[] = [];
  let losses: Losses | undefined;
  let ev: Evaluator | undefined;
  try {
    const logits = await openTensorFile(a.logits, a.logitsKey);
    files.push(logits);
    const labels = await openTensorFile(a.labels, a.labelsKey);
    files.push(labels);
    checkPair(logits, labels, a.binary);
    const rows = logits.rows;
    const batchRows = Math.min(Math.max(1, rows), a.batchRows ?? Math.max(1, Math.min(DEFAULT_MAX_BATCH_ROWS, Math.floor(DEFAULT_BATCH_BYTES / Math.max(1, logits.rowBytes)))));

    const opened = await openLosses(a.backend);
    losses = opened.losses;
    stderr.write(`webgpu-losses: ${opened.note}\n`);
    const topK = a.topK ?? (a.binary ? [] : [5]);
    ev = losses.evaluator({ ignoreIndex: a.ignoreIndex, calibrationBins: a.bins, binary: a.binary, ...(topK.length ? { topK } : {}) });

    // Two buffers per file: batch i is evaluated from one while batch i+1 is read into the other.
    const bufs = [0, 1].map(() => ({
      logits: new ArrayBuffer(batchRows * logits.rowBytes),
      labels: new ArrayBuffer(batchRows * labels.rowBytes),
    }));
    const read = async (start: number, slot: number): Promise<Pair> => {
      const count = Math.min(batchRows, rows - start);
      const [l, t] = await Promise.all([logits.readRows(start, count, bufs[slot].logits), labels.readRows(start, count, bufs[slot].labels)]);
      return { logits: forEvaluator(l, a.binary), labels: forEvaluator(t, a.binary) };
    };
    const progress = new Progress(rows, logits.rowBytes + labels.rowBytes, stderr.isTTY ? stderr : undefined);
    const t0 = performance.now();
    let batches = 0;
    let next: Promise<Pair> | undefined = rows > 0 ? read(0, 0) : undefined;
    try {
      for (let start = 0, slot = 0; start < rows; start += batchRows, slot ^= 1) {
        const batch = await next!;
        next = start + batchRows < rows ? read(start + batchRows, slot ^ 1) : undefined;
        next?.catch(() => {}); // awaited on the next turn; never an unhandled rejection if add throws first
        try {
          await ev.add(batch.logits as never, batch.labels as never);
        } catch (err) {
          const count = Math.min(batchRows, rows - start);
          // The evaluator names the batch and its row; the files' row range locates it.
          throw new LossError(`rows ${start}..${start + count - 1} of the files: ${oneLine(err)}`, { cause: err });
        }
        batches++;
        progress.update(Math.min(rows, start + batchRows));
      }
    } finally {
      progress.end();
    }
    const result = await ev.result();
    const seconds = (performance.now() - t0) / 1000;
    const bytes = logits.dataBytes + labels.dataBytes;
    const head = [
      `logits  ${describe(logits)}  ${shapeText(logits.shape)} ${logits.dtype}`,
      `labels  ${describe(labels)}  ${shapeText(labels.shape)} ${labels.dtype}`,
      `${opened.note}, ${batches} batch${batches === 1 ? '' : 'es'} of ${batchRows} rows, ${seconds.toFixed(2)} s (${rate(rows / seconds)} rows/s, ${(bytes / 1e6 / seconds).toFixed(1)} MB/s)`,
    ];
    return { result, table: `${head.join('\n')}\n\n${table(result)}` };
  } finally {
    try {
      ev?.dispose();
    } catch { /* disposing is best effort on the way out */ }
    losses?.dispose();
    await Promise.all(files.map((f) => f.close()));
  }
}

const shapeText = (s: readonly number[]) => `(${s.join(', ')}${s.length === 1 ? ',' : ''})`;

/** The metrics as an aligned two-column table, in the evaluator's key order. */
function table(r: EvaluationResult): string {
  const entries = Object.entries(r);
  const w = Math.max(...entries.map(([k]) => k.length));
  return entries.map(([k, v]) => {
    const text = typeof v !== 'number' ? String(v)
      : Number.isInteger(v) && (k === 'rows' || k === 'count') ? String(v)
        : Number.isFinite(v) ? (Math.abs(v) >= 1e6 || (v !== 0 && Math.abs(v) < 1e-4) ? v.toExponential(6) : v.toFixed(6)) : String(v);
    const pct = /^(accuracy|top\d+)$/.test(k) && Number.isFinite(v) ? `  (${(v * 100).toFixed(2)}%)` : '';
    return `  ${k.padEnd(w)}  ${text.padStart(14)}${pct}`;
  }).join('\n') + '\n';
}

function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/\s*\n\s*/g, ' ').trim();
}

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL(/* @vite-ignore */ '../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Writes and resolves once the stream has taken the text (a pipe may be asynchronous). */
function write(stream: NodeJS.WriteStream, text: string): Promise<void> {
  return new Promise((resolve) => (text ? stream.write(text, () => resolve()) : resolve()));
}

async function main(argv: string[]): Promise<number> {
  let cmd: Command;
  try {
    cmd = parseCommandLine(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    await write(process.stderr, `webgpu-losses: ${err.message}\nUsage: webgpu-losses eval --logits FILE --labels FILE [options]; see webgpu-losses --help\n`);
    return 2;
  }
  if (cmd.kind === 'help') {
    await write(process.stdout, USAGE);
    return 0;
  }
  if (cmd.kind === 'version') {
    await write(process.stdout, `${version()}\n`);
    return 0;
  }
  try {
    const { result, table: text } = await evaluate(cmd.args, process.stderr);
    await write(process.stdout, cmd.args.json ? `${JSON.stringify(result)}\n` : text);
    return 0;
  } catch (err) {
    await write(process.stderr, `webgpu-losses: ${oneLine(err)}\n`);
    return 1;
  }
}

// A reader that went away (`| head`) ends the output, not the process with a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
});
// Exits explicitly once the output is flushed: a WebGPU instance may keep the event loop alive.
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`webgpu-losses: internal error: ${oneLine(err)}\n`, () => process.exit(1));
  },
);
