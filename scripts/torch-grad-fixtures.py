#!/usr/bin/python3
"""Generates test/fixtures/torch-grad/*.json: losses and their PyTorch autograd gradients (issue 5).

Run with Debian's torch (README.md, "WebGPU without a GPU"):  /usr/bin/python3 scripts/torch-grad-fixtures.py

Like scripts/torch-fixtures.py (whose output this script does not touch): inputs are drawn with a
fixed seed and rounded to float32; torch computes in float64 from exactly those float32 values, and
the gradient is x.grad after loss.backward(gradOutput) (gradOutput: the upstream gradient, given for
reduction 'none' only; its default is all ones). Non-finite numbers are the strings "NaN",
"Infinity", "-Infinity".

Files:
  <method>.json for crossEntropy, nllLoss, binaryCrossEntropy, binaryCrossEntropyWithLogits, klDiv,
  softmaxBackward, logSoftmaxBackward:
    { "op": "<method>", "torch": "<version>", "seed": N, "cases": [
      { "name": "...",
        "input":  {"data": [...], "shape": [...]},          (softmax/logSoftmaxBackward: y, the forward output)
        "target": {"data", "shape", "dtype": "int32"|"float32", "asTensor": bool}   (backward ops: dy)
        "options": { camelCase library options incl. "grad": true (losses) and "gradOutput"
                     (a bare array, or {"data","shape"} when "gradOutputAsTensor") },
        "expected": { "loss": number | {"data","shape"} | null, "grad": {"data","shape"} },
        "note": "..."  (optional: why "loss" is null) } ] }
    For the backward ops "loss" is absent: the method resolves to the gradient tensor itself.
  training.json: the data, initial weights and torch's float32 SGD trajectory of the training test
    (see gen_training).

Where only the loss differs from the library's (BCE with logits at x = −inf), the case keeps the
gradient and sets "loss": null with a note.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_common import (  # noqa: E402
    REDS, Draws, I64, T, autograd, cdim_of, enc_f32, f32, go_name, grad_opts, red_arg, red_name, target_json, tensor_json,
    tshape_of, write_cases)
from torch_common import enc_f64 as _enc_f64, f64_json as _f64_json  # noqa: E402


def enc_f64(v):
    return _enc_f64(v, 12)


SEED = 20250605
rs = np.random.RandomState(SEED)
torch.manual_seed(SEED)
_draws = Draws(rs)
randn, uniform, class_targets, prob_targets = _draws.randn, _draws.uniform, _draws.class_targets, _draws.prob_targets
upstream = _draws.upstream

INF = float('inf')
NAN = float('nan')
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'torch-grad')


# ----------------------------------------------------------------------------- encoding (shared helpers: torch_common.py)

def f64_json(r):
    return _f64_json(r, 12)


FILES = {}


def add(op, name, x, loss, grad, target=None, tdtype=None, options=None, as_tensor=False, note=None, loss_tensor=False):
    case = {'name': name, 'input': tensor_json(x)}
    if target is not None:
        case['target'] = target_json(target, tdtype, as_tensor)
    case['options'] = options or {}
    exp = {}
    if loss is not False:  # False: a backward op (no loss)
        if loss is None:
            exp['loss'] = None
        elif loss.dim() == 0 and not loss_tensor:
            exp['loss'] = enc_f64(loss.item())
        else:
            exp['loss'] = f64_json(loss)
    exp['grad'] = f64_json(grad)
    case['expected'] = exp
    if note:
        case['note'] = note
    names = [c['name'] for c in FILES.setdefault(op, [])]
    assert name not in names, (op, name)
    FILES[op].append(case)


# ----------------------------------------------------------------------------- draws (upstream: torch_common.Draws)

SHAPES = {'C': (5,), 'NC': (6, 5), 'NCd1': (3, 4, 5), 'NCd1d2': (2, 3, 4, 3)}


# ----------------------------------------------------------------------------- crossEntropy

CE_K = [0]


def ce(x, t, weight=None, ignore=None, eps=None, red=None, as_tensor=False, name=None, index=True, go='auto', go_tensor=None):
    CE_K[0] += 1
    k = CE_K[0]
    kw = {}
    lshape = tshape_of(np.shape(x))
    if isinstance(go, str):
        go = upstream(lshape, red, k)
    opts = grad_opts(red, go, k % 2 == 0 if go_tensor is None else go_tensor)
    if weight is not None:
        kw['weight'] = T(weight)
        opts['weight'] = [enc_f32(v) for v in f32(weight)]
    if ignore is not None:
        kw['ignore_index'] = ignore
        opts['ignoreIndex'] = ignore
    if eps is not None:
        kw['label_smoothing'] = eps
        opts['labelSmoothing'] = eps
    tt = I64(t) if index else T(t)
    loss, grad = autograd(lambda xt: F.cross_entropy(xt, tt, reduction=red_arg(red), **kw), x, red, go)
    add('crossEntropy', name + go_name(red, go), x, loss, grad, target=t, tdtype='int32' if index else 'float32',
        options=opts, as_tensor=as_tensor, loss_tensor=red == 'none')


def gen_cross_entropy():
    k = 0
    for sname, shape in SHAPES.items():
        C = shape[cdim_of(shape)]
        ts = tshape_of(shape)
        for red in REDS:
            k += 1
            x = randn(*shape, scale=2.0)
            w = uniform(0.2, 2.0, C)
            t = class_targets(C, ts)
            ce(x, t, red=red, as_tensor=k % 2 == 0, name=f'index {sname} {red_name(red)}')
            ce(x, t, weight=w, red=red, name=f'index {sname} weight {red_name(red)}')
            ce(x, t, eps=0.1, red=red, as_tensor=True, name=f'index {sname} labelSmoothing=0.1 {red_name(red)}')
            ce(x, t, weight=w, eps=0.2, red=red, name=f'index {sname} weight labelSmoothing=0.2 {red_name(red)}')
            if len(shape) > 1:
                ti = class_targets(C, ts, ignore=-100, frac=0.3)
                ce(x, ti, red=red, name=f'index {sname} ignored(-100) {red_name(red)}')
                ce(x, ti, weight=w, red=red, name=f'index {sname} weight ignored(-100) {red_name(red)}')
                ce(x, ti, eps=0.2, red=red, name=f'index {sname} ignored(-100) labelSmoothing=0.2 {red_name(red)}')
                ce(x, ti, weight=w, eps=0.25, red=red, as_tensor=k % 2 == 1,
                   name=f'index {sname} weight ignored(-100) labelSmoothing=0.25 {red_name(red)}')
            pt = prob_targets(shape, cdim_of(shape))
            ce(x, pt, red=red, index=False, name=f'prob {sname} {red_name(red)}')
            ce(x, pt, weight=w, red=red, index=False, as_tensor=True, name=f'prob {sname} weight {red_name(red)}')
            ce(x, pt, eps=0.15, red=red, index=False, name=f'prob {sname} labelSmoothing=0.15 {red_name(red)}')
            ce(x, pt, weight=w, eps=0.3, red=red, index=False, as_tensor=k % 2 == 1,
               name=f'prob {sname} weight labelSmoothing=0.3 {red_name(red)}')

    # 1-D input, ignored scalar target
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
        ce(x, t2, ignore=-1, eps=0.4, red=red, name=f'ignoreIndex=-1 labelSmoothing=0.4 {red_name(red)}')

    # label smoothing 1 and 0 given explicitly
    x = randn(6, 4)
    t = class_targets(4, (6,))
    for red in REDS:
        ce(x, t, eps=1.0, red=red, name=f'labelSmoothing=1 {red_name(red)}')
    ce(x, t, eps=0.0, red='sum', name='labelSmoothing=0 explicit sum')
    ce(x, prob_targets((6, 4), 1), eps=1.0, index=False, name='prob labelSmoothing=1 mean')

    # every target ignored: mean -> NaN loss; torch's gradient is all zeros (no NaN)
    x = randn(4, 3)
    t = np.full((4,), -100, dtype=np.int32)
    w = uniform(0.5, 1.5, 3)
    for red in REDS:
        ce(x, t, red=red, name=f'all ignored {red_name(red)}')
        ce(x, t, eps=0.1, red=red, name=f'all ignored labelSmoothing=0.1 {red_name(red)}')
        ce(x, t, weight=w, red=red, name=f'all ignored weight {red_name(red)}')
        ce(x, t, weight=w, eps=0.1, red=red, name=f'all ignored weight labelSmoothing=0.1 {red_name(red)}')
    x = randn(3, 2, 4)
    for red in REDS:
        ce(x, np.full((3, 4), -100, dtype=np.int32), eps=0.2, red=red, name=f'all ignored (3,2,4) labelSmoothing=0.2 {red_name(red)}')

    # weights with zeros; every target's weight zero (weighted mean 0/0: NaN loss and NaN rows)
    x = randn(6, 4)
    t = np.array([0, 1, 2, 3, 0, 1], dtype=np.int32)
    wz = f32([0.0, 1.5, 0.0, 0.5])
    for red in REDS:
        ce(x, t, weight=wz, red=red, name=f'weight with zeros {red_name(red)}')
        ce(x, t, weight=wz, eps=0.2, red=red, name=f'weight with zeros labelSmoothing=0.2 {red_name(red)}')
    t0 = np.array([0, 2, 0, 2, 2, 0], dtype=np.int32)
    for red in REDS:
        ce(x, t0, weight=wz, red=red, name=f'every target weight 0 {red_name(red)}')
        ce(x, t0, weight=wz, eps=0.2, red=red, name=f'every target weight 0 labelSmoothing=0.2 {red_name(red)}')

    # a single class
    x = randn(5, 1)
    t = np.zeros(5, dtype=np.int32)
    for red in REDS:
        ce(x, t, red=red, name=f'C=1 {red_name(red)}')
        ce(x, t, eps=0.5, red=red, name=f'C=1 labelSmoothing=0.5 {red_name(red)}')
    ce(x, np.ones((5, 1), dtype=np.float32), index=False, red='none', name='prob C=1 none')

    # -inf logits: probability 0, finite gradients (even where the loss is +inf)
    x = randn(5, 6)
    x[0, 1] = -INF; x[0, 4] = -INF; x[2, 0] = -INF; x[3, 5] = -INF
    t = np.array([0, 2, 3, 4, 1], dtype=np.int32)
    for red in REDS:
        ce(x, t, red=red, name=f'-inf logits off target {red_name(red)}')
        ce(x, t, weight=uniform(0.5, 1.5, 6), red=red, name=f'-inf logits off target weight {red_name(red)}')
        ce(x, t, eps=0.1, red=red, name=f'-inf logits off target labelSmoothing=0.1 (loss +inf) {red_name(red)}')
    x2 = x.copy()
    x2[1, 2] = -INF
    for red in REDS:
        ce(x2, t, red=red, name=f'-inf logit at target (loss +inf) {red_name(red)}')
    pt = prob_targets((5, 6), 1)
    for red in REDS:
        ce(x, pt, index=False, red=red, name=f'prob -inf logits (loss +inf) {red_name(red)}')
    ce(x, pt, index=False, eps=0.2, red='none', name='prob -inf logits labelSmoothing=0.2 (loss +inf) none')
    pz = pt.copy()
    pz[0, 1] = 0; pz[0, 4] = 0; pz[2, 0] = 0; pz[3, 5] = 0
    pz /= pz.sum(1, keepdims=True)
    pz = f32(pz)
    for red in ['none', 'sum']:
        ce(x, pz, index=False, red=red, name=f'prob target 0 at the -inf logits (loss NaN) {red_name(red)}')

    # extreme logits
    x = f32(rs.choice([-3e4, 3e4], size=(6, 5)) + rs.standard_normal((6, 5)))
    x[0] = [3e4, -3e4, 3e4, -3e4, 0]
    t = class_targets(5, (6,))
    t[0] = 1
    for red in REDS:
        ce(x, t, red=red, name=f'extreme logits +-3e4 {red_name(red)}')
        ce(x, t, eps=0.1, weight=uniform(0.5, 1.5, 5), red=red, name=f'extreme logits +-3e4 weight labelSmoothing=0.1 {red_name(red)}')
        ce(x, prob_targets((6, 5), 1), index=False, red=red, name=f'prob extreme logits +-3e4 {red_name(red)}')
    x = randn(4, 7, scale=3.0) + f32(3e4)
    ce(x, class_targets(7, (4,)), red='none', name='logits all near 3e4 none')
    ce(x, class_targets(7, (4,)), eps=0.1, name='logits all near 3e4 labelSmoothing=0.1 mean')

    # NaN propagates through its row; +inf logit
    x = randn(4, 5)
    x[1, 3] = NAN
    x[2, 0] = NAN
    t = np.array([0, 1, -100, 4], dtype=np.int32)
    for red in REDS:
        ce(x, t, red=red, name=f'NaN logits (one row ignored) {red_name(red)}')
    ce(x, t, eps=0.1, red='none', name='NaN logits (one row ignored) labelSmoothing=0.1 none')
    x4 = randn(3, 4); x4[1, 2] = INF
    ce(x4, np.array([0, 1, 2], dtype=np.int32), red='none', name='+inf logit none')

    # larger rows and batches
    x = randn(2, 1000, scale=3.0)
    t = class_targets(1000, (2,))
    w = uniform(0.1, 2.0, 1000)
    ce(x, t, red='none', name='C=1000 none')
    ce(x, t, weight=w, eps=0.1, name='C=1000 weight labelSmoothing=0.1 mean')
    ce(x, prob_targets((2, 1000), 1), eps=0.05, index=False, name='prob C=1000 labelSmoothing=0.05 mean')
    x = randn(64, 3)
    ce(x, class_targets(3, (64,), ignore=-100, frac=0.2), eps=0.1, name='N=64 C=3 ignored labelSmoothing=0.1 mean')
    x = randn(4, 70, 6)
    ce(x, class_targets(70, (4, 6), ignore=-100, frac=0.2), weight=uniform(0.2, 2, 70), eps=0.1,
       name='(4,70,6) weight ignored labelSmoothing=0.1 mean')
    ce(x, class_targets(70, (4, 6)), red='none', name='(4,70,6) none')
    ce(x, prob_targets((4, 70, 6), 1), index=False, red='sum', name='prob (4,70,6) sum')


# ----------------------------------------------------------------------------- nllLoss

NLL_K = [0]


def nll(x, t, weight=None, ignore=None, red=None, as_tensor=False, name=None, go='auto'):
    NLL_K[0] += 1
    k = NLL_K[0]
    kw = {}
    if isinstance(go, str):
        go = upstream(tshape_of(np.shape(x)), red, k)
    opts = grad_opts(red, go, k % 2 == 1)
    if weight is not None:
        kw['weight'] = T(weight)
        opts['weight'] = [enc_f32(v) for v in f32(weight)]
    if ignore is not None:
        kw['ignore_index'] = ignore
        opts['ignoreIndex'] = ignore
    loss, grad = autograd(lambda xt: F.nll_loss(xt, I64(t), reduction=red_arg(red), **kw), x, red, go)
    add('nllLoss', name + go_name(red, go), x, loss, grad, target=t, tdtype='int32', options=opts, as_tensor=as_tensor,
        loss_tensor=red == 'none')


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
    x = randn(6, 4, scale=5.0)
    t = class_targets(4, (6,))
    for red in REDS:
        nll(x, t, red=red, name=f'arbitrary inputs {red_name(red)}')
    x = randn(7, 4)
    t = np.array([0, 3, 3, 1, 2, 3, 0], dtype=np.int32)
    for red in REDS:
        nll(x, t, ignore=3, red=red, name=f'ignoreIndex=3 {red_name(red)}')
        nll(x, t, ignore=3, weight=uniform(0.5, 2, 4), red=red, name=f'ignoreIndex=3 weight {red_name(red)}')
    t2 = t.copy(); t2[[1, 2]] = -1
    nll(x, t2, ignore=-1, name='ignoreIndex=-1 mean')
    x = randn(5)
    for red in REDS:
        nll(x, np.array(-100, dtype=np.int32), red=red, name=f'C ignored scalar target {red_name(red)}')
        nll(x, np.array(3, dtype=np.int32), red=red, name=f'C scalar target {red_name(red)}')
    x = randn(3, 4)
    t = np.full((3,), -100, dtype=np.int32)
    for red in REDS:
        nll(x, t, red=red, name=f'all ignored {red_name(red)}')
        nll(x, t, weight=uniform(0.5, 2, 4), red=red, name=f'all ignored weight {red_name(red)}')
    # -inf at the target (loss +inf, gradient −w), NaN away from the target (never read)
    x = randn(4, 3)
    x[0, 1] = -INF; x[2, 2] = NAN; x[3, 0] = -INF
    t = np.array([1, 0, 1, 2], dtype=np.int32)
    for red in REDS:
        nll(x, t, red=red, name=f'-inf at target, NaN off target {red_name(red)}')
    x = randn(5, 3)
    t = np.array([0, 1, 2, 0, 1], dtype=np.int32)
    for red in REDS:
        nll(x, t, weight=f32([0, 1, 2]), red=red, name=f'weight with zeros {red_name(red)}')
        nll(x, np.array([0, 0, 2, 0, 2], dtype=np.int32), weight=f32([0, 1, 0]), red=red, name=f'every target weight 0 {red_name(red)}')
    nll(randn(4, 1), np.zeros(4, dtype=np.int32), name='C=1 mean')
    x = f32(rs.choice([-3e4, 3e4], size=(5, 3)))
    nll(x, class_targets(3, (5,)), red='none', name='extreme +-3e4 none')
    nll(x, class_targets(3, (5,)), red='sum', name='extreme +-3e4 sum')
    x = randn(3, 50, 4)
    nll(x, class_targets(50, (3, 4), ignore=-100, frac=0.25), weight=uniform(0.2, 2, 50), name='(3,50,4) weight ignored mean')


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


BCE_K = [0]


def bce(x, t, weight=None, red=None, name=None, as_tensor=False, with_logits=False, pos_weight=None, go='auto', loss_note=None):
    BCE_K[0] += 1
    k = BCE_K[0]
    kw = {}
    if isinstance(go, str):
        go = upstream(np.shape(x), red, k)
    opts = grad_opts(red, go, k % 2 == 0)
    if weight is not None:
        if isinstance(weight, tuple):
            w = f32(weight[1])
            opts['weight'] = tensor_json(w)
        else:
            w = f32(weight)
            opts['weight'] = [enc_f32(v) for v in w.reshape(-1)]
            w = w.reshape(trailing_shape(np.shape(x), w.size))
        kw['weight'] = T(w)
    if pos_weight is not None:
        kw['pos_weight'] = T(pos_weight)
        opts['posWeight'] = [enc_f32(v) for v in f32(pos_weight)]
    fn = F.binary_cross_entropy_with_logits if with_logits else F.binary_cross_entropy
    loss, grad = autograd(lambda xt: fn(xt, T(t), reduction=red_arg(red), **kw), x, red, go)
    add('binaryCrossEntropyWithLogits' if with_logits else 'binaryCrossEntropy', name + go_name(red, go), x,
        None if loss_note else loss, grad, target=t, tdtype='float32', options=opts, as_tensor=as_tensor,
        note=loss_note, loss_tensor=red == 'none')


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
    # inputs exactly 0 and 1: each log term clamped at -100, the gradient's denominator at 1e-12
    x = f32([0, 1, 0, 1, 0.5, 0, 1, 1e-30, 1 - 2 ** -24, 1e-45, 0, 1])
    t = f32([0, 1, 1, 0, 0.5, 0.3, 0.7, 1, 0, 1, 0.5, 0.5])
    for red in REDS:
        bce(x, t, red=red, name=f'inputs 0 and 1 (clamps) {red_name(red)}')
    bce(x, t, weight=uniform(0.5, 2, 12), red='none', name='inputs 0 and 1 weight none')
    bce(x, t, weight=uniform(0.5, 2, 12), red='mean', name='inputs 0 and 1 weight mean')
    bce(f32([0.2, 0.5, 0.7]), f32([0.3, NAN, 1]), red='none', name='NaN target none')
    bce(f32([0.2, 0.5, 0.7]), f32([0.3, NAN, 1]), name='NaN target mean')
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
    x = f32([3e4, -3e4, 100, -100, 88.7, -88.7, 20, -20, 0, 1e-8])
    t = f32([0.3, 0.7, 0, 1, 1, 0, 0.5, 0.5, 1, 0])
    for red in REDS:
        bce(x, t, red=red, with_logits=True, name=f'extreme logits {red_name(red)}')
        bce(x, t, pos_weight=f32([2.5]), weight=uniform(0.5, 2, 10), red=red, with_logits=True,
            name=f'extreme logits weight posWeight[1] {red_name(red)}')
    # -inf logits: target 0 -> loss NaN in torch (0·-inf in its formula) and here, gradient 0
    x = f32([-INF, 2, -INF, -1])
    t = f32([0, 1, 0, 0.5])
    for red in ['none', 'sum']:
        bce(x, t, red=red, with_logits=True, name=f'-inf logits target 0 {red_name(red)}')
    # target > 0 at -inf: torch's loss is NaN again ((1 − t)·x + … with t = 1 gives 0·-inf), this library's
    # +inf (−log σ(−inf)); the gradient σ(x) − t = −t is finite in both: gradient only
    x = f32([-INF, -INF, 2, -1])
    t = f32([1, 0.25, 1, 0])
    for red in ['none', 'sum']:
        bce(x, t, red=red, with_logits=True, pos_weight=f32([1.5]) if red == 'sum' else None, name=f'-inf logits target > 0 {red_name(red)}',
            loss_note='torch 1.13 gives NaN for the loss at x = -inf, t > 0 ((1 − t)·x = 0·-inf), the library +inf: gradient only')
    bce(f32([[0.5, NAN], [1, 2]]), f32([[0.5, 0.5], [NAN, 1]]), red='none', with_logits=True, name='NaN input and target none')
    bce(uniform(-5, 5, 10, 37), uniform(0, 1, 10, 37), pos_weight=uniform(0.5, 2, 37), with_logits=True, name='(10,37) posWeight mean')


# ----------------------------------------------------------------------------- klDiv

KREDS = [None, 'sum', 'none', 'batchmean']
KL_K = [0]


def kl(x, t, red=None, log_target=None, name=None, as_tensor=False, go='auto'):
    KL_K[0] += 1
    k = KL_K[0]
    kw = {}
    if isinstance(go, str):
        go = upstream(np.shape(x), red, k)
    opts = grad_opts(red, go, k % 2 == 1)
    if log_target is not None:
        opts['logTarget'] = log_target
        kw['log_target'] = log_target
    loss, grad = autograd(lambda xt: F.kl_div(xt, T(t), reduction=red_arg(red), **kw), x, red, go)
    add('klDiv', name + go_name(red, go), x, loss, grad, target=t, tdtype='float32', options=opts,
        as_tensor=as_tensor, loss_tensor=red == 'none')


def gen_kl():
    k = 0
    for sname, shape in {'(5)': (5,), '(4,5)': (4, 5), '(2,3,4)': (2, 3, 4), '(2,3,2,3)': (2, 3, 2, 3)}.items():
        for red in KREDS:
            k += 1
            x = f32(F.log_softmax(torch.from_numpy(rs.standard_normal(shape)), -1).numpy())
            t = prob_targets(shape, len(shape) - 1)
            tz = t.copy()
            tz.reshape(-1)[::3] = 0
            lt = f32(F.log_softmax(torch.from_numpy(rs.standard_normal(shape)), -1).numpy())
            kl(x, t, red=red, as_tensor=k % 2 == 0, name=f'{sname} {red_name(red)}')
            kl(x, tz, red=red, name=f'{sname} zero targets {red_name(red)}')
            kl(x, lt, red=red, log_target=True, as_tensor=True, name=f'{sname} logTarget {red_name(red)}')
            kl(x, t, red=red, log_target=False, name=f'{sname} logTarget=false explicit {red_name(red)}')
    x = randn(3, 4, scale=3)
    t = uniform(0.001, 3, 3, 4)
    for red in KREDS:
        kl(x, t, red=red, name=f'unnormalised {red_name(red)}')
        kl(x, randn(3, 4, scale=2), red=red, log_target=True, name=f'unnormalised logTarget {red_name(red)}')
    # -inf input where the target is > 0: loss +inf, gradient −t (finite)
    x = f32([[-INF, -1, -0.5], [-2, -0.1, -3]])
    t = f32([[0.2, 0.3, 0.5], [0.1, 0.8, 0.1]])
    for red in KREDS:
        kl(x, t, red=red, name=f'-inf input with positive target {red_name(red)}')
    kl(x, f32([[-1.6, -1.2, -0.7], [-2.3, -0.2, -2.3]]), red='none', log_target=True, name='-inf input logTarget none')
    # target 0 at input -inf: the loss is NaN (xlogy(0, 0) − 0·-inf), the gradient −t = −0
    kl(x, f32([[0, 0.3, 0.7], [0.1, 0.8, 0.1]]), red='none', name='target 0 at -inf input none')
    kl(f32([0.5, NAN, -1]), f32([0.2, 0.3, NAN]), red='none', name='NaN propagates none')
    kl(f32([0.5, NAN, -1]), f32([0.2, 0.3, NAN]), red='none', log_target=True, name='NaN propagates logTarget none')
    x = f32(F.log_softmax(torch.from_numpy(rs.standard_normal((6, 100))), -1).numpy())
    kl(x, prob_targets((6, 100), 1), red='batchmean', name='(6,100) batchmean')
    kl(x, f32(F.log_softmax(torch.from_numpy(rs.standard_normal((6, 100))), -1).numpy()), red='mean', log_target=True,
       name='(6,100) logTarget mean')
    # torch 1.13's xlogy(t, t) − t·x: a negative target gives a NaN loss but the gradient −t, and a zero
    # target at -inf a NaN loss with gradient −0, under every reduction. Literal inputs and upstream
    # gradients: no draws, so the cases after these keep their values.
    x = f32([[-INF, -1, -0.5], [-2, -0.1, -INF]])
    t = f32([[0, -0.3, 0.5], [0.1, 0.9, -0.0]])
    for red in KREDS:
        go = f32([[1.5, -2, 0.5], [3, -1, 2]]) if red == 'none' else None
        kl(x, t, red=red, go=go, name=f'zero and negative targets at -inf and finite inputs {red_name(red)}')
        kl(x, f32([[-INF, 0.5, -1], [-INF, -0.2, -INF]]), red=red, log_target=True, go=go,
           name=f'-inf log targets {red_name(red)}')


# ----------------------------------------------------------------------------- softmax / logSoftmax backward

DIM_SHAPES = [
    ('(5) dim=default', (5,), None),
    ('(4,5) dim=default', (4, 5), None),
    ('(4,5) dim=0', (4, 5), 0),
    ('(4,5) dim=-2', (4, 5), -2),
    ('(3,4,5) dim=1', (3, 4, 5), 1),
    ('(3,4,5) dim=0', (3, 4, 5), 0),
    ('(3,4,5) dim=2', (3, 4, 5), 2),
    ('(2,3,4,5) dim=2', (2, 3, 4, 5), 2),
    ('(2,3,4,5) dim=-3', (2, 3, 4, 5), -3),
]

BWD_K = [0]


def bwd(x, dim=None, dy=None, name=None):
    """y = softmax(x) / log_softmax(x) rounded to float32; torch's backward of y in float64."""
    BWD_K[0] += 1
    k = BWD_K[0]
    d = -1 if dim is None else dim
    xs = T(x)
    if dy is None:
        dy = randn(*np.shape(x), scale=1.5)
    opts = {} if dim is None else {'dim': d}
    for op, fwd, back in [('softmaxBackward', torch.softmax, torch._softmax_backward_data),
                          ('logSoftmaxBackward', torch.log_softmax, torch._log_softmax_backward_data)]:
        y = f32(fwd(xs, d).numpy())
        g = back(T(dy), T(y), d if xs.dim() > 0 else 0, torch.float64)
        # the same vector-Jacobian product through autograd of the forward op (at float64 x) agrees
        xa = xs.clone().requires_grad_(True)
        fwd(xa, d).backward(T(dy))
        assert torch.allclose(back(T(dy), fwd(xs, d), d if xs.dim() > 0 else 0, torch.float64), xa.grad, equal_nan=True)
        add(op, name, y, False, g, target=dy, tdtype='float32', options=opts, as_tensor=k % 2 == 0)


