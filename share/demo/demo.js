// demo.js -- the gw demo page: a document room on one channel (doc:1 by
// default) with who is viewing it, who is typing, a chat, and a live
// counter (channel "counter").  Everything goes through gw-client.js.
//
// Query parameters: user=ID (auth none) or token=JWT; doc=CHANNEL;
// urls=ws://a/ws,ws://b/ws (tried in turn; default: this page's host).
import { GwClient } from "/js/gw-client.js";

const params = new URLSearchParams(location.search);
const doc = params.get("doc") || "doc:1";
const COUNTER = "counter";
const MAX_CHAT = 200;		// chat lines kept on the page
/*
 * ms: forget a typist whose stop never came.  Long: while someone types
 * on, the server pushes the stop back and sends no new typing.start, and
 * it sends the stop even across a restart of its presence service; a
 * disconnect of this page clears the typists by itself.
 */
const TYPING_FALLBACK = 120000;

function defaultUrl() {
	const scheme = location.protocol === "https:" ? "wss" : "ws";
	return `${scheme}://${location.host}/ws`;
}

const urls = (params.get("urls") || defaultUrl())
	.split(",").map((u) => u.trim()).filter((u) => u !== "");

const $ = (id) => document.getElementById(id);
const el = {
	state: $("state"), node: $("node"), me: $("me"), doc: $("doc-name"),
	viewers: $("viewers"), typing: $("typing"), chat: $("chat"),
	input: $("chat-input"), send: $("chat-send"), form: $("chat-form"),
	counter: $("counter"), notice: $("notice"),
};

const opts = { urls };
if (params.get("token"))
	opts.token = params.get("token");
else if (params.get("user"))
	opts.user = params.get("user");
const gw = new GwClient(opts);
// The page's own user id: from the parameters until a welcome says.
let myId = params.get("user") || "";

el.doc.textContent = doc;
el.me.textContent = myId !== "" ? myId : "";
document.title = `gw demo: ${doc}`;

// For the browser tests and the curious: window.gwDemo.client.
// states: every connection state the page went through, in order.
window.gwDemo = { client: gw, doc, urls, states: [] };

function notice(text) {
	el.notice.textContent = text;
	if (text !== "")
		console.log(`demo: ${text}`);
}

// ---- connection state

gw.on("state", (s) => {
	window.gwDemo.states.push(s);
	el.state.textContent = s;
	el.state.dataset.state = s;
	el.send.disabled = s !== "open";
	if (s !== "open") {
		// Typing indicators do not survive a disconnect: the
		// server's stops may be lost meanwhile.
		typists.clear();
		renderTyping();
	} else {
		notice("");
		showWelcome(gw.welcome);
	}
	console.log(`demo: state ${s}`);
});

// The welcome of the connection that just opened: who we are, where.
function showWelcome(w) {
	if (w === null)
		return;
	if (typeof w.userId === "string" && w.userId !== myId) {
		myId = w.userId;
		el.me.textContent = myId;
		markMe();
	}
	el.node.textContent = w.node ? `node ${w.node}` : "";
	console.log(`demo: welcome from node ${w.node}, ` +
	    `resumed ${w.resumed === true}`);
}

gw.on("error", (e) => {
	notice(`error ${e.code}: ${e.message}`);
});

// Why the connection ended, when the page can tell.  A browser sees an
// upgrade the server refused (401: a token expired before the page
// connected) as 1006 before any welcome, like a server that is down.
let opened = false;	// the socket that ends had been welcomed
gw.on("state", (s) => {
	if (s === "open")
		opened = true;
});
gw.on("close", (e) => {
	if (!e.reconnect)
		notice(`closed by the server: ${e.reason || e.code}` +
		    (e.code === 1008 ? " (a new token and a reload needed)" :
		    ""));
	else if (!opened)
		notice(`cannot connect (code ${e.code}): retrying; the server ` +
		    "may be down, or refuse the token (expired?)");
	opened = false;
});

// ---- who is viewing (presence of the doc channel)

const viewers = new Map();	// userId -> info

function viewerName(id, info) {
	if (info && typeof info.name === "string" && info.name !== "")
		return info.name;
	return id;
}

function renderViewers() {
	const ids = [...viewers.keys()].sort();
	const items = ids.map((id) => {
		const li = document.createElement("li");
		li.dataset.user = id;
		li.textContent = viewerName(id, viewers.get(id));
		if (id === myId) {
			li.classList.add("me");
			li.title = "you";
		}
		return li;
	});
	el.viewers.replaceChildren(...items);
}

function markMe() {
	for (const li of el.viewers.children)
		li.classList.toggle("me", li.dataset.user === myId);
}

function setViewers(users) {
	viewers.clear();
	for (const u of users || [])
		if (u && typeof u.userId === "string")
			viewers.set(u.userId, u.info || {});
	renderViewers();
}

async function refreshPresence() {
	try {
		const p = await gw.presence(doc);
		setViewers(p.users);
	} catch (e) {
		console.log(`demo: presence: ${e.code || e}`);
	}
}

gw.on("presence", (e) => {
	if (e.channel !== doc)
		return;
	if (e.type === "presence.join")
		viewers.set(e.userId, e.info || {});
	else if (e.type === "presence.leave") {
		viewers.delete(e.userId);
		typists.delete(e.userId);
		renderTyping();
	}
	renderViewers();
});

