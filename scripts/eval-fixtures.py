#!/usr/bin/python3
"""Writes test/fixtures/eval/: real held-out logits for the streaming evaluator (issue 13), and scikit-learn's
metrics on them.

Run with Debian's scikit-learn and numpy (apt-get install -y python3-sklearn python3-numpy):
    /usr/bin/python3 scripts/eval-fixtures.py
Re-running it rewrites byte-identical files (the solver is deterministic; nothing depends on the clock).

The model: a multinomial logistic regression (StandardScaler, then LogisticRegression with the lbfgs solver, which
fits the multinomial softmax model for more than two classes; C = 0.1, random_state = 0) trained on half of the
digits data set (sklearn.datasets.load_digits: 1,797 8x8 images, 10 classes), split by
train_test_split(test_size=0.5, stratify=y, random_state=0). The held-out half (899 rows) is the fixture. (The
regularisation and the small training set are chosen so that top-3 and top-5 accuracy are below 1 here:
accuracy 0.963, top-3 0.997, top-5 0.999.)

  digits-logits.npy      float32 (899, 10): decision_function of the held-out rows, rounded to float32
  digits-labels.npy      int64 (899,): their classes
  digits-logits-f16.npy  float16 (899, 10): the float32 logits rounded to float16 (numpy: nearest even)
  digits.safetensors     `logits` (F32, [899, 10]) and `labels` (I64, [899]), the same values, written by hand:
                         an 8-byte little-endian header length, the JSON header (padded with spaces to a multiple
                         of 8 bytes), then the data (logits first); offsets relative to the data's start
  digits.json            the numbers below

digits.json:
  "sklearn": scikit-learn's own metrics, computed from p = softmax(float32 logits) in float64:
      log_loss(labels, p, labels=range(10)), accuracy_score(labels, argmax p), top_k_accuracy_score(labels, p, k=3)
      and (k=5). Tie-breaking: top_k_accuracy_score sorts stably ascending and reverses, so among tied scores the
      HIGHER class index ranks first (accuracy_score's np.argmax picks the LOWER one); the library ranks the lower
      index first. The script asserts that no row of the float32 logits has two equal values (and no two equal
      probabilities), so the definitions agree on this data. log_loss clips p to [eps, 1 - eps] (eps = 2.2e-16)
      and renormalises: the script asserts every target probability is above 1e-12, so the clip changes the mean
      by less than 1e-15.
  "float32" and "float16": the float64 values of every metric of the evaluator (issue 13, EvaluatorOptions) on the
      float32 logits and on the float16 copy (each value widened exactly to float64), with topK [3, 5] and the
      default 15 calibration bins, plus "ece10" (10 bins):
      crossEntropy = mean(-log softmax(x)[t]), perplexity = exp(crossEntropy), accuracy / top3 / top5 (rank of t =
      #{c: x_c > x_t} + #{c < t: x_c = x_t}, counted when rank < k), entropy = mean(-sum p log p),
      ece = sum_b (n_b / count) |acc_b - conf_b| over bins (i/B, (i+1)/B] of conf = max p, brier = mean sum_c
      (p_c - [c = t])^2. The float16 copy may have ties (its spacing is 2^-7 near 10); they follow the rule above.
  "binary": the same data as a one-vs-rest problem for the binary evaluator: logit z = x_0 - logsumexp(x_1..x_9)
      (float32; digit 0 against the rest, label 1 for digit 0), written to the JSON with its metrics (bce, accuracy
      at p >= 0.5, ece with conf = max(p, 1 - p), brier), in float64.
  "rows", "classes", "versions" (sklearn, numpy), and "minBinDistance": the smallest |conf·B − round(conf·B)|
      over rows and bin counts used (asserted > 1e-4, so a float32 confidence cannot land in another bin than the
      float64 one).
"""
import json
import math
import os
import struct

import numpy as np
import sklearn
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss, top_k_accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'eval')
SEED = 0
TOP_K = (3, 5)
BINS = (15, 10)


def softmax64(x):
    x = np.asarray(x, dtype=np.float64)
    m = x.max(axis=1, keepdims=True)
    e = np.exp(x - m)
    return e / e.sum(axis=1, keepdims=True)


