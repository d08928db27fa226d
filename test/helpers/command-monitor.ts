import type { Connection } from 'mongoose';

/**
 * The names of the database commands sent while `action` runs, from the driver's command
 * monitoring (the connection must be opened with `monitorCommands: true`).
 */
export async function commandsDuring(
  connection: Connection,
  action: () => Promise<unknown>,
): Promise<string[]> {
  const client = connection.getClient();
  const names: string[] = [];
  const listener = (event: { commandName: string }) => names.push(event.commandName);
  client.on('commandStarted', listener);
  try {
    await action();
  } finally {
    client.off('commandStarted', listener);
  }
  return names;
}
