#!/usr/bin/env node
// Interop tests: drive a Socket.IO server with the official socket.io-client 4.x.
//
//   node tests/interop/run.mjs <scenario> <baseUrl>
//
// Prints progress lines starting with "# ", then a final line "ok <scenario>"
// (exit 0) or "FAIL <scenario>: <reason>" (exit 1). See README.md for the
// server contract these scenarios expect.

import { io, Manager } from "socket.io-client";
import { isDeepStrictEqual } from "node:util";
import * as helpers from "./helpers.mjs";
import { recoveryScenarios } from "./recovery.mjs";
import { gzipScenarios } from "./polling_gzip.mjs";

const SCENARIO_TIMEOUT_MS = 9500; // hard limit per scenario
const STEP_TIMEOUT_MS = 5000; // default wait for one expected event
const SILENCE_MS = 300; // how long "must NOT receive" checks listen
const NO_RECONNECT_MS = 1000; // how long the kick scenario watches for reconnects

// ---------------------------------------------------------------------------
// helpers

const { show, assert, assertEqual } = helpers;

/** One scenario run: tracks sockets, logs their lifecycle, fails fast on surprises. */
class Ctx {
  constructor(name, baseUrl) {
    this.name = name;
    this.baseUrl = baseUrl;
    this.sockets = [];
    this.events = [];
    this.closing = false;
    this.failed = new Promise((_, reject) => {
      this.fail = reject;
    });
    this.failed.catch(() => {});
  }

  note(line) {
    this.events.push(line);
  }

  step(line) {
    console.log(`# [${this.name}] ${line}`);
  }

  /** Create a socket with a fresh Manager (no multiplexing unless asked). */
  socket(label, nsp = "/", opts = {}) {
    const s = io(this.baseUrl + nsp, { forceNew: true, ...opts });
    return this.track(label, s);
  }

  /** Register a socket: lifecycle logging, unexpected-disconnect detection, cleanup. */
  track(label, s) {
    s.label = label;
    s.allowDisconnect = false;
    this.sockets.push(s);
    const t0 = Date.now();
    const note = (ev) => {
      if (!this.closing) this.note(`+${Date.now() - t0}ms ${label}: ${ev}`);
    };
    s.on("connect", () => note(`connect id=${s.id} transport=${s.io.engine?.transport?.name}`));
    s.on("connect_error", (err) => note(`connect_error ${describeConnectError(err)}`));
    s.on("disconnect", (reason, details) => {
      note(`disconnect ${show(reason)}${details ? " " + show(details?.description?.message ?? details?.description ?? details) : ""}`);
      if (!s.allowDisconnect && !this.closing) {
        this.fail(new Error(`${label} disconnected unexpectedly (reason: ${show(reason)})`));
      }
    });
    const hookEngine = () => {
      const engine = s.io.engine;
      if (!engine || engine.__agoraHooked) return;
      engine.__agoraHooked = true;
      engine.on("open", () => note(`engine open transport=${engine.transport?.name}`));
      engine.on("upgrade", (t) => note(`engine upgrade -> ${t?.name}`));
      engine.on("close", (reason) => note(`engine close ${show(reason)}`));
    };
    hookEngine();
    s.io.on("open", hookEngine);
    s.io.on("reconnect_attempt", (n) => note(`reconnect_attempt #${n}`));
    return s;
  }

  cleanup() {
    this.closing = true;
    for (const s of this.sockets) {
      try {
        s.disconnect();
      } catch {}
      try {
        s.io.engine?.close();
      } catch {}
    }
  }
}

/** Wait for the next `event` on `emitter`; resolves with the argument array. */
function waitFor(emitter, event, what, ms = STEP_TIMEOUT_MS) {
  return helpers.waitFor(emitter, event, what, ms);
}

/** Human-readable connect_error, including transport-level details when present. */
function describeConnectError(err) {
  let text = show(err?.message);
  const parts = [];
  const d = err?.description;
  if (d !== undefined && d !== null && d !== 0) parts.push(`description: ${show(d?.message ?? d)}`);
  const c = err?.context;
  if (c && typeof c === "object") {
    if (c.status) parts.push(`HTTP status ${c.status}`);
    const body = typeof c.responseText === "string" ? c.responseText : c.responseText?.message;
    if (body) parts.push(`response: ${show(String(body).slice(0, 300))}`);
    if (c.message && !body) parts.push(show(c.message));
  }
  if (err?.data !== undefined) parts.push(`data: ${show(err.data)}`);
  if (parts.length) text += ` (${parts.join("; ")})`;
  return text;
}

