/**
 * Half precision on the host: float16 (IEEE binary16) and bfloat16 bits, decoded exactly to
 * float32 and encoded with round-to-nearest-even. The WGSL in shaders/half.wgsl follows the same
 * integer steps, so both backends round a float32 to the same bits.
 */
export type HalfDtype = 'float16' | 'bfloat16';
export type FloatDtype = 'float32' | HalfDtype;
export const FLOAT_DTYPES: readonly FloatDtype[] = ['float32', 'float16', 'bfloat16'];

/** Host half data inside a job: the caller's bits, never widened (see the CPU backend's windows). */
export class Half {
  /** @param view the caller's Float16Array over the same bits, if that is what it passed */
  constructor(readonly bits: Uint16Array, readonly dtype: HalfDtype, readonly view?: ArrayBufferView) {}
  get length(): number {
    return this.bits.length;
  }
  /** A view of elements [start, end) (as bits only). */
  subarray(start: number, end: number): Half {
    return new Half(this.bits.subarray(start, end), this.dtype);
  }
  /** A copy (in plain, unshared memory). */
  slice(): Half {
    return new Half(this.bits.slice(), this.dtype);
  }
}

const u32 = new Uint32Array(1);
const f32v = new Float32Array(u32.buffer);

let F16: Float32Array | undefined, BF16: Float32Array | undefined;

/** Every value of the dtype, indexed by its bits (256 KiB, built on first use). */
export function decodeTable(dtype: HalfDtype): Float32Array {
  if (dtype === 'bfloat16') {
    if (!BF16) {
      const bits = new Uint32Array(65536);
      for (let h = 0; h < 65536; h++) bits[h] = h << 16;
      BF16 = new Float32Array(bits.buffer);
    }
    return BF16;
  }
  if (!F16) {
    const bits = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) {
      const s = (h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff;
      if (e === 0) {
        f32v[0] = m * 2 ** -24; // subnormal (or zero): exact in float32
        bits[h] = (s | u32[0]) >>> 0;
      } else if (e === 31) bits[h] = (s | 0x7f800000 | (m << 13)) >>> 0;
      else bits[h] = (s | ((e + 112) << 23) | (m << 13)) >>> 0;
    }
    F16 = new Float32Array(bits.buffer);
  }
  return F16;
}

/** Float32 bits to float16 bits, round to nearest even; NaN becomes sign|0x7E00 and overflow ±inf, as PyTorch. */
export function f16Bits(x: number): number {
  const s = (x >>> 16) & 0x8000, a = x & 0x7fffffff;
  if (a > 0x7f800000) return s | 0x7e00;
  const e = a >>> 23;
  if (e >= 143) return s | 0x7c00; // ≥ 2^16 (and inf)
  if (e >= 113) { // normal in float16
    const m = a & 0x7fffff, rem = m & 0x1fff;
    let h = ((e - 112) << 10) | (m >>> 13);
    if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++; // a carry may reach the next exponent, or inf
    return s | h;
  }
  if (e < 102) return s; // below half the smallest subnormal (2^-25): ±0
  const M = (a & 0x7fffff) | 0x800000, shift = 126 - e; // value = M·2^(e−150) = (M >> shift)·2^-24 + rest
  let h = M >>> shift;
  const rem = M & ((1 << shift) - 1), half = 1 << (shift - 1);
  if (rem > half || (rem === half && (h & 1) === 1)) h++;
  return s | h;
}

/** Float32 bits to bfloat16 bits, round to nearest even; NaN becomes 0x7FC0, as PyTorch. */
export function bf16Bits(x: number): number {
  if ((x & 0x7fffffff) > 0x7f800000) return 0x7fc0;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Float32 values to half bits (round to nearest even), into `into` when given. */
export function encodeHalf(values: ArrayLike<number>, dtype: HalfDtype, into: Uint16Array<ArrayBufferLike> = new Uint16Array(values.length)): Uint16Array<ArrayBufferLike> {
  const enc = dtype === 'float16' ? f16Bits : bf16Bits;
  for (let i = 0; i < values.length; i++) {
    f32v[0] = values[i];
    into[i] = enc(u32[0]);
  }
  return into;
}

/** Half bits to float32 values (exact). */
export function decodeHalf(bits: Uint16Array, dtype: HalfDtype, into = new Float32Array(bits.length)): Float32Array {
  const table = decodeTable(dtype);
  for (let i = 0; i < bits.length; i++) into[i] = table[bits[i]];
  return into;
}

