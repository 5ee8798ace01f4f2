#!/usr/bin/env node
// The Rust API's catch-alls, packet middleware and dynamic namespaces, seen by the official
// socket.io-client 4.x (the server is built in tests/it/server_api.rs).
//
//   node tests/interop/server_api.mjs <middleware|dynamic> <baseUrl>
//
// middleware: a refused event comes back as `refused` (the server's on_error hook), a middleware
//   changes an event's arguments, and the server's on_any / on_any_outgoing log is as expected.
// dynamic: /room-1 and /room-2 are created on CONNECT, a third child is refused (the cap is 2), an
//   unmatched name is refused, the parent's emit reaches both children, and a dropped child frees
//   its place. Prints "ok <scenario>" last on success.

import { io } from "socket.io-client";
import { assertEqual, runMain, waitFor } from "./helpers.mjs";

const STEP_MS = 5000; // wait for one expected event

const [scenario, baseUrl] = process.argv.slice(2);

const client = (nsp) => io(baseUrl + nsp, { forceNew: true, reconnection: false, transports: ["websocket"] });

function ack(socket, ...args) {
  return socket.timeout(STEP_MS).emitWithAck(...args);
}

async function middleware() {
  const socket = client("/");
  await waitFor(socket, "connect", "connect", STEP_MS);
  socket.emit("forbidden", 1);
  const refused = await waitFor(socket, "refused", "the on_error hook's report", STEP_MS);
  assertEqual(refused, ["forbidden event"], "the middleware's error");
  socket.emit("shout", "hi");
  const shouted = await waitFor(socket, "shouted", "the shout", STEP_MS);
  assertEqual(shouted, ["HI"], "arguments changed by a packet middleware");
  assertEqual(await ack(socket, "echo", 1), 1, "an ack through the middlewares");
  const log = await ack(socket, "log");
  assertEqual(log, ["out:refused", "in:shout", "out:shouted", "in:echo", "in:log"], "on_any and on_any_outgoing");
  socket.disconnect();
}

async function refusedConnect(nsp) {
  const socket = client(nsp);
  const [error] = await waitFor(socket, "connect_error", `the refusal of ${nsp}`, STEP_MS);
  assertEqual(error.message, "Invalid namespace", `${nsp} refused`);
  socket.close();
}

async function dynamic() {
  const one = client("/room-1");
  const two = client("/room-2");
  // Both listeners first: the two connections race, and a welcome that arrives before its
  // listener is attached is gone (this test failed about one run in five that way).
  const welcomes = [
    waitFor(one, "welcome", "the welcome of /room-1", STEP_MS),
    waitFor(two, "welcome", "the welcome of /room-2", STEP_MS),
  ];
  assertEqual(await welcomes[0], ["/room-1"], "child /room-1");
  assertEqual(await welcomes[1], ["/room-2"], "child /room-2");
  await refusedConnect("/room-3"); // past the cap of two children
  await refusedConnect("/nope"); // no pattern matches
  const news = [waitFor(one, "news", "the parent's emit in /room-1", STEP_MS), waitFor(two, "news", "the parent's emit in /room-2", STEP_MS)];
  one.emit("to-all-rooms", "hey");
  assertEqual(await Promise.all(news), [["hey"], ["hey"]], "the parent's emit reaches every child");
  // /room-1 empties and is dropped: a third child fits again.
  one.disconnect();
  let three;
  for (let attempt = 0; attempt < 20 && !three; attempt++) {
    const socket = client("/room-3");
    const outcome = await Promise.race([
      waitFor(socket, "welcome", "the welcome of /room-3", STEP_MS).then(() => "welcome"),
      waitFor(socket, "connect_error", "a refusal", STEP_MS).then(() => "refused"),
    ]);
    if (outcome === "welcome") three = socket;
    else {
      socket.close();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  assertEqual(!!three, true, "a child created once another was dropped");
  two.disconnect();
  three.disconnect();
}

const SCENARIOS = { middleware, dynamic };
if (!(scenario in SCENARIOS) || !baseUrl) {
  console.log(`FAIL ${scenario}: usage: server_api.mjs <middleware|dynamic> <baseUrl>`);
  process.exit(1);
}
runMain(scenario, SCENARIOS[scenario], 6 * STEP_MS);
