/** A resolver class, as TypeGraphQL takes it. */
export type ResolverClass = abstract new (...args: any[]) => object;

/** Each resolver class of a module with its instance. */
export type ResolverInstances = ReadonlyArray<readonly [ResolverClass, object]>;

/**
 * What one feature module (`modules/<name>/<name>.module.ts`) hands to app.ts: its resolver
 * instances and its lifecycle. app.ts only composes these; the wiring of each feature lives in
 * its own module file.
 */
export interface AppModule {
  /** An instance of each class of the module's own resolver list (see `instancesOf`). */
  resolvers: ResolverInstances;
  /** On shutdown, before HTTP and the sockets stop: work that clients still watch ends here. */
  drain?(): Promise<void> | void;
  /** On shutdown, after HTTP and the sockets stopped: listeners and timers are released. */
  stop?(): Promise<void> | void;
}

type InstancesOf<Classes extends readonly ResolverClass[]> = {
  [K in keyof Classes]: Classes[K] extends abstract new (...args: any[]) => infer T ? T : never;
};

/**
 * Pairs a module's resolver list with one instance of each, in its order: a list and instances
 * that disagree (one missing, one extra, two swapped) do not compile.
 */
export function instancesOf<const Classes extends readonly ResolverClass[]>(
  classes: Classes,
  instances: InstancesOf<Classes>,
): ResolverInstances {
  return classes.map((type, index) => [type, instances[index] as object] as const);
}

/**
 * Fails at startup, not at the first request, when the modules give no instance for a class of
 * the schema's list, or one for a class the list lacks (its fields would silently be missing).
 */
export function checkResolvers(
  modules: readonly Pick<AppModule, 'resolvers'>[],
  schemaList: readonly ResolverClass[],
): void {
  const given = new Set(modules.flatMap((module) => module.resolvers.map(([type]) => type)));
  const listed = new Set<ResolverClass>(schemaList);
  const missing = [...listed].filter((type) => !given.has(type)).map((type) => type.name);
  const unlisted = [...given].filter((type) => !listed.has(type)).map((type) => type.name);
  if (missing.length || unlisted.length) {
    throw new Error(
      `resolvers out of step: no instance for [${missing.join(', ')}]; not in the schema's list: [${unlisted.join(', ')}]`,
    );
  }
}
