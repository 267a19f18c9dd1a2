import { defineConfig } from 'vitest/config'

// Tests run on src/ through the `source` export condition: no build needed.
const resolve = { conditions: ['source', 'import', 'node', 'default'] }

export default defineConfig({
  test: {
    projects: [
      {
        resolve,
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'tools/**/*.test.ts', 'examples/**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/dist/**', 'tools/harness/**'],
          testTimeout: 30_000,
        },
      },
      {
        resolve,
        test: {
          name: 'e2e',
          // Tests that start real servers and tools (registry, skopeo, umoci, podman).
          include: ['test/**/*.test.ts', 'tools/harness/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
})
