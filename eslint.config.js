// Lint is part of `npm test`. Typed rules catch floating promises, which in a
// money system mean a write nobody waited for.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'web/dist/**', 'artifacts/**'] },
  js.configs.recommended,
  { files: ['bin/**/*.js', '*.js'], languageOptions: { globals: { process: 'readonly', console: 'readonly' } } },
  ...tseslint.configs.recommended,
  {
    // web/** is typed by web/tsconfig.json (DOM, Preact JSX), found by the project service.
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: { allowDefaultProject: ['web/vite.config.ts', 'web/build.ts'] }, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's describe/test return promises the runner itself awaits.
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'Use an `as const` object: enums are not erasable syntax.' },
        { selector: 'TSParameterProperty', message: 'Parameter properties are not erasable syntax.' },
      ],
    },
  },
  {
    // The protocol core is pure: no I/O, no clock, no ambient randomness (DESIGN §7).
    files: ['src/protocol/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['node:*', 'fs', 'path', 'http', 'https', 'net', 'child_process', 'crypto'], message: 'src/protocol is pure: pass I/O, clock and randomness in.' },
        { group: ['**/store/**', '**/ca/**', '**/bank/**', '**/payment/**', '**/merchant/**', '**/wallet/**', '**/cli/**', '**/crypto/**'], message: 'src/protocol imports nothing above it.' },
      ] }],
      'no-restricted-properties': ['error',
        { object: 'Date', property: 'now', message: 'Take `now` as a parameter.' },
        { object: 'Math', property: 'random', message: 'Take randomness as a parameter.' },
        { object: 'process', property: 'env', message: 'No env in the protocol core.' },
      ],
    },
  },
);
