/**
 * The TS ↔ WGSL interface cannot drift: every constant, Params field and binding a shader names
 * comes from src/gpu/interface.ts (generated from the registry), no shader tests an op or mode by
 * number or declares a binding itself, and every registry op has a WGSL branch.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { constName, F32_OPERANDS, packParams, PARAM_BYTES, preamble, SLOTS } from '../src/gpu/interface.js';
import { ELEMENT_OPS, ROW_OPS } from '../src/registry.js';

const DIR = fileURLToPath(new URL('../shaders/', import.meta.url));
const SHADERS = Object.fromEntries(readdirSync(DIR).filter((f) => f.endsWith('.wgsl')).map((f) => [f, readFileSync(DIR + f, 'utf8')]));
const PRE = preamble() + preamble({ ...F32_OPERANDS, vec4: true, x: 'float16', y: 'bfloat16', scale: 'float16', outBits: true });
/** Code without comments. */
const code = (s: string) => s.replace(/\/\/.*$/gm, '');

describe('the generated interface', () => {
  it('shaders never compare OP, MODE or GSCALE with a number', () => {
    for (const [f, s] of Object.entries(SHADERS)) expect(code(s), f).not.toMatch(/\b(OP|MODE|GSCALE)\s*(==|!=|<=|>=|<|>)\s*\d/);
  });
  it('every OP_/MODE_/GSCALE_ constant a shader names is generated', () => {
    for (const [f, s] of Object.entries(SHADERS)) {
      for (const [name] of code(s).matchAll(/\b(?:OP|MODE|GSCALE)_[A-Z_]+\b/g)) expect(PRE, `${f}: ${name}`).toMatch(new RegExp(`const ${name}: u32`));
    }
  });
  it('every row op and element op has a branch in its shader (a final else names its op in a comment)', () => {
    for (const op of Object.keys(ROW_OPS)) expect(SHADERS['rows.wgsl'], op).toContain(constName('OP', op));
    for (const op of Object.keys(ELEMENT_OPS)) expect(SHADERS['elementwise.wgsl'], op).toContain(constName('OP', op));
  });
  it('op codes are distinct within each family', () => {
    for (const ops of [ROW_OPS, ELEMENT_OPS]) {
      const codes = Object.values(ops).map((o) => o.code);
      expect(new Set(codes).size).toBe(codes.length);
    }
  });
  it('every P.field a shader reads is a Params field, and no shader declares the uniform or a binding', () => {
    const fields = new Set([...PRE.matchAll(/^ {2}(\w+): (?:u32|i32|f32),/gm)].map((m) => m[1]));
    for (const [f, s] of Object.entries(SHADERS)) {
      for (const [, field] of code(s).matchAll(/\bP\.(\w+)/g)) expect(fields, `${f}: P.${field}`).toContain(field);
      expect(code(s), f).not.toMatch(/@binding|struct Params/);
    }
  });
  it('Params packs at the offsets of its WGSL struct (4 bytes a field, in order)', () => {
    const fields = [...preamble().matchAll(/^ {2}(\w+): (u32|i32|f32),/gm)].map((m) => [m[1], m[2]] as const);
    expect(PARAM_BYTES).toBe(Math.ceil((fields.length * 4) / 16) * 16);
    fields.forEach(([name, type], i) => {
      const raw = packParams({ [name]: type === 'f32' ? 1.5 : 7 });
      const v = type === 'f32' ? new Float32Array(raw)[i] : type === 'i32' ? new Int32Array(raw)[i] : new Uint32Array(raw)[i];
      expect(v, name).toBe(type === 'f32' ? 1.5 : 7);
    });
  });
  it('every slot is declared once with its binding', () => {
    for (const [slot, { binding }] of Object.entries(SLOTS)) {
      const decl = slot === 'params' ? `@binding(${binding}) var<uniform> P` : `@binding(${binding}) var<storage`;
      expect(preamble(), slot).toContain(decl);
    }
  });
});
