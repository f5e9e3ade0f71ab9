import { LossError } from '../errors.js';
import type { Backend } from '../ops.js';
import type { AdapterProfile } from '../plan.js';
import type { CreateLossesOptions } from '../types.js';

export async function createWebGpuBackend(options: CreateLossesOptions): Promise<Backend & { profile: AdapterProfile }> {
  void options;
  throw new LossError('createLosses: the webgpu backend is not available yet');
}
