// Connection state recovery scenarios, run against the Agora APP (not the conformance server, which
// has recovery off). Wired into run.mjs as extra scenarios (not part of "all"):
//
//   recovery-websocket, recovery-polling              the official socket.io-client 4.x
//   recovery-websocket-agora, recovery-polling-agora  Agora's own client (static/socket.io.js) in Node
//   recovery-expired, recovery-expired-agora          app started with a 1 s recovery window
//
// Client A reaches the app through a small TCP relay owned by the scenario ("A's network"), so the
// scenario can take A offline and bring it back; client B connects directly. Both join chat room
// `lobby`. Then A's connection is cut abruptly, never closed cleanly:
//
// - websocket: the relay stops taking new connections, then A's underlying TCP socket is destroyed
//   (`A.io.engine.transport.ws._socket.destroy()`): no close frame, no DISCONNECT packet. The relay
//   passes the FIN on, so the server sees the connection end at once ("transport close").
// - polling: the relay freezes every open connection of A (bytes in either direction are dropped,
//   nothing is closed, not even when one end closes) and refuses new ones, like a network that went
//   away. Neither side is told: each notices through its heartbeat (no ping for A, no pong for the
//   server: "ping timeout"); the Rust test starts the app with a short ping interval and timeout.
//
// The scenario waits until the server has let A go (B gets `chat:presence` {user: A, online: false})
// and A has noticed (`disconnect`), B sends messages (acked), then A's network comes back and A
// reconnects by itself. Recovered: A.recovered === true, same socket id, and A gets every missed
// `chat:message` exactly once, in order, before a live one. Expired: A.recovered === false, a new
// id, none of the missed messages arrive by themselves, and `chat:join` with `after` returns them.

import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { io as officialIo } from "socket.io-client";
import { startRelay, waitForMatch, waitUntil } from "./helpers.mjs";

const require = createRequire(import.meta.url);
const AGORA_CLIENT = fileURLToPath(new URL("../../static/socket.io.js", import.meta.url));

const OFFLINE_WAIT_MS = 5000; // for both sides to notice the cut (heartbeat: interval + timeout)
const CLIENT_OPTS = { reconnectionDelay: 100, reconnectionDelayMax: 300, randomizationFactor: 0.2 };

/** Agora's browser client, loaded as CommonJS, with `ws` as the global WebSocket (as in its harness). */
function agoraIo() {
  if (!globalThis.__agoraIo) {
    // The `ws` package (a dependency of socket.io-client) gives access to the TCP socket for the cut;
    // Node's own WebSocket, where there is one, does not.
    globalThis.WebSocket = require("ws");
    globalThis.__agoraIo = require(AGORA_CLIENT);
  }
  return globalThis.__agoraIo;
}

/**
 * A's network: a TCP relay to `target`. `down()` refuses new connections and freezes the open ones
 * (nothing passes, nothing is closed); `up()` drops the frozen connections (as a network that comes
 * back after an outage would have reset them) and lets new connections through again.
 */
async function startNetwork(target) {
  const relay = await startRelay(target, {
    forward(link) {
      link.client.on("data", (d) => {
        if (!link.frozen) link.upstream.write(d);
      });
      link.upstream.on("data", (d) => {
        if (!link.frozen) link.client.write(d);
      });
    },
  });
  return Object.assign(relay, {
    /** No new connections; with `freeze`, the open ones carry nothing any more either. */
    down({ freeze = true } = {}) {
      relay.online = false;
      if (freeze) for (const link of relay.links) link.frozen = true;
    },
    up() {
      for (const link of [...relay.links]) if (link.frozen) relay.drop(link);
      relay.online = true;
    },
  });
}

