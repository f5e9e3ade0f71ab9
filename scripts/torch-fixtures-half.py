#!/usr/bin/python3
"""Generates test/fixtures/torch-half/*.json: every method on float16 and bfloat16 inputs, with int32 and int64
class indices (issue 11).

Run with Debian's torch (README.md, "WebGPU without a GPU"):  /usr/bin/python3 scripts/torch-fixtures-half.py
(`apt-get install -y python3-torch` where it is missing.)

Inputs are drawn with a fixed seed and rounded to the case's dtype by torch (float16: IEEE binary16; bfloat16: the
top half of a float32), and stored as their raw bits. The expected values are computed by torch in float64 from
exactly the decoded half values (`bits.view(torch.float16).double()`, `bits.view(torch.bfloat16).double()`), so they
are what an exact float32 computation on the decoded values approaches: the library decodes every half value to
float32 exactly and then runs exactly as for float32 input. Gradients are x.grad after loss.backward(gradOutput)
(gradOutput: the upstream gradient, reduction 'none' only, itself a half tensor; default all ones).
softmaxBackward / logSoftmaxBackward are torch._softmax_backward_data / torch._log_softmax_backward_data of the
decoded y and dy, in float64.

Every per-element result (softmax, logSoftmax, the backward ops, sigmoid, the 'none' losses, entropy 'none') and
every gradient is stored twice: its float64 values, and the bits of that float64 result rounded to float16 and to
bfloat16 by torch (`r.to(torch.float16).view(torch.int16)`; torch converts a double through float32, so that is
round-to-nearest-even twice, which differs from one rounding only for a float64 within 2^-29 relative of a
half-way point). A library output in a half dtype is then expected within one half ulp of that rounding (the
float32 arithmetic may land on the other side of a rounding boundary), and an output in float32 within the float32
tolerance of the float64 values. Reduced losses are numbers (the library accumulates in float32). NaN bits are
torch's: float16 sign|0x7E00, bfloat16 0x7FC0; overflow gives ±inf.

The script also reruns each case in torch's float32 from the same decoded values, rounds the result to the case's
dtype and checks that it lies within one half ulp of the expected bits (so that every case is well conditioned
for the one-ulp test); cases that are not are reported on stderr and the script fails.

Encoding (JSON has no NaN/Infinity, nor 16-bit arrays):
  - half bits ("bits", "float16", "bfloat16" below): a JSON array of integers 0..65535, or, for arrays of more than
    512 elements, a string: the base64 of the bits as little-endian uint16 (2 bytes an element);
  - float64 and float32 numbers: JSON numbers, or the strings "NaN", "Infinity", "-Infinity".

Files (each says its encoding in its header line, "encoding"): <method>.json for softmax, logSoftmax, softmaxBackward, logSoftmaxBackward, sigmoid, entropy, crossEntropy,
nllLoss, binaryCrossEntropy, binaryCrossEntropyWithLogits, klDiv, sigmoidFocalLoss, and crossEntropyLargeVocab.json
(one bfloat16 case, 8 x 128256 with its gradient: base64 arrays, the float64 gradient only at sampled positions):
  { "file": "<name>", "torch": "<version>", "seed": N, "encoding": "<the encoding above, in words>", "cases": [
    { "name": "...", "op": "<method>", "dtype": "float16" | "bfloat16",
      "input":  {"bits": [...] | "<base64>", "shape": [...]},            (the backward ops: y)
      "target": {"dtype": "int32" | "int64", "data": [ints], "shape", "asTensor": bool}        (class indices)
              | {"dtype": "float16" | "bfloat16", "bits": ..., "shape", "asTensor": true}     (float targets, dy)
              | {"dtype": "float32", "data": [numbers], "shape", "asTensor": bool}            (a float32 target)
      "options": { the library's options: "dim", "reduction", "grad": true, "ignoreIndex", "labelSmoothing",
                   "zLoss", "softcap", "focalGamma", "alpha", "gamma", "logTarget";
                   "weight": [float32 numbers] (crossEntropy/nllLoss) or {"data", "shape"} (BCE: a Float32Array
                   tensor broadcast by PyTorch's rules); "posWeight": [float32 numbers];
                   "gradOutput": {"dtype": "float16"|"bfloat16", "bits", "shape"} or {"dtype": "float32", "data", "shape"} },
      "expected": { "loss": number | Tensor, "grad": Tensor }     (losses; "grad" with options.grad)
                | { "output": Tensor }                            (softmax, logSoftmax, the backward ops, sigmoid, entropy 'none')
                | { "loss": number }                              (entropy 'mean' / 'sum')
    } ] }
  Tensor = {"shape": [...], "data": [float64 values], "float16": bits, "bfloat16": bits}; in the large-vocabulary
  case "data" is absent, only the case's dtype has bits, and "sample": {"index": [flat indices], "data": [float64]}
  holds the float64 gradient at every row's target and at 2048 random positions.
  The runner passes a "bits" tensor as {data: Uint16Array, shape, dtype}, int64 indices as a BigInt64Array (bare, or
  {data, shape} when "asTensor"), and options.grad/gradOutput as they are (a run without them checks the loss alone).
  An option left out takes the library's default (reduction 'mean', 'none' for entropy; ignoreIndex -100; dim -1).

Left out on purpose: bfloat16 subnormal inputs where the result depends on them (they decode to float32 denormals,
which lavapipe flushes), results in float32's denormal range, results that cancel below float32's resolution
(σ(17) − 1 as a BCE-with-logits gradient: no float32 computation is within a half ulp of it; the float32 rerun
catches such cases), 'mean' over targets that are all ignored, and the corner cases the other fixture scripts leave
out (see scripts/torch-fixtures.py and scripts/torch-fixtures-losses.py). torch runs on one thread, so running the
script twice writes byte-identical files.
"""
import base64
import json
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_common import cdim_of, enc_f32, enc_f64 as _enc_f64, f32, tshape_of  # noqa: E402

