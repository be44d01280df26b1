//! The Lua scripts the cluster node runs with `EVAL`: each changes a room's
//! membership, takes the room's change number and publishes the change in
//! one atomic step, so every node sees changes in the order they were made.
//!
//! The created-room registry's scripts ([`CREATE`], [`SWEEP`],
//! [`SNAPSHOT`]) change the registry and take its version in one step too,
//! and publish on the lobby channel (see `ringport_chat::cluster::wire`).
//!
//! They compute lease and room keys inside the script, so they need a
//! single Redis (or a Sentinel-managed primary), not Redis Cluster; the
//! scripts that read `TIME` and then write rely on effects replication
//! (the default since Redis 5, the only mode since 7).

/// Room membership: prune members of dead nodes (lease key gone: `L`
/// published, with this node as origin) and, when `full_list` is 1, this
/// node's members not in the given list (leaves that could not be written
/// during an outage); then, if the room has room for them (`max` 0: no
/// check), add the given members that are missing (`E` published).
///
/// Created rooms (the room is in the registry's metadata hash): with
/// `created` 1 the room must still be open (else `{2, seq}`: gone); when
/// the membership empties, the room goes into the empty set scored by the
/// time (Redis `TIME`, ms); when it gains a member, it leaves the set.
/// After any change, the room's member count is published on the lobby
/// channel (`U`).
///
/// KEYS: members hash, change-number key, registry metadata hash, empty
/// set. ARGV: lease key prefix, channel, this node's id, max, full_list
/// (0/1), lobby channel, created (0/1), room number, then `unique id, user
/// id` pairs.
///
/// Returns `{1, seq, uid, "node user", ...}` (every live member after the
/// change), `{0, seq}` when full, or `{2, seq}` when the created room has
/// closed.
pub const SYNC: &str = r"
local node = ARGV[3]
local room = ARGV[8]
local seq = tonumber(redis.call('GET', KEYS[2]) or '0')
local created = redis.call('HEXISTS', KEYS[3], room) == 1
if ARGV[7] == '1' and not created then
  return {2, seq}
end
local all = redis.call('HGETALL', KEYS[1])
local full_list = ARGV[5] == '1'
local given = {}
for j = 9, #ARGV, 2 do given[ARGV[j]] = true end
local alive = {}
alive[node] = true
local live = {}
local count = 0
local changed = false
local function settle()
  if not changed then return end
  local n = redis.call('HLEN', KEYS[1])
  if created then
    if n == 0 then
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      redis.call('ZADD', KEYS[4], 'NX', now, room)
    else
      redis.call('ZREM', KEYS[4], room)
    end
  end
  redis.call('PUBLISH', ARGV[6], node .. ' 0 U ' .. room .. ' ' .. n)
end
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
    changed = true
    seq = redis.call('INCR', KEYS[2])
    redis.call('PUBLISH', ARGV[2], node .. ' ' .. seq .. ' L ' .. uid)
  end
end
local max = tonumber(ARGV[4])
local adds = 0
for j = 9, #ARGV, 2 do
  if redis.call('HEXISTS', KEYS[1], ARGV[j]) == 0 then adds = adds + 1 end
end
if max > 0 and count + adds > max then
  settle()
  return {0, seq}
