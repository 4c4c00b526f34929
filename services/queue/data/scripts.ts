// The waiting room's Lua scripts. Every decision (issue, poll, admit, end) is one script, so it
// is atomic even with several queue instances on one Redis; validation is one read-only script,
// one round trip. All of them read the clock with Redis TIME: one clock for every instance,
// whatever their own clocks say.
//
// Key layout (relative to the configured key prefix):
//   queue:token:<id>    hash  user, state (WAITING|ACTIVE|ENDED), seq, issuedAt, idleAt
//                             (waiting: leaves the line then unless polled), activatedAt,
//                             expiresAt (active), endedAt. Liveness is judged against the
//                             clock, so a lapsed token needs no rewrite; the hash is kept
//                             TOKEN_MEMORY_MS past its last deadline to answer EXPIRED.
//   queue:user:<userId> string the user's current token id (same expiry as its hash).
//   queue:waiting       zset  waiting token ids by issue number: ZRANK is the place in line.
//   queue:idle          zset  waiting token ids by idleAt: who leaves the line when.
//   queue:active        zset  active token ids by expiresAt: ZCARD after a purge is the load.
//   queue:seq           string the issue counter (strict issue order).
//   queue:admits        list  "<unix second>:<count>" newest first, one entry per second with
//                             admissions, trimmed to the estimate window.
//   queue:processed:<eventId> string  an event the queue has acted on (see endTokenForEvent).
// ioredis prefixes KEYS but not names built inside a script, so scripts that reach a token by
// id (admission, a user's current token) get the prefix in ARGV[1].
import { ADMISSION_WINDOW_SECONDS } from '../domain/estimate';

const PRELUDE = `
if redis.replicate_commands then redis.replicate_commands() end
local WINDOW = ${ADMISSION_WINDOW_SECONDS}

local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Drops lapsed tokens from the indexes (not their hashes: readers judge those by the clock).
local function purge(waiting, active, idle, now)
  redis.call('ZREMRANGEBYSCORE', active, '-inf', now)
  local gone = redis.call('ZRANGEBYSCORE', idle, '-inf', now)
  for i = 1, #gone, 500 do
    redis.call('ZREM', waiting, unpack(gone, i, math.min(i + 499, #gone)))
  end
  if #gone > 0 then redis.call('ZREMRANGEBYSCORE', idle, '-inf', now) end
end

-- 'ACTIVE' or 'WAITING' while the token is live, else false.
local function liveState(state, expiresAt, idleAt, now)
  if state == 'ACTIVE' and tonumber(expiresAt) > now then return 'ACTIVE' end
  if state == 'WAITING' and tonumber(idleAt) > now then return 'WAITING' end
  return false
end

-- A poll: the waiting token stays in line for another idle period.
local function refreshIdle(tokenKey, id, userKey, idle, now, idleMs, memoryMs)
  local deadline = now + idleMs
  redis.call('HSET', tokenKey, 'idleAt', deadline)
  redis.call('ZADD', idle, deadline, id)
  redis.call('PEXPIRE', tokenKey, idleMs + memoryMs)
  redis.call('PEXPIRE', userKey, idleMs + memoryMs)
  return deadline
end

local function recordAdmissions(admits, now, n)
  local sec = math.floor(now / 1000)
  local head = redis.call('LINDEX', admits, 0)
  if head then
    local hs, hn = string.match(head, '^(%d+):(%d+)$')
    if tonumber(hs) == sec then
      redis.call('LSET', admits, 0, sec .. ':' .. (tonumber(hn) + n))
      return
    end
  end
  redis.call('LPUSH', admits, sec .. ':' .. n)
  redis.call('LTRIM', admits, 0, WINDOW)
  redis.call('PEXPIRE', admits, WINDOW * 2000)
end

-- Ends the user's live token, if it was issued before issuedBefore (nil: whenever). The token
-- is remembered as ENDED (→ EXPIRED), with why (by: payment | operator) and, for a payment, the
-- reservation paid; its slot or place is freed at once; and every gateway is told on the
-- ended-tokens channel, so a pass it holds stops counting at once. → 1 ended | 0 none.
local function endCurrent(userKey, waiting, active, idle, prefix, memoryMs, now, issuedBefore,
    by, reservationId)
  local cur = redis.call('GET', userKey)
  if not cur then return 0 end
  local key = prefix .. 'queue:token:' .. cur
  local h = redis.call('HMGET', key, 'state', 'expiresAt', 'idleAt', 'issuedAt', 'user')
  if not liveState(h[1], h[2], h[3], now) then return 0 end
  if issuedBefore then
    local issuedAt = tonumber(h[4])
    if not issuedAt or issuedAt >= issuedBefore then return 0 end
  end
  redis.call('HSET', key, 'state', 'ENDED', 'endedAt', now, 'endedBy', by,
    'reservationId', reservationId)
  redis.call('PEXPIRE', key, memoryMs)
  redis.call('ZREM', waiting, cur)
  redis.call('ZREM', idle, cur)
  redis.call('ZREM', active, cur)
  redis.call('DEL', userKey)
  redis.call('PUBLISH', prefix .. 'queue:ended',
    cjson.encode({ id = cur, user = h[5], by = by, reservationId = reservationId }))
  return 1
end

local function admittedInWindow(admits, now)
  local since = math.floor(now / 1000) - WINDOW
  local total = 0
  for _, e in ipairs(redis.call('LRANGE', admits, 0, WINDOW)) do
    local s, n = string.match(e, '^(%d+):(%d+)$')
    if s and tonumber(s) > since then total = total + tonumber(n) end
  end
  return total
end
`;