warnings.filterwarnings('ignore', message="reduction: 'mean' divides the total loss")  # kl_div's 'mean' is what is meant
torch.set_num_threads(1)  # reductions split across threads could round differently from run to run

SEED = 20250801
rs = np.random.RandomState(SEED)
torch.manual_seed(SEED)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'torch-half')
DTYPES = {'float16': torch.float16, 'bfloat16': torch.bfloat16}
INF = float('inf')
NAN = float('nan')
B64_MIN = 513  # arrays of more elements are written as base64


def enc_f64(v):
    return _enc_f64(v, 12)


ENCODING = ('half bits (input.bits, target.bits, gradOutput.bits, expected float16/bfloat16): a JSON array of uint16, or a string: '
            'base64 of the bits as little-endian uint16; numbers: JSON numbers or "NaN", "Infinity", "-Infinity"; '
            'expected data: float64 values computed by torch from the decoded half values (scripts/torch-fixtures-half.py)')


def write_cases(out, files, seed):
    """torch_common.write_cases with the encoding in each file's header: out/<name>.json, one case a line."""
    os.makedirs(out, exist_ok=True)
    total = 0
    for name, cases in files.items():
        path = os.path.join(out, f'{name}.json')
        with open(path, 'w') as f:
            f.write('{"file":%s,"torch":%s,"seed":%d,"encoding":%s,"cases":[\n' % (json.dumps(name), json.dumps(torch.__version__), seed,
                                                                                json.dumps(ENCODING)))
            f.write(',\n'.join(json.dumps(c, separators=(',', ':'), allow_nan=False) for c in cases))
            f.write('\n]}\n')
        total += len(cases)
        print(f'{name}: {len(cases)} cases, {os.path.getsize(path)} bytes', file=sys.stderr)
    print(f'total {total} cases', file=sys.stderr)


# ----------------------------------------------------------------------------- half bits

def to_bits(a, dtype):
    """Values (numpy or torch, any float dtype) rounded to `dtype` by torch: uint16 bits, same shape."""
    t = a.detach() if torch.is_tensor(a) else torch.from_numpy(np.asarray(a, dtype=np.float64))
    return t.to(DTYPES[dtype]).view(torch.int16).numpy().astype(np.uint16)


def from_bits(bits, dtype):
    """uint16 bits to the exactly decoded float64 values (torch's own decoding)."""
    shape = np.shape(bits)
    b = np.ascontiguousarray(np.asarray(bits, dtype=np.uint16))
    return torch.from_numpy(b.view(np.int16).copy()).view(DTYPES[dtype]).double().reshape(shape)  # (a 0-d array comes back 1-d)


def bits_enc(bits):
    b = np.asarray(bits, dtype=np.uint16).reshape(-1)
    if b.size >= B64_MIN:
        return base64.b64encode(b.astype('<u2').tobytes()).decode('ascii')
    return [int(v) for v in b]


class H:
    """A half tensor: its bits and dtype; .v is the decoded float64 torch tensor."""

    def __init__(self, bits, dtype):
        self.bits = np.asarray(bits, dtype=np.uint16)
        self.dtype = dtype
        self.v = from_bits(self.bits, dtype)

    @property
    def shape(self):
        return tuple(self.bits.shape)

    def json(self):
        return {'bits': bits_enc(self.bits), 'shape': list(self.bits.shape)}

    def tjson(self):
        return {'dtype': self.dtype, **self.json()}


def h(a, dtype):
    return H(to_bits(a, dtype), dtype)


def randn(dtype, *shape, scale=1.0, mean=0.0):
    return h(rs.standard_normal(shape) * scale + mean, dtype)


def uniform(dtype, lo, hi, *shape):
    return h(rs.uniform(lo, hi, shape), dtype)


def with_bits(x, where, bits):
    """A copy of half tensor x with raw bits planted at the flat positions `where`."""
    b = x.bits.copy().reshape(-1)
    b[list(where)] = bits
    return H(b.reshape(x.shape), x.dtype)


# special bit patterns per dtype
SPECIAL = {
    'float16': {'nan': 0x7E00, 'nanPayload': 0x7D01, 'negNan': 0xFE00, 'inf': 0x7C00, 'ninf': 0xFC00,
                'sub1': 0x0001, 'subNeg': 0x8003, 'subMax': 0x03FF, 'negZero': 0x8000, 'max': 0x7BFF, 'nmax': 0xFBFF},
    'bfloat16': {'nan': 0x7FC0, 'nanPayload': 0x7F81, 'negNan': 0xFFC0, 'inf': 0x7F80, 'ninf': 0xFF80,
                 'sub1': 0x0001, 'subNeg': 0x8003, 'subMax': 0x007F, 'negZero': 0x8000, 'max': 0x7F7F, 'nmax': 0xFF7F},
}


def sp(dtype, *names):
    return [SPECIAL[dtype][n] for n in names]


def ord_bits(b):
    """Monotone integer order of half bits (−0 and +0 both 0)."""
    b = np.asarray(b, dtype=np.int64)
    return np.where(b & 0x8000, -(b & 0x7FFF), b)


def is_nan_bits(b, dtype):
    b = np.asarray(b, dtype=np.int64) & 0x7FFF
    return b > (0x7C00 if dtype == 'float16' else 0x7F80)


def ulp_dist(a, e, dtype):
    """Element-wise distance in half ulps (NaN against NaN: 0; NaN against a number: a large number)."""
    na, ne = is_nan_bits(a, dtype), is_nan_bits(e, dtype)
    d = np.abs(ord_bits(a) - ord_bits(e))
    d = np.where(na & ne, 0, d)
    return np.where(na != ne, 1 << 20, d)


# ----------------------------------------------------------------------------- case assembly

FILES = {}
F32_WORST = []  # (distance, file, name): the float32 rerun's distance from the expected bits, per case


