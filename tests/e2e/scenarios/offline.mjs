// E2E scenario "offline": a chat page that loses its network comes back with every message it missed.
//
//   export async function run({ browser, baseUrl, shotDir, helpers })
//
// Same contract as scenarios/trades.mjs; `helpers` is run.mjs's scenario context (page(), step(),
// check(), screenshot()) and is required here.
//
// A and B (two browser contexts, two guests) open /chat and are in lobby. A's page is loaded through a
// small TCP relay owned by the scenario ("A's network"), B's directly. A goes offline:
//   - DevTools network emulation on A's context (playwright's `context.setOffline(true)`): new requests
//     and WebSockets fail, navigator.onLine is false. In Chromium (checked with 156) neither that nor
//     CDP `Network.emulateNetworkConditions({offline: true})` closes a WebSocket that is already open:
//     its frames just stop (the page keeps saying "connected" until a heartbeat times out, 45 s with the
//     default settings). So, as a real outage would, the relay also drops A's open TCP connections
//     abruptly (no close frame, no DISCONNECT) and refuses new ones.
// A's header shows "reconnecting…" and B's member list loses A (the server noticed); screenshot
// offline-reconnecting.png. B sends two messages. A comes back online and reconnects by itself: its
// #messages shows both messages exactly once, in order, without a reload (whether they came from the
// server's replay, socket.recovered, or from the `after` catch-up of chat:join), B lists A again, and a
// message A sends now reaches B. Screenshot offline-caught-up.png.
// Then a second outage in which the server does not know A's session any more when A comes back
// (simulated by giving A's socket a pid the server never issued): socket.recovered is false and the
// page catches up with chat:join `after` its last message id; again each message shows once, in order.

import { startRelay } from "../../interop/helpers.mjs";
import { STEP_TIMEOUT_MS, assert, freshTag, pagesAB, waitForChatJoined } from "../page_helpers.mjs";

const RECONNECT_TIMEOUT_MS = 15_000; // the page's backoff is 1 s doubling up to 5 s (plus jitter)

/**
 * A TCP relay to `target`: `down()` drops every open connection abruptly and refuses new ones,
 * `up()` lets connections through again.
 */
async function startDroppingRelay(target) {
  const relay = await startRelay(target);
  return Object.assign(relay, {
    down: () => relay.dropAll(),
    up() {
      relay.online = true;
    },
  });
}

export async function run({ browser, baseUrl, shotDir, helpers } = {}) {
  assert(browser && baseUrl && shotDir && helpers, "offline: run({ browser, baseUrl, shotDir, helpers }) needs all four");
  const relay = await startDroppingRelay(baseUrl);
  try {
    await scenario(helpers, baseUrl, relay);
    helpers.check();
  } finally {
    relay.close();
  }
}

// ---------------------------------------------------------------------------
// page helpers

async function goto(page, url) {
  const res = await page.goto(url, { waitUntil: "load" });
  assert(res && res.status() < 400, `GET ${url} answered HTTP ${res && res.status()}`);
}

async function connState(page) {
  return page.evaluate(() => {
    const node = document.getElementById("conn-status");
    return node ? { state: node.dataset.state, text: node.textContent.trim() } : null;
  });
}

async function waitConnState(page, state, label, timeout = STEP_TIMEOUT_MS) {
  await page.waitForSelector(`#conn-status[data-state="${state}"]`, { state: "visible", timeout }).catch(async () => {
    throw new Error(`${label}: #conn-status never showed ${state} within ${timeout} ms (shows ${JSON.stringify(await connState(page))})`);
  });
}

async function welcomeName(page, label) {
  await page
    .waitForFunction(() => (document.querySelector("#welcome .welcome-name")?.textContent || "").trim() !== "")
    .catch(() => {
      throw new Error(`${label}: #welcome never named the user`);
    });
  return (await page.locator("#welcome .welcome-name").textContent()).trim();
}

function memberNames(page) {
  return page.evaluate(() => Array.from(document.querySelectorAll("#members li")).map((li) => (li.dataset.name || li.textContent).trim()));
}