end
for j = 9, #ARGV, 2 do
  local value = node .. ' ' .. ARGV[j + 1]
  if redis.call('HSETNX', KEYS[1], ARGV[j], value) == 1 then
    changed = true
    seq = redis.call('INCR', KEYS[2])
    redis.call('PUBLISH', ARGV[2], node .. ' ' .. seq .. ' E ' .. ARGV[j] .. ' ' .. ARGV[j + 1])
    live[#live + 1] = ARGV[j]
    live[#live + 1] = value
  end
end
settle()
local out = {1, seq}
for i = 1, #live do out[#out + 1] = live[i] end
return out
";

/// A member leaves: removed and `L` published if it was there; then the
/// room's count on the lobby channel (`U`) and, for a created room that
/// is now empty, the room into the empty set (scored by `TIME`, ms).
///
/// KEYS: members hash, change-number key, registry metadata hash, empty
/// set. ARGV: channel, this node's id, unique id, lobby channel, room.
pub const LEAVE: &str = r"
if redis.call('HDEL', KEYS[1], ARGV[3]) == 1 then
  local seq = redis.call('INCR', KEYS[2])
  redis.call('PUBLISH', ARGV[1], ARGV[2] .. ' ' .. seq .. ' L ' .. ARGV[3])
  local n = redis.call('HLEN', KEYS[1])
  if n == 0 and redis.call('HEXISTS', KEYS[3], ARGV[5]) == 1 then
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    redis.call('ZADD', KEYS[4], 'NX', now, ARGV[5])
  end
  redis.call('PUBLISH', ARGV[4], ARGV[2] .. ' 0 U ' .. ARGV[5] .. ' ' .. n)
end
return 1
";

/// Create a room, atomically: refused (`{code, 0}`) when the creator has
/// `per_user` rooms open (-2), the registry `max_rooms` (-3), or the name
/// is taken (-1), in that order (the protocol's 104, 105, 101). The number
/// is the counter's (at least `first`), skipping numbers still open; past
/// i32::MAX it wraps to `first` and takes the lowest free one (-3 when
/// none is). The room is registered (name, metadata, creator's count,
/// counter), put in the empty set (it has no members yet), the registry's
/// version taken and `O` published on the lobby channel.
///
/// KEYS: names hash, metadata hash, creators hash, number counter, empty
/// set, version counter. ARGV: key, creator, entry, per_user, max_rooms,
/// first, lobby channel, this node's id.
///
/// Returns `{number, version}` or `{code, 0}`.
pub const CREATE: &str = r"
local owned = tonumber(redis.call('HGET', KEYS[3], ARGV[2]) or '0')
if owned >= tonumber(ARGV[4]) then return {-2, 0} end
local open = redis.call('HLEN', KEYS[2])
if open >= tonumber(ARGV[5]) then return {-3, 0} end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return {-1, 0} end
local first = tonumber(ARGV[6])
local top = 2147483647
local n = tonumber(redis.call('GET', KEYS[4]) or '0') or 0
if n < first or n > top then n = first end
local tries = 0
while redis.call('HEXISTS', KEYS[2], string.format('%d', n)) == 1 do
  n = n + 1
  if n > top then n = first end
  tries = tries + 1
  if tries > open then return {-3, 0} end
end
local ns = string.format('%d', n)
redis.call('HSET', KEYS[1], ARGV[1], ns)
redis.call('HSET', KEYS[2], ns, ARGV[3])
redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
redis.call('SET', KEYS[4], string.format('%d', n + 1))
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[5], now, ns)
local v = redis.call('INCR', KEYS[6])
redis.call('PUBLISH', ARGV[7], ARGV[8] .. ' ' .. v .. ' O ' .. ns .. ' ' .. ARGV[3])
return {n, v}
";

/// Idle close: every created room in the empty set since at least
/// `idle_ms` ago (Redis `TIME`) whose membership hash is still empty is
/// removed from the registry (name, metadata, creator's count, its shared
/// history), the
/// version taken and `X` published on the lobby channel; at most 64 a run.
/// A room in the set that is not empty or not registered is only taken
/// out of the set.
///
/// KEYS: names hash, metadata hash, creators hash, empty set, version
/// counter. ARGV: idle ms, lobby channel, this node's id, room key prefix
/// (`PREFIXroom:`). Returns how many rooms closed.
pub const SWEEP: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now - tonumber(ARGV[1]), 'LIMIT', 0, 64)
local closed = 0
for _, ns in ipairs(due) do
  redis.call('ZREM', KEYS[4], ns)
  local entry = redis.call('HGET', KEYS[2], ns)
  if entry and redis.call('EXISTS', ARGV[4] .. ns .. ':members') == 0 then
    local max, cl, kl = string.match(entry, '^(%d+) (%d+) (%d+) ')
    if max then
      local h = #max + #cl + #kl + 3
      cl = tonumber(cl)
      kl = tonumber(kl)
      local creator = string.sub(entry, h + 1, h + cl)
      local key = string.sub(entry, h + cl + 2, h + cl + 1 + kl)
      if redis.call('HGET', KEYS[1], key) == ns then
        redis.call('HDEL', KEYS[1], key)
      end
      if redis.call('HINCRBY', KEYS[3], creator, -1) <= 0 then
        redis.call('HDEL', KEYS[3], creator)
      end
    end
    redis.call('HDEL', KEYS[2], ns)
    redis.call('DEL', ARGV[4] .. ns .. ':history', ARGV[4] .. ns .. ':log')
    local v = redis.call('INCR', KEYS[5])
    redis.call('PUBLISH', ARGV[2], ARGV[3] .. ' ' .. v .. ' X ' .. ns)
    closed = closed + 1
  end
end
return closed
";