def tensor_exp(r64, dtype, big=False, sample=None):
    r64 = r64.detach().double()
    j = {'shape': list(r64.shape)}
    if big:
        j[dtype] = bits_enc(to_bits(r64, dtype))
        flat = r64.reshape(-1)
        j['sample'] = {'index': [int(i) for i in sample], 'data': [enc_f64(flat[i].item()) for i in sample]}
        return j
    j['data'] = [enc_f64(v) for v in r64.reshape(-1).tolist()]
    for dt in DTYPES:
        j[dt] = bits_enc(to_bits(r64, dt))
    return j


def check_f32(file, name, dtype, r64, r32):
    """The float32 rerun, rounded to dtype, against the float64 result rounded to dtype."""
    if r32 is None:
        return
    d = ulp_dist(to_bits(r32, dtype).reshape(-1), to_bits(r64, dtype).reshape(-1), dtype)
    worst = int(d.max()) if d.size else 0
    F32_WORST.append((worst, file, f'{dtype} {name}'))


def index_json(t, dtype, as_tensor):
    t = np.asarray(t, dtype=np.int64)
    return {'dtype': dtype, 'data': [int(v) for v in t.reshape(-1)], 'shape': list(t.shape), 'asTensor': bool(as_tensor)}


def f32_target_json(t, as_tensor):
    t = f32(t)
    return {'dtype': 'float32', 'data': [enc_f32(v) for v in t.reshape(-1)], 'shape': list(t.shape), 'asTensor': bool(as_tensor)}


def add(file, op, name, dtype, x, expected, target=None, options=None):
    name = f'{dtype} {name}'
    case = {'name': name, 'op': op, 'dtype': dtype, 'input': x.json()}
    if target is not None:
        case['target'] = target
    case['options'] = options or {}
    case['expected'] = expected
    cases = FILES.setdefault(file, [])
    assert name not in [c['name'] for c in cases], (file, name)
    cases.append(case)


def fmt_red(red):
    return 'mean(default)' if red is None else red


def red_arg(red):
    return 'mean' if red is None else red


def grad_of(fn, x, red, go):
    """(loss, d loss / d x) of fn at x (a torch tensor of any float dtype), upstream gradient go for 'none'."""
    xt = x.clone().requires_grad_(True)
    loss = fn(xt)
    if red == 'none':
        loss.backward(torch.ones_like(loss) if go is None else go.reshape(loss.shape).to(x.dtype))
    else:
        loss.backward()
    return loss.detach(), xt.grad.detach()


def loss_case(file, op, name, dtype, x, fn, red, grad=True, go=None, target=None, options=None, assert_finite=True):
    """A loss: fn(x_tensor, dtype) -> loss; float64 expected values and the float32 rerun's check."""
    opts = dict(options or {})
    if red is not None:
        opts['reduction'] = red
    if grad:
        opts['grad'] = True
        if go is not None:
            opts['gradOutput'] = go.tjson() if isinstance(go, H) else {'dtype': 'float32', 'data': [enc_f32(v) for v in f32(go).reshape(-1)],
                                                                        'shape': list(np.shape(go))}
    gov = None if go is None else (go.v if isinstance(go, H) else torch.from_numpy(np.asarray(go, dtype=np.float64)))
    exp = {}
    if grad:
        loss, g = grad_of(lambda t: fn(t, torch.float64), x.v, red, gov)
        loss32, g32 = grad_of(lambda t: fn(t, torch.float32), x.v.float(), red, gov)
        if assert_finite:
            assert torch.isfinite(g).all(), (file, name, 'gradient not finite')
        exp['grad'] = tensor_exp(g, dtype)
        check_f32(file, name + ' grad', dtype, g, g32)
    else:
        loss = fn(x.v, torch.float64)
        loss32 = fn(x.v.float(), torch.float32)
    if red == 'none':
        exp['loss'] = tensor_exp(loss, dtype)
        check_f32(file, name + ' loss', dtype, loss, loss32)
    else:
        exp['loss'] = enc_f64(loss.item())
    add(file, op, name, dtype, x, exp, target, opts)


def out_case(file, op, name, dtype, x, fn, target=None, options=None):
    """A per-element method: fn(dtype) -> output tensor."""
    r = fn(torch.float64)
    check_f32(file, name, dtype, r, fn(torch.float32))
    add(file, op, name, dtype, x, {'output': tensor_exp(r, dtype)}, target, options)


def tw(w, dt):
    """A float32 weight as a torch tensor of dt."""
    return None if w is None else torch.from_numpy(np.asarray(f32(w), dtype=np.float64)).to(dt)


def class_targets(C, shape, ignore=None, frac=0.0):
    t = rs.randint(0, C, size=shape).astype(np.int64)
    if ignore is not None and frac > 0:
        m = rs.uniform(size=shape) < frac
        flat = m.reshape(-1)
        if flat.size > 1 and not flat.any():
            flat[0] = True
        if flat.size > 1 and flat.all():
            flat[-1] = False
        t = np.where(m, ignore, t)
    return t


def prob_targets(dtype, shape, cdim):
    """Probabilities along cdim, rounded to dtype (so rows sum to 1 only within the dtype's rounding)."""
    z = torch.from_numpy(rs.standard_normal(shape) * 1.5).softmax(cdim)
    return h(z, dtype)


def upstream(dtype, shape, scale=1.5):
    return randn(dtype, *shape, scale=scale)


# ----------------------------------------------------------------------------- softmax, logSoftmax, entropy, sigmoid

DIM_SHAPES = [
    ('(5) dim=default', (5,), None),
    ('(4,7) dim=default', (4, 7), None),
    ('(4,7) dim=0', (4, 7), 0),
    ('(3,4,5) dim=1', (3, 4, 5), 1),
    ('(2,3,4) dim=-1', (2, 3, 4), -1),
    ('(2,300) dim=default', (2, 300), None),
]


def dim_opts(dim):
    return {} if dim is None else {'dim': dim}


