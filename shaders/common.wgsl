// Shared by every kernel. The Params uniform `P`, the bindings (x, labels, y, weight, out, partial,
// status, scale) and the op, mode and gradient-scale constants are generated from the registry by
// src/gpu/interface.ts and put in front of every module. Offsets are in elements from the start of
// each bound range; ranges start at 256-byte aligned offsets, so a chunk's first element may sit a
// little inside.

// Special values. WGSL lets an implementation assume that NaN and infinities never occur, and
// adapters do differ: SwiftShader's exp(NaN) is +inf; lavapipe folds −inf − (−inf) to 0, gives
// log(0) = −88.03, flushes denormals and lets NaN through max. So no result depends on what an
// operation does with NaN, ±inf, ±0 or a denormal: they are classified on their bits (integer ops
// on bitcast<u32>) before any arithmetic, arithmetic and builtins only ever see finite values
// where their result is kept, and every special result is chosen by a select. The *S helpers
// below are IEEE-754 (the CPU backend's JavaScript arithmetic) on special operands.
const ABS = 0x7fffffffu;
const INF_BITS = 0x7f800000u;
fn isNan(v: f32) -> bool { return (bitcast<u32>(v) & ABS) > INF_BITS; }
fn isNan4(v: vec4<f32>) -> vec4<bool> { return (bitcast<vec4<u32>>(v) & vec4<u32>(ABS)) > vec4<u32>(INF_BITS); }
fn isInf(v: f32) -> bool { return (bitcast<u32>(v) & ABS) == INF_BITS; }
fn isInf4(v: vec4<f32>) -> vec4<bool> { return (bitcast<vec4<u32>>(v) & vec4<u32>(ABS)) == vec4<u32>(INF_BITS); }
fn isFinite(v: f32) -> bool { return (bitcast<u32>(v) & ABS) < INF_BITS; }
fn isFinite4(v: vec4<f32>) -> vec4<bool> { return (bitcast<vec4<u32>>(v) & vec4<u32>(ABS)) < vec4<u32>(INF_BITS); }
fn isNegInf(v: f32) -> bool { return bitcast<u32>(v) == 0xff800000u; }
fn isNegInf4(v: vec4<f32>) -> vec4<bool> { return bitcast<vec4<u32>>(v) == vec4<u32>(0xff800000u); }
fn isPosInf(v: f32) -> bool { return bitcast<u32>(v) == INF_BITS; }
fn isPosInf4(v: vec4<f32>) -> vec4<bool> { return bitcast<vec4<u32>>(v) == vec4<u32>(INF_BITS); }
fn isZero4(v: vec4<f32>) -> vec4<bool> { return (bitcast<vec4<u32>>(v) & vec4<u32>(ABS)) == vec4<u32>(0u); }
// A quiet NaN and +inf made from bits at run time: a constant one is a shader-creation error, and
// P.negInf − P.negInf is folded to 0 by compilers that assume no infinities.
fn nan() -> f32 { return bitcast<f32>(bitcast<u32>(P.negInf) | 0x7fc00000u); }
fn posInf() -> f32 { return bitcast<f32>(bitcast<u32>(P.negInf) & ABS); }
// ±inf with the sign bit of `s`.
fn signedInf4(s: vec4<u32>) -> vec4<f32> { return bitcast<vec4<f32>>((s & vec4<u32>(0x80000000u)) | vec4<u32>(bitcast<u32>(posInf()))); }
// v where finite, else 0: what arithmetic may see of it.
fn finite4(v: vec4<f32>) -> vec4<f32> { return select(vec4<f32>(0.0), v, isFinite4(v)); }

// a + b.
fn addS4(a: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
  let ua = bitcast<vec4<u32>>(a);
  let ub = bitcast<vec4<u32>>(b);
  let ia = (ua & vec4<u32>(ABS)) == vec4<u32>(INF_BITS);
  let ib = (ub & vec4<u32>(ABS)) == vec4<u32>(INF_BITS);
  let bad = isNan4(a) | isNan4(b) | (ia & ib & (ua != ub)); // NaN, or inf − inf
  let r = select(finite4(a) + finite4(b), select(b, a, ia), ia | ib);
  return select(r, vec4<f32>(nan()), bad);
}
fn addS(a: f32, b: f32) -> f32 { return addS4(vec4<f32>(a), vec4<f32>(b)).x; }
fn subS4(a: vec4<f32>, b: vec4<f32>) -> vec4<f32> { return addS4(a, -b); }
fn subS(a: f32, b: f32) -> f32 { return addS(a, -b); }

