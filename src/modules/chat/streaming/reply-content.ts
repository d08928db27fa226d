import type { ProviderSignature, ReplyStep } from '../../../llm/model-client';
import { jsonObjectOf } from '../../../util/json-object';
import { MessagePartType, ToolCallStatus } from '../chat-enums';
import type { ToolCallState } from './reply-event';

/**
 * A tool call as it is saved: its arguments as JSON text, since a model writes their keys and
 * a stored document's keys must not be anyone's choice (`$`-keys and dots are operators and
 * paths to the database).
 */
export type StoredToolCall = Omit<ToolCallState, 'arguments'> & { arguments: string };

/** One part of a reply as it is saved (`MessageRecord.parts`). */
export interface StoredPart {
  type: MessagePartType;
  text?: string;
  toolCall?: StoredToolCall;
  /** What only the provider that gave it can read back (reasoning, or a tool call's step). */
  signature?: ProviderSignature;
}

type LivePart =
  | { type: MessagePartType.TEXT; pieces: string[] }
  | { type: MessagePartType.REASONING; pieces: string[]; signature?: ProviderSignature }
  | { type: MessagePartType.TOOL_CALL; call: ToolCallState; signature?: ProviderSignature };

/**
 * A reply's parts as they stream: answer text, reasoning and tool calls, in order. Text is kept
 * as its pieces, joined when saved: `content += text` would keep a string node per token alive
 * for the whole reply (and copy it twice through the young generation), a visible share of a
 * streaming server's garbage collection. A reply of text alone is saved as `content` only; its
 * parts are then that one text (see `partsOf`).
 */
export class ReplyContent {
  private readonly parts: LivePart[] = [];
  private last: LivePart | null = null;
  /** Grows with every change: partial saves compare it with what they saved. */
  private changes = 0;
  private textOnly = true;

  text(piece: string): void {
    const last = this.last;
    if (last !== null && last.type === MessagePartType.TEXT) last.pieces.push(piece);
    else this.open({ type: MessagePartType.TEXT, pieces: [piece] });
    this.changes += piece.length;
  }

  reasoning(piece: string): void {
    const last = this.last;
    if (last !== null && last.type === MessagePartType.REASONING && !last.signature)
      last.pieces.push(piece);
    else this.open({ type: MessagePartType.REASONING, pieces: [piece] });
    this.textOnly = false;
    this.changes += piece.length;
  }

  /** Seals the reasoning streamed last with the provider's signature (Anthropic). */
  reasoningSignature(signature: ProviderSignature): void {
    const last = this.last;
    if (last !== null && last.type === MessagePartType.REASONING) last.signature = signature;
    else this.open({ type: MessagePartType.REASONING, pieces: [], signature });
    this.textOnly = false;
    this.changes += 1;
  }

  /** A tool call's new state: added the first time its id is seen, replaced after. */
  toolCall(call: ToolCallState, signature?: ProviderSignature): void {
    const known = this.parts.find(
      (part) => part.type === MessagePartType.TOOL_CALL && part.call.id === call.id,
    ) as Extract<LivePart, { type: MessagePartType.TOOL_CALL }> | undefined;
    if (known) known.call = call;
    else this.open({ type: MessagePartType.TOOL_CALL, call, ...(signature ? { signature } : {}) });
    this.textOnly = false;
    this.changes += 1;
  }

  /** Whether a call of this id is part of the reply. */
  hasCall(id: string): boolean {
    return this.parts.some(
      (part) => part.type === MessagePartType.TOOL_CALL && part.call.id === id,
    );
  }

  /** Tool calls not yet ended (the reply stops) end FAILED with `error`; returns them. */
  endOpenCalls(error: string): ToolCallState[] {
    const ended: ToolCallState[] = [];
    for (const part of this.parts) {
      if (part.type !== MessagePartType.TOOL_CALL) continue;
      const { status } = part.call;
      if (status === ToolCallStatus.RUNNING || status === ToolCallStatus.PENDING_APPROVAL) {
        part.call = { ...part.call, status: ToolCallStatus.FAILED, error };
        ended.push(part.call);
        this.changes += 1;
      }
    }
    return ended;
  }

  get version(): number {
    return this.changes;
  }

  /** The answer text: every TEXT part. */
  get content(): string {
    return this.joined(MessagePartType.TEXT);
  }

  /** The reasoning, or null when there was none. */
  get reasoningText(): string | null {
    return this.textOnly ? null : this.joined(MessagePartType.REASONING) || null;
  }

  /** The parts to save, or null when the reply is text alone (`content` says it all). */
  stored(): StoredPart[] | null {
    if (this.textOnly) return null;
    return this.parts.map((part): StoredPart => {
      if (part.type === MessagePartType.TOOL_CALL) {
        return {
          type: part.type,
          toolCall: { ...part.call, arguments: JSON.stringify(part.call.arguments) },
          ...(part.signature ? { signature: part.signature } : {}),
        };
      }
      return {
        type: part.type,
        text: part.pieces.join(''),
        ...(part.type === MessagePartType.REASONING && part.signature
          ? { signature: part.signature }
          : {}),
      };
    });
  }

  /** What a save writes beside `content`: the parts and reasoning, when there are any. */
  savedFields(): { parts: StoredPart[]; reasoning: string | null } | null {
    const parts = this.stored();
    return parts ? { parts, reasoning: this.reasoningText } : null;
  }

  /** The reply so far as steps, for the model's next call. */
  steps(): ReplyStep[] {
    return stepsOf(this.stored() ?? [{ type: MessagePartType.TEXT, text: this.content }]);
  }

  private open(part: LivePart): void {
    this.parts.push(part);
    this.last = part;
  }

  private joined(type: MessagePartType): string {
    let text = '';
    for (const part of this.parts) {
      if (part.type !== MessagePartType.TOOL_CALL && part.type === type)
        text += part.pieces.join('');
    }
    return text;
  }
}

/**
 * A reply's parts as the model calls that made them: a step ends with its tool calls, and the
 * next starts at the text or reasoning that follows them (written back in each provider's form).
 */
export function stepsOf(parts: readonly StoredPart[]): ReplyStep[] {
  const steps: ReplyStep[] = [];
  let step: ReplyStep | null = null;
  for (const part of parts) {
    if (!step || (part.type !== MessagePartType.TOOL_CALL && step.toolCalls.length > 0)) {
      step = { reasoning: '', text: '', toolCalls: [] };
      steps.push(step);
    }
    if (part.type === MessagePartType.TEXT) step.text += part.text ?? '';
    else if (part.type === MessagePartType.REASONING) {
      step.reasoning += part.text ?? '';
      if (part.signature) step.reasoningSignature = part.signature;
    } else if (part.toolCall) {
      const call = part.toolCall;
      const failed = call.status !== ToolCallStatus.COMPLETE;
      step.toolCalls.push({
        id: call.id,
        name: call.name,
        arguments: argumentsOf(call),
        result: (failed ? call.error : call.result) ?? '',
        isError: failed,
        ...(part.signature ? { signature: part.signature } : {}),
      });
    }
  }
  return steps;
}

/** A saved tool call's arguments (an object; {} when the text is not one). */
export function argumentsOf(call: StoredToolCall): Record<string, unknown> {
  return jsonObjectOf(call.arguments);
}
