#!/usr/bin/python3
"""Writes examples/data/datasets.json: the two real data sets of the browser training example.

Run with Debian's scikit-learn (apt-get install -y python3-sklearn):  /usr/bin/python3 scripts/datasets.py

Both data sets are read from the CSV files that python3-sklearn ships (sklearn/datasets/data/), the
same files `load_digits()` and `load_breast_cancer()` read; the numbers are copied unchanged (no
scaling or standardisation here: the app does that, with training-split statistics only).

 - digits: 1,797 8×8 images, pixels are integers 0..16, 10 classes. Each image is stored as a
   64-character string of base-17 digits ("0"-"9", "a"-"g"; JS: parseInt(ch, 17)), row-major.
 - breast cancer (Wisconsin diagnostic): 569 samples × 30 real features, label 0 = malignant,
   1 = benign (sklearn's coding). Features are stored as the CSV's decimals.

The held-out split is fixed: per class, a seeded permutation (numpy's frozen legacy RandomState)
puts round(25 %) of the samples into "heldOut" (sorted indices); the others, in file order, are the
training split. Re-running the script rewrites a byte-identical file.
"""
import csv
import gzip
import hashlib
import json
import os

import numpy as np
import sklearn
import sklearn.datasets

SEED = 0
HELD_OUT = 0.25
DATA = os.path.join(os.path.dirname(sklearn.datasets.__file__), 'data')
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'examples', 'data', 'datasets.json')

LICENCE = ('The CSV files are distributed with scikit-learn (https://scikit-learn.org), '
           'Copyright 2007-2019 The scikit-learn developers, under the BSD-3-Clause licence; '
           'the data sets originate from the UCI Machine Learning Repository (citations per data set).')


def sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def held_out(labels):
    """Sorted indices of the held-out split: per class (ascending), the first round(25 %) of a seeded permutation."""
    rs = np.random.RandomState(SEED)
    labels = np.asarray(labels)
    out = []
    for c in np.unique(labels):
        idx = rs.permutation(np.flatnonzero(labels == c))
        out.extend(int(i) for i in idx[:int(round(HELD_OUT * len(idx)))])
    return sorted(out)


def digits():
    path = os.path.join(DATA, 'digits.csv.gz')
    with gzip.open(path, 'rt') as f:
        rows = [[int(v) for v in r] for r in csv.reader(f) if r]
    assert len(rows) == 1797 and all(len(r) == 65 for r in rows)
    assert all(0 <= v <= 16 for r in rows for v in r[:64]) and all(0 <= r[64] <= 9 for r in rows)
    images = [''.join(np.base_repr(v, 17).lower() for v in r[:64]) for r in rows]
    labels = [r[64] for r in rows]
    return {
        'name': 'Optical Recognition of Handwritten Digits (UCI), the test set of 1,797 images',
        'source': {'file': 'sklearn/datasets/data/digits.csv.gz', 'sha256': sha256(path)},
        'citation': ('E. Alpaydin and C. Kaynak, "Optical Recognition of Handwritten Digits", UCI Machine Learning '
                     'Repository, 1998, https://doi.org/10.24432/C50P49'),
        'samples': len(rows), 'features': 64, 'classes': 10,
        'classNames': [str(c) for c in range(10)],
        'encoding': '64 base-17 digits per image (0..16 pixel counts), row-major 8x8',
        'images': images, 'labels': labels, 'heldOut': held_out(labels),
    }


def breast_cancer():
    path = os.path.join(DATA, 'breast_cancer.csv')
    with open(path) as f:
        reader = csv.reader(f)
        n, d, *class_names = next(reader)
        rows = [r for r in reader if r]
    n, d = int(n), int(d)
    assert len(rows) == n == 569 and all(len(r) == d + 1 for r in rows)
    X = [[float(v) for v in r[:d]] for r in rows]
    labels = [int(r[d]) for r in rows]
    assert set(labels) == {0, 1}
    return {
        'name': 'Breast Cancer Wisconsin (Diagnostic) (UCI)',
        'source': {'file': 'sklearn/datasets/data/breast_cancer.csv', 'sha256': sha256(path)},
        'citation': ('W. Wolberg, O. Mangasarian, N. Street and W. Street, "Breast Cancer Wisconsin (Diagnostic)", '
                     'UCI Machine Learning Repository, 1995, https://doi.org/10.24432/C5DW2B; '
                     'W. N. Street, W. H. Wolberg and O. L. Mangasarian, "Nuclear feature extraction for breast '
                     'tumor diagnosis", IS&T/SPIE Electronic Imaging 1905, 861-870, 1993'),
        'samples': n, 'features': d, 'classes': 2,
        'classNames': class_names,
        'featureNames': [str(s) for s in sklearn.datasets.load_breast_cancer().feature_names],
        'X': X, 'labels': labels, 'heldOut': held_out(labels),
    }


def dump(v, indent=''):
    """JSON with one sample per line (readable, small diffs); floats as Python's shortest round-trip repr."""
    if isinstance(v, dict):
        inner = indent + ' '
        return '{\n' + ',\n'.join(f'{inner}{json.dumps(k)}: {dump(x, inner)}' for k, x in v.items()) + '\n' + indent + '}'
    if isinstance(v, list) and len(v) > 30 and not isinstance(v[0], int):
        inner = indent + ' '
        return '[\n' + ',\n'.join(inner + json.dumps(x, separators=(',', ':')) for x in v) + '\n' + indent + ']'
    return json.dumps(v, separators=(',', ':'))


def main():
    out = {
        'generator': 'scripts/datasets.py',
        'scikitLearn': sklearn.__version__,
        'licence': LICENCE,
        'split': {'heldOutFraction': HELD_OUT, 'stratified': True, 'seed': SEED,
                  'rule': 'per class, numpy RandomState(seed).permutation, first round(25 %) held out'},
        'digits': digits(),
        'breastCancer': breast_cancer(),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        f.write(dump(out) + '\n')
    print(f'wrote {os.path.normpath(OUT)} ({os.path.getsize(OUT)} bytes)')


if __name__ == '__main__':
    main()
