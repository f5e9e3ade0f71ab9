import { defineConfig } from 'vitest/config';

// Dawn (the `webgpu` package) finds a Vulkan driver through the loader; README.md, "WebGPU without a GPU".
const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
const LAVAPIPE = '/usr/share/vulkan/icd.d/lvp_icd.json';

/**
 * The GPU suites that also run on Mesa's lavapipe, the second software adapter (LLVM-compiled
 * shaders, subgroups of 8, flushed denormals, its own handling of NaN and infinities). Its shader
 * compiles are slow (seconds per pipeline), so CI runs the files that hold what differs between
 * adapters at the fewest pipelines: the PyTorch fixtures of every op (NaN, ±inf, 0 and 1 inputs
 * included), device-label flags, the hostile-input suite and the new losses against the CPU oracle
 * under every profile, and half-precision inputs (lavapipe has shader-f16). The rest of test/gpu (the five-profile oracle, gradients, hygiene, 300 MB
 * streaming) runs on lavapipe on demand: `npx vitest run --project lavapipe-all`.
 */
const LAVAPIPE_FILES = ['test/gpu/torch.test.ts', 'test/gpu/device-errors.test.ts', 'test/gpu/hostile.test.ts', 'test/gpu/losses-ext.test.ts', 'test/gpu/half.test.ts',
  // The evaluator: its accumulation once lost its compensation to lavapipe's compiler only.
  'test/gpu/evaluator.test.ts',
  // linearCrossEntropy: its own kernels (register-tiled products over the half operand templates).
  'test/gpu/linear.test.ts',
  // ONNX Runtime Web's WebGPU EP with the float16 head end to end (needs shader-f16, which SwiftShader lacks).
  'test/interop/ort-node.test.ts'];
const lavapipe = (name: string, include: string[]) => ({
  extends: true as const,
  test: { name, include, env: { VK_ICD_FILENAMES: LAVAPIPE, WGL_ADAPTER: 'llvmpipe' } },
});
const ON_DEMAND = process.argv.some((a) => a.includes('lavapipe-all'));

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
      lavapipe('lavapipe', LAVAPIPE_FILES),
      // The whole of test/gpu on lavapipe, only when asked for by name (see above).
      ...(ON_DEMAND ? [lavapipe('lavapipe-all', ['test/gpu/*.test.ts'])] : []),
    ],
  },
});
