#!/usr/bin/python3
"""The ONNX models of the interop tests (test/browser/interop.test.ts): a classifier head
logits = hidden · W + b (MatMul, then Add) with fixed seeded weights, D = 16 features, C = 10 classes
and a dynamic batch dim 'N', and its backward pass, each in a float32 and a float16 variant (every
input, weight and output of the float16 models is float16):

  test/fixtures/onnx/head-f32.onnx, head-f16.onnx
      hidden (N×D) → logits (N×C)
  test/fixtures/onnx/head-grad-f32.onnx, head-grad-f16.onnx
      hidden (N×D), dlogits (N×C) → dhidden = dlogits · Wᵀ (N×D), dW = hiddenᵀ · dlogits (D×C),
      db = Σ_n dlogits (C): MatMul with Wᵀ, Transpose + MatMul, ReduceSum over axis 0
  test/fixtures/onnx/head.json
      W (D×C, row-major) and b as decoded from the models' bytes (float64 values, the same for every
      model), and a seeded example batch, hidden (N×D) and labels (N), for a float64 reference.

Every weight and every example input is a multiple of 1/64 in [-1, 1] (1/16 in [-2, 2] for hidden):
exactly representable in float16 and float32, so the two models hold the same numbers and the
reference needs no rounding model for the inputs; only the models' arithmetic and their logits'
storage differ. Standard library only (the protobuf is written by hand, as bench/lib/onnx.mjs does);
where the `onnx` package is importable (Debian: apt-get install -y python3-onnx) the models are
checked with onnx.checker too.

Run: /usr/bin/python3 scripts/onnx-head.py
"""
import json
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'onnx')
D, C, N = 16, 10, 32
SEED = 20261111

# TensorProto.DataType
FLOAT, INT64, FLOAT16 = 1, 7, 10
# AttributeProto.AttributeType
ATTR_INT, ATTR_INTS = 2, 7


# ---------------------------------------------------------------- protobuf wire format

def varint(v):
    if v < 0:
        v += 1 << 64  # int64 two's complement
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(field, wire):
    return varint((field << 3) | wire)


def f_int(field, v):
    return key(field, 0) + varint(v)


def f_bytes(field, b):
    return key(field, 2) + varint(len(b)) + b


def f_str(field, s):
    return f_bytes(field, s.encode('utf-8'))


# ---------------------------------------------------------------- onnx.proto messages (IR 8, opset 13)

def tensor_proto(name, elem, dims, values):
    """TensorProto{dims = 1, data_type = 2, name = 8, raw_data = 9}: little-endian raw bytes."""
    fmt = {FLOAT: '<f', FLOAT16: '<e', INT64: '<q'}[elem]
    raw = b''.join(struct.pack(fmt, v) for v in values)
    return b''.join(f_int(1, d) for d in dims) + f_int(2, elem) + f_str(8, name) + f_bytes(9, raw)


def value_info(name, elem, dims):
    """ValueInfoProto{name = 1, type = 2: TypeProto{tensor_type = 1: {elem_type = 1, shape = 2}}}."""
    shape = b''.join(f_bytes(1, f_int(1, d) if isinstance(d, int) else f_str(2, d)) for d in dims)
    tensor_type = f_int(1, elem) + f_bytes(2, shape)
    return f_str(1, name) + f_bytes(2, f_bytes(1, tensor_type))


def attribute(name, value):
    """AttributeProto{name = 1, i = 3, ints = 8, type = 20}."""
    if isinstance(value, int):
        return f_str(1, name) + f_int(3, value) + f_int(20, ATTR_INT)
    return f_str(1, name) + b''.join(f_int(8, v) for v in value) + f_int(20, ATTR_INTS)


def node(op, inputs, outputs, **attrs):
    """NodeProto{input = 1, output = 2, name = 3, op_type = 4, attribute = 5}."""
    return (b''.join(f_str(1, i) for i in inputs) + b''.join(f_str(2, o) for o in outputs)
            + f_str(3, f'{op.lower()}_{outputs[0]}') + f_str(4, op)
            + b''.join(f_bytes(5, attribute(k, v)) for k, v in attrs.items()))


def model(name, nodes, initializers, inputs, outputs):
    """ModelProto{ir_version = 1, producer_name = 2, graph = 7, opset_import = 8}; GraphProto{node = 1,
    name = 2, initializer = 5, input = 11, output = 12}."""
    graph = (
        b''.join(f_bytes(1, n) for n in nodes)
        + f_str(2, name)
        + b''.join(f_bytes(5, t) for t in initializers)
        + b''.join(f_bytes(11, value_info(*i)) for i in inputs)
        + b''.join(f_bytes(12, value_info(*o)) for o in outputs)
    )
    opset = f_str(1, '') + f_int(2, 13)
    return f_int(1, 8) + f_str(2, 'webgpu-losses scripts/onnx-head.py') + f_bytes(7, graph) + f_bytes(8, opset)


