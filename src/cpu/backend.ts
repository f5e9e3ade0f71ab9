/** The CPU backend: the fallback without an adapter, and the oracle of the GPU tests. */
import { LossError } from '../errors.js';
import { isDevice, recordWidth } from '../ops.js';
import type { Backend, ElementJob, HostElementJob, HostRowJob, RowJob } from '../ops.js';
import { CPU_REDUCE_PLAN, cpuRowPlan, planReduce, planRows } from '../plan.js';
import type { AdapterProfile } from '../plan.js';
import { elementwise } from './elementwise.js';
import { reduceRecords } from './reduce.js';
import { lossRows, normalizeRows } from './rows.js';

function host<T extends RowJob | ElementJob>(job: T): T & (HostRowJob | HostElementJob) {
  for (const v of Object.values(job)) {
    if (isDevice(v)) throw new LossError('device tensors need the webgpu backend; this one is cpu');
  }
  return job as T & (HostRowJob | HostElementJob);
}

/**
 * @param profile run the plans the WebGPU dispatcher picks for this adapter (the GPU tests' oracle);
 *   without it, the CPU's own fastest plans.
 */
export function cpuBackend(profile?: AdapterProfile): Backend {
  const rowPlan = (job: RowJob) => (profile ? planRows(job.layout.rows, job.layout.C, profile) : cpuRowPlan(job.layout.C));
  const reducePlan = (n: number, itemBytes: number) => (profile ? planReduce(n, itemBytes, profile) : CPU_REDUCE_PLAN);
  return {
    kind: 'cpu',
    async normalize(job) {
      return normalizeRows(host(job) as HostRowJob, rowPlan(job));
    },
    async rowLosses(job) {
      return lossRows(host(job) as HostRowJob, rowPlan(job), false);
    },
    async rowSums(job) {
      const recs = lossRows(host(job) as HostRowJob, rowPlan(job), true);
      const K = recordWidth(job.op);
      return reduceRecords(recs, job.layout.rows, K, reducePlan(job.layout.rows, 4 * K));
    },
    async elementwise(job) {
      return elementwise(host(job) as HostElementJob);
    },
    async elementSum(job) {
      const v = elementwise(host(job) as HostElementJob);
      return reduceRecords(v, job.n, 1, reducePlan(job.n, 4))[0];
    },
    dispose() {},
  };
}
