// browser.mjs -- the demo page in headless Chromium, as two users on two
// nodes: alice on node A, bob on node B (each page lists both nodes' ws
// URLs, its own node first).  Checks presence, typing, chat both ways, the
// live counter (fed by a WebSocket client of this script), and, after the
// caller has killed node B, that bob's page reconnects to node A, keeps
// its channels and still gets alice's chat messages.
//
//   node tests/js/browser.mjs --page http://127.0.0.1:PORT/ \
//       --ws-a ws://127.0.0.1:PA/ws --ws-b ws://127.0.0.1:PB/ws \
//       [--sync DIR]
//
// With --sync, once the first checks pass the script creates DIR/killme
// and waits (at most 60 s) for DIR/killme.go: the caller kills node B in
// between; at the end, DIR/kickme and DIR/kickme.go: the caller kicks
// alice (gwctl kick --user alice on node A).  Without it, these phases
// are skipped.
//
// Every wait is bounded.  On failure: screenshots of both pages go to
// $GW_SCREENSHOTS (default /tmp), their paths and the pages' console logs
// are printed, and the exit status is 1.  playwright-core and ws are
// looked for in build/npm (share/deps.sh installs them there), or in
// $GW_NPM; Chromium is $CHROMIUM, default /usr/bin/chromium.
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, "../..");
const npmdir = process.env.GW_NPM || path.join(top, "build/npm");
const require = createRequire(path.join(npmdir, "package.json"));

const STEP_TIMEOUT = 15000;	// ms for one check
const RECONNECT_TIMEOUT = 30000;	// ms for bob's page to come back
const KILL_TIMEOUT = 60000;	// ms to wait for killme.go
const WATCHDOG = 85000;	// ms for the whole script (its report, and
				// the bats test's 120 s, after it)

function usage(msg) {
	console.error(`browser.mjs: ${msg}`);
	console.error("usage: browser.mjs --page URL --ws-a URL --ws-b URL " +
	    "[--sync DIR]");
	process.exit(2);
}

const args = {};
for (let i = 2; i < process.argv.length; i += 2) {
	const k = process.argv[i];
	if (!k.startsWith("--") || i + 1 >= process.argv.length)
		usage(`bad argument ${k}`);
	args[k.slice(2)] = process.argv[i + 1];
}
for (const k of ["page", "ws-a", "ws-b"])
	if (!args[k])
		usage(`--${k} missing`);

let chromium, WebSocket;
try {
	({ chromium } = require("playwright-core"));
	WebSocket = require("ws");
} catch (e) {
	console.error(`browser.mjs: cannot load playwright-core or ws from ` +
	    `${npmdir} (run share/deps.sh): ${e.message}`);
	process.exit(2);
}

const nonce = Math.random().toString(36).slice(2, 8);
const t0 = Date.now();
let step = "start";
let browser = null;
const pages = {};	// user -> {page, log: [lines]}

function say(msg) {
	console.log(`# ${((Date.now() - t0) / 1000).toFixed(1)}s ${msg}`);
}

