/*
 * lua.h -- the Redis scripts of gw-bridge.  Every key of a channel holds
 * the hash tag {channel}, so that one channel lives on one Redis Cluster
 * slot: gw:{C}:s (the capped history stream), gw:{C}:m (a hash: e, the
 * history's epoch; l, the last stream id); messages go out on the pub/sub
 * channel gw:{C}:p as "offset\nmessage".
 *
 * An offset is EPOCH:MMMMMMMMMMMM-SSSSSSSS: the epoch (16 hex digits,
 * drawn when the channel's history is created, so that a lost history
 * shows as a new epoch) and the stream id in fixed-width hex, so that
 * offsets of one epoch compare as strings in delivery order.
 *
 * The meta hash also keeps t, the newest id that left the history (trimmed
 * by its size, or lost with an expired stream): a client that has seen
 * everything up to since has missed nothing if since >= t; and x, the
 * Redis time (ms) until which the keys' expiry needs no push: a publish
 * sets both keys to expire 1.25 ttl later only when past x (then x = now
 * + ttl / 4), so that each stays at least ttl after the last publish at
 * the cost of two EXPIREs every quarter ttl, not every message.
 */
#ifndef GW_BRIDGE_LUA_H
#define GW_BRIDGE_LUA_H

/* Shared helpers, prepended to each script. */
#define LUA_COMMON \
"local function off(e, id)\n" \
"  local a, b = string.match(id, '^(%d+)-(%d+)$')\n" \
"  return e .. ':' .. string.format('%012x-%08x', tonumber(a), tonumber(b))\n" \
"end\n" \
"local function sid(s)\n" \
"  local e, a, b = string.match(s, '^(%x+):(%x+)-(%x+)$')\n" \
"  if not e then return nil end\n" \
"  return e, tonumber(a, 16), tonumber(b, 16)\n" \
"end\n" \
"local function ids(id)\n" \
"  local a, b = string.match(id, '^(%d+)-(%d+)$')\n" \
"  return tonumber(a), tonumber(b)\n" \
"end\n" \
"local function le(a1, b1, a2, b2)\n" \
"  return a1 < a2 or (a1 == a2 and b1 <= b2)\n" \
"end\n"

/*
 * Publish a batch of messages, in order.  KEYS: each message's stream and
 * meta (two a message).  ARGV: history size, history ttl, then six a
 * message: channel, data (JSON), from (JSON), ts, epoch to use if none,
 * pub/sub channel.  Appends each message with its offset to its history
 * and publishes it, in one step: one order per channel.  Returns each
 * message's offset, or an error for one that failed (the others go on).
 *
 * It runs for every few messages, so it is kept lean (each redis.call
 * and each pattern match costs about a microsecond): the meta fields in
 * one HMGET and one HSET, the offset formatted from the numbers, not
 * parsed back, the clock read once a batch.  A batch spans channels:
 * one script for ten messages costs Redis about 0.7 of ten scripts.
 */
#define LUA_PUBLISH \
"local size, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]) * 1000\n" \
"local t = redis.call('TIME')\n" \
"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n" \
"local function pub(ks, km, i)\n" \
"  local m = redis.call('HMGET', km, 'e', 'l', 'x')\n" \
"  local e, l = m[1], m[2]\n" \
"  local set = {}\n" \
"  if not e then e = ARGV[i + 4]; set[#set + 1] = 'e'; set[#set + 1] = e end\n" \
"  local len = redis.call('XLEN', ks)\n" \
"  if not l and len > 0 then\n" \
"    l = redis.call('XREVRANGE', ks, '+', '-', 'COUNT', 1)[1][1]\n" \
"  end\n" \
"  local gone\n" \
"  if l and len == 0 then gone = l end\n" \
"  local cut = len + 1 - size\n" \
"  if cut > 0 then\n" \
"    local x = redis.call('XRANGE', ks, '-', '+', 'COUNT', cut)\n" \
"    if x[#x] then gone = x[#x][1] end\n" \
"  end\n" \
"  if gone then set[#set + 1] = 't'; set[#set + 1] = gone end\n" \
"  local ms, seq = now, 0\n" \
"  if l then\n" \
"    local a, b = string.match(l, '^(%d+)-(%d+)$')\n" \
"    a = tonumber(a)\n" \
"    if ms <= a then ms = a; seq = tonumber(b) + 1 end\n" \
"  end\n" \
"  local id = string.format('%.0f-%.0f', ms, seq)\n" \
"  local o = e .. ':' .. string.format('%012x-%08x', ms, seq)\n" \
"  local msg = '{\"type\":\"message\",\"channel\":\"' .. ARGV[i] ..\n" \
"    '\",\"data\":' .. ARGV[i + 1] .. ',\"offset\":\"' .. o ..\n" \
"    '\",\"from\":' .. ARGV[i + 2] .. ',\"ts\":' .. ARGV[i + 3] .. '}'\n" \
"  redis.call('XADD', ks, 'MAXLEN', size, id, 'm', msg)\n" \
"  set[#set + 1] = 'l'; set[#set + 1] = id\n" \
"  local push = not m[3] or ms > tonumber(m[3])\n" \
"  if push then set[#set + 1] = 'x'; set[#set + 1] = string.format('%.0f', ms + ttl / 4) end\n" \
"  redis.call('HSET', km, unpack(set))\n" \
"  if push then\n" \
"    redis.call('PEXPIRE', ks, ttl * 1.25)\n" \
"    redis.call('PEXPIRE', km, ttl * 1.25)\n" \
"  end\n" \
"  redis.call('PUBLISH', ARGV[i + 5], o .. '\\n' .. msg)\n" \
"  return o\n" \
"end\n" \
"local r = {}\n" \
"for k = 1, #KEYS / 2 do\n" \
"  local ok, o = pcall(pub, KEYS[2 * k - 1], KEYS[2 * k], 3 + 6 * (k - 1))\n" \
"  if ok or type(o) == 'table' then r[k] = o else r[k] = {err = tostring(o)} end\n" \
"end\n" \
"return r\n"

