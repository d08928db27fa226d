import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed documents for the tests (and the path a frontend takes): the committed SDL plus the
 * operations in test/operations, through the client preset. `npm run codegen:check` fails when
 * test/gql is stale.
 */
const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  documents: ['test/operations/**/*.graphql'],
  ignoreNoDocuments: false,
  generates: {
    'test/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: {
          DateTimeISO: { input: 'string', output: 'string' },
          JSONObject: { input: 'Record<string, unknown>', output: 'Record<string, unknown>' },
        },
      },
    },
  },
};

export default config;