function sleep(ms) {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

// p, or undefined after ms: a loaded machine's chromium may never answer
// (a close, an evaluate in a stuck page), and the test must end by itself.
function bounded(p, ms) {
	return Promise.race([p.catch(() => {}), sleep(ms)]);
}

// Save screenshots and print the consoles: the failing state, for humans.
async function report(why) {
	console.log(`browser.mjs: FAILED at step "${step}": ${why}`);
	const dir = process.env.GW_SCREENSHOTS || "/tmp";
	for (const [user, p] of Object.entries(pages)) {
		const file = path.join(dir,
		    `gw-demo-${user}-${process.pid}-${nonce}.png`);
		try {
			await p.page.screenshot({ path: file, fullPage: true,
			    timeout: 3000 });
			console.log(`# screenshot of ${user}'s page: ${file}`);
		} catch (e) {
			console.log(`# no screenshot of ${user}'s page: ` +
			    `${e.message.split("\n")[0]}`);
		}
		try {
			const html = await bounded(p.page.evaluate(() =>
			    ["state", "viewers", "typing", "chat", "counter",
			    "notice"].map((id) => {
				const e = document.getElementById(id);
				return `${id}: ${e ? e.innerText.replace(
				    /\s+/g, " ").slice(0, 300) : "(none)"}`;
			    }).join("\n")), 3000);
			if (html === undefined)
				throw new Error("no answer");
			console.log(`# ${user}'s page now:`);
			for (const l of html.split("\n"))
				console.log(`#   ${l}`);
		} catch (e) {
			// The page may be gone: the consoles still help.
		}
		console.log(`# console of ${user}'s page (${p.log.length} ` +
		    "lines):");
		for (const l of p.log.slice(-80))
			console.log(`#   ${l}`);
	}
}

async function fail(why) {
	try {
		await report(why);
	} finally {
		if (browser !== null)
			await bounded(browser.close(), 5000);
		process.exit(1);
	}
}

// One check: a name for the report, a bounded wait inside.
async function check(name, fn) {
	step = name;
	say(name);
	await fn();
}

// Wait until fn (run in the page, with arg) returns true.
async function until(user, fn, arg, timeout = STEP_TIMEOUT) {
	await pages[user].page.waitForFunction(fn, arg,
	    { timeout, polling: 100 });
}

const hasViewer = ([who]) =>
	document.querySelector(`#viewers li[data-user="${who}"]`) !== null;
const typingShows = ([who]) =>
	document.getElementById("typing").textContent.includes(who);
const typingQuiet = ([who]) =>
	!document.getElementById("typing").textContent.includes(who);
const noticeHas = ([text]) =>
	document.getElementById("notice").textContent.includes(text);
const chatHas = ([text]) =>
	[...document.querySelectorAll("#chat li")]
	    .some((li) => li.textContent.includes(text));
const stateIs = ([s]) =>
	document.getElementById("state").textContent === s;
const counterIs = ([v]) =>
	document.getElementById("counter").textContent === v;

async function say_chat(user, text) {
	const page = pages[user].page;
	await page.fill("#chat-input", "");
	await page.type("#chat-input", text, { delay: 5 });
	await page.click("#chat-send", { timeout: STEP_TIMEOUT });
}

// Publish data on channel with a plain WebSocket client (the backend).
function wsPublish(url, channel, data) {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(`${url}?user=backend-${nonce}`);
		const timer = setTimeout(() => {
			ws.terminate();
			reject(new Error(`no published answer from ${url} ` +
			    "within 10 s"));
		}, 10000);
		ws.on("error", (e) => {
			clearTimeout(timer);
			reject(e);
		});
		ws.on("open", () => ws.send(JSON.stringify({ type: "subscribe",
		    id: 1, channel })));
		ws.on("message", (buf) => {
			const m = JSON.parse(buf.toString());
			if (m.type === "subscribed" && m.id === 1)
				ws.send(JSON.stringify({ type: "publish",
				    id: 2, channel, data }));
			else if (m.type === "published" && m.id === 2) {
				clearTimeout(timer);
				ws.close();
				resolve(m.offset);
			} else if (m.type === "error") {
				clearTimeout(timer);
				ws.close();
				reject(new Error(`error ${m.code}: ` +
				    `${m.message}`));
			}
		});
	});
}

// Wait (bounded) for the file name to exist.
async function waitFile(name, timeout) {
	const end = Date.now() + timeout;
	while (Date.now() < end) {
		if (fs.existsSync(name))
			return;
		await sleep(50);
	}
	throw new Error(`${name} did not appear within ${timeout / 1000} s`);
}

async function openPage(user, urls) {
	const ctx = await browser.newContext();
	const page = await ctx.newPage();
	const log = [];
	const stamp = () => `${((Date.now() - t0) / 1000).toFixed(1)}s`;
	page.on("console", (m) => log.push(`${stamp()} ${m.type()}: ` +
	    `${m.text()}`));
	page.on("pageerror", (e) => log.push(`${stamp()} pageerror: ` +
	    `${e.message}`));
	page.on("requestfailed", (r) => log.push(`${stamp()} requestfailed: ` +
	    `${r.url()} ${r.failure()?.errorText ?? ""}`));
	page.on("websocket", (ws) => {
		log.push(`${stamp()} websocket open: ${ws.url()}`);
		ws.on("close", () => log.push(`${stamp()} websocket closed: ` +
		    ws.url()));
	});
	pages[user] = { page, log };
	const u = new URL(args.page);
	u.searchParams.set("user", user);
	u.searchParams.set("urls", urls.join(","));
	const resp = await page.goto(u.toString(), { timeout: STEP_TIMEOUT });
	if (resp === null || !resp.ok())
		throw new Error(`GET ${u}: ${resp ? resp.status() : "no answer"}`);
}

