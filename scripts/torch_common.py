"""Shared by scripts/torch-fixtures.py and scripts/torch-grad-fixtures.py: float32 inputs, the JSON
encoding of values (JSON has no NaN/Infinity: "NaN", "Infinity", "-Infinity") and seeded draws."""
import math

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
