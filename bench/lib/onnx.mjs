// A minimal ONNX model encoder (protobuf wire format, hand-written: no dependency) and the graphs
// the benchmark runs on ONNX Runtime (onnxruntime-node and onnxruntime-web).
//
// Field numbers are those of onnx/onnx.proto (IR version 8, opset 13).

const enc = new TextEncoder();

/** Protobuf writer: fields are appended as bytes; nested messages are written as length-delimited. */
class Msg {
  constructor() { this.parts = []; }
  #varint(v) {
    const out = [];
    let n = BigInt(v);
    if (n < 0n) n += 1n << 64n; // int64 two's complement
    do { let b = Number(n & 0x7fn); n >>= 7n; if (n) b |= 0x80; out.push(b); } while (n);
    this.parts.push(Uint8Array.from(out));
  }
  #key(field, wire) { this.#varint((field << 3) | wire); }
  int(field, v) { this.#key(field, 0); this.#varint(v); return this; }
  bytes(field, b) { this.#key(field, 2); this.#varint(b.length); this.parts.push(b); return this; }
  str(field, s) { return this.bytes(field, enc.encode(s)); }
  msg(field, m) { return this.bytes(field, m.finish()); }
  finish() {
    const len = this.parts.reduce((a, p) => a + p.length, 0);
    const out = new Uint8Array(len);
    let o = 0;
    for (const p of this.parts) { out.set(p, o); o += p.length; }
    return out;
  }
}

/** TensorProto.DataType */
export const FLOAT = 1, INT32 = 6, FLOAT16 = 10;

/** ValueInfoProto{name, type: TypeProto{tensor_type: {elem_type, shape{dim[dim_value | dim_param]}}}}. */
function valueInfo(name, elemType, dims) {
  const shape = new Msg();
  for (const d of dims) shape.msg(1, typeof d === 'number' ? new Msg().int(1, d) : new Msg().str(2, d));
  const tensorType = new Msg().int(1, elemType).msg(2, shape);
  return new Msg().str(1, name).msg(2, new Msg().msg(1, tensorType));
}

/** AttributeProto: INT = 2 (field i = 3), STRING = 3 (field s = 4), INTS = 7 (field ints = 8). */
function attribute(name, value) {
  const a = new Msg().str(1, name);
  if (typeof value === 'number') a.int(3, value).int(20, 2);
  else if (typeof value === 'string') a.bytes(4, enc.encode(value)).int(20, 3);
  else if (Array.isArray(value)) { for (const v of value) a.int(8, v); a.int(20, 7); }
  return a;
}

/** NodeProto{input, output, name, op_type, attribute}. */
function node(op, inputs, outputs, attrs = {}) {
  const n = new Msg();
  for (const i of inputs) n.str(1, i);
  for (const o of outputs) n.str(2, o);
  n.str(3, `${op}_${outputs[0]}`).str(4, op);
  for (const [k, v] of Object.entries(attrs)) n.msg(5, attribute(k, v));
  return n;
}

/**
 * ModelProto{ir_version = 1, producer_name = 2, graph = 7, opset_import = 8}; GraphProto{node = 1,
 * name = 2, input = 11, output = 12}. `inputs`/`outputs` are [name, elemType, dims].
 */
export function model({ nodes, inputs, outputs, opset = 13 }) {
  const g = new Msg();
  for (const n of nodes) g.msg(1, n);
  g.str(2, 'bench');
  for (const [name, t, dims] of inputs) g.msg(11, valueInfo(name, t, dims));
  for (const [name, t, dims] of outputs) g.msg(12, valueInfo(name, t, dims));
  return new Msg().int(1, 8).str(2, 'webgpu-losses-bench').msg(7, g).msg(8, new Msg().str(1, '').int(2, opset)).finish();
}

/** Cross-entropy with class-index targets, mean: LogSoftmax(axis 1) → NegativeLogLikelihoodLoss. */
export function crossEntropyModel() {
  return model({
    nodes: [
      node('LogSoftmax', ['x'], ['logp'], { axis: 1 }),
      node('NegativeLogLikelihoodLoss', ['logp', 't'], ['loss'], { reduction: 'mean' }),
    ],
    inputs: [['x', FLOAT, ['N', 'C']], ['t', INT32, ['N']]],
    outputs: [['loss', FLOAT, []]],
  });
}

/** Softmax or LogSoftmax over the last axis; input and output of `elemType` (FLOAT, or FLOAT16). */
export function rowModel(op, elemType = FLOAT) {
  return model({
    nodes: [node(op, ['x'], ['y'], { axis: -1 })],
    inputs: [['x', elemType, ['N', 'C']]],
    outputs: [['y', elemType, ['N', 'C']]],
  });
}

/** BCE with logits, mean: relu(x) − x·y + softplus(−|x|), averaged (the stable form PyTorch uses). */
export function bceWithLogitsModel() {
  return model({
    nodes: [
      node('Relu', ['x'], ['r']),
      node('Mul', ['x', 'y'], ['xy']),
      node('Sub', ['r', 'xy'], ['d']),
      node('Abs', ['x'], ['ax']),
      node('Neg', ['ax'], ['nax']),
      node('Softplus', ['nax'], ['sp']),
      node('Add', ['d', 'sp'], ['l']),
      node('ReduceMean', ['l'], ['loss'], { keepdims: 0 }),
    ],
    inputs: [['x', FLOAT, ['n']], ['y', FLOAT, ['n']]],
    outputs: [['loss', FLOAT, []]],
  });
}
