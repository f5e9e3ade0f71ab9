/**
 * Shader modules and the pipeline cache. A module is common.wgsl + a lanes-*.wgsl + an operands-*.wgsl +
 * the family's files, with `enable subgroups;` in front when the subgroup lanes are used; kernels are
 * specialised with `override` constants. All pipelines share one bind group layout (common.wgsl).
 */
import commonWgsl from '../../shaders/common.wgsl?raw';
import elementwiseWgsl from '../../shaders/elementwise.wgsl?raw';
import evaluateWgsl from '../../shaders/evaluate.wgsl?raw';
import halfWgsl from '../../shaders/half.wgsl?raw';
import lanesSharedWgsl from '../../shaders/lanes-shared.wgsl?raw';
import lanesSubgroupWgsl from '../../shaders/lanes-subgroup.wgsl?raw';
import f32Wgsl from '../../shaders/operand-f32.wgsl?raw';
import f32x4Wgsl from '../../shaders/operand-f32x4.wgsl?raw';
import halfOperandWgsl from '../../shaders/operand-half.wgsl?raw';
import halfx4Wgsl from '../../shaders/operand-halfx4.wgsl?raw';
import linearWgsl from '../../shaders/linear.wgsl?raw';
import packWgsl from '../../shaders/pack.wgsl?raw';
import recordsWgsl from '../../shaders/records.wgsl?raw';
import reduceWgsl from '../../shaders/reduce.wgsl?raw';
import rowsWgsl from '../../shaders/rows.wgsl?raw';
import { layoutEntries, operandAccessors, preamble } from './interface.js';
import type { Operands } from './interface.js';

export type Family = 'rows' | 'reduceRecords' | 'reduceElements' | 'elementwise' | 'pack' | 'evaluate' | 'linear';

const SOURCES: Record<Family, string[]> = {
  rows: [rowsWgsl],
  reduceRecords: [recordsWgsl, reduceWgsl],
  reduceElements: [elementwiseWgsl, reduceWgsl],
  elementwise: [elementwiseWgsl],
  pack: [packWgsl],
  evaluate: [evaluateWgsl],
  linear: [linearWgsl],
};

const TEMPLATES = { f32: f32Wgsl, f32x4: f32x4Wgsl, half: halfOperandWgsl, halfx4: halfx4Wgsl };

export type Constants = Record<string, number | boolean>;

/** Module variants: subgroup lanes (lanes-subgroup.wgsl) and the operands' dtypes and tiles. */
export interface Variant extends Operands {
  subgroups: boolean;
}

function variantKey(v: Variant): string {
  return [v.subgroups, v.vec4, v.x, v.y, v.scale, v.outBits].join(':');
}

/** Uniforms and bind groups kept for the calls that repeat them (a training loop repeats every one). */
const KEPT = 512;
const UNIFORM = 64, COPY_DST = 8, STORAGE = 128; // GPUBufferUsage values (the globals may not exist)

export class Kernels {
  readonly layout: GPUBindGroupLayout;
  private pipelineLayout: GPUPipelineLayout;
  private modules = new Map<string, GPUShaderModule>();
  private pipelines = new Map<string, GPUComputePipeline>();
  // Least recently used first (a Map keeps insertion order; a hit moves to the end).
  private uniforms = new Map<string, GPUBuffer>();
  private groups = new Map<string, GPUBindGroup>();
  private placeholders = new Map<number, GPUBuffer>();
  private mine = new WeakSet<GPUBuffer>(); // the uniforms and placeholders
  private ids = new WeakMap<GPUBuffer, number>();
  private nextId = 0;

  constructor(private device: GPUDevice) {
    this.layout = device.createBindGroupLayout({ entries: layoutEntries() });
    this.pipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [this.layout] });
  }

  private module(family: Family, v: Variant): GPUShaderModule {
    const key = `${family}:${variantKey(v)}`;
    let m = this.modules.get(key);
    if (!m) {
      const code = [
        v.subgroups ? 'enable subgroups;\n' : '',
        preamble(v),
        commonWgsl,
        halfWgsl,
        v.subgroups ? lanesSubgroupWgsl : lanesSharedWgsl,
        operandAccessors(v, TEMPLATES),
        ...SOURCES[family],
      ].join('\n');
      m = this.device.createShaderModule({ code, label: key });
      this.modules.set(key, m);
    }
    return m;
  }

  /** A uniform buffer holding `bytes`, made once per distinct content: uniforms are never written again. */
  uniform(bytes: ArrayBuffer): GPUBuffer {
    const key = String.fromCharCode(...new Uint16Array(bytes));
    let u = this.uniforms.get(key);
    if (u) this.uniforms.delete(key);
    else {
      u = this.device.createBuffer({ size: bytes.byteLength, usage: UNIFORM | COPY_DST });
      this.mine.add(u);
      this.device.queue.writeBuffer(u, 0, bytes);
    }
    this.uniforms.set(key, u);
    return u;
  }

  /** A uniform or placeholder of these kernels. */
  owns(b: GPUBuffer): boolean {
    return this.mine.has(b);
  }

  /** The bind group of `entries` (whole buffers or ranges), made once per distinct set of buffers and ranges. */
  bindGroup(entries: GPUBindGroupEntry[]): GPUBindGroup {
    let key = '';
    for (const e of entries) {
      const r = e.resource as GPUBufferBinding;
      let id = this.ids.get(r.buffer);
      if (id === undefined) this.ids.set(r.buffer, (id = this.nextId++));
      key += `${id}:${r.offset ?? 0}:${r.size ?? -1},`;
    }
    let g = this.groups.get(key);
    if (g) this.groups.delete(key);
    else g = this.device.createBindGroup({ layout: this.layout, entries });
    this.groups.set(key, g);
    return g;
  }

  /**
   * Forgets the least recently used beyond KEPT. Called between calls only: every call encodes and
   * submits without awaiting, so no unsubmitted work uses what is destroyed (submitted work may).
   */
  trim(): void {
    for (const [k, u] of this.uniforms) {
      if (this.uniforms.size <= KEPT) break;
      u.destroy();
      this.uniforms.delete(k);
    }
    for (const k of this.groups.keys()) {
      if (this.groups.size <= KEPT) break;
      this.groups.delete(k);
    }
  }

  /** What binding `binding` holds where a kernel does not use it (one per binding: writable ones may not alias). */
  placeholder(binding: number): GPUBuffer {
    let b = this.placeholders.get(binding);
    if (!b) {
      this.placeholders.set(binding, (b = this.device.createBuffer({ size: 16, usage: STORAGE })));
      this.mine.add(b);
    }
    return b;
  }

  /** Destroys the uniforms and placeholders (dispose, or a lost device). */
  destroy(): void {
    for (const u of [...this.uniforms.values(), ...this.placeholders.values()]) u.destroy();
    this.placeholders.clear();
    this.uniforms.clear();
    this.groups.clear();
  }

  /** The pipeline of `entryPoint` in `family`, specialised by `constants` (cached). */
  pipeline(family: Family, entryPoint: string, v: Variant, constants: Constants): GPUComputePipeline {
    const key = `${family}:${entryPoint}:${variantKey(v)}:${JSON.stringify(constants)}`;
    let p = this.pipelines.get(key);
    if (!p) {
      const values: Record<string, number> = {};
      for (const [k, v] of Object.entries(constants)) values[k] = typeof v === 'boolean' ? Number(v) : v;
      p = this.device.createComputePipeline({
        label: key,
        layout: this.pipelineLayout,
        compute: { module: this.module(family, v), entryPoint, constants: values },
      });
      this.pipelines.set(key, p);
    }
    return p;
  }
}
