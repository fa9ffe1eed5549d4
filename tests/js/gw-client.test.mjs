// Unit tests of share/js/gw-client.js: node --test tests/js/
// A fake WebSocket plays the server and a fake clock stands for time, so
// nothing here opens a socket or sleeps.

import { test } from "node:test";
import assert from "node:assert/strict";
import { GwClient, GwError, isDuplicateOffset, isFatalClose } from
    "../../share/js/gw-client.js";
import { makeFakeWebSocket, FakeClock } from "./fakews.mjs";

const SID1 = "0123456789abcdef0123456789abcdef";
const SID2 = "fedcba9876543210fedcba9876543210";
const EPOCH = "a488c1409e6bcbcd";

/** The offset number n of an epoch, as gw writes them. */
function off(n, epoch = EPOCH) {
	return `${epoch}:${n.toString(16).padStart(12, "0")}-00000000`;
}

const EVENTS = ["state", "message", "presence", "typing", "subscribed",
    "error", "close"];

/** A client on a fake socket class and a fake clock, recording events. */
function setup(options = {}) {
	const WS = makeFakeWebSocket();
	const clock = new FakeClock();
	const gw = new GwClient({
		url: "ws://gw.test/ws",
		user: "alice",
		WebSocket: WS,
		now: clock.now,
		setTimeout: clock.setTimeout,
		clearTimeout: clock.clearTimeout,
		random: () => 0.5,
		...options,
	});
	const events = [];
	for (const name of EVENTS)
		gw.on(name, (v) => events.push([name, v]));
	const of = (name) => events.filter((e) => e[0] === name)
	    .map((e) => e[1]);
	return { gw, WS, clock, events, of };
}

function welcome(ws, extra = {}) {
	ws.receive({ type: "welcome", connId: "c" + ws.url.length,
	    userId: "alice", node: "n1", session: SID1, resumed: false,
	    channels: [], pingInterval: 25, ...extra });
}

/** connect() and answer it; returns the socket. */
async function connected(env, extra) {
	const p = env.gw.connect();
	const ws = env.WS.last;
	ws.open();
	welcome(ws, extra);
	await p;
	return ws;
}

/** Answers the last subscribe sent on ws. */
function answerSubscribe(ws, fields = {}) {
	const req = ws.sentOf("subscribe").at(-1);
	assert.ok(req, "a subscribe was sent");
	ws.receive({ type: "subscribed", id: req.id, channel: req.channel,
	    offset: off(0), ...fields });
	return req;
}

/** Subscribes on an open client, answered by the server. */
async function subscribed(env, ws, channel, opts = {}, fields = {}) {
	const p = env.gw.subscribe(channel, opts);
	answerSubscribe(ws, fields);
	return p;
}

/** Drops the connection and runs the reconnect timer; the new socket. */
function reconnect(env, code = 1006, reason = "") {
	const n = env.WS.instances.length;
	env.WS.last.serverClose(code, reason);
	const timers = env.clock.pending();
	assert.equal(timers.length, 1, "one reconnect timer");
	env.clock.advance(timers[0].delay);
	assert.equal(env.WS.instances.length, n + 1, "a new socket");
	return env.WS.last;
}

test("offsets: duplicates within an epoch, never across epochs", () => {
	assert.equal(isDuplicateOffset(off(5), off(5)), true);
	assert.equal(isDuplicateOffset(off(4), off(5)), true);
	assert.equal(isDuplicateOffset(off(6), off(5)), false);
	assert.equal(isDuplicateOffset(off(1, "0000000000000001"), off(5)),
	    false);
	assert.equal(isDuplicateOffset(off(1), null), false);
});

test("close codes: which ones end the client", () => {
	for (const c of [1000, 1001, 1006, 1011, 1013])
		assert.equal(isFatalClose(c, ""), false, String(c));
	for (const c of [4000, 4001, 4999])
		assert.equal(isFatalClose(c, ""), true, String(c));
	assert.equal(isFatalClose(1008, "token expired"), true);
	assert.equal(isFatalClose(1008, "ping timeout"), false);
});

