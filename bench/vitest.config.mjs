// Runs the bench page test on its own: npx vitest run --config bench/vitest.config.mjs
// (npm test picks up bench/page.test.ts through the project's vitest include).
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export default {
  root: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..'),
  test: { include: ['bench/page.test.ts'], testTimeout: 300_000, hookTimeout: 180_000 },
};