def entropy_t(x, dim):
    """Categorical(logits).entropy() along dim, of the logits less their row max: the same value mathematically, but
    torch's own normalisation (logits − logsumexp) loses the log-sum to rounding when the logits are ~1e30 (float64
    then gives 0 for two tied maxima instead of ln 2). The subtraction is exact for half values of one row."""
    t = x if x.dim() > 0 else x.reshape(1)
    t = t.movedim(dim, -1)
    m = t.amax(-1, keepdim=True)
    t = t - torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    return torch.distributions.Categorical(logits=t, validate_args=False).entropy()


def rows(dtype, x, dim, name, entropy_reds=(None, 'mean', 'sum')):
    d = -1 if dim is None else dim
    for op, f in [('softmax', torch.softmax), ('logSoftmax', torch.log_softmax)]:
        out_case(op, op, name, dtype, x, lambda dt: f(x.v.to(dt), d), options=dim_opts(dim))
    for red in entropy_reds:
        opts = dim_opts(dim)
        if red is not None:
            opts['reduction'] = red
        rname = f'{name} reduction={red or "none(default)"}'
        if red is None or red == 'none':
            out_case('entropy', 'entropy', rname, dtype, x, lambda dt: entropy_t(x.v.to(dt), d), options=opts)
        else:
            e = entropy_t(x.v, d)
            add('entropy', 'entropy', rname, dtype, x, {'loss': enc_f64((e.mean() if red == 'mean' else e.sum()).item())}, options=opts)


def gen_rows(dtype):
    for name, shape, dim in DIM_SHAPES:
        rows(dtype, randn(dtype, *shape, scale=2.5), dim, name)
    # -inf logits (a whole row of them: NaN, as in torch), a NaN, +inf
    x = randn(dtype, 4, 6)
    x = with_bits(x, [2, 6, 7, 8, 9, 10, 18, 23], sp(dtype, *['ninf'] * 8))
    rows(dtype, x, None, '-inf logits', entropy_reds=('none', 'mean'))
    x2 = with_bits(x, range(12, 18), sp(dtype, *['ninf'] * 6))
    rows(dtype, x2, None, 'a row of -inf (NaN)', entropy_reds=('none',))
    x = with_bits(randn(dtype, 3, 4), [6], sp(dtype, 'nanPayload'))
    rows(dtype, x, None, 'NaN logit (a payload NaN)', entropy_reds=('none',))
    x = with_bits(randn(dtype, 3, 4), [1, 9], sp(dtype, 'inf', 'negNan'))
    for op, f in [('softmax', torch.softmax), ('logSoftmax', torch.log_softmax)]:
        out_case(op, op, '+inf logit and a negative NaN', dtype, x, lambda dt: f(x.v.to(dt), -1))
    # subnormal and signed-zero inputs, the largest finite values
    x = with_bits(randn(dtype, 3, 5), [0, 1, 2, 3, 4, 7], sp(dtype, 'sub1', 'subNeg', 'subMax', 'negZero', 'sub1', 'negZero'))
    if dtype == 'float16':  # float16 subnormals are float32 normals; bfloat16 ones would be float32 denormals
        rows(dtype, x, None, 'subnormal and -0 logits', entropy_reds=('none', 'sum'))
    x = with_bits(randn(dtype, 2, 5), [0, 1, 5, 6], sp(dtype, 'max', 'nmax', 'nmax', 'max'))
    for op, f in [('softmax', torch.softmax), ('logSoftmax', torch.log_softmax)]:
        out_case(op, op, 'largest finite logits', dtype, x, lambda dt: f(x.v.to(dt), -1))
    # logits near the top of the dtype's range in every element (softmax of a shifted row)
    big = 60000.0 if dtype == 'float16' else 1e30
    x = h(rs.uniform(-1, 1, (3, 8)) * (1 if dtype == 'float16' else 1e28) + big, dtype)
    rows(dtype, x, None, 'logits near the top of the range', entropy_reds=('none',))
    # a rank-0 input
    x = h(np.array(1.5), dtype)
    for op, f in [('softmax', torch.softmax), ('logSoftmax', torch.log_softmax)]:
        out_case(op, op, 'rank 0', dtype, x, lambda dt: f(x.v.to(dt), 0))


def gen_sigmoid(dtype):
    for name, shape in [('(7)', (7,)), ('(3,4)', (3, 4)), ('(2,3,4)', (2, 3, 4)), ('(20,20)', (20, 20))]:
        x = randn(dtype, *shape, scale=5)
        out_case('sigmoid', 'sigmoid', name, dtype, x, lambda dt: torch.sigmoid(x.v.to(dt)))
    vals = [30, -30, 17, -17, 11, -11, 5.5, 0.25, 0, 1e-3]
    x = h(np.array(vals), dtype)
    x = with_bits(H(np.concatenate([x.bits, np.zeros(10, dtype=np.uint16)]), dtype), range(10, 20),
                  sp(dtype, 'inf', 'ninf', 'nan', 'negNan', 'nanPayload', 'negZero', 'max', 'nmax', 'subMax', 'subNeg'))
    out_case('sigmoid', 'sigmoid', 'extreme, infinite, NaN and subnormal', dtype, x, lambda dt: torch.sigmoid(x.v.to(dt)))


# ----------------------------------------------------------------------------- softmaxBackward / logSoftmaxBackward

BWD_SHAPES = [
    ('(6) dim=default', (6,), None),
    ('(4,7) dim=default', (4, 7), None),
    ('(4,7) dim=0', (4, 7), 0),
    ('(3,4,5) dim=1', (3, 4, 5), 1),
    ('(2,100) dim=default', (2, 100), None),
]


def backward(dtype, xv, dim, name, dy=None):
    """y = softmax / log_softmax of xv rounded to dtype; dy half; torch's backward of the decoded y, dy."""
    d = -1 if dim is None else dim
    dd = d if xv.dim() > 0 else 0
    for op, fwd, back in [('softmaxBackward', torch.softmax, torch._softmax_backward_data),
                          ('logSoftmaxBackward', torch.log_softmax, torch._log_softmax_backward_data)]:
        y = h(fwd(xv, d), dtype)
        g = upstream(dtype, y.shape) if dy is None else dy
        out_case(op, op, name, dtype, y, lambda dt: back(g.v.to(dt), y.v.to(dt), dd, dt), target={**g.tjson(), 'asTensor': True},
                 options=dim_opts(dim))


