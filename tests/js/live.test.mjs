// A live test of share/js/gw-client.js against a running gw node.
// Skipped unless GW_WS_URL is set (e.g. ws://127.0.0.1:8080/ws; several
// URLs may be given, separated by commas).  The user comes from GW_TOKEN
// (auth jwt) or GW_USER (auth none; default: a random id).
//
// The WebSocket class is the npm package "ws": found the usual way, then
// in build/npm (where share/deps.sh installs it), then through NODE_PATH;
// Node's own global WebSocket is the last resort.  Without any, skipped.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { GwClient } from "../../share/js/gw-client.js";

const URLS = (process.env.GW_WS_URL ?? "").split(",").filter(Boolean);

async function findWebSocket() {
	try {
		return (await import("ws")).WebSocket;
	} catch {
		// not where Node looks by default
	}
	const places = [
		fileURLToPath(new URL("../../build/npm/", import.meta.url)),
		fileURLToPath(import.meta.url),  // NODE_PATH applies here
	];
	for (const place of places) {
		try {
			return createRequire(place)("ws").WebSocket;
		} catch {
			// try the next place
		}
	}
	return globalThis.WebSocket ?? null;
}

/** A promise settled by the first event that passes, or by a timeout. */
function waitFor(gw, event, pass, ms = 10000) {
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => {
			off();
			reject(new Error(`no ${event} in ${ms} ms`));
		}, ms);
		const off = gw.on(event, (v) => {
			if (!pass(v))
				return;
			clearTimeout(timer);
			off();
			resolve(v);
		});
	});
}

const WebSocket = URLS.length > 0 ? await findWebSocket() : null;
const skip = URLS.length === 0 ? "GW_WS_URL is not set" :
    WebSocket === null ? "no WebSocket class (npm package ws)" : false;

test("live: subscribe, publish, receive the own message", { skip },
    async () => {
	const tag = Math.random().toString(36).slice(2, 10);
	const auth = process.env.GW_TOKEN ? { token: process.env.GW_TOKEN } :
	    { user: process.env.GW_USER || `live-${tag}` };
	const gw = new GwClient({ urls: URLS, WebSocket, ...auth });
	const states = [];
	gw.on("state", (s) => states.push(s));
	try {
		const welcome = await gw.connect();
		assert.equal(typeof welcome.session, "string");
		const channel = `live:${tag}`;
		const sub = await gw.subscribe(channel, { presence: true });
		assert.equal(sub.channel, channel);
		assert.equal(typeof sub.offset, "string");
		const data = { tag, n: 1 };
		const got = waitFor(gw, "message", (m) =>
		    m.channel === channel);
		const pub = await gw.publish(channel, data);
		const m = await got;
		assert.deepEqual(m.data, data);
		assert.equal(m.offset, pub.offset);
		assert.equal(m.from, welcome.userId);
		assert.equal(typeof m.ts, "number");
		assert.equal(gw.lastOffset(channel), pub.offset);
		const unsub = await gw.unsubscribe(channel);
		assert.equal(unsub.type, "unsubscribed");
	} finally {
		gw.close();
	}
	assert.deepEqual(states, ["connecting", "open", "closed"]);
});
