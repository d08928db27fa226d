/**
 * `npm run localdb:build`: builds the local FerretDB now (dev and tests would otherwise build
 * it on first use). CI calls it so that a fresh machine's build shows up as its own step.
 */
import { ensureLocalDatabaseBinary } from '../db/local-server';

ensureLocalDatabaseBinary({ info: (message: unknown) => console.log(message) } as never)
  .then((binary) => console.log(`local database server ready: ${binary}`))
  .catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
