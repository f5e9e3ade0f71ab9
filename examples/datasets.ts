/**
 * The two problems of the example, from examples/data/datasets.json (written by scripts/datasets.py
 * from scikit-learn's copies of the UCI data sets; provenance and licence are in the file):
 *  - digits: 8×8 images, pixels 0..16 scaled to [0, 1]; 10 classes, softmax cross-entropy;
 *  - breast cancer: 30 features standardised with the training split's mean and (population)
 *    standard deviation only, so nothing about the held-out split leaks into training; sigmoid BCE.
 * Features are computed in float64 and stored as float32, the precision both backends train in.
 */

export interface Split {
  N: number;
  /** N×D, row-major. */
  X: Float32Array;
  /** Class indices, N. */
  labels: Int32Array;
}

export interface Problem {
  id: 'digits' | 'breastCancer';
  title: string;
  /** Features. */
  D: number;
  /** Outputs of the linear layer: the classes, or 1 for a binary model's single logit. */
  K: number;
  /** Classes (2 for the binary model). */
  C: number;
  loss: 'crossEntropy' | 'bceWithLogits';
  classNames: string[];
  train: Split;
  test: Split;
  citation: string;
}

interface RawSet {
  name: string;
  citation: string;
  samples: number;
  features: number;
  classNames: string[];
  labels: number[];
  heldOut: number[];
}
export interface RawData {
  licence: string;
  digits: RawSet & { images: string[] };
  breastCancer: RawSet & { X: number[][] };
}

/** Rows of a feature table split by the file's held-out indices (training rows keep file order). */
function split(rows: ArrayLike<number>[], labels: number[], heldOut: number[], D: number): { train: Split; test: Split } {
  const out = new Set(heldOut);
  const make = (idx: number[]): Split => {
    const X = new Float32Array(idx.length * D);
    idx.forEach((i, n) => X.set(rows[i], n * D));
    return { N: idx.length, X, labels: Int32Array.from(idx, (i) => labels[i]) };
  };
  const all = labels.map((_, i) => i);
  return { train: make(all.filter((i) => !out.has(i))), test: make(heldOut) };
}

export function problems(raw: RawData): Problem[] {
  const dg = raw.digits;
  const pixels = dg.images.map((s) => Array.from(s, (ch) => parseInt(ch, 17) / 16));
  const bc = raw.breastCancer;
  const D = bc.features;
  const trainRows = bc.X.filter((_, i) => !bc.heldOut.includes(i));
  const mean = new Float64Array(D), sd = new Float64Array(D);
  for (const r of trainRows) for (let d = 0; d < D; d++) mean[d] += r[d] / trainRows.length;
  for (const r of trainRows) for (let d = 0; d < D; d++) sd[d] += (r[d] - mean[d]) ** 2 / trainRows.length;
  for (let d = 0; d < D; d++) sd[d] = Math.sqrt(sd[d]);
  const standardised = bc.X.map((r) => r.map((v, d) => (v - mean[d]) / sd[d]));
  return [
    {
      id: 'digits', title: `Digits: multinomial logistic regression (${dg.samples} 8×8 images, 10 classes)`,
      D: dg.features, K: dg.classNames.length, C: dg.classNames.length, loss: 'crossEntropy', classNames: dg.classNames,
      ...split(pixels, dg.labels, dg.heldOut, dg.features), citation: dg.citation,
    },
    {
      id: 'breastCancer', title: `Breast cancer: binary logistic regression (${bc.samples} samples × ${D} features)`,
      D, K: 1, C: 2, loss: 'bceWithLogits', classNames: bc.classNames,
      ...split(standardised, bc.labels, bc.heldOut, D), citation: bc.citation,
    },
  ];
}
