#!/usr/bin/python3
"""Generates test/fixtures/torch-losses/*.json: the losses of issue 10 and their PyTorch autograd gradients.

Run with Debian's torch (README.md, "WebGPU without a GPU"):  /usr/bin/python3 scripts/torch-fixtures-losses.py

Like scripts/torch-grad-fixtures.py (whose encoding, autograd and file writing, via torch_common.py, this script shares): inputs are
drawn with a fixed seed and rounded to float32; torch computes in float64 from exactly those float32
values; the gradient is x.grad after loss.backward(gradOutput) (gradOutput: the upstream gradient, given
for reduction 'none' only; its default is all ones). Non-finite numbers are the strings "NaN",
"Infinity", "-Infinity". torch runs on one thread, so running the script twice writes byte-identical files.

The features (issue 10), as computed here with torch 1.13's own ops:
  crossEntropy options
    softcap c (> 0):     the logits x become c·tanh(x/c) before anything else (Gemma 2); autograd flows
                         through the tanh.
    zLoss s (≥ 0):       each non-ignored row gains s·lse(row)², lse the row's log-sum-exp of the (capped)
                         logits (PaLM / Liger z-loss). 'none': CE + z per row (0 for ignored rows); 'sum':
                         + Σz; 'mean': + Σz / (number of non-ignored rows), the CE part keeping F.cross_entropy's
                         own (weighted) mean. z is not weighted. Probability targets: every row counts.
    focalGamma γ (≥ 0):  multi-class focal loss, index targets only, no labelSmoothing: row loss
                         −w_t·(1 − p_t)^γ·log p_t with 1 − p_t computed as −expm1(log p_t); 'mean' divides
                         by Σ w_t over the non-ignored rows, as F.cross_entropy does (γ = 0 is crossEntropy).
  sigmoidFocalLoss(input, target, {alpha = 0.25, gamma = 2, reduction = 'mean'}): torchvision.ops.
    sigmoid_focal_loss (torchvision/ops/focal_loss.py; torchvision is not installed here, so its body is
    restated in sigmoid_focal_loss below), except that the library's default reduction is 'mean'.
  binaryCrossEntropy / binaryCrossEntropyWithLogits with a `weight` tensor of any shape that broadcasts
    to the input's by PyTorch's general rules ((N,1) for (N,C), (1,C,1), (N,1,L), (C,1), shape [], …).

Files (the grad fixtures' layout, with an "op" in each case since bceBroadcast.json holds two methods):
  crossEntropyExt.json, sigmoidFocalLoss.json, bceBroadcast.json:
    { "file": "<name>", "torch": "<version>", "seed": N, "cases": [
      { "name": "...",
        "op": "crossEntropy" | "sigmoidFocalLoss" | "binaryCrossEntropy" | "binaryCrossEntropyWithLogits",
        "input":  {"data": [...], "shape": [...]},
        "target": {"data", "shape", "dtype": "int32"|"float32", "asTensor": bool},
        "options": { "grad": true, "reduction"?, "gradOutput"? (a bare array, or {"data","shape"}),
                     crossEntropy: "weight"? (bare array of C), "ignoreIndex"?, "labelSmoothing"?,
                                   "zLoss"?, "softcap"?, "focalGamma"?;
                     sigmoidFocalLoss: "alpha"?, "gamma"?;
                     BCE: "weight"? ({"data","shape"}: broadcast by PyTorch's general rules),
                          "posWeight"? (bare array: the last dim's length, or 1) },
        "expected": { "loss": number | {"data","shape"}, "grad": {"data","shape"} } } ] }
  An option left out takes the library's default (reduction 'mean'; alpha 0.25, gamma 2; ignoreIndex -100).
  New relative to test/fixtures/torch-grad: the top-level "file" (instead of "op") and each case's "op";
  the options zLoss, softcap, focalGamma, alpha, gamma; a BCE weight whose shape is not trailing dims.

Left out on purpose: 'mean' over rows that are all ignored (or whose weights sum to 0) with zLoss or
focalGamma (a NaN loss either way; what the gradient of Σz/0 should be is the library's contract to make,
not torch's), focalGamma < 1 at p_t = 1 exactly (torch's pow backward gives 0·inf = NaN; the limit is 0),
and non-finite inputs.
"""
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

