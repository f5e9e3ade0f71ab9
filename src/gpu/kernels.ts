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

export class Kernels {
  readonly layout: GPUBindGroupLayout;
  private pipelineLayout: GPUPipelineLayout;
  private modules = new Map<string, GPUShaderModule>();
  private pipelines = new Map<string, GPUComputePipeline>();

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
