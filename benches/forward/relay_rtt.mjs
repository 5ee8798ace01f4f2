// Used by benches/forward/relay.sh. WebSocket round trips on an Agora session opened by polling on
// node A and upgraded through A (local) or B (relayed to A over Redis), alternating runs. Each
// round trip is `40/nope,` answered `44/nope,{…}`. Prints median/p90 latency and both nodes' CPU
// per round trip.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const require = createRequire(new URL("../node/package.json", import.meta.url));
const WebSocket = require("ws");

const [A, B, N, PIDS] = [Number(process.argv[2]), Number(process.argv[3]), Number(process.argv[4]), process.argv[5].split(",")];
const TICK = 100; // USER_HZ on Linux

function cpu() {
  let total = 0;
  for (const pid of PIDS) {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(")").pop().trim().split(/\s+/);
    total += Number(fields[11]) + Number(fields[12]);
  }
  return total / TICK;
}

async function polling(path, body) {
  const response = await fetch(`http://127.0.0.1:${A}/socket.io/?EIO=4&transport=polling${path}`, body === undefined ? {} : { method: "POST", body });
  return response.text();
}

/** A session on A, joined to `/`, upgraded through `port`; answers the open WebSocket. */
async function upgraded(port) {
  const open = await polling("");
  const sid = JSON.parse(open.slice(1)).sid;
  await polling(`&sid=${sid}`, "40");
  await polling(`&sid=${sid}`); // the CONNECT answer
  const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
  await new Promise((resolve, reject) => { ws.once("open", resolve); ws.once("error", reject); });
  const paused = polling(`&sid=${sid}`); // released by the probe
  ws.send("2probe");
  await new Promise((resolve) => ws.once("message", resolve));
  await paused;
  ws.send("5");
  return ws;
}

async function run(label, port) {
  const ws = await upgraded(port);
  let waiting = null;
  ws.on("message", (data) => {
    const text = data.toString();
    if (text === "2") ws.send("3");
    else if (text.startsWith("44/nope,") && waiting) { const w = waiting; waiting = null; w(); }
  });
  const trip = () => new Promise((resolve) => { waiting = resolve; ws.send("40/nope,"); });
  for (let i = 0; i < 50; i++) await trip(); // warm-up
  const times = [];
  const before = cpu();
  for (let i = 0; i < N; i++) {
    const start = process.hrtime.bigint();
    await trip();
    times.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  const used = cpu() - before;
  ws.close();
  times.sort((x, y) => x - y);
  const q = (p) => times[Math.floor(times.length * p)].toFixed(0);
  console.log(`${label}: round trip median ${q(0.5)} us p90 ${q(0.9)} us | server CPU ${((used / N) * 1e6).toFixed(0)} us/round trip (both nodes)`);
}

for (const [label, port] of [["relayed", B], ["local", A], ["relayed", B], ["local", A]]) await run(label, port);
