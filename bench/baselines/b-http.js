// B-http: plain node:http answering a fixed JSON body; the floor for any HTTP server here.
const http = require('node:http');

const body = JSON.stringify({ data: { hello: 'world' } });
http
  .createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
    });
  })
  .listen(Number(process.env.PORT), process.env.HOST);