test("constructor refuses bad options", () => {
	const WS = makeFakeWebSocket();
	assert.throws(() => new GwClient({ WebSocket: WS }), TypeError);
	assert.throws(() => new GwClient({ url: "http:x y", WebSocket: WS }),
	    TypeError);
	assert.throws(() => new GwClient({ url: "ftp://h/ws", WebSocket: WS }),
	    TypeError);
	assert.throws(() => new GwClient({ url: "ws://h/ws", WebSocket: WS,
	    baseDelay: -1 }), TypeError);
	if (globalThis.WebSocket === undefined)
		assert.throws(() => new GwClient({ url: "ws://h/ws" }),
		    TypeError);
});

test("backoff: full jitter under a cap that doubles up to maxDelay", () => {
	const rs = [0.999999, 0, 0.5, 0.25, 0.999999, 0.75, 0.999999, 0.5];
	let i = 0;
	const env = setup({ random: () => rs[i++] });
	env.gw.connect();
	const caps = [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000];
	for (let a = 0; a < caps.length; a++) {
		const n = env.WS.instances.length;
		env.WS.last.serverClose(1006);  // the attempt failed
		const timers = env.clock.pending();
		assert.equal(timers.length, 1);
		const d = timers[0].delay;
		assert.ok(d >= 0 && d <= caps[a], `attempt ${a}: ${d}`);
		assert.equal(d, rs[a] * caps[a], `attempt ${a}: jitter`);
		if (d >= 1) {
			env.clock.advance(d - 1);
			assert.equal(env.WS.instances.length, n,
			    "no attempt before the delay");
			env.clock.advance(1);
		} else {
			env.clock.advance(d);
		}
		assert.equal(env.WS.instances.length, n + 1);
	}
	assert.equal(env.gw.state, "reconnecting");
});

test("backoff: reset once a connection stayed open stableAfter", async () => {
	const env = setup({ random: () => 1 - 1e-9 });
	let ws = await connected(env);
	// A drop and three failed attempts (caps 500 to 4000): next 8000.
	for (let a = 0; a < 4; a++) {
		ws.serverClose(1006);
		env.clock.advance(env.clock.pending()[0].delay);
		ws = env.WS.last;
	}
	ws.open();
	welcome(ws);
	env.clock.advance(9999);  // not stable yet
	ws.serverClose(1001);
	let d = env.clock.pending()[0].delay;
	assert.ok(d > 4000 && d <= 8000, `not reset: ${d}`);
	env.clock.advance(d);
	ws = env.WS.last;
	ws.open();
	welcome(ws);
	env.clock.advance(10000);  // stable
	ws.serverClose(1001);
	d = env.clock.pending()[0].delay;
	assert.ok(d > 0 && d <= 500, `reset: ${d}`);
});

test("no reconnect after close()", async () => {
	const env = setup();
	const ws = await connected(env);
	env.gw.close();
	assert.deepEqual(ws.closedWith, { code: 1000, reason: "client close" });
	assert.equal(env.gw.state, "closed");
	env.clock.advance(120000);
	assert.equal(env.WS.instances.length, 1);
	assert.equal(env.clock.pending().length, 0);
	assert.equal(env.of("close").length, 0, "no close event for close()");

	// close() while waiting to reconnect cancels the attempt.
	const p = env.gw.connect();
	env.WS.last.serverClose(1006);
	assert.equal(env.gw.state, "reconnecting");
	env.gw.close();
	await assert.rejects(p, { code: "closed" });
	env.clock.advance(120000);
	assert.equal(env.WS.instances.length, 2);
	assert.deepEqual(env.of("state"), ["connecting", "open", "closed",
	    "connecting", "reconnecting", "closed"]);
});

test("no reconnect after 1008 or 4000-4999; reconnect after others",
    async () => {
	for (const [code, reason] of [[1008, "token expired"], [4000, ""],
	    [4403, "kicked"], [4999, ""]]) {
		const env = setup();
		const ws = await connected(env);
		const req = env.gw.publish("c", 1);
		ws.serverClose(code, reason);
		await assert.rejects(req, { code: "disconnected" });
		assert.equal(env.gw.state, "closed", `${code}`);
		env.clock.advance(120000);
		assert.equal(env.WS.instances.length, 1, `${code}`);
		assert.deepEqual(env.of("close"), [{ code, reason,
		    reconnect: false }]);
	}
	for (const [code, reason] of [[1001, "draining"], [1011, ""],
	    [1013, ""], [1006, ""], [1000, ""], [1008, "ping timeout"]]) {
		const env = setup();
		await connected(env);
		reconnect(env, code, reason);
		assert.equal(env.WS.instances.length, 2, `${code} ${reason}`);
	}
	// A first attempt refused for good rejects connect().
	const env = setup();
	const p = env.gw.connect();
	env.WS.last.serverClose(4001, "no");
	await assert.rejects(p, (err) => err instanceof GwError &&
	    err.code === "closed" && err.closeCode === 4001);
});

