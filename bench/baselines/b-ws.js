// B-ws: a raw `ws` server speaking just enough graphql-transport-ws to relay a token stream:
// for each subscribe it opens the same upstream chat-completion stream the subject would, and
// forwards every content chunk as a `next` frame shaped like Palaver's. No GraphQL at all.
const http = require('node:http');
const { WebSocketServer } = require('ws');

const upstream = new URL(process.env.UPSTREAM_URL);
const server = http.createServer((req, res) => res.end('ok'));
const wss = new WebSocketServer({ server, path: '/graphql', perMessageDeflate: false });

wss.on('connection', (socket) => {
  const requests = new Map();
  socket.on('message', (raw) => {
    const message = JSON.parse(String(raw));
    if (message.type === 'connection_init') return socket.send('{"type":"connection_ack"}');
    if (message.type === 'ping') return socket.send('{"type":"pong"}');
    if (message.type === 'complete') return requests.get(message.id)?.destroy();
    if (message.type !== 'subscribe') return;
    const { id } = message;
    const messageId = message.payload.variables?.messageId ?? 'm';
    if (message.payload.variables?.idle) return; // idle case: hold the subscription only
    const request = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        path: `${upstream.pathname}/chat/completions`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      },
      (response) => {
        let buffer = '';
        let seq = 0;
        response.setEncoding('utf8');
        response.on('data', (chunk) => {
          buffer += chunk;
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const line = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
            const delta = JSON.parse(line.slice(6)).choices?.[0]?.delta?.content;
            if (!delta) continue;
            seq += 1;
            socket.send(
              JSON.stringify({
                id,
                type: 'next',
                payload: { data: { messageStream: { messageId, seq, delta, done: false } } },
              }),
            );
          }
        });
        response.on('end', () => {
          socket.send(
            JSON.stringify({
              id,
              type: 'next',
              payload: {
                data: { messageStream: { messageId, seq: seq + 1, delta: '', done: true } },
              },
            }),
          );
          socket.send(JSON.stringify({ id, type: 'complete' }));
        });
      },
    );
    request.on('error', () => undefined);
    request.end(
      JSON.stringify({
        model: 'gpt-bench',
        stream: true,
        messages: [{ role: 'user', content: messageId }],
      }),
    );
    requests.set(id, request);
  });
  socket.on('close', () => requests.forEach((request) => request.destroy()));
});
server.listen(Number(process.env.PORT), process.env.HOST);
// Exit on SIGTERM through process.exit, so that --cpu-prof (BENCH_NODE_FLAGS) writes its profile.
process.on('SIGTERM', () => process.exit(0));
