/**
 * The TypeScript ↔ WGSL interface, from one source: the uniform `Params` (its WGSL struct and its
 * packing), the bind group's slots (their WGSL declarations and the layout), and the op and mode
 * codes of the registry as named WGSL constants. kernels.ts puts `preamble()` in front of every
 * shader module, so a shader names what it uses and a mismatch cannot be written.
 */
import type { FloatDtype } from '../dtype.js';
import { RowMode } from '../jobs.js';
import { ELEMENT_OPS, ROW_OPS } from '../registry.js';

type Scalar = 'u32' | 'i32' | 'f32';

/** The fields of the uniform, in order: name, type, default, what it holds. */
const PARAMS = [
  ['rows', 'u32', 0, 'rows in this chunk (row kernels) or items in all (reduce)'],
  ['C', 'u32', 0, 'classes (row length)'],
  ['inner', 'u32', 0, 'stride between classes of a row'],
  ['segment', 'u32', 0, 'elements per row segment'],
  ['splits', 'u32', 0, 'segments per row'],
  ['groupsX', 'u32', 0, 'workgroups along x of a 2-D dispatch'],
  ['xOff', 'u32', 0, 'x (and probability targets): element of the chunk start inside the binding'],
  ['tOff', 'u32', 0, 'class-index targets: same'],
  ['oOff', 'u32', 0, 'out: same'],
  ['itemBase', 'u32', 0, 'reduce / elementwise: global index of the chunk\'s first item'],
  ['blockLen', 'u32', 0, 'reduce: items per block'],
  ['firstBlock', 'u32', 0, 'reduce: global index of this dispatch\'s first block'],
  ['blocks', 'u32', 0, 'reduce: blocks in this dispatch'],
  ['wLen', 'u32', 0, 'element weights: period (broadcast from the right); 0 = none'],
  ['pwLen', 'u32', 0, 'posWeight: period; stored after the weights'],
  ['pOff', 'u32', 0, 'partial (vec4 states): index of the chunk\'s first state inside the binding'],
  ['count', 'u32', 0, 'element-wise: elements in all'],
  ['ignoreIndex', 'i32', 0, 'class index whose rows are ignored'],
  ['negInf', 'f32', -Infinity, '-inf: WGSL constants cannot hold it'],
  ['keep', 'f32', 1, '1 − label smoothing'],
  ['add', 'f32', 0, 'label smoothing / C'],
  ['eps', 'f32', 0, 'label smoothing'],
  ['gscale', 'f32', 1, 'gradients: the constant scale (GSCALE 0)'],
  ['scaleIdx', 'u32', 0, 'gradients: which reduction sum divides (GSCALE 2)'],
  ['wDiv', 'u32', 1, 'element weights: elements that share one weight'],
  ['wShift', 'u32', 0, 'element weights: added to the index before dividing'],
  ['zScaleIdx', 'u32', 0, 'gradients: which reduction sum divides the z-loss part (GSCALE_SUM)'],
  ['zLoss', 'f32', 0, 'cross-entropy: z-loss coefficient s (0 = none)'],
  ['softcap', 'f32', 0, 'cross-entropy: logit softcap c (0 = none)'],
  ['gamma', 'f32', 0, 'focal γ (cross-entropy: 0 = none; sigmoid focal: any)'],
  ['alpha', 'f32', 0, 'sigmoid focal: α (negative = no α weighting)'],
  ['bins', 'u32', 1, 'evaluator: confidence bins'],
  ['nks', 'u32', 0, 'evaluator: hits components (their k in weight)'],
  ['D', 'u32', 0, 'linear: hidden size (row length of x and y)'],
  ['ldz', 'u32', 0, 'linear: row stride of the chunk\'s logits / gradient (V)'],
  ['yOff', 'u32', 0, 'linear: y (the weight block): element of its start inside the binding'],
  ['sOff', 'u32', 0, 'linear: bias (scale binding): same'],
  ['gOff', 'u32', 0, 'linear: the gradient G (weight binding): element of the block\'s first column'],
] as const satisfies readonly (readonly [string, Scalar, number, string])[];

export type ParamName = (typeof PARAMS)[number][0];
export type Params = Partial<Record<ParamName, number>>;

/** Bytes of the uniform: 4 a field, rounded up to 16 as uniform structs are. */
export const PARAM_BYTES = Math.ceil((PARAMS.length * 4) / 16) * 16;

/** The uniform's bytes for `p`; fields left out take their defaults. */
export function packParams(p: Params): ArrayBuffer {
  const raw = new ArrayBuffer(PARAM_BYTES);
  const views = { u32: new Uint32Array(raw), i32: new Int32Array(raw), f32: new Float32Array(raw) };
  PARAMS.forEach(([name, type, fallback], i) => {
    views[type][i] = p[name] ?? fallback;
  });
  return raw;
}

/** The bind group: every slot once, by name; a kernel leaves unused ones bound to a placeholder. */
export const SLOTS = {
  params: { binding: 0, access: 'uniform' },
  x: { binding: 1, access: 'read' },        // the input (element type by operands variant)
  labels: { binding: 2, access: 'read' },   // class-index targets
  y: { binding: 3, access: 'read' },        // float targets, dy, or records to sum
  weight: { binding: 4, access: 'read' },   // class or element weights, then posWeight
  out: { binding: 5, access: 'read_write' },
  partial: { binding: 6, access: 'read_write' }, // row states (vec4)
  status: { binding: 7, access: 'read_write' },  // flags of bad device inputs
  scale: { binding: 8, access: 'read' },    // gradients: upstream gradient or sums
} as const;
export type Slot = keyof typeof SLOTS;

