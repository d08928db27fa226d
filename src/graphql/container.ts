import type { ContainerType, ResolverData } from 'type-graphql';

type Constructor<T = unknown> = abstract new (...args: any[]) => T;

/**
 * The resolver instances of one app. TypeGraphQL keeps its build options in static state, so
 * the container is looked up from each request's context instead: two apps in one process
 * (a test that restarts the server) never share resolvers or services.
 */
export class ServiceContainer implements ContainerType {
  private readonly instances = new Map<unknown, unknown>();

  register<T>(type: Constructor<T>, instance: T): this {
    this.instances.set(type, instance);
    return this;
  }

  get(someClass: any, _resolverData?: ResolverData<any>): any {
    const instance = this.instances.get(someClass);
    if (!instance) throw new Error(`No instance registered for ${someClass?.name ?? someClass}`);
    return instance;
  }
}
