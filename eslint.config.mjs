// ESLint (flat config): JavaScript's and typescript-eslint's recommended rules over the sources,
// tests, bench and scripts. Layout (line width 160, quotes, commas) is prettier's
// (.prettierrc.json): `npm run lint` runs both, `npm run format` rewrites with prettier.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'examples/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: { ...globals.node } },
    rules: {
      // `_name` marks a parameter or binding kept for its position or its type.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', destructuredArrayIgnorePattern: '^_' },
      ],
      // File names and lock texts are checked for control characters on purpose.
      'no-control-regex': 'off',
      // A `let` read by a callback before it is set (a timer, a handle made later) stays a `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
);