/** Wait for a socket's `connect`; fail immediately on connect_error. */
function waitConnect(s, ms = STEP_TIMEOUT_MS) {
  if (s.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      s.off("connect", onConnect);
      s.off("connect_error", onError);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`timed out after ${ms} ms waiting for ${s.label} to connect`));
    }, ms);
    const onConnect = () => {
      done();
      resolve();
    };
    const onError = (err) => {
      done();
      reject(new Error(`${s.label} got connect_error: ${describeConnectError(err)}`));
    };
    s.on("connect", onConnect);
    s.on("connect_error", onError);
  });
}

/** Listen for `ms`; fail if `event` fires on `emitter`. */
function expectSilence(emitter, event, what, ms = SILENCE_MS) {
  return new Promise((resolve, reject) => {
    const handler = (...args) => {
      clearTimeout(timer);
      emitter.off(event, handler);
      reject(new Error(`${what}: unexpectedly received ${show(event)} with ${show(args)}`));
    };
    const timer = setTimeout(() => {
      emitter.off(event, handler);
      resolve();
    }, ms);
    emitter.on(event, handler);
  });
}

/** Emit with an ack callback; resolves with ALL ack arguments as an array. */
function emitAck(s, event, args, ms = STEP_TIMEOUT_MS) {
  return new Promise((resolve, reject) => {
    s.timeout(ms).emit(event, ...args, (err, ...resp) => {
      if (err) reject(new Error(`${s.label}: no ack for ${show(event)} within ${ms} ms`));
      else resolve(resp);
    });
  });
}

/** Wait until the engine of `s` has upgraded to websocket. */
async function waitUpgrade(s, ms = STEP_TIMEOUT_MS) {
  const engine = s.io.engine;
  if (engine.transport?.name !== "websocket") {
    await waitFor(engine, "upgrade", `${s.label}: engine upgrade to websocket`, ms);
  }
  assertEqual(engine.transport?.name, "websocket", `${s.label}: transport after upgrade`);
}

const MIXED_ARGS = [
  "héllo wörld ✓ 😀 \"quoted\" \\ \n newline",
  42,
  { a: 1, nested: { b: [true, false], c: "x", f: 1.5, neg: -7 } },
  [1, "two", { three: 3 }, [4], []],
  null,
];

/** message-with-ack and message -> message-back round trips with mixed JSON args. */
async function roundTrips(ctx, s, where) {
  const resp = await emitAck(s, "message-with-ack", MIXED_ARGS);
  assertEqual(resp, MIXED_ARGS, `${where}: message-with-ack ack arguments`);

  const empty = await emitAck(s, "message-with-ack", []);
  assertEqual(empty, [], `${where}: message-with-ack with no arguments`);

  const back = waitFor(s, "message-back", `${where}: message-back`);
  s.emit("message", ...MIXED_ARGS);
  assertEqual(await back, MIXED_ARGS, `${where}: message-back arguments`);
  ctx.step(`${where}: message-with-ack and message/message-back ok`);
}

// ---------------------------------------------------------------------------
// scenarios

async function connectPollingUpgrade(ctx) {
  const s = ctx.socket("client");
  const engine = s.io.engine;
  let initial;
  engine.once("open", () => {
    initial = engine.transport?.name;
  });
  const upgraded = waitFor(engine, "upgrade", "engine upgrade to websocket");
  upgraded.catch(() => {});

  await waitConnect(s);
  assertEqual(initial, "polling", "transport used to open the engine");
  assert(typeof s.id === "string" && s.id.length > 0, `socket.id should be a non-empty string, got ${show(s.id)}`);
  ctx.step(`connected (id=${s.id}, engine opened with ${initial}, now ${engine.transport?.name})`);

  await roundTrips(ctx, s, "right after connect");

  if (engine.transport?.name !== "websocket") {
    const [t] = await upgraded;
    assertEqual(t?.name, "websocket", "transport passed to the 'upgrade' event");
  }
  assertEqual(engine.transport?.name, "websocket", "socket.io.engine.transport.name after upgrade");
  ctx.step("engine upgraded polling -> websocket");

  await roundTrips(ctx, s, "after upgrade");
}

