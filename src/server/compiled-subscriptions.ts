import type { DocumentNode, ExecutionArgs, ExecutionResult, GraphQLSchema } from 'graphql';
import { subscribe } from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';

/**
 * Runs subscriptions with graphql-jit: a document is compiled once, and each event is then
 * shaped by the compiled function instead of graphql-js walking the selection set again. A
 * reply streams one event per token, so this is per-token work (measured with
 * `npm run bench -- --only token`). Documents arrive parsed and validated (DocumentCache), and
 * the same DocumentNode comes back for the same text, so the compiled form is kept per node.
 */
export class CompiledSubscriptions {
  private readonly compiled = new WeakMap<DocumentNode, Map<string, CompiledQuery>>();

  constructor(private readonly schema: GraphQLSchema) {}

  async subscribe(
    args: ExecutionArgs,
  ): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
    const compiled = this.compile(args.document, args.operationName ?? undefined);
    // What jit cannot compile, graphql-js runs as before.
    if (!compiled?.subscribe) return subscribe(args);
    return compiled.subscribe(args.rootValue, args.contextValue, args.variableValues);
  }

  private compile(document: DocumentNode, operationName: string | undefined) {
    let byOperation = this.compiled.get(document);
    if (!byOperation) {
      byOperation = new Map();
      this.compiled.set(document, byOperation);
    }
    const key = operationName ?? '';
    let compiled = byOperation.get(key);
    if (!compiled) {
      const result = compileQuery(this.schema, document, operationName);
      if (!isCompiledQuery(result)) return null;
      compiled = result;
      byOperation.set(key, compiled);
    }
    return compiled;
  }
}
