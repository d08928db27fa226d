#!/usr/bin/env node
/**
 * Fails when a production dependency in package-lock.json is at a version with a known
 * advisory. `npm audit` cannot run here (the registry answers its POST with 405), so the
 * advisories come from a snapshot that a registry this machine reaches ships as data: the
 * PyPI wheel `cordon-scanner` carries OSV's npm advisories (high and critical ones, and
 * known-malicious packages) in `cordon_scanner/intel/data/`. `.ci/fetch-advisories` unpacks it.
 *
 *   node .ci/advisories.mjs --data DIR [--lock package-lock.json] [--ignore ID,ID]
 *
 * Exit 0: no hit. Exit 1: one line per hit. Exit 2: the data is missing or unreadable, so
 * nothing was checked (never a silent pass).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import semver from 'semver';

/** Fewer records than this means a broken or emptied snapshot, not a clean tree. */
const MIN_RECORDS = 1_000;
/** Older data still runs, with a warning: it misses what was published since. */
const STALE_AFTER_DAYS = 90;

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    lock: { type: 'string', default: 'package-lock.json' },
    ignore: { type: 'string', default: '' },
  },
});

function refuse(message) {
  console.error(`advisories: ${message}`);
  process.exit(2);
}

if (!values.data) refuse('usage: node .ci/advisories.mjs --data DIR [--lock FILE] [--ignore IDS]');

let records;
let meta;
try {
  records = JSON.parse(gunzipSync(readFileSync(path.join(values.data, 'advisories-npm.json.gz'))));
  meta = JSON.parse(readFileSync(path.join(values.data, 'advisories-meta.json'), 'utf8'));
} catch (error) {
  refuse(`cannot read the advisory data in ${values.data}: ${error.message}`);
}
if (!Array.isArray(records) || records.length < MIN_RECORDS) {
  refuse(
    `the advisory data holds ${records?.length ?? 0} records; expected at least ${MIN_RECORDS}`,
  );
}

/** Production packages of the lock file (lockfileVersion 3): every entry not marked dev. */
function productionPackages(lockFile) {
  const lock = JSON.parse(readFileSync(lockFile, 'utf8'));
  const found = [];
  for (const [where, entry] of Object.entries(lock.packages ?? {})) {
    if (!where || entry.dev || entry.link || !entry.version) continue;
    // An alias ("x": "npm:y@1") keeps the real name in `name`; otherwise the path says it.
    const name =
      entry.name ?? where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length);
    found.push({ name, version: entry.version, where });
  }
  return found;
}

const SEMVER = { includePrerelease: true, loose: true };
/** OSV's bounds are mostly SemVer; a short one such as "1.90" is read as 1.90.0. */
const bound = (text) =>
  text === '0' ? '0.0.0-0' : (semver.valid(text, SEMVER) ?? semver.coerce(text, SEMVER)?.version);

/** Whether one record covers the version: a list of versions, or one range of OSV's shape. */
function affects(record, version) {
  if (Array.isArray(record.versions)) return record.versions.includes(version);
  const introduced = record.introduced === undefined ? undefined : bound(record.introduced);
  if (!introduced || semver.lt(version, introduced, SEMVER)) return false;
  if (record.fixed !== undefined) return semver.lt(version, bound(record.fixed), SEMVER);
  if (record.last_affected !== undefined)
    return semver.lte(version, bound(record.last_affected), SEMVER);
  return true; // introduced and never fixed
}

const ignored = new Set(values.ignore.split(',').filter(Boolean));
const byName = new Map();
for (const record of records) {
  if (ignored.has(record.id)) continue;
  const list = byName.get(record.name) ?? [];
  list.push(record);
  byName.set(record.name, list);
}

const packages = productionPackages(values.lock);
const hits = [];
for (const pkg of packages) {
  for (const record of byName.get(pkg.name) ?? []) {
    if (!semver.valid(pkg.version, { loose: true })) continue;
    if (affects(record, pkg.version)) hits.push({ pkg, record });
  }
}

const builtAt = new Date(meta.built_at);
const ageDays = Math.floor((Date.now() - builtAt.getTime()) / 86_400_000);
console.log(
  `advisories: ${packages.length} production packages of ${values.lock} against ` +
    `${records.length} npm records built ${meta.built_at} (${ageDays} days ago)`,
);
if (ageDays > STALE_AFTER_DAYS) {
  console.warn(
    `advisories: warning: the data is ${ageDays} days old; advisories since are not checked`,
  );
}
for (const { pkg, record } of hits) {
  const range = record.versions
    ? `versions ${record.versions.join(', ')}`
    : `from ${record.introduced}${record.fixed ? `, fixed in ${record.fixed}` : ''}${record.last_affected ? ` to ${record.last_affected}` : ''}`;
  const kind = record.malicious ? 'MALICIOUS' : (record.severity ?? 'unrated').toUpperCase();
  console.log(
    `VULNERABLE ${pkg.name}@${pkg.version} ${record.id} [${kind}] ${range}: ${record.summary ?? ''} (${pkg.where})`,
  );
}
console.log(`advisories: ${hits.length} hit(s)`);
process.exit(hits.length > 0 ? 1 : 0);
