// Half precision for the bench's own inputs and checks: float32 values rounded to float16 / bfloat16
// bits (round to nearest, ties to even) and bits decoded back to float32. Written from the formats'
// definitions (rounding by power-of-two scaling in float64, decoding by the value formula), not from
// the library's codec, so the references of the half cases do not lean on the code under test.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Mantissa bits, smallest normal exponent, exponent bias and the largest finite exponent of each format. */
const FORMAT = {
  float16: { mant: 10, minExp: -14, bias: 15, maxExp: 15 },
  bfloat16: { mant: 7, minExp: -126, bias: 127, maxExp: 127 },
};

/** 2^k for k in [-160, 160), by table (2 ** k is slow in a 16M-element loop). */
const POW2 = new Float64Array(320);
for (let k = 0; k < 320; k++) POW2[k] = 2 ** (k - 160);
const pow2 = (k) => POW2[k + 160];

/**
 * Float32 values → half bits, rounded to nearest, ties to even. Per value: its binade from the float32
 * exponent, k = round(|v| / spacing) in float64 (exact: a power-of-two scaling), and the bits
 * (biased exponent << mantissa bits) + k − 2^mantissa bits (a k that rounded up to 2^(mantissa bits + 1)
 * carries into the exponent, up to infinity), or k alone below the normals. NaN becomes 0x7E00 (float16)
 * or 0x7FC0 (bfloat16); beyond the largest finite value, ±infinity.
 */
export function toHalfBits(values, dtype) {
  const { mant, minExp, bias, maxExp } = FORMAT[dtype];
  const n = values.length;
  const v32 = values instanceof Float32Array ? values : Float32Array.from(values);
  const w = new Uint32Array(v32.buffer, v32.byteOffset, n);
  const out = new Uint16Array(n);
  const one = 1 << mant, inf = ((2 * bias + 1) << mant), nan = dtype === 'float16' ? 0x7e00 : 0x7fc0;
  for (let i = 0; i < n; i++) {
    const sign = w[i] >>> 31 ? 0x8000 : 0;
    const E = (w[i] >>> 23) & 0xff, e = E - 127; // E = 0 (zero, float32 subnormals): below every normal here
    if (E === 255) { out[i] = (w[i] & 0x7fffff) ? nan : sign | inf; continue; }
    if (e > maxExp) { out[i] = sign | inf; continue; }
    const v = v32[i], a = v < 0 ? -v : v;
    const r = a / pow2((e > minExp ? e : minExp) - mant); // in [2^mant, 2^(mant+1)) for a normal, else [0, 2^mant)
    const f = Math.floor(r), rem = r - f;
    const k = rem > 0.5 || (rem === 0.5 && (f & 1) === 1) ? f + 1 : f;
    out[i] = sign | (e >= minExp ? ((e + bias) << mant) + k - one : k);
  }
  return out;
}

const tables = {};
/** Every value of the format, indexed by its bits. */
function table(dtype) {
  if (tables[dtype]) return tables[dtype];
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    if (dtype === 'bfloat16') {
      u32[0] = h << 16;
      t[h] = f32[0];
    } else {
      const sign = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
      t[h] = sign * (e === 0 ? m * 2 ** -24 : e === 31 ? (m ? NaN : Infinity) : 2 ** (e - 15) * (1 + m / 1024));
    }
  }
  return (tables[dtype] = t);
}

/** Half bits → float32 values (exact). */
export function fromHalfBits(bits, dtype) {
  const t = table(dtype);
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = t[bits[i]];
  return out;
}

/**
 * The bits of a half result as a Uint16Array: raw bits (Uint16Array), a Float16Array (what ONNX Runtime
 * returns where the runtime has one) or the bytes of a buffer read back.
 */
export function halfBitsOf(data, length) {
  if (data instanceof Uint16Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint16Array(data.buffer, data.byteOffset, length ?? data.byteLength / 2);
  return new Uint16Array(data, 0, length);
}

/** floor(log2(a)) for a finite a > 0 within float32's range, exactly. */
function exponentOf(a) {
  f32[0] = a;
  const E = (u32[0] >>> 23) & 0xff;
  if (E > 0) return pow2(E - 127) > a ? E - 128 : E - 127; // a rounded up to a power of two as a float32
  let e = -127;
  while (pow2(e) > a) e--;
  return e;
}

/** Half an ulp of the format at |v| (the largest error of rounding v to it). */
export function halfUlp(v, dtype) {
  const { mant, minExp } = FORMAT[dtype];
  const a = Math.abs(v);
  return pow2(Math.max(a > 0 && a < Infinity ? exponentOf(a) : minExp, minExp) - mant - 1);
}
