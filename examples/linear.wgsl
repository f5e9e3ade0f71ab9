// The example app's own kernels for a linear layer z = x·W + b trained by full-batch gradient descent;
// the loss and its gradient with respect to z come from webgpu-losses. Every sum runs in a fixed
// order (no atomics on floats), so a run is reproducible and matches the app's CPU path's order.
//
// Parameters live in one buffer: W (D×K, row-major) then b (K), so the update is one dispatch and the
// final weights one read.

struct Dims {
  N: u32,    // samples
  D: u32,    // features
  K: u32,    // outputs (classes, or 1 for binary logistic regression)
  lr: f32,   // learning rate
}

@group(0) @binding(0) var<uniform> dims: Dims;

// ---- forward: z[n, k] = Σ_d x[n, d]·W[d, k] + b[k], one invocation per output ----
@group(0) @binding(1) var<storage, read> fx: array<f32>;           // N×D
@group(0) @binding(2) var<storage, read> fparams: array<f32>;      // W then b
@group(0) @binding(3) var<storage, read_write> fz: array<f32>;     // N×K

@compute @workgroup_size(64)
fn forward(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x;
  if (i >= dims.N * dims.K) { return; }
  let n = i / dims.K;
  let k = i % dims.K;
  var s = 0.0;
  for (var d = 0u; d < dims.D; d++) {
    s += fx[n * dims.D + d] * fparams[d * dims.K + k];
  }
  fz[i] = s + fparams[dims.D * dims.K + k];
}

// ---- backward: dW[d, k] = Σ_n x[n, d]·g[n, k], db[k] = Σ_n g[n, k], one invocation per parameter ----
// g = d(loss)/dz from the library (its `mean` reduction already divides by N).
@group(0) @binding(1) var<storage, read> bx: array<f32>;           // N×D
@group(0) @binding(2) var<storage, read> bg: array<f32>;           // N×K
@group(0) @binding(3) var<storage, read_write> bgrad: array<f32>;  // dW then db

@compute @workgroup_size(64)
fn backward(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x;
  let K = dims.K;
  if (i >= (dims.D + 1u) * K) { return; }
  let k = i % K;
  var s = 0.0;
  if (i < dims.D * K) {
    let d = i / K;
    for (var n = 0u; n < dims.N; n++) { s += bx[n * dims.D + d] * bg[n * K + k]; }
  } else {
    for (var n = 0u; n < dims.N; n++) { s += bg[n * K + k]; }
  }
  bgrad[i] = s;
}

// ---- SGD update: θ ← θ − lr·∇θ ----
@group(0) @binding(1) var<storage, read> sgrad: array<f32>;
@group(0) @binding(2) var<storage, read_write> sparams: array<f32>;

@compute @workgroup_size(64)
fn sgd(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x;
  if (i >= (dims.D + 1u) * dims.K) { return; }
  sparams[i] = sparams[i] - dims.lr * sgrad[i];
}

// ---- pairs: a binary model's logit z as the two-class logits (0, z), softmax(0, z) = (1 − σ(z), σ(z)),
// so the library's row ops (entropy, log-softmax) give the Bernoulli prediction's entropy and KL ----
@group(0) @binding(1) var<storage, read> pz: array<f32>;           // N
@group(0) @binding(3) var<storage, read_write> pout: array<f32>;   // N×2

@compute @workgroup_size(64)
fn pairs(@builtin(global_invocation_id) id: vec3<u32>) {
  let n = id.x;
  if (n >= dims.N) { return; }
  pout[2u * n] = 0.0;
  pout[2u * n + 1u] = pz[n];
}

// ---- accuracy: counts rows whose first largest logit is the label (integer atomics: exact) ----
@group(0) @binding(1) var<storage, read> az: array<f32>;           // N×C class logits (C ≥ 2)
@group(0) @binding(2) var<storage, read> alabels: array<i32>;      // N
@group(0) @binding(3) var<storage, read_write> acount: array<atomic<u32>>;
@group(0) @binding(4) var<uniform> ainfo: vec4<u32>;               // N, C, which counter

@compute @workgroup_size(64)
fn accuracy(@builtin(global_invocation_id) id: vec3<u32>) {
  let n = id.x;
  let C = ainfo.y;
  if (n >= ainfo.x) { return; }
  var best = 0u;
  for (var k = 1u; k < C; k++) {
    if (az[n * C + k] > az[n * C + best]) { best = k; }
  }
  if (i32(best) == alabels[n]) { atomicAdd(&acount[ainfo.z], 1u); }
}