test("urls rotate on each attempt", async () => {
	const env = setup({ url: undefined, urls: ["ws://a/ws", "ws://b/ws",
	    "ws://c/ws"] });
	env.gw.connect();
	const hosts = [new URL(env.WS.last.url).host];
	for (let k = 0; k < 4; k++) {
		env.WS.last.serverClose(1006);
		env.clock.advance(env.clock.pending()[0].delay);
		hosts.push(new URL(env.WS.last.url).host);
	}
	assert.deepEqual(hosts, ["a", "b", "c", "a", "b"]);
});

test("the resume URL carries session=<last welcome.session>", async () => {
	const env = setup({ user: undefined, token: "T.O.K" });
	let ws = await connected(env);
	assert.equal(ws.query.get("token"), "T.O.K");
	assert.equal(ws.query.get("session"), null);
	assert.equal(ws.query.get("user"), null);
	ws = reconnect(env);
	assert.equal(ws.query.get("session"), SID1);
	assert.equal(ws.query.get("token"), "T.O.K");
	ws.open();
	welcome(ws, { session: SID2 });  // a fresh session
	assert.equal(env.gw.session, SID2);
	ws = reconnect(env);
	assert.equal(ws.query.get("session"), SID2);
	// A failed attempt keeps the session for the next one.
	ws.serverClose(1006);
	env.clock.advance(env.clock.pending()[0].delay);
	assert.equal(env.WS.last.query.get("session"), SID2);

	const env2 = setup();  // auth none
	ws = await connected(env2);
	assert.equal(ws.query.get("user"), "alice");
});

test("resumed:true: unsolicited subscribed frames are accepted", async () => {
	const env = setup();
	let ws = await connected(env);
	await subscribed(env, ws, "doc:1", { presence: true });
	ws.receive({ type: "message", channel: "doc:1", data: 1,
	    offset: off(5), from: "bob", ts: 1 });
	ws = reconnect(env);
	ws.open();
	welcome(ws, { resumed: true, channels: ["doc:1"] });
	assert.equal(env.gw.state, "open");
	assert.deepEqual(ws.sent, [], "nothing to subscribe again");
	ws.receive({ type: "subscribed", channel: "doc:1", offset: off(7),
	    recovered: true });
	ws.receive({ type: "message", channel: "doc:1", data: 6,
	    offset: off(6), from: "bob", ts: 2 });
	ws.receive({ type: "message", channel: "doc:1", data: 7,
	    offset: off(7), from: "bob", ts: 3 });
	assert.deepEqual(ws.sent, [], "recovered: nothing asked");
	assert.deepEqual(env.of("message").map((m) => m.data), [1, 6, 7]);
	const subs = env.of("subscribed");
	assert.equal(subs.length, 2);
	assert.equal(subs[1].recovered, true);
	assert.equal(env.gw.lastOffset("doc:1"), off(7));
});