async function waitMember(page, name, present, what) {
  await page
    .waitForFunction(
      ([n, want]) => Array.from(document.querySelectorAll("#members li")).some((li) => (li.dataset.name || "").trim() === n) === want,
      [name, present],
    )
    .catch(async () => {
      throw new Error(`${what}: #members ${present ? "never listed" : "still lists"} ${name} (lists ${JSON.stringify(await memberNames(page))})`);
    });
}

function messageTexts(page) {
  return page.evaluate(() => Array.from(document.querySelectorAll("#messages li.message .text")).map((n) => n.textContent));
}

async function waitMessages(page, texts, what, timeout = STEP_TIMEOUT_MS) {
  await page
    .waitForFunction((want) => {
      const shown = Array.from(document.querySelectorAll("#messages li.message .text")).map((n) => n.textContent);
      return want.every((t) => shown.includes(t));
    }, texts, { timeout })
    .catch(async () => {
      throw new Error(`${what}: #messages never showed ${JSON.stringify(texts)} within ${timeout} ms (shows ${JSON.stringify((await messageTexts(page)).slice(-8))})`);
    });
}

async function send(page, text) {
  await page.fill('#message-form input[name="text"]', text);
  await page.press('#message-form input[name="text"]', "Enter");
}

// ---------------------------------------------------------------------------

