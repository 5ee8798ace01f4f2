#!/usr/bin/env node
// Interop with the msgpack parser: the official socket.io-client 4.x with
// `parser: require("socket.io-msgpack-parser")`, against a server started with `--parser msgpack`
// (the conformance server with `SocketIoConfig { parser: Msgpack }` in tests/it/msgpack.rs).
//
//   node tests/interop/msgpack.mjs <websocket|polling> <baseUrl>
//
// Events, acks both ways, binary values (inline in MessagePack), a room broadcast, a second
// namespace and the CONNECT auth payload, on one transport. Prints "ok <scenario>" last on success.

import { createRequire } from "node:module";
import { io } from "socket.io-client";
import { assertEqual, runMain, waitFor } from "./helpers.mjs";

const require = createRequire(import.meta.url);
const parser = require("socket.io-msgpack-parser");

const STEP_MS = 5000; // wait for one expected event
const TRANSPORTS = { websocket: ["websocket"], polling: ["polling"] };

const [scenario, baseUrl] = process.argv.slice(2);

function client(nsp, opts = {}) {
  return io(baseUrl + nsp, {
    forceNew: true,
    reconnection: false,
    parser,
    transports: TRANSPORTS[scenario],
    ...opts,
  });
}

async function run() {
  const alice = client("/", { auth: { token: "t", n: 1 } });
  const [auth] = await waitFor(alice, "auth", "alice's auth echo", STEP_MS);
  assertEqual(auth, { token: "t", n: 1 }, "the CONNECT auth payload");
  assertEqual(alice.io.engine.transport.name, scenario, "the transport");
  console.log(`# [${scenario}] connected with auth`);

  const bytes = Buffer.from([0, 1, 2, 250, 255]);
  alice.emit("message", 1, "two", { three: bytes, list: [null, true, 1.5] });
  const back = await waitFor(alice, "message-back", "message-back", STEP_MS);
  assertEqual(back, [1, "two", { three: bytes, list: [null, true, 1.5] }], "an event echoed with binary");
  console.log(`# [${scenario}] event with binary echoed`);

  const acked = await new Promise((resolve, reject) => {
    alice.timeout(STEP_MS).emit("message-with-ack", "x", bytes, (err, ...args) => (err ? reject(err) : resolve(args)));
  });
  assertEqual(acked, ["x", bytes], "an ack with binary");
  console.log(`# [${scenario}] ack with binary`);

  alice.on("question", (question, answer) => answer(`pong to ${question}`));
  alice.emit("ask");
  const [answer] = await waitFor(alice, "answer", "the server's ack round trip", STEP_MS);
  assertEqual(answer, "pong to ping?", "the client's ack to the server");
  console.log(`# [${scenario}] server-to-client ack`);

  const bob = client("/");
  await waitFor(bob, "auth", "bob's auth echo", STEP_MS);
  await new Promise((resolve) => alice.emit("join", "room", resolve));
  bob.emit("broadcast", "room", "hello", bytes);
  const msg = await waitFor(alice, "msg", "the room broadcast", STEP_MS);
  assertEqual(msg, ["hello", bytes], "a room broadcast with binary");
  console.log(`# [${scenario}] room broadcast with binary`);

  const custom = client("/custom", { auth: { where: "custom" } });
  const [customAuth] = await waitFor(custom, "auth", "the /custom namespace's auth echo", STEP_MS);
  assertEqual(customAuth, { where: "custom" }, "a second namespace");
  console.log(`# [${scenario}] second namespace`);

  for (const socket of [alice, bob, custom]) socket.disconnect();
}

if (!(scenario in TRANSPORTS) || !baseUrl) {
  console.log(`FAIL ${scenario}: usage: msgpack.mjs <websocket|polling> <baseUrl>`);
  process.exit(1);
}
runMain(scenario, run, 4 * STEP_MS);
