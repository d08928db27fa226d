import type {
  ModelClient,
  PromptMessage,
  ReportedUsage,
  ToolCallRequest,
  ToolDefinition,
} from '../../../llm/model-client';
import type { ProviderName } from '../../../config/provider-names';
import { ReplyTelemetry, type ReplyWatch } from '../../../telemetry/reply-telemetry';
import { ToolCallStatus } from '../chat-enums';
import type { Coalescer } from './coalescer';
import type { ReplyContent } from './reply-content';
import type { ReplyLog } from './reply-log';

/** The tools a reply may call, and how they run (the chat's choice, see modules/tools). */
export interface ReplyTools {
  definitions: ToolDefinition[];
  /** Model calls a reply may make, the last one without tools (so it answers). */
  maxSteps: number;
  /** Runs one call; a failure is an outcome (sent to the model), never a throw, unless aborted. */
  run(call: ToolCallRequest, signal: AbortSignal): Promise<{ result: string; isError: boolean }>;
  /** Whether this call waits for the user's approval before it runs. */
  needsApproval(call: ToolCallRequest): boolean;
  /**
   * Waits for approveToolCall of this call; `pending` makes the wait visible first (it saves
   * the reply's parts, where approveToolCall looks for the call).
   */
  approval(
    callId: string,
    signal: AbortSignal,
    pending: () => Promise<void>,
  ): Promise<'approved' | 'denied' | 'timed out'>;
}

/** What the model is told of a call that did not run. */
const NOT_APPROVED = {
  denied: 'The user did not approve this call.',
  'timed out': 'No approval came in time; the call did not run.',
} as const;

export interface ReplyRequest {
  messageId: string;
  chatId: string;
  userId: string;
  modelClient: ModelClient;
  /** The provider whose client it is (traces and metrics name it). */
  provider: ProviderName;
  model: string;
  messages: PromptMessage[];
  /** Ask the model for its reasoning (it can give it). */
  reasoning?: boolean;
  tools?: ReplyTools;
  /** Told the reply's usage once it has ended, however it ended (its budget settles). */
  settle?: (usage: ReportedUsage | null) => void;
}

/**
 * The model calls of one reply and the tool calls between them: what a reply does while it
 * streams, apart from its lifecycle (Reply: start, stop, the saves).
 */
export class ReplySteps {
  constructor(
    private readonly request: ReplyRequest,
    private readonly content: ReplyContent,
    private readonly log: ReplyLog,
    private readonly signal: AbortSignal,
    private readonly onUsage: (usage: ReportedUsage) => void,
    /** Saves the parts (a call that waits for approval is then found by approveToolCall). */
    private readonly savePending: () => Promise<void>,
    /** Told when a call starts and stops waiting for the user (the reply's clock stops then). */
    private readonly onWaiting: (waiting: boolean) => void = () => {},
    /** The reply's spans and figures. */
    private readonly watch: ReplyWatch = new ReplyTelemetry().start(request),
  ) {}

  /**
   * Model calls until one asks for no tool, at most `maxSteps` (the last offered no tools):
   * each call's tool calls run in order, each shown as it starts and as it ends, and the next
   * call sees them with their outcomes. Answer text and reasoning are coalesced apart; one is
   * flushed before the other starts, so their events keep the order the model gave.
   */
  async run(text: Coalescer, reasoning: Coalescer): Promise<void> {
    const { request } = this;
    const maxSteps = request.tools ? request.tools.maxSteps : 1;
    const signal = this.signal;
    let messages = request.messages;
    for (let step = 1; ; step += 1) {
      const calls: ToolCallRequest[] = [];
      const watch = this.watch;
      await watch.modelCall(step, () =>
        request.modelClient.stream(
          {
            model: request.model,
            messages,
            signal,
            reasoning: request.reasoning,
            tools: request.tools && step < maxSteps ? request.tools.definitions : undefined,
          },
          {
            delta: (piece) => {
              watch.chunk();
              reasoning.flush();
              this.content.text(piece);
              text.push(piece);
            },
            reasoning: (piece) => {
              watch.chunk();
              text.flush();
              this.content.reasoning(piece);
              reasoning.push(piece);
            },
            reasoningSignature: (signature) => this.content.reasoningSignature(signature),
            toolCall: (call) => calls.push(call),
            usage: (usage) => {
              watch.usage(usage);
              this.onUsage(usage);
            },
          },
        ),
      );
      if (calls.length === 0 || !request.tools) return;
      reasoning.flush();
      text.flush();
      // A model that asks for tools at its last step, offered none, gets no further step.
      if (step >= maxSteps)
        return this.refuse(
          calls,
          step,
          `The reply reached its limit of ${maxSteps} model calls; this call did not run.`,
        );
      for (const asked of calls) {
        const call = this.unique(asked, step);
        if (isTooDeep(call.arguments)) {
          this.refuse([{ ...call, arguments: {} }], step, 'The arguments are nested too deeply.');
        } else await this.runTool(call, request.tools, signal);
      }
      messages = [
        ...request.messages,
        { role: 'assistant', content: this.content.content, steps: this.content.steps() },
      ];
    }
  }