def head_model(elem, W, b):
    """logits = hidden · W + b."""
    return model('head', [node('MatMul', ['hidden', 'W'], ['hW']), node('Add', ['hW', 'b'], ['logits'])],
                 [tensor_proto('W', elem, [D, C], W), tensor_proto('b', elem, [C], b)],
                 [('hidden', elem, ['N', D])], [('logits', elem, ['N', C])])


def head_grad_model(elem, W):
    """The backward pass of the head given d(loss)/d(logits): dhidden, dW and db."""
    Wt = [W[d * C + c] for c in range(C) for d in range(D)]  # C×D
    return model('head_grad', [
        node('MatMul', ['dlogits', 'Wt'], ['dhidden']),
        node('Transpose', ['hidden'], ['hiddenT'], perm=[1, 0]),
        node('MatMul', ['hiddenT', 'dlogits'], ['dW']),
        node('ReduceSum', ['dlogits', 'axis0'], ['db'], keepdims=0),
    ], [tensor_proto('Wt', elem, [C, D], Wt), tensor_proto('axis0', INT64, [1], [0])],
        [('hidden', elem, ['N', D]), ('dlogits', elem, ['N', C])],
        [('dhidden', elem, ['N', D]), ('dW', elem, [D, C]), ('db', elem, [C])])


# ---------------------------------------------------------------- seeded values

class Rng:
    """A 32-bit xorshift: the same numbers on every platform and Python version."""

    def __init__(self, seed):
        self.s = seed & 0xFFFFFFFF or 1

    def next(self):
        s = self.s
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        self.s = s
        return s

    def grid(self, lo, hi, step):
        """A uniform draw from {lo, lo + step, …, hi} (step a power of two: exact in float16)."""
        n = round((hi - lo) / step)
        return lo + (self.next() % (n + 1)) * step


def decode(values, elem):
    fmt = {FLOAT: '<f', FLOAT16: '<e'}[elem]
    return [struct.unpack(fmt, struct.pack(fmt, v))[0] for v in values]


def main():
    rng = Rng(SEED)
    W = [rng.grid(-1, 1, 1 / 64) / 2 for _ in range(D * C)]  # multiples of 1/128 in [-1/2, 1/2]
    b = [rng.grid(-1, 1, 1 / 64) for _ in range(C)]
    hidden = [rng.grid(-2, 2, 1 / 16) for _ in range(N * D)]
    labels = [rng.next() % C for _ in range(N)]
    for elem in (FLOAT, FLOAT16):  # exact in both storage types
        assert decode(W, elem) == W and decode(b, elem) == b and decode(hidden, elem) == hidden

    os.makedirs(OUT, exist_ok=True)
    files = {
        'head-f32.onnx': head_model(FLOAT, W, b), 'head-f16.onnx': head_model(FLOAT16, W, b),
        'head-grad-f32.onnx': head_grad_model(FLOAT, W), 'head-grad-f16.onnx': head_grad_model(FLOAT16, W),
    }
    for name, data in files.items():
        with open(os.path.join(OUT, name), 'wb') as f:
            f.write(data)
    meta = {
        'about': 'scripts/onnx-head.py: logits = hidden · W + b (models), dhidden = dlogits · Wᵀ, dW = hiddenᵀ · dlogits, db = Σ_n dlogits (gradModels); W is D×C row-major; every value exact in float16 and float32',
        'seed': SEED, 'D': D, 'C': C,
        'models': {'float32': 'head-f32.onnx', 'float16': 'head-f16.onnx'},
        'gradModels': {'float32': 'head-grad-f32.onnx', 'float16': 'head-grad-f16.onnx'},
        'W': W, 'b': b,
        'example': {'N': N, 'hidden': hidden, 'labels': labels},
    }
    with open(os.path.join(OUT, 'head.json'), 'w') as f:  # one key a line
        f.write('{\n' + ',\n'.join(f' {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}' for k, v in meta.items()) + '\n}\n')

    try:
        import onnx  # optional: Debian's python3-onnx
    except ImportError:
        onnx = None
    for name in files:
        path = os.path.join(OUT, name)
        if onnx is not None:
            onnx.checker.check_model(onnx.load(path), full_check=True)
        print(f'wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path)} bytes){" (onnx.checker: ok)" if onnx else ""}')
    print(f'wrote {os.path.relpath(os.path.join(OUT, "head.json"), ROOT)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
