/**
 * The float64 reference of linearCrossEntropy (test/linear-reference.ts) held to real PyTorch: every case of
 * test/fixtures/torch-linear (scripts/torch-fixtures-linear.py, torch 1.13, float64 autograd), the loss and the
 * gradients of hidden, weight and bias within 1e-9·max(1, |torch|) (both are float64: only the order of the
 * sums differs; the JSON holds 12 significant digits), NaN exactly. src/ is not called: the reference is
 * proven here before other tests use it on random inputs.
 */
import { describe, expect, it } from 'vitest';
import { loadLargeLinearCases, loadLinearCases, readNpy } from './linear-fixtures.js';
import type { LinearCase } from './linear-fixtures.js';
import { linearCrossEntropyRef } from './linear-reference.js';

const REL = 1e-9;
const cases = loadLinearCases();
const large = loadLargeLinearCases();

function fmt(v: number): string {
  return Number.isFinite(v) ? v.toPrecision(12) : String(v);
}

/** null when every value of `a` is within REL·max(1, |e|) of `e` (non-finite values exactly), else why not. */
function differ(a: ArrayLike<number>, e: ArrayLike<number>): string | null {
  if (a.length !== e.length) return `${a.length} values, expected ${e.length}`;
  const bad: string[] = [];
  let n = 0;
  for (let i = 0; i < e.length; i++) {
    const ok = Number.isNaN(e[i]) ? Number.isNaN(a[i]) : !Number.isFinite(e[i]) ? a[i] === e[i]
      : Number.isFinite(a[i]) && Math.abs(a[i] - e[i]) <= REL * Math.max(1, Math.abs(e[i]));
    if (!ok) {
      n++;
      if (bad.length < 6) bad.push(`[${i}] ${fmt(a[i])} vs torch ${fmt(e[i])}`);
    }
  }
  return n === 0 ? null : `${n} of ${e.length} differ: ${bad.join('; ')}${n > bad.length ? '; …' : ''}`;
}

function check(c: LinearCase): void {
  const r = linearCrossEntropyRef(c);
  const e = c.expected;
  if (typeof e.loss === 'number') {
    expect(typeof r.loss, 'a reduced loss').toBe('number');
    expect(differ([r.loss as number], [e.loss]), 'loss').toBeNull();
  } else {
    expect(r.loss, "'none': per-row losses").toBeInstanceOf(Float64Array);
    expect(differ(r.loss as Float64Array, e.loss), 'loss').toBeNull();
  }
  expect(differ(r.grad.hidden, e.grad.hidden), 'grad hidden').toBeNull();
  expect(differ(r.grad.weight, e.grad.weight), 'grad weight').toBeNull();
  expect(r.grad.bias === undefined, 'a bias gradient exactly when there is a bias').toBe(e.grad.bias === undefined);
  if (e.grad.bias && r.grad.bias) expect(differ(r.grad.bias, e.grad.bias), 'grad bias').toBeNull();
}