async function connectWebsocketOnly(ctx) {
  const s = ctx.socket("client", "/", { transports: ["websocket"] });
  const engine = s.io.engine;
  let initial;
  engine.once("open", () => {
    initial = engine.transport?.name;
  });
  let upgrades = 0;
  engine.on("upgrade", () => upgrades++);

  await waitConnect(s);
  assertEqual(initial, "websocket", "transport used to open the engine");
  assert(typeof s.id === "string" && s.id.length > 0, `socket.id should be a non-empty string, got ${show(s.id)}`);
  ctx.step(`connected over websocket (id=${s.id})`);

  await roundTrips(ctx, s, "websocket-only");
  assertEqual(engine.transport?.name, "websocket", "transport at end");
  assertEqual(upgrades, 0, "number of upgrade events with websocket-only transport");
}

async function pollingOnly(ctx) {
  const s = ctx.socket("client", "/", { transports: ["polling"] });
  const engine = s.io.engine;
  let upgrades = 0;
  engine.on("upgrade", () => upgrades++);
  await waitConnect(s);
  assertEqual(engine.transport?.name, "polling", "transport");
  ctx.step(`connected over polling (id=${s.id})`);

  const N = 20;
  const results = await Promise.all(
    Array.from({ length: N }, (_, i) =>
      emitAck(s, "message-with-ack", [i, `payload-${i}`, { i, sq: i * i }]),
    ),
  );
  results.forEach((resp, i) =>
    assertEqual(resp, [i, `payload-${i}`, { i, sq: i * i }], `ack #${i} of ${N} concurrent emits`),
  );
  ctx.step(`${N} concurrent acks ok`);

  await roundTrips(ctx, s, "polling-only");
  assertEqual(engine.transport?.name, "polling", "transport at end");
  assertEqual(upgrades, 0, "number of upgrade events with polling-only transport");
}

async function auth(ctx) {
  // "/" with an auth payload
  const token = { token: "abc", n: 1 };
  const a = ctx.socket("with-auth", "/", { auth: token });
  const aAuth = waitFor(a, "auth", "'auth' event on / (with auth)");
  await waitConnect(a);
  assertEqual(await aAuth, [token], "'auth' event arguments on / with auth {token:'abc', n:1}");
  ctx.step("/ echoes the auth payload");

  // "/" without an auth payload -> {}
  const b = ctx.socket("no-auth", "/");
  const bAuth = waitFor(b, "auth", "'auth' event on / (no auth)");
  await waitConnect(b);
  assertEqual(await bAuth, [{}], "'auth' event arguments on / without auth");
  ctx.step("/ without auth sends {}");

  // "/custom" on its own connection
  const customToken = { token: "xyz", role: "custom", list: [1, 2] };
  const c = ctx.socket("custom", "/custom", { auth: customToken });
  const cAuth = waitFor(c, "auth", "'auth' event on /custom");
  await waitConnect(c);
  assertEqual(await cAuth, [customToken], "'auth' event arguments on /custom");
  ctx.step("/custom echoes the auth payload");

  // "/" and "/custom" multiplexed over one Engine.IO connection, different auth each
  const manager = new Manager(ctx.baseUrl, { forceNew: true });
  const mRoot = ctx.track("mux-root", manager.socket("/", { auth: { which: "root" } }));
  const mCustom = ctx.track("mux-custom", manager.socket("/custom", { auth: { which: "custom" } }));
  const mRootAuth = waitFor(mRoot, "auth", "'auth' event on multiplexed /");
  const mCustomAuth = waitFor(mCustom, "auth", "'auth' event on multiplexed /custom");
  await Promise.all([waitConnect(mRoot), waitConnect(mCustom)]);
  assertEqual(await mRootAuth, [{ which: "root" }], "'auth' on multiplexed /");
  assertEqual(await mCustomAuth, [{ which: "custom" }], "'auth' on multiplexed /custom");
  assert(mRoot.id !== mCustom.id, "multiplexed sockets must have distinct ids");
  await roundTrips(ctx, mRoot, "multiplexed /");
  ctx.step("/ and /custom multiplexed on one connection ok");

  // unknown namespace
  const n = ctx.socket("nope", "/nope");
  const result = await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`timed out after ${STEP_TIMEOUT_MS} ms waiting for connect_error on /nope`)),
      STEP_TIMEOUT_MS,
    );
    n.once("connect", () => {
      clearTimeout(timer);
      reject(new Error("/nope: connected, but expected connect_error 'Invalid namespace'"));
    });
    n.once("connect_error", (err) => {
      clearTimeout(timer);
      resolve(err);
    });
  });
  assertEqual(result.message, "Invalid namespace", "/nope connect_error message");
  assert(!n.connected, "/nope socket must not be connected");
  ctx.step("/nope rejected with 'Invalid namespace'");
}

