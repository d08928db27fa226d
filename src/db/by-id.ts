import type { Connection, Model, UpdateQuery } from 'mongoose';
import { Types } from 'mongoose';
import { op } from './trusted';
import { databaseKindOf, type DatabaseKind } from './connection';
import { KeyedLocks } from '../util/keyed-locks';

/**
 * Reads and conditional writes by `_id` that stay lookups by `_id` on the local FerretDB.
 *
 * FerretDB 1.24 on SQLite hands a filter to SQLite only when it is exactly `{ _id: <id> }`
 * (backends/sqlite/collection.go: `params.Filter.Len() == 1`); any other filter — `{ _id, status }`,
 * `{ _id: { $in: [...] } }` — reads every document of the collection and filters them in Go,
 * so its cost grows with the collection (figures: bench/FINDINGS.md, “Behind the code's comments”). MongoDB answers both from its `_id` index, so
 * there they stay one command.
 *
 * On FerretDB, then:
 * - `findByIds` reads each id by itself (the commands queue on the one connection) once the
 *   collection is large enough for that to cost less than one `$in` reading it all;
 * - `updateByIdIf` reads the document by `_id`, checks the condition here and writes by `_id`,
 *   holding a lock on that document in this process meanwhile, so that in this process it is
 *   as atomic as MongoDB's: every write that must not interleave with it goes through it too.
 *   Across processes it is not (a second instance on one FerretDB could write between the read
 *   and the write), as FerretDB already loses concurrent updates from several connections
 *   (shared/DATABASE.md): the local database serves one instance.
 */

/** A number a field may not exceed (`$lte`): a quota's reservation. */
export interface AtMost {
  atMost: number;
}

/**
 * Values a condition compares (MongoDB's equality: null matches a missing field too), or a
 * bound a number must stay within.
 */
export type Expected = Record<
  string,
  string | number | boolean | null | Types.ObjectId | Date | AtMost
>;

/**
 * On FerretDB, a lookup by _id costs about as much as reading this many documents (figures: bench/FINDINGS.md, “Behind the code's comments”): past
 * that many per id asked for, lookups win.
 */
const DOCUMENTS_READ_PER_LOOKUP = 25;

/** The documents of `ids` that exist, by id (in no particular order). */
export async function findByIds<T>(
  model: Model<T>,
  ids: readonly (string | Types.ObjectId)[],
): Promise<Map<string, T>> {
  const unique = [...new Set(ids.map(String))];
  if (unique.length === 0) return new Map();
  const lookups =
    kindOf(model) === 'ferretdb' &&
    (await collectionSizes.estimate(model)) > unique.length * DOCUMENTS_READ_PER_LOOKUP;
  const found = lookups
    ? (await Promise.all(unique.map((id) => model.findById(id).lean<T>()))).filter(
        (doc): doc is NonNullable<typeof doc> => doc !== null,
      )
    : await model.find({ _id: op({ $in: unique }) }).lean<T[]>();
  return new Map(found.map((doc) => [String((doc as { _id: unknown })._id), doc as T]));
}

/**
 * `findOneAndUpdate({ _id: id, ...expected }, update)`: the updated document, or null when there
 * is no such document or it does not match `expected` (then nothing is written). With nothing
 * expected it is one write, under the same lock as the conditional ones on that document.
 */
export async function updateByIdIf<T>(
  model: Model<T>,
  id: string | Types.ObjectId,
  expected: Expected,
  update: UpdateQuery<T>,
  options: { timestamps?: boolean } = {},
): Promise<T | null> {
  const queryOptions = { returnDocument: 'after' as const, ...options };
  if (kindOf(model) !== 'ferretdb') {
    return model
      .findOneAndUpdate({ _id: id, ...filterOf(expected) }, update, queryOptions)
      .lean<T>();
  }
  return documentLocks.run(`${model.collection.name}:${String(id)}`, async () => {
    if (Object.keys(expected).length > 0) {
      const current = await model.findById(id).lean<T>();
      if (!current || !matches(current as Record<string, unknown>, expected)) return null;
    }
    return model.findOneAndUpdate({ _id: id }, update, queryOptions).lean<T>();
  });
}

