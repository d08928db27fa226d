import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

/**
 * An MCP server for the tools case: one cheap tool, `add`, over Streamable HTTP on 127.0.0.1,
 * stateless (a fresh SDK server and transport per request, as the SDK wants of a stateless
 * transport; JSON answers, no SSE). It runs in the bench's own process, on the load core, so
 * what a call costs the server under test is its client's side only.
 */
export class BenchMcpServer {
  /** `add` calls answered. */
  calls = 0;
  /** TCP connections the server opened to it. */
  connections = 0;

  private constructor(private readonly server: Server) {}

  static async start(): Promise<BenchMcpServer> {
    const ref: { self?: BenchMcpServer } = {};
    const server = createServer((req, res) => {
      const mcp = new McpServer({ name: 'bench-tools', version: '1.0.0' });
      mcp.registerTool(
        'add',
        { description: 'Adds two numbers.', inputSchema: { a: z.number(), b: z.number() } },
        ({ a, b }) => {
          ref.self!.calls += 1;
          return { content: [{ type: 'text', text: String(a + b) }] };
        },
      );
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: undefined,
        enableJsonResponse: true,
      });
      res.on('close', () => {
        void transport.close();
        void mcp.close();
      });
      mcp
        .connect(transport)
        .then(() => transport.handleRequest(req, res))
        .catch(() => res.destroy());
    });
    server.on('connection', () => (ref.self!.connections += 1));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    ref.self = new BenchMcpServer(server);
    return ref.self;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/mcp`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
