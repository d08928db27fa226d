import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, type Tool as McpTool } from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { McpServerConfig } from '../../../config/config';
import type { Logger } from '../../../log/logger';
import { ToolSource, type Tool, type ToolOutcome } from '../tool';
import { offeredName } from './mcp-tool-names';

/** Connecting and listing tools may take this long; then the server's tools are left out. */
const CONNECT_TIMEOUT_MS = 10_000;
/** A call's own cap (the runner's is the same, and also covers a server that ignores it). */
const CALL_TIMEOUT_MS = 60_000;
const MAX_LISTED_TOOLS = 200;

const validators = new AjvJsonSchemaValidator();

/**
 * One MCP server, through the official SDK's client: Streamable HTTP (`url`, with its headers)
 * or stdio (`command`; the child gets only the SDK's few safe variables and the `env` given,
 * never the server's own secrets). Its tools are listed once, at start; a server that cannot
 * be reached is logged and left out, and the rest of the server starts.
 */
export class McpServer {
  private client: Client | null = null;

  constructor(
    private readonly config: McpServerConfig,
    private readonly logger: Logger,
  ) {}

  get name(): string {
    return this.config.name;
  }

  /** Connects and lists the tools it offers (those of `tools`, when the config names them). */
  async start(taken: (name: string) => boolean): Promise<Tool[]> {
    const client = new Client({ name: 'palaver', version: '1.0.0' });
    const transport =
      'url' in this.config
        ? new StreamableHTTPClientTransport(new URL(this.config.url), {
            requestInit: { headers: this.config.headers ?? {} },
          })
        : new StdioClientTransport({
            command: this.config.command,
            args: this.config.args ?? [],
            env: this.config.env ?? {},
            stderr: 'ignore',
          });
    await client.connect(transport, { timeout: CONNECT_TIMEOUT_MS });
    this.client = client;
    const listed: McpTool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : {}, {
        timeout: CONNECT_TIMEOUT_MS,
      });
      listed.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor && listed.length < MAX_LISTED_TOOLS);
    const allowed = this.config.tools;
    const names = new Set<string>();
    return listed
      .filter((tool) => !allowed || allowed.includes(tool.name))
      .slice(0, MAX_LISTED_TOOLS)
      .map((tool) => {
        const name = offeredName(this.config.name, tool.name, (n) => taken(n) || names.has(n));
        names.add(name);
        return this.toTool(tool, name);
      });
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    await client?.close().catch(() => {});
  }

  private toTool(tool: McpTool, name: string): Tool {
    const { $schema: _dialect, ...parameters } = tool.inputSchema as Record<string, unknown>;
    const validate = validators.getValidator(parameters as never);
    return {
      name,
      description: (tool.description ?? tool.title ?? tool.name).slice(0, 1024),
      parameters,
      source: ToolSource.MCP,
      server: this.config.name,
      requiresApproval: this.config.requiresApproval,
      check: (args) => {
        const result = validate(args);
        return result.valid ? null : (result.errorMessage ?? 'the arguments do not fit');
      },
      run: (args, { signal }) => this.call(tool.name, args, signal),
    };
  }

  private async call(
    name: string,
    args: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<ToolOutcome> {
    if (!this.client) return { result: 'The tool server is not connected.', isError: true };
    try {
      const raw = await this.client.callTool({ name, arguments: args }, undefined, {
        signal,
        timeout: CALL_TIMEOUT_MS,
      });
      const result = CallToolResultSchema.parse(raw);
      const text = result.content
        .map((item) => (item.type === 'text' ? item.text : `[${item.type}]`))
        .join('\n');
      return { result: text, isError: result.isError === true };
    } catch (error) {
      signal.throwIfAborted();
      this.logger.warn({ err: error, server: this.config.name, tool: name }, 'an MCP call failed');
      return { result: 'The tool server did not answer the call.', isError: true };
    }
  }
}