function isAtMost(value: Expected[string]): value is AtMost {
  return typeof value === 'object' && value !== null && 'atMost' in value;
}

function filterOf(expected: Expected): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(expected).map(([field, wanted]) => [
      field,
      isAtMost(wanted) ? op({ $lte: wanted.atMost }) : wanted,
    ]),
  );
}

function matches(document: Record<string, unknown>, expected: Expected): boolean {
  return Object.entries(expected).every(([field, wanted]) => {
    const actual = document[field];
    if (isAtMost(wanted)) return typeof actual === 'number' && actual <= wanted.atMost;
    if (wanted === null) return actual === null || actual === undefined;
    if (actual === null || actual === undefined) return false;
    // As mongoose casts a filter by the schema: an id or a date matches its string form.
    const cast = (value: unknown) =>
      value instanceof Types.ObjectId || value instanceof Date ? String(value) : value;
    return cast(actual) === cast(wanted);
  });
}

function kindOf(model: { db: unknown }): DatabaseKind {
  return databaseKindOf(model.db as Connection);
}

const documentLocks = new KeyedLocks();

/** How long a collection's size is trusted before it is asked again. */
const SIZE_TTL_MS = 30_000;

/**
 * Approximate sizes of FerretDB collections, from `collStats` (which FerretDB answers from
 * SQLite's page statistics without reading the documents, unlike `count`). The first read of a
 * collection waits for its size; after 30 s the size is asked again in the background while the
 * last one still serves. A collection that cannot be measured counts as large (lookups, never
 * the slow choice for long).
 */
class CollectionSizes {
  private readonly sizes = new WeakMap<Connection, Map<string, SizeEntry>>();

  async estimate(model: { db: unknown; collection: { name: string } }): Promise<number> {
    const connection = model.db as Connection;
    let byName = this.sizes.get(connection);
    if (!byName) {
      byName = new Map();
      this.sizes.set(connection, byName);
    }
    const name = model.collection.name;
    let entry = byName.get(name);
    if (!entry) {
      entry = { measuredAt: 0, size: null, measuring: null };
      byName.set(name, entry);
    }
    if (!entry.measuring && Date.now() - entry.measuredAt >= SIZE_TTL_MS) {
      const measured = entry;
      measured.measuring = connection
        .db!.command({ collStats: name })
        .then((stats) => Number(stats.count) || 0)
        .catch(() => Number.POSITIVE_INFINITY)
        .then((size) => {
          Object.assign(measured, { size, measuredAt: Date.now(), measuring: null });
          return size;
        });
    }
    return entry.size ?? (await entry.measuring!);
  }
}

interface SizeEntry {
  measuredAt: number;
  size: number | null;
  measuring: Promise<number> | null;
}

const collectionSizes = new CollectionSizes();

/**
 * Inserts new documents as the model's `create` would store them (its casting and defaults,
 * timestamps, `__v`), in one command and in order (the first that fails stops the rest), without
 * a document's save machinery, which cost about twice as much CPU. The records are cast as
 * plain objects (`castObject`, `applyDefaults`) rather than built as mongoose documents and
 * turned back into objects: under a job's load a document (most of it `$set` running each
 * path's setters) was a tenth of a reply's whole CPU (figures: bench/FINDINGS.md, “Behind the code's comments”). A value
 * that does not cast throws here (the callers pass their own, typed values). Returns the
 * stored documents.
 */
export async function insertRecords<T>(
  model: Model<T>,
  docs: ReadonlyArray<Record<string, unknown>>,
): Promise<T[]> {
  const now = new Date();
  const records = docs.map((doc) => recordOf(model, doc, now));
  await model.collection.insertMany(records, { ordered: true });
  return records as T[];
}

function recordOf<T>(
  model: Model<T>,
  doc: Record<string, unknown>,
  now: Date,
): Record<string, unknown> {
  const record = model.castObject({ createdAt: now, updatedAt: now, ...doc }) as Record<
    string,
    unknown
  >;
  // castObject leaves out what is null; a document keeps a null it was given.
  for (const [path, value] of Object.entries(doc)) {
    if (value === null && model.schema.path(path)) record[path] = null;
  }
  model.applyDefaults(record);
  record._id ??= new Types.ObjectId();
  record.__v = 0;
  return record;
}
