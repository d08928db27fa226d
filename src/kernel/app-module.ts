/** A resolver class, as TypeGraphQL takes it. */
export type ResolverClass = abstract new (...args: any[]) => object;

/**
 * What one feature module (`modules/<name>/<name>.module.ts`) hands to app.ts: its resolver
 * instances and its lifecycle. app.ts only composes these; the wiring of each feature lives in
 * its own module file.
 */
export interface AppModule {
  /** Each resolver class of the module with its instance (the schema's list is checked against these). */
  resolvers: ReadonlyArray<readonly [ResolverClass, object]>;
  /** On shutdown, before HTTP and the sockets stop: work that clients still watch ends here. */
  drain?(): Promise<void> | void;
  /** On shutdown, after HTTP and the sockets stopped: listeners and timers are released. */
  stop?(): Promise<void> | void;
}

/** Pairs a resolver class with its instance, keeping the two types in step. */
export function resolverOf<T extends object>(
  type: abstract new (...args: any[]) => T,
  instance: T,
): readonly [ResolverClass, object] {
  return [type, instance];
}