torch.set_num_threads(1)  # reductions split across threads could round differently from run to run


def enc_f64(v):
    return _enc_f64(v, 12)


SEED = 20250710
rs = np.random.RandomState(SEED)
torch.manual_seed(SEED)
_draws = Draws(rs)
randn, uniform, class_targets, prob_targets = _draws.randn, _draws.uniform, _draws.class_targets, _draws.prob_targets
upstream = _draws.upstream

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'torch-losses')


# ----------------------------------------------------------------------------- encoding (shared helpers: torch_common.py)

def f64_json(r):
    return _f64_json(r, 12)


FILES = {}


def add(file, op, name, x, loss, grad, target, tdtype, options, as_tensor=False, loss_tensor=False):
    assert torch.isfinite(grad).all(), (file, name, 'gradient not finite')
    assert torch.isfinite(loss).all(), (file, name, 'loss not finite')
    case = {'name': name, 'op': op, 'input': tensor_json(x), 'target': target_json(target, tdtype, as_tensor)}
    case['options'] = options
    case['expected'] = {
        'loss': f64_json(loss) if loss_tensor else enc_f64(loss.item()),
        'grad': f64_json(grad),
    }
    cases = FILES.setdefault(file, [])
    assert name not in [c['name'] for c in cases], (file, name)
    cases.append(case)


# ----------------------------------------------------------------------------- crossEntropy + zLoss / softcap / focalGamma

def ce_ext_torch(xt, t, index, weight=None, ignore=None, eps=None, red='mean', z=None, cap=None, gamma=None):
    """The loss of issue 10 with torch ops on the float64 input tensor xt."""
    cd = cdim_of(tuple(xt.shape))
    ign = -100 if ignore is None else ignore
    y = cap * torch.tanh(xt / cap) if cap is not None else xt
    W = T(weight) if weight is not None else None
    tt = I64(t) if index else T(t)
    mask = (tt != ign) if index else None
    if gamma is None:
        base = F.cross_entropy(y, tt, weight=W, ignore_index=ign, reduction=red, label_smoothing=0.0 if eps is None else eps)
    else:
        assert index and not eps, 'focalGamma takes index targets and no labelSmoothing'
        ts = torch.where(mask, tt, torch.zeros_like(tt))
        lpt = F.log_softmax(y, cd).gather(cd, ts.unsqueeze(cd)).squeeze(cd)
        q = -torch.expm1(lpt)  # 1 − p_t
        wt = W[ts] if W is not None else torch.ones_like(lpt)
        lf = torch.where(mask, -wt * q.pow(gamma) * lpt, torch.zeros_like(lpt))
        if red == 'none':
            base = lf
        elif red == 'sum':
            base = lf.sum()
        else:
            base = lf.sum() / torch.where(mask, wt, torch.zeros_like(wt)).sum()
    if z is None:
        return base
    zz = z * torch.logsumexp(y, cd) ** 2
    if index:
        zz = torch.where(mask, zz, torch.zeros_like(zz))
        count = mask.sum()
    else:
        count = zz.numel()
    if red == 'none':
        return base + zz
    if red == 'sum':
        return base + zz.sum()
    return base + zz.sum() / count


CE_K = [0]


