import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

/** What the MCP servers of a test were asked, by tool. */
export interface McpCall {
  tool: string;
  args: Record<string, unknown>;
  headers?: Record<string, string | string[] | undefined>;
}

/** The tools every test MCP server offers (registered on the SDK's own McpServer). */
export function buildTestServer(calls: McpCall[], headers?: McpCall['headers']): McpServer {
  const server = new McpServer({ name: 'test-tools', version: '1.0.0' });
  server.registerTool(
    'add',
    { description: 'Adds two numbers.', inputSchema: { a: z.number(), b: z.number() } },
    async ({ a, b }) => {
      calls.push({ tool: 'add', args: { a, b }, headers });
      return { content: [{ type: 'text', text: String(a + b) }] };
    },
  );
  server.registerTool(
    'fails',
    { description: 'Always answers with an error result.', inputSchema: {} },
    async () => {
      calls.push({ tool: 'fails', args: {}, headers });
      return { content: [{ type: 'text', text: 'disk on fire' }], isError: true };
    },
  );
  server.registerTool(
    'big',
    { description: 'Answers with 100,000 characters of é (200 KB of UTF-8).', inputSchema: {} },
    async () => {
      calls.push({ tool: 'big', args: {}, headers });
      return { content: [{ type: 'text', text: 'é'.repeat(100_000) }] };
    },
  );
  server.registerTool(
    'files.read',
    { description: 'A name providers refuse (it has a dot).', inputSchema: { path: z.string() } },
    async ({ path: file }) => {
      calls.push({ tool: 'files.read', args: { path: file }, headers });
      return { content: [{ type: 'text', text: `contents of ${file}` }] };
    },
  );
  return server;
}

/**
 * A Streamable HTTP MCP server on 127.0.0.1, stateless: a fresh SDK server and transport per
 * request (the SDK refuses to reuse a stateless transport).
 */
export class HttpMcpServer {
  readonly calls: McpCall[] = [];

  private constructor(private readonly server: Server) {}

  static async start(): Promise<HttpMcpServer> {
    const ref: { self?: HttpMcpServer } = {};
    const server = createServer((req, res) => {
      const mcp = buildTestServer(ref.self!.calls, req.headers);
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: undefined,
        enableJsonResponse: true,
      });
      res.on('close', () => {
        void transport.close();
        void mcp.close();
      });
      void mcp.connect(transport).then(() => transport.handleRequest(req, res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    ref.self = new HttpMcpServer(server);
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

/** The stdio MCP server script (plain JavaScript, run by the same Node). */
export const STDIO_MCP_SERVER = path.join(__dirname, 'mcp-stdio-server.mjs');
