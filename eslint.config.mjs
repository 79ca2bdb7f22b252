// Lint: typescript-eslint (type-aware where it matters), plus the arrows between folders, enforced:
//   workflows/ → contract/, judge/ and @temporalio/workflow only (deterministic, no I/O);
//   judge/ and contract/ → nothing with side effects; activities/ and client/ never import each other;
//   render/ is pure and shared by both. Prettier owns the layout (eslint-config-prettier turns style off).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX, createNodeResolver } from 'eslint-plugin-import-x';
import prettier from 'eslint-config-prettier';

/** A folder may import from these folders only (relative imports, resolved to files). */
const zone = (target, allowed, message) => {
  const all = ['workflows', 'judge', 'contract', 'render', 'temporal', 'activities', 'worker', 'client', 'config', 'sandbox', 'test', 'bench', 'scripts'];
  return { target: `./${target}`, from: all.filter((d) => d !== target && !allowed.includes(d)).map((d) => `./${d}`), message };
};

/** Packages a deterministic folder may import: anything else could do I/O or read the clock. */
const onlyPackages = (allowed, why) => ({
  'no-restricted-imports': ['error', { patterns: [{ regex: `^(?!\\.|(${allowed.map((p) => p.replace(/[/.]/g, '\\$&')).join('|')})$)`, message: why }] }],
});

export default tseslint.config(
  { ignores: ['node_modules/', '.tools/', '.data/', 'dist/', 'coverage/', 'test/replay/histories/', 'test/replay/legacy/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.json'] })] },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    // Tests may reach across (a test harness, stub activities); the code they test may not.
    files: ['**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            zone('workflows', ['contract', 'judge'], 'workflow code is deterministic: it imports only contract/, judge/ and @temporalio/workflow'),
            zone('judge', ['contract'], 'the judge is pure: statistics and contract types only'),
            zone('contract', [], 'contract/ holds the boundary types both sides import; it imports nothing of theirs'),
            zone('render', ['contract'], 'render/ is pure and shared by client/ and activities/'),
            zone('temporal', ['config'], 'the Temporal connection depends on config only'),
            zone('activities', ['contract', 'judge', 'render', 'config'], 'activities/ must not import client/, worker/ or workflow code'),
            zone(
              'client',
              ['contract', 'render', 'config', 'temporal', 'workflows'],
              'client/ must not import activities/ or worker/ (workflows/ by type only)',
            ),
            zone('config', ['contract', 'judge'], 'config/ parses and resolves; it calls no provider or client'),
          ],
        },
      ],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: onlyPackages(['@temporalio/workflow', '@temporalio/common'], 'workflow code runs in the deterministic sandbox: no I/O, no clock, no randomness'),
  },
  {
    files: ['judge/**/*.ts', 'contract/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: onlyPackages(
      [
        '@temporalio/workflow',
        '@temporalio/common',
        '@stdlib/math-base-special-betainc',
        '@stdlib/stats-base-dists-beta-quantile',
        '@stdlib/stats-base-dists-normal-cdf',
        '@stdlib/stats-wilcoxon',
      ],
      'pure modules: no I/O, no clock',
    ),
  },
  {
    files: ['client/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/workflows', '**/workflows/**'],
              allowTypeImports: true,
              message: 'clients import workflows by type only: loading workflow code outside the sandbox is a bug',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { module: 'writable', require: 'readonly', process: 'readonly', __dirname: 'readonly', console: 'readonly' } },
  },
  prettier,
);