test("resumed:true with recovered:false and a known offset: since",
    async () => {
	const env = setup();
	let ws = await connected(env);
	await subscribed(env, ws, "doc:1", { presence: true });
	await subscribed(env, ws, "doc:2", {}, { offset: off(3) });
	ws.receive({ type: "message", channel: "doc:1", data: 1,
	    offset: off(5), from: "bob", ts: 1 });
	await subscribed(env, ws, "fresh", {}, { offset: undefined });
	ws = reconnect(env);
	ws.open();
	welcome(ws, { resumed: true, channels: ["doc:1", "doc:2", "fresh"] });
	ws.receive({ type: "subscribed", channel: "doc:1", offset: off(9),
	    recovered: false });
	ws.receive({ type: "subscribed", channel: "doc:2", offset: off(9),
	    recovered: false });
	// No offset known on "fresh": nothing to ask for.
	ws.receive({ type: "subscribed", channel: "fresh", offset: off(9),
	    recovered: false });
	const subs = ws.sentOf("subscribe");
	assert.deepEqual(subs.map(({ id, ...f }) => f), [
		{ type: "subscribe", channel: "doc:1", presence: true,
		    since: off(5) },
		{ type: "subscribe", channel: "doc:2", since: off(3) },
	]);
	assert.equal(env.gw.lastOffset("fresh"), off(9));
	assert.equal(env.gw.lastOffset("doc:1"), off(5));
	// The answer to our since does not start another round.
	ws.receive({ type: "subscribed", id: subs[0].id, channel: "doc:1",
	    offset: off(9), recovered: false });
	assert.equal(ws.sentOf("subscribe").length, 2);
});

/** A message frame of doc:1 with offset n. */
function msg(ws, n) {
	ws.receive({ type: "message", channel: "doc:1", data: n,
	    offset: off(n), from: "bob", ts: n });
}

/**
 * doc:1 subscribed and message n received, the socket dropped, and the
 * session resumed on a new one (welcome with doc:1); the new socket.
 */
async function resumedAfter(env, n) {
	let ws = await connected(env);
	await subscribed(env, ws, "doc:1");
	msg(ws, n);
	ws = reconnect(env);
	ws.open();
	welcome(ws, { resumed: true, channels: ["doc:1"] });
	return ws;
}

test("a gap asked for after a resume comes after newer live messages: " +
    "held, then given in offset order, each once", async () => {
	const env = setup();
	const ws = await resumedAfter(env, 47);
	ws.receive({ type: "subscribed", channel: "doc:1", offset: off(50),
	    recovered: false });
	const req = ws.sentOf("subscribe").at(-1);
	assert.equal(req.since, off(47));
	// Live messages before the answer to our since (a slow link).
	for (let n = 51; n <= 57; n++)
		msg(ws, n);
	assert.deepEqual(env.of("message").map((m) => m.data), [47],
	    "held until the gap is in");
	// The answer, its replay of the gap, then live again.
	ws.receive({ type: "subscribed", id: req.id, channel: "doc:1",
	    offset: off(57), recovered: true });
	for (const n of [48, 49, 50])
		msg(ws, n);
	msg(ws, 58);
	assert.deepEqual(env.of("message").map((m) => m.data),
	    [47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58]);
	assert.equal(env.gw.lastOffset("doc:1"), off(58));
});

test("a gap's replay on a channel that then goes quiet is given " +
    "after FILL_WAIT", async () => {
	const env = setup();
	const ws = await resumedAfter(env, 10);
	ws.receive({ type: "subscribed", channel: "doc:1", offset: off(12),
	    recovered: false });
	const req = ws.sentOf("subscribe").at(-1);
	ws.receive({ type: "subscribed", id: req.id, channel: "doc:1",
	    offset: off(12), recovered: true });
	msg(ws, 11);
	msg(ws, 12);
	assert.deepEqual(env.of("message").map((m) => m.data), [10]);
	env.clock.advance(200);
	assert.deepEqual(env.of("message").map((m) => m.data), [10, 11, 12]);
});

test("a restore from after our last offset (messages in flight when the " +
    "socket broke): asked again from ours", async () => {
	const env = setup();
	const ws = await resumedAfter(env, 47);
	// The server wrote up to 75 on the old socket; we got 47.
	ws.receive({ type: "subscribed", channel: "doc:1", offset: off(80),
	    recovered: true, since: off(75) });
	for (let n = 76; n <= 80; n++)
		msg(ws, n);
	const req = ws.sentOf("subscribe").at(-1);
	assert.ok(req, "asked again");
	assert.equal(req.since, off(47));
	ws.receive({ type: "subscribed", id: req.id, channel: "doc:1",
	    offset: off(80), recovered: true });
	for (let n = 48; n <= 75; n++)
		msg(ws, n);
	msg(ws, 81);
	const got = env.of("message").map((m) => m.data);
	assert.deepEqual(got, Array.from({ length: 35 }, (_, i) => 47 + i));
});

