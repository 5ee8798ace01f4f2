// gzip on polling: the official socket.io-client exchanges large messages over polling only, with
// both of its Node.js polling transports. Wired into run.mjs as an extra scenario (not in "all"):
//
//   polling-gzip   XHR polling (sends no Accept-Encoding: plain answers), then fetch() polling
//                  (undici sends `Accept-Encoding: gzip, deflate` and decodes): the server's
//                  answers from 1 KiB come back gzipped, and every message arrives whole.

import { Fetch } from "engine.io-client";

const BIG_LENGTH = 200_000; // characters of each large message: far above the 1 KiB threshold

/** A large text that is not one repeated byte (unicode included), so it decodes only if whole. */
function bigText() {
  const parts = [];
  for (let i = 0, length = 0; length < BIG_LENGTH; i++) {
    const part = `${i}:é✓ agora ${i * i} `;
    parts.push(part);
    length += part.length;
  }
  return parts.join("").slice(0, BIG_LENGTH);
}

export function gzipScenarios({ waitFor, waitConnect, emitAck, assert, assertEqual }) {
  async function pollingGzip(ctx) {
    const big = bigText();
    let gzipped = 0;
    const realFetch = globalThis.fetch;
    globalThis.fetch = async (...args) => {
      const response = await realFetch(...args);
      if (response.headers.get("content-encoding") === "gzip") gzipped++;
      return response;
    };
    try {
      for (const [label, transports] of [["xhr", ["polling"]], ["fetch", [Fetch]]]) {
        const s = ctx.socket(label, "/", { transports });
        const t0 = Date.now();
        await waitConnect(s);
        assertEqual(s.io.engine.transport?.name, "polling", `${label} transport`);
        const [echo] = await emitAck(s, "message-with-ack", [big]);
        ctx.step(`${label}: acked after ${Date.now() - t0} ms`);
        assert(echo === big, `${label}: the acked echo of ${BIG_LENGTH} characters differs`);
        const back = waitFor(s, "message-back", `${label}: message-back`, 5000);
        s.emit("message", big, { small: true });
        const [got, small] = await back;
        assert(got === big, `${label}: message-back of ${BIG_LENGTH} characters differs`);
        assertEqual(small, { small: true }, `${label}: second argument`);
        ctx.step(`${label}: ${BIG_LENGTH} characters both ways over polling in ${Date.now() - t0} ms`);
        s.allowDisconnect = true;
        s.disconnect();
      }
      assert(gzipped >= 2, `fetch polling answers that came gzipped: ${gzipped}, expected at least 2`);
      ctx.step(`${gzipped} fetch polling answers came gzipped`);
    } finally {
      globalThis.fetch = realFetch;
    }
  }
  return { "polling-gzip": pollingGzip };
}
