// Publishes with @socket.io/redis-emitter 5.1 (a backend without Socket.IO), for the tests in
// tests/it/cluster_parity.rs.
//
//   node tests/cluster/emitter.mjs '<operations as JSON>'      (REDIS_URL, default redis://127.0.0.1:6379)
//
// Each operation, in order:
//   {"nsp": "/x", "to": ["room", ...], "except": ["room", ...], "emit": ["event", ...args]}
//       emitter.of(nsp).to(…).except(…).emit(event, ...args) (`to` and `except` optional)
//   {"nsp": "/x", "serverSideEmit": ["event", ...args]}
//       emitter.of(nsp).serverSideEmit(event, ...args)
//   {"nsp": "/x", "to": [...], "socketsJoin": "room"}   (likewise "socketsLeave": "room",
//       "disconnectSockets": close)   emitter.of(nsp).to(…).socketsJoin(room) and friends
// Prints "done" once Redis has taken every message, then exits.

import { Emitter } from "@socket.io/redis-emitter";
import { createClient } from "redis";

const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const client = createClient({ url });
client.on("error", (error) => console.error("redis error", error.message));
await client.connect();
const emitter = new Emitter(client);

for (const operation of JSON.parse(process.argv[2] ?? "[]")) {
  const nsp = emitter.of(operation.nsp ?? "/");
  if (operation.serverSideEmit) {
    nsp.serverSideEmit(...operation.serverSideEmit);
    continue;
  }
  let target = nsp;
  for (const room of operation.to ?? []) target = target.to(room);
  for (const room of operation.except ?? []) target = target.except(room);
  if (operation.socketsJoin !== undefined) target.socketsJoin(operation.socketsJoin);
  else if (operation.socketsLeave !== undefined) target.socketsLeave(operation.socketsLeave);
  else if (operation.disconnectSockets !== undefined) target.disconnectSockets(operation.disconnectSockets);
  else target.emit(...operation.emit);
}

// Commands go out in order: once QUIT is answered, every PUBLISH before it was.
await client.quit();
console.log("done");
