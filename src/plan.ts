/**
 * The plan (DESIGN.md §3): how a row is cut into lanes, how many workgroups share a row, the merge
 * tree, and the order of the batch sums. It is one value, computed by pure functions of
 * (shape, adapter profile). The GPU dispatcher runs the plan it picked; the CPU backend can execute
 * any plan, so GPU tests compare against the CPU running the very same order of float32 operations.
 *
 * Row numerics, for a plan {lanes L, tile T, splits P, segment S}:
 * - the row (C elements, any stride) is cut into P contiguous segments of S elements (the last
 *   may be shorter); within a segment, lane l folds tiles l, l+L, l+2L, … of T consecutive
 *   elements, in order, into a running state (m, s, a, b);
 * - folding a tile: M = max(m, tile); rescale the state to M; then add each element in order;
 * - the L lane states are merged by a halving tree (at stride h = L/2, …, 1, lane i takes lane
 *   i+h), then the P segment states by the same tree over P padded to a power of two with empty
 *   states. The merge is commutative bit for bit, so a subgroup butterfly gives the same result.
 *
 * Batch sums, for a plan {groups G, lanes W}: n items are cut into G contiguous blocks; in a block,
 * lane j sums items j, j+W, … with Kahan compensation, and the W lane sums (sum − compensation)
 * are added by the halving tree. When G > 1, the G block sums are summed again the same way as one
 * block. Order is fixed, so results are bitwise reproducible run to run.
 */

/** What the dispatcher needs to know about an adapter to plan a shape. */
export interface AdapterProfile {
  /** A CPU-emulated adapter (SwiftShader, fallback): barriers cost ~0.2 ms per workgroup, so plans avoid them. */
  emulated: boolean;
  /** Smallest subgroup size when the `subgroups` feature is on, else 0. */
  subgroupSize: number;
  /** maxComputeWorkgroupsPerDimension. */
  maxGroupsPerDim: number;
  /** maxStorageBufferBindingSize (bytes), possibly lowered by the caller. */
  maxBindingBytes: number;
}

/** Kernel family for a row op; see `planRows` for the thresholds. */
export type RowFamily = 'thread' | 'subgroup' | 'workgroup' | 'split' | 'cpu';

export interface RowPlan {
  family: RowFamily;
  /** Lanes per row segment (power of two). */
  lanes: number;
  /** Elements a lane folds per step. */
  tile: number;
  /** Segments per row, each on its own lane group (workgroup for 'split'). */
  splits: number;
  /** Elements per segment (a multiple of `tile`, except when one segment holds the row). */
  segment: number;
  /** Invocations per workgroup (GPU only). */
  workgroupSize: number;
}

export interface ReducePlan {
  groups: number;
  lanes: number;
}

/** The CPU's own plans: one lane and the whole row as one tile (max, then sum), one Kahan sum. */
export function cpuRowPlan(C: number): RowPlan {
  return { family: 'cpu', lanes: 1, tile: Math.max(C, 1), splits: 1, segment: C, workgroupSize: 1 };
}
export const CPU_REDUCE_PLAN: ReducePlan = { groups: 1, lanes: 1 };

/** Classes at or below which one invocation owns a whole row. */
export const THREAD_ROW_MAX_C = 64;
/** Row length from which a row may be split across workgroups when rows are few. */
export const SPLIT_MIN_C = 8192;
const GPU_TILE = 4;

/** Parallel lane groups worth having: an emulator runs a few workgroups per CPU core, a GPU wants thousands. */
function targetGroups(p: AdapterProfile): number {
  return p.emulated ? 32 : 1024;
}

/**
 * The one dispatcher decision for row ops (softmax family, entropy, cross-entropy).
 * - C ≤ 64: 'thread', one invocation per row, 64 rows per workgroup, no barriers.
 * - Emulated adapters: one subgroup (no barrier) per row, or one invocation per row without
 *   subgroups; workgroups that use barriers cost ~0.2 ms each there.
 * - Real GPUs: one subgroup per row when the subgroup has ≥ 16 lanes, else a 256-lane workgroup
 *   per row with a shared-memory tree.
 * - Few long rows (C ≥ 8192 and too few lane groups to fill the adapter): split each row into
 *   segments on separate workgroups and merge the (m, s, a, b) partials in a second pass.
 */
export function planRows(rows: number, C: number, p: AdapterProfile): RowPlan {
  const whole = (family: RowFamily, lanes: number, workgroupSize: number): RowPlan => ({
    family, lanes, tile: GPU_TILE, splits: 1, segment: C, workgroupSize,
  });
  if (C <= THREAD_ROW_MAX_C) return whole('thread', 1, 64);
  let plan: RowPlan;
  if (p.emulated) plan = p.subgroupSize >= 2 ? whole('subgroup', p.subgroupSize, 64) : whole('thread', 1, 64);
  else if (p.subgroupSize >= 16) plan = whole('subgroup', Math.min(p.subgroupSize, 64), 64);
  else plan = whole('workgroup', 256, 256);
  const groups = Math.ceil((rows * plan.lanes) / plan.workgroupSize);
  const want = targetGroups(p);
  if (C >= SPLIT_MIN_C && groups < want) {
    const lanes = p.emulated ? plan.lanes : 256;
    const wg = p.emulated ? plan.workgroupSize : 256;
    // Enough segments per row to reach the target, but each lane keeps at least a few tiles.
    const maxSplits = Math.max(1, Math.floor(C / (lanes * GPU_TILE * 8)));
    const splits = Math.min(maxSplits, Math.ceil(want / Math.max(1, rows)));
    if (splits > 1) return splitPlan(C, splits, lanes, wg);
  }
  return plan;
}

function splitPlan(C: number, splits: number, lanes: number, workgroupSize: number): RowPlan {
  const segment = Math.ceil(C / splits / GPU_TILE) * GPU_TILE;
  return { family: 'split', lanes, tile: GPU_TILE, splits: Math.ceil(C / segment), segment, workgroupSize };
}

/**
 * Batch-sum plan for n items of `itemBytes` each: few barrier-free small groups (one subgroup)
 * on an emulator, 256-lane groups that fill a GPU otherwise; every block fits one binding.
 */
export function planReduce(n: number, itemBytes: number, p: AdapterProfile): ReducePlan {
  const lanes = p.emulated ? (p.subgroupSize >= 2 ? p.subgroupSize : 1) : 256;
  const groups = p.emulated ? Math.min(64, Math.ceil(n / 4096)) : Math.min(1024, Math.ceil(n / 8192));
  const perBinding = Math.floor((p.maxBindingBytes - 256) / itemBytes);
  return { groups: Math.max(1, Math.min(n, Math.max(groups, Math.ceil(n / perBinding)))), lanes };
}
