/**
 * gw-client.js: the client library of the gw real-time WebSocket gateway.
 *
 * One ES module with no dependency and no build step.  It runs in browsers
 * and in Node 18 or later (with a global WebSocket, or a WebSocket class
 * given in the options, for example the one of the npm package "ws").
 *
 * It speaks the protocol of man/gw-protocol.7: it connects with a token or
 * a user id, keeps a list of the channels the application subscribed to,
 * reconnects with exponential backoff and full jitter after any close it
 * did not ask for, resumes the server-side session (or falls back to
 * subscribing again with the last offset seen on each channel), drops the
 * messages it has already delivered, and ties every request to a promise
 * through its id.
 *
 * @module gw-client
 */

/** Reconnect and timing defaults, in milliseconds. */
const DEFAULTS = Object.freeze({
	baseDelay: 500,
	maxDelay: 30000,
	stableAfter: 10000,
	requestTimeout: 10000,
	connectTimeout: 10000,
	typingInterval: 2000,
});

/** WebSocket.OPEN, for classes that do not define the constant. */
const WS_OPEN = 1;

/**
 * How long a gap's replay may pause before it is taken as complete (the
 * server writes it right behind its answer), in milliseconds.
 */
const FILL_WAIT = 200;

/**
 * The error every rejected promise of the library carries.
 *
 * `code` is the server's error code (`forbidden`, `not_subscribed`, ...)
 * when an error frame answered the request, or one of the library's own:
 * `disconnected` (the connection ended before the answer, or there was
 * none), `timeout` (no answer within `requestTimeout`), `closed` (the
 * client stopped: close() or a close code it does not reconnect after).
 */
export class GwError extends Error {
	/**
	 * @param {string} code the error code
	 * @param {string} [message] a human-readable reason
	 * @param {object} [extra] more fields to copy onto the error
	 *     (`frame`: the error frame; `closeCode`, `reason`: of a close)
	 */
	constructor(code, message, extra) {
		super(message || code);
		this.name = "GwError";
		/** @type {string} */
		this.code = code;
		if (extra)
			Object.assign(this, extra);
	}
}

/**
 * Whether a message offset is one the client has already delivered: not
 * after the last one seen on the channel.  Offsets are compared as strings
 * only within one epoch (the part before the first ':'); an offset of
 * another epoch is never a duplicate, since the history was reset.
 *
 * @param {string} offset the offset of the new message
 * @param {?string} last the last offset seen on its channel, or null
 * @returns {boolean} true when the message must be dropped
 */
export function isDuplicateOffset(offset, last) {
	if (typeof offset !== "string" || typeof last !== "string")
		return false;
	const e1 = offset.indexOf(":"), e0 = last.indexOf(":");
	if (offset.slice(0, e1 + 1) !== last.slice(0, e0 + 1))
		return false;
	return offset <= last;
}

/**
 * Whether a close code (with its reason) ends the client instead of
 * starting a reconnect: 1008 (policy: the token expired) and the
 * application codes 4000-4999.  A 1008 whose reason is "ping timeout" is
 * a stalled connection, not a refusal, and is reconnected.
 *
 * @param {number} code the close code
 * @param {string} [reason] the close reason
 * @returns {boolean}
 */
export function isFatalClose(code, reason) {
	if (code === 1008)
		return reason !== "ping timeout";
	return code >= 4000 && code <= 4999;
}

/** Turns the data of a message event into text, or null if it cannot. */
function frameText(data) {
	if (typeof data === "string")
		return data;
	try {
		if (data instanceof ArrayBuffer || ArrayBuffer.isView(data))
			return new TextDecoder().decode(data);
	} catch {
		return null;
	}
	return null;
}

/**
 * Resolves a WebSocket URL: absolute ws: or wss: URLs as they are; in a
 * page, a relative one (such as "/ws") against the page's address, with
 * http: made ws: and https: made wss:.  Throws a TypeError otherwise.
 */
function resolveUrl(url) {
	const loc = globalThis.location;
	const u = loc && loc.href ? new URL(url, loc.href) : new URL(url);
	if (u.protocol === "http:")
		u.protocol = "ws:";
	else if (u.protocol === "https:")
		u.protocol = "wss:";
	if (u.protocol !== "ws:" && u.protocol !== "wss:")
		throw new TypeError(`gw-client: not a WebSocket URL: ${url}`);
	return u.toString();
}

