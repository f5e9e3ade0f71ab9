/**
 * The WebGPU backend: owns the device handle, pool and pipeline cache; turns GPU validation and
 * out-of-memory errors into LossErrors; replaces a lost device it created.
 */
import { LossError } from '../errors.js';
import type { Backend, ElementJob, GradSpec, RowJob } from '../jobs.js';
import type { AdapterProfile } from '../plan.js';
import type { CreateLossesOptions } from '../types.js';
import { acquireDevice } from './device.js';
import type { DeviceHandle } from './device.js';
import { Half } from '../dtype.js';
import { componentsOf, W } from '../eval/metrics.js';
import type { EvalEngine } from '../eval/evaluator.js';
import { readFloats, upload, runElementGrad, runElementSum, runElementwise, runEvalBatch, runPack, runRowGrad, runRows, runRowSums } from './dispatch.js';
import type { GpuContext } from './dispatch.js';
import { Kernels } from './kernels.js';
import { runLinear } from './linear.js';
import { BufferPool } from './pool.js';
import { streamed } from './stream.js';
import type { PoolStats } from './pool.js';

export interface WebGpuBackend extends Backend {
  readonly profile: AdapterProfile;
  /** The device in use now (a new one after a loss of a device the library created). */
  readonly device: GPUDevice;
  /** Why the app's device is gone (a device of ours is replaced instead, so this stays undefined). */
  readonly lostReason: string | undefined;
  stats(): PoolStats;
}

interface State {
  handle: DeviceHandle;
  ctx: GpuContext;
  lost?: string;
}

/** A host operand copied, also inside plain objects (a spec's upstream gradient); device buffers stay. */
function copied<T>(d: T): T {
  if (ArrayBuffer.isView(d) || d instanceof Half) return (d as unknown as Float32Array).slice() as unknown as T;
  if (d === null || typeof d !== 'object' || Object.getPrototypeOf(d) !== Object.prototype) return d;
  return Object.fromEntries(Object.entries(d).map(([k, v]) => [k, copied(v)])) as T;
}

/** Copies of a job's host operands (a call that waits for a new device must not read the caller's arrays later). */
function captured<J extends object, S>(job: J, spec: S): [J, S] {
  // An in-place gradient goes into the caller's own array, which is therefore not copied.
  const inPlace = (spec as { inPlace?: boolean } | undefined)?.inPlace === true;
  const j = Object.fromEntries(Object.entries(job).map(([k, v]) => [k, k === 'x' && inPlace ? v : copied(v)])) as J;
  return [j, copied(spec)];
}

