import type { DocumentNode, ExecutionArgs, ExecutionResult, GraphQLSchema } from 'graphql';
import { createSourceEventStream, getOperationAST, subscribe, valueFromASTUntyped } from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import { isPushSource } from '../../util/push-source';
import { DirectSubscription, isPromise, type SendResult } from './direct-subscriptions';

/**
 * Runs subscriptions in two halves:
 * - the source stream comes from graphql-js's `createSourceEventStream`, once per subscription:
 *   it coerces the variables and the subscription field's own arguments (inline literals, any
 *   variable names, defaults), exactly as the spec's CreateSourceEventStream says;
 * - each event is then shaped by a graphql-jit compiled function instead of graphql-js walking
 *   the selection set again. A reply streams one event per token, so this is the per-token work
 *   (measured with `npm run bench -- --only token`).
 *
 * graphql-jit's own `subscribe` is not used: in 0.8.9 it hands the subscribe resolver the
 * operation's variables where the field's arguments belong, so `messageStream(messageId: "…")`
 * or `($id: ID!) { messageStream(messageId: $id) }` reached it with `messageId` undefined.
 *
 * Documents arrive parsed and validated (DocumentCache), and the same DocumentNode comes back
 * for the same text, so the compiled form is kept per node.
 */
export class CompiledSubscriptions {
  private readonly compiled = new WeakMap<DocumentNode, Map<string, CompiledQuery>>();

  constructor(private readonly schema: GraphQLSchema) {}

  /**
   * `send`, when given, sends a result to the client at once: a source that can push its
   * events (a streamed reply; a PushSource, README.md) is then shaped and sent in the turn each
   * event arrives (DirectSubscription); any other is iterated.
   */
  async subscribe(
    args: ExecutionArgs,
    send?: SendResult,
  ): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
    const compiled = this.compile(args.document, args.operationName ?? undefined);
    // What jit cannot compile, graphql-js runs as before.
    if (!compiled) return subscribe(args);
    const source = await createSourceEventStream(args);
    if (!isAsyncIterable(source)) return source;
    const variables = withDocumentDefaults(args);
    const shape = (event: unknown) => compiled.query(event, args.contextValue, variables);
    if (send && isPushSource(source)) return new DirectSubscription(source, shape, send);
    return mapEvents(source, shape);
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

/**
 * The request's variables with the document's own defaults filled in (`$id: ID! = "…"` not
 * sent). graphql-jit 0.8.9 refuses such a variable as "not provided"; graphql-js, which has
 * already accepted the request, applies the default, as the spec's CoerceVariableValues says.
 */
function withDocumentDefaults(args: ExecutionArgs): Record<string, unknown> {
  const given = { ...(args.variableValues ?? {}) };
  const operation = getOperationAST(args.document, args.operationName ?? undefined);
  for (const definition of operation?.variableDefinitions ?? []) {
    const name = definition.variable.name.value;
    if (definition.defaultValue && given[name] === undefined) {
      given[name] = valueFromASTUntyped(definition.defaultValue);
    }
  }
  return given;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as AsyncIterable<unknown>)?.[Symbol.asyncIterator] === 'function';
}

const DONE: IteratorReturnResult<undefined> = { value: undefined, done: true };

/**
 * The source's events, each shaped by `shape`. `return()` goes straight to the source, so an
 * unsubscribe frees the reply's listener at once instead of after the next event. A shape that
 * answers at once (a delta of a streamed reply) costs one promise step per event, not the
 * three of an async function.
 */
function mapEvents(
  source: AsyncIterable<unknown>,
  shape: (event: unknown) => ExecutionResult | Promise<ExecutionResult>,
): AsyncIterableIterator<ExecutionResult> {
  const iterator = source[Symbol.asyncIterator]();
  const close = async (): Promise<IteratorResult<ExecutionResult>> => {
    await iterator.return?.();
    return DONE;
  };
  const fail = async (error: unknown): Promise<never> => {
    await close().catch(() => undefined);
    throw error;
  };
  const next = (value: ExecutionResult): IteratorResult<ExecutionResult> => ({
    value,
    done: false,
  });
  return {
    next: () =>
      iterator.next().then((result) => {
        if (result.done) return DONE;
        let shaped: ExecutionResult | Promise<ExecutionResult>;
        try {
          shaped = shape(result.value);
        } catch (error) {
          return fail(error);
        }
        return isPromise(shaped) ? shaped.then(next, fail) : next(shaped);
      }),
    return: close,
    async throw(error: unknown) {
      await close();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