def gen_backward(dtype):
    for name, shape, dim in BWD_SHAPES:
        backward(dtype, torch.from_numpy(rs.standard_normal(shape) * 2.5), dim, name)
    x = torch.from_numpy(rs.standard_normal((4, 6)))
    x[0, 2] = -INF
    x[3, 0] = -INF
    backward(dtype, x, None, '-inf logits (y = 0 / -inf)')
    x = torch.from_numpy(rs.standard_normal((3, 4)))
    dy = with_bits(upstream(dtype, (3, 4)), [6], sp(dtype, 'nan'))
    backward(dtype, x, None, 'NaN in dy', dy=dy)


# ----------------------------------------------------------------------------- crossEntropy (index and probability targets)

def ce_t(x, tt, index, dt, weight=None, ignore=None, eps=None, red='mean', z=None, cap=None, gamma=None):
    """crossEntropy with zLoss / softcap / focalGamma (scripts/torch-fixtures-losses.py's ce_ext_torch) in dtype dt."""
    cd = cdim_of(tuple(x.shape))
    ign = -100 if ignore is None else ignore
    y = cap * torch.tanh(x / cap) if cap is not None else x
    W = tw(weight, dt)
    mask = (tt != ign) if index else None
    if gamma is None:
        base = F.cross_entropy(y, tt, weight=W, ignore_index=ign, reduction=red, label_smoothing=0.0 if eps is None else eps)
    else:
        ts = torch.where(mask, tt, torch.zeros_like(tt))
        lpt = F.log_softmax(y, cd).gather(cd, ts.unsqueeze(cd)).squeeze(cd)
        q = -torch.expm1(lpt)
        wt = W[ts] if W is not None else torch.ones_like(lpt)
        lf = torch.where(mask, -wt * q.pow(gamma) * lpt, torch.zeros_like(lpt))
        base = lf if red == 'none' else lf.sum() if red == 'sum' else lf.sum() / torch.where(mask, wt, torch.zeros_like(wt)).sum()
    if z is None:
        return base
    zz = z * torch.logsumexp(y, cd) ** 2
    if index:
        zz = torch.where(mask, zz, torch.zeros_like(zz))
        count = mask.sum()
    else:
        count = zz.numel()
    return base + zz if red == 'none' else base + zz.sum() if red == 'sum' else base + zz.sum() / count


CE_K = [0]


def ce(dtype, x, t, name, red=None, grad=True, index=True, go='auto', tdtype=None, as_tensor=None, **kw):
    """A crossEntropy case: t is class indices (numpy ints) or an H of probabilities (or float32 numpy)."""
    CE_K[0] += 1
    k = CE_K[0]
    lshape = tshape_of(x.shape)
    if isinstance(go, str):
        go = upstream(dtype, lshape) if grad and red == 'none' and k % 3 != 2 else None
    opts = {}
    if kw.get('weight') is not None:
        opts['weight'] = [enc_f32(v) for v in f32(kw['weight'])]
    for key, opt in [('ignore', 'ignoreIndex'), ('eps', 'labelSmoothing'), ('z', 'zLoss'), ('cap', 'softcap'), ('gamma', 'focalGamma')]:
        if kw.get(key) is not None:
            opts[opt] = kw[key]
    if index:
        tdtype = tdtype or ('int64' if k % 2 == 0 else 'int32')
        target = index_json(t, tdtype, k % 4 < 2 if as_tensor is None else as_tensor)
        tt = torch.from_numpy(np.asarray(t, dtype=np.int64))
        fn = lambda xt, dt: ce_t(xt, tt, True, dt, red=red_arg(red), **kw)  # noqa: E731
    elif isinstance(t, H):
        target = {**t.tjson(), 'asTensor': True}
        fn = lambda xt, dt: ce_t(xt, t.v.to(dt), False, dt, red=red_arg(red), **kw)  # noqa: E731
    else:
        target = f32_target_json(t, k % 2 == 0)
        t64 = torch.from_numpy(np.asarray(f32(t), dtype=np.float64))
        fn = lambda xt, dt: ce_t(xt, t64.to(dt), False, dt, red=red_arg(red), **kw)  # noqa: E731
    gname = '' if red != 'none' or not grad else (' gradOutput' if go is not None else ' gradOutput=ones')
    loss_case('crossEntropy', 'crossEntropy', f'{name} {fmt_red(red)}{gname}{"" if grad else " (no grad)"}', dtype, x, fn, red, grad=grad, go=go,
              target=target, options=opts)


SHAPES = {'(5)': (5,), '(6,5)': (6, 5), '(3,4,5)': (3, 4, 5)}
REDS = [None, 'sum', 'none']


