// Operand NAME (x, y or scale; declared by src/gpu/interface.ts) as float32, one element at a time (any layout).

fn NAMEAt(i: u32) -> f32 { return NAME[i]; }

// Elements i, i+stride, i+2·stride, i+3·stride; `fill` where not valid.
fn NAMETile(i: u32, stride: u32, valid: vec4<bool>, fill: f32) -> vec4<f32> {
  return vec4<f32>(select(fill, NAME[i], valid.x), select(fill, NAME[i + stride], valid.y),
                   select(fill, NAME[i + 2u * stride], valid.z), select(fill, NAME[i + 3u * stride], valid.w));
}
