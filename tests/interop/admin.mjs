#!/usr/bin/env node
// The /admin namespace as @socket.io/admin-ui's UI uses it, with the official socket.io-client.
//
//   node tests/interop/admin.mjs <scenario> <baseUrl> [<otherNodeUrl>] <user> <password>
//
// Scenarios: refused, guessing, watch, readonly, recovered, cluster. Prints "ok <scenario>" last on success.

import { io } from "socket.io-client";
import { assert, assertEqual, runMain, show, waitFor, waitUntil } from "./helpers.mjs";

const STEP_MS = 5000; // wait for one expected event
const SILENCE_MS = 500; // how long "must NOT happen" checks watch
const STATS_MS = 5000; // server_stats come every 2 s

const OPERATIONS = ["EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT"];

/** An admin client as the UI opens it; every event it gets is recorded in `seen`. */
function admin(url, auth) {
  const socket = io(`${url}/admin`, {
    forceNew: true,
    reconnection: false,
    withCredentials: true,
    transports: ["polling", "websocket"],
    auth,
  });
  socket.seen = [];
  socket.onAny((event, ...args) => socket.seen.push([event, ...args]));
  return socket;
}

function user(url) {
  return io(url, { forceNew: true, reconnection: false, transports: ["websocket"] });
}

/** The first recorded event named `event` whose arguments satisfy `match`, waited for. */
async function seen(socket, event, match, what) {
  let found;
  await waitUntil(
    () => (found = socket.seen.find(([name, ...args]) => name === event && match(...args))),
    `${what} (seen: ${show(socket.seen.map(([name]) => name))})`,
    STEP_MS,
  );
  return found.slice(1);
}

async function connected(socket, what) {
  const outcome = await Promise.race([
    waitFor(socket, "connect", what, STEP_MS).then(() => null),
    waitFor(socket, "connect_error", what, STEP_MS).then(([err]) => err),
  ]);
  assert(outcome === null, `${what} refused: ${outcome && outcome.message}`);
}

/** The admin makes `socket` join "ops" (reported), emits to that room, then makes it leave. */
async function joinEmitLeave(watcher, socket, what) {
  watcher.emit("join", "/", "ops", socket.id);
  await seen(watcher, "room_joined", (nsp, r, id) => r === "ops" && id === socket.id, `${what}room_joined by join`);
  const toRoom = waitFor(socket, "in-ops", `an emit to the room the ${what}socket joined`, STEP_MS);
  watcher.emit("emit", "/", "ops", "in-ops", 1);
  await toRoom;
  watcher.emit("leave", "/", "ops", socket.id);
  await seen(watcher, "room_left", (nsp, r, id) => r === "ops" && id === socket.id, `${what}room_left by leave`);
}

