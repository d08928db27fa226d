import type { Redis } from 'ioredis';

/** Sends `commands` in one pipeline and returns their answers (a failed one throws). */
export async function pipelineAnswers(
  redis: Redis,
  commands: Array<[string, ...string[]]>,
): Promise<unknown[]> {
  if (commands.length === 0) return [];
  const results = (await redis.pipeline(commands).exec()) ?? [];
  return results.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}
