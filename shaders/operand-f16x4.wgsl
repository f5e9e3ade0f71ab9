// Operand NAME as WGSL vec4<f16> tiles (shader-f16): one 8-byte load per tile, widened to f32.

fn NAMEAt(i: u32) -> f32 { return f32(NAME[i / 4u][i % 4u]); }

fn NAMETile(i: u32, stride: u32, valid: vec4<bool>, fill: f32) -> vec4<f32> {
  return select(vec4<f32>(fill), vec4<f32>(NAME[i / 4u]), valid);
}
