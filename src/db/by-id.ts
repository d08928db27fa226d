import type { Connection, Model, UpdateQuery } from 'mongoose';
import { Types } from 'mongoose';
import { op } from './trusted';
import { databaseKindOf, type DatabaseKind } from './connection';

/**
 * Reads and conditional writes by `_id` that stay lookups by `_id` on the local FerretDB.
 *
 * FerretDB 1.24 on SQLite hands a filter to SQLite only when it is exactly `{ _id: <id> }`
 * (backends/sqlite/collection.go: `params.Filter.Len() == 1`); any other filter — `{ _id, status }`,
 * `{ _id: { $in: [...] } }` — reads every document of the collection and filters them in Go,
 * about 50–70 µs a document here (measured with the raw driver: a findOneAndUpdate of a new
 * reply by `{ _id, status }` took 56 ms at 1,000 messages and 806 ms at 16,000; `$in` of 10 ids
 * 873 ms at 16,000). MongoDB answers both from its `_id` index, so there they stay one command.
 *
 * On FerretDB, then:
 * - `findByIds` reads each id by itself (the commands queue on the one connection, ~1 ms each);
 * - `updateByIdIf` reads the document by `_id`, checks the condition here and writes by `_id`,
 *   holding a lock on that document in this process meanwhile, so that in this process it is
 *   as atomic as MongoDB's: every write that must not interleave with it goes through it too.
 *   Across processes it is not (a second instance on one FerretDB could write between the read
 *   and the write), as FerretDB already loses concurrent updates from several connections
 *   (shared/DATABASE.md): the local database serves one instance.
 */

/** Values a condition compares (MongoDB's equality: null matches a missing field too). */
export type Expected = Record<string, string | number | boolean | null | Types.ObjectId | Date>;

/** The documents of `ids` that exist, by id (in no particular order). */
export async function findByIds<T>(
  model: Model<T>,
  ids: readonly (string | Types.ObjectId)[],
): Promise<Map<string, T>> {
  const unique = [...new Set(ids.map(String))];
  if (unique.length === 0) return new Map();
  const found =
    kindOf(model) === 'ferretdb'
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
    return model.findOneAndUpdate({ _id: id, ...expected }, update, queryOptions).lean<T>();
  }
  return documentLocks.run(`${model.collection.name}:${String(id)}`, async () => {
    if (Object.keys(expected).length > 0) {
      const current = await model.findById(id).lean<T>();
      if (!current || !matches(current as Record<string, unknown>, expected)) return null;
    }
    return model.findOneAndUpdate({ _id: id }, update, queryOptions).lean<T>();
  });
}

function matches(document: Record<string, unknown>, expected: Expected): boolean {
  return Object.entries(expected).every(([field, wanted]) => {
    const actual = document[field];
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

/** One task at a time per key, in the order they came; a key is forgotten once idle. */
class KeyedLocks {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<R>(key: string, task: () => Promise<R>): Promise<R> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}

const documentLocks = new KeyedLocks();

/**
 * Inserts new documents as the model's `create` would store them (its casting and defaults,
 * timestamps, `__v`), in one command and in order (the first that fails stops the rest), without
 * a document's save machinery: measured here, `create` cost ~1.4 ms of the server's CPU per
 * document and this ~0.75 ms for one or two. Returns the stored documents.
 */
export async function insertRecords<T>(
  model: Model<T>,
  docs: ReadonlyArray<Record<string, unknown>>,
): Promise<T[]> {
  const now = new Date();
  const records = docs.map((doc) => {
    const record = new model({ createdAt: now, updatedAt: now, ...doc }).toObject() as Record<
      string,
      unknown
    >;
    record.__v = 0;
    return record;
  });
  await model.collection.insertMany(records, { ordered: true });
  return records as T[];
}
