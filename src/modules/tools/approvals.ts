import type { PalaverPubSub } from '../../pubsub/pubsub';

/** Per reply: the user's answer to a tool call that waits for approval, from any instance. */
export const TOOL_APPROVALS = 'TOOL_APPROVALS';

export interface ApprovalDecision {
  toolCallId: string;
  approve: boolean;
}

declare module '../../pubsub/pubsub' {
  interface TopicPayloads {
    [TOOL_APPROVALS]: [messageId: string, decision: ApprovalDecision];
  }
}

export type ApprovalAnswer = 'approved' | 'denied' | 'timed out';

/**
 * Carries approveToolCall's answer to the reply that waits for it, wherever that reply runs:
 * the pub/sub spans the instances when Redis is set. The reply listens before it shows the
 * call as pending (`pending`, which saves it), and approveToolCall answers only a call it
 * finds pending in the database, so no answer is sent before someone listens for it.
 */
export class Approvals {
  constructor(
    private readonly pubSub: PalaverPubSub,
    private readonly timeoutMs: number,
  ) {}

  async wait(
    messageId: string,
    toolCallId: string,
    signal: AbortSignal,
    pending: () => Promise<void>,
  ): Promise<ApprovalAnswer> {
    signal.throwIfAborted();
    const decisions = this.pubSub.subscribe(TOOL_APPROVALS, messageId);
    // The subscription listens from its first read: start it before the call is shown.
    let next = decisions.next();
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      await pending();
      const answered = (async (): Promise<ApprovalAnswer> => {
        for (;;) {
          const decision = await next;
          if (decision.done) return 'timed out';
          if (decision.value.toolCallId === toolCallId)
            return decision.value.approve ? 'approved' : 'denied';
          next = decisions.next();
        }
      })();
      const timedOut = new Promise<ApprovalAnswer>((resolve) => {
        timer = setTimeout(() => resolve('timed out'), this.timeoutMs);
      });
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(signal.reason);
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      });
      return await Promise.race([answered, timedOut, aborted]);
    } finally {
      clearTimeout(timer);
      if (onAbort) signal.removeEventListener('abort', onAbort);
      await decisions.return?.();
    }
  }

  decide(messageId: string, decision: ApprovalDecision): void {
    this.pubSub.publish(TOOL_APPROVALS, messageId, decision);
  }
}
