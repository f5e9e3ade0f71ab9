/**
 * Shader modules and the pipeline cache. A module is common.wgsl + a lanes-*.wgsl + an operands-*.wgsl +
 * the family's files, with `enable subgroups;` in front when the subgroup lanes are used; kernels are
 * specialised with `override` constants. All pipelines share one bind group layout (common.wgsl).
 */
import commonWgsl from '../../shaders/common.wgsl?raw';
import elementwiseWgsl from '../../shaders/elementwise.wgsl?raw';
import lanesSharedWgsl from '../../shaders/lanes-shared.wgsl?raw';
import lanesSubgroupWgsl from '../../shaders/lanes-subgroup.wgsl?raw';
import recordsWgsl from '../../shaders/records.wgsl?raw';
import reduceWgsl from '../../shaders/reduce.wgsl?raw';
import rowsWgsl from '../../shaders/rows.wgsl?raw';
import operandsScalarWgsl from '../../shaders/operands-scalar.wgsl?raw';
import operandsVec4Wgsl from '../../shaders/operands-vec4.wgsl?raw';
import { layoutEntries, preamble } from './interface.js';


export type Family = 'rows' | 'reduceRecords' | 'reduceElements' | 'elementwise';

const SOURCES: Record<Family, string[]> = {
  rows: [rowsWgsl],
  reduceRecords: [recordsWgsl, reduceWgsl],
  reduceElements: [elementwiseWgsl, reduceWgsl],
  elementwise: [elementwiseWgsl],
};

export type Constants = Record<string, number | boolean>;

/** Module variants: subgroup lanes (lanes-subgroup.wgsl) and vec4 operands (operands-vec4.wgsl). */
export interface Variant {
  subgroups: boolean;
  vec4: boolean;
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
    const key = `${family}:${v.subgroups}:${v.vec4}`;
    let m = this.modules.get(key);
    if (!m) {
      const code = [
        v.subgroups ? 'enable subgroups;\n' : '',
        preamble(v.vec4),
        commonWgsl,
        v.subgroups ? lanesSubgroupWgsl : lanesSharedWgsl,
        v.vec4 ? operandsVec4Wgsl : operandsScalarWgsl,
        ...SOURCES[family],
      ].join('\n');
      m = this.device.createShaderModule({ code, label: key });
      this.modules.set(key, m);
    }
    return m;
  }

  /** The pipeline of `entryPoint` in `family`, specialised by `constants` (cached). */
  pipeline(family: Family, entryPoint: string, v: Variant, constants: Constants): GPUComputePipeline {
    const key = `${family}:${entryPoint}:${v.subgroups}:${v.vec4}:${JSON.stringify(constants)}`;
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
