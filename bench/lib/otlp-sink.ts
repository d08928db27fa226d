import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A collector that accepts whatever the subject exports to `/v1/traces` (OTLP/HTTP, protobuf)
 * and drops it, counting requests and bytes: the subject pays for making and sending its spans,
 * not for a slow collector.
 */
export class OtlpSink {
  requests = 0;
  bytes = 0;

  private constructor(private readonly server: Server) {}

  static async start(): Promise<OtlpSink> {
    const ref: { sink?: OtlpSink } = {};
    const server = createServer((req, res) => {
      req.on('data', (chunk: Buffer) => (ref.sink!.bytes += chunk.length));
      req.on('end', () => {
        ref.sink!.requests += 1;
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    ref.sink = new OtlpSink(server);
    return ref.sink;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