def gen_ce(dtype):
    for sname, shape in SHAPES.items():
        C = shape[cdim_of(shape)]
        ts = tshape_of(shape)
        for red in REDS:
            x = randn(dtype, *shape, scale=2.0)
            w = rs.uniform(0.2, 2.0, C)
            t = class_targets(C, ts)
            # (5): a scalar target, ignored, except under 'mean' (all ignored: see the docstring)
            ti = class_targets(C, ts, ignore=-100, frac=0.3) if len(shape) > 1 else np.array(-100) if red is not None else t
            ig = 'ignored(-100)' if len(shape) > 1 or red is not None else 'ignoreIndex=-100 (not ignored)'
            ce(dtype, x, t, f'index {sname}', red=red)
            ce(dtype, x, t, f'index {sname}', red=red, grad=False)
            ce(dtype, x, ti, f'index {sname} {ig} weight', red=red, weight=w)
            ce(dtype, x, t, f'index {sname} labelSmoothing=0.1 weight', red=red, weight=w, eps=0.1)
            ce(dtype, x, ti, f'index {sname} {ig} labelSmoothing=0.2', red=red, eps=0.2)
            ce(dtype, x, ti, f'index {sname} {ig} zLoss=0.05 softcap=3', red=red, z=0.05, cap=3.0)
            ce(dtype, x, t, f'index {sname} focalGamma=2 weight', red=red, gamma=2, weight=w)
            pt = prob_targets(dtype, shape, cdim_of(shape))
            ce(dtype, x, pt, f'prob {sname}', red=red, index=False)
            ce(dtype, x, pt, f'prob {sname}', red=red, index=False, grad=False)
            ce(dtype, x, pt, f'prob {sname} labelSmoothing=0.15 weight', red=red, index=False, eps=0.15, weight=w)
            ce(dtype, x, pt, f'prob {sname} zLoss=0.02 softcap=5', red=red, index=False, z=0.02, cap=5.0)
    # ignoreIndex a valid class, and -1; int64 targets of both forms
    x = randn(dtype, 8, 5, scale=2.0)
    t = class_targets(5, (8,))
    t[[1, 4]] = 2
    for red in REDS:
        ce(dtype, x, t, 'ignoreIndex=2 (a valid class) int64', red=red, ignore=2, tdtype='int64')
        t2 = t.copy()
        t2[[0, 5]] = -1
        ce(dtype, x, t2, 'ignoreIndex=-1 int64 tensor', red=red, ignore=-1, tdtype='int64', as_tensor=True)
        ce(dtype, x, t2, 'ignoreIndex=-1 int64 bare', red=red, ignore=-1, tdtype='int64', as_tensor=False)
    # a float32 target and a float32 gradOutput with a half input
    pt = f32(prob_targets(dtype, (4, 6), 1).v.numpy())
    x = randn(dtype, 4, 6, scale=2.0)
    for red in REDS:
        ce(dtype, x, pt, 'prob float32 target (half input)', red=red, index=False)
    ce(dtype, x, class_targets(6, (4,)), 'index float32 gradOutput (half input)', red='none',
       go=f32(rs.standard_normal(4)))
    # -inf logits (probability 0), a -inf target logit (+inf loss; no gradient)
    x = with_bits(randn(dtype, 4, 6, scale=2.0), [0, 7, 8, 20], sp(dtype, 'ninf', 'ninf', 'ninf', 'ninf'))
    t = np.array([1, 3, 5, 2])
    for red in REDS:
        ce(dtype, x, t, '-inf logits', red=red)
    ce(dtype, x, np.array([0, 3, 5, 2]), 'a -inf target logit', red='none', grad=False)
    ce(dtype, x, np.array([0, 3, 5, 2]), 'a -inf target logit', red='sum', grad=False)
    # logits of large magnitude for the dtype, softcap in its regime
    x = h(rs.uniform(-200, 200, (8, 6)), dtype)
    t = class_targets(6, (8,))
    for red in REDS:
        ce(dtype, x, t, 'large |x| <= 200 softcap=30 zLoss=1e-4', red=red, cap=30.0, z=1e-4)
    # subnormal half logits (float16 only: see the docstring)
    if dtype == 'float16':
        x = with_bits(randn(dtype, 3, 4), [0, 1, 5, 10], sp(dtype, 'sub1', 'subNeg', 'subMax', 'negZero'))
        for red in REDS:
            ce(dtype, x, np.array([0, 1, 2]), 'subnormal and -0 logits', red=red)
    # a wider row
    x = randn(dtype, 4, 1000, scale=3.0)
    t = class_targets(1000, (4,))
    ce(dtype, x, t, '(4,1000) labelSmoothing=0.1', eps=0.1)
    ce(dtype, x, t, '(4,1000)', red='none', go=None)


def gen_ce_large():
    """One bfloat16 8 x 128256 (Llama 3's vocabulary) crossEntropy with its gradient, int64 labels, a row ignored."""
    dtype = 'bfloat16'
    N, V = 8, 128256
    x = randn(dtype, N, V, scale=2.0)
    t = class_targets(V, (N,))
    t[5] = -100
    tt = torch.from_numpy(t)
    loss, g = grad_of(lambda xt: F.cross_entropy(xt, tt), x.v, 'mean', None)
    loss32, g32 = grad_of(lambda xt: F.cross_entropy(xt, tt), x.v.float(), 'mean', None)
    check_f32('crossEntropyLargeVocab', 'large', dtype, g, g32)
    sample = sorted(set([i * V + int(t[i]) for i in range(N) if t[i] >= 0]) | set(rs.choice(N * V, 2048, replace=False).tolist()))
    add('crossEntropyLargeVocab', 'crossEntropy', 'vocab (8,128256) int64 targets ignored(-100) mean(default)', dtype, x,
        {'loss': enc_f64(loss.item()), 'grad': tensor_exp(g, dtype, big=True, sample=sample)},
        target=index_json(t, 'int64', False), options={'grad': True})


# ----------------------------------------------------------------------------- nllLoss

def gen_nll(dtype):
    k = 0
    for sname, shape in SHAPES.items():
        C = shape[cdim_of(shape)]
        ts = tshape_of(shape)
        for red in REDS:
            for grad in [True, False]:
                k += 1
                x = h(torch.log_softmax(torch.from_numpy(rs.standard_normal(shape) * 2), cdim_of(shape)), dtype)
                w = rs.uniform(0.2, 2.0, C)
                t = class_targets(C, ts, ignore=-100, frac=0.3) if len(shape) > 1 and k % 2 else class_targets(C, ts)
                tdt = 'int64' if k % 2 == 0 else 'int32'
                tt = torch.from_numpy(np.asarray(t, dtype=np.int64))
                go = upstream(dtype, ts) if grad and red == 'none' else None
                for wname, ww in [('', None), (' weight', w)]:
                    opts = {} if ww is None else {'weight': [enc_f32(v) for v in f32(ww)]}
                    loss_case('nllLoss', 'nllLoss', f'{sname} {tdt}{wname} {fmt_red(red)}{"" if grad else " (no grad)"}', dtype, x,
                              lambda xt, dt: F.nll_loss(xt, tt, weight=tw(ww, dt), reduction=red_arg(red)), red, grad=grad, go=go,
                              target=index_json(t, tdt, k % 3 == 0), options=opts)
    x = h(torch.log_softmax(torch.from_numpy(rs.standard_normal((6, 4))), 1), dtype)
    t = np.array([0, 3, 3, 1, 3, 2])
    for red in REDS:
        loss_case('nllLoss', 'nllLoss', f'ignoreIndex=3 int64 {fmt_red(red)}', dtype, x,
                  lambda xt, dt: F.nll_loss(xt, torch.from_numpy(t), ignore_index=3, reduction=red_arg(red)), red,
                  target=index_json(t, 'int64', True), options={'ignoreIndex': 3})