async function main() {
	const wsA = args["ws-a"], wsB = args["ws-b"];

	await check("launch chromium", async () => {
		browser = await chromium.launch({
			executablePath: process.env.CHROMIUM ||
			    "/usr/bin/chromium",
			headless: true,
			args: ["--no-sandbox", "--disable-gpu",
			    "--disable-dev-shm-usage"],
			timeout: 30000,
		});
	});
	await check("open the pages (alice on A, bob on B)", async () => {
		await openPage("alice", [wsA, wsB]);
		await openPage("bob", [wsB, wsA]);
	});
	await check("both pages connected", async () => {
		await until("alice", stateIs, ["open"]);
		await until("bob", stateIs, ["open"]);
	});
	await check("presence: each sees the other in #viewers", async () => {
		await until("alice", hasViewer, ["bob"]);
		await until("bob", hasViewer, ["alice"]);
		await until("alice", hasViewer, ["alice"]);
	});
	await check("typing: alice types, bob's #typing shows it", async () => {
		await pages.alice.page.fill("#chat-input", "");
		await pages.alice.page.type("#chat-input", "hel",
		    { delay: 20 });
		await until("bob", typingShows, ["alice"]);
	});
	await check("typing that goes on for 10 s stays shown (no new " +
	    "typing.start comes while it does)", async () => {
		for (let i = 0; i < 20; i++) {
			await pages.alice.page.type("#chat-input", "l");
			await sleep(500);
			if (!await pages.bob.page.evaluate(typingShows,
			    ["alice"]))
				throw new Error(`bob's #typing lost alice ` +
				    `after ${(i + 1) * 0.5} s of typing`);
		}
		await pages.alice.page.fill("#chat-input", "hel");
	});
	const m1 = `hello from alice ${nonce}`;
	await check("chat: alice's message reaches bob", async () => {
		await pages.alice.page.type("#chat-input", "lo", { delay: 5 });
		await pages.alice.page.fill("#chat-input", "");
		await say_chat("alice", m1);
		await until("bob", chatHas, [m1]);
		await until("alice", chatHas, [m1]);
	});
	await check("typing stops once alice has sent", async () => {
		await until("bob", typingQuiet, ["alice"]);
	});
	const m2 = `hi alice, bob here ${nonce}`;
	await check("chat: bob's message reaches alice", async () => {
		await say_chat("bob", m2);
		await until("alice", chatHas, [m2]);
	});
	const n = String(1000 + Math.floor(Math.random() * 9000));
	await check(`counter: ${n} published on "counter" shows`, async () => {
		await wsPublish(wsA, "counter", { n: Number(n) });
		await until("alice", counterIs, [n]);
		await until("bob", counterIs, [n]);
	});

	if (!args.sync) {
		say("no --sync: the kill phase is skipped");
		return;
	}
	// The states bob's page has gone through so far (demo.js keeps
	// them in window.gwDemo.states).
	const seen = await pages.bob.page.evaluate(() =>
	    window.gwDemo.states.length);
	await check("node B killed by the caller", async () => {
		fs.writeFileSync(path.join(args.sync, "killme"), "");
		await waitFile(path.join(args.sync, "killme.go"), KILL_TIMEOUT);
	});
	await check("bob's page notices and reconnects to node A", async () => {
		await until("bob", ([from]) => {
			const s = window.gwDemo.states.slice(from);
			return s.some((x) => x !== "open") &&
			    s[s.length - 1] === "open";
		}, [seen], RECONNECT_TIMEOUT);
		const node = await pages.bob.page.evaluate(() =>
		    window.gwDemo.client.welcome?.node);
		say(`bob's page is open again (on node ${node ?? "?"})`);
	});
	const m3 = `after the kill, alice says ${nonce}`;
	await check("chat: alice's message reaches bob on node A", async () => {
		await say_chat("alice", m3);
		await until("bob", chatHas, [m3], RECONNECT_TIMEOUT);
	});
	const m4 = `bob is back ${nonce}`;
	await check("chat: bob (now on node A) reaches alice", async () => {
		await say_chat("bob", m4);
		await until("alice", chatHas, [m4]);
	});
	await check("presence: bob still sees alice", async () => {
		await until("bob", hasViewer, ["alice"]);
	});
	const n2 = String(Number(n) + 1);
	await check(`counter: ${n2} reaches both pages after the kill`,
	    async () => {
		await wsPublish(wsA, "counter", { value: Number(n2) });
		await until("alice", counterIs, [n2]);
		await until("bob", counterIs, [n2]);
	});
	// A page whose node is not there (as a browser sees a refused
	// upgrade, a 401: 1006 before any welcome) says so.
	await check("a page that cannot connect says so", async () => {
		await openPage("carol", ["ws://127.0.0.1:1/ws"]);
		await until("carol", noticeHas, ["cannot connect"]);
	});
	await check("alice kicked by the caller: her page says why", async () => {
		fs.writeFileSync(path.join(args.sync, "kickme"), "");
		await waitFile(path.join(args.sync, "kickme.go"), KILL_TIMEOUT);
		await until("alice", noticeHas, ["closed by the server: kicked"]);
	});
}

const watchdog = setTimeout(() => {
	fail(`the whole test took over ${WATCHDOG / 1000} s`);
}, WATCHDOG);

try {
	await main();
	// Errors thrown in a page are failures even if the checks passed.
	for (const [user, p] of Object.entries(pages)) {
		const errs = p.log.filter((l) => / pageerror: /.test(l));
		if (errs.length > 0)
			throw new Error(`${user}'s page threw: ${errs[0]}`);
	}
	clearTimeout(watchdog);
	say("all browser checks passed");
	await bounded(browser.close(), 5000);
	process.exit(0);
} catch (e) {
	clearTimeout(watchdog);
	await fail(e.message.split("\n")[0]);
}
