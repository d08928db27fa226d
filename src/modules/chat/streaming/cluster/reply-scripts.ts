import { replyKeys } from './redis-reply-keys';

/**
 * The Lua scripts that change a reply's shared state in one atomic step. Their arguments are
 * ReplyBatch JSONs (reply-batch.ts); ReplyBatchWriter runs the first, ReplyTakeover
 * the other two.
 */

/**
 * Writes the pending batches of every reply in one call: for each, checks that this instance
 * still owns the reply at that epoch, appends its entries (an id already written by an earlier
 * attempt is skipped), ends it, refreshes the TTLs, and publishes the batch on the reply's
 * channel. Returns one digit per reply, in order: 2 when written and heard by a follower on
 * another instance, 1 when written, 0 when refused (no longer ours).
 *
 * The reply keys are made here from the ids rather than passed as KEYS: a call writes the keys
 * of many replies, which a Redis Cluster could not do anyway (they hash to different slots), so
 * Palaver needs one Redis (with replicas) and declaring them bought nothing. Passing three keys
 * and an argument per reply made the writer's ioredis encode ~400 arguments a call; one joined
 * argument cut the writer's CPU per token (see bench/FINDINGS.md).
 * KEYS: the streaming set. ARGV: owner, streaming TTL, ended TTL, the ReplyBatch JSONs joined
 * by BATCH_SEPARATOR.
 */
export const WRITE_BATCHES_LUA = `
local owner = ARGV[1]
local streaming = KEYS[1]
local results = {}
for raw in string.gmatch(ARGV[4], '[^\\n]+') do
  local batch = cjson.decode(raw)
  local log = string.format('${replyKeys.log('%s')}', batch.id)
  local meta = string.format('${replyKeys.meta('%s')}', batch.id)
  local live = string.format('${replyKeys.live('%s')}', batch.id)
  local current = redis.call('HMGET', meta, 'owner', 'epoch', 'state')
  local ok = 0
  if not current[1] then
    if batch.o then
      redis.call('HSET', meta, 'userId', batch.u, 'owner', owner, 'epoch', batch.e, 'state', 'streaming')
      if batch.tp then redis.call('HSET', meta, 'traceparent', batch.tp) end
      redis.call('SADD', streaming, batch.id)
      ok = 1
    end
  elseif current[1] == owner and current[2] == batch.e and current[3] == 'streaming' then
    ok = 1
  end
  if ok == 1 then
    for _, entry in ipairs(batch.d) do
      redis.pcall('XADD', log, string.format('%d-0', entry[1]), entry[3] or 'd', entry[2])
    end
    if batch.x then
      redis.pcall('XADD', log, string.format('%d-0', batch.x), 'end', batch.del and '1' or '0')
      redis.call('HSET', meta, 'state', 'ended')
      redis.call('SREM', streaming, batch.id)
      redis.call('PEXPIRE', log, ARGV[3])
      redis.call('PEXPIRE', meta, ARGV[3])
    else
      redis.call('PEXPIRE', log, ARGV[2])
      redis.call('PEXPIRE', meta, ARGV[2])
    end
    if redis.call('PUBLISH', live, raw) > 0 then ok = 2 end
  end
  results[#results + 1] = ok
end
return table.concat(results)
`;

/**
 * Claims a reply whose owner is gone (or that a caller stops in its owner's place), once: only
 * the call that finds it streaming claims it, and the owner's later writes are refused. Returns
 * [its logged text, its last seq], or false when it had already ended. The claimer saves the
 * reply and then writes the end (END_LUA), so a follower that sees the end finds it saved.
 * KEYS: log, meta, streaming set. ARGV: message id.
 */
export const CLAIM_LUA = `
local log, meta, streaming = KEYS[1], KEYS[2], KEYS[3]
if redis.call('HGET', meta, 'state') ~= 'streaming' then
  redis.call('SREM', streaming, ARGV[1])
  return false
end
redis.call('HSET', meta, 'state', 'ended')
redis.call('SREM', streaming, ARGV[1])
local entries = {}
local last = 0
for _, entry in ipairs(redis.call('XRANGE', log, '-', '+')) do
  last = tonumber(string.match(entry[1], '^(%d+)'))
  local kind = entry[2][1]
  if kind == 'd' or kind == 'r' or kind == 't' then
    entries[#entries + 1] = kind
    entries[#entries + 1] = entry[2][2]
  end
end
return { last, entries }
`;

/**
 * The end entry of a claimed reply, logged and published. KEYS: log, meta, live. ARGV: the
 * ReplyBatch JSON carrying the end, its seq, ended TTL.
 */
export const END_LUA = `
redis.pcall('XADD', KEYS[1], string.format('%d-0', tonumber(ARGV[2])), 'end', '0')
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('PUBLISH', KEYS[3], ARGV[1])
return 1
`;
