import { defineConfig } from 'vitest/config'

// Tests run on src/ through the `source` export condition: no build needed. Vitest runs test
// files as SSR modules, whose imports of workspace packages resolve with `ssr.resolve`, not with
// `resolve`: without both, `@modelcar/core` imported from another package would load dist/.
const conditions = ['source', 'import', 'node', 'default']
const resolve = { conditions }
const ssr = { resolve: { conditions, externalConditions: ['source'] } }

export default defineConfig({
  test: {
    projects: [
      {
        resolve,
        ssr,
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'tools/**/*.test.ts', 'examples/**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/dist/**', 'tools/harness/**'],
          testTimeout: 30_000,
        },
      },
      {
        resolve,
        ssr,
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
