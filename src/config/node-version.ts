/**
 * Palaver runs on Node 24 LTS or newer (package.json `engines`, `.nvmrc`): its libraries load
 * ESM-only packages through `require(esm)` and some refuse older Nodes. `npm install` puts
 * Node 24 in node_modules/.bin (the `node` package), and every npm script runs on it. Imported
 * first by each entry point, so an older Node stops here with one line instead of failing
 * later inside a library.
 */
export const MINIMUM_NODE_MAJOR = 24;

export function unsupportedNodeMessage(version: string = process.versions.node): string | null {
  const major = Number(version.split('.')[0]);
  if (major >= MINIMUM_NODE_MAJOR) return null;
  return (
    `Palaver needs Node ${MINIMUM_NODE_MAJOR} or newer, and this is Node ${version}. ` +
    `Run it through npm (npm run dev, npm start, npm test), which uses the Node ` +
    `${MINIMUM_NODE_MAJOR} that npm install puts in node_modules/.bin, or install Node ${MINIMUM_NODE_MAJOR}.`
  );
}

const refusal = unsupportedNodeMessage();
if (refusal) {
  process.stderr.write(`${refusal}\n`);
  process.exit(1);
}
