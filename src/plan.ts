/**
 * The plan (docs/ARCHITECTURE.md, "The plan and the numerics contract"): how a row is cut into lanes, how many workgroups share a row, the merge
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
  /** Lanes per row segment (a power of two): the numerics see these. */
  lanes: number;
  /** Lanes each GPU invocation runs side by side (lanes l, l+L/U, …), for instruction-level parallelism. */
  unroll: number;
  /** Elements a lane folds per step. */
  tile: number;
  /** Segments per row, each on its own lane group (workgroup for 'split'). */
  splits: number;
  /** Elements per segment (a multiple of `tile`, except when one segment holds the row). */
  segment: number;
  /** Invocations per workgroup (GPU only). */
  workgroupSize: number;
}

/**
 * Batch sums: `groups` blocks of `blockLen` items, `lanes` Kahan lanes per block for the first
 * pass and `finalLanes` for the second (over the block sums). Element sources run 4 lanes per GPU
 * invocation (lane 4j + c is component c of invocation j), records one.
 */
export interface ReducePlan {
  groups: number;
  blockLen: number;
  lanes: number;
  finalLanes: number;
}

/**
 * The CPU's own plans. Rows: each lane owns one contiguous chunk of ≤ ~256 elements (max, then
 * sum: one exp per element), up to 64 lanes, merged by the tree; long float32 sums would lose
 * ~1e-6 of a probability. Batch sums (cpuReducePlan): one Kahan lane.
 */
export function cpuRowPlan(C: number): RowPlan {
  let lanes = 1;
  while (lanes < 64 && lanes * 256 < C) lanes *= 2;
  const tile = Math.max(1, Math.ceil(C / lanes));
  return { family: 'cpu', lanes, unroll: 1, tile, splits: 1, segment: C, workgroupSize: 1 };
}
export function cpuReducePlan(n: number): ReducePlan {
  return { groups: 1, blockLen: n, lanes: 1, finalLanes: 1 };
}

/**
 * Classes at or below which one invocation owns a whole row. Measured on both emulated adapters
 * (Node, cross-entropy with and without its gradient, 1024 and 8192 rows): at C = 48 one invocation
 * a row is 2–4× faster than a subgroup a row; at C = 96–128 the two are within ±10% either way. 64
 * sits in that flat stretch.
 */
export const THREAD_ROW_MAX_C = 64;
/** Row length from which a row may be split across workgroups when rows are few. */
export const SPLIT_MIN_C = 8192;
const GPU_TILE = 4;
/** Independent lanes per invocation: hides the latency of the dependent adds of each lane. */
const UNROLL = 4;

/** Parallel lane groups worth having: an emulator runs a few workgroups per CPU core, a GPU wants thousands. */
function targetGroups(p: AdapterProfile): number {
  return p.emulated ? 32 : 1024;
}

/**
 * The one dispatcher decision for row ops (softmax family, entropy, cross-entropy); `invocations`
 * below are per row segment, each running UNROLL lanes.
 *
 * The two emulated adapters, measured (bench/README.md, "Kernels at the floor"): SwiftShader runs
 * subgroups of 4, lavapipe (llvmpipe's 256-bit SIMD) of 8. A 256-lane shared-memory tree (the
 * 'workgroup' family) makes cross-entropy 4096×1000 45× slower on SwiftShader but 18× on lavapipe:
 * lavapipe's barriers are cheaper, nearer a real GPU's, yet far from free, so emulated adapters
 * never get barriers. A subgroup a row against one invocation a row (no shuffles): within ±20%
 * either way at 1000–128256 classes on both, the subgroup 1.6–2× ahead at 256×100 (more workgroups
 * for the cores), so subgroups stay.
 * - C ≤ 64: 'thread', one invocation (one lane) per row, 64 rows per workgroup, no barriers.
 * - Emulated adapters: one subgroup per row (shuffles, no barrier), or one invocation per row
 *   without subgroups; workgroups that use barriers cost ~0.2 ms each there.
 * - Real GPUs: one subgroup per row when the subgroup has ≥ 16 invocations, else a 256-invocation
 *   workgroup per row with a shared-memory tree.
 * - Few long rows (C ≥ 8192 and too few lane groups to fill the adapter): split each row into
 *   segments on separate lane groups and merge the (m, s, a, b) partials in a second pass.
 */
