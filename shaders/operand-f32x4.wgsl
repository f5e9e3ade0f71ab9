// Operand NAME as float32 vec4s: one 16-byte load per tile. Used where every tile starts on a
// multiple of 4 with stride 1 (rows of a length divisible by 4, element-wise ops on whole tiles).

fn NAMEAt(i: u32) -> f32 { return NAME[i / 4u][i % 4u]; }

// Elements i … i+3 (`stride` is 1 here).
fn NAMETile(i: u32, stride: u32, valid: vec4<bool>, fill: f32) -> vec4<f32> {
  return select(vec4<f32>(fill), NAME[i / 4u], valid);
}
