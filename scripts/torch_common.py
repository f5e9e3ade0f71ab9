"""Shared by scripts/torch-fixtures.py, scripts/torch-grad-fixtures.py and scripts/torch-fixtures-losses.py:
float32 inputs, the JSON encoding of values (JSON has no NaN/Infinity: "NaN", "Infinity", "-Infinity"),
seeded draws, the reductions, torch's autograd in float64, and the writing of the fixture files."""
import json
import math
import os
import sys

import numpy as np
import torch


def enc_f32(v):
    """A float32 value as the shortest decimal that JS parses (to float64, then Float32Array) back to it."""
    v = np.float32(v)
    if np.isnan(v):
        return 'NaN'
    if np.isinf(v):
        return 'Infinity' if v > 0 else '-Infinity'
    s = repr(float(v)) if v == 0 else np.format_float_positional(v, unique=True, trim='-') \
        if 1e-4 <= abs(v) < 1e7 else np.format_float_scientific(v, unique=True, trim='-')
    f = float(s)
    if np.float32(f) != v:  # double rounding (decimal -> f64 -> f32) must land on v
        f = float(v)
    assert np.float32(f) == v
    return int(f) if f.is_integer() and abs(f) < 2 ** 53 and not (f == 0 and math.copysign(1, f) < 0) else f


def enc_f64(v, digits):
    """An expected (float64) value with `digits` significant digits."""
    v = float(v)
    if math.isnan(v):
        return 'NaN'
    if math.isinf(v):
        return 'Infinity' if v > 0 else '-Infinity'
    f = float('%.*g' % (digits, v))
    return int(f) if f.is_integer() and abs(f) < 2 ** 53 else f


def f32(a):
    return np.asarray(a, dtype=np.float32)


def T(a):
    """float64 torch tensor holding exactly the float32 values of a."""
    return torch.from_numpy(np.array(f32(a), dtype=np.float64))


def I64(t):
    return torch.from_numpy(np.asarray(t, dtype=np.int64))


def tensor_json(a):
    a = f32(a)
    return {'data': [enc_f32(v) for v in a.reshape(-1)], 'shape': list(a.shape)}


def f64_json(r, digits):
    """An expected float64 tensor: its values with `digits` significant digits, and its shape."""
    return {'data': [enc_f64(v, digits) for v in r.reshape(-1).tolist()], 'shape': list(r.shape)}


def target_json(target, tdtype, as_tensor):
    """A case's target: int32 class indices or float32 values, and whether the runner passes it as a tensor."""
    if tdtype == 'int32':
        t = np.asarray(target, dtype=np.int32)
        j = {'data': [int(v) for v in t.reshape(-1)], 'shape': list(t.shape), 'dtype': 'int32'}
    else:
        j = {**tensor_json(target), 'dtype': 'float32'}
    j['asTensor'] = bool(as_tensor)
    return j


def cdim_of(shape):
    return 0 if len(shape) == 1 else 1


def tshape_of(shape):
    return tuple(d for i, d in enumerate(shape) if i != cdim_of(shape))


class Draws:
    """Seeded float32 draws from one numpy RandomState."""

    def __init__(self, rs):
        self.rs = rs

    def randn(self, *shape, scale=1.0):
        return f32(self.rs.standard_normal(shape) * scale)

    def uniform(self, lo, hi, *shape):
        return f32(self.rs.uniform(lo, hi, shape))

    def class_targets(self, C, shape, ignore=None, frac=0.0):
        t = self.rs.randint(0, C, size=shape).astype(np.int32)
        if ignore is not None and frac > 0:
            m = self.rs.uniform(size=shape) < frac
            flat = m.reshape(-1)
            if flat.size > 1 and not flat.any():
                flat[0] = True
            if flat.size > 1 and flat.all():
                flat[-1] = False
            t = np.where(m, np.int32(ignore), t).astype(np.int32)
        return t

    def prob_targets(self, shape, cdim):
        """Probabilities along cdim (float32, each > 0)."""
        z = torch.from_numpy(self.rs.standard_normal(shape)).softmax(cdim)
        return f32(z.numpy())

    def upstream(self, lshape, red, k):
        """gradOutput for 'none': random (most cases) or None (the default ones) every third case."""
        if red != 'none' or k % 3 == 2:
            return None
        return self.randn(*lshape, scale=1.5)


# ----------------------------------------------------------------------------- reductions and gradients

REDS = [None, 'sum', 'none']  # None: the option left out (the library's default, 'mean')


def red_arg(red):
    return 'mean' if red is None else red


def red_name(red):
    return 'mean(default)' if red is None else red


def autograd(fn, x, red, go):
    """(loss, d loss / d x) in float64; `go` is the upstream gradient for 'none' (None: ones)."""
    xt = T(x).requires_grad_(True)
    loss = fn(xt)
    if red == 'none':
        loss.backward(torch.ones_like(loss) if go is None else T(go).reshape(loss.shape))
    else:
        loss.backward()
    return loss.detach(), xt.grad.detach()


def grad_opts(red, go, go_tensor):
    opts = {'grad': True}
    if red is not None:
        opts['reduction'] = red
    if go is not None:
        opts['gradOutput'] = tensor_json(go) if go_tensor else [enc_f32(v) for v in f32(go).reshape(-1)]
    return opts


def go_name(red, go):
    return '' if red != 'none' else (' gradOutput' if go is not None else ' gradOutput=ones')


# ----------------------------------------------------------------------------- files

def write_cases(out, files, key, seed):
    """Writes each {name: cases} of `files` to out/<name>.json, headed by {key: name, "torch", "seed"}, one case
    a line; reports the sizes on stderr."""
    os.makedirs(out, exist_ok=True)
    total = 0
    for name, cases in files.items():
        path = os.path.join(out, f'{name}.json')
        with open(path, 'w') as f:
            f.write('{%s:%s,"torch":%s,"seed":%d,"cases":[\n' % (json.dumps(key), json.dumps(name), json.dumps(torch.__version__), seed))
            f.write(',\n'.join(json.dumps(c, separators=(',', ':'), allow_nan=False) for c in cases))
            f.write('\n]}\n')
        total += len(cases)
        print(f'{name}: {len(cases)} cases, {os.path.getsize(path)} bytes', file=sys.stderr)
    print(f'total {total} cases', file=sys.stderr)