def ce(x, t, name, weight=None, ignore=None, eps=None, red=None, z=None, cap=None, gamma=None, index=True,
       as_tensor=None, go='auto', go_tensor=None):
    CE_K[0] += 1
    k = CE_K[0]
    lshape = tshape_of(np.shape(x))
    if isinstance(go, str):
        go = upstream(lshape, red, k)
    opts = grad_opts(red, go, k % 2 == 0 if go_tensor is None else go_tensor)
    if weight is not None:
        weight = f32(weight)
        opts['weight'] = [enc_f32(v) for v in weight]
    if ignore is not None:
        opts['ignoreIndex'] = ignore
    if eps is not None:
        opts['labelSmoothing'] = eps
    if z is not None:
        opts['zLoss'] = z
    if cap is not None:
        opts['softcap'] = cap
    if gamma is not None:
        opts['focalGamma'] = gamma
    loss, grad = autograd(lambda xt: ce_ext_torch(xt, t, index, weight, ignore, eps, red_arg(red), z, cap, gamma), x, red, go)
    add('crossEntropyExt', 'crossEntropy', name + go_name(red, go), x, loss, grad, t, 'int32' if index else 'float32', opts,
        as_tensor=k % 4 == 1 if as_tensor is None else as_tensor, loss_tensor=red == 'none')


SHAPES = {'C': (5,), 'NC': (6, 5), 'NCd1': (3, 4, 5)}


