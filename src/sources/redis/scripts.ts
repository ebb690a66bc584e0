/**
 * Lua run server-side: one round trip and one atomic step per batch instead of a command per
 * key (measured 57 s → see docs/sources/redis.md for 1M keys). Scripts need EVAL in the user's
 * ACL; without it the code falls back to MULTI/pipelines.
 */

/** Marks a key the script left for the client to fetch alone (its batch had reached its byte budget). */
export const DEFERRED = -3;

/**
 * ARGV: cursor, count, byte budget → { next cursor, key, pttl, payload, … }. Once the payloads
 * exceed the budget, the remaining keys come back as (key, -3, '') so that a batch of large
 * values never builds one huge reply; the client then reads those one at a time.
 */
export const SCAN_DUMP_SCRIPT = `
local r = redis.call('SCAN', ARGV[1], 'COUNT', ARGV[2])
local budget = tonumber(ARGV[3])
local size = 0
local out = { r[1] }
for _, k in ipairs(r[2]) do
  if size > budget then
    out[#out + 1] = k
    out[#out + 1] = ${DEFERRED}
    out[#out + 1] = ''
  else
    local t = redis.call('PTTL', k)
    if t ~= -2 then
      local d = redis.call('DUMP', k)
      if d then
        size = size + string.len(d)
        out[#out + 1] = k
        out[#out + 1] = t
        out[#out + 1] = d
      end
    end
  end
end
return out
`;

/** ARGV: key, ttl, payload, key, ttl, payload, … → number restored. */
export const RESTORE_SCRIPT = `
for i = 1, #ARGV, 3 do
  redis.call('RESTORE', ARGV[i], ARGV[i + 1], ARGV[i + 2], 'REPLACE')
end
return #ARGV / 3
`;

/** True when an error means "scripts are not allowed here", so a fallback applies. Never throws. */
export function scriptsRefused(err: unknown): boolean {
  return /NOPERM|unknown command|noscript|not allowed|Lua scripting/i.test(err instanceof Error ? err.message : String(err));
}

/**
 * ARGV: cursor, count → { next cursor, key, type, pttl, sha1, … }. The sha1 covers the value in a
 * canonical form: set members and hash fields are hashed one by one and the hex hashes sorted
 * (hex sorts the same in every locale; Lua's `<` on raw strings follows the server's LC_COLLATE).
 */
export const FINGERPRINT_SCRIPT = `
local function lp(v) return string.len(v) .. ':' .. v end
local function sorted_hashes(items)
  local hs = {}
  for i, v in ipairs(items) do hs[i] = redis.sha1hex(v) end
  table.sort(hs)
  return table.concat(hs)
end
local r = redis.call('SCAN', ARGV[1], 'COUNT', ARGV[2])
local out = { r[1] }
for _, k in ipairs(r[2]) do
  local t = redis.call('TYPE', k)['ok']
  if t ~= 'none' then
    local p = redis.call('PTTL', k)
    local body = {}
    if t == 'string' then
      body = { lp(redis.call('GET', k)) }
    elseif t == 'list' or t == 'zset' then
      local items = t == 'list' and redis.call('LRANGE', k, 0, -1) or redis.call('ZRANGE', k, 0, -1, 'WITHSCORES')
      for i, v in ipairs(items) do body[i] = lp(v) end
    elseif t == 'set' then
      body = { sorted_hashes(redis.call('SMEMBERS', k)) }
    elseif t == 'hash' then
      local flat = redis.call('HGETALL', k)
      local pairs_ = {}
      for i = 1, #flat, 2 do pairs_[#pairs_ + 1] = lp(flat[i]) .. lp(flat[i + 1]) end
      body = { sorted_hashes(pairs_) }
    elseif t == 'stream' then
      for _, e in ipairs(redis.call('XRANGE', k, '-', '+')) do
        body[#body + 1] = lp(e[1])
        for _, f in ipairs(e[2]) do body[#body + 1] = lp(f) end
      end
    else
      body = { lp(redis.call('DUMP', k)) }
    end
    out[#out + 1] = k
    out[#out + 1] = t
    out[#out + 1] = p
    out[#out + 1] = redis.sha1hex(t .. '|' .. table.concat(body))
  end
end
return out
`;
