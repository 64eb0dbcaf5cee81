// GraphQL Code Generator: types for every operation in src/ from the committed SDL
// (../graphql/schema.graphql). `npm run codegen:check` fails when the generated files are stale,
// so the console and the API cannot drift silently (part of `make console-test`).
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: '../graphql/schema.graphql',
  documents: ['src/**/*.{ts,tsx}', '!src/gql/**/*'],
  ignoreNoDocuments: true,
  generates: {
    './src/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        enumsAsTypes: true,
        useTypeImports: true,
        scalars: {
          DateTime: 'string',
          UUID: 'string',
          JSON: 'unknown',
          StatsWindow: 'string',
        },
      },
    },
  },
};

export default config;
