// The reference server for benches/loadgen: the official Socket.IO 4.8 server with the same
// contract as Agora's `cargo run --release --example bench`.
//
//   node benches/node/server.js --port 3001 [--ping-interval 25000] [--ping-timeout 20000]
//
// Main namespace:
//   join (room) + ack         the socket joins the room, then acks (no arguments)
//   broadcast [room, ...args] emits `msg` with the args to the room, the sender left out
//   echo (...args) + ack      acks with the same arguments
//
// GET /stats answers what the server holds, as Agora's bench server does, for the loadgen's soak:
//   {"sessions": Engine.IO clients, "sockets": sockets of the main namespace,
//    "rooms": rooms with members (not the sockets' own), "members": sockets in the adapter}
"use strict";

const http = require("http");
const { Server } = require("socket.io");

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  if (index !== -1 && index + 1 < process.argv.length) {
    return process.argv[index + 1];
  }
  const env = process.env[name.toUpperCase().replace(/-/g, "_")];
  return env !== undefined ? env : fallback;
}

const port = Number(option("port", 3001));
const host = option("host", "127.0.0.1");
const pingInterval = Number(option("ping-interval", 25000));
const pingTimeout = Number(option("ping-timeout", 20000));

// Socket.IO takes its own path and hands every other request to the listeners that were there
// before it, so /stats is given at creation.
const httpServer = http.createServer((req, res) => {
  if (req.method === "GET" && req.url === "/stats") {
    const adapter = io.of("/").adapter;
    let rooms = 0;
    for (const room of adapter.rooms.keys()) {
      if (!adapter.sids.has(room)) rooms += 1;
    }
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify({
      sessions: io.engine.clientsCount,
      sockets: io.of("/").sockets.size,
      rooms,
      members: adapter.sids.size,
    }));
    return;
  }
  res.writeHead(404);
  res.end();
});
const io = new Server(httpServer, {
  perMessageDeflate: false,
  httpCompression: false,
  serveClient: false,
  pingInterval,
  pingTimeout,
  maxHttpBufferSize: 1e6,
});

io.on("connection", (socket) => {
  socket.on("join", (room, ack) => {
    socket.join(String(room));
    if (typeof ack === "function") ack();
  });
  socket.on("broadcast", (room, ...args) => {
    socket.to(String(room)).emit("msg", ...args);
  });
  socket.on("echo", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") ack(...args);
  });
});

httpServer.listen(port, host, () => {
  console.log(`socket.io ${require("socket.io/package.json").version} reference server on http://${host}:${port}`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => process.exit(0));
}
