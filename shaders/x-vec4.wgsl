// The input x read as vec4 (contiguous rows whose length and start are multiples of 4): one
// 16-byte load per tile.
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;

fn xAt(i: u32) -> f32 { return x[i / 4u][i % 4u]; }

// Elements i … i+3 (stride is 1 and i is a multiple of 4 wherever this file is used).
fn xTile(i: u32, stride: u32, valid: vec4<bool>, fill: f32) -> vec4<f32> {
  return select(vec4<f32>(fill), x[i / 4u], valid);
}