  /**
   * A call whose id this reply already used (a server that numbers each response's calls from
   * 0) gets one of its own: events, parts, approvals and history tell calls apart by id.
   */
  private unique(call: ToolCallRequest, step: number): ToolCallRequest {
    if (!this.content.hasCall(call.id)) return call;
    let id = `${call.id}_${step}`;
    for (let n = 2; this.content.hasCall(id); n += 1) id = `${call.id}_${step}_${n}`;
    return { ...call, id };
  }

  private refuse(calls: ToolCallRequest[], step: number, error: string): void {
    for (const asked of calls) {
      const call = this.unique(asked, step);
      const failed = {
        id: call.id,
        name: call.name,
        arguments: call.arguments,
        status: ToolCallStatus.FAILED,
        result: null,
        error,
      };
      this.content.toolCall(failed, call.signature);
      this.log.appendToolCall(failed);
      this.watch.toolEnded(call.name, 'failed', this.offers(call.name));
    }
  }

  private async runTool(call: ToolCallRequest, tools: ReplyTools, signal: AbortSignal) {
    const asked = {
      id: call.id,
      name: call.name,
      arguments: call.arguments,
      status: ToolCallStatus.PENDING_APPROVAL,
      result: null,
      error: null,
    };
    if (tools.needsApproval(call)) {
      this.content.toolCall(asked, call.signature);
      this.onWaiting(true);
      let answer: Awaited<ReturnType<ReplyTools['approval']>>;
      try {
        // Saved before it is shown: a client that approves at once finds the call waiting.
        answer = await tools.approval(call.id, signal, async () => {
          await this.savePending();
          this.log.appendToolCall(asked);
        });
      } finally {
        this.onWaiting(false);
      }
      if (answer !== 'approved') {
        const denied = { ...asked, status: ToolCallStatus.DENIED, error: NOT_APPROVED[answer] };
        this.content.toolCall(denied);
        this.log.appendToolCall(denied);
        this.watch.toolEnded(call.name, 'denied', true);
        return;
      }
    }
    const started = { ...asked, status: ToolCallStatus.RUNNING };
    this.content.toolCall(started, call.signature);
    this.log.appendToolCall(started);
    const outcome = await tools.run(call, signal);
    signal.throwIfAborted();
    const ended = {
      ...started,
      status: outcome.isError ? ToolCallStatus.FAILED : ToolCallStatus.COMPLETE,
      result: outcome.isError ? null : outcome.result,
      error: outcome.isError ? outcome.result : null,
    };
    this.content.toolCall(ended);
    this.log.appendToolCall(ended);
    this.watch.toolEnded(
      call.name,
      outcome.isError ? 'failed' : 'complete',
      this.offers(call.name),
    );
  }

  /** Whether the reply offered a tool of this name (a made-up name is no metric label). */
  private offers(name: string): boolean {
    return this.request.tools?.definitions.some((tool) => tool.name === name) ?? false;
  }
}

/** Arguments nested deeper than any tool needs: refused before they are kept or sent on. */
const MAX_ARGUMENT_DEPTH = 32;

function isTooDeep(value: unknown): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (item === null || typeof item !== 'object') continue;
    if (depth >= MAX_ARGUMENT_DEPTH) return true;
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Usage summed over a reply's steps. */
export function addUsage(sum: ReportedUsage | null, usage: ReportedUsage): ReportedUsage {
  if (!sum) return usage;
  const reasoningTokens =
    sum.reasoningTokens === undefined && usage.reasoningTokens === undefined
      ? undefined
      : (sum.reasoningTokens ?? 0) + (usage.reasoningTokens ?? 0);
  return {
    promptTokens: sum.promptTokens + usage.promptTokens,
    completionTokens: sum.completionTokens + usage.completionTokens,
    totalTokens: sum.totalTokens + usage.totalTokens,
    ...(reasoningTokens === undefined ? {} : { reasoningTokens }),
  };
}
