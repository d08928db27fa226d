import {
  absDependencies,
  acosDependencies,
  addDependencies,
  asinDependencies,
  atanDependencies,
  cbrtDependencies,
  ceilDependencies,
  compileDependencies,
  cosDependencies,
  create,
  divideDependencies,
  eDependencies,
  expDependencies,
  floorDependencies,
  log10Dependencies,
  log2Dependencies,
  logDependencies,
  maxDependencies,
  minDependencies,
  modDependencies,
  multiplyDependencies,
  parseDependencies,
  piDependencies,
  powDependencies,
  roundDependencies,
  sinDependencies,
  sqrtDependencies,
  subtractDependencies,
  tanDependencies,
  tauDependencies,
  unaryMinusDependencies,
  unaryPlusDependencies,
  type MathNode,
} from 'mathjs/number';
import { z } from 'zod';
import { builtInTool } from './built-in-tool';

/**
 * mathjs's number-only build with nothing but arithmetic and a few functions. Its own
 * restrictions are not enough (a range `1:1e9` or `zeros(1e9)` exhausts memory; mathjs has had
 * sandbox escapes): the parsed tree is checked against an allow-list before it is evaluated,
 * with caps on length and size (research in the note of issue 31).
 */
const math = create({
  parseDependencies,
  compileDependencies,
  addDependencies,
  subtractDependencies,
  multiplyDependencies,
  divideDependencies,
  powDependencies,
  modDependencies,
  unaryMinusDependencies,
  unaryPlusDependencies,
  sqrtDependencies,
  cbrtDependencies,
  absDependencies,
  sinDependencies,
  cosDependencies,
  tanDependencies,
  asinDependencies,
  acosDependencies,
  atanDependencies,
  logDependencies,
  log10Dependencies,
  log2Dependencies,
  expDependencies,
  roundDependencies,
  floorDependencies,
  ceilDependencies,
  minDependencies,
  maxDependencies,
  piDependencies,
  eDependencies,
  tauDependencies,
});

const OPERATORS = new Set([
  'add',
  'subtract',
  'multiply',
  'divide',
  'pow',
  'mod',
  'unaryMinus',
  'unaryPlus',
]);
const FUNCTIONS = new Set([
  'sqrt',
  'cbrt',
  'abs',
  'sin',
  'cos',
  'tan',
  'asin',
  'acos',
  'atan',
  'log',
  'log10',
  'log2',
  'exp',
  'round',
  'floor',
  'ceil',
  'min',
  'max',
]);
const CONSTANTS = new Set(['pi', 'e', 'tau']);
export const MAX_EXPRESSION_LENGTH = 500;
const MAX_NODES = 200;

/** The value of an arithmetic expression, or why it is not one this calculator takes. */
export function calculate(expression: string): { value: number } | { error: string } {
  if (expression.length > MAX_EXPRESSION_LENGTH)
    return { error: `Expressions are at most ${MAX_EXPRESSION_LENGTH} characters.` };
  let tree: MathNode;
  try {
    tree = math.parse!(expression);
  } catch {
    return { error: 'That is not an arithmetic expression.' };
  }
  let refused: string | null = null;
  let nodes = 0;
  tree.traverse((node, _path, parent) => {
    if (refused) return;
    if ((nodes += 1) > MAX_NODES) refused = 'The expression is too long.';
    else refused = whyRefused(node, parent);
  });
  if (refused) return { error: refused };
  try {
    const value = tree.compile().evaluate({}) as unknown;
    if (typeof value !== 'number' || !Number.isFinite(value))
      return { error: 'The result is not a finite number.' };
    return { value };
  } catch {
    return { error: 'The expression could not be evaluated.' };
  }
}

function whyRefused(node: MathNode, parent: MathNode | null): string | null {
  const named = node as MathNode & { fn?: MathNode | string; name?: string; value?: unknown };
  switch (node.type) {
    case 'ConstantNode':
      return typeof named.value === 'number' ? null : 'Only numbers are allowed.';
    case 'ParenthesisNode':
      return null;
    case 'OperatorNode':
      return OPERATORS.has(named.fn as string) ? null : 'Only + - * / ^ and % are allowed.';
    case 'FunctionNode': {
      const fn = named.fn as MathNode & { name?: string };
      return fn.type === 'SymbolNode' && FUNCTIONS.has(fn.name ?? '')
        ? null
        : `Unknown function; allowed: ${[...FUNCTIONS].join(', ')}.`;
    }
    case 'SymbolNode': {
      const callee = parent?.type === 'FunctionNode' && (parent as { fn?: MathNode }).fn === node;
      return callee || CONSTANTS.has(named.name ?? '') ? null : 'Only pi, e and tau are named.';
    }
    default:
      return 'Only arithmetic is allowed.';
  }
}

export const calculator = (requiresApproval: boolean) =>
  builtInTool({
    name: 'calculator',
    description:
      'Evaluates an arithmetic expression exactly: + - * / ^ %, parentheses, sqrt, cbrt, abs, sin, cos, tan, asin, acos, atan, log, log10, log2, exp, round, floor, ceil, min, max, pi, e, tau.',
    schema: z.object({
      expression: z.string().min(1).max(MAX_EXPRESSION_LENGTH).describe('e.g. (2 + 3) * 4 ^ 2'),
    }),
    requiresApproval,
    run: async ({ expression }) => {
      const answer = calculate(expression);
      return 'value' in answer
        ? { result: String(answer.value), isError: false }
        : { result: answer.error, isError: true };
    },
  });