/** The binding numbers of the storage slots in order (1 …). */
export const STORAGE_SLOTS = (Object.keys(SLOTS) as Slot[]).filter((s) => s !== 'params');

/** What a module's bindings hold beyond the defaults: the float operands' dtypes, vec4 tiles, packed output. */
export interface Operands {
  /** x and y read in tiles of 4 (vec4 / vec2<u32> loads). */
  vec4: boolean;
  x: FloatDtype;
  y: FloatDtype;
  /** The upstream gradient ('output' scale); sums are float32. */
  scale: FloatDtype;
  /** `out` holds packed half bits (the pack family). */
  outBits: boolean;
}
export const F32_OPERANDS: Operands = { vec4: false, x: 'float32', y: 'float32', scale: 'float32', outBits: false };

const FIXED: Record<'labels' | 'weight' | 'partial' | 'status', string> = {
  labels: 'array<i32>', weight: 'array<f32>', partial: 'array<vec4<f32>>', status: 'array<atomic<u32>>',
};

/**
 * The WGSL array type of a float operand. Half operands are u32 words decoded by hand (half.wgsl),
 * also where the device has shader-f16: on lavapipe, WGSL f16 loads made cross-entropy 512×32000
 * about 2× slower than the integer decoding (and no faster at 8×128256), with the same bits.
 */
function floatArray(dtype: FloatDtype, vec4: boolean): string {
  if (dtype === 'float32') return vec4 ? 'array<vec4<f32>>' : 'array<f32>';
  return vec4 ? 'array<vec2<u32>>' : 'array<u32>';
}

function decl(slot: Slot, type: string): string {
  const { binding, access } = SLOTS[slot];
  return `@group(0) @binding(${binding}) var<storage, ${access}> ${slot}: ${type};`;
}

/** WGSL constant names: OP_SOFTMAX, OP_LOG_SOFTMAX_BACKWARD, MODE_DOT, … */
export function constName(prefix: string, name: string): string {
  return `${prefix}_${name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;
}

const MODES: Record<string, RowMode> = { plain: RowMode.Plain, dot: RowMode.Dot, entropy: RowMode.Entropy, backward: RowMode.Backward };

/** How a gradient pass scales rows or elements (the GSCALE specialisation): see GradScale in src/jobs.ts. */
export const GSCALE = { const: 0, output: 1, sum: 2 } as const;

/** What every module starts with (after `enable` directives): constants, Params, bindings. */
export function preamble(v: Operands = F32_OPERANDS): string {
  const lines = ['// Generated by src/gpu/interface.ts from the op registry: names, never numbers.'];
  for (const [op, spec] of Object.entries(ROW_OPS)) lines.push(`const ${constName('OP', op)}: u32 = ${spec.code}u;`);
  for (const [op, spec] of Object.entries(ELEMENT_OPS)) lines.push(`const ${constName('OP', op)}: u32 = ${spec.code}u;`);
  for (const [mode, code] of Object.entries(MODES)) lines.push(`const ${constName('MODE', mode)}: u32 = ${code}u;`);
  for (const [kind, code] of Object.entries(GSCALE)) lines.push(`const ${constName('GSCALE', kind)}: u32 = ${code}u;`);
  lines.push('struct Params {');
  for (const [name, type, , what] of PARAMS) lines.push(`  ${name}: ${type}, // ${what}`);
  lines.push('}');
  lines.push(`@group(0) @binding(${SLOTS.params.binding}) var<uniform> P: Params;`);
  lines.push(decl('x', floatArray(v.x, v.vec4)), decl('y', floatArray(v.y, v.vec4)), decl('scale', floatArray(v.scale, false)));
  lines.push(decl('out', v.outBits ? 'array<u32>' : 'array<f32>'));
  for (const [slot, type] of Object.entries(FIXED)) lines.push(decl(slot as Slot, type));
  return lines.join('\n') + '\n';
}

/**
 * The accessors `<name>At(i)` and `<name>Tile(i, stride, valid, fill)` of the float operands, from
 * the operand templates (`NAME` and `DECODE` filled in): every kernel reads x, y and the upstream
 * gradient through them, so one kernel source serves every dtype.
 */
export function operandAccessors(v: Operands, templates: Record<'f32' | 'f32x4' | 'half' | 'halfx4', string>): string {
  const one = (name: string, dtype: FloatDtype, vec4: boolean) => {
    const t = dtype === 'float32' ? (vec4 ? templates.f32x4 : templates.f32) : vec4 ? templates.halfx4 : templates.half;
    return t.replaceAll('NAME', name).replaceAll('DECODE', dtype === 'bfloat16' ? 'decodeBf16' : 'decodeF16');
  };
  return [one('x', v.x, v.vec4), one('y', v.y, v.vec4), one('scale', v.scale, false)].join('\n');
}

/** The bind group layout's entries, from the same slots. */
export function layoutEntries(): GPUBindGroupLayoutEntry[] {
  const COMPUTE = 4; // GPUShaderStage.COMPUTE
  return (Object.values(SLOTS) as { binding: number; access: string }[]).map(({ binding, access }) => ({
    binding, visibility: COMPUTE,
    buffer: { type: (access === 'uniform' ? 'uniform' : access === 'read' ? 'read-only-storage' : 'storage') as GPUBufferBindingType },
  }));
}
