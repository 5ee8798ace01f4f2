#!/usr/bin/env node
// A polling client whose network resets every connection at once, with the official
// socket.io-client 4.x (tests/it/hostile/polling_drop.rs runs it against the app):
//
//   node tests/interop/polling_drop.mjs polling-drop <baseUrl>
//
// A (transports: ["polling"]) reaches the app through a TCP relay; B connects directly. Both join
// `lobby`. The relay then resets every connection of A at once (SO_LINGER 0: an RST, no FIN) and
// refuses new ones, while B sends messages to the room. The app must let A go at once (B sees A
// offline within DROP_NOTICED_MS, far below the app's heartbeat of 25 s + 20 s, so only the
// reset of A's pending GET can tell it) and keep A's socket for recovery. The relay accepts again;
// A reconnects by itself and must be recovered: `recovered === true`, the same socket id, and the
// messages sent meanwhile, once each and in order, before a live one.
//
// Prints progress lines starting with "# ", then "ok <scenario>" (exit 0) or
// "FAIL <scenario>: <reason>" (exit 1).

import { io } from "socket.io-client";
import * as helpers from "./helpers.mjs";

const SCENARIO = "polling-drop";
const SCENARIO_TIMEOUT_MS = 40000; // hard limit for the whole run
const STEP_TIMEOUT_MS = 10000; // one expected event (generous: the machine may be loaded)
const DROP_NOTICED_MS = 8000; // the app must let A go within this, far below its 45 s heartbeat
const SETTLE_MS = 500; // how long a duplicate would take to show up
const GET_PENDING_MS = 500; // how long A's GET waits in the app before the reset (so the app holds it)
const CLIENT_OPTS = { reconnectionDelay: 100, reconnectionDelayMax: 300, randomizationFactor: 0.2 };

const step = (line) => console.log(`# [${SCENARIO}] ${line}`);

const { show, assert, assertEqual } = helpers;
const waitFor = (emitter, event, what, ms = STEP_TIMEOUT_MS) => helpers.waitFor(emitter, event, what, ms);
const waitUntil = (cond, what, ms = STEP_TIMEOUT_MS) => helpers.waitUntil(cond, what, ms);

/** Emits with an ack and checks that it says ok. */
async function ack(s, label, event, arg) {
  const res = await s.timeout(STEP_TIMEOUT_MS).emitWithAck(event, arg);
  assert(res && res.ok === true, `${label}: ${event} ${show(arg)} answered ${show(res)}`);
  return res;
}

/**
 * A's network: a TCP relay to `target`. `reset()` resets every open connection on both sides at
 * once (RST, as SO_LINGER 0 then close) and refuses new ones; `up()` accepts again.
 */
async function startResettingRelay(target) {
  const relay = await helpers.startRelay(target, {
    resetRefused: true,
    forward(link) {
      // getSince: when a GET went up on this connection that has had no answer yet.
      link.getSince = null;
      link.client.on("data", (d) => {
        if (d.subarray(0, 4).toString() === "GET ") link.getSince = Date.now();
      });
      link.upstream.on("data", () => {
        link.getSince = null;
      });
      link.client.pipe(link.upstream);
      link.upstream.pipe(link.client);
    },
  });
  return Object.assign(relay, {
    /** Whether a GET has been waiting for its answer for at least `ms`. */
    getPendingFor(ms) {
      return [...relay.links].some((l) => l.getSince !== null && Date.now() - l.getSince >= ms);
    },
    reset: () => relay.dropAll({ reset: true }),
    up() {
      relay.online = true;
    },
  });
}