export interface ScriptDef {
  numberOfKeys: number;
  lua: string;
}

/**
 * issueToken — KEYS: user, new token, waiting, active, idle, seq, admits.
 * ARGV: prefix, new id, user id, maxActive, ttlMs, idleMs, memoryMs.
 * → {created 0|1, id, state, position, deadline ms, seq}
 * A live token of the user is returned as is (a waiting one counts as polled). A new one is
 * ACTIVE at once only when nobody waits and a slot is free, so nobody jumps the line.
 */
const ISSUE: ScriptDef = {
  numberOfKeys: 7,
  lua: `${PRELUDE}
local userKey, newKey, waiting, active, idle, seqKey, admits =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local prefix, id, user = ARGV[1], ARGV[2], ARGV[3]
local maxActive, ttlMs, idleMs, memoryMs =
  tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local now = nowMs()
purge(waiting, active, idle, now)

local cur = redis.call('GET', userKey)
if cur then
  local curKey = prefix .. 'queue:token:' .. cur
  local h = redis.call('HMGET', curKey, 'state', 'expiresAt', 'idleAt', 'seq')
  local st = liveState(h[1], h[2], h[3], now)
  if st == 'ACTIVE' then
    return {0, cur, 'ACTIVE', 0, tonumber(h[2]), tonumber(h[4])}
  elseif st == 'WAITING' then
    local rank = redis.call('ZRANK', waiting, cur)
    if rank then
      local deadline = refreshIdle(curKey, cur, userKey, idle, now, idleMs, memoryMs)
      return {0, cur, 'WAITING', rank + 1, deadline, tonumber(h[4])}
    end
  end
end

local seq = redis.call('INCR', seqKey)
local state, position, deadline
if redis.call('ZCARD', waiting) == 0 and redis.call('ZCARD', active) < maxActive then
  state, position, deadline = 'ACTIVE', 0, now + ttlMs
  redis.call('HSET', newKey, 'user', user, 'state', state, 'seq', seq, 'issuedAt', now,
    'activatedAt', now, 'expiresAt', deadline)
  redis.call('ZADD', active, deadline, id)
  recordAdmissions(admits, now, 1)
else
  state, deadline = 'WAITING', now + idleMs
  redis.call('HSET', newKey, 'user', user, 'state', state, 'seq', seq, 'issuedAt', now,
    'idleAt', deadline)
  redis.call('ZADD', waiting, seq, id)
  redis.call('ZADD', idle, deadline, id)
  position = redis.call('ZRANK', waiting, id) + 1
end
redis.call('PEXPIRE', newKey, deadline - now + memoryMs)
redis.call('SET', userKey, id, 'PX', deadline - now + memoryMs)
return {1, id, state, position, deadline, seq}
`,
};

/**
 * getStatus — KEYS: token, caller's user key, waiting, active, idle, admits.
 * ARGV: token id, caller user id, idleMs, memoryMs.
 * → {'INVALID'|'MISMATCH'|'EXPIRED'} or {state, position, deadline ms, active count, admitted}
 * Counts as a poll: a waiting token's idle deadline moves on.
 */
const STATUS: ScriptDef = {
  numberOfKeys: 6,
  lua: `${PRELUDE}
local tokenKey, userKey, waiting, active, idle, admits =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local id, caller, idleMs, memoryMs = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local now = nowMs()
purge(waiting, active, idle, now)

local h = redis.call('HMGET', tokenKey, 'user', 'state', 'expiresAt', 'idleAt')
if not h[1] then return {'INVALID'} end
if h[1] ~= caller then return {'MISMATCH'} end
local st = liveState(h[2], h[3], h[4], now)
if st == 'ACTIVE' then
  return {'ACTIVE', 0, tonumber(h[3]), redis.call('ZCARD', active), admittedInWindow(admits, now)}
elseif st == 'WAITING' then
  local rank = redis.call('ZRANK', waiting, id)
  if rank then
    local deadline = refreshIdle(tokenKey, id, userKey, idle, now, idleMs, memoryMs)
    return {'WAITING', rank + 1, deadline, redis.call('ZCARD', active),
      admittedInWindow(admits, now)}
  end
end
return {'EXPIRED'}
`,
};