def bin_distance(conf, bins):
    """Smallest distance of conf·B to an inner bin edge (edges 1..B-1; conf = 1 is in the top bin either way)."""
    d = math.inf
    for b in bins:
        s = conf * b
        r = np.round(s)
        inner = (r >= 1) & (r <= b - 1)
        if inner.any():
            d = min(d, float(np.abs(s - r)[inner].min()))
    return d


def ece_of(conf, correct, bins):
    n = len(conf)
    idx = np.clip(np.ceil(conf * bins).astype(np.int64) - 1, 0, bins - 1)
    total = 0.0
    for b in range(bins):
        sel = idx == b
        nb = int(sel.sum())
        if nb:
            total += nb / n * abs(correct[sel].mean() - conf[sel].mean())
    return total


def rank_of(x, t):
    """Our tie rule: #{c: x_c > x_t} + #{c < t: x_c = x_t}, on the exact values."""
    xt = x[np.arange(len(t)), t][:, None]
    higher = (x > xt).sum(axis=1)
    cls = np.arange(x.shape[1])[None, :]
    tied_before = ((x == xt) & (cls < t[:, None])).sum(axis=1)
    return higher + tied_before


def metrics(x, t):
    x = np.asarray(x, dtype=np.float64)
    m = x.max(axis=1, keepdims=True)
    z = x - m
    s = np.exp(z).sum(axis=1)
    logs = np.log(s)
    n = len(t)
    rows = np.arange(n)
    loss = logs - z[rows, t]
    p = np.exp(z) / s[:, None]
    with np.errstate(invalid='ignore'):
        ent = logs - np.where(p > 0, p * z, 0.0).sum(axis=1)
    rank = rank_of(x, t)
    conf = 1.0 / s                      # max p = exp(0) / s
    correct = (rank == 0).astype(np.float64)
    onehot = np.zeros_like(p)
    onehot[rows, t] = 1.0
    brier = ((p - onehot) ** 2).sum(axis=1)
    ce = float(loss.mean())
    out = {
        'crossEntropy': ce,
        'perplexity': math.exp(ce),
        'accuracy': float(correct.mean()),
    }
    for k in TOP_K:
        out[f'top{k}'] = float((rank < k).mean())
    out['entropy'] = float(ent.mean())
    out['ece'] = ece_of(conf, correct, BINS[0])
    out['ece10'] = ece_of(conf, correct, BINS[1])
    out['brier'] = float(brier.mean())
    return out, bin_distance(conf, BINS)


def sigmoid64(z):
    z = np.asarray(z, dtype=np.float64)
    return np.where(z >= 0, 1 / (1 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))))


