/**
 * `npm run localdb:build`: builds the local FerretDB now (dev and tests would otherwise build
 * it on first use). CI calls it so that a fresh machine's build shows up as its own step.
 */
// First: an older Node stops here with one line (config/node-version.ts).
import '../config/node-version';
import { ensureLocalDatabaseBinary } from '../db/local-server';

ensureLocalDatabaseBinary((message) => console.log(message))
  .then((binary) => console.log(`local database server ready: ${binary}`))
  .catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