function checkChannel(channel) {
	if (typeof channel !== "string" || channel === "")
		throw new TypeError("gw-client: channel must be a non-empty string");
}

/**
 * @typedef {object} GwOptions
 * @property {string} [url] the WebSocket URL, e.g. "ws://host:8080/ws"
 * @property {string[]} [urls] several URLs, tried in turn (one more on
 *     each connection attempt); give url or urls
 * @property {string} [token] a JWT, sent as ?token= (auth jwt)
 * @property {string} [user] a user id, sent as ?user= (auth none)
 * @property {number} [baseDelay=500] first reconnect delay cap, ms
 * @property {number} [maxDelay=30000] largest reconnect delay, ms
 * @property {number} [stableAfter=10000] a connection open this long
 *     resets the backoff, ms
 * @property {number} [requestTimeout=10000] a request not answered in
 *     this time is rejected with code "timeout", ms
 * @property {number} [connectTimeout=10000] an attempt that brings no
 *     welcome in this time is abandoned and retried, ms
 * @property {number} [typingInterval=2000] typing() sends at most one
 *     frame per channel in this time, ms
 * @property {Function} [WebSocket] the WebSocket class (default: the
 *     global one)
 * @property {function(): number} [random] Math.random by default (tests)
 * @property {function(): number} [now] Date.now by default (tests)
 * @property {Function} [setTimeout] the global one by default (tests)
 * @property {Function} [clearTimeout] the global one by default (tests)
 */

/**
 * @typedef {object} GwMessage
 * @property {string} channel
 * @property {*} data the published JSON value
 * @property {string} offset
 * @property {?string} from the publisher's user id, null for a backend
 * @property {number} ts the publish time, ms since the epoch
 */

/**
 * A connection to gw that survives disconnections.
 *
 * Events (subscribe with on()):
 * - "state": "connecting" | "open" | "reconnecting" | "closed", on change
 * - "message": a {@link GwMessage}, each one once, in offset order
 * - "presence": the presence.join and presence.leave frames
 * - "typing": the typing.start and typing.stop frames
 * - "subscribed": every subscribed frame (answers, and those a resume
 *   sends unasked), with `recovered` when there was a `since`
 * - "error": error frames that answer no pending request, and failures
 *   of the subscriptions the library makes itself (with `channel`)
 * - "close": each time a socket ends, but by close() (the state says
 *   that one): {code, reason, reconnect, delay}
 *   (delay: ms until the next attempt, when reconnect is true)
 */
export class GwClient {
	#urls;
	#urlIndex = 0;
	#token;
	#user;
	#cfg;
	#WS;
	#random;
	#now;
	#setTimeout;
	#clearTimeout;

	#ws = null;
	/** true from the welcome to the end of the socket */
	#live = false;
	#state = "closed";
	#wanted = false;
	#welcome = null;
	#session = null;
	#attempt = 0;
	#openedAt = 0;
	#reconnectTimer = null;
	#connectTimer = null;
	#connectWaiters = [];
	#listeners = new Map();
	#pending = new Map();
	#nextId = 0;
	/** name -> {presence, offset, waiters} */
	#channels = new Map();
	/** name -> time the last typing frame was sent */
	#typingAt = new Map();

