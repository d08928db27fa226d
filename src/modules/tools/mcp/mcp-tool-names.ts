import { TOOL_NAME } from '../tool';

/**
 * The name an MCP tool is offered under: its own when every provider accepts it and it is
 * free, else `<server>_<name>` with what providers refuse replaced by `_`, cut to 64 and made
 * unique with a number. The call goes to the server under the tool's own name.
 */
export function offeredName(
  server: string,
  name: string,
  taken: (name: string) => boolean,
): string {
  if (TOOL_NAME.test(name) && !taken(name)) return name;
  const base = `${server}_${name.replace(/[^a-zA-Z0-9_-]/g, '_')}`.slice(0, 64);
  if (!taken(base)) return base;
  for (let n = 2; ; n += 1) {
    const suffix = `_${n}`;
    const candidate = base.slice(0, 64 - suffix.length) + suffix;
    if (!taken(candidate)) return candidate;
  }
}
