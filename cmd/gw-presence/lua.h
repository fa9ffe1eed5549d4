/*
 * lua.h -- the Redis scripts of gw-presence.
 *
 * gw:{C}:u is a hash of channel C's present users: field the user id,
 * value {"n":{"INST":MS,...},"i":INFO}, the instances (NODE/RAND, see
 * presence.h) that hold the user, each with when it first saw them, and
 * the user's info as raw JSON text.  A user is present while n is not
 * empty.  Values and frames are built by string concatenation, with
 * cjson.encode only for strings, and INFO is never decoded: cjson would
 * change its big numbers and empty arrays.  Instance ids hold no braces
 * (main.c checks node names), so %b{} finds the end of n.
 *
 * Events go out on gw:{C}:p as "!" ACTOR "\n" FRAME, ACTOR being 16 hex
 * digits, for gw-bridge to pass on as GW_MSG_BRIDGE_EVENT.
 */
#ifndef GW_PRESENCE_LUA_H
#define GW_PRESENCE_LUA_H

/* Shared helpers, prepended to the scripts that need them. */
#define LUA_PCOMMON \
"local function parse(v)\n" \
"  local ns, i = string.match(v, '^{\"n\":(%b{}),\"i\":(.+)}$')\n" \
"  if not ns then return nil end\n" \
"  local ok, n = pcall(cjson.decode, ns)\n" \
"  if not ok or type(n) ~= 'table' then return nil end\n" \
"  return n, i\n" \
"end\n" \
"local function enc(n, i)\n" \
"  local t = {}\n" \
"  for k, s in pairs(n) do\n" \
"    t[#t + 1] = cjson.encode(k) .. ':' .. string.format('%.0f', s)\n" \
"  end\n" \
"  return '{\"n\":{' .. table.concat(t, ',') .. '},\"i\":' .. i .. '}'\n" \
"end\n" \
"local function frame(ty, ch, u, i)\n" \
"  return '{\"type\":\"' .. ty .. '\",\"channel\":' .. cjson.encode(ch) ..\n" \
"    ',\"userId\":' .. cjson.encode(u) .. ',\"info\":' .. i .. '}'\n" \
"end\n" \
"local function leave(k, u, inst, pub, actor, ch, quiet)\n" \
"  local v = redis.call('HGET', k, u)\n" \
"  if not v then return 0 end\n" \
"  local n, i = parse(v)\n" \
"  if not n or n[inst] == nil then return 0 end\n" \
"  n[inst] = nil\n" \
"  if next(n) ~= nil then\n" \
"    redis.call('HSET', k, u, enc(n, i))\n" \
"    return 0\n" \
"  end\n" \
"  redis.call('HDEL', k, u)\n" \
"  if quiet ~= '1' then\n" \
"    redis.call('PUBLISH', pub, '!' .. actor .. '\\n' ..\n" \
"      frame('presence.leave', ch, u, i))\n" \
"  end\n" \
"  return 1\n" \
"end\n"

/*
 * Join.  KEYS: gw:{C}:u.  ARGV: user, instance, since (ms), info,
 * pub/sub channel, actor (16 hex), channel, quiet ('1': no event).
 * Adds the instance to the user's n, keeping the least since and the
 * info of the first join; publishes presence.join if the user was
 * absent.  Returns 1 if the user was absent, else 0.
 */
#define LUA_JOIN LUA_PCOMMON \
"local v = redis.call('HGET', KEYS[1], ARGV[1])\n" \
"local n, i\n" \
"if v then n, i = parse(v) end\n" \
"if not n then n = {}; i = ARGV[4] end\n" \
"local was = next(n) ~= nil\n" \
"local s = tonumber(ARGV[3])\n" \
"if n[ARGV[2]] == nil or s < n[ARGV[2]] then n[ARGV[2]] = s end\n" \
"redis.call('HSET', KEYS[1], ARGV[1], enc(n, i))\n" \
"if was then return 0 end\n" \
"if ARGV[8] ~= '1' then\n" \
"  redis.call('PUBLISH', ARGV[5], '!' .. ARGV[6] .. '\\n' ..\n" \
"    frame('presence.join', ARGV[7], ARGV[1], i))\n" \
"end\n" \
"return 1\n"

