// ESLint (flat config): TypeScript rules for src/, formatting left to prettier.
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  // src/wire.ts is generated from docs/openapi.json (jlpm contract:generate).
  { ignores: ['lib/', 'labextension/', 'node_modules/', 'ui-tests/', '*.js', '*.mjs', 'src/wire.ts'] },
  ...tseslint.configs.recommended,
  {
    files: ['src/**/*.{ts,tsx}'],
    languageOptions: {
      parserOptions: { project: './tsconfig.json' }
    },
    rules: {
      '@typescript-eslint/naming-convention': [
        'error',
        {
          selector: 'interface',
          format: ['PascalCase'],
          custom: { regex: '^I[A-Z]', match: true }
        }
      ],
      '@typescript-eslint/no-unused-vars': ['error', { args: 'none' }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-namespace': 'off',
      eqeqeq: 'error',
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[property.name='innerHTML']",
          message: 'Render run data as text (textContent), never as HTML.'
        },
        {
          selector: "JSXAttribute[name.name='dangerouslySetInnerHTML']",
          message: 'Render run data as text, never as HTML.'
        }
      ],
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'vega-embed',
              message: 'Only views/chart/MetricChart.tsx draws charts.'
            }
          ]
        }
      ]
    }
  },
  {
    // Views render props: they never talk HTTP (only api.ts does, through models).
    files: ['src/views/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: '@jupyterlab/services', message: 'Views never call the server.' }
          ],
          patterns: [
            {
              group: ['../../api', '../api'],
              importNames: ['TrackrunClient'],
              message: 'Views never call the client; go through a model.'
            }
          ]
        }
      ]
    }
  },
  prettier
);
