import path from 'node:path';
import express, { type Router } from 'express';

/**
 * A GraphQL IDE (GraphiQL 4, the last major with a browser bundle: 5 needs a bundler, and React
 * 19 ships no UMD build, so React stays 18) served entirely from this server's own
 * node_modules, so it works with no internet access. Queries and mutations go over HTTP, subscriptions over the same
 * graphql-ws socket as any client; the Authorization header typed in the IDE's header editor is
 * sent on both (as connectionParams on the socket).
 */
/** Packages' `exports` maps hide their UMD builds, so files are found from package roots. */
const packageFile = (name: string, file: string) =>
  path.join(path.dirname(require.resolve(`${name}/package.json`)), file);

const ASSETS: Record<string, string> = {
  'react.js': packageFile('react', 'umd/react.production.min.js'),
  'react-dom.js': packageFile('react-dom', 'umd/react-dom.production.min.js'),
  'graphiql.js': packageFile('graphiql', 'graphiql.min.js'),
  'graphiql.css': packageFile('graphiql', 'graphiql.min.css'),
  'graphql-ws.js': packageFile('graphql-ws', 'umd/graphql-ws.min.js'),
};

export const IDE_ASSET_PREFIX = '/ide';

export function ideAssetsRouter(): Router {
  const router = express.Router();
  for (const [name, file] of Object.entries(ASSETS)) {
    router.get(`/${name}`, (_req, res) => {
      res.sendFile(file, { maxAge: '1d', headers: { 'X-Content-Type-Options': 'nosniff' } });
    });
  }
  router.get('/palaver-ide.js', (_req, res) => {
    res.type('application/javascript').send(IDE_SCRIPT);
  });
  return router;
}

export const IDE_HTML = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <title>Palaver GraphQL IDE</title>
  <link rel="stylesheet" href="${IDE_ASSET_PREFIX}/graphiql.css" />
  <style>html, body, #ide { height: 100%; margin: 0; }</style>
</head>
<body>
  <div id="ide">Loading the IDE…</div>
  <script src="${IDE_ASSET_PREFIX}/react.js"></script>
  <script src="${IDE_ASSET_PREFIX}/react-dom.js"></script>
  <script src="${IDE_ASSET_PREFIX}/graphiql.js"></script>
  <script src="${IDE_ASSET_PREFIX}/graphql-ws.js"></script>
  <script src="${IDE_ASSET_PREFIX}/palaver-ide.js"></script>
</body>
</html>`;

const IDE_SCRIPT = `(function () {
  var httpUrl = window.location.origin + '/graphql';
  var wsUrl = httpUrl.replace(/^http/, 'ws');
  var socket = null;
  var socketAuth = null;

  function authorizationOf(headers) {
    if (!headers) return undefined;
    for (var key in headers) {
      if (key.toLowerCase() === 'authorization') return headers[key];
    }
    return undefined;
  }

  function socketFor(authorization) {
    if (socket && socketAuth === authorization) return socket;
    if (socket) socket.dispose();
    socketAuth = authorization;
    socket = graphqlWs.createClient({
      url: wsUrl,
      connectionParams: function () { return authorization ? { authorization: authorization } : {}; },
    });
    return socket;
  }

  function isSubscription(params, opts) {
    var doc = opts && opts.documentAST;
    if (!doc) return /^\\s*subscription\\b/.test(params.query || '');
    var ops = doc.definitions.filter(function (d) { return d.kind === 'OperationDefinition'; });
    var op = params.operationName
      ? ops.filter(function (d) { return d.name && d.name.value === params.operationName; })[0]
      : ops[0];
    return !!op && op.operation === 'subscription';
  }

  function fetcher(params, opts) {
    var headers = (opts && opts.headers) || {};
    if (isSubscription(params, opts)) {
      return socketFor(authorizationOf(headers)).iterate(params);
    }
    var all = Object.assign({ 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' }, headers);
    return fetch(httpUrl, { method: 'POST', headers: all, body: JSON.stringify(params) }).then(function (r) { return r.json(); });
  }

  // A shared link carries the operation in its address (?query=…&variables=…&operationName=…):
  // open with it, and keep the address in step with the editor so that it can be shared again.
  var params = new URLSearchParams(window.location.search);
  function keepInAddress(name) {
    return function (value) {
      var next = new URLSearchParams(window.location.search);
      if (value) next.set(name, value); else next.delete(name);
      var search = next.toString();
      window.history.replaceState(null, '', window.location.pathname + (search ? '?' + search : ''));
    };
  }

  var root = ReactDOM.createRoot(document.getElementById('ide'));
  root.render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: true,
    query: params.get('query') || undefined,
    variables: params.get('variables') || undefined,
    operationName: params.get('operationName') || undefined,
    onEditQuery: keepInAddress('query'),
    onEditVariables: keepInAddress('variables'),
    onEditOperationName: keepInAddress('operationName'),
    defaultQuery: '# Welcome to Palaver. Sign in with the login mutation, then put\\n# {"Authorization": "Bearer <accessToken>"} in the Headers tab below.\\n\\nquery Providers {\\n  llmProviders { llm models defaultModel }\\n}\\n',
  }));
})();`;
