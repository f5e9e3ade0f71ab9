import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'bench/**/*.test.ts'],
    // Dawn (the `webgpu` package) finds SwiftShader through the Vulkan loader; README.md, "WebGPU without a GPU".
    env: { VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? '/usr/lib/chromium/vk_swiftshader_icd.json' },
    // Generous: two shared cores emulate the GPU (SwiftShader, lavapipe); a hang still fails, later.
    testTimeout: 600_000,
    hookTimeout: 180_000,
    // GPU tests share one SwiftShader device per file; keep files apart so one abort cannot hide others.
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});