/*
 * Subscribe.  KEYS: stream, meta.  ARGV: since ('' for none), epoch to
 * use if none, history ttl, most messages to return (reaching it makes
 * the answer recovered false: the client must reload).  Returns {latest,
 * recovered (0 no since, 1 false, 2 true), offset, message, ...}: what
 * follows since, when since is given.
 */
#define LUA_SUBSCRIBE LUA_COMMON \
"local e = redis.call('HGET', KEYS[2], 'e')\n" \
"if not e then e = ARGV[2]; redis.call('HSET', KEYS[2], 'e', e) end\n" \
"redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[3]) * 1250)\n" \
"local l = redis.call('HGET', KEYS[2], 'l') or '0-0'\n" \
"local r = {off(e, l), 0}\n" \
"if ARGV[1] == '' then return r end\n" \
"r[2] = 1\n" \
"local se, sa, sb = sid(ARGV[1])\n" \
"if se ~= e then return r end\n" \
"local la, lb = ids(l)\n" \
"if not le(sa, sb, la, lb) then return r end\n" \
"r[2] = 2\n" \
"if sa == la and sb == lb then return r end\n" \
"local t = redis.call('HGET', KEYS[2], 't')\n" \
"if t then\n" \
"  local ta, tb = ids(t)\n" \
"  if not le(ta, tb, sa, sb) then r[2] = 1 end\n" \
"end\n" \
"if redis.call('EXISTS', KEYS[1]) == 0 then r[2] = 1 end\n" \
"local s = string.format('(%.0f-%.0f', sa, sb)\n" \
"local ents = redis.call('XRANGE', KEYS[1], s, '+', 'COUNT', ARGV[4])\n" \
"if #ents >= tonumber(ARGV[4]) then r[2] = 1 end\n" \
"for i, x in ipairs(ents) do\n" \
"  r[#r + 1] = off(e, x[1]); r[#r + 1] = x[2][2]\n" \
"end\n" \
"return r\n"

/*
 * History.  KEYS: stream, meta.  ARGV: since ('' for none), limit.
 * Returns {complete (1 if nothing was left out), offset, message, ...}:
 * with since, the first limit messages after it; without, the last limit.
 */
#define LUA_HISTORY LUA_COMMON \
"local e = redis.call('HGET', KEYS[2], 'e')\n" \
"local lim = tonumber(ARGV[2])\n" \
"local r = {1}\n" \
"if not e then\n" \
"  if ARGV[1] ~= '' then r[1] = 0 end\n" \
"  return r\n" \
"end\n" \
"local ents\n" \
"if ARGV[1] == '' then\n" \
"  ents = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', lim + 1)\n" \
"  if #ents > lim then r[1] = 0 end\n" \
"  for i = math.min(#ents, lim), 1, -1 do\n" \
"    r[#r + 1] = off(e, ents[i][1]); r[#r + 1] = ents[i][2][2]\n" \
"  end\n" \
"  return r\n" \
"end\n" \
"local se, sa, sb = sid(ARGV[1])\n" \
"if se ~= e then r[1] = 0; return r end\n" \
"local l = redis.call('HGET', KEYS[2], 'l') or '0-0'\n" \
"local la, lb = ids(l)\n" \
"if not le(sa, sb, la, lb) then r[1] = 0; return r end\n" \
"if not (sa == la and sb == lb) then\n" \
"  local t = redis.call('HGET', KEYS[2], 't')\n" \
"  if t then\n" \
"    local ta, tb = ids(t)\n" \
"    if not le(ta, tb, sa, sb) then r[1] = 0 end\n" \
"  end\n" \
"  if redis.call('EXISTS', KEYS[1]) == 0 then r[1] = 0 end\n" \
"end\n" \
"local s = string.format('(%.0f-%.0f', sa, sb)\n" \
"ents = redis.call('XRANGE', KEYS[1], s, '+', 'COUNT', lim + 1)\n" \
"if #ents > lim then r[1] = 0 end\n" \
"for i = 1, math.min(#ents, lim) do\n" \
"  r[#r + 1] = off(e, ents[i][1]); r[#r + 1] = ents[i][2][2]\n" \
"end\n" \
"return r\n"

#endif
