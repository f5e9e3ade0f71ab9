// float16 and bfloat16 bits ↔ float32, in integer steps only (src/dtype.ts does the same): exact
// decoding whatever the adapter does with denormals or half infinities, and encoding rounded to
// nearest even, NaN to sign|0x7E00 (float16) or 0x7FC0 (bfloat16), overflow to ±inf, as PyTorch.

fn decodeF16(h: u32) -> f32 {
  // Branch-free (SwiftShader runs each branch of a divergent `if` for the whole SIMD group).
  let s = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  let normal = s | ((e + 112u) << 23u) | (m << 13u);
  let special = s | 0x7f800000u | (m << 13u); // ±inf, NaN
  let small = s | bitcast<u32>(f32(m) * 5.9604644775390625e-8); // subnormal or zero: m·2^-24, exact
  return bitcast<f32>(select(select(normal, special, e == 31u), small, e == 0u));
}

fn decodeBf16(h: u32) -> f32 { return bitcast<f32>(h << 16u); }

fn encodeF16(v: f32) -> u32 {
  let x = bitcast<u32>(v);
  let s = (x >> 16u) & 0x8000u;
  let a = x & 0x7fffffffu;
  if (a > 0x7f800000u) { return s | 0x7e00u; }
  let e = a >> 23u;
  if (e >= 143u) { return s | 0x7c00u; } // ≥ 2^16, inf
  if (e >= 113u) { // normal in float16; a carry may reach the next exponent, or inf
    let m = a & 0x7fffffu;
    let rem = m & 0x1fffu;
    let h = ((e - 112u) << 10u) | (m >> 13u);
    return s | (h + select(0u, 1u, rem > 0x1000u || (rem == 0x1000u && (h & 1u) == 1u)));
  }
  if (e < 102u) { return s; } // below 2^-25: ±0
  let M = (a & 0x7fffffu) | 0x800000u;
  let shift = 126u - e; // 14 … 24
  let h = M >> shift;
  let rem = M & ((1u << shift) - 1u);
  let half = 1u << (shift - 1u);
  return s | (h + select(0u, 1u, rem > half || (rem == half && (h & 1u) == 1u)));
}

fn encodeBf16(v: f32) -> u32 {
  let x = bitcast<u32>(v);
  if ((x & 0x7fffffffu) > 0x7f800000u) { return 0x7fc0u; }
  return (x + 0x7fffu + ((x >> 16u) & 1u)) >> 16u;
}
