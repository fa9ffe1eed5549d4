// sio-server.js -- the Socket.IO 4 server that gw-bench --proto socketio
// loads (share/bench/peers.sh): one process, the Redis adapter on the
// same kind of Redis gw uses, so that a publish goes through Redis
// pub/sub as it does in gw.
//
//	node sio-server.js PORT REDIS_URL
//
// A client's sub event (with an ack) joins room CH; its pub event
// emits msg with the data to room CH.  Nothing else: no auth, no
// per-connection state beyond Socket.IO's own.
"use strict";

const http = require("http");
const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const { createClient } = require("redis");

const port = Number(process.argv[2]);
const redisUrl = process.argv[3];

async function main() {
	const pub = createClient({ url: redisUrl });
	const sub = pub.duplicate();
	pub.on("error", (e) => console.error("redis:", e.message));
	sub.on("error", (e) => console.error("redis:", e.message));
	await Promise.all([pub.connect(), sub.connect()]);

	const server = http.createServer((req, res) => {
		res.writeHead(req.url === "/healthz" ? 200 : 404);
		res.end();
	});
	const io = new Server(server, {
		transports: ["websocket"],
		serveClient: false,
		maxHttpBufferSize: 1e6,
		adapter: createAdapter(pub, sub),
	});
	io.on("connection", (socket) => {
		socket.on("sub", (ch, ack) => {
			if (typeof ch === "string")
				socket.join(ch);
			if (typeof ack === "function")
				ack("ok");
		});
		socket.on("pub", (ch, data) => {
			if (typeof ch === "string")
				io.to(ch).emit("msg", data);
		});
	});
	server.listen(port, "127.0.0.1");
	const stop = () => {
		io.close();
		process.exit(0);
	};
	process.on("SIGTERM", stop);
	process.on("SIGINT", stop);
}

main().catch((e) => {
	console.error("sio-server:", e);
	process.exit(1);
});