/*
 * Leave.  KEYS: gw:{C}:u.  ARGV: user, instance, pub/sub channel, actor,
 * channel, quiet.  Removes the instance from the user's n; the user
 * goes, with presence.leave, when n is empty.  Returns 1 if the user
 * went, else 0.
 */
#define LUA_LEAVE LUA_PCOMMON \
"return leave(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5],\n" \
"  ARGV[6])\n"

/*
 * Query.  KEYS: gw:{C}:u.  ARGV: most users.  Returns {count, user,
 * value, ...}: every user if there are at most that many, else that many
 * drawn at random.  One round trip whatever the channel's size.
 */
#define LUA_QUERY \
"local c = redis.call('HLEN', KEYS[1])\n" \
"local r\n" \
"if c <= tonumber(ARGV[1]) then\n" \
"  r = redis.call('HGETALL', KEYS[1])\n" \
"else\n" \
"  r = redis.call('HRANDFIELD', KEYS[1], ARGV[1], 'WITHVALUES')\n" \
"end\n" \
"table.insert(r, 1, c)\n" \
"return r\n"

/*
 * Lease.  KEYS: gw:lease:INST, gw:nodes.  ARGV: instance, ttl (ms).
 * Sets the lease and the instance's expiry in gw:nodes (Redis time +
 * ttl).  Returns 1 if the lease was still there, 0 if it had lapsed.
 */
#define LUA_LEASE \
"local had = redis.call('EXISTS', KEYS[1])\n" \
"redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])\n" \
"local t = redis.call('TIME')\n" \
"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n" \
"redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])\n" \
"return had\n"

/*
 * Claim.  KEYS: gw:nodes.  ARGV: own instance, lock time (ms).  Finds
 * up to 16 instances whose expiry has passed and whose lease is gone,
 * and takes the sweep lock gw:sweep:INST of each that nobody holds.
 * Returns the instances claimed: this node sweeps them.
 */
#define LUA_CLAIM \
"local t = redis.call('TIME')\n" \
"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n" \
"local d = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now,\n" \
"  'LIMIT', 0, 16)\n" \
"local r = {}\n" \
"for _, x in ipairs(d) do\n" \
"  if x ~= ARGV[1] and redis.call('EXISTS', 'gw:lease:' .. x) == 0 and\n" \
"      redis.call('SET', 'gw:sweep:' .. x, ARGV[1], 'NX', 'PX',\n" \
"        ARGV[2]) then\n" \
"    r[#r + 1] = x\n" \
"  end\n" \
"end\n" \
"return r\n"

/*
 * Sweep a batch.  KEYS: gw:inst:DEAD, gw:nodes, gw:sweep:DEAD.  ARGV:
 * the dead instance, batch size.  Takes up to that many "C\nU" members
 * out of the dead instance's index and runs the leave for each (actor 0):
 * its users that no other instance holds get one presence.leave.  When
 * the index is empty, forgets the instance.  Returns {members taken,
 * users gone, 1 if done}.  The channel keys are not in KEYS: like
 * gw-bridge, gw-presence works with one Redis server, not a cluster.
 */
#define LUA_SWEEP LUA_PCOMMON \
"local m = redis.call('SPOP', KEYS[1], ARGV[2])\n" \
"local gone = 0\n" \
"for _, x in ipairs(m) do\n" \
"  local nl = string.find(x, '\\n', 1, true)\n" \
"  if nl then\n" \
"    local ch, u = string.sub(x, 1, nl - 1), string.sub(x, nl + 1)\n" \
"    gone = gone + leave('gw:{' .. ch .. '}:u', u, ARGV[1],\n" \
"      'gw:{' .. ch .. '}:p', '0000000000000000', ch, '0')\n" \
"  end\n" \
"end\n" \
"local done = 0\n" \
"if redis.call('SCARD', KEYS[1]) == 0 then\n" \
"  redis.call('ZREM', KEYS[2], ARGV[1])\n" \
"  redis.call('DEL', KEYS[3])\n" \
"  done = 1\n" \
"end\n" \
"return {#m, gone, done}\n"

#endif