// a · b.
fn mulS4(a: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
  let ua = bitcast<vec4<u32>>(a);
  let ub = bitcast<vec4<u32>>(b);
  let ia = (ua & vec4<u32>(ABS)) == vec4<u32>(INF_BITS);
  let ib = (ub & vec4<u32>(ABS)) == vec4<u32>(INF_BITS);
  let za = (ua & vec4<u32>(ABS)) == vec4<u32>(0u);
  let zb = (ub & vec4<u32>(ABS)) == vec4<u32>(0u);
  let bad = isNan4(a) | isNan4(b) | (ia & zb) | (ib & za); // NaN, or 0 · inf
  let r = select(finite4(a) * finite4(b), signedInf4(ua ^ ub), ia | ib);
  return select(r, vec4<f32>(nan()), bad);
}
fn mulS(a: f32, b: f32) -> f32 { return mulS4(vec4<f32>(a), vec4<f32>(b)).x; }

// ((((a + d.x) + d.y) + d.z) + d.w), the CPU's order.
fn sum4S(a: f32, d: vec4<f32>) -> f32 { return addS(addS(addS(addS(a, d.x), d.y), d.z), d.w); }

// 1 / v (±0 gives ±inf, ±inf gives ±0).
fn recipS(v: f32) -> f32 {
  let u = bitcast<u32>(v);
  let sign = u & 0x80000000u;
  let zero = (u & ABS) == 0u;
  var r = 1.0 / select(1.0, v, isFinite(v) && !zero);
  r = select(r, bitcast<f32>(sign), isInf(v));
  r = select(r, bitcast<f32>(sign | bitcast<u32>(posInf())), zero);
  return select(r, nan(), isNan(v));
}

// e^v (f32(Math.exp(v)): +inf from the first float whose exp overflows a float32, 0 at −inf).
fn expS4(v: vec4<f32>) -> vec4<f32> {
  let big = isPosInf4(v) | (isFinite4(v) & (v >= vec4<f32>(88.72283935546875)));
  let ok = isFinite4(v) & !big;
  var r = select(exp(select(vec4<f32>(0.0), v, ok)), vec4<f32>(posInf()), big);
  r = select(r, vec4<f32>(0.0), isNegInf4(v));
  return select(r, vec4<f32>(nan()), isNan4(v));
}

// log v (NaN below 0, −inf at ±0, +inf at +inf), exact for denormals, which some adapters flush
// to 0: log(m·2^−149) = log m − 149·ln 2 for a denormal of mantissa m.
fn logS4(v: vec4<f32>) -> vec4<f32> {
  let u = bitcast<vec4<u32>>(v);
  let zero = isZero4(v);
  let tiny = ((u & vec4<u32>(INF_BITS)) == vec4<u32>(0u)) & !zero; // a denormal (either sign)
  let ok = isFinite4(v) & !tiny & !zero;
  let mant = vec4<f32>(select(vec4<u32>(1u), u & vec4<u32>(0x007fffffu), tiny));
  var r = select(log(select(vec4<f32>(1.0), v, ok)), log(mant) - 103.27892990343185, tiny);
  r = select(r, vec4<f32>(P.negInf), zero);
  r = select(r, vec4<f32>(posInf()), isPosInf4(v));
  return select(r, vec4<f32>(nan()), isNan4(v) | ((u >= vec4<u32>(0x80000000u)) & !zero));
}

// A Kahan lane of the batch sums (src/plan.ts): its sum and compensation, and aside, the ±inf and
// NaN items and overflowed sums (combined by addS4), as on the CPU, whose compensation is dropped
// once a sum is not finite.
struct Kahan { sum: vec4<f32>, c: vec4<f32>, spec: vec4<f32> }

// Adds the components of x that `has` holds (a lane past the end takes no step at all).
fn kahanAdd(k: Kahan, x: vec4<f32>, has: vec4<bool>) -> Kahan {
  let fin = isFinite4(x);
  let d = select(vec4<f32>(0.0), x, fin) - k.c;
  let t = k.sum + d;
  let kept = has & fin & isFinite4(t);
  let aside = has & !kept;
  return Kahan(
    select(select(k.sum, vec4<f32>(0.0), aside & fin), t, kept),
    select(select(k.c, vec4<f32>(0.0), aside & fin), (t - k.sum) - d, kept),
    select(k.spec, addS4(k.spec, select(t, x, !fin)), aside));
}