const isDate = (value) => typeof value === "string" && !Number.isNaN(Date.parse(value));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const scenarios = {
  async refused(url, name, password) {
    for (const auth of [{ username: name, password: password + "x" }, { username: "x", password }, {}]) {
      const socket = admin(url, auth);
      const [err] = await waitFor(socket, "connect_error", "a refusal", STEP_MS);
      assertEqual(err.message, "invalid credentials", "refusal message");
      socket.close();
    }
  },

  async guessing(url, name, password) {
    for (let attempt = 1; attempt <= 10; attempt++) {
      const socket = admin(url, { username: name, password: `guess ${attempt}` });
      const [err] = await waitFor(socket, "connect_error", "a refusal", STEP_MS);
      assertEqual(err.message, "invalid credentials", `guess ${attempt}`);
      socket.close();
    }
    const right = admin(url, { username: name, password });
    const [err] = await waitFor(right, "connect_error", "the limit", STEP_MS);
    assertEqual(err.message, "too many attempts, try again later", "past the limit");
    right.close();
  },

  async watch(url, name, password) {
    const watcher = admin(url, { username: name, password });
    await connected(watcher, "admin");
    const [session] = await seen(watcher, "session", () => true, "session");
    assert(/^[0-9a-f]{16}$/.test(session), `session id ${session}`);
    const [config] = await seen(watcher, "config", () => true, "config");
    assertEqual(config.supportedFeatures, [...OPERATIONS, "AGGREGATED_EVENTS", "ALL_EVENTS"], "features");
    const [all] = await seen(watcher, "all_sockets", () => true, "all_sockets");
    assert(all.some((s) => s.id === watcher.id && s.nsp === "/admin"), `admin listed: ${show(all)}`);
    const [stats] = await seen(watcher, "server_stats", () => true, "server_stats");
    for (const key of ["serverId", "hostname", "pid", "uptime", "clientsCount", "pollingClientsCount"]) {
      assert(key in stats, `server_stats.${key}: ${show(stats)}`);
    }
    assert(stats.namespaces.some((n) => n.name === "/admin" && n.socketsCount >= 1), show(stats));

    // The session id stands for the password.
    const again = admin(url, { sessionId: session });
    await connected(again, "admin by session");
    again.close();

    // A user connects, joins and leaves a chat room, sends an event, is sent one.
    const alice = user(url);
    await connected(alice, "user");
    const [described, at] = await seen(watcher, "socket_connected", (s) => s.id === alice.id, "socket_connected");
    assertEqual(described.nsp, "/", "socket nsp");
    assert(described.rooms.includes(alice.id) && isDate(at), show([described, at]));
    assertEqual(described.transport, "websocket", "transport");
    assert(described.handshake.headers && described.handshake.address, show(described.handshake));
    // What the server sends the user alone (its welcome) is logged as sent.
    await seen(watcher, "event_sent", (nsp, id, args, at) => id === alice.id && isDate(at), "event_sent");
    const joined = await alice.timeout(STEP_MS).emitWithAck("chat:join", { room: "lobby" });
    assert(joined.ok, show(joined));
    const [, room, , joinedAt] = await seen(
      watcher, "room_joined", (nsp, r, id) => nsp === "/" && id === alice.id && r.includes("lobby"), "room_joined");
    assert(isDate(joinedAt), show(joinedAt));
    await seen(watcher, "event_received", (nsp, id, args) => id === alice.id && args[0] === "chat:join",
      "event_received chat:join");
    await alice.timeout(STEP_MS).emitWithAck("chat:leave", { room: "lobby" });
    await seen(watcher, "room_left", (nsp, r, id) => r === room && id === alice.id, "room_left");

    // Operations: emit to the user, make it join and leave a room, disconnect it.
    const hello = waitFor(alice, "hello", "the admin's emit", STEP_MS);
    watcher.emit("emit", "/", null, "hello", { from: "admin" });
    assertEqual((await hello)[0], { from: "admin" }, "emitted argument");
    await joinEmitLeave(watcher, alice, "");
    const aliceId = alice.id; // the client forgets it on disconnect
    const gone = waitFor(alice, "disconnect", "the admin's _disconnect", STEP_MS);
    watcher.emit("_disconnect", "/", true, aliceId);
    await gone;
    const [, , reason, goneAt] = await seen(
      watcher, "socket_disconnected", (nsp, id) => nsp === "/" && id === aliceId, "socket_disconnected");
    assert(typeof reason === "string" && isDate(goneAt), show([reason, goneAt]));

    // A polling client's upgrade is told as socket_updated.
    const dave = io(url, { forceNew: true, reconnection: false });
    await connected(dave, "polling user");
    const [polling] = await seen(watcher, "socket_connected", (s) => s.id === dave.id, "polling socket_connected");
    assertEqual(polling.transport, "polling", "first transport");
    await seen(watcher, "socket_updated", (s) => s.id === dave.id && s.transport === "websocket", "socket_updated");
    dave.close();

    // Malformed operations are ignored, the admin stays.
    watcher.emit("join", 42, { room: true });
    watcher.emit("_disconnect", "/", "yes");
    watcher.emit("emit", "/nowhere", null, "x");
    await sleep(SILENCE_MS);
    assert(watcher.connected, "the admin is still connected");
    watcher.close();
  },

  async readonly(url, name, password) {
    const watcher = admin(url, { username: name, password });
    await connected(watcher, "admin");
    const [config] = await seen(watcher, "config", () => true, "config");
    assertEqual(config.supportedFeatures, ["AGGREGATED_EVENTS", "ALL_EVENTS"], "read-only features");
    const bob = user(url);
    await connected(bob, "user");
    await seen(watcher, "socket_connected", (s) => s.id === bob.id, "socket_connected");
    let got = false;
    bob.on("hello", () => (got = true));
    watcher.emit("emit", "/", null, "hello", 1);
    watcher.emit("join", "/", "ops", bob.id);
    watcher.emit("_disconnect", "/", true, bob.id);
    await sleep(SILENCE_MS);
    assert(!got, "the emit was refused");
    assert(bob.connected, "the disconnect was refused");
    assert(!watcher.seen.some(([e, , r]) => e === "room_joined" && r === "ops"), "the join was refused");
    bob.close();
    watcher.close();
  },

  async recovered(url, name, password) {
    const watcher = admin(url, { username: name, password });
    await connected(watcher, "admin");
    const dave = io(url, { forceNew: true, transports: ["websocket"], reconnectionDelay: 100, reconnectionDelayMax: 300 });
    await connected(dave, "user");
    const id = dave.id;
    watcher.emit("join", "/", "ops", id);
    await seen(watcher, "room_joined", (nsp, r, sid) => r === "ops" && sid === id, "room_joined by join");
    const mark = watcher.seen.length;
    const back = waitFor(dave, "connect", "the reconnection", STEP_MS);
    dave.io.engine.transport.ws._socket.destroy(); // a cut: no close frame, no DISCONNECT
    await back;
    assert(dave.recovered && dave.id === id, `recovered with the same id (${dave.recovered}, ${dave.id})`);
    await waitUntil(
      () => watcher.seen.slice(mark).some(([event, , r, sid]) => event === "room_joined" && r === "ops" && sid === id),
      `the rooms it got back reported (seen since: ${show(watcher.seen.slice(mark).map(([event]) => event))})`,
      STEP_MS,
    );
    dave.close();
    watcher.close();
  },

  async cluster(url, other, name, password) {
    const watcher = admin(url, { username: name, password });
    await connected(watcher, "admin");
    const carol = user(other);
    await connected(carol, "user on the other node");
    const [described] = await seen(watcher, "socket_connected", (s) => s.id === carol.id, "remote socket_connected");
    assertEqual(described.nsp, "/", "remote socket nsp");
    const servers = new Set();
    await waitUntil(() => {
      for (const [event, stats] of watcher.seen) if (event === "server_stats") servers.add(stats.serverId);
      return servers.size >= 2;
    }, `server_stats of both nodes (got ${show([...servers])})`, STATS_MS);
    // A second admin, connected later, lists the other node's socket too.
    const late = admin(url, { username: name, password });
    await connected(late, "late admin");
    const [all] = await seen(late, "all_sockets", () => true, "all_sockets");
    assert(all.some((s) => s.id === carol.id), `remote socket listed: ${show(all)}`);
    // Joining and leaving reach a socket of the other node, whose node reports the move.
    await joinEmitLeave(watcher, carol, "remote ");
    const carolId = carol.id; // the client forgets it on disconnect
    carol.close();
    await seen(watcher, "socket_disconnected", (nsp, id) => id === carolId, "remote socket_disconnected");
    late.close();
    watcher.close();
  },
};

/** The ceiling for one scenario before it fails. */
const SCENARIO_TIMEOUT_MS = 20000;

const [scenario, ...args] = process.argv.slice(2);
const run = scenarios[scenario];
if (!run) {
  console.log(`FAIL ${scenario}: unknown scenario`);
  process.exit(1);
}
runMain(scenario, () => run(...args), SCENARIO_TIMEOUT_MS);
