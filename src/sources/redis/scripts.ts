/**
 * Lua run server-side: one round trip and one atomic step per batch instead of a command per
 * key (measured 57 s → see docs/sources/redis.md for 1M keys). Scripts need EVAL in the user's
 * ACL; without it the code falls back to MULTI/pipelines.
 */

/** ARGV: cursor, count → { next cursor, key, pttl, payload, key, pttl, payload, … }. */
export const SCAN_DUMP_SCRIPT = `
local r = redis.call('SCAN', ARGV[1], 'COUNT', ARGV[2])
local out = { r[1] }
for _, k in ipairs(r[2]) do
  local t = redis.call('PTTL', k)
  if t ~= -2 then
    local d = redis.call('DUMP', k)
    if d then
      out[#out + 1] = k
      out[#out + 1] = t
      out[#out + 1] = d
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