def binary_metrics(z, y):
    z = np.asarray(z, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    p = sigmoid64(z)
    bce = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
    pred = (p >= 0.5).astype(np.float64)
    correct = (pred == y).astype(np.float64)
    conf = np.maximum(p, 1 - p)
    out = {
        'bce': float(bce.mean()),
        'accuracy': float(correct.mean()),
        'ece': ece_of(conf, correct, BINS[0]),
        'ece10': ece_of(conf, correct, BINS[1]),
        'brier': float(((p - y) ** 2).mean()),
    }
    return out, bin_distance(conf, BINS), float(np.abs(z).min())


def npy_bytes(a):
    """np.save's format 1.0, written to memory (np.save itself writes the same bytes)."""
    import io
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return buf.getvalue()


def safetensors_bytes(tensors):
    """tensors: list of (name, dtype tag, array). The format: u64 LE header size, JSON header, data."""
    header = {'__metadata__': {'format': 'pt', 'source': 'scripts/eval-fixtures.py'}}
    blobs = []
    off = 0
    for name, tag, arr in tensors:
        data = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder('<'), copy=False).tobytes()
        header[name] = {'dtype': tag, 'shape': list(arr.shape), 'data_offsets': [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * ((-len(text)) % 8)
    return struct.pack('<Q', len(text)) + text + b''.join(blobs)


def write(name, data):
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, stratify=y, random_state=SEED)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=10000, random_state=SEED))
    model.fit(X_train, y_train)
    lr = model[-1]
    assert lr.n_iter_[0] < lr.max_iter, 'lbfgs did not converge'

    logits64 = model.decision_function(X_test)
    # lbfgs fits the multinomial model: predict_proba is the softmax of decision_function
    assert np.allclose(softmax64(logits64), model.predict_proba(X_test), rtol=0, atol=1e-12), 'not the multinomial model'
    logits = logits64.astype(np.float32)
    labels = y_test.astype(np.int64)
    n, classes = logits.shape
    assert classes == 10 and n == 899, (n, classes)

    # no ties in the float32 logits (sklearn's top-k and ours break ties differently), nor in their probabilities
    p = softmax64(logits)
    for r in range(n):
        assert len(np.unique(logits[r])) == classes, f'tied logits in row {r}'
        assert len(np.unique(p[r])) == classes, f'tied probabilities in row {r}'
    assert p[np.arange(n), labels].min() > 1e-12, 'a target probability below log_loss clipping range'

    sk = {
        'log_loss': float(log_loss(labels, p, labels=list(range(classes)))),
        'accuracy_score': float(accuracy_score(labels, p.argmax(axis=1))),
    }
    for k in TOP_K:
        sk[f'top_k_accuracy_score_k{k}'] = float(top_k_accuracy_score(labels, p, k=k, labels=list(range(classes))))

    m32, d32 = metrics(logits, labels)
    f16 = logits.astype(np.float16)
    m16, d16 = metrics(f16.astype(np.float64), labels)
    ties16 = int(sum(len(np.unique(f16[r])) < classes for r in range(n)))

    # sklearn agrees with the float64 reference (no ties, no clipping)
    assert abs(sk['log_loss'] - m32['crossEntropy']) <= 1e-12 * m32['crossEntropy'], (sk['log_loss'], m32['crossEntropy'])
    assert sk['accuracy_score'] == m32['accuracy']
    for k in TOP_K:
        assert sk[f'top_k_accuracy_score_k{k}'] == m32[f'top{k}']

    # binary: digit 0 against the rest
    lse_rest = np.log(np.exp(logits[:, 1:].astype(np.float64) - logits.max(axis=1, keepdims=True)).sum(axis=1)) + logits.max(axis=1)
    z = (logits[:, 0].astype(np.float64) - lse_rest).astype(np.float32)
    yb = (labels == 0).astype(np.int64)
    mb, db, zmin = binary_metrics(z, yb)
    assert zmin > 1e-4, 'a binary logit too close to 0 (the 0.5 threshold)'

    dist = min(d32, d16, db)
    assert dist > 1e-4, f'a confidence within {dist} of a bin edge'

    write('digits-logits.npy', npy_bytes(logits))
    write('digits-labels.npy', npy_bytes(labels))
    write('digits-logits-f16.npy', npy_bytes(f16))
    write('digits.safetensors', safetensors_bytes([('logits', 'F32', logits), ('labels', 'I64', labels)]))

    doc = {
        'file': 'digits.json',
        'generator': 'scripts/eval-fixtures.py',
        'versions': {'sklearn': sklearn.__version__, 'numpy': np.__version__},
        'model': 'StandardScaler + LogisticRegression(lbfgs, multinomial, C=0.1, random_state=0), '
                 'train_test_split(test_size=0.5, stratify=y, random_state=0)',
        'rows': n,
        'classes': classes,
        'topK': list(TOP_K),
        'calibrationBins': BINS[0],
        'tieBreaking': 'sklearn top_k_accuracy_score ranks the higher class index first among ties; '
                       'accuracy_score (argmax) and this library the lower; the float32 logits have no ties',
        'float16Ties': ties16,
        'minBinDistance': dist,
        'sklearn': sk,
        'float32': m32,
        'float16': m16,
        'binary': {
            'description': 'z = x_0 - logsumexp(x_1..x_9) as float32, label 1 for digit 0',
            'logits': [float(v) for v in z],
            'labels': [int(v) for v in yb],
            'metrics': mb,
        },
    }
    with open(os.path.join(OUT, 'digits.json'), 'w') as f:
        json.dump(doc, f, indent=1)
        f.write('\n')
    print(json.dumps({'sklearn': sk, 'float32': m32, 'float16Ties': ties16, 'minBinDistance': dist}, indent=1))


if __name__ == '__main__':
    main()
