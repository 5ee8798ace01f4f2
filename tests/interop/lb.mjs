// Agora nodes behind nginx in plain round-robin (no affinity), driven by the official
// socket.io-client 4.x. Run by tests/it/cluster_lb.rs, which starts the nodes (the agora binary),
// Redis, PostgreSQL and nginx.
//
//   node tests/interop/lb.mjs <scenario> <nginx url> <token A> <token B> <port=pid,...>
//
//   lb-polling, lb-default, lb-websocket   A and B (transports ["polling"], default, ["websocket"])
//       join chat room "lb" and exchange messages, alternating: each gets the other's messages
//       once, in order, and neither session ever drops (same socket and Engine.IO ids at the end).
//   lb-node-death   A (WebSocket) and B in "lb" on different nodes; B keeps sending while the node
//       holding A is killed (SIGKILL): A reconnects through nginx to another node, recovered
//       (`socket.recovered === true`, same id), and gets every message B sent, once, in order.
//
// Which node holds a WebSocket is read from each node's /metrics (`agora_connections_open`).
import { io } from "socket.io-client";
import { assert, assertEqual, runMain, show, waitFor, waitUntil } from "./helpers.mjs";

const STEP_MS = 10000;
const ROOM = "lb";
/** Messages each client sends in the exchange scenarios. */
const EXCHANGED = 12;
/** Messages B sends in the node death scenario, and after which one A's node is killed. */
const SENT_ACROSS_DEATH = 40;
const KILL_AFTER = 10;
/** Pause between two of B's messages while it keeps sending. */
const SEND_PAUSE_MS = 50;
const RECONNECT = { reconnectionDelay: 100, reconnectionDelayMax: 500, randomizationFactor: 0.2 };

const [scenario, base, tokenA, tokenB, nodeList] = process.argv.slice(2);
/** Each node's port and process id. */
const nodes = new Map(nodeList.split(",").map((pair) => pair.split("=")));

/** A client through nginx; it fails the scenario if it disconnects unless allowed to. */
function client(label, token, transports) {
  const options = { forceNew: true, auth: { token }, ...RECONNECT };
  if (transports) options.transports = transports;
  const socket = io(base, options);
  socket.label = label;
  socket.messages = [];
  socket.drops = [];
  socket.on("chat:message", (m) => socket.messages.push(m.text));
  socket.on("disconnect", (reason) => socket.drops.push(reason));
  socket.on("connect_error", (error) => socket.drops.push(`connect_error: ${error.message}`));
  return socket;
}

async function connected(socket) {
  if (socket.connected) return;
  await waitFor(socket, "connect", `${socket.label}: connect`, STEP_MS).catch((error) => {
    throw new Error(`${error.message} (${show(socket.drops)})`);
  });
}

async function ack(socket, event, arg) {
  const answer = await socket.timeout(STEP_MS).emitWithAck(event, arg);
  assert(answer?.ok === true, `${socket.label}: ${event} ${show(arg)} answered ${show(answer)}`);
  return answer;
}

/** Both join the room and know of each other (each has seen the other's arrival or was second). */
async function bothInRoom(a, b) {
  await ack(a, "chat:join", { room: ROOM });
  const joined = await ack(b, "chat:join", { room: ROOM });
  assert(joined.members.length === 2, `B joined a room of ${show(joined.members)}`);
}

async function exchange(transports) {
  const a = client("A", tokenA, transports);
  const b = client("B", tokenB, transports);
  try {
    await Promise.all([connected(a), connected(b)]);
    const ids = [a.id, b.id, a.io.engine.id, b.io.engine.id];
    await bothInRoom(a, b);
    const expected = { A: [], B: [] };
    for (let i = 0; i < EXCHANGED; i++) {
      // Under default transports the first messages go while polling, the rest after any upgrade.
      const [from, to] = i % 2 === 0 ? [a, b] : [b, a];
      const text = `${from.label} ${i}`;
      await ack(from, "chat:send", { room: ROOM, text });
      expected[to.label].push(text);
    }
    await waitUntil(
      () => a.messages.length >= expected.A.length && b.messages.length >= expected.B.length,
      "every message to arrive",
      STEP_MS,
    ).catch((error) => {
      throw new Error(`${error.message}: A got ${show(a.messages)}, B got ${show(b.messages)}`);
    });
    await new Promise((r) => setTimeout(r, 300)); // a duplicate would show by now
    assertEqual(a.messages, expected.A, "A's messages (each once, in order)");
    assertEqual(b.messages, expected.B, "B's messages (each once, in order)");
    assertEqual([a.drops, b.drops], [[], []], "disconnections");
    assertEqual([a.id, b.id, a.io.engine.id, b.io.engine.id], ids, "socket and Engine.IO ids at the end");
    // Under default transports each client ends on WebSocket wherever nginx sent its upgrade: one
    // that reached another node than its session's is relayed to the owner (issue 17). With three
    // nodes, two upgrades both land on their owners one time in nine.
    const want = transports ? transports[0] : "websocket";
    const names = () => [a.io.engine.transport.name, b.io.engine.transport.name];
    await waitUntil(() => names().every((name) => name === want), "the final transports", STEP_MS).catch(() => {});
    assertEqual(names(), [want, want], "transports");
  } finally {
    a.disconnect();
    b.disconnect();
  }
}

