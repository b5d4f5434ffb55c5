// Flat config: the TypeScript recommended rules, without type information (fast enough for every `npm test`).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'migrations/**', '.intentmail/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', Buffer: 'readonly', console: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: 'TSEnumDeclaration', message: 'Enums are not erasable; use a union of string literals.' }],
    },
  },
  {
    // The core never imports a runtime: adapters translate into ports (see src/core/ports.ts).
    files: ['src/core/**', 'src/policy/**', 'src/access/**', 'src/audit/**', 'src/pipeline/**', 'src/auth/**', 'src/message/**'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ['smtp-server', 'node:net', 'net', 'node:fs', 'fs', 'node:fs/promises', 'fs/promises', 'postgres', '@electric-sql/pglite', 'node:dns', 'dns', 'node:dgram'],
        patterns: ['**/adapters/**', '**/store/**', 'drizzle-orm*'],
      }],
    },
  },
);
