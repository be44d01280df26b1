//! The Lua scripts the cluster node runs with `EVAL`: each changes a room's
//! membership, takes the room's change number and publishes the change in
//! one atomic step, so every node sees changes in the order they were made.
//!
//! They compute lease keys inside the script, so they need a single Redis
//! (or a Sentinel-managed primary), not Redis Cluster.

/// Room membership: prune members of dead nodes (lease key gone: `L`
/// published, with this node as origin) and, when `full_list` is 1, this
/// node's members not in the given list (leaves that could not be written
/// during an outage); then, if the room has room for them (`max` 0: no
/// check), add the given members that are missing (`E` published).
///
/// KEYS: members hash, change-number key. ARGV: lease key prefix, channel,
/// this node's id, max, full_list (0/1), then `unique id, user id` pairs.
///
/// Returns `{1, seq, uid, "node user", ...}` (every live member after the
/// change) or `{0, seq}` when full.
pub const SYNC: &str = r"
local all = redis.call('HGETALL', KEYS[1])
local node = ARGV[3]
local full_list = ARGV[5] == '1'
local given = {}
for j = 6, #ARGV, 2 do given[ARGV[j]] = true end
local alive = {}
alive[node] = true
local seq = tonumber(redis.call('GET', KEYS[2]) or '0')
local live = {}
local count = 0
for i = 1, #all, 2 do
  local uid, v = all[i], all[i + 1]
  local owner = string.match(v, '^(%S+) ')
  local ok = false
  if owner == node and full_list and not given[uid] then
    ok = false
  elseif owner then
    ok = alive[owner]
    if ok == nil then
      ok = redis.call('EXISTS', ARGV[1] .. owner) == 1
      alive[owner] = ok
    end
  end
  if ok then
    count = count + 1
    live[#live + 1] = uid
    live[#live + 1] = v
  else
    redis.call('HDEL', KEYS[1], uid)
    seq = redis.call('INCR', KEYS[2])
    redis.call('PUBLISH', ARGV[2], node .. ' ' .. seq .. ' L ' .. uid)
  end
end
local max = tonumber(ARGV[4])
local adds = 0
for j = 6, #ARGV, 2 do
  if redis.call('HEXISTS', KEYS[1], ARGV[j]) == 0 then adds = adds + 1 end
end
if max > 0 and count + adds > max then
  return {0, seq}
end
for j = 6, #ARGV, 2 do
  local value = node .. ' ' .. ARGV[j + 1]
  if redis.call('HSETNX', KEYS[1], ARGV[j], value) == 1 then
    seq = redis.call('INCR', KEYS[2])
    redis.call('PUBLISH', ARGV[2], node .. ' ' .. seq .. ' E ' .. ARGV[j] .. ' ' .. ARGV[j + 1])
    live[#live + 1] = ARGV[j]
    live[#live + 1] = value
  end
end
local out = {1, seq}
for i = 1, #live do out[#out + 1] = live[i] end
return out
";

/// A member leaves: removed and `L` published if it was there.
///
/// KEYS: members hash, change-number key. ARGV: channel, this node's id,
/// unique id.
pub const LEAVE: &str = r"
if redis.call('HDEL', KEYS[1], ARGV[3]) == 1 then
  local seq = redis.call('INCR', KEYS[2])
  redis.call('PUBLISH', ARGV[1], ARGV[2] .. ' ' .. seq .. ' L ' .. ARGV[3])
end
return 1
";

/// Login claim: `SET NX PX`; on success a fresh unique id from the
/// counter, kept above `floor` (the highest id this node has seen, so a
/// Redis that lost its data does not hand out ids still in use).
///
/// KEYS: login key, unique-id counter. ARGV: value, ttl ms, floor.
/// Returns the unique id, or 0 when another session holds the id.
pub const CLAIM: &str = r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  local uid = redis.call('INCR', KEYS[2])
  if uid <= tonumber(ARGV[3]) then
    redis.call('SET', KEYS[2], ARGV[3])
    uid = redis.call('INCR', KEYS[2])
  end
  return uid
end
return 0
";

/// Login release: deleted only if still ours. KEYS: login key. ARGV: value.
pub const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// Claim refresh: each key still ours gets its expiry renewed; a key that
/// expired (an outage longer than the ttl) is taken again if free.
/// Returns how many keys are held by someone else.
///
/// KEYS: login keys. ARGV: ttl ms, then one value per key.
pub const REFRESH: &str = r"
local lost = 0
for i, key in ipairs(KEYS) do
  local v = redis.call('GET', key)
  if v == ARGV[i + 1] then
    redis.call('PEXPIRE', key, ARGV[1])
  elseif not v then
    redis.call('SET', key, ARGV[i + 1], 'PX', ARGV[1])
  else
    lost = lost + 1
  end
end
return lost
";