	/**
	 * Makes a client; it does not connect until connect().
	 *
	 * @param {GwOptions} options
	 * @throws {TypeError} without a URL, with a URL that is not ws: or
	 *     wss:, or without a WebSocket class
	 */
	constructor(options = {}) {
		const urls = options.urls ?? (options.url != null ?
		    [options.url] : []);
		if (!Array.isArray(urls) || urls.length === 0)
			throw new TypeError("gw-client: url or urls is required");
		this.#urls = urls.map(resolveUrl);
		this.#token = options.token ?? null;
		this.#user = options.user ?? null;
		this.#cfg = {};
		for (const k of Object.keys(DEFAULTS)) {
			const v = options[k] ?? DEFAULTS[k];
			if (typeof v !== "number" || !(v >= 0))
				throw new TypeError(`gw-client: bad ${k}: ${v}`);
			this.#cfg[k] = v;
		}
		this.#WS = options.WebSocket ?? globalThis.WebSocket;
		if (typeof this.#WS !== "function")
			throw new TypeError("gw-client: no WebSocket class: " +
			    "pass one in the WebSocket option");
		this.#random = options.random ?? Math.random;
		this.#now = options.now ?? Date.now;
		// Wrapped: a browser's timer functions refuse another "this".
		const st = options.setTimeout, ct = options.clearTimeout;
		this.#setTimeout = st ? (f, ms) => st(f, ms) :
		    (f, ms) => globalThis.setTimeout(f, ms);
		this.#clearTimeout = ct ? (t) => ct(t) :
		    (t) => globalThis.clearTimeout(t);
	}

	/** @returns {string} "connecting", "open", "reconnecting" or "closed" */
	get state() {
		return this.#state;
	}

	/** @returns {?object} the welcome frame of the current connection */
	get welcome() {
		return this.#live ? this.#welcome : null;
	}

	/** @returns {?string} the session id the next connection resumes */
	get session() {
		return this.#session;
	}

	/**
	 * The channels the client is subscribed to, or will subscribe to on
	 * its next connection.
	 *
	 * @returns {string[]}
	 */
	get channels() {
		return [...this.#channels.keys()];
	}

	/**
	 * The last offset seen on a channel (from a message, or the offset of
	 * its subscribed answer when no message came yet).
	 *
	 * @param {string} channel
	 * @returns {?string} the offset, or null when none is known
	 */
	lastOffset(channel) {
		return this.#channels.get(channel)?.offset ?? null;
	}

	/**
	 * Sets the token for the next connection attempts, for example after
	 * a close with 1008 (token expired), before calling connect() again.
	 *
	 * @param {string} token
	 */
	setToken(token) {
		this.#token = token;
	}

	/**
	 * Adds a listener.
	 *
	 * @param {string} event see the class description
	 * @param {Function} fn called with the event's value
	 * @returns {function(): void} removes the listener
	 */
	on(event, fn) {
		if (typeof fn !== "function")
			throw new TypeError("gw-client: listener must be a function");
		let set = this.#listeners.get(event);
		if (set === undefined)
			this.#listeners.set(event, set = new Set());
		set.add(fn);
		return () => this.off(event, fn);
	}

	/**
	 * Removes a listener added with on().
	 *
	 * @param {string} event
	 * @param {Function} fn
	 */
	off(event, fn) {
		this.#listeners.get(event)?.delete(fn);
	}

	/**
	 * Connects, and keeps reconnecting until close() or a close code that
	 * ends the client (1008, 4000-4999).  A failed attempt is retried like
	 * a dropped connection.
	 *
	 * @returns {Promise<object>} resolved with the welcome frame once the
	 *     client is open; rejected (code "closed") if it stops first
	 */
	connect() {
		if (this.#live)
			return Promise.resolve(this.#welcome);
		const p = new Promise((resolve, reject) =>
		    this.#connectWaiters.push({ resolve, reject }));
		if (!this.#wanted) {
			this.#wanted = true;
			this.#attempt = 0;
			this.#setState("connecting");
			this.#open();
		}
		return p;
	}

	/**
	 * Closes the connection (code 1000) and stops reconnecting.  Pending
	 * requests are rejected with "disconnected".  The channel list and the
	 * session are kept: a later connect() resumes them.
	 */
	close() {
		this.#stop(1000, "client close", true);
	}

	/**
	 * Subscribes to a channel.  The channel joins the client's list at
	 * once and stays there until unsubscribe(): the client subscribes it
	 * again after every reconnection.  While not open, the promise waits
	 * for the next connection's subscribed frame.
	 *
	 * @param {string} channel
	 * @param {object} [opts]
	 * @param {boolean} [opts.presence] receive presence and typing events
	 * @param {string} [opts.since] replay what was published after this
	 *     offset (for example one kept from an earlier page load)
	 * @returns {Promise<object>} the subscribed frame; rejected with the
	 *     server's error (the channel then leaves the list), or with
	 *     "disconnected" or "timeout" (it stays in the list)
	 */
	subscribe(channel, opts = {}) {
		checkChannel(channel);
		let ch = this.#channels.get(channel);
		if (ch === undefined) {
			ch = { presence: false, offset: null, waiters: [],
			    fill: null };
			this.#channels.set(channel, ch);
		}
		ch.presence = opts.presence === true;
		if (opts.since != null)
			ch.offset = String(opts.since);
		if (!this.#live)
			return new Promise((resolve, reject) =>
			    ch.waiters.push({ resolve, reject }));
		return this.#request(this.#subscribeFrame(channel, ch))
		    .catch((err) => {
			this.#subscribeFailed(channel, ch, err, true);
			throw err;
		    });
	}

	/**
	 * Unsubscribes from a channel: it leaves the client's list at once,
	 * and its messages are no longer delivered.
	 *
	 * @param {string} channel
	 * @returns {Promise<object>} the unsubscribed frame (a local one when
	 *     the client is not open)
	 */
	unsubscribe(channel) {
		checkChannel(channel);
		const ch = this.#channels.get(channel);
		this.#channels.delete(channel);
		this.#typingAt.delete(channel);
		if (ch !== undefined)
			this.#rejectAll(ch.waiters, new GwError("disconnected",
			    "unsubscribed before the subscription was made"));
		if (!this.#live)
			return Promise.resolve({ type: "unsubscribed", channel });
		return this.#request({ type: "unsubscribe", channel });
	}

	/**
	 * Publishes on a channel the client is subscribed to.  It also ends
	 * the user's typing there, as the server does.
	 *
	 * @param {string} channel
	 * @param {*} data any JSON value
	 * @returns {Promise<object>} the published frame, with `offset`
	 */
	publish(channel, data) {
		checkChannel(channel);
		this.#typingAt.delete(channel);
		return this.#request({ type: "publish", channel,
		    data: data === undefined ? null : data });
	}

	/**
	 * Asks who is on a channel.
	 *
	 * @param {string} channel
	 * @returns {Promise<object>} the presence frame: {channel, count, users}
	 */
	presence(channel) {
		checkChannel(channel);
		return this.#request({ type: "presence", channel });
	}

	/**
	 * Reads a channel's history.
	 *
	 * @param {string} channel
	 * @param {object} [opts]
	 * @param {string} [opts.since] only messages after this offset
	 * @param {number} [opts.limit] at most this many (at most 1000)
	 * @returns {Promise<object>} the history frame: {channel, messages,
	 *     complete}
	 */
	history(channel, opts = {}) {
		checkChannel(channel);
		const frame = { type: "history", channel };
		if (opts.since != null)
			frame.since = opts.since;
		if (opts.limit != null)
			frame.limit = opts.limit;
		return this.#request(frame);
	}

	/**
	 * Tells the channel that the user is typing.  Call it on every key:
	 * it sends at most one frame per channel per typingInterval (2 s),
	 * which keeps the server's typing TTL (5 s) alive.
	 *
	 * @param {string} channel
	 * @returns {boolean} whether a frame was sent
	 */
	typing(channel) {
		checkChannel(channel);
		if (!this.#live)
			return false;
		const t = this.#now(), last = this.#typingAt.get(channel);
		if (last !== undefined && t - last < this.#cfg.typingInterval)
			return false;
		this.#typingAt.set(channel, t);
		this.#send({ type: "typing", channel });
		return true;
	}

	/**
	 * Tells the channel that the user stopped typing.  Sends a frame only
	 * when typing() sent one on this connection since the last publish or
	 * stopTyping() on the channel.
	 *
	 * @param {string} channel
	 * @returns {boolean} whether a frame was sent
	 */
	stopTyping(channel) {
		checkChannel(channel);
		const had = this.#typingAt.delete(channel);
		if (!had || !this.#live)
			return false;
		this.#send({ type: "typing", channel, state: "stop" });
		return true;
	}

	/* The connection. */

	#setState(state) {
		if (this.#state === state)
			return;
		this.#state = state;
		this.#emit("state", state);
	}

	#emit(event, value) {
		const set = this.#listeners.get(event);
		if (set === undefined)
			return;
		for (const fn of [...set]) {
			try {
				fn(value);
			} catch (err) {
				// A listener's bug must not break the client's
				// state: report it outside of it.
				queueMicrotask(() => { throw err; });
			}
		}
	}

	#buildUrl(base) {
		const u = new URL(base);
		if (this.#token != null)
			u.searchParams.set("token", this.#token);
		else if (this.#user != null)
			u.searchParams.set("user", this.#user);
		if (this.#session != null)
			u.searchParams.set("session", this.#session);
		return u.toString();
	}

	/** Starts one connection attempt. */
	#open() {
		this.#reconnectTimer = null;
		let ws;
		try {
			ws = new this.#WS(this.#buildUrl(this.#urls[this.#urlIndex]));
		} catch (err) {
			this.#dropped(null, 1006, String(err && err.message));
			return;
		}
		this.#ws = ws;
		ws.onopen = null;
		ws.onerror = () => {};  // a close event follows
		ws.onmessage = (ev) => {
			if (this.#ws === ws)
				this.#frame(ev.data);
		};
		ws.onclose = (ev) => {
			if (this.#ws === ws)
				this.#dropped(ws, ev.code, ev.reason);
		};
		this.#connectTimer = this.#setTimeout(() => {
			this.#connectTimer = null;
			if (this.#ws === ws)
				this.#dropped(ws, 1006, "connect timeout");
		}, this.#cfg.connectTimeout);
	}

	/** Stops listening to a socket and closes it. */
	#discard(ws, code, reason) {
		ws.onmessage = ws.onclose = ws.onopen = null;
		ws.onerror = () => {};  // the "ws" package throws without one
		try {
			ws.close(code, reason);
		} catch {
			// Already closing, or a code the class refuses.
		}
	}

	/** The current socket ended (or an attempt failed). */
	#dropped(ws, code, reason) {
		if (ws !== null)
			this.#discard(ws, 1000, "");
		this.#ws = null;
		if (this.#connectTimer !== null) {
			this.#clearTimeout(this.#connectTimer);
			this.#connectTimer = null;
		}
		const wasOpen = this.#live;
		this.#live = false;
		this.#typingAt.clear();
		this.#dropFills();
		this.#rejectPending(new GwError("disconnected",
		    "the connection ended", { closeCode: code, reason }));
		if (isFatalClose(code, reason)) {
			this.#emit("close", { code, reason, reconnect: false });
			this.#stop(code, reason, false);
			return;
		}
		if (wasOpen && this.#now() - this.#openedAt >=
		    this.#cfg.stableAfter)
			this.#attempt = 0;
		const cap = Math.min(this.#cfg.maxDelay,
		    this.#cfg.baseDelay * 2 ** this.#attempt);
		const delay = this.#random() * cap;
		if (this.#attempt < 64)
			this.#attempt++;
		this.#urlIndex = (this.#urlIndex + 1) % this.#urls.length;
		this.#setState("reconnecting");
		this.#emit("close", { code, reason, reconnect: true, delay });
		// A "close" listener may have called close().
		if (this.#wanted && this.#ws === null &&
		    this.#reconnectTimer === null)
			this.#reconnectTimer = this.#setTimeout(() =>
			    this.#open(), delay);
	}

	/** Ends the client: by close() (local) or by a fatal close code. */
	#stop(code, reason, local) {
		this.#wanted = false;
		if (this.#reconnectTimer !== null) {
			this.#clearTimeout(this.#reconnectTimer);
			this.#reconnectTimer = null;
		}
		if (this.#connectTimer !== null) {
			this.#clearTimeout(this.#connectTimer);
			this.#connectTimer = null;
		}
		if (this.#ws !== null) {
			this.#discard(this.#ws, code, reason);
			this.#ws = null;
		}
		this.#live = false;
		this.#typingAt.clear();
		this.#dropFills();
		const err = new GwError(local ? "disconnected" : "closed",
		    local ? "the client was closed" : `closed by the server: ${
		    code} ${reason || ""}`.trim(), { closeCode: code, reason });
		this.#rejectPending(err);
		for (const ch of this.#channels.values()) {
			this.#rejectAll(ch.waiters, err);
			ch.waiters = [];
		}
		const waiters = this.#connectWaiters;
		this.#connectWaiters = [];
		this.#rejectAll(waiters, new GwError("closed", err.message,
		    { closeCode: code, reason }));
		this.#setState("closed");
	}

	#rejectAll(waiters, err) {
		for (const w of waiters)
			w.reject(err);
	}

	#rejectPending(err) {
		const pending = [...this.#pending.values()];
		this.#pending.clear();
		for (const p of pending) {
			this.#clearTimeout(p.timer);
			p.reject(err);
		}
	}

	/* Frames. */

	#send(frame) {
		const ws = this.#ws;
		if (ws === null || (ws.readyState !== undefined &&
		    ws.readyState !== WS_OPEN))
			return false;
		try {
			ws.send(JSON.stringify(frame));
		} catch {
			return false;  // its close event follows
		}
		return true;
	}

	/** Sends a request with a new id; the reply with that id settles it. */
	#request(frame) {
		if (!this.#live)
			return Promise.reject(new GwError("disconnected",
			    "not connected"));
		const id = ++this.#nextId;
		return new Promise((resolve, reject) => {
			const timer = this.#setTimeout(() => {
				if (this.#pending.delete(id))
					reject(new GwError("timeout",
					    `no answer to ${frame.type} in ${
					    this.#cfg.requestTimeout} ms`));
			}, this.#cfg.requestTimeout);
			this.#pending.set(id, { resolve, reject, timer });
			this.#send({ ...frame, id });
		});
	}

	#frame(data) {
		const text = frameText(data);
		if (text === null)
			return;
		let f;
		try {
			f = JSON.parse(text);
		} catch {
			return;
		}
		if (f === null || typeof f !== "object" || Array.isArray(f))
			return;
		switch (f.type) {
		case "welcome":
			this.#onWelcome(f);
			return;
		case "message":
			this.#onMessage(f);
			return;
		case "presence.join":
		case "presence.leave":
			this.#emit("presence", f);
			return;
		case "typing.start":
		case "typing.stop":
			this.#emit("typing", f);
			return;
		case "subscribed":
			this.#onSubscribed(f);
			break;
		}
		const p = f.id != null ? this.#pending.get(f.id) : undefined;
		if (p !== undefined) {
			this.#pending.delete(f.id);
			this.#clearTimeout(p.timer);
			if (f.type === "error")
				p.reject(new GwError(String(f.code ?? "error"),
				    f.message, { frame: f }));
			else
				p.resolve(f);
		} else if (f.type === "error") {
			this.#emit("error", f);
		}
	}

	#onWelcome(f) {
		if (this.#live)
			return;
		if (this.#connectTimer !== null) {
			this.#clearTimeout(this.#connectTimer);
			this.#connectTimer = null;
		}
		this.#welcome = f;
		if (typeof f.session === "string" && f.session !== "")
			this.#session = f.session;
		this.#openedAt = this.#now();
		this.#live = true;
		const restored = new Set(f.resumed === true &&
		    Array.isArray(f.channels) ? f.channels : []);
		// Channels the server restored announce themselves with a
		// subscribed frame; the others are subscribed again, from
		// their last offset.
		for (const [name, ch] of this.#channels)
			if (!restored.has(name))
				this.#resubscribe(name, ch);
		// Restored channels unsubscribed while away are dropped.
		for (const name of restored)
			if (!this.#channels.has(name))
				this.#request({ type: "unsubscribe",
				    channel: name }).catch(() => {});
		this.#setState("open");
		const waiters = this.#connectWaiters;
		this.#connectWaiters = [];
		for (const w of waiters)
			w.resolve(f);
	}

	#subscribeFrame(name, ch) {
		const frame = { type: "subscribe", channel: name };
		if (ch.presence)
			frame.presence = true;
		if (ch.offset != null)
			frame.since = ch.offset;
		return frame;
	}

	/** Subscribes a channel of the list on the library's own account. */
	#resubscribe(name, ch) {
		this.#request(this.#subscribeFrame(name, ch)).catch((err) =>
		    this.#subscribeFailed(name, ch, err, false));
	}

	/**
	 * A subscribe failed.  An error frame removes the channel from the
	 * list (the server refused it); a drop or a timeout keeps it for the
	 * next connection.  The failure of a subscribe the application did
	 * not ask for itself (own false) and no one waits for is reported
	 * as an "error" event.
	 */
	#subscribeFailed(name, ch, err, own) {
		if (err.code === "disconnected" || err.code === "timeout" ||
		    err.code === "closed")
			return;
		if (this.#channels.get(name) === ch)
			this.#channels.delete(name);
		const waiters = ch.waiters;
		ch.waiters = [];
		this.#rejectAll(waiters, err);
		if (!own && waiters.length === 0)
			this.#emit("error", { type: "error", channel: name,
			    code: err.code, message: err.message });
	}

	#onSubscribed(f) {
		const ch = this.#channels.get(f.channel);
		if (ch === undefined)
			return;
		const known = ch.offset;
		if (known == null && typeof f.offset === "string")
			ch.offset = f.offset;
		// A channel the server restored without the messages missed
		// since our last offset (recovered false), or from an offset
		// after it (what was in flight when the old socket broke was
		// written, not received): ask for them, from ours.  Meanwhile
		// and until the answer's replay is in, its messages are held
		// and then given in offset order: the server sends the gap
		// after the live messages that came first.
		if (f.id == null && known != null && (f.recovered === false ||
		    (typeof f.since === "string" &&
		    !isDuplicateOffset(f.since, known)))) {
			this.#startFill(ch);
			this.#resubscribe(f.channel, ch);
		} else if (f.id != null && ch.fill != null &&
		    ch.fill.upTo === null) {
			ch.fill.upTo = typeof f.offset === "string" ?
			    f.offset : known;
			this.#armFill(f.channel, ch);
		}
		this.#emit("subscribed", f);
		const waiters = ch.waiters;
		ch.waiters = [];
		for (const w of waiters)
			w.resolve(f);
	}