gw.on("subscribed", (m) => {
	if (m.channel !== doc)
		return;
	// Our first subscribe, or the server restoring the channel on a
	// resume, or the library subscribing again after a reconnect: the
	// list may have changed meanwhile, so take it whole.
	if (m.presence && Array.isArray(m.presence.users))
		setViewers(m.presence.users);
	else
		refreshPresence();
});

// ---- who is typing

const typists = new Map();	// userId -> fallback timer

function renderTyping() {
	const names = [...typists.keys()].sort()
		.map((id) => viewerName(id, viewers.get(id)));
	let text = "";
	if (names.length === 1)
		text = `${names[0]} is typing…`;
	else if (names.length > 1)
		text = `${names.slice(0, -1).join(", ")} and ` +
		    `${names[names.length - 1]} are typing…`;
	el.typing.textContent = text;
}

function stopTypist(id) {
	const t = typists.get(id);
	if (t !== undefined)
		clearTimeout(t);
	typists.delete(id);
}

gw.on("typing", (e) => {
	if (e.channel !== doc || e.userId === myId)
		return;
	stopTypist(e.userId);
	if (e.type === "typing.start")
		typists.set(e.userId, setTimeout(() => {
			typists.delete(e.userId);
			renderTyping();
		}, TYPING_FALLBACK));
	renderTyping();
});

// ---- chat

const shown = new Set();	// offsets of the chat lines on the page

function clock(ts) {
	const d = new Date(typeof ts === "number" ? ts : Date.now());
	return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit",
	    second: "2-digit" });
}

function chatText(data) {
	if (data && typeof data === "object" && typeof data.text === "string")
		return data.text;
	return JSON.stringify(data);
}

// Add one message to #chat in offset order (the history may answer after
// live messages came), once.
function addChat(m) {
	if (m.offset !== undefined && shown.has(m.offset))
		return;
	if (m.offset !== undefined)
		shown.add(m.offset);
	const li = document.createElement("li");
	if (m.offset !== undefined)
		li.dataset.offset = m.offset;
	li.dataset.from = m.from ?? "";
	if (m.from === myId)
		li.classList.add("mine");
	const time = document.createElement("time");
	time.textContent = clock(m.ts);
	if (typeof m.ts === "number")
		time.dateTime = new Date(m.ts).toISOString();
	const who = document.createElement("span");
	who.className = "from";
	who.textContent = m.from ?? "server";
	const text = document.createElement("span");
	text.className = "text";
	text.textContent = chatText(m.data);
	li.append(time, " ", who, " ", text);

	let before = null;
	if (m.offset !== undefined)
		for (let n = el.chat.lastElementChild; n !== null;
		    n = n.previousElementSibling) {
			if (n.dataset.offset === undefined ||
			    n.dataset.offset < m.offset)
				break;
			before = n;
		}
	const atBottom = el.chat.scrollHeight - el.chat.scrollTop -
	    el.chat.clientHeight < 40;
	el.chat.insertBefore(li, before);
	while (el.chat.children.length > MAX_CHAT) {
		const old = el.chat.firstElementChild;
		shown.delete(old.dataset.offset);
		old.remove();
	}
	if (atBottom || m.from === myId)
		el.chat.scrollTop = el.chat.scrollHeight;
}

// ---- the live counter

function counterValue(data) {
	if (typeof data === "number" || typeof data === "string")
		return data;
	if (data && typeof data === "object") {
		if (data.n !== undefined)
			return data.n;
		if (data.value !== undefined)
			return data.value;
	}
	return undefined;
}

function setCounter(data) {
	const v = counterValue(data);
	if (v === undefined)
		return;
	el.counter.textContent = String(v);
	el.counter.classList.remove("bump");
	void el.counter.offsetWidth;	// restart the animation
	el.counter.classList.add("bump");
}

gw.on("message", (m) => {
	if (m.channel === doc) {
		stopTypist(m.from);
		renderTyping();
		addChat(m);
	} else if (m.channel === COUNTER) {
		el.counter.dataset.live = "1";
		setCounter(m.data);
	}
});

// ---- sending

el.input.addEventListener("input", () => {
	if (el.input.value.trim() !== "")
		gw.typing(doc);
	else
		gw.stopTyping(doc);
});

el.form.addEventListener("submit", async (ev) => {
	ev.preventDefault();
	const text = el.input.value.trim();
	if (text === "")
		return;
	el.input.value = "";
	try {
		await gw.publish(doc, { text });
		notice("");
	} catch (e) {
		// Give the text back, so that it can be sent again.
		if (el.input.value === "")
			el.input.value = text;
		notice(`not sent (${e.code || e}): try again`);
	}
});

// ---- start

// The library subscribes once the connection is open, and keeps the
// channels across reconnects (resuming the session, or subscribing again
// from the last offsets); the promises settle with the first answers.
async function start() {
	const subs = [gw.subscribe(doc, { presence: true }),
	    gw.subscribe(COUNTER)];
	gw.connect().catch((e) => notice(`stopped: ${e.message}`));
	try {
		await Promise.all(subs);
	} catch (e) {
		notice(`cannot subscribe: ${e.code}: ${e.message}`);
		return;
	}
	// What was said before we came, and the counter's last value.
	try {
		const h = await gw.history(doc, { limit: 50 });
		for (const m of h.messages || [])
			addChat(m);
		const c = await gw.history(COUNTER, { limit: 1 });
		const last = (c.messages || []).at(-1);
		// Only if no live value came meanwhile.
		if (last && el.counter.dataset.live === undefined)
			setCounter(last.data);
	} catch (e) {
		console.log(`demo: history: ${e.code || e}`);
	}
}

start();
