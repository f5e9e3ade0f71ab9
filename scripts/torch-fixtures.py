#!/usr/bin/python3
"""Generates test/fixtures/torch/<op>.json: inputs and the values real PyTorch computes for them.

Run with Debian's torch (README.md, "WebGPU without a GPU"):  /usr/bin/python3 scripts/torch-fixtures.py

Inputs are drawn with a fixed seed and rounded to float32 (the library's storage type); the expected
values are computed by torch in float64 from exactly those float32 values. JSON has no NaN/Infinity,
so non-finite numbers are written as the strings "NaN", "Infinity", "-Infinity".

Schema of each file:
  { "op": "<method>", "torch": "<version>", "cases": [
      { "name": "...",
        "input":  {"data": [...], "shape": [...]},
        "target": {"data": [...], "shape": [...], "dtype": "int32"|"float32", "asTensor": bool}   (losses only)
        "options": { camelCase library options; weight/posWeight as arrays or {"data","shape"} },
        "expected": number | {"data": [...], "shape": [...]} } ] }
"asTensor" asks the runner to pass the target as a {data, shape} tensor instead of a bare typed array.

Corner cases where torch 1.13 disagrees with docs/ARCHITECTURE.md, "The plan and the numerics contract" are deliberately left out (they are tested
against test/reference.ts only): probability targets of exactly 0 at a -inf logit (0·-inf).
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_common import (  # noqa: E402
    REDS, Draws, I64, T, cdim_of, enc_f32, f32, red_arg, red_name, target_json, tensor_json, tshape_of, write_cases)
from torch_common import enc_f64 as _enc_f64, f64_json as _f64_json  # noqa: E402


def enc_f64(v):
    return _enc_f64(v, 11)


SEED = 20240611
rs = np.random.RandomState(SEED)
torch.manual_seed(SEED)
_draws = Draws(rs)
randn, uniform, class_targets, prob_targets = _draws.randn, _draws.uniform, _draws.class_targets, _draws.prob_targets

INF = float('inf')
NAN = float('nan')
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'torch')


# ----------------------------------------------------------------------------- encoding

def f64_json(r):
    return _f64_json(r, 11)


def expected_json(r):
    if r.dim() == 0 and not getattr(r, '_keep', False):
        return enc_f64(r.item())
    return f64_json(r)


FILES = {}


def add(op, name, x, expected, target=None, tdtype=None, options=None, as_tensor=False, expect_tensor=False):
    case = {'name': name, 'input': tensor_json(x)}
    if target is not None:
        case['target'] = target_json(target, tdtype, as_tensor)
    case['options'] = options or {}
    if expect_tensor:
        case['expected'] = f64_json(expected)
    else:
        case['expected'] = expected_json(expected)
    names = [c['name'] for c in FILES.setdefault(op, [])]
    assert name not in names, (op, name)
    FILES[op].append(case)


def red_opts(red):
    return {} if red is None else {'reduction': red}


# ----------------------------------------------------------------------------- draws

SHAPES = {'C': (5,), 'NC': (6, 5), 'NCd1': (3, 4, 5), 'NCd1d2': (2, 3, 4, 3)}


# ----------------------------------------------------------------------------- crossEntropy

def ce(x, t, weight=None, ignore=None, eps=None, red=None, as_tensor=False, name=None, index=True):
    kw = {}
    opts = {}
    if weight is not None:
        kw['weight'] = T(weight)
        opts['weight'] = [enc_f32(v) for v in f32(weight)]
    if ignore is not None:
        kw['ignore_index'] = ignore
        opts['ignoreIndex'] = ignore
    if eps is not None:
        kw['label_smoothing'] = eps
        opts['labelSmoothing'] = eps
    opts.update(red_opts(red))
    tt = I64(t) if index else T(t)
    r = F.cross_entropy(T(x), tt, reduction=red_arg(red), **kw)
    add('crossEntropy', name, x, r, target=t, tdtype='int32' if index else 'float32', options=opts,
        as_tensor=as_tensor, expect_tensor=red == 'none')


def gen_cross_entropy():
    k = 0
    for sname, shape in SHAPES.items():
        C = shape[cdim_of(shape)]
        ts = tshape_of(shape)
        for red in REDS:
            x = randn(*shape, scale=2.0)
            w = uniform(0.2, 2.0, C)
            t = class_targets(C, ts)
            k += 1
            ce(x, t, red=red, as_tensor=k % 2 == 0, name=f'index {sname} {red_name(red)}')
            ce(x, t, weight=w, red=red, name=f'index {sname} weight {red_name(red)}')
            ce(x, t, eps=0.1, red=red, as_tensor=True, name=f'index {sname} labelSmoothing=0.1 {red_name(red)}')
            if len(shape) > 1:
                ti = class_targets(C, ts, ignore=-100, frac=0.3)
                ce(x, ti, red=red, name=f'index {sname} ignored(-100) {red_name(red)}')
                ce(x, ti, eps=0.2, red=red, name=f'index {sname} ignored(-100) labelSmoothing=0.2 {red_name(red)}')
                ce(x, ti, weight=w, eps=0.25, red=red, as_tensor=k % 2 == 1,
                   name=f'index {sname} weight ignored(-100) labelSmoothing=0.25 {red_name(red)}')
                # probability targets
            pt = prob_targets(shape, cdim_of(shape))
            ce(x, pt, red=red, index=False, name=f'prob {sname} {red_name(red)}')
            ce(x, pt, weight=w, red=red, index=False, as_tensor=True, name=f'prob {sname} weight {red_name(red)}')
            ce(x, pt, eps=0.15, red=red, index=False, name=f'prob {sname} labelSmoothing=0.15 {red_name(red)}')
            ce(x, pt, weight=w, eps=0.3, red=red, index=False, as_tensor=k % 2 == 1,
               name=f'prob {sname} weight labelSmoothing=0.3 {red_name(red)}')

    # 1-D input: target of shape ()
    x = randn(5, scale=2.0)
    for red in REDS:
        ce(x, np.array(-100, dtype=np.int32), red=red, as_tensor=True, name=f'index C ignored scalar target {red_name(red)}')
        ce(x, np.array(-100, dtype=np.int32), eps=0.3, red=red, name=f'index C ignored scalar target labelSmoothing=0.3 {red_name(red)}')

    # other ignore indices: an in-range class, and -1
    x = randn(8, 5, scale=2.0)
    t = class_targets(5, (8,))
    t[[1, 4]] = 2
    for red in REDS:
        ce(x, t, ignore=2, red=red, name=f'ignoreIndex=2 (a valid class) {red_name(red)}')
        ce(x, t, ignore=2, eps=0.1, weight=uniform(0.5, 1.5, 5), red=red, name=f'ignoreIndex=2 weight labelSmoothing=0.1 {red_name(red)}')
    t2 = t.copy()
    t2[[0, 5]] = -1
    for red in REDS:
        ce(x, t2, ignore=-1, red=red, name=f'ignoreIndex=-1 {red_name(red)}')
        ce(x, t2, ignore=-1, eps=0.4, red=red, name=f'ignoreIndex=-1 labelSmoothing=0.4 {red_name(red)}')

    # label smoothing 1 and 0 given explicitly
    x = randn(6, 4)
    t = class_targets(4, (6,))
    ce(x, t, eps=1.0, name='labelSmoothing=1 mean')
    ce(x, t, eps=1.0, red='none', name='labelSmoothing=1 none')
    ce(x, t, eps=0.0, red='sum', name='labelSmoothing=0 explicit sum')
    ce(x, prob_targets((6, 4), 1), eps=1.0, index=False, name='prob labelSmoothing=1 mean')

    # every target ignored: mean -> NaN, sum -> 0
    x = randn(4, 3)
    t = np.full((4,), -100, dtype=np.int32)
    w = uniform(0.5, 1.5, 3)
    for red in REDS:
        ce(x, t, red=red, name=f'all ignored {red_name(red)}')
        ce(x, t, eps=0.1, red=red, name=f'all ignored labelSmoothing=0.1 {red_name(red)}')
        ce(x, t, weight=w, red=red, name=f'all ignored weight {red_name(red)}')
        ce(x, t, weight=w, eps=0.1, red=red, name=f'all ignored weight labelSmoothing=0.1 {red_name(red)}')

    # weights with zeros (the target's weight 0: contributes 0 to numerator and denominator)
    x = randn(6, 4)
    t = np.array([0, 1, 2, 3, 0, 1], dtype=np.int32)
    wz = f32([0.0, 1.5, 0.0, 0.5])
    for red in REDS:
        ce(x, t, weight=wz, red=red, name=f'weight with zeros {red_name(red)}')
        ce(x, t, weight=wz, eps=0.2, red=red, name=f'weight with zeros labelSmoothing=0.2 {red_name(red)}')

    # a single class
    x = randn(5, 1)
    t = np.zeros(5, dtype=np.int32)
    for red in REDS:
        ce(x, t, red=red, name=f'C=1 {red_name(red)}')
        ce(x, t, eps=0.5, red=red, name=f'C=1 labelSmoothing=0.5 {red_name(red)}')
    ce(x, np.ones((5, 1), dtype=np.float32), index=False, red='none', name='prob C=1 none')

    # -inf logits away from the target: probability 0, finite loss
    x = randn(5, 6)
    x[0, 1] = -INF; x[0, 4] = -INF; x[2, 0] = -INF; x[3, 5] = -INF
    t = np.array([0, 2, 3, 4, 1], dtype=np.int32)
    for red in REDS:
        ce(x, t, red=red, name=f'-inf logits off target {red_name(red)}')
        ce(x, t, weight=uniform(0.5, 1.5, 6), red=red, name=f'-inf logits off target weight {red_name(red)}')
    # with label smoothing every class gets mass: rows holding -inf give +inf
    ce(x, t, eps=0.1, red='none', name='-inf logits off target labelSmoothing=0.1 none')
    ce(x, t, eps=0.1, red='mean', name='-inf logits off target labelSmoothing=0.1 mean')
    # -inf at the target: +inf
    x2 = x.copy()
    x2[1, 2] = -INF
    ce(x2, t, red='none', name='-inf logit at target none')
    ce(x2, t, name='-inf logit at target mean')
    ce(x2, t, red='sum', name='-inf logit at target sum')
    # -inf where the probability target is > 0: +inf; with smoothing too
    pt = prob_targets((5, 6), 1)
    ce(x, pt, index=False, red='none', name='prob -inf logits none')
    ce(x, pt, index=False, eps=0.2, red='none', name='prob -inf logits labelSmoothing=0.2 none')

    # extreme logits
    x = f32(rs.choice([-3e4, 3e4], size=(6, 5)) + rs.standard_normal((6, 5)))
    x[0] = [3e4, -3e4, 3e4, -3e4, 0]
    t = class_targets(5, (6,))
    t[0] = 1
    for red in REDS:
        ce(x, t, red=red, name=f'extreme logits +-3e4 {red_name(red)}')
        ce(x, t, eps=0.1, weight=uniform(0.5, 1.5, 5), red=red, name=f'extreme logits +-3e4 weight labelSmoothing=0.1 {red_name(red)}')
    ce(x, prob_targets((6, 5), 1), index=False, red='none', name='prob extreme logits +-3e4 none')
    x = randn(4, 7, scale=3.0) + f32(3e4)
    ce(x, class_targets(7, (4,)), red='none', name='logits all near 3e4 none')

    # NaN propagates (only through rows that are not ignored)
    x = randn(4, 5)
    x[1, 3] = NAN
    x[2, 0] = NAN
    t = np.array([0, 1, -100, 4], dtype=np.int32)
    for red in REDS:
        ce(x, t, red=red, name=f'NaN logits {red_name(red)}')
    ce(x, t, eps=0.1, red='none', name='NaN logits labelSmoothing=0.1 none')
    x3 = x.copy(); x3[1, 3] = 0.5
    ce(x3, t, red='none', name='NaN logit in an ignored row none')
    ce(x3, t, name='NaN logit in an ignored row mean')
    ce(x3, t, eps=0.1, name='NaN logit in an ignored row labelSmoothing=0.1 mean')
    x4 = randn(3, 4); x4[1, 2] = INF
    ce(x4, np.array([0, 1, 2], dtype=np.int32), red='none', name='+inf logit none')

    # larger rows
    x = randn(1, 1000, scale=3.0)
    t = class_targets(1000, (1,))
    w = uniform(0.1, 2.0, 1000)
    ce(x, t, red='none', name='C=1000 none')
    ce(x, t, weight=w, eps=0.1, name='C=1000 weight labelSmoothing=0.1 mean')
    ce(x, prob_targets((1, 1000), 1), eps=0.05, index=False, name='prob C=1000 labelSmoothing=0.05 mean')
    x = randn(64, 3)
    ce(x, class_targets(3, (64,), ignore=-100, frac=0.2), eps=0.1, name='N=64 C=3 ignored labelSmoothing=0.1 mean')


# ----------------------------------------------------------------------------- nllLoss

def nll(x, t, weight=None, ignore=None, red=None, as_tensor=False, name=None):
    kw, opts = {}, {}
    if weight is not None:
        kw['weight'] = T(weight)
        opts['weight'] = [enc_f32(v) for v in f32(weight)]
    if ignore is not None:
        kw['ignore_index'] = ignore
        opts['ignoreIndex'] = ignore
    opts.update(red_opts(red))
    r = F.nll_loss(T(x), I64(t), reduction=red_arg(red), **kw)
    add('nllLoss', name, x, r, target=t, tdtype='int32', options=opts, as_tensor=as_tensor, expect_tensor=red == 'none')


def gen_nll():
    k = 0
    for sname, shape in SHAPES.items():
        C = shape[cdim_of(shape)]
        ts = tshape_of(shape)
        for red in REDS:
            k += 1
            x = f32(F.log_softmax(torch.from_numpy(rs.standard_normal(shape)), cdim_of(shape)).numpy())
            w = uniform(0.2, 2.0, C)
            t = class_targets(C, ts)
            nll(x, t, red=red, as_tensor=k % 2 == 1, name=f'{sname} {red_name(red)}')
            nll(x, t, weight=w, red=red, name=f'{sname} weight {red_name(red)}')
            if len(shape) > 1:
                ti = class_targets(C, ts, ignore=-100, frac=0.3)
                nll(x, ti, red=red, as_tensor=True, name=f'{sname} ignored(-100) {red_name(red)}')
                nll(x, ti, weight=w, red=red, name=f'{sname} weight ignored(-100) {red_name(red)}')
    # arbitrary real inputs (nll_loss does not require log-probabilities)
    x = randn(6, 4, scale=5.0)
    t = class_targets(4, (6,))
    for red in REDS:
        nll(x, t, red=red, name=f'arbitrary inputs {red_name(red)}')
    # ignoreIndex inside the class range and -1
    x = randn(7, 4)
    t = np.array([0, 3, 3, 1, 2, 3, 0], dtype=np.int32)
    for red in REDS:
        nll(x, t, ignore=3, red=red, name=f'ignoreIndex=3 {red_name(red)}')
        nll(x, t, ignore=3, weight=uniform(0.5, 2, 4), red=red, name=f'ignoreIndex=3 weight {red_name(red)}')
    t2 = t.copy(); t2[[1, 2]] = -1
    nll(x, t2, ignore=-1, name='ignoreIndex=-1 mean')
    # 1-D input, scalar target
    x = randn(5)
    for red in REDS:
        nll(x, np.array(-100, dtype=np.int32), red=red, name=f'C ignored scalar target {red_name(red)}')
    # all ignored
    x = randn(3, 4)
    t = np.full((3,), -100, dtype=np.int32)
    for red in REDS:
        nll(x, t, red=red, name=f'all ignored {red_name(red)}')
        nll(x, t, weight=uniform(0.5, 2, 4), red=red, name=f'all ignored weight {red_name(red)}')
    # -inf at the target -> +inf; NaN away from the target is never read
    x = randn(4, 3)
    x[0, 1] = -INF; x[2, 2] = NAN; x[3, 0] = -INF
    t = np.array([1, 0, 1, 2], dtype=np.int32)
    for red in REDS:
        nll(x, t, red=red, name=f'-inf at target, NaN off target {red_name(red)}')
    t = np.array([0, 0, 2, 2], dtype=np.int32)
    for red in REDS:
        nll(x, t, red=red, name=f'NaN at target {red_name(red)}')
    # weight zeros, C = 1, extreme values
    x = randn(5, 3)
    nll(x, np.array([0, 1, 2, 0, 1], dtype=np.int32), weight=f32([0, 1, 2]), name='weight with zeros mean')
    nll(randn(4, 1), np.zeros(4, dtype=np.int32), name='C=1 mean')
    x = f32(rs.choice([-3e4, 3e4], size=(5, 3)))
    nll(x, class_targets(3, (5,)), red='none', name='extreme +-3e4 none')
    nll(x, class_targets(3, (5,)), red='sum', name='extreme +-3e4 sum')


# ----------------------------------------------------------------------------- BCE

def trailing_shape(shape, n):
    if n == 1:
        return (1,)
    p = 1
    for i in range(len(shape) - 1, -1, -1):
        p *= shape[i]
        if p == n:
            return tuple(shape[i:])
    raise ValueError(f'{n} is not the size of trailing dims of {shape}')


def bce(x, t, weight=None, red=None, name=None, as_tensor=False, with_logits=False, pos_weight=None):
    kw, opts = {}, {}
    if weight is not None:
        if isinstance(weight, tuple):  # ('tensor', array) -> {data, shape}
            w = f32(weight[1])
            opts['weight'] = tensor_json(w)
        else:
            w = f32(weight)
            opts['weight'] = [enc_f32(v) for v in w.reshape(-1)]
            w = w.reshape(trailing_shape(np.shape(x), w.size))  # the library reads a bare array as trailing dims
        kw['weight'] = T(w)
    if pos_weight is not None:
        kw['pos_weight'] = T(pos_weight)
        opts['posWeight'] = [enc_f32(v) for v in f32(pos_weight)]
    opts.update(red_opts(red))
    fn = F.binary_cross_entropy_with_logits if with_logits else F.binary_cross_entropy
    r = fn(T(x), T(t), reduction=red_arg(red), **kw)
    add('binaryCrossEntropyWithLogits' if with_logits else 'binaryCrossEntropy', name, x, r, target=t,
        tdtype='float32', options=opts, as_tensor=as_tensor, expect_tensor=red == 'none')


BSHAPES = {'(7)': (7,), '(4,5)': (4, 5), '(2,3,4)': (2, 3, 4), '(2,3,2,3)': (2, 3, 2, 3)}


def gen_bce():
    k = 0
    for sname, shape in BSHAPES.items():
        for red in REDS:
            k += 1
            x = uniform(0.001, 0.999, *shape)
            t = uniform(0, 1, *shape)
            tb = f32(rs.randint(0, 2, size=shape))
            bce(x, t, red=red, as_tensor=k % 2 == 0, name=f'{sname} soft targets {red_name(red)}')
            bce(x, tb, red=red, name=f'{sname} binary targets {red_name(red)}')
            bce(x, t, weight=uniform(0.2, 2, shape[-1]), red=red, name=f'{sname} weight[last dim] {red_name(red)}')
            bce(x, t, weight=uniform(0.2, 2, 1), red=red, as_tensor=True, name=f'{sname} weight[1] {red_name(red)}')
            bce(x, t, weight=('tensor', uniform(0.2, 2, *shape)), red=red, name=f'{sname} weight tensor full shape {red_name(red)}')
            if len(shape) >= 3:
                bce(x, t, weight=uniform(0.2, 2, shape[-2] * shape[-1]), red=red,
                    name=f'{sname} weight[last two dims] {red_name(red)}')
                bce(x, t, weight=('tensor', uniform(0.2, 2, *shape[-2:])), red=red,
                    name=f'{sname} weight tensor shape {list(shape[-2:])} {red_name(red)}')
    # the clamp of each log term at -100
    x = f32([0, 1, 0, 1, 0.5, 0, 1, 1e-30, 1 - 2 ** -24, 1e-45])
    t = f32([0, 1, 1, 0, 0.5, 0.3, 0.7, 1, 0, 1])
    for red in REDS:
        bce(x, t, red=red, name=f'inputs 0 and 1 (log clamped at -100) {red_name(red)}')
    bce(x, t, weight=uniform(0.5, 2, 10), red='none', name='inputs 0 and 1 weight none')
    # NaN target propagates
    bce(f32([0.2, 0.5, 0.7]), f32([0.3, NAN, 1]), red='none', name='NaN target none')
    bce(f32([0.2, 0.5, 0.7]), f32([0.3, NAN, 1]), name='NaN target mean')
    # many elements
    x = uniform(0, 1, 10, 37)
    bce(x, uniform(0, 1, 10, 37), weight=uniform(0, 1, 37), name='(10,37) weight mean')


def gen_bce_logits():
    k = 0
    for sname, shape in BSHAPES.items():
        for red in REDS:
            k += 1
            x = randn(*shape, scale=3.0)
            t = uniform(0, 1, *shape)
            L = shape[-1]
            bce(x, t, red=red, with_logits=True, as_tensor=k % 2 == 1, name=f'{sname} {red_name(red)}')
            bce(x, t, weight=uniform(0.2, 2, L), red=red, with_logits=True, name=f'{sname} weight[last dim] {red_name(red)}')
            bce(x, t, pos_weight=uniform(0.2, 3, L), red=red, with_logits=True, name=f'{sname} posWeight[last dim] {red_name(red)}')
            bce(x, t, pos_weight=uniform(0.2, 3, 1), red=red, with_logits=True, as_tensor=True, name=f'{sname} posWeight[1] {red_name(red)}')
            bce(x, t, weight=('tensor', uniform(0.2, 2, *shape)), pos_weight=uniform(0.2, 3, L), red=red,
                with_logits=True, name=f'{sname} weight tensor posWeight {red_name(red)}')
            if len(shape) >= 3:
                bce(x, t, weight=uniform(0.2, 2, shape[-2] * shape[-1]), pos_weight=uniform(0.2, 3, L), red=red,
                    with_logits=True, name=f'{sname} weight[last two dims] posWeight {red_name(red)}')
                bce(x, t, weight=uniform(0.2, 2, 1), red=red, with_logits=True, name=f'{sname} weight[1] {red_name(red)}')
    x = f32([3e4, -3e4, 100, -100, 88.7, -88.7, 20, -20, 0, 1e-8])
    t = f32([0.3, 0.7, 0, 1, 1, 0, 0.5, 0.5, 1, 0])
    for red in REDS:
        bce(x, t, red=red, with_logits=True, name=f'extreme logits {red_name(red)}')
        bce(x, t, pos_weight=f32([2.5]), red=red, with_logits=True, name=f'extreme logits posWeight[1] {red_name(red)}')
    bce(f32([[0.5, NAN], [1, 2]]), f32([[0.5, 0.5], [NAN, 1]]), red='none', with_logits=True, name='NaN input and target none')
    bce(uniform(-5, 5, 10, 37), uniform(0, 1, 10, 37), pos_weight=uniform(0.5, 2, 37), with_logits=True, name='(10,37) posWeight mean')


# ----------------------------------------------------------------------------- klDiv

KREDS = [None, 'sum', 'none', 'batchmean']


def kl(x, t, red=None, log_target=None, name=None, as_tensor=False):
    opts = red_opts(red)
    kw = {}
    if log_target is not None:
        opts['logTarget'] = log_target
        kw['log_target'] = log_target
    r = F.kl_div(T(x), T(t), reduction=red_arg(red), **kw)
    add('klDiv', name, x, r, target=t, tdtype='float32', options=opts, as_tensor=as_tensor, expect_tensor=red == 'none')


def gen_kl():
    k = 0
    for sname, shape in {'(5)': (5,), '(4,5)': (4, 5), '(2,3,4)': (2, 3, 4), '(2,3,2,3)': (2, 3, 2, 3)}.items():
        for red in KREDS:
            k += 1
            x = f32(F.log_softmax(torch.from_numpy(rs.standard_normal(shape)), -1).numpy())
            t = prob_targets(shape, len(shape) - 1)
            tz = t.copy()
            tz.reshape(-1)[::3] = 0  # t = 0 with a finite input contributes exactly 0 (also in torch)
            lt = f32(F.log_softmax(torch.from_numpy(rs.standard_normal(shape)), -1).numpy())
            kl(x, t, red=red, as_tensor=k % 2 == 0, name=f'{sname} {red_name(red)}')
            kl(x, tz, red=red, name=f'{sname} zero targets {red_name(red)}')
            kl(x, lt, red=red, log_target=True, as_tensor=True, name=f'{sname} logTarget {red_name(red)}')
            kl(x, t, red=red, log_target=False, name=f'{sname} logTarget=false explicit {red_name(red)}')
    # arbitrary inputs and targets above 1
    x = randn(3, 4, scale=3)
    t = uniform(0.001, 3, 3, 4)
    for red in KREDS:
        kl(x, t, red=red, name=f'unnormalised {red_name(red)}')
        kl(x, randn(3, 4, scale=2), red=red, log_target=True, name=f'unnormalised logTarget {red_name(red)}')
    # -inf input where the target is > 0: +inf
    x = f32([[-INF, -1, -0.5], [-2, -0.1, -3]])
    t = f32([[0.2, 0.3, 0.5], [0.1, 0.8, 0.1]])
    kl(x, t, red='none', name='-inf input with positive target none')
    kl(x, t, red='batchmean', name='-inf input with positive target batchmean')
    kl(x, f32([[-1.6, -1.2, -0.7], [-2.3, -0.2, -2.3]]), red='none', log_target=True, name='-inf input logTarget none')
    # log targets of -inf with finite input: exp(-inf)·(-inf - x) = 0·-inf = NaN in torch? keep it out.
    kl(f32([0.5, NAN, -1]), f32([0.2, 0.3, NAN]), red='none', name='NaN propagates none')
    kl(f32([0.5, NAN, -1]), f32([0.2, 0.3, NAN]), red='none', log_target=True, name='NaN propagates logTarget none')
    x = f32(F.log_softmax(torch.from_numpy(rs.standard_normal((6, 100))), -1).numpy())
    kl(x, prob_targets((6, 100), 1), red='batchmean', name='(6,100) batchmean')
    # torch 1.13 computes xlogy(t, t) − t·x: a zero target contributes 0 at a finite input but NaN at
    # -inf (0·-inf), a negative target NaN (its log), -0 like 0; a log target of -inf gives 0·-inf = NaN.
    # Literal inputs: no draws, so the cases after these keep their values.
    x = f32([[-INF, -1, -0.5], [-2, -0.1, -INF]])
    for red in KREDS:
        kl(x, f32([[0, 0.3, 0.7], [0.1, 0.9, 0]]), red=red, name=f'target 0 at -inf input {red_name(red)}')
        kl(x, f32([[0.2, -0.3, 0.5], [0.1, 0.9, -0.0]]), red=red, name=f'negative and -0 targets {red_name(red)}')
    kl(f32([-1.5, 0.3, -2, -INF]), f32([0, 0, -0.0, 0.25]), red='sum', name='zero targets at finite inputs and a positive one at -inf sum')
    kl(f32([-1, -2, -INF, 0.5]), f32([-INF, 0.5, -INF, -INF]), red='none', log_target=True, name='-inf log targets none')


# ----------------------------------------------------------------------------- entropy / softmax / logSoftmax / sigmoid

def entropy_of(x, dim):
    t = T(x)
    if t.dim() == 0:
        t = t.reshape(1)
    t = t.movedim(dim, -1)
    return torch.distributions.Categorical(logits=t, validate_args=False).entropy()


DIM_SHAPES = [
    ('(5) dim=default', (5,), None),
    ('(4,5) dim=default', (4, 5), None),
    ('(4,5) dim=-1', (4, 5), -1),
    ('(4,5) dim=0', (4, 5), 0),
    ('(4,5) dim=-2', (4, 5), -2),
    ('(3,4,5) dim=1', (3, 4, 5), 1),
    ('(3,4,5) dim=0', (3, 4, 5), 0),
    ('(3,4,5) dim=-2', (3, 4, 5), -2),
    ('(3,4,5) dim=2', (3, 4, 5), 2),
    ('(2,3,4,5) dim=2', (2, 3, 4, 5), 2),
    ('(2,3,4,5) dim=1', (2, 3, 4, 5), 1),
]


def dim_opts(dim):
    return {} if dim is None else {'dim': dim}


def ent(x, dim=None, red=None, name=None):
    opts = dim_opts(dim)
    if red is not None:
        opts['reduction'] = red
    e = entropy_of(x, -1 if dim is None else dim)
    if red == 'mean':
        r, tens = e.mean(), False
    elif red == 'sum':
        r, tens = e.sum(), False
    else:
        r, tens = e, True
    add('entropy', name, x, r, options=opts, expect_tensor=tens)


def sm(x, dim=None, name=None):
    d = -1 if dim is None else dim
    t = T(x)
    add('softmax', name, x, torch.softmax(t, d), options=dim_opts(dim), expect_tensor=True)
    add('logSoftmax', name, x, torch.log_softmax(t, d), options=dim_opts(dim), expect_tensor=True)


def gen_rows():
    for name, shape, dim in DIM_SHAPES:
        x = randn(*shape, scale=2.5)
        sm(x, dim, name)
        for red in [None, 'none', 'mean', 'sum']:
            ent(x, dim, red, f'{name} reduction={red_name(red) if red else "none(default)"}')
    # -inf logits, including a whole row of -inf (NaN, as in torch)
    x = randn(4, 6)
    x[0, 2] = -INF; x[1, :5] = -INF; x[3, 0] = -INF; x[3, 5] = -INF
    sm(x, None, '-inf logits')
    ent(x, None, 'none', '-inf logits none')
    ent(x, None, 'mean', '-inf logits mean')
    sm(x, 0, '-inf logits dim=0')
    ent(x, 0, 'none', '-inf logits dim=0 none')
    x2 = x.copy(); x2[2, :] = -INF
    sm(x2, None, 'a row of -inf (NaN)')
    ent(x2, None, 'none', 'a row of -inf (NaN) none')
    # extreme logits
    x = f32(rs.choice([-3e4, 3e4], size=(5, 6)) + rs.standard_normal((5, 6)))
    x[0] = [3e4, 3e4, -3e4, 3e4, -3e4, 3e4]
    x[1] = [-3e4] * 6
    sm(x, None, 'extreme logits +-3e4')
    ent(x, None, 'none', 'extreme logits +-3e4 none')
    ent(x, None, 'sum', 'extreme logits +-3e4 sum')
    x = randn(3, 8, scale=2) + f32(-3e4)
    sm(x, None, 'logits all near -3e4')
    ent(x, None, 'none', 'logits all near -3e4 none')
    # NaN and +inf
    x = randn(3, 4)
    x[1, 2] = NAN
    sm(x, None, 'NaN logit')
    ent(x, None, 'none', 'NaN logit none')
    x = randn(3, 4)
    x[0, 1] = INF
    sm(x, None, '+inf logit')
    # C = 1, large C, rank 0
    x = randn(5, 1)
    sm(x, None, 'C=1')
    ent(x, None, 'none', 'C=1 none')
    x = randn(1, 1000, scale=3)
    sm(x, None, 'C=1000')
    ent(x, None, 'mean', 'C=1000 mean')
    x = randn(2, 100, 2, scale=2)
    sm(x, 1, 'C=100 dim=1 inner=2')
    ent(x, 1, 'none', 'C=100 dim=1 inner=2 none')
    sm(f32(1.5), None, 'rank 0')


def gen_sigmoid():
    for name, shape in [('(7)', (7,)), ('(3,4)', (3, 4)), ('(2,3,4)', (2, 3, 4))]:
        x = randn(*shape, scale=5)
        add('sigmoid', name, x, torch.sigmoid(T(x)), expect_tensor=True)
    x = f32([3e4, -3e4, 100, -100, 88.8, -88.8, 17, -17, 0, -0.0, INF, -INF, NAN, 1e-30])
    add('sigmoid', 'extreme, infinite and NaN', x, torch.sigmoid(T(x)), expect_tensor=True)
    x = randn(20, 20, scale=10)
    add('sigmoid', '(20,20)', x, torch.sigmoid(T(x)), expect_tensor=True)


def main():
    gen_cross_entropy()
    gen_nll()
    gen_bce()
    gen_bce_logits()
    gen_kl()
    gen_rows()
    gen_sigmoid()
    write_cases(OUT, FILES, 'op', SEED)


if __name__ == '__main__':
    main()