	#onMessage(f) {
		const ch = this.#channels.get(f.channel);
		if (ch === undefined || isDuplicateOffset(f.offset, ch.offset))
			return;
		const m = { channel: f.channel, data: f.data, offset: f.offset,
		    from: f.from ?? null, ts: f.ts };
		if (ch.fill != null && typeof f.offset === "string") {
			// Up to the answer's latest offset: the gap's replay
			// or what came live before it; held.  After it: the
			// replay is over.
			if (ch.fill.upTo === null ||
			    isDuplicateOffset(f.offset, ch.fill.upTo)) {
				ch.fill.held.set(f.offset, m);
				if (ch.fill.upTo !== null)
					this.#armFill(f.channel, ch);
				return;
			}
			this.#endFill(ch);
			if (isDuplicateOffset(f.offset, ch.offset))
				return;
		}
		if (typeof f.offset === "string")
			ch.offset = f.offset;
		this.#emit("message", m);
	}

	/* Filling a gap after a resume (#onSubscribed). */

	#startFill(ch) {
		if (ch.fill == null)
			ch.fill = { held: new Map(), upTo: null, timer: null };
	}

	/**
	 * The replay comes right behind its answer; a channel that goes
	 * quiet after it gives no newer message to say it is over.
	 */
	#armFill(name, ch) {
		if (ch.fill.timer !== null)
			this.#clearTimeout(ch.fill.timer);
		ch.fill.timer = this.#setTimeout(() => {
			if (this.#channels.get(name) === ch && ch.fill != null)
				this.#endFill(ch);
		}, FILL_WAIT);
	}

	/** Gives what was held, in offset order, each once. */
	#endFill(ch) {
		const fill = ch.fill;
		ch.fill = null;
		if (fill.timer !== null)
			this.#clearTimeout(fill.timer);
		const held = [...fill.held.values()].sort((a, b) =>
		    a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0);
		for (const m of held) {
			if (isDuplicateOffset(m.offset, ch.offset))
				continue;
			ch.offset = m.offset;
			this.#emit("message", m);
		}
	}

	/**
	 * The socket ended while gaps were being filled: what was held is
	 * dropped, not given, and the last offset stays before the gap, so
	 * that the next connection asks for all of it again.
	 */
	#dropFills() {
		for (const ch of this.#channels.values()) {
			if (ch.fill == null)
				continue;
			if (ch.fill.timer !== null)
				this.#clearTimeout(ch.fill.timer);
			ch.fill = null;
		}
	}
}
