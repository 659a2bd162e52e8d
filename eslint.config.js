import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'coverage/',
      '.venv/',
      'driver/target/',
      'test/spark-app/app/target/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        URL: 'readonly',
        fetch: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  {
    // The rollover logic and the contract see AWS through the ports only (src/aws/*-port.ts,
    // object-store.ts), so they run on fakes and a fake clock in tests.
    files: ['src/rollover/**/*.ts', 'src/contract/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@aws-sdk/*', '@smithy/*', '@actions/*'],
              message: 'rollover/ and contract/ see AWS and the runner through ports only.',
            },
            {
              group: ['**/aws/emr.ts', '**/aws/s3.ts', '**/aws/endpoints.ts', '**/main.ts'],
              message: 'Import the port (aws/emr-port.ts, aws/object-store.ts), not the adapter.',
            },
          ],
        },
      ],
    },
  },
)