def gen_ce_ext():
    for sname, shape in SHAPES.items():
        C = shape[cdim_of(shape)]
        ts = tshape_of(shape)
        for red in REDS:
            R = red_name(red)
            x = randn(*shape, scale=2.0)
            w = uniform(0.2, 2.0, C)
            t = class_targets(C, ts)
            ti = class_targets(C, ts, ignore=-100, frac=0.3) if len(shape) > 1 else np.array(-100, dtype=np.int32)
            # zLoss alone and with weight / ignoreIndex / labelSmoothing
            ce(x, t, f'index {sname} zLoss=0.05 {R}', z=0.05, red=red)
            ce(x, t, f'index {sname} zLoss=1e-4 weight {R}', z=1e-4, weight=w, red=red)
            ce(x, t, f'index {sname} zLoss=0.02 labelSmoothing=0.1 {R}', z=0.02, eps=0.1, red=red)
            if len(shape) > 1:
                ce(x, ti, f'index {sname} zLoss=0.1 ignored(-100) {R}', z=0.1, red=red)
                ce(x, ti, f'index {sname} zLoss=0.03 weight ignored(-100) labelSmoothing=0.2 {R}', z=0.03, weight=w, eps=0.2, red=red)
            # softcap alone (the cap matters: logits of scale 4 against c = 3), and with zLoss
            xs = randn(*shape, scale=4.0)
            ce(xs, t, f'index {sname} softcap=3 {R}', cap=3.0, red=red)
            ce(xs, t, f'index {sname} softcap=3 zLoss=0.05 {R}', cap=3.0, z=0.05, red=red)
            if len(shape) > 1:
                ce(xs, ti, f'index {sname} softcap=5 zLoss=0.01 weight ignored(-100) labelSmoothing=0.1 {R}',
                   cap=5.0, z=0.01, weight=w, eps=0.1, red=red)
            # focal loss: γ 0, 0.5, 2, 5 with weight and ignoreIndex; with softcap and zLoss
            for g in [0, 0.5, 2, 5]:
                ce(x, t, f'index {sname} focalGamma={g} {R}', gamma=g, red=red)
                ce(x, t, f'index {sname} focalGamma={g} weight {R}', gamma=g, weight=w, red=red)
                if len(shape) > 1:
                    ce(x, ti, f'index {sname} focalGamma={g} weight ignored(-100) {R}', gamma=g, weight=w, red=red)
            ce(xs, t, f'index {sname} focalGamma=2 softcap=3 {R}', gamma=2, cap=3.0, red=red)
            ce(x, ti if len(shape) > 1 else t, f'index {sname} focalGamma=0.5 zLoss=0.05 {"ignored(-100) " if len(shape) > 1 else ""}{R}',
               gamma=0.5, z=0.05, red=red)
            ce(xs, ti if len(shape) > 1 else t, f'index {sname} focalGamma=2 softcap=5 zLoss=0.02 weight {"ignored(-100) " if len(shape) > 1 else ""}{R}',
               gamma=2, cap=5.0, z=0.02, weight=w, red=red)
            # probability targets with zLoss / softcap
            pt = prob_targets(shape, cdim_of(shape))
            ce(x, pt, f'prob {sname} zLoss=0.05 {R}', z=0.05, red=red, index=False)
            ce(xs, pt, f'prob {sname} softcap=3 {R}', cap=3.0, red=red, index=False)
            ce(xs, pt, f'prob {sname} softcap=3 zLoss=0.02 weight labelSmoothing=0.15 {R}', cap=3.0, z=0.02, weight=w, eps=0.15,
               red=red, index=False)

    # a single row: target of shape (), ignored ('mean' over no rows: see the docstring)
    x = randn(5, scale=2.0)
    for red in ['sum', 'none']:
        ce(x, np.array(-100, dtype=np.int32), f'index C ignored scalar target zLoss=0.1 {red_name(red)}', z=0.1, red=red)
        ce(x, np.array(-100, dtype=np.int32), f'index C ignored scalar target focalGamma=2 softcap=4 {red_name(red)}', gamma=2, cap=4.0, red=red)

    # softcap where it matters most: |x| up to 200 against c = 30 (Gemma 2's final-logit cap)
    x = uniform(-200, 200, 8, 6)
    x[0, :] = f32([200, -200, 150, -150, 0.5, 30])
    x[1, :] = f32([1e-3, -1e-3, 60, -60, 90, 199.5])
    t = class_targets(6, (8,))
    t[0] = 1
    t[1] = 5
    w = uniform(0.5, 1.5, 6)
    for red in REDS:
        R = red_name(red)
        ce(x, t, f'large |x| <= 200 softcap=30 {R}', cap=30.0, red=red)
        ce(x, t, f'large |x| <= 200 softcap=30 zLoss=1e-4 {R}', cap=30.0, z=1e-4, red=red)
        ce(x, t, f'large |x| <= 200 softcap=30 zLoss=1e-3 weight labelSmoothing=0.1 {R}', cap=30.0, z=1e-3, weight=w, eps=0.1, red=red)
        ce(x, t, f'large |x| <= 200 softcap=50 focalGamma=2 {R}', cap=50.0, gamma=2, red=red)
        ce(x, prob_targets((8, 6), 1), f'prob large |x| <= 200 softcap=30 zLoss=1e-4 {R}', cap=30.0, z=1e-4, red=red, index=False)
    # the cap on a 3-D input along its class dim
    x = uniform(-120, 120, 2, 5, 3)
    t = class_targets(5, (2, 3), ignore=-100, frac=0.25)
    for red in REDS:
        ce(x, t, f'large |x| (2,5,3) softcap=30 zLoss=1e-4 ignored(-100) {red_name(red)}', cap=30.0, z=1e-4, red=red)

    # ignoreIndex a valid class, and -1
    x = randn(8, 5, scale=2.0)
    t = class_targets(5, (8,))
    t[[1, 4]] = 2
    w = uniform(0.5, 1.5, 5)
    for red in REDS:
        ce(x, t, f'ignoreIndex=2 (a valid class) zLoss=0.05 weight {red_name(red)}', ignore=2, z=0.05, weight=w, red=red)
        ce(x, t, f'ignoreIndex=2 (a valid class) focalGamma=2 weight {red_name(red)}', ignore=2, gamma=2, weight=w, red=red)
    t2 = t.copy()
    t2[[0, 5]] = -1
    for red in REDS:
        ce(x, t2, f'ignoreIndex=-1 zLoss=0.05 labelSmoothing=0.3 {red_name(red)}', ignore=-1, z=0.05, eps=0.3, red=red)
        ce(x, t2, f'ignoreIndex=-1 focalGamma=5 softcap=2 {red_name(red)}', ignore=-1, gamma=5, cap=2.0, red=red)

    # every target ignored: 'sum' and 'none' (0 and zero rows; see the docstring for 'mean')
    x = randn(4, 3)
    t = np.full((4,), -100, dtype=np.int32)
    for red in ['sum', 'none']:
        ce(x, t, f'all ignored zLoss=0.1 {red}', z=0.1, red=red)
        ce(x, t, f'all ignored focalGamma=2 zLoss=0.1 softcap=2 {red}', gamma=2, z=0.1, cap=2.0, red=red)

    # weights with zeros (the weight is not applied to z, so z still counts for weight-0 targets)
    x = randn(6, 4)
    t = np.array([0, 1, 2, 3, 0, 1], dtype=np.int32)
    wz = f32([0.0, 1.5, 0.0, 0.5])
    for red in REDS:
        ce(x, t, f'weight with zeros zLoss=0.05 {red_name(red)}', weight=wz, z=0.05, red=red)
        ce(x, t, f'weight with zeros focalGamma=2 {red_name(red)}', weight=wz, gamma=2, red=red)

    # the options given at their neutral values explicitly
    x = randn(5, 7, scale=2.0)
    t = class_targets(7, (5,), ignore=-100, frac=0.3)
    w = uniform(0.2, 2.0, 7)
    for red in REDS:
        ce(x, t, f'zLoss=0 explicit weight labelSmoothing=0.1 {red_name(red)}', z=0.0, weight=w, eps=0.1, red=red)
        ce(x, t, f'focalGamma=0 explicit weight {red_name(red)}', gamma=0, weight=w, red=red)
        ce(x, t, f'softcap=1e30 zLoss=0 focalGamma=0 {red_name(red)}', cap=1e30, z=0.0, gamma=0, red=red)

    # logits that make the z-loss dominate: every logit near 40 (lse ≈ 41.9)
    x = randn(4, 6) + f32(40)
    t = class_targets(6, (4,))
    for red in REDS:
        ce(x, t, f'logits near 40 zLoss=1e-4 {red_name(red)}', z=1e-4, red=red)
        ce(x, t, f'logits near 40 softcap=30 zLoss=1e-4 focalGamma=2 {red_name(red)}', cap=30.0, z=1e-4, gamma=2, red=red)

    # confident rows: p_t close to 1 (focal's (1 − p_t)^γ small; γ = 0.5 stays away from p_t = 1 exactly)
    x = randn(6, 5)
    t = class_targets(5, (6,))
    x[np.arange(6), t] += f32([8, 12, 16, 20, 24, 4])
    for g in [0.5, 2, 5]:
        ce(x, t, f'confident rows focalGamma={g} none', gamma=g, red='none')
        ce(x, t, f'confident rows focalGamma={g} mean', gamma=g, red='mean')

    # a large vocabulary and many rows (one case each: they are most of the file's bytes)
    x = randn(4, 32000, scale=3.0)
    t = class_targets(32000, (4,))
    t[2] = -100
    ce(x, t, 'vocab (4,32000) softcap=30 zLoss=1e-4 labelSmoothing=0.1 ignored(-100) mean(default)', cap=30.0, z=1e-4, eps=0.1)
    x = randn(4096, 10, scale=2.0)
    t = class_targets(10, (4096,), ignore=-100, frac=0.1)
    ce(x, t, 'rows (4096,10) focalGamma=2 softcap=3 zLoss=0.01 weight ignored(-100) mean(default)', gamma=2, cap=3.0, z=0.01,
       weight=uniform(0.2, 2.0, 10))


