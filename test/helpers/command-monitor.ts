import type { Connection } from 'mongoose';

/**
 * The database commands sent while `action` runs, as "<command> <collection>" (e.g. "find
 * chats"), from the driver's command monitoring (the connection must be opened with
 * `monitorCommands: true`).
 */
export async function commandsDuring(
  connection: Connection,
  action: () => Promise<unknown>,
): Promise<string[]> {
  const client = connection.getClient();
  const names: string[] = [];
  const listener = (event: { commandName: string; command: Record<string, unknown> }) => {
    const target = event.command[event.commandName];
    names.push(typeof target === 'string' ? `${event.commandName} ${target}` : event.commandName);
  };
  client.on('commandStarted', listener);
  try {
    await action();
  } finally {
    client.off('commandStarted', listener);
  }
  return names;
}
