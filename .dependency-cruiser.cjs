/**
 * The layers of src/, lowest first: a file may import its own layer and any layer below it,
 * never one above (`npm run lint` runs this). The order is written here once; each rule below
 * is generated from it and named for the arrow it forbids.
 */
const LAYERS = [
  ['errors', '^src/errors/'],
  ['foundation', '^src/(util|config|log|metrics)/'],
  ['infrastructure', '^src/(db|redis|pubsub|rate-limit|mail|llm)/'],
  // The GraphQL glue the modules build on (context, viewer, annotations) and the assembly
  // (schema building, limits, error formatting), which takes the modules' resolvers from app.ts.
  ['graphql', '^src/graphql/'],
  ['modules', '^src/modules/'],
  ['server', '^src/server/'],
  ['composition', '^src/((app|main)\\.ts$|scripts/)'],
];

const upward = LAYERS.flatMap(([name, path], index) =>
  LAYERS.slice(index + 1).map(([above, abovePath]) => ({
    name: `no-upward-${name}-to-${above}`,
    comment: `${name} (${path}) sits below ${above} (${abovePath}): it must not import it. Layers, lowest first: ${LAYERS.map(([n]) => n).join(' < ')}.`,
    severity: 'error',
    from: { path },
    to: { path: abovePath },
  })),
);

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...upward,
    {
      name: 'no-circular',
      comment: 'A cycle hides which file depends on which.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'src-never-imports-tests-or-scripts',
      comment: 'The server never depends on tests, benchmarks or command-line scripts.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench|scripts)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    exclude: { path: '^(dist|dist-bench|node_modules)/' },
  },
};
