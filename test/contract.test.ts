import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  buildSchema,
  isEnumType,
  isInputObjectType,
  isObjectType,
  parse,
  print,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLNamedType,
} from 'graphql';
import { SCHEMA_FILE } from '../src/graphql/schema-file';

/**
 * Every name and type the API contract (shared/CONTRACT.md) promises is in the committed
 * schema, with the same type. Additions are allowed; differences are not.
 */
const CONTRACT = path.resolve(__dirname, '..', '..', 'shared', 'CONTRACT.md');

const describeIfContract = existsSync(CONTRACT) ? describe : describe.skip;
if (!existsSync(CONTRACT))
  console.log(`skipping the contract check: ${CONTRACT} is not beside this checkout`);

/**
 * The "Additions" sections whose `graphql-planned` block this build implements (their issue is
 * resolved): each block is checked as part of the contract.
 */
const IMPLEMENTED_PLANNED = [
  'replies beyond text',
  'attachments',
  'usage, budgets and plans',
  'sign-in beyond passwords',
];

/**
 * Types a section's prose defines by likeness rather than in its block, written out as the prose
 * says them.
 */
const PROSE_TYPES: Record<string, string> = {
  // "`AttachmentConnection` pages like `ChatConnection`."
  attachments:
    'type AttachmentConnection { nodes: [Attachment!]!  totalCount: Int!  pageInfo: PageInfo! }',
  // `role: UserRole!` is defined in "accounts for teams and operators".
  'sign-in beyond passwords': 'enum UserRole { USER  ADMIN }',
};

/**
 * The contract's SDL with the planned blocks of `sections` added. A planned block names only
 * what it adds (`type Message { … parts: [MessagePart!]! }`): a type or input the contract
 * already has is extended, an enum it already has is replaced (the block lists every value).
 */
function withPlanned(markdown: string, sections: readonly string[]): string {
  let sdl = /```graphql\n([\s\S]*?)```/.exec(markdown)![1]!;
  for (const section of sections) {
    const start = markdown.indexOf(`): ${section}\n`);
    if (start < 0) throw new Error(`CONTRACT.md has no section "${section}"`);
    const block = /```graphql-planned\n([\s\S]*?)```/.exec(markdown.slice(start))![1]!;
    const planned = block.replace(/…/g, '') + '\n' + (PROSE_TYPES[section] ?? '');
    for (const [, kind, name] of planned.matchAll(/^(type|input|enum)\s+(\w+)/gm)) {
      const existing = new RegExp(`^${kind}\\s+${name}\\b[^{]*\\{[^}]*\\}`, 'm');
      if (!existing.test(sdl)) continue;
      if (kind === 'enum') sdl = sdl.replace(existing, '');
    }
    sdl +=
      '\n' +
      planned.replace(/^(type|input)\s+(\w+)/gm, (whole, kind: string, name: string) =>
        new RegExp(`^${kind}\\s+${name}\\b`, 'm').test(sdl) ? `extend ${kind} ${name}` : whole,
      );
  }
  return sdl;
}

describeIfContract('the schema keeps the API contract', () => {
  // A skipped describe still runs its body to collect tests: read nothing unless it is there.
  const contractSdl = existsSync(CONTRACT)
    ? withPlanned(readFileSync(CONTRACT, 'utf8'), IMPLEMENTED_PLANNED)
    : 'scalar Nothing';
  const contract = buildSchema(contractSdl);
  const ours = buildSchema(readFileSync(SCHEMA_FILE, 'utf8'));

  const namedTypes = Object.values(contract.getTypeMap()).filter(
    (type) => !type.name.startsWith('__'),
  );

  it.each(namedTypes.map((type) => [type.name, type] as [string, GraphQLNamedType]))(
    'should have %s as the contract shapes it',
    (name, type) => {
      const mine = ours.getType(name);
      expect(mine?.constructor.name).toBe(type.constructor.name);
      if (isObjectType(type) && isObjectType(mine)) {
        for (const field of Object.values(type.getFields()) as Array<
          GraphQLField<unknown, unknown>
        >) {
          const actual = mine.getFields()[field.name];
          expect(`${name}.${field.name}: ${actual?.type}`).toBe(
            `${name}.${field.name}: ${field.type}`,
          );
          for (const arg of field.args as GraphQLArgument[]) {
            const actualArg = actual!.args.find((a) => a.name === arg.name);
            expect(
              `${name}.${field.name}(${arg.name}: ${actualArg?.type} = ${actualArg?.defaultValue})`,
            ).toBe(`${name}.${field.name}(${arg.name}: ${arg.type} = ${arg.defaultValue})`);
          }
        }
      }
      if (isInputObjectType(type) && isInputObjectType(mine)) {
        for (const field of Object.values(type.getFields()) as GraphQLInputField[]) {
          expect(`${name}.${field.name}: ${mine.getFields()[field.name]?.type}`).toBe(
            `${name}.${field.name}: ${field.type}`,
          );
        }
      }
      if (isEnumType(type) && isEnumType(mine)) {
        expect(
          mine
            .getValues()
            .map((v) => v.name)
            .sort(),
        ).toEqual(
          type
            .getValues()
            .map((v) => v.name)
            .sort(),
        );
      }
    },
  );

  // Later issues add to the contract in further blocks ("type Chat { … pinned: Boolean! }"):
  // each named field and argument must be in the schema with the type the block gives.
  const additions = existsSync(CONTRACT)
    ? [...readFileSync(CONTRACT, 'utf8').matchAll(/```graphql\n([\s\S]*?)```/g)]
        .slice(1)
        .map((match) => parse(match[1]!.replaceAll('…', '')))
    : [];
  const added = additions.flatMap((document) =>
    document.definitions.flatMap((definition) => {
      if (
        definition.kind !== 'ObjectTypeDefinition' &&
        definition.kind !== 'InputObjectTypeDefinition'
      )
        return [];
      return (definition.fields ?? []).map(
        (field) => [`${definition.name.value}.${field.name.value}`, field] as const,
      );
    }),
  );

  it.each(added.map(([name, field]) => [name, field] as const))(
    'should have the addition %s as the contract shapes it',
    (name, field) => {
      const [typeName, fieldName] = name.split('.') as [string, string];
      const type = ours.getType(typeName);
      const fields =
        isObjectType(type) || isInputObjectType(type)
          ? (type.getFields() as Record<string, GraphQLField<unknown, unknown> | GraphQLInputField>)
          : {};
      const mine = fields[fieldName];
      expect(`${name}: ${mine?.type}`).toBe(`${name}: ${print(field.type)}`);
      if (field.kind === 'FieldDefinition') {
        for (const arg of field.arguments ?? []) {
          const actualArg = (mine as GraphQLField<unknown, unknown>).args.find(
            (a) => a.name === arg.name.value,
          );
          const expectedDefault = arg.defaultValue ? print(arg.defaultValue) : undefined;
          const actualDefault =
            actualArg?.astNode?.defaultValue !== undefined
              ? print(actualArg.astNode.defaultValue)
              : actualArg?.defaultValue === undefined
                ? undefined
                : JSON.stringify(actualArg.defaultValue);
          expect(`${name}(${arg.name.value}: ${actualArg?.type} = ${actualDefault})`).toBe(
            `${name}(${arg.name.value}: ${print(arg.type)} = ${expectedDefault})`,
          );
        }
      }
      if (field.kind === 'InputValueDefinition' && field.defaultValue) {
        const actual = (mine as GraphQLInputField).astNode?.defaultValue;
        expect(actual && print(actual)).toBe(print(field.defaultValue));
      }
    },
  );
});
