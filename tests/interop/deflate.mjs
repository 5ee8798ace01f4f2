#!/usr/bin/env node
// permessage-deflate with the official socket.io-client over Node's `ws`:
//
//   node tests/interop/deflate.mjs all <baseUrl>
//
// Expects the conformance server started with per-message-deflate on. Prints "ok all" last
// (exit 0) or "FAIL all: <reason>" (exit 1).

import { io } from "socket.io-client";
import { assert, assertEqual, runMain, waitFor } from "./helpers.mjs";

const STEP_TIMEOUT_MS = 5000;
/** The ceiling for the whole scenario before it fails. */
const SCENARIO_TIMEOUT_MS = 60000;

async function echo(socket, payload) {
  const back = waitFor(socket, "message-back", "message-back", STEP_TIMEOUT_MS);
  socket.emit("message", payload);
  return (await back)[0];
}

async function main(base) {
  // threshold 0: the client compresses every message, even the smallest.
  const socket = io(base, {
    forceNew: true,
    transports: ["websocket"],
    perMessageDeflate: { threshold: 0 },
  });
  await waitFor(socket, "connect", "connect", STEP_TIMEOUT_MS);
  const ws = socket.io.engine.transport.ws;
  assertEqual(ws.extensions, "permessage-deflate", "the negotiated extension");

  assertEqual(await echo(socket, "small"), "small", "a small message");
  const large = JSON.stringify(Array.from({ length: 500 }, (_, i) => ({ id: i, text: "hello" })));
  const read = ws._socket.bytesRead;
  assertEqual(await echo(socket, large), large, "a large message");
  const onTheWire = ws._socket.bytesRead - read;
  console.log(`# ${large.length} bytes arrived as ${onTheWire} on the wire`);
  assert(onTheWire < large.length / 4, `compressed: ${onTheWire} bytes for ${large.length}`);

  const binary = Buffer.alloc(50_000, 7);
  const back = await echo(socket, binary);
  assert(Buffer.from(back).equals(binary), "a large binary message comes back the same");

  const acked = await socket.timeout(STEP_TIMEOUT_MS).emitWithAck("message-with-ack", large);
  assertEqual(acked, large, "an ack of a large message");
  socket.close();
}

const [scenario, base] = process.argv.slice(2);
runMain(scenario, () => main(base), SCENARIO_TIMEOUT_MS);