/** How many WebSockets each live node holds, by port. */
async function webSockets() {
  const counts = new Map();
  for (const port of nodes.keys()) {
    try {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const line = text.split("\n").find((l) => l.startsWith('agora_connections_open{transport="websocket"}'));
      counts.set(port, Number(line?.split(" ").pop() ?? 0));
    } catch {
      // a dead node
    }
  }
  return counts;
}

/** The port of the node whose WebSocket count went up from `before` once `socket` connected. */
async function nodeOf(socket, before) {
  let found;
  for (let i = 0; i < 100 && !found; i++) {
    const now = await webSockets();
    found = [...now].find(([port, n]) => n > (before.get(port) ?? 0))?.[0];
    if (!found) await new Promise((r) => setTimeout(r, 50));
  }
  assert(found, `${socket.label}: no node counts its WebSocket`);
  return found;
}

async function nodeDeath() {
  const idle = await webSockets();
  const a = client("A", tokenA, ["websocket"]);
  await connected(a);
  const holderA = await nodeOf(a, idle);
  // B must live on another node than A's, or its own sending would stop with A's node.
  let b;
  for (let attempt = 0; ; attempt++) {
    const before = await webSockets();
    b = client("B", tokenB, ["websocket"]);
    await connected(b);
    if ((await nodeOf(b, before)) !== holderA) break;
    b.disconnect();
    assert(attempt < 6, `B kept landing on A's node ${holderA}`);
    await new Promise((r) => setTimeout(r, 200)); // B's node counts its close
  }
  await bothInRoom(a, b);
  const id = a.id;
  assertEqual(a.recovered, false, "A.recovered at first");
  const sent = [];
  const reconnected = new Promise((resolve) => a.once("disconnect", () => a.once("connect", resolve)));
  for (let i = 0; i < SENT_ACROSS_DEATH; i++) {
    if (i === KILL_AFTER) {
      process.kill(Number(nodes.get(holderA)), "SIGKILL");
    }
    const text = `B ${i}`;
    await ack(b, "chat:send", { room: ROOM, text });
    sent.push(text);
    await new Promise((r) => setTimeout(r, SEND_PAUSE_MS));
  }
  await Promise.race([
    reconnected,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`A never came back: ${show(a.drops)}`)), STEP_MS)),
  ]);
  assert(a.drops.length > 0, "A's connection never dropped: was its node killed?");
  assertEqual(a.recovered, true, `A.recovered after its node died (drops: ${show(a.drops)})`);
  assertEqual(a.id, id, "A's socket id after recovery");
  await waitUntil(() => a.messages.length >= sent.length, "A: every message B sent", STEP_MS).catch((error) => {
    throw new Error(`${error.message}: got ${show(a.messages)}`);
  });
  await new Promise((r) => setTimeout(r, 300)); // a duplicate would show by now
  assertEqual(a.messages, sent, "A's messages across its node's death (each once, in order)");
  assertEqual(b.drops, [], "B's disconnections");
  a.disconnect();
  b.disconnect();
}

const scenarios = {
  "lb-polling": () => exchange(["polling"]),
  "lb-default": () => exchange(undefined),
  "lb-websocket": () => exchange(["websocket"]),
  "lb-node-death": nodeDeath,
};
assert(scenarios[scenario], `unknown scenario ${scenario}`);
runMain(scenario, scenarios[scenario], 60000);
