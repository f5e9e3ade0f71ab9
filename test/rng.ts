/**
 * A small seeded PRNG (mulberry32) and generators of random test inputs. Tests print the seed in
 * every failure message; rerun with `SEED=<seed> npx vitest run test/cpu` to reproduce.
 */

/** The run's base seed: `process.env.SEED` when set, otherwise the clock. */
export function baseSeed(): number {
  const env = typeof process !== 'undefined' ? process.env.SEED : undefined;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isFinite(n)) throw new Error(`SEED=${env} is not a number`);
    return n >>> 0;
  }
  return Date.now() >>> 0;
}

/** A 32-bit hash of a string (FNV-1a), to derive a per-test seed from the base seed and the test name. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class Rng {
  private state: number;
  private spare: number | undefined;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Derives an independent generator for a named sub-test. */
  static for(seed: number, name: string): Rng {
    return new Rng((seed ^ hashString(name)) >>> 0);
  }

  /** Uniform in [0, 1) with 32 random bits (mulberry32). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * this.next();
  }

  /** An integer in [lo, hi). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo));
  }

  /** Standard normal (Box–Muller). */
  normal(mean = 0, std = 1): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return mean + std * s;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return mean + std * r * Math.cos(2 * Math.PI * v);
  }

  bool(p = 0.5): boolean {
    return this.next() < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length)];
  }
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** n normal draws N(mean, std²), rounded to float32. */
export function randn(rng: Rng, n: number, std = 1, mean = 0): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal(mean, std);
  return a;
}

/** n uniform draws in [lo, hi), rounded to float32 (and kept inside [lo, hi] after rounding). */
export function uniform(rng: Rng, n: number, lo = 0, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a[i] = rng.uniform(lo, hi);
    if (a[i] < lo) a[i] = lo;
    if (a[i] > hi) a[i] = hi;
  }
  return a;
}

export interface LogitOptions {
  std?: number;
  mean?: number;
  /** Fraction of entries set to -Infinity (never a whole row along the class dim unless asked). */
  negInf?: number;
  /** Fraction of entries set to ±3e4 (plus noise). */
  extreme?: number;
}

/** Random logits of a shape, with optional -inf and extreme entries. */
export function logits(rng: Rng, shape: readonly number[], o: LogitOptions = {}): Float32Array {
  const a = randn(rng, numel(shape), o.std ?? 3, o.mean ?? 0);
  for (let i = 0; i < a.length; i++) {
    if (o.extreme && rng.bool(o.extreme)) a[i] = (rng.bool() ? 3e4 : -3e4) + rng.normal();
    else if (o.negInf && rng.bool(o.negInf)) a[i] = -Infinity;
  }
  return a;
}

/** The row layout of `shape` along `dim` (already normalised): element (o, c, i) at o·C·inner + c·inner + i. */
export function rowLayout(shape: readonly number[], dim: number): { outer: number; C: number; inner: number } {
  const s = shape.length === 0 ? [1] : shape;
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < dim; i++) outer *= s[i];
  for (let i = dim + 1; i < s.length; i++) inner *= s[i];
  return { outer, C: s[dim], inner };
}

export interface TargetOptions {
  /** The ignore index to plant, and the fraction of targets that get it. */
  ignoreIndex?: number;
  ignoreFrac?: number;
}

/** Random class indices in [0, C), some replaced by ignoreIndex. */
export function classTargets(rng: Rng, n: number, C: number, o: TargetOptions = {}): Int32Array {
  const t = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    t[i] = o.ignoreIndex !== undefined && o.ignoreFrac && rng.bool(o.ignoreFrac) ? o.ignoreIndex : rng.int(0, C);
  }
  return t;
}

/**
 * Random probability targets with the input's shape: each row along the class dim (dim 1, or 0 for
 * 1-D shapes) is a softmax of normal draws, so every entry is > 0 and rows sum to ~1.
 */
export function probTargets(rng: Rng, shape: readonly number[], dim = shape.length === 1 ? 0 : 1, std = 2): Float32Array {
  const { outer, C, inner } = rowLayout(shape, dim);
  const out = new Float32Array(numel(shape));
  const row = new Float64Array(C);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let s = 0;
      for (let c = 0; c < C; c++) s += (row[c] = Math.exp(rng.normal(0, std)));
      for (let c = 0; c < C; c++) out[o * C * inner + c * inner + i] = row[c] / s;
    }
  }
  return out;
}

/** Positive weights in [lo, hi). */
export function weights(rng: Rng, n: number, lo = 0.1, hi = 2): Float32Array {
  return uniform(rng, n, lo, hi);
}