/// The registry's snapshot: its version and every open created room with
/// its metadata entry and member count. Members of dead nodes (lease key
/// gone) are pruned from created rooms on the way, as [`SYNC`] does (`L`
/// on the room's channel, `U` on the lobby channel, the room into the
/// empty set when it empties), so a room whose members were all on a
/// crashed node still closes.
///
/// KEYS: version counter, metadata hash, empty set. ARGV: room key prefix
/// (`PREFIXroom:`), lease key prefix, lobby channel, this node's id.
///
/// Returns `{version, number, entry, count, ...}`.
pub const SNAPSHOT: &str = r"
local out = {tonumber(redis.call('GET', KEYS[1]) or '0') or 0}
local all = redis.call('HGETALL', KEYS[2])
local alive = {}
alive[ARGV[4]] = true
for i = 1, #all, 2 do
  local ns, entry = all[i], all[i + 1]
  local mkey = ARGV[1] .. ns .. ':members'
  local members = redis.call('HGETALL', mkey)
  local count = 0
  local pruned = false
  for j = 1, #members, 2 do
    local owner = string.match(members[j + 1], '^(%S+) ')
    local ok = false
    if owner then
      ok = alive[owner]
      if ok == nil then
        ok = redis.call('EXISTS', ARGV[2] .. owner) == 1
        alive[owner] = ok
      end
    end
    if ok then
      count = count + 1
    else
      redis.call('HDEL', mkey, members[j])
      local seq = redis.call('INCR', ARGV[1] .. ns .. ':seq')
      redis.call('PUBLISH', ARGV[1] .. ns, ARGV[4] .. ' ' .. seq .. ' L ' .. members[j])
      pruned = true
    end
  end
  if pruned then
    if count == 0 then
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      redis.call('ZADD', KEYS[3], 'NX', now, ns)
    end
    redis.call('PUBLISH', ARGV[3], ARGV[4] .. ' 0 U ' .. ns .. ' ' .. count)
  end
  out[#out + 1] = ns
  out[#out + 1] = entry
  out[#out + 1] = count
end
return out
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

/// Numbers a batch of chats (history on), in order: for each, takes the
/// room's next sequence number — starting the room's epoch from Redis
/// `TIME` (µs) the first time, or after the history keys were lost —,
/// appends the message to the room's stream (id `<seq>-0`, fields `t` Unix
/// ms, `p` the 223; capped at about `maxlen` entries: `MAXLEN ~` trims
/// whole stream nodes, so a few more may be kept, never fewer) and
/// publishes `ORIGIN 0 N EPOCH SEQ TIME <223>` on the room's channel, all
/// in one step: every node numbers the same, in the channel's order. One
/// call per batch (the node thread's consecutive chats), one `TIME`.
///
/// ARGV: this node's id, maxlen, room key prefix (`PREFIXroom:`, also the
/// channels' prefix), then `room, 223` pairs. Returns how many.
pub const CHAT: &str = r"
local t = redis.call('TIME')
local ms = t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000))
local fresh = t[1] .. string.format('%06d', tonumber(t[2]))
local epochs = {}
local n = 0
for i = 4, #ARGV - 1, 2 do
  local base = ARGV[3] .. ARGV[i]
  local hk, sk = base .. ':history', base .. ':log'
  local epoch = epochs[base]
  if not epoch then
    epoch = redis.call('HGET', hk, 'epoch')
    if not epoch then
      epoch = fresh
      redis.call('DEL', sk)
      redis.call('HSET', hk, 'epoch', epoch, 'seq', 0)
    end
    epochs[base] = epoch
  end
  local seq = redis.call('HINCRBY', hk, 'seq', 1)
  redis.call('XADD', sk, 'MAXLEN', '~', ARGV[2], seq .. '-0', 't', ms, 'p', ARGV[i + 1])
  redis.call('PUBLISH', base, ARGV[1] .. ' 0 N ' .. epoch .. ' ' .. seq .. ' ' .. ms .. ' ' .. ARGV[i + 1])
  n = n + 1
end
return n
";

/// A page of a room's shared history (the 314 semantics of
/// docs/PROTOCOL.md): the messages after `after` of `epoch` (`after`
/// `last`: the last `max`), at most `max`; `lost` when the epoch is not the
/// room's or `after` is older than the oldest kept. Starts the room's epoch
/// when it has none (as [`CHAT`] would).
///
/// KEYS: history hash, stream. ARGV: epoch, after (a number or `last`),
/// max. Returns `{epoch, last_seq, lost, more, entries}` (entries as
/// `XRANGE` gives them).
pub const HISTORY: &str = r"
local h = redis.call('HMGET', KEYS[1], 'epoch', 'seq')
local epoch, last = h[1], tonumber(h[2] or '0')
if not epoch then
  local t = redis.call('TIME')
  epoch = t[1] .. string.format('%06d', tonumber(t[2]))
  last = 0
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'seq', 0)
end
local max = tonumber(ARGV[3])
local head = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
local first = last + 1
if #head > 0 then
  first = tonumber(string.match(head[1][1], '^(%d+)'))
end
local lost, more, entries = 0, 0, {}
if ARGV[2] == 'last' then
  local rev = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', max)
  for i = #rev, 1, -1 do
    entries[#entries + 1] = rev[i]
  end
else
  local after = tonumber(ARGV[2])
  if ARGV[1] ~= epoch or after + 1 < first then
    if not (after == 0 and ARGV[1] ~= epoch and last == 0) then
      lost = 1
    end
    entries = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', max + 1)
  else
    if after < last then
      entries = redis.call('XRANGE', KEYS[2], string.format('%d-0', after + 1), '+', 'COUNT', max + 1)
    end
  end
  if #entries > max then
    more = 1
    entries[#entries] = nil
  end
end
return {epoch, last, lost, more, entries}
";
