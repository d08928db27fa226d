import { Deadline } from '../../llm/deadline';
import type { Logger } from '../../log/logger';
import type { ToolCallRequest } from '../../llm/model-client';
import type { ReplyTools } from '../chat/streaming/reply-steps';
import type { Approvals } from './approvals';
import type { ToolRegistry } from './tool-registry';
import { GenAi } from '../../telemetry/reply-telemetry';
import { inSpan, SpanStatusCode } from '../../telemetry/spans';
import { ToolSource, type Tool } from './tool';

/** A tool that has not answered by then is FAILED (the reply goes on). */
const TOOL_RUN_TIMEOUT_MS = 60_000;
/** The most of a tool's result (UTF-8 bytes) kept and sent back to the model. */
export const MAX_RESULT_BYTES = 64 * 1024;

/**
 * Builds the tools of one reply from the names its chat chose: their definitions for the
 * model, and how each call runs. A call of a tool that is not among them, arguments that do not
 * fit its schema, a tool that throws or takes too long: each is a FAILED call whose error the
 * model reads, never the reply's end. Only stopping the reply ends a call early.
 */
export class ToolRunner {
  constructor(
    private readonly registry: ToolRegistry,
    private readonly approvals: Approvals,
    private readonly maxSteps: number,
    private readonly logger: Logger,
  ) {}

  forReply(names: readonly string[], userId: string, messageId: string): ReplyTools | undefined {
    const tools = names.map((name) => this.registry.get(name)).filter((tool) => tool !== undefined);
    if (tools.length === 0) return undefined;
    const chosen = new Map(tools.map((tool) => [tool.name, tool]));
    return {
      definitions: tools.map(({ name, description, parameters }) => ({
        name,
        description,
        parameters,
      })),
      maxSteps: this.maxSteps,
      needsApproval: (call) => chosen.get(call.name)?.requiresApproval ?? false,
      approval: (callId, signal, pending) =>
        this.approvals.wait(messageId, callId, signal, pending),
      run: (call: ToolCallRequest, signal: AbortSignal) => {
        const tool = chosen.get(call.name);
        // The tool's name only when it is one of ours: the model may make one up.
        return inSpan(
          `execute_tool ${tool?.name ?? 'unknown'}`,
          toolAttributes(tool, call.id),
          async (span) => {
            const outcome = await this.run(tool, call, userId, signal);
            if (outcome.isError) span.setStatus({ code: SpanStatusCode.ERROR });
            return outcome;
          },
        );
      },
    };
  }

  private async run(
    tool: Tool | undefined,
    call: ToolCallRequest,
    userId: string,
    signal: AbortSignal,
  ): Promise<{ result: string; isError: boolean }> {
    if (!tool) return { result: `No tool named ${call.name.slice(0, 64)} here.`, isError: true };
    const unfit = tool.check(call.arguments);
    if (unfit) return { result: `The arguments do not fit: ${unfit}`, isError: true };
    const deadline = new Deadline(signal, TOOL_RUN_TIMEOUT_MS);
    try {
      // A tool that ignores its signal is not waited for past it.
      const outcome = await Promise.race([
        tool.run(call.arguments, { userId, signal: deadline.signal }),
        abortOf(deadline.signal),
      ]);
      signal.throwIfAborted();
      return { ...outcome, result: capped(outcome.result) };
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (deadline.timedOut) return { result: 'The tool took too long.', isError: true };
      this.logger.warn({ err: error, tool: call.name }, 'a tool failed');
      return { result: 'The tool failed.', isError: true };
    } finally {
      deadline.dispose();
    }
  }
}

/** GenAI's execute_tool attributes; an MCP tool also names its server (no convention yet). */
function toolAttributes(tool: Tool | undefined, callId: string) {
  return {
    [GenAi.OPERATION]: 'execute_tool',
    [GenAi.TOOL_NAME]: tool?.name ?? 'unknown',
    [GenAi.TOOL_CALL_ID]: callId,
    [GenAi.TOOL_TYPE]: tool?.source === ToolSource.MCP ? 'extension' : 'function',
    ...(tool?.server ? { 'mcp.server.name': tool.server } : {}),
  };
}

function abortOf(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

function capped(result: string): string {
  if (Buffer.byteLength(result) <= MAX_RESULT_BYTES) return result;
  // Cut at a character boundary: the decoder drops a character split at the cut.
  const head = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true })
    .decode(Buffer.from(result).subarray(0, MAX_RESULT_BYTES))
    .replace(/\uFFFD$/, '');
  return `${head}\n[the tool's result was cut at 64 KB]`;
}
