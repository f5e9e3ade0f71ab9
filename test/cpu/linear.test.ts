/** linearCrossEntropy on the CPU backend (test/linear-suite.ts). */
import { createLosses } from '../../src/index.js';
import { linearSuite } from '../linear-suite.js';

linearSuite('cpu', () => createLosses({ backend: 'cpu' }), { bitwiseWithMaterialized: true });
