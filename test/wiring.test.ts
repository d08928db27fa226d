import 'reflect-metadata';
import { resolverClasses } from '../src/app';
import { checkResolvers, instancesOf } from '../src/graphql/app-module';
import { ChatResolver } from '../src/modules/chat/chat.resolver';

describe('wiring: one resolver list, from the modules, checked when the app starts', () => {
  const everyListedResolver = () => resolverClasses.map((type) => [type, {}] as const);

  it('should accept modules that give an instance of every listed resolver and no other', () => {
    expect(() =>
      checkResolvers([{ resolvers: everyListedResolver() }], resolverClasses),
    ).not.toThrow();
  });

  it('should refuse to start when a module forgets a resolver, naming it', () => {
    const withoutChat = everyListedResolver().filter(([type]) => type !== ChatResolver);
    expect(() => checkResolvers([{ resolvers: withoutChat }], resolverClasses)).toThrow(
      /no instance for \[ChatResolver\]/,
    );
  });

  it('should refuse to start when a module gives a resolver the schema list lacks, naming it', () => {
    class StrayResolver {}
    const modules = [
      { resolvers: [...everyListedResolver(), ...instancesOf([StrayResolver], [{}])] },
    ];
    expect(() => checkResolvers(modules, resolverClasses)).toThrow(
      /not in the schema's list: \[StrayResolver\]/,
    );
  });
});
