// Operand NAME as half precision in tiles of 4 (one 8-byte load per tile, as a vec2<u32>); same
// conditions as operand-f32x4.wgsl.

fn NAMEAt(i: u32) -> f32 { return DECODE(extractBits(NAME[i / 4u][(i / 2u) % 2u], (i % 2u) * 16u, 16u)); }

fn NAMETile(i: u32, stride: u32, valid: vec4<bool>, fill: f32) -> vec4<f32> {
  let w = NAME[i / 4u];
  let v = vec4<f32>(DECODE(w.x & 0xffffu), DECODE(w.x >> 16u), DECODE(w.y & 0xffffu), DECODE(w.y >> 16u));
  return select(vec4<f32>(fill), v, valid);
}