async function scenario(h, baseUrl, relay) {
  const tag = freshTag();
  const [a, b] = await pagesAB(h);
  // Keep a handle on the page's sockets (io() is wrapped as soon as socket.io.js defines it), to
  // report whether the session was recovered.
  await a.addInitScript(() => {
    let real;
    Object.defineProperty(window, "io", {
      configurable: true,
      get: () => real,
      set(v) {
        real = function () {
          const s = v.apply(this, arguments);
          (window.__e2eSockets = window.__e2eSockets || []).push(s);
          return s;
        };
        Object.assign(real, v);
      },
    });
  });

  h.step(`A opens /chat through its own network (${relay.url}), B directly`);
  await Promise.all([goto(a, new URL("/chat", relay.url).toString()), goto(b, new URL("/chat", baseUrl).toString())]);
  const [nameA, nameB] = await Promise.all([welcomeName(a, "A"), welcomeName(b, "B")]);
  await Promise.all([waitConnState(a, "connected", "A"), waitConnState(b, "connected", "B")]);
  await Promise.all([waitForChatJoined(a, "lobby", "A"), waitForChatJoined(b, "lobby", "B")]);
  await waitMember(b, nameA, true, "B's members");
  await waitMember(a, nameB, true, "A's members");
  const hello = `before the outage ${tag}`;
  await send(b, hello);
  await waitMessages(a, [hello], "A");
  await a.evaluate(() => {
    window.__e2eMarker = "still-here";
  });
  h.step(`A is ${nameA}, B is ${nameB}: both in lobby`);

  h.step("A goes offline (DevTools network emulation; the relay drops A's open connections)");
  await a.context().setOffline(true);
  const dropped = relay.down();
  assert(dropped > 0, "A had no open connection to drop");
  assert((await a.evaluate(() => navigator.onLine)) === false, "A: navigator.onLine is still true");
  await waitConnState(a, "reconnecting", "A while offline");
  const status = await connState(a);
  assert(status.text === "reconnecting…", `A's status reads ${JSON.stringify(status.text)}, expected "reconnecting…"`);
  const roomState = ((await a.locator("#room-state").textContent()) || "").trim();
  assert(roomState === "reconnecting…", `A's #room-state reads ${JSON.stringify(roomState)}`);
  assert(await a.locator('#message-form input[name="text"]').isDisabled(), "A's message box is enabled while offline");
  await waitMember(b, nameA, false, "B's members once the server noticed A is gone");
  await h.screenshot(a, "offline-reconnecting.png");

  const missed = [`while A was away 1 ${tag}`, `while A was away 2 ${tag}`];
  h.step("B sends two messages while A is offline");
  for (const text of missed) {
    await send(b, text);
    await waitMessages(b, [text], "B's own messages");
  }
  assert((await messageTexts(a)).every((t) => !missed.includes(t)), "A shows a message sent while it was offline");

  h.step("A comes back online");
  await a.context().setOffline(false);
  relay.up();
  await waitConnState(a, "connected", "A back online", RECONNECT_TIMEOUT_MS);
  await waitMessages(a, missed, "A after coming back");
  await waitForChatJoined(a, "lobby", "A after coming back");
  await a.waitForTimeout(500); // a duplicate would show up by now
  const shown = await messageTexts(a);
  for (const text of [hello, ...missed]) {
    const copies = shown.filter((t) => t === text).length;
    assert(copies === 1, `A shows ${JSON.stringify(text)} ${copies} times`);
  }
  const order = [hello, ...missed].map((t) => shown.indexOf(t));
  assert(order.every((v, i) => i === 0 || v > order[i - 1]), `A shows the messages out of order: ${JSON.stringify(shown.slice(-5))}`);
  const marker = await a.evaluate(() => window.__e2eMarker).catch(() => null);
  assert(marker === "still-here", "A's page was reloaded");
  const recovered = await a.evaluate(() => (window.__e2eSockets || []).map((s) => s.recovered));
  h.step(`A shows both missed messages once, in order (socket.recovered: ${JSON.stringify(recovered)})`);

  await waitMember(b, nameA, true, "B's members after A came back");
  const fromA = `A is back ${tag}`;
  await send(a, fromA);
  await waitMessages(b, [fromA], "B, from A after the outage");
  const copies = (await messageTexts(a)).filter((t) => t === fromA).length;
  assert(copies === 1, `A shows its own message ${copies} times`);
  h.check();
  await h.screenshot(a, "offline-caught-up.png");

  // The same outage once more, but the server no longer knows A's session when A comes back (as past
  // the recovery window, or after a server restart): simulated by making A's socket forget its pid,
  // so it comes back with one the server never gave out. The page must catch up from storage
  // (chat:join with `after`).
  h.step("second outage, this time the session cannot be recovered");
  await a.evaluate((t) => {
    for (const s of window.__e2eSockets || []) s._pid = `forgotten-${t}`;
  }, tag);
  await a.context().setOffline(true);
  assert(relay.down() > 0, "A had no open connection to drop (second outage)");
  await waitConnState(a, "reconnecting", "A while offline (second outage)");
  await waitMember(b, nameA, false, "B's members once the server noticed A is gone again");
  const missedAgain = [`second outage 1 ${tag}`, `second outage 2 ${tag}`];
  for (const text of missedAgain) {
    await send(b, text);
    await waitMessages(b, [text], "B's own messages");
  }
  await a.context().setOffline(false);
  relay.up();
  await waitConnState(a, "connected", "A back online (second outage)", RECONNECT_TIMEOUT_MS);
  await waitMessages(a, missedAgain, "A after the second outage");
  await waitForChatJoined(a, "lobby", "A after the second outage");
  await a.waitForTimeout(500);
  const shownAgain = await messageTexts(a);
  const all = [hello, ...missed, fromA, ...missedAgain];
  for (const text of all) {
    const n = shownAgain.filter((t) => t === text).length;
    assert(n === 1, `A shows ${JSON.stringify(text)} ${n} times after the second outage`);
  }
  const orderAgain = all.map((t) => shownAgain.indexOf(t));
  assert(orderAgain.every((v, i) => i === 0 || v > orderAgain[i - 1]), `A shows the messages out of order: ${JSON.stringify(shownAgain.slice(-7))}`);
  const recoveredAgain = await a.evaluate(() => (window.__e2eSockets || []).map((s) => s.recovered));
  assert(recoveredAgain.every((r) => r === false), `socket.recovered after an unknown pid: ${JSON.stringify(recoveredAgain)}`);
  assert((await a.evaluate(() => window.__e2eMarker).catch(() => null)) === "still-here", "A's page was reloaded");
  // A fresh session of a guest gets a fresh guest name (the page's #welcome shows it).
  await a.waitForFunction((old) => {
    const n = (document.querySelector("#welcome .welcome-name")?.textContent || "").trim();
    return n && n !== old;
  }, nameA, { timeout: 3000 }).catch(() => {});
  const nameA2 = await welcomeName(a, "A after the second outage");
  await waitMember(b, nameA2, true, "B's members after A came back again");
  await waitMember(a, nameA2, true, "A's members after it came back again");
  h.step("not recovered: A caught up from storage, each message once, in order");
  h.check();
}