# ----------------------------------------------------------------------------- BCE, BCE with logits, sigmoid focal, klDiv

BSHAPES = {'(7)': (7,), '(4,5)': (4, 5), '(2,3,4)': (2, 3, 4)}
WSHAPES = {'(7)': [(7,), (1,)], '(4,5)': [(5,), (4, 1)], '(2,3,4)': [(1, 3, 1), (4,)]}


def weight_json(w):
    w = f32(w)
    return {'data': [enc_f32(v) for v in w.reshape(-1)], 'shape': list(w.shape)}


def elem(file, op, name, dtype, x, t, fn, red, grad=True, options=None, go='auto', k=0):
    """An element-wise loss: fn(xt, tt, dt) with t an H (or float32 numpy)."""
    if isinstance(go, str):
        go = upstream(dtype, x.shape) if grad and red == 'none' and k % 3 != 2 else None
    if isinstance(t, H):
        target = {**t.tjson(), 'asTensor': True}
        tv = t.v
    else:
        target = f32_target_json(t, k % 2 == 0)
        tv = torch.from_numpy(np.asarray(f32(t), dtype=np.float64))
    gname = '' if red != 'none' or not grad else (' gradOutput' if go is not None else ' gradOutput=ones')
    loss_case(file, op, f'{name} {fmt_red(red)}{gname}{"" if grad else " (no grad)"}', dtype, x, lambda xt, dt: fn(xt, tv.to(dt), dt), red,
              grad=grad, go=go, target=target, options=options)


def gen_bce(dtype):
    k = 0
    for sname, shape in BSHAPES.items():
        for red in REDS:
            x = uniform(dtype, 0.01, 0.99, *shape)
            t = uniform(dtype, 0, 1, *shape)
            tb = h(rs.randint(0, 2, size=shape), dtype)
            for grad in [True, False]:
                k += 1
                elem('binaryCrossEntropy', 'binaryCrossEntropy', f'{sname} soft targets', dtype, x, t,
                     lambda xt, tt, dt: F.binary_cross_entropy(xt, tt, reduction=red_arg(red)), red, grad=grad, k=k)
            for ws in WSHAPES[sname]:
                k += 1
                w = rs.uniform(0.2, 2, ws)
                elem('binaryCrossEntropy', 'binaryCrossEntropy', f'{sname} binary targets weight{list(ws)}', dtype, x, tb,
                     lambda xt, tt, dt: F.binary_cross_entropy(xt, tt, weight=tw(w, dt), reduction=red_arg(red)), red,
                     options={'weight': weight_json(w)}, k=k)
    # inputs exactly 0 and 1 (the log clamps at -100, the gradient's 1e-12 floor) and the dtype's extremes of (0, 1)
    one_minus = 1 - 2 ** -11 if dtype == 'float16' else 1 - 2 ** -8
    x = h(np.array([0, 1, 0, 1, 0.5, 0, 1, 1e-3, one_minus, 0.25]), dtype)
    t = h(np.array([0, 1, 1, 0, 0.5, 0.3, 0.7, 1, 0, 0.5]), dtype)
    for red in REDS:
        k += 1
        elem('binaryCrossEntropy', 'binaryCrossEntropy', 'inputs 0 and 1 (clamps)', dtype, x, t,
             lambda xt, tt, dt: F.binary_cross_entropy(xt, tt, reduction=red_arg(red)), red, k=k)
    x = uniform(dtype, 0.01, 0.99, 3, 4)
    t = f32(rs.uniform(0, 1, (3, 4)))
    k += 1
    elem('binaryCrossEntropy', 'binaryCrossEntropy', 'float32 target (half input)', dtype, x, t,
         lambda xt, tt, dt: F.binary_cross_entropy(xt, tt), None, k=k)


