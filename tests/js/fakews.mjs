// fakews.mjs: a WebSocket class and a clock that the unit tests of
// gw-client.js drive by hand, so that no test opens a socket or sleeps.

/**
 * Makes a fake WebSocket class with its own list of instances.  The test
 * plays the server: open(), receive(frame), serverClose(code, reason);
 * what the client sent is in `sent` (parsed JSON).
 */
export function makeFakeWebSocket() {
	class FakeWebSocket {
		static CONNECTING = 0;
		static OPEN = 1;
		static CLOSING = 2;
		static CLOSED = 3;
		static instances = [];

		/** The socket made last. */
		static get last() {
			return FakeWebSocket.instances.at(-1);
		}

		constructor(url) {
			this.url = url;
			this.readyState = FakeWebSocket.CONNECTING;
			this.sent = [];
			this.closedWith = null;
			this.onopen = null;
			this.onmessage = null;
			this.onclose = null;
			this.onerror = null;
			FakeWebSocket.instances.push(this);
		}

		/** The query parameters of the URL it was made with. */
		get query() {
			return new URL(this.url).searchParams;
		}

		send(text) {
			if (this.readyState !== FakeWebSocket.OPEN)
				throw new Error("fake: send on a socket not open");
			this.sent.push(JSON.parse(text));
		}

		// The client closes: record it, and fire the close event at
		// once, as a careless client would see it (a client that
		// detached its handlers sees nothing).
		close(code, reason) {
			this.closedWith = { code, reason };
			if (this.readyState === FakeWebSocket.CLOSED)
				return;
			this.readyState = FakeWebSocket.CLOSED;
			this.onclose?.({ code: code ?? 1005, reason: reason ?? "",
			    wasClean: true });
		}

		/* What the test does as the server. */

		open() {
			this.readyState = FakeWebSocket.OPEN;
			this.onopen?.({});
		}

		receive(frame) {
			const data = typeof frame === "string" ? frame :
			    JSON.stringify(frame);
			this.onmessage?.({ data });
		}

		serverClose(code = 1006, reason = "") {
			this.readyState = FakeWebSocket.CLOSED;
			this.onerror?.({});
			this.onclose?.({ code, reason, wasClean: code !== 1006 });
		}

		/** The frames sent so far of one type. */
		sentOf(type) {
			return this.sent.filter((f) => f.type === type);
		}
	}
	return FakeWebSocket;
}

/**
 * A clock with setTimeout/clearTimeout/now that only moves on advance().
 * Timers due at the same time run in the order they were set.
 */
export class FakeClock {
	constructor(start = 1700000000000) {
		this.t = start;
		this.seq = 0;
		this.timers = new Map();
		this.now = () => this.t;
		this.setTimeout = (fn, ms = 0) => {
			const id = ++this.seq;
			this.timers.set(id, { id, due: this.t + ms, delay: ms, fn });
			return id;
		};
		this.clearTimeout = (id) => {
			this.timers.delete(id);
		};
	}

	/** The timers not yet run, soonest first. */
	pending() {
		return [...this.timers.values()].sort((a, b) =>
		    a.due - b.due || a.id - b.id);
	}

	/** Moves the time on by ms, running every timer that falls due. */
	advance(ms) {
		const end = this.t + ms;
		for (;;) {
			const next = this.pending()[0];
			if (next === undefined || next.due > end)
				break;
			this.timers.delete(next.id);
			this.t = next.due;
			next.fn();
		}
		this.t = end;
	}
}
