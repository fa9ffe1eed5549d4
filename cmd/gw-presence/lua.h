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
 *
 * gw:sess:SID is a hash of a session: u the user id, s the state (JSON
 * object text, stored and returned byte for byte, never decoded here),
 * o the instance that holds it live, or "" when it is closed.  A live
 * session has no expiry and is in its owner's set gw:isess:INST; a
 * closed one expires after the resume window and is in no set.  A set
 * may keep a member whose session has moved on (another owner, or gone):
 * o is what counts, the set only finds the sessions to sweep.
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
 * Lease.  KEYS: gw:lease:INST, gw:nodes.  ARGV: instance, ttl (ms).
 * Sets the lease and the instance's expiry in gw:nodes (Redis time +
 * ttl).  Returns 1 if the lease was still there, 0 if it had lapsed and
 * another node swept the instance (its users left: gw:swept:INST, set by
 * the sweep), 2 if it had lapsed with nobody sweeping it (Redis lost its
 * data: a restart, a FLUSHALL; nobody saw its users leave).
 */
#define LUA_LEASE \
"local had = redis.call('EXISTS', KEYS[1])\n" \
"if had == 0 and redis.call('EXISTS', 'gw:swept:' .. ARGV[1]) == 0 then\n" \
"  had = 2\n" \
"end\n" \
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
 * Sweep a batch.  KEYS: gw:inst:DEAD, gw:nodes, gw:sweep:DEAD,
 * gw:isess:DEAD.  ARGV: the dead instance, batch size, resume window
 * (ms).  Takes up to that many "C\nU" members out of the dead instance's
 * index and runs the leave for each (actor 0): its users that no other
 * instance holds get one presence.leave.  Once that index is empty, takes
 * the rest of the batch out of its session set, and each session it
 * still owns is closed: no owner, and the resume window to live.  When
 * both are empty, forgets the instance.  Returns {members taken, users
 * gone, 1 if done, sessions closed}.  The channel and session keys are
 * not in KEYS: like gw-bridge, gw-presence works with one Redis server,
 * not a cluster.
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
"if gone > 0 then\n" \
"  redis.call('SET', 'gw:swept:' .. ARGV[1], '1', 'PX', 600000)\n" \
"end\n" \
"local left = tonumber(ARGV[2]) - #m\n" \
"local closed = 0\n" \
"if left > 0 then\n" \
"  for _, sid in ipairs(redis.call('SPOP', KEYS[4], left)) do\n" \
"    local k = 'gw:sess:' .. sid\n" \
"    if redis.call('HGET', k, 'o') == ARGV[1] then\n" \
"      redis.call('HSET', k, 'o', '')\n" \
"      redis.call('PEXPIRE', k, ARGV[3])\n" \
"      closed = closed + 1\n" \
"    end\n" \
"  end\n" \
"end\n" \
"local done = 0\n" \
"if redis.call('SCARD', KEYS[1]) == 0 and\n" \
"    redis.call('SCARD', KEYS[4]) == 0 then\n" \
"  redis.call('ZREM', KEYS[2], ARGV[1])\n" \
"  redis.call('DEL', KEYS[3])\n" \
"  done = 1\n" \
"end\n" \
"return {#m, gone, done, closed}\n"

/*
 * Save a session.  KEYS: gw:sess:SID, gw:isess:INST.  ARGV: sid, user,
 * state, instance, live ('1' or '0'), resume window (ms), connection id
 * (16 hex digits).
 * Field h names the instance and the connection that last held the
 * session, "INSTANCE#CONN" (a live save or a load; a close leaves it): a
 * save from another node than h's, or from another connection of this
 * node, comes from a connection that held the session before it was
 * resumed (its save was late: its gw-presence stopped, or it was still
 * open, its client gone unseen, when the client resumed), and is left
 * alone, so that its older state does not replace the newer holder's.
 * The connection is compared by its id, the node by its name: a new
 * instance of this node (gw-presence restarted) saves for the same
 * connections.  An h without "#CONN" (written before connections were
 * named) is compared by node alone.
 * Live: the session is this instance's, with no expiry (taken from any
 * other owner, whose set loses it).  Closed: it is kept for the resume
 * window with no owner, unless another instance that is alive holds it
 * now (its connection resumed it there first): then it is left alone.
 * An earlier instance of this node is not alive, whatever its lease
 * says: this one replaced it (a worker's closing save kept while
 * gw-presence was restarted names the old one as the owner).
 * Returns 1 if saved, 0 if left alone.
 */
