// ESLint (flat config): TypeScript rules for src/, formatting left to prettier.
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

// Imports banned everywhere in src/. A later config's rule replaces an earlier one whole
// (flat config does not merge a rule's options), so the views config below spreads these
// into its own list instead of restating, or silently dropping, them.
const BANNED_PATHS = [
  {
    name: 'vega-embed',
    message: 'Only views/chart/MetricChart.tsx draws charts.'
  }
];
const BANNED_PATTERNS = [];
// Run data is text, never HTML.
const TEXT_ONLY = [
  {
    selector: "MemberExpression[property.name='innerHTML']",
    message: 'Render run data as text (textContent), never as HTML.'
  },
  {
    selector: "JSXAttribute[name.name='dangerouslySetInnerHTML']",
    message: 'Render run data as text, never as HTML.'
  }
];
// no-restricted-imports does not see import('vega-embed'), which is how the chart loads it.
const NO_DYNAMIC_VEGA = {
  selector: "ImportExpression[source.value='vega-embed']",
  message: 'Only views/chart/MetricChart.tsx draws charts.'
};

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
      'no-restricted-syntax': ['error', ...TEXT_ONLY, NO_DYNAMIC_VEGA],
      'no-restricted-imports': [
        'error',
        { paths: BANNED_PATHS, patterns: BANNED_PATTERNS }
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
            ...BANNED_PATHS,
            { name: '@jupyterlab/services', message: 'Views never call the server.' }
          ],
          patterns: [
            ...BANNED_PATTERNS,
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
  {
    // The one chart component may use vega-embed; it keeps the views' other bans.
    files: ['src/views/chart/MetricChart.tsx'],
    rules: {
      'no-restricted-syntax': ['error', ...TEXT_ONLY],
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: '@jupyterlab/services', message: 'Views never call the server.' }
          ]
        }
      ]
    }
  },
  {
    files: ['src/**/__tests__/**/*.ts'],
    languageOptions: {
      parserOptions: { project: './tsconfig.test.json' }
    }
  },
  prettier
);
