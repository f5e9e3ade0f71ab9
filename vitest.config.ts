import { defineConfig } from 'vitest/config';

// Dawn (the `webgpu` package) finds a Vulkan driver through the loader; README.md, "WebGPU without a GPU".
const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
const LAVAPIPE = '/usr/share/vulkan/icd.d/lvp_icd.json';

/**
 * The GPU suites that also run on Mesa's lavapipe, the second software adapter (LLVM-compiled
 * shaders, subgroups of 8, flushed denormals, its own handling of NaN and infinities): every file of
 * test/gpu except large.test.ts, whose 300 MB inputs exercise the host-side streaming that does not
 * depend on the adapter (it runs on SwiftShader). The headless-Chromium, example and package tests
 * have their own adapter (Chromium's SwiftShader).
 */
const LAVAPIPE_FILES = ['test/gpu/*.test.ts'];
const LAVAPIPE_EXCLUDE = ['test/gpu/large.test.ts'];

export default defineConfig({
  test: {
    // Generous: two shared cores emulate the GPU (SwiftShader, lavapipe); a hang still fails, later.
    testTimeout: 600_000,
    hookTimeout: 180_000,
    // GPU tests share one device per file; keep files apart so one abort cannot hide others.
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'swiftshader',
          include: ['test/**/*.test.ts', 'bench/**/*.test.ts'],
          // WGL_ADAPTER: the harness fails unless the adapter it finds is this one.
          env: { VK_ICD_FILENAMES: SWIFTSHADER, WGL_ADAPTER: 'swiftshader' },
        },
      },
      {
        extends: true,
        test: {
          name: 'lavapipe',
          include: LAVAPIPE_FILES,
          exclude: LAVAPIPE_EXCLUDE,
          env: { VK_ICD_FILENAMES: LAVAPIPE, WGL_ADAPTER: 'llvmpipe' },
        },
      },
    ],
  },
});