describe(`torch 1.13 linearCrossEntropy fixtures (${cases.length} + ${large.length} large)`, () => {
  it('cover every reduction, option and odd shape the fixtures promise', () => {
    const names = cases.map((c) => c.name);
    const has = (re: RegExp) => names.some((n) => re.test(n));
    for (const S of ['N5 D7 V13', 'N33 D9 V67']) {
      for (const v of ['plain', 'bias', 'ignored\\(-100\\)', 'ignoreIndex=-1 bias', 'labelSmoothing=0.1', 'zLoss=1e-3 bias',
        'softcap=30 \\|logits\\|<=200 bias', 'softcap=3 zLoss=0.05 labelSmoothing=0.2 ignored\\(-100\\) bias']) {
        for (const r of [S === 'N5 D7 V13' ? 'mean\\(default\\)' : 'mean', 'sum', 'none gradOutput']) {
          expect(has(new RegExp(`^${S} ${v} ${r}$`)), `${S} ${v} ${r}`).toBe(true);
        }
      }
    }
    const shapes = new Set(cases.map((c) => `${c.N},${c.D},${c.V}`));
    for (const s of ['5,7,13', '33,9,67', '1,1,1', '3,0,5', '7,130,259', '4,3,5', '6,4,9']) expect(shapes.has(s), s).toBe(true);
    expect(cases.some((c) => c.D === 0 && c.bias !== undefined && c.expected.grad.hidden.length === 0)).toBe(true);
    expect(has(/none gradOutput=ones$/)).toBe(true);
    // defaults left out (reduction, ignoreIndex -100) and given explicitly
    expect(cases.some((c) => !('reduction' in c.options))).toBe(true);
    expect(cases.some((c) => c.options.reduction === 'mean')).toBe(true);
    expect(cases.some((c) => c.options.ignoreIndex === -1) && cases.some((c) => c.options.ignoreIndex === 2)).toBe(true);
    // every row ignored under 'mean': NaN loss, zero gradients (torch)
    const allIgnored = cases.filter((c) => /all ignored/.test(c.name) && (c.options.reduction ?? 'mean') === 'mean');
    expect(allIgnored.length).toBeGreaterThanOrEqual(3);
    for (const c of allIgnored) {
      expect(c.expected.loss, c.name).toBeNaN();
      for (const g of [c.expected.grad.hidden, c.expected.grad.weight, c.expected.grad.bias ?? new Float64Array()]) {
        expect(g.every((v) => v === 0), c.name).toBe(true);
      }
    }
    // logits of ±1e4 (and ±200 against softcap 30)
    const peak = (c: LinearCase) => {
      let m = 0;
      for (let i = 0; i < c.N; i++) {
        for (let v = 0; v < c.V; v++) {
          let z = c.bias ? c.bias[v] : 0;
          for (let k = 0; k < c.D; k++) z += c.hidden[i * c.D + k] * c.weight[v * c.D + k];
          m = Math.max(m, Math.abs(z));
        }
      }
      return m;
    };
    expect(cases.some((c) => peak(c) > 9999)).toBe(true);
    expect(cases.some((c) => c.options.softcap === 30 && peak(c) > 199)).toBe(true);
    // the large vocabularies
    expect(large.map((c) => c.V).sort((a, b) => a - b)).toEqual([32000, 32000, 128256]);
    expect(large.some((c) => c.options.softcap === 30 && c.options.zLoss === 1e-4 && c.options.labelSmoothing === 0.1
      && Array.from(c.target).filter((t) => t === -100).length === 1)).toBe(true);
    for (const c of large) expect(c.bias && c.expected.grad.bias, c.name).toBeTruthy();
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => check(c));

  it.each(large.map((c) => [`V=${c.V} ${c.name}`, c] as const))('%s', (_name, c) => check(c));
});

describe('the .npy reader', () => {
  const npy = (version: 1 | 2, header: string, data: Uint8Array) => {
    const pre = version === 1 ? 10 : 12;
    let h = header;
    while ((pre + h.length + 1) % 64 !== 0) h += ' ';
    h += '\n';
    const out = new Uint8Array(pre + h.length + data.byteLength);
    out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
    const view = new DataView(out.buffer);
    if (version === 1) view.setUint16(8, h.length, true);
    else view.setUint32(8, h.length, true);
    out.set(new TextEncoder().encode(h), pre);
    out.set(data, pre + h.length);
    return out;
  };
  const bytes = (a: Float32Array | Float64Array) => new Uint8Array(a.buffer.slice(0));

  it('reads float32 and float64 in C order, versions 1.0 and 2.0, scalars and empty arrays', () => {
    const a = readNpy(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", bytes(new Float32Array([1, 2, 3, 4, 5, 6.5]))));
    expect(a.dtype).toBe('<f4');
    expect(a.shape).toEqual([2, 3]);
    expect(Array.from(a.data)).toEqual([1, 2, 3, 4, 5, 6.5]);
    const b = readNpy(npy(2, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", bytes(new Float64Array([0.1, -2, 1e300]))));
    expect(b.data).toBeInstanceOf(Float64Array);
    expect(Array.from(b.data)).toEqual([0.1, -2, 1e300]);
    expect(readNpy(npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", bytes(new Float64Array([7])))).shape).toEqual([]);
    expect(readNpy(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 0), }", new Uint8Array())).data.length).toBe(0);
  });

  it('refuses other dtypes, Fortran order, bad magic and short data', () => {
    const d = bytes(new Float32Array([1, 2]));
    expect(() => readNpy(npy(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", d))).toThrow(/dtype/);
    expect(() => readNpy(npy(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", d))).toThrow(/dtype/);
    expect(() => readNpy(npy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", d))).toThrow(/fortran/);
    expect(() => readNpy(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", d))).toThrow(/data bytes/);
    const bad = npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", d);
    bad[1] = 0;
    expect(() => readNpy(bad)).toThrow(/not a .npy/);
  });
});