# ----------------------------------------------------------------------------- sigmoidFocalLoss

def sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0, reduction='mean'):
    """torchvision.ops.sigmoid_focal_loss (torchvision/ops/focal_loss.py, v0.14), its body restated:
        p = torch.sigmoid(inputs)
        ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
        p_t = p * targets + (1 - p) * (1 - targets)
        loss = ce_loss * ((1 - p_t) ** gamma)
        if alpha >= 0:
            alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
            loss = alpha_t * loss
        reduction 'none' | 'mean' | 'sum' (torchvision's default is 'none'; the library's is 'mean')."""
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction='none')
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    if reduction == 'mean':
        return loss.mean()
    if reduction == 'sum':
        return loss.sum()
    assert reduction == 'none'
    return loss


SF_K = [0]


def sfl(x, t, name, alpha=None, gamma=None, red=None, go='auto', as_tensor=None):
    SF_K[0] += 1
    k = SF_K[0]
    if isinstance(go, str):
        go = upstream(np.shape(x), red, k)
    opts = grad_opts(red, go, k % 2 == 1)
    if alpha is not None:
        opts['alpha'] = alpha
    if gamma is not None:
        opts['gamma'] = gamma
    a = 0.25 if alpha is None else alpha
    g = 2.0 if gamma is None else gamma
    loss, grad = autograd(lambda xt: sigmoid_focal_loss(xt, T(t), a, g, red_arg(red)), x, red, go)
    add('sigmoidFocalLoss', 'sigmoidFocalLoss', name + go_name(red, go), x, loss, grad, t, 'float32', opts,
        as_tensor=k % 4 == 0 if as_tensor is None else as_tensor, loss_tensor=red == 'none')


