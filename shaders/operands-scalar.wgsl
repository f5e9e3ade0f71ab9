// The operands x and y (declared by src/gpu/interface.ts) read one float at a time (any layout).

fn xAt(i: u32) -> f32 { return x[i]; }
fn yAt(i: u32) -> f32 { return y[i]; }

// Elements i, i+stride, i+2·stride, i+3·stride; `fill` where not valid.
fn xTile(i: u32, stride: u32, valid: vec4<bool>, fill: f32) -> vec4<f32> {
  return vec4<f32>(select(fill, x[i], valid.x), select(fill, x[i + stride], valid.y),
                   select(fill, x[i + 2u * stride], valid.z), select(fill, x[i + 3u * stride], valid.w));
}
fn yTile(i: u32, stride: u32, valid: vec4<bool>, fill: f32) -> vec4<f32> {
  return vec4<f32>(select(fill, y[i], valid.x), select(fill, y[i + stride], valid.y),
                   select(fill, y[i + 2u * stride], valid.z), select(fill, y[i + 3u * stride], valid.w));
}