export function planRows(rows: number, C: number, p: AdapterProfile): RowPlan {
  const plan = (family: RowFamily, invocations: number, workgroupSize: number, unroll = UNROLL): RowPlan => ({
    family, lanes: invocations * unroll, unroll, tile: GPU_TILE, splits: 1, segment: C, workgroupSize,
  });
  if (C <= THREAD_ROW_MAX_C) return plan('thread', 1, 64, 1);
  let whole: RowPlan;
  if (p.emulated) whole = p.subgroupSize >= 2 ? plan('subgroup', p.subgroupSize, 64) : plan('thread', 1, 64);
  else if (p.subgroupSize >= 16) whole = plan('subgroup', Math.min(p.subgroupSize, 64), 64);
  else whole = plan('workgroup', 256, 256);
  const invocations = whole.lanes / whole.unroll;
  const groups = Math.ceil((rows * invocations) / whole.workgroupSize);
  const want = targetGroups(p);
  if (C >= SPLIT_MIN_C && groups < want) {
    const split = p.emulated ? whole : plan('split', 256, 256);
    // Enough segments per row to reach the target, but each lane keeps at least a few tiles.
    const maxSplits = Math.max(1, Math.floor(C / (split.lanes * GPU_TILE * 4)));
    const splits = Math.min(maxSplits, Math.ceil((want * split.workgroupSize) / (Math.max(1, rows) * (split.lanes / split.unroll))));
    if (splits > 1) {
      const segment = Math.ceil(C / splits / GPU_TILE) * GPU_TILE;
      return { ...split, family: 'split', splits: Math.ceil(C / segment), segment };
    }
  }
  return whole;
}

/**
 * Batch-sum plan for n items of `itemBytes` each: few barrier-free groups of one subgroup on an
 * emulator, 256-invocation groups that fill a GPU otherwise; every block fits one binding.
 * `tile` items (4 for element sources) are read together by one invocation as separate lanes,
 * so blocks hold whole tiles.
 */
export function planReduce(n: number, itemBytes: number, p: AdapterProfile, tile = 1): ReducePlan {
  const invocations = p.emulated ? (p.subgroupSize >= 2 ? p.subgroupSize : 1) : 256;
  const wanted = p.emulated ? Math.min(64, Math.ceil(n / 4096)) : Math.min(1024, Math.ceil(n / 8192));
  const perBinding = Math.floor((p.maxBindingBytes - 256) / itemBytes);
  const groups = Math.max(1, Math.min(n, Math.max(wanted, Math.ceil(n / perBinding))));
  const blockLen = Math.max(tile, Math.ceil(n / groups / tile) * tile);
  return { groups: Math.max(1, Math.ceil(n / blockLen)), blockLen, lanes: invocations * tile, finalLanes: invocations };
}

/**
 * Fused linear cross-entropy (linearCrossEntropy): rows of hidden are taken `rowsPerChunk` at a
 * time, and the chunk's logits (rows × V float32) are the one scratch; the LM head is read in
 * blocks of `vocabPerBlock` rows, each within one binding. Both only cut loops whose sums continue
 * across the cut, so they change no bit of the products; the chunk does fix the row plan of its
 * logits (planRows of the chunk's rows), which the CPU oracle then repeats.
 */
export interface LinearPlan {
  rowsPerChunk: number;
  /** Rows of the head a block: V where it fits one binding (a block's binding starts up to 127 elements early). */
  vocabPerBlock: number;
}

/** Bytes of logits one chunk may hold (fewer where a binding is smaller). */
export const LINEAR_SCRATCH_BYTES = 32 << 20;
/** The CPU's own chunk: 8 MiB of logits, which stay in its caches' reach. */
const CPU_LINEAR_SCRATCH_BYTES = 8 << 20;

/** The plan of N rows of hidden size D against a vocabulary of V (the CPU's own without a profile). */
export function planLinear(N: number, V: number, D: number, p: AdapterProfile | undefined): LinearPlan {
  if (!p) return { rowsPerChunk: Math.max(1, Math.min(N, Math.floor(CPU_LINEAR_SCRATCH_BYTES / (4 * V)))), vocabPerBlock: V };
  // Bindings start up to 255 bytes before their range: keep 512 bytes of room.
  const binding = p.maxBindingBytes - 512;
  // A chunk's logits, its rows of hidden and of the hidden gradient (float32 at most) each fit one binding.
  const rows = Math.floor(Math.min(LINEAR_SCRATCH_BYTES, binding) / (4 * V));
  const rowsPerChunk = Math.max(1, Math.min(N, rows, D === 0 ? Infinity : Math.floor(binding / (4 * D))));
  // A block of the head and of its float32 gradient fits one binding (0 when one row does not).
  const fit = D === 0 ? V : Math.floor(binding / (4 * D));
  return { rowsPerChunk, vocabPerBlock: Math.max(0, Math.min(V, fit)) };
}
