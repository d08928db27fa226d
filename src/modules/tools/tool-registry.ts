import { BadUserInputError } from '../../errors/errors';
import type { Tool } from './tool';

/** The tools this server offers, by name: built-ins switched on by TOOLS and MCP servers' tools. */
export class ToolRegistry {
  private readonly tools = new Map<string, Tool>();

  constructor(tools: readonly Tool[] = []) {
    this.add(tools);
  }

  /** Adds tools (an MCP server's, once listed); a name already taken keeps its first tool. */
  add(tools: readonly Tool[]): void {
    for (const tool of tools) if (!this.tools.has(tool.name)) this.tools.set(tool.name, tool);
  }

  list(): Tool[] {
    return [...this.tools.values()];
  }

  get(name: string): Tool | undefined {
    return this.tools.get(name);
  }

  /** A chat's or a send's choice, each once; BAD_USER_INPUT (field `tools`) naming any not offered. */
  choose(names: readonly string[]): string[] {
    const chosen = [...new Set(names)];
    // Named by position, never by value: a client's text is not echoed (CONTRACT, Errors).
    const unknown = names.flatMap((name, index) => (this.tools.has(name) ? [] : [index]));
    if (unknown.length > 0) {
      const at = unknown.slice(0, 5).join(', ');
      throw new BadUserInputError({
        tools: `No such tool here (at position ${at}); the tools query lists those on offer.`,
      });
    }
    return chosen;
  }

  /** Of these names, those not offered here. */
  unknown(names: readonly string[]): string[] {
    return names.filter((name) => !this.tools.has(name));
  }
}