def gen_backward():
    for name, shape, dim in DIM_SHAPES:
        bwd(randn(*shape, scale=2.5), dim, name=name)
    x = randn(4, 6)
    x[0, 2] = -INF; x[1, :5] = -INF; x[3, 0] = -INF; x[3, 5] = -INF
    bwd(x, None, name='-inf logits (y = 0 / -inf)')
    bwd(x, 0, name='-inf logits dim=0')
    x = f32(rs.choice([-3e4, 3e4], size=(5, 6)) + rs.standard_normal((5, 6)))
    x[1] = [-3e4] * 6
    bwd(x, None, name='extreme logits +-3e4')
    x = randn(3, 4)
    dy = randn(3, 4)
    dy[1, 2] = NAN
    bwd(x, None, dy=dy, name='NaN in dy')
    bwd(randn(5, 1), None, name='C=1')
    bwd(randn(2, 1000, scale=3), None, name='C=1000')
    bwd(randn(2, 100, 3, scale=2), 1, name='C=100 dim=1 inner=3')
    bwd(randn(3, 5), None, dy=f32(np.ones((3, 5))), name='dy all ones')


# ----------------------------------------------------------------------------- training data

def gen_training():
    """Multinomial logistic regression: X (N×D), labels y, W0 (D×K), b0 (K); STEPS full-batch SGD steps
    of lr on F.cross_entropy (mean) in float32 (torch's own float32 arithmetic), and in float64 for scale."""
    N, D, K, STEPS, LR = 256, 8, 4, 50, 0.5
    g = np.random.RandomState(SEED + 1)
    means = g.standard_normal((K, D)) * 1.2
    y = g.randint(0, K, size=N).astype(np.int32)
    X = means[y] + g.standard_normal((N, D))
    X = (X - X.mean(0)) / X.std(0)
    X = f32(X)
    W0 = f32(g.standard_normal((D, K)) * 0.1)
    b0 = f32(g.standard_normal(K) * 0.1)

    def train(dtype):
        W = torch.from_numpy(W0.astype(dtype)).clone().requires_grad_(True)
        b = torch.from_numpy(b0.astype(dtype)).clone().requires_grad_(True)
        Xt = torch.from_numpy(X.astype(dtype))
        yt = I64(y)
        losses = []
        for _ in range(STEPS):
            loss = F.cross_entropy(Xt @ W + b, yt)
            losses.append(loss.item())
            W.grad = None
            b.grad = None
            loss.backward()
            with torch.no_grad():
                W -= LR * W.grad
                b -= LR * b.grad
        final = F.cross_entropy(Xt @ W + b, yt).item()
        return W.detach().numpy(), b.detach().numpy(), losses, final

    W32, b32, l32, f32_final = train(np.float32)
    W64, b64, l64, f64_final = train(np.float64)
    assert all(l64[i + 1] < l64[i] for i in range(STEPS - 1)), 'float64 loss must decrease monotonically'
    assert all(l32[i + 1] < l32[i] for i in range(STEPS - 1)), 'float32 loss must decrease monotonically'
    drift = max(np.abs(W32 - W64).max(), np.abs(b32 - b64).max())
    print(f'training: loss {l32[0]:.6f} -> {f32_final:.6f}; float32 vs float64 weights differ by {drift:.3g}', file=sys.stderr)
    return {
        'torch': torch.__version__, 'seed': SEED + 1, 'N': N, 'D': D, 'K': K, 'steps': STEPS, 'lr': LR,
        'X': [enc_f32(v) for v in X.reshape(-1)], 'y': [int(v) for v in y],
        'W0': [enc_f32(v) for v in W0.reshape(-1)], 'b0': [enc_f32(v) for v in b0],
        'float32': {'W': [enc_f32(v) for v in f32(W32).reshape(-1)], 'b': [enc_f32(v) for v in f32(b32)],
                    'losses': [enc_f64(v) for v in l32], 'finalLoss': enc_f64(f32_final)},
        'float64': {'W': [enc_f64(v) for v in W64.reshape(-1)], 'b': [enc_f64(v) for v in b64],
                    'losses': [enc_f64(v) for v in l64], 'finalLoss': enc_f64(f64_final)},
    }


def main():
    gen_cross_entropy()
    gen_nll()
    gen_bce()
    gen_bce_logits()
    gen_kl()
    gen_backward()
    training = gen_training()
    write_cases(OUT, FILES, 'op', SEED)
    path = os.path.join(OUT, 'training.json')
    with open(path, 'w') as f:
        json.dump(training, f, separators=(',', ':'), allow_nan=False)
        f.write('\n')
    print(f'training.json: {os.path.getsize(path)} bytes', file=sys.stderr)


if __name__ == '__main__':
    main()