async function rooms(ctx) {
  const A = ctx.socket("A");
  const B = ctx.socket("B");
  const C = ctx.socket("C");
  await Promise.all([waitConnect(A), waitConnect(B), waitConnect(C)]);

  const joinAck = async (s, room) => {
    const resp = await emitAck(s, "join", [room]);
    assert(
      resp.length === 0 || (resp.length === 1 && resp[0] === true),
      `${s.label}: join ack should carry no arguments or true, got ${show(resp)}`,
    );
  };
  // Room names carry a per-run nonce so that concurrent runs against one server
  // cannot see each other's broadcasts.
  const nonce = `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const r1 = `r1:${nonce}`;
  const r2 = `r2:${nonce}`;
  await Promise.all([joinAck(A, r1), joinAck(B, r1), joinAck(C, r2)]);
  ctx.step(`A, B joined ${r1}; C joined ${r2}`);

  // Record every `msg` each client gets, so "must NOT receive" checks cover
  // the whole window from the emit until SILENCE_MS after delivery to the target.
  const got = { A: [], B: [], C: [] };
  for (const s of [A, B, C]) s.on("msg", (...args) => got[s.label].push(args));
  const quiet = async (labels, what) => {
    await new Promise((r) => setTimeout(r, SILENCE_MS));
    for (const l of labels) {
      assert(got[l].length === 0, `${what}: ${l} unexpectedly received msg ${show(got[l])}`);
    }
  };

  /** `from` broadcasts to r1: only `to` receives, once; `from` itself and C (in r2) nothing. */
  const broadcastReachesOnly = async (from, to, payload) => {
    for (const l of ["A", "B", "C"]) got[l].length = 0;
    const arrives = waitFor(to, "msg", `${to.label} to receive msg broadcast by ${from.label} to r1`);
    from.emit("broadcast", r1, payload);
    assertEqual(await arrives, [payload], `msg received by ${to.label}`);
    await quiet([from.label, "C"], `broadcast ${from.label} -> r1 (${from.label} is the sender, C is in r2)`);
    assertEqual(got[to.label].length, 1, `number of msg events ${to.label} received for one broadcast`);
    ctx.step(`${from.label} -> r1 reached ${to.label} only`);
  };
  await broadcastReachesOnly(A, B, { hello: "world" });
  await broadcastReachesOnly(B, A, { from: "B", n: [1, 2, 3] });
}

function binaryArgs() {
  return [Buffer.from([1, 2, 3]), { a: Buffer.from([4, 5]), b: [Buffer.alloc(0), "x"] }];
}

async function binaryChecks(ctx, s, where) {
  const args = binaryArgs();
  const resp = await emitAck(s, "message-with-ack", args);
  assertEqual(resp, binaryArgs(), `${where}: binary message-with-ack ack arguments`);
  assert(Buffer.isBuffer(resp[0]) && Buffer.isBuffer(resp[1].a) && Buffer.isBuffer(resp[1].b[0]),
    `${where}: acked binary values must be Buffers, got ${show(resp)}`);

  const back = waitFor(s, "message-back", `${where}: binary message-back`);
  s.emit("message", ...binaryArgs());
  const got = await back;
  assertEqual(got, binaryArgs(), `${where}: binary message-back arguments`);

  // mixed binary + text in one packet, a larger buffer too
  const big = Buffer.alloc(70000, 0).map((_, i) => i % 251);
  const mixed = ["text", big, { deep: { buf: Buffer.from("héllo", "utf8") } }, 7];
  const mixedResp = await emitAck(s, "message-with-ack", mixed);
  assertEqual(mixedResp, mixed, `${where}: mixed binary/text ack arguments`);
  ctx.step(`${where}: binary round trips ok (transport=${s.io.engine.transport?.name})`);
}

async function binary(ctx) {
  // default transports: right after connect (usually still polling) and after upgrade
  const d = ctx.socket("default");
  await waitConnect(d);
  await binaryChecks(ctx, d, "default transports, after connect");
  await waitUpgrade(d);
  await binaryChecks(ctx, d, "default transports, after upgrade");

  const w = ctx.socket("websocket", "/", { transports: ["websocket"] });
  await waitConnect(w);
  await binaryChecks(ctx, w, "websocket-only");

  const p = ctx.socket("polling", "/", { transports: ["polling"] });
  await waitConnect(p);
  await binaryChecks(ctx, p, "polling-only");
}

async function serverAck(ctx) {
  // client that answers
  const s = ctx.socket("answering");
  await waitConnect(s);
  s.on("question", (...args) => {
    if (typeof args[args.length - 1] !== "function") {
      ctx.fail(new Error(`'question' arrived without an ack callback (args: ${show(args)})`));
      return;
    }
    const cb = args.pop();
    if (!isDeepStrictEqual(args, ["ping?"])) {
      ctx.fail(new Error(`'question' arguments: expected ['ping?'], got ${show(args)}`));
      return;
    }
    cb("pong!");
  });
  const answer = waitFor(s, "answer", "'answer' after acking 'question'");
  s.emit("ask");
  assertEqual(await answer, ["pong!"], "'answer' arguments after acking with 'pong!'");
  ctx.step("server-to-client ack answered with pong! ok");

  // client that never answers -> server times out after 2 s
  const q = ctx.socket("silent");
  await waitConnect(q);
  let questions = 0;
  q.on("question", (...args) => {
    questions++;
    assert(typeof args[args.length - 1] === "function", "'question' should carry an ack callback");
    // deliberately never call the ack
  });
  const t0 = Date.now();
  const timeoutAnswer = waitFor(q, "answer", "'answer' \"timeout\" when the client never acks", 4000);
  q.emit("ask");
  assertEqual(await timeoutAnswer, ["timeout"], "'answer' arguments when the ack is never called");
  const elapsed = Date.now() - t0;
  assertEqual(questions, 1, "number of 'question' events received by the silent client");
  assert(elapsed >= 1500, `'answer' "timeout" came after ${elapsed} ms; the server's ack timeout should be ~2 s`);
  ctx.step(`server-side ack timeout ok (after ${elapsed} ms)`);
}