/** The scenarios, given run.mjs's helpers. */
export function recoveryScenarios({ waitFor, waitConnect, emitAck, expectSilence, assert, assertEqual, show }) {
  async function ack(s, event, arg) {
    const [res] = await emitAck(s, event, [arg]);
    assert(res && res.ok === true, `${s.label}: ${event} ${show(arg)} answered ${show(res)}`);
    return res;
  }

  /** A and B in lobby; A goes through `network`. Returns what the scenario needs. */
  async function setUp(ctx, { agora, transport, network }) {
    const makeIo = agora ? agoraIo() : officialIo;
    const a = ctx.track("A", makeIo(network.url, { forceNew: true, transports: [transport], ...CLIENT_OPTS }));
    const b = ctx.track("B", officialIo(ctx.baseUrl, { forceNew: true, transports: ["websocket"] }));
    const welcomeA = waitFor(a, "welcome", "A: welcome");
    const messages = []; // [text, id, offset] as A's handler sees them
    a.on("chat:message", (m, ...rest) => messages.push({ text: m?.text, id: m?.id, rest }));
    const roomLists = []; // every chat:rooms push A gets
    a.on("chat:rooms", (list) => roomLists.push(list));
    const last = { args: null }; // the arguments of the last event A got, whatever its name
    a.onAny((...args) => {
      last.args = args;
    });
    await Promise.all([waitConnect(a), waitConnect(b)]);
    const [welcome] = await welcomeA;
    const nameA = welcome?.user;
    assert(typeof nameA === "string" && nameA, `A: welcome names no user (${show(welcome)})`);
    assert(typeof a._pid === "string" && a._pid, `A: no pid from the CONNECT answer (is recovery on?)`);
    assertEqual(a.recovered, false, "A.recovered on the first connection");
    assertEqual(a.io.engine.transport.name, transport, "A's transport");
    ctx.step(`A (${agora ? "Agora client" : "socket.io-client"}, ${transport} via the relay) is ${nameA}, id ${a.id}`);
    await ack(a, "chat:join", { room: "lobby" });
    await ack(b, "chat:join", { room: "lobby" });
    // B's arrival reaches A as chat:presence then a chat:rooms push, both with offsets of their own:
    // wait for them, so that the message below is the last thing A got.
    const countsB = () =>
      roomLists.some((list) => list?.rooms?.some((room) => room.name === "lobby" && room.members === 2));
    await waitUntil(countsB, "A: the room list counting B", 5000);
    const before = await ack(b, "chat:send", { room: "lobby", text: "before the cut" });
    await waitUntil(() => messages.length === 1, "A: the first message", 5000);
    assertEqual(messages[0].text, "before the cut", "A's first message");
    const offset = messages[0].rest[messages[0].rest.length - 1];
    assert(typeof offset === "string" && offset, `A's handler gets the offset as an extra last argument (got ${show(messages[0].rest)})`);
    assertEqual(a._lastOffset, offset, "A's last offset");
    ctx.step(`A got the first message with offset ${show(offset)} as its last argument`);
    return { a, b, nameA, messages, last, lastSeenId: before.message.id };
  }

  /** Cut A off abruptly; resolves once the server has let A go and A has noticed. */
  async function cut(ctx, { a, b, nameA }, network, transport) {
    a.allowDisconnect = true;
    const serverNoticed = waitForMatch(
      b,
      "chat:presence",
      (p) => p?.user === nameA && p?.online === false,
      `the server to let A go (B: chat:presence offline for ${nameA})`,
      OFFLINE_WAIT_MS,
    );
    const clientNoticed = waitFor(a, "disconnect", "A: disconnect after the cut", OFFLINE_WAIT_MS);
    const t0 = Date.now();
    // websocket: the relay keeps passing what is open, so the FIN of the destroyed socket reaches
    // the server; polling: everything freezes.
    network.down({ freeze: transport !== "websocket" });
    if (transport === "websocket") {
      const tcp = a.io.engine.transport.ws?._socket;
      assert(tcp, "A: no underlying TCP socket on the WebSocket transport");
      tcp.destroy();
    }
    const [[reason]] = await Promise.all([clientNoticed, serverNoticed]);
    ctx.step(`cut (${transport === "websocket" ? "TCP socket destroyed" : "network frozen"}): A saw ${show(reason)}, the server let A go, after ${Date.now() - t0} ms`);
    return reason;
  }

  async function recovers(ctx, { agora, transport }) {
    const network = await startNetwork(ctx.baseUrl);
    try {
      const state = await setUp(ctx, { agora, transport, network });
      const { a, b, messages, last } = state;
      const id = a.id;
      const pid = a._pid;
      await cut(ctx, state, network, transport);
      assertEqual(a.connected, false, "A.connected while offline");

      const missed = ["missed 1", "missed 2", "missed 3", "missed 4"];
      for (const text of missed) await ack(b, "chat:send", { room: "lobby", text });
      ctx.step(`B sent ${missed.length} messages while A was away`);

      const reconnected = waitFor(a, "connect", "A: reconnect once the network is back", 5000);
      network.up();
      await reconnected;
      assertEqual(a.recovered, true, "A.recovered after the reconnection");
      assertEqual(a.id, id, "A's socket id after recovery");
      assertEqual(a._pid, pid, "A's pid after recovery");
      ctx.step(`A reconnected over ${a.io.engine.transport.name}: recovered, same id ${id}`);

      await waitUntil(() => messages.length >= 1 + missed.length, "A: the missed messages", 5000);
      await ack(b, "chat:send", { room: "lobby", text: "live" });
      await waitUntil(() => messages.length >= 2 + missed.length, "A: the live message", 5000);
      await new Promise((r) => setTimeout(r, 300)); // anything duplicated would show up by now
      assertEqual(messages.map((m) => m.text), ["before the cut", ...missed, "live"], "A's chat:message events (exactly once, in order)");
      const ids = messages.map((m) => m.id);
      assert(ids.every((v, i) => i === 0 || v > ids[i - 1]), `message ids not increasing: ${show(ids)}`);
      const offsets = messages.map((m) => m.rest[m.rest.length - 1]);
      assert(new Set(offsets).size === offsets.length && offsets.every((o) => typeof o === "string"), `offsets: ${show(offsets)}`);
      assertEqual(a._lastOffset, last.args[last.args.length - 1], "A's last offset (that of the last event)");
      ctx.step("A got every missed message once, in order, then the live one");
    } finally {
      network.close();
    }
  }

  async function expires(ctx, { agora }) {
    const network = await startNetwork(ctx.baseUrl);
    try {
      const state = await setUp(ctx, { agora, transport: "websocket", network });
      const { a, b, messages, lastSeenId } = state;
      const id = a.id;
      const pid = a._pid;
      await cut(ctx, state, network, "websocket");
      const missed = ["while away 1", "while away 2"];
      for (const text of missed) await ack(b, "chat:send", { room: "lobby", text });
      ctx.step("B sent 2 messages; waiting past the 1 s recovery window");
      await new Promise((r) => setTimeout(r, 1600));

      const reconnected = waitFor(a, "connect", "A: reconnect once the network is back", 5000);
      network.up();
      await reconnected;
      assertEqual(a.recovered, false, "A.recovered after the window");
      assert(a.id !== id, `A kept its socket id ${id} past the window`);
      assert(typeof a._pid === "string" && a._pid !== pid, `A's pid after the window: ${show(a._pid)} (was ${show(pid)})`);
      ctx.step(`A reconnected past the window: not recovered, new id ${a.id}`);

      await expectSilence(a, "chat:message", "A must not get the missed messages by itself (not in the room any more)");
      const joined = await ack(a, "chat:join", { room: "lobby", after: lastSeenId });
      assertEqual(joined.history.map((m) => m.text), missed, `chat:join after ${lastSeenId}: history`);
      ctx.step(`chat:join {after: ${lastSeenId}} returned the ${missed.length} messages sent meanwhile`);
      await ack(b, "chat:send", { room: "lobby", text: "live" });
      await waitUntil(() => messages.length >= 2, "A: the live message after re-joining", 5000);
      assertEqual(messages.map((m) => m.text), ["before the cut", "live"], "A's chat:message events");
    } finally {
      network.close();
    }
  }

  return {
    "recovery-websocket": (ctx) => recovers(ctx, { agora: false, transport: "websocket" }),
    "recovery-polling": (ctx) => recovers(ctx, { agora: false, transport: "polling" }),
    "recovery-websocket-agora": (ctx) => recovers(ctx, { agora: true, transport: "websocket" }),
    "recovery-polling-agora": (ctx) => recovers(ctx, { agora: true, transport: "polling" }),
    "recovery-expired": (ctx) => expires(ctx, { agora: false }),
    "recovery-expired-agora": (ctx) => expires(ctx, { agora: true }),
  };
}