async function scenario(baseUrl) {
  const relay = await startResettingRelay(baseUrl);
  const a = io(relay.url, { forceNew: true, transports: ["polling"], ...CLIENT_OPTS });
  const b = io(baseUrl, { forceNew: true, transports: ["websocket"] });
  try {
    const welcome = waitFor(a, "welcome", "A: welcome");
    const messages = []; // what A's chat:message handler sees, in order
    a.on("chat:message", (m) => messages.push(m?.text));
    const roomLists = [];
    a.on("chat:rooms", (list) => roomLists.push(list));
    await Promise.all([waitFor(a, "connect", "A: connect"), waitFor(b, "connect", "B: connect")]);
    const [{ user: nameA } = {}] = await welcome;
    assert(typeof nameA === "string" && nameA, "A: welcome names no user");
    assert(typeof a._pid === "string" && a._pid, "A: no pid in the CONNECT answer (is recovery on?)");
    assertEqual(a.recovered, false, "A.recovered on the first connection");
    assertEqual(a.io.engine.transport.name, "polling", "A's transport");
    await ack(a, "A", "chat:join", { room: "lobby" });
    await ack(b, "B", "chat:join", { room: "lobby" });
    // B's arrival reaches A as pushes of their own: wait for them so nothing is in flight.
    await waitUntil(
      () => roomLists.some((l) => l?.rooms?.some((r) => r.name === "lobby" && r.members === 2)),
      "A: the room list counting B",
    );
    await ack(b, "B", "chat:send", { room: "lobby", text: "before the drop" });
    await waitUntil(() => messages.length === 1, "A: the first message");
    const id = a.id;
    step(`A (${nameA}, id ${id}) is in lobby over polling through the relay, B too`);
    // The reset must find A's long-poll GET held by the app: a GET still on its way is lost with
    // the connection, and then nothing at all tells the app before the heartbeat does.
    await waitUntil(() => relay.getPendingFor(GET_PENDING_MS), "A: a GET held by the app");

    const letGo = helpers.waitForMatch(
      b,
      "chat:presence",
      (p) => p?.user === nameA && p?.online === false,
      `the app to let A go (B: chat:presence offline), within ${DROP_NOTICED_MS} ms of the reset (its heartbeat alone takes 45 s)`,
      DROP_NOTICED_MS,
    );
    const aNoticed = waitFor(a, "disconnect", "A: disconnect after the reset");
    const t0 = Date.now();
    const count = relay.reset();
    const missed = ["missed 1", "missed 2", "missed 3"];
    for (const text of missed) await ack(b, "B", "chat:send", { room: "lobby", text });
    const [[reason]] = await Promise.all([aNoticed, letGo]);
    step(`reset ${count} connection(s); B sent ${missed.length} messages; A saw ${show(reason)}; the app let A go after ${Date.now() - t0} ms`);

    const back = waitFor(a, "connect", "A: reconnect once the relay accepts again");
    relay.up();
    await back;
    assertEqual(a.recovered, true, "A.recovered after the reconnection");
    assertEqual(a.id, id, "A's socket id after the reconnection");
    assertEqual(a.io.engine.transport.name, "polling", "A's transport after the reconnection");
    step(`A reconnected: recovered, same id ${id}`);

    await waitUntil(() => messages.length >= 1 + missed.length, "A: the missed messages");
    await ack(b, "B", "chat:send", { room: "lobby", text: "live" });
    await waitUntil(() => messages.length >= 2 + missed.length, "A: the live message");
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    assertEqual(messages, ["before the drop", ...missed, "live"], "A's chat:message events (each once, in order)");
    step("A got every missed message once, in order, then the live one");
  } finally {
    a.disconnect();
    b.disconnect();
    relay.close();
  }
}

function finish(code, line) {
  process.stdout.write(line + "\n", () => process.exit(code));
  setTimeout(() => process.exit(code), 1000).unref();
}

const [name, base] = process.argv.slice(2);
if (name !== SCENARIO || !base) finish(1, `FAIL usage: node polling_drop.mjs ${SCENARIO} <baseUrl>`);
else {
  setTimeout(() => finish(1, `FAIL ${SCENARIO}: did not finish within ${SCENARIO_TIMEOUT_MS} ms`), SCENARIO_TIMEOUT_MS).unref();
  process.on("unhandledRejection", (err) => finish(1, `FAIL ${SCENARIO}: unhandled rejection: ${err?.stack ?? err}`));
  scenario(new URL(base).origin).then(
    () => finish(0, `ok ${SCENARIO}`),
    (err) => finish(1, `FAIL ${SCENARIO}: ${err?.message ?? err}`),
  );
}