def gen_sigmoid_focal():
    for sname, shape in {'(7)': (7,), '(4,5)': (4, 5), '(2,3,4)': (2, 3, 4)}.items():
        for red in REDS:
            R = red_name(red)
            x = randn(*shape, scale=3.0)
            tb = f32(rs.randint(0, 2, size=shape))
            ts = uniform(0, 1, *shape)
            sfl(x, tb, f'{sname} binary targets defaults {R}', red=red)
            sfl(x, ts, f'{sname} soft targets defaults {R}', red=red)
            sfl(x, tb, f'{sname} binary targets alpha=-1 (no weighting) {R}', alpha=-1, red=red)
            for g in [0, 2, 5]:
                sfl(x, tb, f'{sname} binary targets alpha=0.25 gamma={g} {R}', alpha=0.25, gamma=g, red=red)
                sfl(x, ts, f'{sname} soft targets alpha=0.6 gamma={g} {R}', alpha=0.6, gamma=g, red=red)
                sfl(x, tb, f'{sname} binary targets alpha=-1 gamma={g} {R}', alpha=-1, gamma=g, red=red)
            sfl(x, ts, f'{sname} soft targets alpha=0 gamma=1.5 {R}', alpha=0, gamma=1.5, red=red)
            sfl(x, tb, f'{sname} binary targets alpha=1 gamma=2 {R}', alpha=1, gamma=2, red=red)
    # extreme logits: ±50 (sigmoid rounds to 0 or 1 in float64), with binary and soft targets
    x = f32([50, -50, 50, -50, 30, -30, 17, -17, 0, 1e-8, 50, -50])
    tb = f32([1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 1, 1])
    ts = f32([0.3, 0.7, 0.5, 0.1, 0.9, 0.2, 0.5, 0.5, 0.4, 0.6, 0.99, 0.01])
    for red in REDS:
        R = red_name(red)
        for g in [0, 2, 5]:
            sfl(x, tb, f'extreme logits +-50 binary targets gamma={g} {R}', gamma=g, red=red)
            sfl(x, ts, f'extreme logits +-50 soft targets gamma={g} alpha=-1 {R}', gamma=g, alpha=-1, red=red)
    x = uniform(-8, 8, 16, 40)
    sfl(x, f32(rs.uniform(size=(16, 40)) < 0.1), '(16,40) sparse binary targets defaults mean(default)')
    sfl(x, f32(rs.uniform(size=(16, 40)) < 0.1), '(16,40) sparse binary targets defaults sum', red='sum')


# ----------------------------------------------------------------------------- BCE with a broadcast weight

BCE_K = {False: 0, True: 0}  # one count per op, so that each gets random and default gradOutputs


def bce(x, t, name, weight, red=None, with_logits=False, pos_weight=None, go='auto'):
    BCE_K[with_logits] += 1
    k = BCE_K[with_logits]
    if isinstance(go, str):
        go = upstream(np.shape(x), red, k)
    opts = grad_opts(red, go, k % 2 == 0)
    w = f32(weight)
    opts['weight'] = tensor_json(w)
    kw = {'weight': T(w)}
    if pos_weight is not None:
        kw['pos_weight'] = T(pos_weight)
        opts['posWeight'] = [enc_f32(v) for v in f32(pos_weight)]
    fn = F.binary_cross_entropy_with_logits if with_logits else F.binary_cross_entropy
    loss, grad = autograd(lambda xt: fn(xt, T(t), reduction=red_arg(red), **kw), x, red, go)
    op = 'binaryCrossEntropyWithLogits' if with_logits else 'binaryCrossEntropy'
    add('bceBroadcast', op, f'{op} ' + name + go_name(red, go), x, loss, grad, t, 'float32', opts,
        as_tensor=k % 3 == 0, loss_tensor=red == 'none')