test("a restore from our own last offset asks nothing more", async () => {
	const env = setup();
	const ws = await resumedAfter(env, 5);
	ws.receive({ type: "subscribed", channel: "doc:1", offset: off(7),
	    recovered: true, since: off(5) });
	msg(ws, 6);
	msg(ws, 7);
	assert.deepEqual(ws.sent, []);
	assert.deepEqual(env.of("message").map((m) => m.data), [5, 6, 7]);
});

test("a drop while a gap is filled: what was held is not given, and the " +
    "next connection asks from before the gap", async () => {
	const env = setup();
	let ws = await resumedAfter(env, 20);
	ws.receive({ type: "subscribed", channel: "doc:1", offset: off(22),
	    recovered: false });
	msg(ws, 23);
	ws = reconnect(env);
	ws.open();
	welcome(ws, { resumed: false });
	const req = ws.sentOf("subscribe").at(-1);
	assert.equal(req.since, off(20));
	assert.deepEqual(env.of("message").map((m) => m.data), [20]);
	assert.equal(env.gw.lastOffset("doc:1"), off(20));
});

test("resume: channels the server lacks are subscribed, extra ones left",
    async () => {
	const env = setup();
	let ws = await connected(env);
	await subscribed(env, ws, "keep", {}, { offset: off(2) });
	await subscribed(env, ws, "gone", {}, { offset: off(2) });
	ws.serverClose(1006);
	// While away: one channel more, one less.
	const later = env.gw.subscribe("later", { presence: true });
	const gone = await env.gw.unsubscribe("gone");
	assert.equal(gone.type, "unsubscribed");
	env.clock.advance(env.clock.pending()[0].delay);
	ws = env.WS.last;
	ws.open();
	welcome(ws, { resumed: true, channels: ["keep", "gone"] });
	assert.deepEqual(ws.sent.map(({ id, ...f }) => f), [
		{ type: "subscribe", channel: "later", presence: true },
		{ type: "unsubscribe", channel: "gone" },
	]);
	answerSubscribe(ws);
	const f = await later;
	assert.equal(f.channel, "later");
	assert.deepEqual(env.gw.channels.sort(), ["keep", "later"]);
});

test("resumed:false: every channel again, with since and presence",
    async () => {
	const env = setup();
	let ws = await connected(env);
	await subscribed(env, ws, "room:a", { presence: true });
	await subscribed(env, ws, "room:b", {}, { offset: off(4) });
	await subscribed(env, ws, "room:c", { presence: true },
	    { offset: undefined });
	ws.receive({ type: "message", channel: "room:a", data: 1,
	    offset: off(8), from: "x", ts: 1 });
	ws = reconnect(env, 1001);
	assert.deepEqual(ws.sent, []);
	ws.open();
	welcome(ws, { session: SID2, resumed: false, channels: [] });
	assert.deepEqual(ws.sent.map(({ id, ...f }) => f), [
		{ type: "subscribe", channel: "room:a", presence: true,
		    since: off(8) },
		{ type: "subscribe", channel: "room:b", since: off(4) },
		{ type: "subscribe", channel: "room:c", presence: true },
	]);
	// Each id is a new number, above those of the first connection.
	const ids = ws.sent.map((f) => f.id);
	assert.ok(ids.every((id, k) => Number.isInteger(id) &&
	    (k === 0 || id > ids[k - 1])));
	assert.ok(ids[0] > 3);
});

test("requests: settled by the reply with their id", async () => {
	const env = setup();
	const ws = await connected(env);
	const p1 = env.gw.publish("c", { n: 1 });
	const p2 = env.gw.presence("c");
	const p3 = env.gw.history("c", { since: off(1), limit: 10 });
	const [r1, r2, r3] = ws.sent;
	assert.deepEqual(r3, { type: "history", channel: "c", since: off(1),
	    limit: 10, id: r3.id });
	assert.ok(r1.id < r2.id && r2.id < r3.id);
	ws.receive({ type: "history", id: r3.id, channel: "c", messages: [],
	    complete: true });
	ws.receive({ type: "presence", id: r2.id, channel: "c", count: 0,
	    users: [] });
	ws.receive({ type: "published", id: r1.id, offset: off(3) });
	assert.equal((await p1).offset, off(3));
	assert.equal((await p2).count, 0);
	assert.equal((await p3).complete, true);
	assert.equal(env.of("presence").length, 0, "a reply, not an event");
});

