// A Node.js Socket.IO 4.8 server with @socket.io/redis-adapter (classic pub/sub), for the
// interop test in tests/cluster.rs: it joins the same Redis cluster as an Agora node.
//
//   node tests/cluster/node_server.mjs <port> <namespace>      (REDIS_URL, default redis://127.0.0.1:6379)
//
// Prints "ready <port>" once listening and subscribed; exits when stdin closes.
// The namespace answers like the Rust test's:
//   join [room] + ack             joins the room, acks
//   broadcast [room, ...args]     emits `msg` ...args to the room, except the sender
//   fetch [room] + ack            acks the sorted ids of io.in(room).fetchSockets() (cluster-wide)
//   ask-room [room] + ack         io.to(room).timeout(2000).emitWithAck("question"), acks
//                                 {error, responses}
//   remote-join [room, newRoom] + ack   io.in(room).socketsJoin(newRoom) (cluster-wide), acks
//                                 once this server's own sockets moved
//   remote-leave [room, oldRoom] + ack  io.in(room).socketsLeave(oldRoom) (cluster-wide), acks
//   remote-disconnect [room, close] + ack  io.in(room).disconnectSockets(close), acks
//   fetch-full [room] + ack       acks io.in(room).fetchSockets() as [{id, rooms, handshake, data}]
//   set-data [data] + ack         socket.data = data, acks
//   rooms-of [id] + ack           acks the rooms this server's adapter has for socket `id` (sorted)
//   sse [event, ...args] + ack    io.of(nsp).serverSideEmit(event, ...args), acks
//   sse-ack [event, ...args] + ack   io.of(nsp).serverSideEmitWithAck(event, ...args) (the adapter's
//                                 5 s requests timeout), acks {error, responses}
//   server-events + ack           acks the server-side events this server received: [[event, ...args]]
// Server-side events: `agora-ask` is answered with {node: args}; every event is recorded.

import { createServer } from "node:http";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";

const port = Number(process.argv[2] ?? 0);
const nsp = process.argv[3] ?? "/";
const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

const pub = createClient({ url });
const sub = pub.duplicate();
pub.on("error", (error) => console.error("redis pub error", error.message));
sub.on("error", (error) => console.error("redis sub error", error.message));
await Promise.all([pub.connect(), sub.connect()]);

const requestChannel = `socket.io-request#${nsp}#`;
const listeners = async () => (await pub.pubSubNumSub(requestChannel))[requestChannel] ?? 0;
const before = await listeners();

const http = createServer();
const io = new Server(http, { adapter: createAdapter(pub, sub), pingInterval: 30000 });

const serverEvents = [];
for (const event of ["agora-tell", "agora-ask"]) {
  io.of(nsp).on(event, (...args) => {
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
    serverEvents.push([event, ...args]);
    if (event === "agora-ask" && ack) ack({ node: args });
  });
}

io.of(nsp).on("connection", (socket) => {
  socket.on("remote-leave", (room, oldRoom, ack) => {
    io.of(nsp).in(room).socketsLeave(oldRoom);
    ack?.();
  });
  socket.on("remote-disconnect", (room, close, ack) => {
    ack?.();
    io.of(nsp).in(room).disconnectSockets(close);
  });
  socket.on("fetch-full", async (room, ack) => {
    try {
      const sockets = await io.of(nsp).in(room).fetchSockets();
      ack(sockets.map((s) => ({ id: s.id, rooms: [...s.rooms], handshake: s.handshake, data: s.data })));
    } catch (error) {
      ack({ error: error.message });
    }
  });
  socket.on("set-data", (data, ack) => {
    socket.data = data;
    ack?.();
  });
  socket.on("rooms-of", (id, ack) => {
    ack([...(io.of(nsp).adapter.sids.get(id) ?? [])].sort());
  });
  socket.on("sse", (...args) => {
    const ack = args.pop();
    io.of(nsp).serverSideEmit(...args);
    ack?.();
  });
  socket.on("sse-ack", async (...args) => {
    const ack = args.pop();
    try {
      const responses = await io.of(nsp).serverSideEmitWithAck(...args);
      ack({ error: null, responses });
    } catch (error) {
      ack({ error: error.message });
    }
  });
  socket.on("server-events", (ack) => ack(serverEvents));

  socket.on("join", (room, ack) => {
    socket.join(room);
    ack?.();
  });
  socket.on("broadcast", (room, ...args) => {
    socket.to(room).emit("msg", ...args);
  });
  socket.on("fetch", async (room, ack) => {
    try {
      const sockets = await io.of(nsp).in(room).fetchSockets();
      ack(sockets.map((s) => s.id).sort());
    } catch (error) {
      ack({ error: error.message });
    }
  });
  socket.on("ask-room", async (room, ack) => {
    try {
      const responses = await io.of(nsp).to(room).timeout(2000).emitWithAck("question");
      ack({ error: null, responses });
    } catch (error) {
      ack({ error: error.message });
    }
  });
  socket.on("remote-join", async (room, newRoom, ack) => {
    io.of(nsp).in(room).socketsJoin(newRoom);
    // This server applies its own request when Redis hands it back: wait for that.
    const rooms = io.of(nsp).adapter.rooms;
    for (let i = 0; i < 100; i++) {
      const before = rooms.get(room) ?? new Set();
      const after = rooms.get(newRoom) ?? new Set();
      if ([...before].every((id) => after.has(id))) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    ack?.();
  });
});

// The namespace's adapter subscribes when the namespace is created; wait until Redis has it.
for (let i = 0; i < 100 && (await listeners()) <= before; i++) {
  await new Promise((resolve) => setTimeout(resolve, 50));
}

http.listen(port, "127.0.0.1", () => {
  console.log(`ready ${http.address().port}`);
});

const stop = () => {
  io.close();
  Promise.allSettled([pub.quit(), sub.quit()]).finally(() => process.exit(0));
};
process.stdin.on("end", stop);
process.stdin.resume();
process.on("SIGTERM", stop);