async function dropAndReconnect(ctx, label, transports) {
  const opts = { reconnectionDelay: 100, reconnectionDelayMax: 500 };
  if (transports) opts.transports = transports;
  const s = ctx.socket(label, "/", opts);
  await waitConnect(s);
  if (!transports) await waitUpgrade(s); // make the drop hit a settled websocket transport
  const firstId = s.id;
  const transport = s.io.engine.transport?.name;

  s.allowDisconnect = true;
  const disconnected = waitFor(s, "disconnect", `${label}: disconnect after drop-me`);
  const reconnected = waitFor(s, "connect", `${label}: automatic reconnect after drop-me`, 7000);
  const managerReconnect = waitFor(s.io, "reconnect", `${label}: manager 'reconnect' event`, 7000);
  reconnected.catch(() => {});
  managerReconnect.catch(() => {});
  s.emit("drop-me");
  const [reason] = await disconnected;
  assertEqual(reason, "transport close", `${label}: disconnect reason after drop-me`);
  ctx.step(`${label}: dropped over ${transport}, reason "transport close"`);

  await reconnected;
  await managerReconnect;
  s.allowDisconnect = false;
  assert(s.connected, `${label}: socket should be connected after reconnect`);
  ctx.step(`${label}: reconnected (id ${firstId} -> ${s.id})`);

  const resp = await emitAck(s, "message-with-ack", ["after-reconnect", 1, { ok: true }]);
  assertEqual(resp, ["after-reconnect", 1, { ok: true }], `${label}: message-with-ack after reconnect`);
  ctx.step(`${label}: message-with-ack after reconnect ok`);
}

async function reconnect(ctx) {
  await dropAndReconnect(ctx, "websocket-only", ["websocket"]);
  await dropAndReconnect(ctx, "default-transports", undefined);
}

async function reconnectPolling(ctx) {
  await dropAndReconnect(ctx, "polling-only", ["polling"]);
}

