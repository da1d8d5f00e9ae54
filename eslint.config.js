import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Folder boundaries in src/: a folder is used through its index.ts, its public surface, so that
 * what is inside may change without touching its users. Two more rules: util/ is a set of
 * independent helpers, each file its own entry; and two light files are entries of their own,
 * because the folder's index.ts loads what most runs never need:
 * - demo/wire.js, read by main.ts on every start (demo/index.js loads the simulator);
 * - pollers/labels.js, the closed label vocabularies, also used by the webhook listener in the
 *   proxy role (pollers/index.js loads every poller and the Nylas client).
 */
const FOLDER_INTERNALS = {
  regex: '^\\.{1,2}/(?!util/|demo/wire\\.js$|pollers/labels\\.js$)[^/]+/(?!index\\.js$)[^/]+$',
  message: 'Import another folder of src/ through its index.ts (export what you need from there).',
};
/** The proxy and the pollers run apart (SIDECAR_ROLE): neither may load the other. */
const folderRules = (...more) => ({
  'no-restricted-imports': ['error', { patterns: [FOLDER_INTERNALS, ...more] }],
});

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'eslint.config.js',
      'coverage/**',
      '.tmp/**',
      '.cache/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  { files: ['src/**/*.ts'], rules: folderRules() },
  {
    files: ['src/pollers/**/*.ts'],
    rules: folderRules({
      regex: '^\\.\\./proxy/',
      message: 'The pollers never import the proxy: they run without it (SIDECAR_ROLE=pollers).',
    }),
  },
  {
    files: ['src/proxy/**/*.ts'],
    rules: folderRules({
      regex: '^\\.\\./pollers/',
      message: 'The proxy never imports the pollers: it runs without them (SIDECAR_ROLE=proxy).',
    }),
  },
  {
    // Plain-JS scripts (no build step) are outside the TypeScript project: lint them untyped.
    files: ['**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly' },
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
