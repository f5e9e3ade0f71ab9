/** BCE weight broadcasting (test/broadcast.ts) on the CPU backend. */
import { createLosses } from '../../src/index.js';
import { broadcastSuite } from '../broadcast.js';
import { baseSeed } from '../rng.js';

broadcastSuite(() => createLosses({ backend: 'cpu' }), baseSeed(), 2e-5);
