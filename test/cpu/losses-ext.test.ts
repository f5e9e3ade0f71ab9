/** The new losses' torch fixtures (test/losses-ext.ts) on the CPU backend. */
import { createLosses } from '../../src/index.js';
import { extSuite } from '../losses-ext.js';

extSuite('cpu', () => createLosses({ backend: 'cpu' }));
