export { createLosses } from './api.js';
export { LossError } from './errors.js';
export type * from './types.js';