def weight_shapes(shape):
    """Weight shapes that broadcast to `shape` by PyTorch's general rules but are not its trailing dims."""
    n = len(shape)
    out = [()]
    if n == 1:
        return out + [(1,)]
    if n == 2:
        N, C = shape
        return out + [(N, 1), (1, C), (1, 1)]
    if n == 3:
        N, C, L = shape
        return out + [(1, C, 1), (N, 1, L), (C, 1), (N, 1, 1), (1, 1, L), (N, C, 1), (1, 1)]
    N, C, H, W = shape
    return out + [(1, C, 1, 1), (N, 1, H, 1), (C, 1, W), (N, 1, 1, W), (H, 1)]


def gen_bce_broadcast():
    for sname, shape in {'(7)': (7,), '(4,5)': (4, 5), '(3,4,5)': (3, 4, 5), '(2,3,2,4)': (2, 3, 2, 4)}.items():
        for red in REDS:
            R = red_name(red)
            xp = uniform(0.001, 0.999, *shape)
            xl = randn(*shape, scale=3.0)
            t = uniform(0, 1, *shape)
            L = shape[-1]
            for ws in weight_shapes(shape):
                wn = f'weight{list(ws)}'
                bce(xp, t, f'{sname} {wn} {R}', uniform(0.2, 2, *ws), red=red)
                bce(xl, t, f'{sname} {wn} {R}', uniform(0.2, 2, *ws), red=red, with_logits=True)
                bce(xl, t, f'{sname} {wn} posWeight[{L}] {R}', uniform(0.2, 2, *ws), red=red, with_logits=True,
                    pos_weight=uniform(0.2, 3, L))
            bce(xl, t, f'{sname} weight[] posWeight[1] {R}', uniform(0.2, 2), red=red, with_logits=True, pos_weight=uniform(0.2, 3, 1))
    # inputs 0 and 1 (the log clamp at -100, the backward's 1e-12 floor) with a per-sample weight
    x = f32([[0, 1, 0.5], [1, 0, 1e-30], [0.25, 1 - 2 ** -24, 0.75], [0, 0, 1]])
    t = f32([[0, 1, 0.5], [0.3, 0.7, 1], [0, 0, 1], [1, 0, 0.5]])
    for red in REDS:
        bce(x, t, f'inputs 0 and 1 weight[4, 1] {red_name(red)}', uniform(0.5, 2, 4, 1), red=red)
    # extreme logits with a per-class weight (1, C) and posWeight
    x = f32([[3e4, -3e4, 100, -100, 50], [-50, 88.7, -88.7, 0, 1e-8]])
    t = f32([[0.3, 0.7, 0, 1, 1], [0, 0.5, 0.5, 1, 0]])
    for red in REDS:
        bce(x, t, f'extreme logits weight[1, 5] posWeight[5] {red_name(red)}', uniform(0.5, 2, 1, 5), red=red,
            with_logits=True, pos_weight=uniform(0.5, 3, 5))
    # a larger per-sample weight
    x = randn(64, 33, scale=2.0)
    t = f32(rs.uniform(size=(64, 33)) < 0.3)
    bce(x, t, '(64,33) weight[64, 1] mean(default)', uniform(0, 2, 64, 1), with_logits=True)
    bce(uniform(0.01, 0.99, 64, 33), t, '(64,33) weight[64, 1] mean(default)', uniform(0, 2, 64, 1))


def main():
    gen_ce_ext()
    gen_sigmoid_focal()
    gen_bce_broadcast()
    write_cases(OUT, FILES, 'file', SEED)


if __name__ == '__main__':
    main()
