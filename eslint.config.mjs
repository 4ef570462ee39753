import js from '@eslint/js';
import importPlugin from 'eslint-plugin-import';
import tseslint from 'typescript-eslint';

/**
 * The layers of the library, lowest first. A folder may import from the folders before it, never from one
 * after it (`import/no-restricted-paths`); `lib/index.ts`, the library's API, does not reach into the charts.
 */
export const LAYERS = ['lib/core', 'lib/codec', 'lib/tls', 'lib/authorizer', 'lib/temporal', 'lib/network', 'charts'];

const layerZones = LAYERS.map((target, i) => ({
  target: `./${target}`,
  from: [...LAYERS.slice(i + 1).map((above) => `./${above}`), './lib/index.ts', './index.ts', './main.ts', './test', './bench',
    './scripts', './services', './stacks'],
  message: `${target} sits below ${LAYERS.slice(i + 1).join(', ') || 'nothing'} (and imports neither the package entry points ` +
    'nor tests): move the shared piece down a layer, or pass it in.',
}));

export default tseslint.config(
  { ignores: ['node_modules/**', 'build/**', 'dist/**', 'imports/**', 'coverage/**', '.e2e/**', '.stryker-tmp*/**', 'reports/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { import: importPlugin },
    settings: { 'import/resolver': { node: { extensions: ['.ts', '.js', '.d.ts'] } } },
    rules: {
      'max-len': ['error', { code: 140, ignoreUrls: true, ignoreStrings: true, ignoreTemplateLiterals: true }],
      'quotes': ['error', 'single', { avoidEscape: true }],
      'semi': ['error', 'always'],
      'comma-dangle': ['error', 'always-multiline'],
      'indent': ['error', 2, { SwitchCase: 1, ignoredNodes: ['TemplateLiteral *'] }],
      'no-new': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'import/no-restricted-paths': ['error', {
        zones: [
          ...layerZones,
          { target: './lib/index.ts', from: './charts', message: 'the library API does not reach into the charts: index.ts adds them' },
          // Programs that run in containers import only the library's pure modules (bundled, without cdk8s).
          ...['./lib/tls', './lib/temporal', './lib/network', './charts', './lib/index.ts', './index.ts'].map((from) => ({
            target: './services', from, message: 'services import only pure modules of lib/ (core errors and names, the authorizer policy)',
          })),
          { target: './services', from: './lib/core', except: ['./errors.ts', './names.ts'],
            message: 'services import only pure modules of lib/core (errors, names)' },
          { target: './services', from: './lib/authorizer', except: ['./api.ts', './api-keys.ts', './policy.ts', './proxy-env.ts'],
            message: 'services import only the pure modules of lib/authorizer (api.ts, api-keys.ts, policy.ts, proxy-env.ts)' },
        ],
      }],
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly', __dirname: 'readonly', process: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { sourceType: 'module', globals: { process: 'readonly' } },
  },
);
