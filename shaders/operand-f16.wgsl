// Operand NAME as WGSL f16 (where the device has shader-f16), widened to f32 on load (exact), one
// element at a time (any layout).

fn NAMEAt(i: u32) -> f32 { return f32(NAME[i]); }

fn NAMETile(i: u32, stride: u32, valid: vec4<bool>, fill: f32) -> vec4<f32> {
  return vec4<f32>(select(fill, f32(NAME[i]), valid.x), select(fill, f32(NAME[i + stride]), valid.y),
                   select(fill, f32(NAME[i + 2u * stride]), valid.z), select(fill, f32(NAME[i + 3u * stride]), valid.w));
}
