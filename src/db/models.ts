import { buildSchema, type ReturnModelType } from '@typegoose/typegoose';
import type { Connection, Model, Schema } from 'mongoose';

/** A Typegoose class: the shape of one collection's documents. */
type RecordClass = new (...args: any) => any;

const schemas = new Map<RecordClass, Schema>();

/**
 * Binds a Typegoose class to one connection. getModelForClass caches models globally by name,
 * so each schema is built once and bound per connection here instead: two apps in one process
 * (tests) never share a model. Each feature binds its own models in its `<name>.module.ts`.
 */
export function bindModel<Record extends RecordClass>(
  connection: Connection,
  name: string,
  record: Record,
): ReturnModelType<Record> {
  let schema = schemas.get(record);
  if (!schema) {
    schema = buildSchema(record);
    schemas.set(record, schema);
  }
  return connection.model(name, schema) as unknown as ReturnModelType<Record>;
}

/** Creates the indexes the models declare; unique ones are what make the flows race-safe. */
export async function syncIndexes(models: Iterable<Model<any>>): Promise<void> {
  for (const model of models) {
    await model.createIndexes();
  }
}
