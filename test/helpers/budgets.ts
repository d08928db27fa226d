import { setTimeout as sleep } from 'node:timers/promises';
import { errorCode } from './http-client';
import { MessageStatus } from '../../src/modules/chat/chat-enums';
import type { TestApp } from './test-app';

export const SEND_FOR_BUDGET =
  'mutation S($input: SendMessageInput!) { sendMessage(input: $input) { assistantMessage { id } } }';
export const BUDGET_QUERY =
  'query { budget { period limitTokens limitCostUsd resetsAt plan used { totalTokens costUsd replies } } }';

/**
 * The plan of the budget tests: 510 tokens a month fit 3 reservations of 167 (a prompt of up
 * to 9 characters: 3 + 64 framing tokens, plus LLM_MAX_REPLY_TOKENS=100), not 4.
 */
export const BUDGET_ENV = {
  LLM_MAX_REPLY_TOKENS: '100',
  PLANS: JSON.stringify([
    { id: 'starter', name: 'Starter', monthlyTokens: 510, models: ['gpt-test'] },
    { id: 'pro', name: 'Pro', monthlyTokens: 1_000_000 },
  ]),
  DEFAULT_PLAN: 'starter',
};
export const RESERVATION_TOKENS = 167;
export const PLAN_TOKENS = 510;

/** A reply that uses nearly all of its reservation (160 of 167), slowly enough to overlap. */
export const FULL_REPLY = {
  chunks: ['a', ' b', ' c', ' d'],
  delayMs: 25,
  usage: { prompt_tokens: 60, completion_tokens: 100 },
};

/** Sends a prompt; the error code, or 'OK'. */
export async function trySend(app: TestApp, token: string, prompt: string): Promise<string> {
  const result = await app.http().raw(SEND_FOR_BUDGET, { input: { prompt } }, { token });
  return String(errorCode(result) ?? 'OK');
}

/** Waits until the user's replies have ended and their counts (replies and titles) landed. */
export async function settled(app: TestApp, userId: string, calls: number): Promise<void> {
  const { Message, UsageRecord } = app.app.models;
  const deadline = Date.now() + 20_000;
  while (
    (await Message.countDocuments({ userId, status: MessageStatus.STREAMING })) > 0 ||
    (await UsageRecord.countDocuments({ userId })) < calls
  ) {
    if (Date.now() > deadline) throw new Error(`the replies of ${userId} did not settle`);
    await sleep(50);
  }
  await sleep(100);
}

export async function budgetOf(app: TestApp, token: string) {
  const result = await app.http().raw(BUDGET_QUERY, {}, { token });
  if (result.errors) throw new Error(JSON.stringify(result.errors));
  return (result.data as any).budget as {
    period: string;
    limitTokens: number | null;
    resetsAt: string;
    plan: string;
    used: { totalTokens: number; costUsd: number; replies: number };
  };
}
