import {
  ApproveToolCallDocument,
  MessageStreamDocument,
  StopGenerationDocument,
  type MessageStreamSubscription,
} from './gql/graphql';
import { registerUser, type TestUser } from './helpers/accounts';
import { sendMessage } from './helpers/chat';
import { useClusterPair } from './helpers/cluster-pair';
import type { Subscription, TestSocket } from './helpers/ws-client';

type StreamEvent = MessageStreamSubscription['messageStream'];

/** Events of a subscription so far, failing on any error. */
function eventsOf(subscription: Subscription<MessageStreamSubscription>): StreamEvent[] {
  return subscription.events.map((event) => {
    if (event.errors) throw new Error(JSON.stringify(event.errors));
    return event.data!.messageStream;
  });
}

/** Waits until a subscription has an event that `matches`. */
async function until(
  subscription: Subscription<MessageStreamSubscription>,
  matches: (event: StreamEvent) => boolean,
): Promise<StreamEvent> {
  for (let count = 1; count < 500; count += 1) {
    await subscription.waitForEvents(count, 10_000);
    const found = eventsOf(subscription).find(matches);
    if (found) return found;
  }
  throw new Error('no such event');
}

/**
 * A reply that reasons and calls a tool needing approval, written on A, followed on both
 * instances, answered and stopped from B: every reasoning and tool event reaches each follower
 * once and in order, through Redis.
 */
describe('tools across two instances', () => {
  const cluster = useClusterPair({ env: { TOOLS_REQUIRE_APPROVAL: 'calculator' } });
  let user: TestUser;
  let onA: TestSocket;
  let onB: TestSocket;
  beforeAll(async () => {
    user = await registerUser(cluster.a);
    onA = cluster.a.socket(user.auth.accessToken);
    onB = cluster.b.socket(user.auth.accessToken);
  });
  afterAll(async () => {
    await Promise.all([onA?.dispose(), onB?.dispose()]);
  });
  const token = () => user.auth.accessToken;

  it('should run on A a call approved on B, each follower seeing every reasoning and tool event once', async () => {
    const { a, b } = cluster;
    a.openai.enqueue({
      reasoning: ['Let me', ' compute.'],
      toolCalls: [{ id: 'mul', name: 'calculator', arguments: { expression: '6*7' } }],
    });
    a.openai.enqueue({ reasoning: ['Got it.'], chunks: ['It is', ' 42.'] });
    const sent = await sendMessage(a, token(), { prompt: 'six sevens', tools: ['calculator'] });
    const messageId = sent.assistantMessage.id;
    const followA = onA.subscribe(MessageStreamDocument, { messageId });
    const followB = onB.subscribe(MessageStreamDocument, { messageId });
    const pending = await until(followB, (event) => event.toolCall?.status === 'PENDING_APPROVAL');
    // Nothing ran while it waited.
    expect(
      a.openai.streamingRequests().filter((r) => r.body.messages.some((m) => m.role === 'tool')),
    ).toHaveLength(0);
    const approved = await b
      .http()
      .data(
        ApproveToolCallDocument,
        { messageId, toolCallId: pending.toolCall!.id, approve: true },
        { token: token() },
      );
    expect(approved.approveToolCall.id).toBe(messageId);
    await Promise.all([followA.untilDone(20_000), followB.untilDone(20_000)]);
    const [seenA, seenB] = [eventsOf(followA), eventsOf(followB)];
    for (const events of [seenA, seenB]) {
      expect(events.map((event) => event.seq)).toEqual(events.map((_, i) => i + 1));
      expect(events.map((event) => event.reasoningDelta).join('')).toBe('Let me compute.Got it.');
      expect(events.map((event) => event.delta).join('')).toBe('It is 42.');
      expect(
        events
          .filter((event) => event.toolCall)
          .map((event) => [event.toolCall!.status, event.toolCall!.result]),
      ).toEqual([
        ['PENDING_APPROVAL', null],
        ['RUNNING', null],
        ['COMPLETE', '42'],
      ]);
      const done = events.at(-1)!;
      expect(done.message).toMatchObject({
        status: 'COMPLETE',
        content: 'It is 42.',
        reasoning: 'Let me compute.Got it.',
      });
      expect(done.message!.parts.map((part) => part.type)).toEqual([
        'REASONING',
        'TOOL_CALL',
        'REASONING',
        'TEXT',
      ]);
    }
    // Both instances handed on the same events.
    expect(seenB.map(({ message: _m, ...rest }) => rest)).toEqual(
      seenA.map(({ message: _m, ...rest }) => rest),
    );
    // The model was told the result in its second step.
    const second = a.openai.streamingRequests().at(-1)!;
    expect(second.body.messages).toEqual(
      expect.arrayContaining([expect.objectContaining({ role: 'tool', content: '42' })]),
    );
  });

  it('should stop from B a reply waiting on A for approval: STOPPED, the call FAILED, no further step', async () => {
    const { a, b } = cluster;
    a.openai.enqueue({
      toolCalls: [{ id: 'wait', name: 'calculator', arguments: { expression: '1+1' } }],
    });
    const sent = await sendMessage(a, token(), { prompt: 'wait for me', tools: ['calculator'] });
    const messageId = sent.assistantMessage.id;
    const followB = onB.subscribe(MessageStreamDocument, { messageId });
    await until(followB, (event) => event.toolCall?.status === 'PENDING_APPROVAL');
    const requests = a.openai.streamingRequests().length;
    const { stopGeneration } = await b
      .http()
      .data(StopGenerationDocument, { messageId }, { token: token() });
    expect(stopGeneration.status).toBe('STOPPED');
    await followB.untilDone(20_000);
    const events = eventsOf(followB);
    expect(events.map((event) => event.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.filter((event) => event.toolCall).map((event) => event.toolCall!.status)).toEqual(
      ['PENDING_APPROVAL', 'FAILED'],
    );
    expect(events.at(-1)!.message!.status).toBe('STOPPED');
    expect(a.openai.streamingRequests()).toHaveLength(requests);
    // A late approval is refused: nothing waits any more.
    const late = await b
      .http()
      .request(
        ApproveToolCallDocument,
        { messageId, toolCallId: 'wait', approve: true },
        { token: token() },
      );
    expect(late.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
