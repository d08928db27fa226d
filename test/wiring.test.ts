import 'reflect-metadata';
import { checkResolvers, resolverClasses } from '../src/graphql/resolvers';
import { resolverOf } from '../src/kernel/app-module';
import { ChatResolver } from '../src/modules/chat/chat.resolver';

describe('wiring: one resolver list, checked when the app starts', () => {
  const everyListedResolver = () =>
    resolverClasses.map((type) => resolverOf(type as new () => object, {}));

  it('should accept modules that give an instance of every listed resolver and no other', () => {
    expect(() => checkResolvers([{ resolvers: everyListedResolver() }])).not.toThrow();
  });

  it('should refuse to start when a module forgets a resolver, naming it', () => {
    const withoutChat = everyListedResolver().filter(([type]) => type !== ChatResolver);
    expect(() => checkResolvers([{ resolvers: withoutChat }])).toThrow(
      /no instance for \[ChatResolver\]/,
    );
  });

  it('should refuse to start when a module gives a resolver the schema list lacks, naming it', () => {
    class StrayResolver {}
    const modules = [{ resolvers: [...everyListedResolver(), resolverOf(StrayResolver, {})] }];
    expect(() => checkResolvers(modules)).toThrow(
      /not in graphql\/resolvers.ts: \[StrayResolver\]/,
    );
  });
});
