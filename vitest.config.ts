import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Renderer component tests import .vue files (each picks happy-dom with a per-file comment).
  plugins: [vue()],
  test: {
    include: ['tests/**/*.test.ts'],
    // Every test file runs in its own process: tfjs keeps its kernel and gradient registries on
    // globalThis, and some tests must see the stock registries, others the corrected ones.
    pool: 'forks',
    isolate: true,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: more parallel files only thrash.
    maxWorkers: 2,
  },
});