fn kahanValue(k: Kahan) -> vec4<f32> { return addS4(k.sum - k.c, k.spec); }

// max that propagates NaN, in the CPU backend's order (max itself only ever compares non-NaN values).
fn nanMax(a: f32, b: f32) -> f32 {
  return select(select(max(a, b), b, isNan(b)), a, isNan(a));
}

// A row whose max is NaN or +inf has NaN results (x − max is NaN somewhere, as in PyTorch), and so
// has a row of −inf only (its sum is 0 and the CPU's 0·(1/0) and −inf − (−inf) are NaN).
fn poisoned(m: f32) -> bool { return isNan(m) || isInf(m); }

// The gradient scale of row or element j (scaleAt in src/registry.ts).
fn gradScale(j: u32) -> f32 {
  if (GSCALE == GSCALE_OUTPUT) { return scaleAt(j); }
  if (GSCALE == GSCALE_SUM) { return recipS(scaleAt(P.scaleIdx)); }
  return P.gscale;
}

// The scale of the z-loss part of row j: the row's, except that a 'mean' divides by the row count.
fn gradScaleZ(j: u32) -> f32 {
  if (GSCALE == GSCALE_SUM) { return recipS(scaleAt(P.zScaleIdx)); }
  return gradScale(j);
}

// Linear workgroup index of a 2-D dispatch.
fn groupIndex(wid: vec3<u32>) -> u32 {
  return wid.y * P.groupsX + wid.x;
}

override WG: u32 = 64;    // invocations per workgroup
override LANES: u32 = 1;  // invocations that share one row segment (rows) or one block (reduce)
override UNROLL: u32 = 1; // row lanes per invocation (1 or 4): lane k·LANES + l runs on invocation l
override MODE: u32 = 0;   // row state (MODE_PLAIN, MODE_DOT, MODE_ENTROPY, MODE_BACKWARD); see src/jobs.ts
override GSCALE: u32 = 0; // gradient scale: GSCALE_CONST P.gscale, GSCALE_OUTPUT scale[j] (upstream), GSCALE_SUM 1/scale[P.scaleIdx]
override IN_PLACE: bool = false; // gradients: x is read from `out`, which the gradient overwrites
override LABELS64: bool = false; // class indices are int64 (two words each, low first)

// Class index i. An int64 outside the int32 range becomes a negative index other than ignoreIndex,
// so the kernel flags it as out of range.
fn labelAt(i: u32) -> i32 {
  if (!LABELS64) { return labels[i]; }
  let lo = labels[2u * i];
  if (labels[2u * i + 1u] == (lo >> 31u)) { return lo; }
  return select(-1, -2, P.ignoreIndex == -1);
}

// Online log-sum-exp state of a lane: running max m, s = Σ e^(x−m), and a, b per MODE.
struct Acc { m: f32, s: f32, a: f32, b: f32 }

// The state rescaled to a new max M (exactly as src/cpu/rows.ts rescale). In a row that is not
// poisoned, m, s and d are finite and s ≥ 1 once the max has been seen; a and b may hold ±inf or
// NaN in the dot and backward modes (a −inf logit times u, NaN targets or upstream gradients), so
// those are added with addS.
fn rescale(acc: Acc, M: f32) -> Acc {
  if (acc.m == M) { return acc; }
  var r = acc;
  r.m = M;
  if (isNegInf(acc.m)) { return r; } // empty so far: s = 0, a and b hold only ±inf/NaN terms
  let d = acc.m - M;
  let f = exp(d);
  if (MODE == MODE_ENTROPY) { r.a = (acc.a + d * acc.s) * f; } else if (MODE == MODE_DOT) { r.a = addS(acc.a, mulS(d, acc.b)); }
  r.s = acc.s * f;
  return r;
}

// p ⊕ q; commutative bit for bit, so a butterfly and a halving tree agree.
fn merge(p: Acc, q: Acc) -> Acc {
  let M = nanMax(p.m, q.m);
  let u = rescale(p, M);
  let v = rescale(q, M);
  if (MODE == MODE_DOT || MODE == MODE_BACKWARD) { return Acc(M, u.s + v.s, addS(u.a, v.a), addS(u.b, v.b)); }
  return Acc(M, u.s + v.s, u.a + v.a, u.b + v.b);
}

fn toVec(a: Acc) -> vec4<f32> { return vec4<f32>(a.m, a.s, a.a, a.b); }
fn fromVec(v: vec4<f32>) -> Acc { return Acc(v.x, v.y, v.z, v.w); }