#define LUA_SSAVE \
"local v = redis.call('HMGET', KEYS[1], 'o', 'h')\n" \
"local o, h = v[1], v[2]\n" \
"local other = o and o ~= '' and o ~= ARGV[4]\n" \
"local function node(i) return string.match(i, '^(.*)/[^/]*$') end\n" \
"local hc = h and string.match(h, '#(.*)$')\n" \
"if h and h ~= '' and (node(h) ~= node(ARGV[4]) or\n" \
"    (hc and hc ~= ARGV[7])) then\n" \
"  if ARGV[5] ~= '1' and o ~= ARGV[4] then\n" \
"    redis.call('SREM', KEYS[2], ARGV[1])\n" \
"  end\n" \
"  return 0\n" \
"end\n" \
"if ARGV[5] == '1' then\n" \
"  if other then redis.call('SREM', 'gw:isess:' .. o, ARGV[1]) end\n" \
"  redis.call('HSET', KEYS[1], 'u', ARGV[2], 's', ARGV[3], 'o', ARGV[4],\n" \
"    'h', ARGV[4] .. '#' .. ARGV[7])\n" \
"  redis.call('PERSIST', KEYS[1])\n" \
"  redis.call('SADD', KEYS[2], ARGV[1])\n" \
"  return 1\n" \
"end\n" \
"redis.call('SREM', KEYS[2], ARGV[1])\n" \
"if other and node(o) ~= node(ARGV[4]) and\n" \
"    redis.call('EXISTS', 'gw:lease:' .. o) == 1 then\n" \
"  return 0\n" \
"end\n" \
"redis.call('HSET', KEYS[1], 'u', ARGV[2], 's', ARGV[3], 'o', '')\n" \
"redis.call('PEXPIRE', KEYS[1], ARGV[6])\n" \
"return 1\n"

/*
 * Load a session.  KEYS: gw:sess:SID, gw:isess:INST.  ARGV: sid, user,
 * instance, force, connection id.  If the session exists and is the
 * user's, it becomes live and this instance's and connection's (no
 * expiry; taken from any other owner; h names them) and its state is
 * returned; else nil.  Unless force is '1', a session that
 * another live instance holds is left alone and {that instance} returned:
 * its connection is most likely closing (a drain, a dropped link), and
 * its closing save, with the offsets, is on its way; the caller asks
 * again (rsess.c), or takes it if that instance's link to Redis is gone.
 */
#define LUA_SLOAD \
"local v = redis.call('HMGET', KEYS[1], 'u', 's', 'o')\n" \
"if v[1] ~= ARGV[2] or not v[2] then return false end\n" \
"local o = v[3]\n" \
"if o and o ~= '' and o ~= ARGV[3] and ARGV[4] ~= '1' and\n" \
"    redis.call('EXISTS', 'gw:lease:' .. o) == 1 then\n" \
"  return {o}\n" \
"end\n" \
"if o and o ~= '' and o ~= ARGV[3] then\n" \
"  redis.call('SREM', 'gw:isess:' .. o, ARGV[1])\n" \
"end\n" \
"redis.call('HSET', KEYS[1], 'o', ARGV[3], 'h', ARGV[3] .. '#' .. ARGV[5])\n" \
"redis.call('PERSIST', KEYS[1])\n" \
"redis.call('SADD', KEYS[2], ARGV[1])\n" \
"return v[2]\n"

/*
 * Close a session whose worker went.  KEYS: gw:sess:SID, gw:isess:INST.
 * ARGV: instance, resume window (ms), sid.  If this instance still owns
 * it, it gets no owner and the resume window to live.  Returns 1 if so.
 */
#define LUA_SFREE \
"redis.call('SREM', KEYS[2], ARGV[3])\n" \
"if redis.call('HGET', KEYS[1], 'o') ~= ARGV[1] then return 0 end\n" \
"redis.call('HSET', KEYS[1], 'o', '')\n" \
"redis.call('PEXPIRE', KEYS[1], ARGV[2])\n" \
"return 1\n"

/*
 * Own a session again (after our lease lapsed, or a reconnect: a sweep
 * may have closed it while its connection is still open here).  KEYS:
 * gw:sess:SID, gw:isess:INST.  ARGV: instance, sid.  A session that is
 * ours or has no owner becomes live and ours; one another instance has
 * taken (or another node held last: h), or that is gone, is left.
 * h keeps its connection: the one that holds it here still does.
 * Returns 1 if owned.
 */
#define LUA_SOWN \
"local v = redis.call('HMGET', KEYS[1], 'o', 'h')\n" \
"local o, h = v[1], v[2]\n" \
"local function node(i) return string.match(i, '^(.*)/[^/]*$') end\n" \
"if o ~= ARGV[1] and o ~= '' then return 0 end\n" \
"if h and h ~= '' and node(h) ~= node(ARGV[1]) then return 0 end\n" \
"local hc = h and string.match(h, '#.*$') or ''\n" \
"redis.call('HSET', KEYS[1], 'o', ARGV[1], 'h', ARGV[1] .. hc)\n" \
"redis.call('PERSIST', KEYS[1])\n" \
"redis.call('SADD', KEYS[2], ARGV[2])\n" \
"return 1\n"

#endif
