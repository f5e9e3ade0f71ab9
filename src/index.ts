export { createLosses } from './api.js';
export { LossError } from './errors.js';
export { decodeHalf, encodeHalf } from './dtype.js';
export type * from './types.js';
