#!/usr/bin/python3
"""Generates test/fixtures/torch-linear/: linearCrossEntropy (the fused LM-head loss) and its PyTorch autograd gradients.

Run with Debian's torch (README.md, "WebGPU without a GPU"):  /usr/bin/python3 scripts/torch-fixtures-linear.py

The loss, exactly as PyTorch computes it (torch 1.13's own ops, in float64, from inputs rounded to float32):
  z      = hidden @ weight.T + bias          hidden (N, D), weight (V, D), bias (V) optional; D = 0 allowed
                                             (an empty dot product: z = bias)
  y      = c·tanh(z / c)                     softcap c > 0 (Gemma 2), before anything else
  CE     = F.cross_entropy(y, target, ignore_index, reduction, label_smoothing)
  zLoss  = s·lse(y_row)² for each non-ignored row (0 for ignored rows); 'none': CE + z per row; 'sum': + Σz;
           'mean': + Σz / (number of non-ignored rows) (CE's own mean divides by the same count: no class weights)
The expected gradients are hidden.grad, weight.grad and bias.grad after loss.backward(seed): seed = gradOutput
(the case's random upstream gradient of shape (N)) for reduction 'none' (all ones when the case has none),
1 otherwise. Every target ignored under 'mean': torch gives a NaN loss and all-zero gradients (kept here).

Files (test/fixtures/torch-linear/, read by test/linear-fixtures.ts):
  linearCrossEntropy.json: a JSON array of cases, one a line:
    { "name", "hidden": {"data","shape":[N,D]}, "weight": {"data","shape":[V,D]}, "bias"?: {"data","shape":[V]},
      "target": {"data": [ints], "shape": [N]},
      "options": {"ignoreIndex"?, "labelSmoothing"?, "zLoss"?, "softcap"?, "reduction"?},   (left out: the default;
                 reduction 'mean', ignoreIndex -100)
      "gradOutput"?: {"data","shape":[N]}   ('none' only),
      "expected": {"loss": number | {"data","shape":[N]}, "grad": {"hidden", "weight", "bias"?: {"data","shape"}}} }
  Large vocabularies (JSON would be huge), one case a <name>.json plus .npy files (format 1.0, little-endian,
  C order):
    <name>.json: {"name", "N", "D", "V", "target", "options", "expected": {"loss", "grad": {"hidden"}}}
    <name>-hidden.npy, <name>-weight.npy, <name>-bias.npy ('<f4': the inputs),
    <name>-grad-weight.npy, <name>-grad-bias.npy ('<f8': the expected gradients, full precision).
  Numbers: float32 inputs as the shortest decimal that round-trips, expected values with 12 significant digits,
  non-finite values as the strings "NaN", "Infinity", "-Infinity" (torch_common.py).

Draws: numpy's default_rng with a fixed seed per group of cases; torch on one thread, so running the script
twice writes byte-identical files.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_common import I64, T, enc_f32, f32, red_name, tensor_json  # noqa: E402
from torch_common import enc_f64 as _enc_f64, f64_json as _f64_json  # noqa: E402

torch.set_num_threads(1)

SEED = 20250801
DIGITS = 12
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'torch-linear')


def enc_f64(v):
    return _enc_f64(v, DIGITS)


def f64_json(r):
    return _f64_json(r, DIGITS)


class G:
    """Seeded float32 draws (numpy default_rng) for one group of cases."""

    def __init__(self, k):
        self.rng = np.random.default_rng(SEED + k)

    def normal(self, *shape, scale=1.0):
        return f32(self.rng.standard_normal(shape) * scale)

    def inputs(self, N, D, V, hscale=1.0):
        """hidden ~ N(0, hscale²), weight ~ N(0, 1/D) (std 1/sqrt(D)), bias ~ N(0, 0.5²)."""
        h = self.normal(N, D, scale=hscale)
        w = self.normal(V, D, scale=1.0 / np.sqrt(D) if D > 0 else 1.0)
        b = self.normal(V, scale=0.5)
        return h, w, b

    def targets(self, N, V, ignore=None, frac=0.0):
        t = self.rng.integers(0, V, size=N).astype(np.int32)
        if ignore is not None and frac > 0:
            m = self.rng.uniform(size=N) < frac
            if N > 1 and not m.any():
                m[0] = True
            if N > 1 and m.all():
                m[-1] = False
            t = np.where(m, np.int32(ignore), t).astype(np.int32)
        return t


# ----------------------------------------------------------------------------- the loss in torch

def linear_ce_torch(h, w, b, t, ignore=-100, eps=0.0, red='mean', z=None, cap=None):
    """The loss on float64 tensors h (N, D), w (V, D), b (V) or None, int64 targets t."""
    y = h @ w.T
    if b is not None:
        y = y + b
    if cap is not None:
        y = cap * torch.tanh(y / cap)
    loss = F.cross_entropy(y, t, ignore_index=ignore, reduction=red, label_smoothing=eps)
    if z is None:
        return loss
    mask = t != ignore
    zz = torch.where(mask, z * torch.logsumexp(y, 1) ** 2, torch.zeros_like(y[:, 0]))
    if red == 'none':
        return loss + zz
    if red == 'sum':
        return loss + zz.sum()
    return loss + zz.sum() / mask.sum()


def run_torch(h, w, b, t, opts, go):
    """(loss, grad hidden, grad weight, grad bias or None) in float64."""
    ht = T(h).requires_grad_(True)
    wt = T(w).requires_grad_(True)
    bt = T(b).requires_grad_(True) if b is not None else None
    red = opts.get('reduction', 'mean')
    loss = linear_ce_torch(ht, wt, bt, I64(t), opts.get('ignoreIndex', -100), opts.get('labelSmoothing', 0.0), red,
                           opts.get('zLoss'), opts.get('softcap'))
    if red == 'none':
        loss.backward(torch.ones_like(loss) if go is None else T(go))
    else:
        loss.backward()
    gb = bt.grad.detach() if bt is not None else None
    return loss.detach(), ht.grad.detach(), wt.grad.detach(), gb


# ----------------------------------------------------------------------------- the JSON cases

CASES = []


def options(red, ignore=None, eps=None, z=None, cap=None):
    o = {}
    if ignore is not None:
        o['ignoreIndex'] = ignore
    if eps is not None:
        o['labelSmoothing'] = eps
    if z is not None:
        o['zLoss'] = z
    if cap is not None:
        o['softcap'] = cap
    if red is not None:
        o['reduction'] = red
    return o


def case(g, name, h, w, b, t, red, go='random', **kw):
    """Adds one case; red None: the option left out (the default 'mean'). go: 'random' (a drawn gradOutput for
    'none'), None (no gradOutput: all ones)."""
    opts = options(red, **kw)
    N = h.shape[0]
    gout = g.normal(N, scale=1.5) if red == 'none' and go == 'random' else None
    suffix = red_name(red) + ('' if red != 'none' else ' gradOutput' if gout is not None else ' gradOutput=ones')
    full = f'{name} {suffix}'
    loss, gh, gw, gb = run_torch(h, w, b, t, opts, gout)
    all_ignored = not (t != opts.get('ignoreIndex', -100)).any()
    if not (red in (None, 'mean') and all_ignored):
        assert torch.isfinite(loss).all(), (full, 'loss not finite')
    for gr in (gh, gw) + ((gb,) if gb is not None else ()):
        assert torch.isfinite(gr).all(), (full, 'gradient not finite')
    c = {'name': full, 'hidden': tensor_json(h), 'weight': tensor_json(w)}
    if b is not None:
        c['bias'] = tensor_json(b)
    c['target'] = {'data': [int(v) for v in t], 'shape': [int(N)]}
    c['options'] = opts
    if gout is not None:
        c['gradOutput'] = tensor_json(gout)
    grad = {'hidden': f64_json(gh.numpy()), 'weight': f64_json(gw.numpy())}
    if gb is not None:
        grad['bias'] = f64_json(gb.numpy())
    c['expected'] = {'loss': f64_json(loss.numpy()) if red == 'none' else enc_f64(loss.item()), 'grad': grad}
    assert full not in [x['name'] for x in CASES], full
    CASES.append(c)


REDS = [None, 'sum', 'none']


def scale_to(h, w, b, peak):
    """hidden rescaled (then rounded to float32) so that the largest |logit| is about `peak`."""
    z = np.asarray(h, np.float64) @ np.asarray(w, np.float64).T + (np.asarray(b, np.float64) if b is not None else 0)
    return f32(h * (peak / np.abs(z).max()))


def variants(k, N, D, V, mean_red=None, only=None):
    """The variant matrix on one shape: every reduction × plain, bias, ignored(-100), ignoreIndex=-1,
    labelSmoothing 0.1, zLoss 1e-3, softcap 30 with large logits, and the combination."""
    g = G(k)
    h, w, b = g.inputs(N, D, V)
    t = g.targets(N, V)
    ti = g.targets(N, V, ignore=-100, frac=0.3)
    tm1 = g.targets(N, V, ignore=-1, frac=0.3)
    hl = scale_to(g.normal(N, D), w, b, 200.0)   # logits up to ±200 against c = 30
    hc = g.normal(N, D, scale=3.0)               # logits of scale ~3-5 against c = 3
    S = f'N{N} D{D} V{V}'
    reds = [mean_red if r is None else r for r in REDS]
    for red in reds:
        v = {
            'plain': lambda red: case(g, f'{S} plain', h, w, None, t, red),
            'bias': lambda red: case(g, f'{S} bias', h, w, b, t, red),
            'ignored': lambda red: case(g, f'{S} ignored(-100)', h, w, None, ti, red),
            'ignore-1': lambda red: case(g, f'{S} ignoreIndex=-1 bias', h, w, b, tm1, red, ignore=-1),
            'ls': lambda red: case(g, f'{S} labelSmoothing=0.1', h, w, None, t, red, eps=0.1),
            'z': lambda red: case(g, f'{S} zLoss=1e-3 bias', h, w, b, t, red, z=1e-3),
            'cap30': lambda red: case(g, f'{S} softcap=30 |logits|<=200 bias', hl, w, b, t, red, cap=30.0),
            'combo': lambda red: case(g, f'{S} softcap=3 zLoss=0.05 labelSmoothing=0.2 ignored(-100) bias', hc, w, b, ti, red,
                                      cap=3.0, z=0.05, eps=0.2),
        }
        for key, fn in v.items():
            if only is None or key in only:
                fn(red)


def gen_json():
    # the whole matrix on two odd shapes (no multiple of 4/32/64 anywhere); 'mean' left out, then explicit
    variants(1, 5, 7, 13)
    variants(2, 33, 9, 67, mean_red='mean')

    # N = D = V = 1 (CE is 0 for a single class; z-loss and the bias still give gradients)
    g = G(3)
    h, w, b = g.inputs(1, 1, 1)
    for red in REDS:
        case(g, 'N1 D1 V1 bias', h, w, b, np.array([0], np.int32), red)
        case(g, 'N1 D1 V1 softcap=2 zLoss=0.1 labelSmoothing=0.1 bias', h * f32(3), w, b, np.array([0], np.int32), red,
             cap=2.0, z=0.1, eps=0.1)
    # V = 1 ignored, N = 1: every row ignored
    case(g, 'N1 D1 V1 all ignored zLoss=0.1 bias', h, w, b, np.array([-100], np.int32), 'sum', z=0.1)

    # D = 0: an empty dot product, the logits are the bias (PyTorch allows it; the hidden/weight gradients are empty)
    g = G(4)
    h, w, b = g.inputs(3, 0, 5)
    t = g.targets(3, 5)
    ti = np.array([1, -100, 4], np.int32)
    for red in REDS:
        case(g, 'N3 D0 V5 bias', h, w, b, t, red)
        case(g, 'N3 D0 V5 softcap=3 zLoss=0.05 labelSmoothing=0.2 ignored(-100) bias', h, w, b, ti, red, cap=3.0, z=0.05, eps=0.2)
    # D = 0 without a bias: every logit 0 (loss log V)
    case(g, 'N3 D0 V5 plain', h, w, None, t, 'none')

    # a wider shape, D and V past 128 and 256 (two cases: they are most of the file's bytes)
    g = G(5)
    h, w, b = g.inputs(7, 130, 259)
    ti = g.targets(7, 259, ignore=-100, frac=0.3)
    hc = g.normal(7, 130, scale=3.0)
    case(g, 'N7 D130 V259 softcap=3 zLoss=0.05 labelSmoothing=0.2 ignored(-100) bias', hc, w, b, ti, None, cap=3.0, z=0.05, eps=0.2)
    case(g, 'N7 D130 V259 bias', h, w, b, g.targets(7, 259), 'none')

    # every row ignored: 'mean' is NaN (0/0) with zero gradients in torch; 'sum' 0; 'none' zero rows
    g = G(6)
    h, w, b = g.inputs(4, 3, 5)
    t = np.full(4, -100, np.int32)
    for red in REDS:
        case(g, 'N4 D3 V5 all ignored bias', h, w, b, t, red)
        case(g, 'N4 D3 V5 all ignored zLoss=0.1 labelSmoothing=0.1 bias', h, w, b, t, red, z=0.1, eps=0.1)
    case(g, 'N4 D3 V5 all ignored(-1) softcap=3 bias', h, w, b, np.full(4, -1, np.int32), 'mean', ignore=-1, cap=3.0)

    # ignoreIndex a valid class
    g = G(7)
    h, w, b = g.inputs(6, 5, 11)
    t = g.targets(6, 11)
    t[[1, 4]] = 2
    for red in REDS:
        case(g, 'N6 D5 V11 ignoreIndex=2 (a valid class) zLoss=0.01 bias', h, w, b, t, red, ignore=2, z=0.01)

    # huge logits (±1e4): the log-sum-exp must stay stable; with z-loss (lse² ~ 1e8) and smoothing; softcap saturating
    g = G(8)
    h, w, b = g.inputs(6, 4, 9)
    h = scale_to(g.normal(6, 4, scale=1.0), w, b, 1e4)
    t = g.targets(6, 9)
    ti = t.copy()
    ti[3] = -100
    for red in REDS:
        case(g, 'N6 D4 V9 |logits|<=1e4 bias', h, w, b, t, red)
        case(g, 'N6 D4 V9 |logits|<=1e4 zLoss=1e-3 labelSmoothing=0.1 ignored(-100) bias', h, w, b, ti, red, z=1e-3, eps=0.1)
    case(g, 'N6 D4 V9 |logits|<=1e4 softcap=30 bias', h, w, b, t, 'none', cap=30.0)
    # one 'none' case whose gradOutput is left out (all ones)
    case(g, 'N6 D4 V9 |logits|<=1e4 zLoss=1e-3 bias', h, w, b, t, 'none', go=None, z=1e-3)
    case(g, 'N6 D4 V9 bias', g.normal(6, 4), w, b, t, 'none', go=None)


# ----------------------------------------------------------------------------- large vocabularies (.npy)

def save_npy(path, a, dtype):
    a = np.ascontiguousarray(np.asarray(a, dtype=dtype))
    with open(path, 'wb') as f:
        np.lib.format.write_array(f, a, version=(1, 0), allow_pickle=False)


def large(k, name, N, D, V, hscale=1.0, peak=None, ignored=(), **kw):
    g = G(k)
    h, w, b = g.inputs(N, D, V, hscale)
    if peak is not None:
        h = scale_to(h, w, b, peak)
    t = g.targets(N, V)
    for i in ignored:
        t[i] = -100
    opts = options(kw.pop('red', None), **kw)
    loss, gh, gw, gb = run_torch(h, w, b, t, opts, None)
    assert torch.isfinite(loss) and all(torch.isfinite(x).all() for x in (gh, gw, gb)), name
    j = {'name': name, 'N': N, 'D': D, 'V': V, 'target': {'data': [int(v) for v in t], 'shape': [N]}, 'options': opts,
         'expected': {'loss': enc_f64(loss.item()), 'grad': {'hidden': f64_json(gh.numpy())}}}
    with open(os.path.join(OUT, f'{name}.json'), 'w') as f:
        json.dump(j, f, separators=(',', ':'), allow_nan=False)
        f.write('\n')
    save_npy(os.path.join(OUT, f'{name}-hidden.npy'), h, '<f4')
    save_npy(os.path.join(OUT, f'{name}-weight.npy'), w, '<f4')
    save_npy(os.path.join(OUT, f'{name}-bias.npy'), b, '<f4')
    save_npy(os.path.join(OUT, f'{name}-grad-weight.npy'), gw.numpy(), '<f8')
    save_npy(os.path.join(OUT, f'{name}-grad-bias.npy'), gb.numpy(), '<f8')
    return name, loss.item()


def gen_large():
    out = []
    out.append(large(10, 'vocab32000-bias-mean', 4, 5, 32000))
    out.append(large(11, 'vocab128256-bias-mean', 3, 2, 128256))
    # logits up to ±120 against c = 30, one row ignored
    out.append(large(12, 'vocab32000-bias-softcap30-zloss-smoothing-ignored-mean', 4, 5, 32000, peak=120.0, ignored=(2,),
                     red='mean', cap=30.0, z=1e-4, eps=0.1))
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):  # a renamed case must not leave its old files behind
        if f.endswith('.json') or f.endswith('.npy'):
            os.remove(os.path.join(OUT, f))
    gen_json()
    path = os.path.join(OUT, 'linearCrossEntropy.json')
    with open(path, 'w') as f:
        f.write('[\n' + ',\n'.join(json.dumps(c, separators=(',', ':'), allow_nan=False) for c in CASES) + '\n]\n')
    print(f'torch {torch.__version__}, seed {SEED}', file=sys.stderr)
    print(f'linearCrossEntropy.json: {len(CASES)} cases, {os.path.getsize(path)} bytes', file=sys.stderr)
    for c in CASES:
        loss = c['expected']['loss']
        shown = loss if not isinstance(loss, dict) else '[%s]' % ', '.join(str(v) for v in loss['data'][:4]) + (' …' if len(loss['data']) > 4 else '')
        print(f'  {c["name"]}: loss {shown}', file=sys.stderr)
    for name, loss in gen_large():
        size = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT) if f.startswith(name + '.') or f.startswith(name + '-'))
        print(f'{name}: loss {loss!r}, {size} bytes', file=sys.stderr)
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f'total {total} bytes in {OUT}', file=sys.stderr)


if __name__ == '__main__':
    main()
