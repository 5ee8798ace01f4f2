// Helpers shared by the interop drivers (run.mjs, recovery.mjs, polling_drop.mjs) and the e2e
// scenarios: assertions that print both sides, bounded waits for an event or a condition, and a TCP
// relay that plays one client's network.
import net from "node:net";
import { isDeepStrictEqual, inspect } from "node:util";

/** A value as one readable line. */
export const show = (v) => inspect(v, { depth: 10, breakLength: Infinity });

export function assert(cond, what) {
  if (!cond) throw new Error(what);
}

export function assertEqual(actual, expected, what) {
  if (!isDeepStrictEqual(actual, expected)) {
    throw new Error(`${what}: expected ${show(expected)}, got ${show(actual)}`);
  }
}

/** The next `event` on `emitter` (its argument array), or a rejection after `ms`. */
export function waitFor(emitter, event, what, ms) {
  return waitForMatch(emitter, event, () => true, what, ms);
}

/** The first `event` on `emitter` whose arguments satisfy `match` (its argument array), or a rejection after `ms`. */
export function waitForMatch(emitter, event, match, what, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, handler);
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    const handler = (...args) => {
      if (!match(...args)) return;
      clearTimeout(timer);
      emitter.off(event, handler);
      resolve(args);
    };
    emitter.on(event, handler);
  });
}

/** Resolves once `cond()` holds (checked every 10 ms), or rejects after `ms`. */
export function waitUntil(cond, what, ms) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = () => {
      if (cond()) return resolve();
      if (Date.now() - t0 > ms) return reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      setTimeout(tick, 10);
    };
    tick();
  });
}

/** Runs `scenario()` as `name`: prints "ok <name>" and exits 0, or "FAIL <name>: <reason>" and
 * exits 1; gives up after `ms`. */
export function runMain(name, scenario, ms) {
  const watchdog = setTimeout(() => {
    console.log(`FAIL ${name}: did not finish in time`);
    process.exit(1);
  }, ms);
  scenario().then(
    () => {
      clearTimeout(watchdog);
      console.log(`ok ${name}`);
      // Let the last disconnects reach the server before the process goes.
      setTimeout(() => process.exit(0), 100);
    },
    (error) => {
      clearTimeout(watchdog);
      console.log(`FAIL ${name}: ${error.message}`);
      process.exit(1);
    },
  );
}

/** Carries a relay link's bytes both ways as they come. */
function pipeBoth({ client, upstream }) {
  client.pipe(upstream);
  upstream.pipe(client);
}

/**
 * A TCP relay on a free port to `target` (a URL): one client's own network, which a test can cut.
 * Each connection is a link `{ client, upstream }` in `relay.links`, whose bytes `forward(link)`
 * carries (piped both ways by default). While `relay.online` is false, new connections are refused:
 * reset (an RST) with `resetRefused`, else closed. A link marked `frozen` survives the close of
 * either side (a network that is down does not carry a close either).
 */
export async function startRelay(target, { forward = pipeBoth, resetRefused = false } = {}) {
  const { hostname, port } = new URL(target);
  const links = new Set();
  const relay = {
    links,
    online: true,
    /** Ends `link` on both sides, abruptly (RST, as SO_LINGER 0 then close) with `reset`. */
    drop(link, { reset = false } = {}) {
      links.delete(link);
      if (reset) {
        link.upstream.resetAndDestroy();
        link.client.resetAndDestroy();
      } else {
        link.client.destroy();
        link.upstream.destroy();
      }
    },
    /** Refuses new connections and drops every open one; returns how many there were. */
    dropAll(options) {
      relay.online = false;
      const count = links.size;
      for (const link of [...links]) relay.drop(link, options);
      return count;
    },
    close() {
      relay.dropAll();
      server.close();
    },
  };
  const server = net.createServer((client) => {
    client.on("error", () => {});
    if (!relay.online) {
      if (resetRefused) client.resetAndDestroy();
      else client.destroy();
      return;
    }
    const upstream = net.connect(Number(port), hostname);
    upstream.on("error", () => {});
    const link = { client, upstream };
    links.add(link);
    forward(link);
    const end = () => {
      if (!link.frozen) relay.drop(link);
    };
    client.on("close", end);
    upstream.on("close", end);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  relay.url = `http://127.0.0.1:${server.address().port}`;
  return relay;
}
