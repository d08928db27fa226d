/**
 * `npm run schema:emit` writes schema/schema.graphql from the resolvers; with `--check` it
 * exits 1 when the committed file differs (CI and a test run it).
 */
// First: an older Node stops here with one line (config/node-version.ts).
import '../config/node-version';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { renderCurrentSchema } from '../app';
import { SCHEMA_FILE } from '../graphql/schema-file';

async function main(): Promise<void> {
  const rendered = await renderCurrentSchema();
  if (process.argv.includes('--check')) {
    const committed = await readFile(SCHEMA_FILE, 'utf8').catch(() => '');
    if (committed !== rendered) {
      console.error('schema/schema.graphql is stale: run npm run schema:emit');
      process.exit(1);
    }
    console.log('schema/schema.graphql is up to date');
    return;
  }
  await writeFile(SCHEMA_FILE, rendered);
  console.log(`wrote ${path.relative(process.cwd(), SCHEMA_FILE)}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