async function kick(ctx) {
  const s = ctx.socket("client", "/", { reconnectionDelay: 100, reconnectionDelayMax: 500 });
  await waitConnect(s);
  s.allowDisconnect = true;
  const disconnected = waitFor(s, "disconnect", "disconnect after kick-me");
  s.emit("kick-me");
  const [reason] = await disconnected;
  assertEqual(reason, "io server disconnect", "disconnect reason after kick-me");
  ctx.step('kicked, reason "io server disconnect"');

  await Promise.all([
    expectSilence(s, "connect", "must not reconnect after an io server disconnect", NO_RECONNECT_MS),
    expectSilence(s.io, "reconnect_attempt", "manager must not attempt to reconnect after kick", NO_RECONNECT_MS),
    expectSilence(s.io, "open", "manager must not reopen after kick", NO_RECONNECT_MS),
  ]);
  assert(!s.connected && !s.active, "socket must be inactive after being kicked");
  ctx.step(`no reconnect within ${NO_RECONNECT_MS} ms`);
}

const SCENARIOS = {
  "connect-polling-upgrade": connectPollingUpgrade,
  "connect-websocket-only": connectWebsocketOnly,
  "polling-only": pollingOnly,
  auth,
  rooms,
  binary,
  "server-ack": serverAck,
  reconnect,
  kick,
};
// extra scenarios, runnable by name but not part of "all"
const EXTRA_SCENARIOS = {
  "reconnect-polling": reconnectPolling,
  // connection state recovery: against the app (recovery on), not the conformance server
  ...recoveryScenarios({ waitFor, waitConnect, emitAck, expectSilence, assert, assertEqual, show }),
  ...gzipScenarios({ waitFor, waitConnect, emitAck, assert, assertEqual }),
};

// ---------------------------------------------------------------------------
// runner

async function runOne(name, fn, baseUrl) {
  const ctx = new Ctx(name, baseUrl);
  const t0 = Date.now();
  let timer;
  try {
    await Promise.race([
      fn(ctx),
      ctx.failed,
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`scenario did not finish within ${SCENARIO_TIMEOUT_MS} ms`)),
          SCENARIO_TIMEOUT_MS,
        );
      }),
    ]);
    ctx.step(`passed in ${Date.now() - t0} ms`);
  } catch (err) {
    err.ctx = ctx;
    throw err;
  } finally {
    clearTimeout(timer);
    ctx.cleanup();
  }
}

function usage(msg) {
  const names = ["all", ...Object.keys(SCENARIOS), ...Object.keys(EXTRA_SCENARIOS)];
  console.log(`FAIL usage: ${msg}\nusage: node run.mjs <scenario> <baseUrl>\nscenarios: ${names.join(", ")}`);
  process.exit(1);
}

function finish(code, line) {
  process.stdout.write(line + "\n", () => process.exit(code));
  setTimeout(() => process.exit(code), 1000).unref();
}

async function main() {
  const [scenario, rawBase] = process.argv.slice(2);
  if (!scenario || !rawBase) usage("missing arguments");
  let base;
  try {
    const u = new URL(rawBase);
    base = u.origin; // the path is always /socket.io/; namespaces are appended per socket
  } catch {
    usage(`invalid baseUrl ${show(rawBase)}`);
  }

  let plan;
  if (scenario === "all") plan = Object.entries(SCENARIOS);
  else if (SCENARIOS[scenario]) plan = [[scenario, SCENARIOS[scenario]]];
  else if (EXTRA_SCENARIOS[scenario]) plan = [[scenario, EXTRA_SCENARIOS[scenario]]];
  else usage(`unknown scenario ${show(scenario)}`);

  // Last-resort guard: never hang, whatever happens.
  setTimeout(() => {
    finish(1, `FAIL ${scenario}: global timeout, the run did not finish`);
  }, plan.length * (SCENARIO_TIMEOUT_MS + 1000) + 2000).unref();

  let current = scenario;
  process.on("unhandledRejection", (err) => {
    finish(1, `FAIL ${current}: unhandled rejection: ${err?.stack ?? err}`);
  });
  process.on("uncaughtException", (err) => {
    finish(1, `FAIL ${current}: uncaught exception: ${err?.stack ?? err}`);
  });

  for (const [name, fn] of plan) {
    current = name;
    try {
      await runOne(name, fn, base);
      if (scenario === "all") console.log(`ok ${name}`);
    } catch (err) {
      if (err.ctx?.events.length) {
        console.log(`# [${name}] client-side event log:`);
        for (const e of err.ctx.events) console.log(`#   ${e}`);
      }
      const where = scenario === "all" ? `${scenario} (${name})` : name;
      finish(1, `FAIL ${where}: ${err?.message ?? err}`);
      return;
    }
  }
  finish(0, `ok ${scenario}`);
}

main();
