// ESLint for the whole repository (flat config). Formatting is Prettier's (`prettier --check`);
// these rules are about meaning: typescript-eslint's recommended set, plus the house rules the
// design asks for (short functions, components that never read process.env).
import js from '@eslint/js'
import prettier from 'eslint-config-prettier'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '.nx/**',
      'coverage/**',
      'tools/fixtures/out/**',
      'tools/fixtures/cache/**',
      'tools/bench/work/**',
      'test/.work/**',
      'examples/**/out/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: { ...globals.node },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // Shipped code: functions stay readable (break a long one along its seams).
    files: ['packages/*/src/**/*.ts', 'examples/*/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 100, skipBlankLines: false, skipComments: false, IIFEs: true }],
    },
  },
  {
    // Components get the environment from ctx.env, so tests inject it and a run sees one view of
    // it; only the CLI reads the process's own.
    files: ['packages/*/src/**/*.ts', 'examples/*/src/**/*.ts'],
    ignores: ['packages/cli/src/**', '**/*.test.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'components read the environment from ctx.env (the CLI passes the process environment in)',
        },
      ],
    },
  },
  prettier,
)