test("requests: rejected by an error frame with its code", async () => {
	const env = setup();
	const ws = await connected(env);
	const p = env.gw.publish("c", 1);
	ws.receive({ type: "error", id: ws.sent[0].id, code: "not_subscribed",
	    message: "subscribe first" });
	await assert.rejects(p, (err) => err instanceof GwError &&
	    err.code === "not_subscribed" && err.message === "subscribe first");
	assert.equal(env.of("error").length, 0);
	// One that answers nothing pending is an event.
	ws.receive({ type: "error", id: null, code: "rate_limited",
	    message: "slow down" });
	assert.equal(env.of("error")[0].code, "rate_limited");
});

test("requests: rejected with disconnected on a drop, or when closed",
    async () => {
	const env = setup();
	const ws = await connected(env);
	const p = env.gw.presence("c");
	ws.serverClose(1006);
	await assert.rejects(p, { code: "disconnected" });
	await assert.rejects(env.gw.publish("c", 1), { code: "disconnected" });
	// A late reply for a lost id is not taken for a new request's.
	env.clock.advance(env.clock.pending()[0].delay);
	env.WS.last.open();
	welcome(env.WS.last);
	const q = env.gw.presence("c");
	assert.notEqual(env.WS.last.sent[0].id, ws.sent[0].id);
	env.gw.close();
	await assert.rejects(q, { code: "disconnected" });
});

test("requests: rejected with timeout after 10 s", async () => {
	const env = setup();
	const ws = await connected(env);
	let settled = null;
	const p = env.gw.publish("c", 1);
	p.then(() => { settled = "ok"; }, (e) => { settled = e.code; });
	env.clock.advance(9999);
	await Promise.resolve();
	assert.equal(settled, null);
	env.clock.advance(1);
	await assert.rejects(p, { code: "timeout" });
	// A reply after the timeout is ignored.
	ws.receive({ type: "published", id: ws.sent[0].id, offset: off(1) });
	assert.equal(env.of("error").length, 0);
});

test("subscribe: deferred until open; a refusal drops the channel",
    async () => {
	const env = setup();
	const p = env.gw.subscribe("doc:9", { presence: true });
	const ws = await connected(env);
	const req = answerSubscribe(ws, { presence: { count: 1,
	    users: [] } });
	assert.equal(req.presence, true);
	assert.equal((await p).channel, "doc:9");

	const bad = env.gw.subscribe("private:x");
	const r = ws.sentOf("subscribe").at(-1);
	ws.receive({ type: "error", id: r.id, code: "forbidden",
	    message: "no" });
	await assert.rejects(bad, { code: "forbidden" });
	assert.deepEqual(env.gw.channels, ["doc:9"]);
	const ws2 = reconnect(env);
	ws2.open();
	welcome(ws2);
	assert.deepEqual(ws2.sentOf("subscribe").map((f) => f.channel),
	    ["doc:9"]);
	// A refusal of the library's own subscribe is an error event.
	ws2.receive({ type: "error", id: ws2.sent[0].id, code: "forbidden",
	    message: "revoked" });
	await Promise.resolve();
	await Promise.resolve();
	assert.deepEqual(env.of("error").map((e) => [e.channel, e.code]),
	    [["doc:9", "forbidden"]]);
	assert.deepEqual(env.gw.channels, []);
});

test("messages: duplicate offsets are dropped", async () => {
	const env = setup();
	const ws = await connected(env);
	await subscribed(env, ws, "c", {}, { offset: off(1) });
	const send = (n, epoch) => ws.receive({ type: "message", channel: "c",
	    data: `${epoch ?? ""}${n}`, offset: off(n, epoch), from: "u",
	    ts: n });
	send(1);  // the subscribed offset: seen already
	send(2);
	send(3);
	send(3);
	send(2);
	send(4);
	send(1, "00000000000000ff");  // a new epoch starts over
	send(2, "00000000000000ff");
	send(2, "00000000000000ff");
	assert.deepEqual(env.of("message").map((m) => m.data),
	    ["2", "3", "4", "00000000000000ff1", "00000000000000ff2"]);
	// Messages of a channel not subscribed are not delivered.
	env.gw.unsubscribe("c").catch(() => {});
	ws.receive({ type: "message", channel: "c", data: "x",
	    offset: off(9), from: "u", ts: 9 });
	ws.receive({ type: "message", channel: "other", data: "y",
	    offset: off(9), from: "u", ts: 9 });
	assert.equal(env.of("message").length, 5);
});

