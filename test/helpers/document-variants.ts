import {
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
} from 'graphql';

/** One document for a root field, written the way some client somewhere writes it. */
export interface DocumentVariant {
  name: string;
  query: string;
  variables?: Record<string, unknown>;
}

export type OperationKind = 'query' | 'mutation' | 'subscription';

/**
 * Generates, for one root field and its argument values, the shapes independently written
 * clients send: variables named like the arguments (what codegen'd documents do), inline
 * literals, unrelated variable names, variables defaulted in the document and not sent, the
 * field aliased, the field in a named or inline fragment on the root type, the field's own
 * selection in a fragment, `__typename` added, and the operation unnamed. Each must give the
 * same result as the first.
 */
export function documentVariants(
  schema: GraphQLSchema,
  kind: OperationKind,
  fieldName: string,
  args: Record<string, unknown>,
): DocumentVariant[] {
  const root = rootType(schema, kind);
  const field = root.getFields()[fieldName];
  if (!field) throw new Error(`${root.name}.${fieldName} does not exist`);
  const given = field.args.filter((arg) => args[arg.name] !== undefined);
  const selection = selectionOf(field.type);
  const typedSelection = selection ? `{ __typename ${selection.slice(1)}` : '';
  const fragment = selection
    ? {
        spread: '{ ...Selected }',
        definition: `\nfragment Selected on ${getNamedType(field.type).name} ${selection}`,
      }
    : { spread: '', definition: '' };

  const withVariables = (names: (arg: string) => string, withDefaults = false) => {
    const definitions = given
      .map(
        (arg) =>
          `$${names(arg.name)}: ${String(arg.type)}${withDefaults ? ` = ${literalOf(args[arg.name], arg.type)}` : ''}`,
      )
      .join(', ');
    const call = given.map((arg) => `${arg.name}: $${names(arg.name)}`).join(', ');
    return {
      definitions: definitions ? `(${definitions})` : '',
      call: call ? `(${call})` : '',
      variables: withDefaults
        ? undefined
        : Object.fromEntries(given.map((arg) => [names(arg.name), args[arg.name]])),
    };
  };
  const same = withVariables((name) => name);
  const renamed = withVariables((name) => `v_${name}_${given.length}`);
  const defaulted = withVariables((name) => `d${name}`, true);
  const literals = given.map((arg) => `${arg.name}: ${literalOf(args[arg.name], arg.type)}`);
  const literalCall = literals.length ? `(${literals.join(', ')})` : '';
  const op = `Conformance_${fieldName}`;

  const variants: DocumentVariant[] = [
    {
      name: 'canonical (variables named like the arguments)',
      query: `${kind} ${op}${same.definitions} { ${fieldName}${same.call} ${selection} }`,
      variables: same.variables,
    },
    {
      name: 'inline literals',
      query: `${kind} ${op} { ${fieldName}${literalCall} ${selection} }`,
    },
    {
      name: 'variables with unrelated names',
      query: `${kind} ${op}${renamed.definitions} { ${fieldName}${renamed.call} ${selection} }`,
      variables: renamed.variables,
    },
    {
      name: 'variables defaulted in the document, none sent',
      query: `${kind} ${op}${defaulted.definitions} { ${fieldName}${defaulted.call} ${selection} }`,
    },
    {
      name: 'field aliased',
      query: `${kind} ${op}${same.definitions} { renamedByClient: ${fieldName}${same.call} ${selection} }`,
      variables: same.variables,
    },
    {
      name: 'field in a named fragment on the root type',
      query: `${kind} ${op}${same.definitions} { ...RootPart }\nfragment RootPart on ${root.name} { ${fieldName}${same.call} ${selection} }`,
      variables: same.variables,
    },
    {
      name: 'field in an inline fragment',
      query: `${kind} ${op}${renamed.definitions} { ... on ${root.name} { ${fieldName}${renamed.call} ${selection} } }`,
      variables: renamed.variables,
    },
    {
      name: "field's selection in a named fragment",
      query: `${kind} ${op} { ${fieldName}${literalCall} ${fragment.spread} }${fragment.definition}`,
    },
    {
      name: '__typename added',
      // A subscription may select one root field only, so __typename goes inside there.
      query:
        kind === 'subscription'
          ? `${kind} ${op}${same.definitions} { ${fieldName}${same.call} ${typedSelection} }`
          : `${kind} ${op}${same.definitions} { __typename ${fieldName}${same.call} ${typedSelection} }`,
      variables: same.variables,
    },
    {
      name: 'operation unnamed',
      query: `${kind}${renamed.definitions} { ${fieldName}${renamed.call} ${selection} }`,
      variables: renamed.variables,
    },
  ];
  return variants;
}

export function rootType(schema: GraphQLSchema, kind: OperationKind): GraphQLObjectType {
  const root =
    kind === 'query'
      ? schema.getQueryType()
      : kind === 'mutation'
        ? schema.getMutationType()
        : schema.getSubscriptionType();
  if (!root) throw new Error(`the schema has no ${kind} type`);
  return root;
}

export function rootFields(
  schema: GraphQLSchema,
  kind: OperationKind,
): Array<GraphQLField<unknown, unknown>> {
  return Object.values(rootType(schema, kind).getFields());
}

/** Every field reachable without required arguments, three object levels deep. */
export function selectionOf(type: GraphQLOutputType, depth = 3): string {
  const named = getNamedType(type);
  if (isLeafType(named)) return '';
  if (!isObjectType(named)) throw new Error(`no selection generator for ${named.name}`);
  const parts: string[] = [];
  for (const field of Object.values(named.getFields())) {
    if (field.args.some((arg) => isNonNullType(arg.type) && arg.defaultValue === undefined)) {
      continue;
    }
    const inner = getNamedType(field.type);
    if (isLeafType(inner)) parts.push(field.name);
    else if (depth > 1) parts.push(`${field.name} ${selectionOf(field.type, depth - 1)}`);
  }
  return `{ ${parts.join(' ')} }`;
}

/** A JavaScript value as a GraphQL literal of `type` (JSON scalars as object literals). */
export function literalOf(value: unknown, type: GraphQLInputType): string {
  if (value === null) return 'null';
  const nullable = getNullableType(type) as GraphQLInputType;
  if (isListType(nullable)) {
    const items = Array.isArray(value) ? value : [value];
    return `[${items.map((item) => literalOf(item, nullable.ofType)).join(', ')}]`;
  }
  if (isInputObjectType(nullable)) {
    const fields = nullable.getFields();
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .map(([key, v]) => `${key}: ${literalOf(v, fields[key]!.type)}`);
    return `{ ${entries.join(', ')} }`;
  }
  if (isEnumType(nullable)) return String(value);
  if (isScalarType(nullable) && /^JSON/.test(nullable.name)) return jsonLiteral(value);
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

function jsonLiteral(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `[${value.map(jsonLiteral).join(', ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).map(
      ([key, v]) => `${key}: ${jsonLiteral(v)}`,
    );
    return `{ ${entries.join(', ')} }`;
  }
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