def gen_bce_logits(dtype):
    k = 0
    for sname, shape in BSHAPES.items():
        for red in REDS:
            x = randn(dtype, *shape, scale=3.0)
            t = uniform(dtype, 0, 1, *shape)
            L = shape[-1]
            pw = rs.uniform(0.2, 3, L)
            for grad in [True, False]:
                k += 1
                elem('binaryCrossEntropyWithLogits', 'binaryCrossEntropyWithLogits', sname, dtype, x, t,
                     lambda xt, tt, dt: F.binary_cross_entropy_with_logits(xt, tt, reduction=red_arg(red)), red, grad=grad, k=k)
            k += 1
            elem('binaryCrossEntropyWithLogits', 'binaryCrossEntropyWithLogits', f'{sname} posWeight[{L}]', dtype, x, t,
                 lambda xt, tt, dt: F.binary_cross_entropy_with_logits(xt, tt, pos_weight=tw(pw, dt), reduction=red_arg(red)), red,
                 options={'posWeight': [enc_f32(v) for v in f32(pw)]}, k=k)
            ws = WSHAPES[sname][0]
            w = rs.uniform(0.2, 2, ws)
            k += 1
            elem('binaryCrossEntropyWithLogits', 'binaryCrossEntropyWithLogits', f'{sname} weight{list(ws)} posWeight[1]', dtype, x, t,
                 lambda xt, tt, dt: F.binary_cross_entropy_with_logits(xt, tt, weight=tw(w, dt), pos_weight=tw(pw[:1], dt),
                                                                       reduction=red_arg(red)), red,
                 options={'weight': weight_json(w), 'posWeight': [enc_f32(pw[0])]}, k=k)
    # extreme, subnormal and signed-zero logits
    x = h(np.array([100, -100, 30, -30, 17, -17, 0, 1e-3, 0, 0, 0, 0]), dtype)
    x = with_bits(x, [8, 9, 10, 11], sp(dtype, 'negZero', 'max', 'nmax', 'subMax'))
    t = h(np.array([0.3, 0.7, 0, 1, 0.5, 0.5, 0.5, 0.5, 1, 0.99, 0.01, 0]), dtype)  # no x = ±17 at t = 1 or 0: σ(x) − t cancels below float32's resolution
    for red in REDS:
        k += 1
        elem('binaryCrossEntropyWithLogits', 'binaryCrossEntropyWithLogits', 'extreme logits', dtype, x, t,
             lambda xt, tt, dt: F.binary_cross_entropy_with_logits(xt, tt, reduction=red_arg(red)), red, k=k)
    # NaN input and target ('none': NaN where torch has NaN)
    x = with_bits(randn(dtype, 2, 3), [1], sp(dtype, 'nan'))
    t = with_bits(uniform(dtype, 0, 1, 2, 3), [4], sp(dtype, 'nan'))
    k += 1
    elem('binaryCrossEntropyWithLogits', 'binaryCrossEntropyWithLogits', 'NaN input and target', dtype, x, t,
         lambda xt, tt, dt: F.binary_cross_entropy_with_logits(xt, tt, reduction='none'), 'none', grad=False, k=k)


def sigmoid_focal_t(inputs, targets, alpha, gamma, reduction):
    """torchvision.ops.sigmoid_focal_loss (scripts/torch-fixtures-losses.py restates it)."""
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction='none')
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    return loss.mean() if reduction == 'mean' else loss.sum() if reduction == 'sum' else loss


def gen_sigmoid_focal(dtype):
    k = 0
    for sname, shape in BSHAPES.items():
        for red in REDS:
            x = randn(dtype, *shape, scale=3.0)
            tb = h(rs.randint(0, 2, size=shape), dtype)
            ts = uniform(dtype, 0, 1, *shape)
            for tname, t in [('binary targets', tb), ('soft targets', ts)]:
                for alpha, gamma in [(None, None), (0.6, 0), (-1, 5)]:
                    k += 1
                    opts = {}
                    if alpha is not None:
                        opts['alpha'] = alpha
                    if gamma is not None:
                        opts['gamma'] = gamma
                    a = 0.25 if alpha is None else alpha
                    g = 2.0 if gamma is None else gamma
                    oname = 'defaults' if alpha is None else f'alpha={alpha} gamma={gamma}'
                    elem('sigmoidFocalLoss', 'sigmoidFocalLoss', f'{sname} {tname} {oname}', dtype, x, t,
                         lambda xt, tt, dt: sigmoid_focal_t(xt, tt, a, g, red_arg(red)), red, grad=k % 5 != 0, options=opts, k=k)


def gen_kl(dtype):
    k = 0
    for sname, shape in BSHAPES.items():
        cd = cdim_of(shape)
        for red in [None, 'sum', 'none', 'batchmean']:
            x = h(torch.log_softmax(torch.from_numpy(rs.standard_normal(shape) * 2), cd), dtype)
            p = prob_targets(dtype, shape, cd)
            lp = h(torch.log_softmax(torch.from_numpy(rs.standard_normal(shape) * 2), cd), dtype)
            for grad in [True, False]:
                k += 1
                elem('klDiv', 'klDiv', f'{sname} probability targets', dtype, x, p,
                     lambda xt, tt, dt: F.kl_div(xt, tt, reduction=red_arg(red)), red, grad=grad, k=k)
            k += 1
            elem('klDiv', 'klDiv', f'{sname} logTarget', dtype, x, lp,
                 lambda xt, tt, dt: F.kl_div(xt, tt, reduction=red_arg(red), log_target=True), red, options={'logTarget': True}, k=k)
    # zero targets (contribute 0), -inf log targets
    x = h(np.array([-1.0, -2, -0.5, -3, -0.1, -4]), dtype)
    p = h(np.array([0.5, 0, 0.25, 0, 0.25, 0]), dtype)
    lp = with_bits(h(np.array([-0.7, 0, -1.4, 0, -1.4, 0]), dtype), [1, 3, 5], sp(dtype, 'ninf', 'ninf', 'ninf'))
    for red in [None, 'none', 'batchmean']:
        k += 1
        elem('klDiv', 'klDiv', 'zero targets', dtype, x, p, lambda xt, tt, dt: F.kl_div(xt, tt, reduction=red_arg(red)), red, k=k)
        k += 1
        elem('klDiv', 'klDiv', '-inf log targets', dtype, x, lp,
             lambda xt, tt, dt: F.kl_div(xt, tt, reduction=red_arg(red), log_target=True), red, options={'logTarget': True}, k=k)


def main():
    for dtype in DTYPES:
        gen_rows(dtype)
        gen_sigmoid(dtype)
        gen_backward(dtype)
        gen_ce(dtype)
        gen_nll(dtype)
        gen_bce(dtype)
        gen_bce_logits(dtype)
        gen_sigmoid_focal(dtype)
        gen_kl(dtype)
    gen_ce_large()
    bad = [w for w in F32_WORST if w[0] > 1]
    for d, file, name in bad:
        print(f'{file} {name}: torch float32 rounded to the dtype is {d} half ulps from the float64 result rounded', file=sys.stderr)
    dist = {}
    for d, _, _ in F32_WORST:
        dist[d] = dist.get(d, 0) + 1
    print(f'float32 rerun, worst half-ulp distance per tensor: {dict(sorted(dist.items()))}', file=sys.stderr)
    write_cases(OUT, FILES, SEED)
    if bad:
        sys.exit(f'{len(bad)} tensors are not within one half ulp in float32: see above')


if __name__ == '__main__':
    main()