/**
 * validateToken — KEYS: token. ARGV: user id.
 * → {'OK', expiresAt ms} | {'EXPIRED', endedBy, reservationId} | {'INVALID'|'MISMATCH'|'NOT_ACTIVE'}
 * Read-only (no purge, no poll): a gateway asks it once per token and keeps the answer.
 */
const VALIDATE: ScriptDef = {
  numberOfKeys: 1,
  lua: `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = redis.call('HMGET', KEYS[1], 'user', 'state', 'expiresAt', 'idleAt', 'endedBy',
  'reservationId')
if not h[1] then return {'INVALID'} end
if h[1] ~= ARGV[1] then return {'MISMATCH'} end
if h[2] == 'ACTIVE' and tonumber(h[3]) > now then return {'OK', tonumber(h[3])} end
if h[2] == 'WAITING' and tonumber(h[4]) > now then return {'NOT_ACTIVE'} end
return {'EXPIRED', h[5] or '', h[6] or ''}
`,
};

/**
 * endToken — KEYS: user, waiting, active, idle. ARGV: prefix, memoryMs. → 1 ended | 0 none live.
 * An operator's end: the token is remembered as ENDED (→ EXPIRED), its slot or place freed.
 */
const END: ScriptDef = {
  numberOfKeys: 4,
  lua: `${PRELUDE}
return endCurrent(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], tonumber(ARGV[2]), nowMs(), nil,
  'operator', '')
`,
};

/**
 * endTokenForEvent — KEYS: user, waiting, active, idle, processed.
 * ARGV: prefix, memoryMs, occurredAt ms, processedMemoryMs, reservation id.
 * → 1 ended | 0 none | -1 seen before. The token ends by the payment of that reservation.
 * Marking the event processed and ending the token are one atomic step, so a redelivery ends
 * nothing; and only a token issued before the event counts, so neither a redelivery nor a late
 * event can end a token the user got after paying.
 */
const END_FOR_EVENT: ScriptDef = {
  numberOfKeys: 5,
  lua: `${PRELUDE}
if redis.call('EXISTS', KEYS[5]) == 1 then return -1 end
local ended = endCurrent(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], tonumber(ARGV[2]), nowMs(),
  tonumber(ARGV[3]), 'payment', ARGV[5])
-- Marked last: a script that fails midway is not rolled back, and must leave the event unmarked
-- so that its retry acts.
redis.call('SET', KEYS[5], '1', 'PX', ARGV[4])
return ended
`,
};

/**
 * admitWaiting — KEYS: waiting, active, idle, admits. ARGV: prefix, maxActive, ttlMs, memoryMs,
 * batch. → how many were admitted. The head of the line fills the free slots, at most `batch`
 * per call so one call never blocks Redis for long (the caller repeats while batches are full).
 */
const ADMIT: ScriptDef = {
  numberOfKeys: 4,
  lua: `${PRELUDE}
local waiting, active, idle, admits = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local prefix, maxActive, ttlMs, memoryMs, batch =
  ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local now = nowMs()
purge(waiting, active, idle, now)
local free = math.min(maxActive - redis.call('ZCARD', active), batch)
if free <= 0 then return 0 end
local ids = redis.call('ZRANGE', waiting, 0, free - 1)
if #ids == 0 then return 0 end
local expiresAt = now + ttlMs
for _, id in ipairs(ids) do
  local key = prefix .. 'queue:token:' .. id
  redis.call('HSET', key, 'state', 'ACTIVE', 'activatedAt', now, 'expiresAt', expiresAt)
  redis.call('PEXPIRE', key, ttlMs + memoryMs)
  redis.call('ZADD', active, expiresAt, id)
  local user = redis.call('HGET', key, 'user')
  if user then redis.call('PEXPIRE', prefix .. 'queue:user:' .. user, ttlMs + memoryMs) end
end
for i = 1, #ids, 500 do
  local last = math.min(i + 499, #ids)
  redis.call('ZREM', waiting, unpack(ids, i, last))
  redis.call('ZREM', idle, unpack(ids, i, last))
end
recordAdmissions(admits, now, #ids)
return #ids
`,
};

/** stats — KEYS: waiting, active, idle. → {waiting, active} live right now (read-only). */
const STATS: ScriptDef = {
  numberOfKeys: 3,
  lua: `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return {redis.call('ZCOUNT', KEYS[3], '(' .. now, '+inf'),
  redis.call('ZCOUNT', KEYS[2], '(' .. now, '+inf')}
`,
};

export const SCRIPTS = {
  queueIssueToken: ISSUE,
  queueGetStatus: STATUS,
  queueValidateToken: VALIDATE,
  queueEndToken: END,
  queueEndTokenForEvent: END_FOR_EVENT,
  queueAdmitWaiting: ADMIT,
  queueStats: STATS,
} as const;

export type ScriptName = keyof typeof SCRIPTS;
