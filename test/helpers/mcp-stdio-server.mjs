// An MCP server over stdio for the tests (started by Palaver from MCP_SERVERS): one tool,
// `shout`, and `whoami`, which tells which environment variables the child was given.
// Logs go to stderr only: stdout carries the protocol.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const server = new McpServer({ name: 'stdio-tools', version: '1.0.0' });
server.registerTool(
  'shout',
  { description: 'Upper-cases a text.', inputSchema: { text: z.string() } },
  async ({ text }) => ({ content: [{ type: 'text', text: text.toUpperCase() }] }),
);
server.registerTool(
  'whoami',
  { description: 'Names the environment variables this server was given.', inputSchema: {} },
  async () => ({ content: [{ type: 'text', text: Object.keys(process.env).sort().join(',') }] }),
);
server.registerTool(
  'sleepy',
  { description: 'Takes 10 s, unless its call is cancelled.', inputSchema: {} },
  (_args, extra) =>
    new Promise((resolve) => {
      const timer = setTimeout(
        () => resolve({ content: [{ type: 'text', text: 'woke' }] }),
        10_000,
      );
      extra.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve({ content: [{ type: 'text', text: 'cancelled' }], isError: true });
      });
    }),
);
await server.connect(new StdioServerTransport());
