/**
 * The WebGPU backend: owns the device handle, pool and pipeline cache; turns GPU validation and
 * out-of-memory errors into LossErrors; replaces a lost device it created.
 */
import { LossError } from '../errors.js';
import type { Backend } from '../ops.js';
import type { AdapterProfile } from '../plan.js';
import type { CreateLossesOptions } from '../types.js';
import { acquireDevice } from './device.js';
import type { DeviceHandle } from './device.js';
import { runElementGrad, runElementSum, runElementwise, runRowGrad, runRows, runRowSums } from './dispatch.js';
import type { GpuContext } from './dispatch.js';
import { Kernels } from './kernels.js';
import { BufferPool } from './pool.js';
import type { PoolStats } from './pool.js';

export interface WebGpuBackend extends Backend {
  readonly profile: AdapterProfile;
  /** The device in use now (a new one after a loss of a device the library created). */
  readonly device: GPUDevice;
  stats(): PoolStats;
}

interface State {
  handle: DeviceHandle;
  ctx: GpuContext;
  lost?: string;
}

export async function createWebGpuBackend(options: CreateLossesOptions): Promise<WebGpuBackend> {
  let disposed = false;

  async function open(): Promise<State> {
    const handle = await acquireDevice(options);
    const { device } = handle;
    const ctx: GpuContext = {
      device, profile: handle.profile, subgroups: handle.subgroups, poison: options.poison === true,
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

  /** The live state; a lost device of ours is replaced, an app's lost device is reported. */
  async function live(): Promise<State> {
    if (disposed) throw new LossError('this Losses object was disposed');
    if (state.lost === undefined) return state;
    if (!state.handle.owned) throw new LossError(`the app's GPUDevice was lost (${state.lost})`);
    reopening ??= open().then((s) => {
      state.ctx.pool.destroy();
      state = s;
      reopening = undefined;
      return s;
    }, (err) => {
      reopening = undefined;
      throw new LossError(`the GPU device was lost and no new one could be created (${String(err)})`, { cause: err });
    });
    return reopening;
  }

  /** Runs one call inside validation and out-of-memory error scopes. */
  async function run<T>(what: string, body: (ctx: GpuContext) => Promise<T>): Promise<T> {
    const s = await live();
    const { device } = s.ctx;
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    const result = body(s.ctx); // encodes and submits before its first await, inside the scopes
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

  return {
    kind: 'webgpu',
    get profile() { return state.ctx.profile; },
    get device() { return state.ctx.device; },
    normalize: (job) => run(job.method, (ctx) => runRows(ctx, job, 'normalize')),
    rowLosses: (job) => run(job.method, (ctx) => runRows(ctx, job, 'losses')),
    rowSums: (job) => run(job.method, (ctx) => runRowSums(ctx, job)),
    elementwise: (job) => run(job.method, (ctx) => runElementwise(ctx, job)),
    elementSum: (job) => run(job.method, (ctx) => runElementSum(ctx, job)),
    rowGrad: (job, spec) => run(job.method, (ctx) => runRowGrad(ctx, job, spec)),
    elementGrad: (job, spec) => run(job.method, (ctx) => runElementGrad(ctx, job, spec)),
    stats: () => state.ctx.pool.stats(),
    dispose() {
      if (disposed) return;
      disposed = true;
      state.ctx.pool.destroy();
      if (state.handle.owned) state.ctx.device.destroy();
    },
  };
}
