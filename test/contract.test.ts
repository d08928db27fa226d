import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  buildSchema,
  isEnumType,
  isInputObjectType,
  isObjectType,
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

describeIfContract('the schema keeps the API contract', () => {
  // A skipped describe still runs its body to collect tests: read nothing unless it is there.
  const contractSdl = existsSync(CONTRACT)
    ? /```graphql\n([\s\S]*?)```/.exec(readFileSync(CONTRACT, 'utf8'))![1]!
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
});
