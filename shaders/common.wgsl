// Shared by every kernel: the one uniform block (src/gpu/dispatch.ts writes it) and the bind
// group layout (src/gpu/kernels.ts). Offsets are in elements from the start of each bound range;
// ranges start at 256-byte aligned offsets, so a chunk's first element may sit a little inside.
struct Params {
  rows: u32,        // rows in this chunk (row kernels) or items in all (reduce)
  C: u32,           // classes (row length)
  inner: u32,       // stride between classes of a row
  segment: u32,     // elements per row segment
  splits: u32,      // segments per row
  groupsX: u32,     // workgroups along x of a 2-D dispatch
  xOff: u32,        // x (and probability targets): element of the chunk start inside the binding
  tOff: u32,        // class-index targets: same
  oOff: u32,        // out: same
  itemBase: u32,    // reduce / elementwise: global index of the chunk's first item
  blockLen: u32,    // reduce: items per block
  firstBlock: u32,  // reduce: global index of this dispatch's first block
  blocks: u32,      // reduce: blocks in this dispatch
  wLen: u32,        // element weights: period (broadcast from the right); 0 = none
  pwLen: u32,       // posWeight: period; stored after the weights
  pOff: u32,        // partial (vec4 states): index of the chunk's first state inside the binding
  count: u32,       // element-wise: elements in all
  ignoreIndex: i32,
  negInf: f32,      // -inf: WGSL constants cannot hold it
  keep: f32,        // 1 − label smoothing
  add: f32,         // label smoothing / C
  eps: f32,         // label smoothing
  gscale: f32,      // gradients: the constant scale (GSCALE 0)
  scaleIdx: u32,    // gradients: which reduction sum divides (GSCALE 2)
}
@group(0) @binding(0) var<uniform> P: Params;
// One bind group layout for every kernel; a kernel ignores what it does not use.
@group(0) @binding(2) var<storage, read> labels: array<i32>;     // class-index targets
// bindings 1 (x, the input) and 3 (y: float targets, dy, or records to sum) are declared by
// operands-scalar.wgsl or operands-vec4.wgsl, read through xAt/xTile and yAt/yTile.
@group(0) @binding(4) var<storage, read> weight: array<f32>;     // class or element weights, then posWeight
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read_write> partial: array<vec4<f32>>; // split-row states
@group(0) @binding(7) var<storage, read_write> status: array<atomic<u32>>; // bad device labels
@group(0) @binding(8) var<storage, read> scale: array<f32>;      // gradients: upstream gradient or sums

const F32_MAX = 3.4028234663852886e38;

// NaN tests by bits: float compares may assume no NaN, and exp(NaN) is not NaN on every adapter
// (SwiftShader gives +inf), so NaN is propagated explicitly wherever a transcendental sees it.
fn isNan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }
fn isNan4(v: vec4<f32>) -> vec4<bool> { return (bitcast<vec4<u32>>(v) & vec4<u32>(0x7fffffffu)) > vec4<u32>(0x7f800000u); }
// A quiet NaN made at run time (a constant NaN is a shader-creation error).
fn nan() -> f32 { return P.negInf - P.negInf; }

// max that propagates NaN, in the CPU backend's order.
fn nanMax(a: f32, b: f32) -> f32 {
  return select(select(max(a, b), b, isNan(b)), a, isNan(a));
}

// A row whose max is NaN or +inf has NaN results (x − max is NaN somewhere, as in PyTorch).
fn poisoned(m: f32) -> bool { return isNan(m) || m == -P.negInf; }

// The gradient scale of row or element j (src/ops.ts scaleAt).
fn gradScale(j: u32) -> f32 {
  if (GSCALE == 1u) { return scale[j]; }
  if (GSCALE == 2u) { return 1.0 / scale[P.scaleIdx]; }
  return P.gscale;
}

// Linear workgroup index of a 2-D dispatch.
fn groupIndex(wid: vec3<u32>) -> u32 {
  return wid.y * P.groupsX + wid.x;
}

override WG: u32 = 64;    // invocations per workgroup
override LANES: u32 = 1;  // invocations that share one row segment (rows) or one block (reduce)
override UNROLL: u32 = 1; // row lanes per invocation (1 or 4): lane k·LANES + l runs on invocation l
override MODE: u32 = 0;   // row state: 0 (m, s) only, 1 dot sums, 2 entropy; see src/plan.ts
override GSCALE: u32 = 0; // gradient scale: 0 the constant P.gscale, 1 scale[j] (upstream), 2 1/scale[P.scaleIdx]
override IN_PLACE: bool = false; // gradients: x is read from `out`, which the gradient overwrites

// Online log-sum-exp state of a lane: running max m, s = Σ e^(x−m), and a, b per MODE.
struct Acc { m: f32, s: f32, a: f32, b: f32 }

// The state rescaled to a new max M (exactly as src/cpu/rows.ts rescale).
fn rescale(acc: Acc, M: f32) -> Acc {
  if (acc.m == M) { return acc; }
  var r = acc;
  r.m = M;
  if (acc.m == P.negInf) { return r; } // empty so far: s = 0, a and b hold only ±inf/NaN terms
  let d = acc.m - M;
  let f = exp(d);
  if (MODE == 2u) { r.a = (acc.a + d * acc.s) * f; } else if (MODE == 1u) { r.a = acc.a + d * acc.b; }
  r.s = acc.s * f;
  return r;
}

// p ⊕ q; commutative bit for bit, so a butterfly and a halving tree agree.
fn merge(p: Acc, q: Acc) -> Acc {
  let M = nanMax(p.m, q.m);
  let u = rescale(p, M);
  let v = rescale(q, M);
  return Acc(M, u.s + v.s, u.a + v.a, u.b + v.b);
}

fn toVec(a: Acc) -> vec4<f32> { return vec4<f32>(a.m, a.s, a.a, a.b); }
fn fromVec(v: vec4<f32>) -> Acc { return Acc(v.x, v.y, v.z, v.w); }