test("typing: at most one frame per 2 s per channel; stopTyping",
    async () => {
	const env = setup();
	const ws = await connected(env);
	const typings = () => ws.sentOf("typing").map(({ channel, state }) =>
	    state ? `${channel}:${state}` : channel);
	assert.equal(env.gw.typing("a"), true);
	env.clock.advance(1000);
	assert.equal(env.gw.typing("a"), false);
	assert.equal(env.gw.typing("b"), true);
	env.clock.advance(999);
	assert.equal(env.gw.typing("a"), false);
	env.clock.advance(1);
	assert.equal(env.gw.typing("a"), true);
	assert.deepEqual(typings(), ["a", "b", "a"]);
	assert.equal(env.gw.stopTyping("a"), true);
	assert.deepEqual(ws.sent.at(-1), { type: "typing", channel: "a",
	    state: "stop" });
	assert.equal(env.gw.stopTyping("a"), false, "stopped already");
	assert.equal(env.gw.typing("a"), true, "stop ends the throttle");
	env.gw.publish("a", "hi").catch(() => {});
	assert.equal(env.gw.typing("a"), true, "a publish ends typing");
	assert.deepEqual(typings(), ["a", "b", "a", "a:stop", "a", "a"]);
	assert.ok(ws.sentOf("typing").every((f) => f.id === undefined));
	ws.serverClose(1006);
	assert.equal(env.gw.typing("b"), false, "not while disconnected");
});

test("events: routed by frame type, states in order", async () => {
	const env = setup();
	let ws = await connected(env);
	await subscribed(env, ws, "r", { presence: true });
	const frames = [
		{ type: "presence.join", channel: "r", userId: "bob", info: {} },
		{ type: "typing.start", channel: "r", userId: "bob" },
		{ type: "message", channel: "r", data: { t: "hi" },
		    offset: off(1), from: "bob", ts: 42 },
		{ type: "typing.stop", channel: "r", userId: "bob" },
		{ type: "presence.leave", channel: "r", userId: "bob",
		    info: {} },
		{ type: "no.such.type", channel: "r" },
	];
	for (const f of frames)
		ws.receive(f);
	ws.receive("not json");
	ws.receive("[1,2]");
	assert.deepEqual(env.of("presence").map((e) => e.type),
	    ["presence.join", "presence.leave"]);
	assert.deepEqual(env.of("typing").map((e) => e.type),
	    ["typing.start", "typing.stop"]);
	assert.deepEqual(env.of("message"), [{ channel: "r",
	    data: { t: "hi" }, offset: off(1), from: "bob", ts: 42 }]);
	assert.equal(env.of("subscribed").length, 1);
	ws = reconnect(env);
	ws.open();
	welcome(ws);
	env.gw.close();
	assert.deepEqual(env.of("state"), ["connecting", "open",
	    "reconnecting", "open", "closed"]);
	assert.deepEqual(env.of("close").map((c) => [c.code, c.reconnect]),
	    [[1006, true]]);
	// off() removes a listener.
	let n = 0;
	const offFn = env.gw.on("state", () => n++);
	offFn();
	env.gw.connect();
	assert.equal(n, 0);
});

test("connect: an attempt with no welcome in time is retried", async () => {
	const env = setup();
	const p = env.gw.connect();
	env.WS.last.open();  // but no welcome
	env.clock.advance(9999);
	assert.equal(env.WS.instances.length, 1);
	env.clock.advance(1);
	assert.equal(env.WS.instances[0].closedWith?.code, 1000);
	const d = env.clock.pending()[0].delay;
	env.clock.advance(d);
	assert.equal(env.WS.instances.length, 2);
	env.WS.last.open();
	welcome(env.WS.last);
	assert.equal((await p).session, SID1);
	assert.equal(env.gw.state, "open");
});
