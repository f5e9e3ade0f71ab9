// The operands x and y (declared by src/gpu/interface.ts) read as vec4: one 16-byte load per tile. Used
// where every tile starts on a multiple of 4 with stride 1 (rows of a length divisible by 4,
// element-wise ops on a multiple of 4 elements).

fn xAt(i: u32) -> f32 { return x[i / 4u][i % 4u]; }
fn yAt(i: u32) -> f32 { return y[i / 4u][i % 4u]; }

// Elements i … i+3 (`stride` is 1 here).
fn xTile(i: u32, stride: u32, valid: vec4<bool>, fill: f32) -> vec4<f32> {
  return select(vec4<f32>(fill), x[i / 4u], valid);
}
fn yTile(i: u32, stride: u32, valid: vec4<bool>, fill: f32) -> vec4<f32> {
  return select(vec4<f32>(fill), y[i / 4u], valid);
}