export async function createWebGpuBackend(options: CreateLossesOptions): Promise<WebGpuBackend> {
  let disposed = false;

  async function open(): Promise<State> {
    const handle = await acquireDevice(options);
    const { device } = handle;
    const ctx: GpuContext = {
      device, maxBufferBytes: Math.min(device.limits.maxBufferSize, options.maxBufferBytes ?? Infinity), profile: handle.profile, subgroups: handle.subgroups, poison: options.poison === true,
      pool: new BufferPool(device), kernels: new Kernels(device),
    };
    const s: State = { handle, ctx };
    void device.lost.then((info) => {
      s.lost = info.message || info.reason || 'destroyed';
    });
    return s;
  }

  let state = await open();
  let reopening: Promise<State> | undefined;

  /** A new device in place of a lost one of ours (one attempt shared by the calls that find it lost). */
  function reopen(): Promise<State> {
    reopening ??= open().then((s) => {
      state.ctx.pool.destroy();
      state.ctx.kernels.destroy();
      state = s;
      reopening = undefined;
      return s;
    }, (err) => {
      reopening = undefined;
      throw new LossError(`the GPU device was lost and no new one could be created (${String(err)})`, { cause: err });
    });
    return reopening;
  }

  /**
   * Runs one call inside validation and out-of-memory error scopes. On a live device the body
   * encodes, uploads and submits before this returns (inputs are captured at call time); a call
   * that must first wait for a replacement device runs on copies of its host operands.
   */
  function run<J extends { method: string }, S, T>(job: J, spec: S,
    body: (ctx: GpuContext, job: J, spec: S) => Promise<T>): Promise<T> {
    const what = job.method;
    if (disposed) return Promise.reject(new LossError(`${what}: this Losses object was disposed`));
    if (state.lost === undefined) return scoped(state, what, (ctx) => body(ctx, job, spec));
    if (!state.handle.owned) return Promise.reject(new LossError(`${what}: the app's GPUDevice was lost (${state.lost})`));
    const [j, sp] = captured(job, spec);
    return reopen().then((s) => scoped(s, what, (ctx) => body(ctx, j, sp)));
  }

  async function scoped<T>(s: State, what: string, body: (ctx: GpuContext) => Promise<T>): Promise<T> {
    const { device } = s.ctx;
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    let result: Promise<T>;
    try {
      result = body(s.ctx); // encodes and submits before its first await, inside the scopes
    } catch (err) {
      result = Promise.reject(err);
    }
    const validation = device.popErrorScope();
    const memory = device.popErrorScope();
    const [value, v, m] = await Promise.allSettled([result, validation, memory]);
    if (v.status === 'fulfilled' && v.value) throw new LossError(`${what}: WebGPU validation error: ${v.value.message}`);
    if (m.status === 'fulfilled' && m.value) throw new LossError(`${what}: the GPU is out of memory (${m.value.message})`);
    if (value.status === 'fulfilled') return value.value;
    const err: unknown = value.reason;
    if (err instanceof LossError) throw err;
    if (s.lost !== undefined) throw new LossError(`${what}: the GPU device was lost during the call (${s.lost})`, { cause: err });
    throw new LossError(`${what}: ${String(err)}`, { cause: err });
  }

  const single: Backend = {
    kind: 'webgpu',
    normalize: (job) => run(job, undefined, (ctx, j) => runRows(ctx, j, 'normalize')),
    rowLosses: (job) => run(job, undefined, (ctx, j) => runRows(ctx, j, 'losses')),
    rowSums: (job) => run(job, undefined, (ctx, j) => runRowSums(ctx, j)),
    elementwise: (job) => run(job, undefined, (ctx, j) => runElementwise(ctx, j)),
    elementSum: (job) => run(job, undefined, (ctx, j) => runElementSum(ctx, j)),
    rowGrad: (job, spec) => run(job, spec, (ctx, j, sp) => runRowGrad(ctx, j, sp)),
    elementGrad: (job, spec) => run(job, spec, (ctx, j, sp) => runElementGrad(ctx, j, sp)),
    linear: (job, spec) => run(job, spec, (ctx, j, sp) => runLinear(ctx, j, sp)),
    pack(src, n, dtype, into) {
      // A result lives on the device it was made on: a lost one has taken it along.
      if (state.lost !== undefined) return Promise.reject(new LossError(`the GPU device was lost before the result was converted to ${dtype} (${state.lost})`));
      return scoped(state, `${dtype} result`, (ctx) => runPack(ctx, src, n, dtype, into));
    },
    evalEngine(ks, bins): EvalEngine {
      const n = componentsOf(ks, bins);
      // Ping-pong pairs on the device that made them: a batch adds `pairs[0]` into `pairs[1]`,
      // which becomes current only if the batch had no bad row.
      let home: State | undefined, pairs: GPUBuffer[] = [];
      const live = (what: string): State => {
        if (disposed) throw new LossError(`${what}: this Losses object was disposed`);
        if (home && (home !== state || state.lost !== undefined)) throw new LossError(`${what}: the GPU device was lost, and with it the evaluator's sums`);
        if (state.lost !== undefined) throw new LossError(`${what}: the GPU device was lost (${state.lost})`);
        if (!home) {
          home = state;
          const device = state.ctx.device;
          pairs = [0, 1].map(() => device.createBuffer({ size: Math.ceil((4 * W * n) / 16) * 16, usage: 128 | 4 | 8 }));
          device.queue.writeBuffer(pairs[0], 0, new Float32Array(W * n));
        }
        return home;
      };
      return {
        async add(job, perRow, device) {
          const s = live(job.method);
          const res = await scoped(s, job.method, (ctx) => runEvalBatch(ctx, job, pairs[0], pairs[1], perRow, device));
          if (!res.bad) pairs.reverse();
          return res;
        },
        stage(job) {
          const s = live(job.method);
          const made: GPUBuffer[] = [];
          const up = <T>(d: T): T => {
            if (!(ArrayBuffer.isView(d) || d instanceof Half)) return d;
            const b = upload(s.ctx.device, d as unknown as Float32Array | Int32Array | Half);
            made.push(b);
            const dtype = d instanceof Half ? d.dtype : d instanceof Int32Array ? 'int32' : 'float32';
            return { buffer: b, shape: [(d as unknown as { length: number }).length], dtype } as unknown as T;
          };
          return { job: { ...job, x: up(job.x), target: up(job.target) }, release: () => made.forEach((b) => b.destroy()) };
        },
        async read() {
          const s = live('evaluator.result');
          return scoped(s, 'evaluator.result', (ctx) => readFloats(ctx, pairs[0], W * n));
        },
        dispose() {
          for (const b of pairs) b.destroy();
          pairs = [];
        },
      };
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      state.ctx.pool.destroy();
      state.ctx.kernels.destroy();
      if (state.handle.owned) state.ctx.device.destroy();
    },
  };
  // Host inputs beyond one buffer are streamed through the device in whole rows or elements.
  const unit = () => Math.floor(Math.min(state.ctx.device.limits.maxBufferSize, options.maxBufferBytes ?? Infinity) / 16) * 4 - 64;
  return Object.defineProperties(streamed(single, unit), {
    profile: { get: () => state.ctx.profile },
    device: { get: () => state.ctx.device },
    lostReason: { get: () => (state.handle.owned ? undefined : state.lost) },
    stats: { value: () => state.ctx.pool.stats() },
  }) as WebGpuBackend;
}
