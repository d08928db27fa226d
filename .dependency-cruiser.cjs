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
      name: 'reply-pipeline-never-imports-its-cluster-part',
      comment:
        'chat/streaming/ is the one-process reply pipeline; streaming/cluster/ (Redis) builds on it, never the other way (issue 30).',
      severity: 'error',
      from: { path: '^src/modules/chat/streaming/[^/]+$' },
      to: { path: '^src/modules/chat/streaming/cluster/' },
    },
    {
      name: 'reply-pipeline-speaks-its-own-events',
      comment:
        'chat/streaming/ speaks ReplyEvent (streaming/reply-event.ts); the GraphQL types and their mappers are applied at the edge, in the subscription resolver (issue 30).',
      severity: 'error',
      from: { path: '^src/modules/chat/streaming/' },
      to: {
        path: ['^src/modules/chat/chat\\.(types|mappers)\\.ts$', 'node_modules/type-graphql/'],
      },
    },
    {
      name: 'features-bind-their-own-models',
      comment:
        'A feature binds its models in its <name>.module.ts (the mail outbox in create-outbox.ts) and hands each service only the models it uses; nothing else binds one.',
      severity: 'error',
      from: { path: '^src/', pathNot: '(\\.module\\.ts|/create-outbox\\.ts|^src/app\\.ts)$' },
      to: { path: '^src/db/models\\.ts$' },
    },
    {
      name: 'http-transport-never-imports-the-socket-one',
      comment:
        'server/http/ and server/ws/ are two transports; server/graphql-server.ts composes them (ws may use http helpers such as client-ip.ts, the handshake being an HTTP request).',
      severity: 'error',
      from: { path: '^src/server/http/' },
      to: { path: '^src/server/ws/' },
    },
    {
      name: 'attachment-content-reads-bytes-only',
      comment:
        'modules/attachments/content/ tells what a file is and what its text is from its bytes alone: it uses the image types of llm/model-client.ts, util/ and errors/, never the database, GraphQL, a transport or the rest of the feature, so the upload route and the send both call it as it is (issue 32).',
      severity: 'error',
      from: { path: '^src/modules/attachments/content/' },
      to: {
        path: '^src/',
        pathNot: [
          '^src/modules/attachments/content/',
          '^src/llm/model-client\\.ts$',
          '^src/(util|errors)/',
        ],
      },
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
