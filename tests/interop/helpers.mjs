// Helpers shared by the interop drivers (run.mjs, recovery.mjs, polling_drop.mjs): assertions that
// print both sides, and bounded waits for an event or a condition.
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
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, handler);
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    const handler = (...args) => {
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
