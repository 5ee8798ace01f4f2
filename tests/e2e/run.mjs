#!/usr/bin/env node
// End-to-end tests: drive Agora's web pages in Debian's headless Chromium with playwright-core.
//
//   node tests/e2e/run.mjs <scenario> <baseUrl> [screenshotDir]
//
// Scenarios: home, register-login, chat, board, feed, trades, offline (the last two in scenarios/),
// deflate (needs a server with --per-message-deflate, so not in "all"),
// all (every one, in that order). Prints progress lines starting with "# ", then "ok <scenario>"
// (exit 0) or "FAIL <scenario>: <reason>" followed by the browser log (exit 1). Every wait has a
// timeout, each scenario has a hard limit, and a watchdog ends the process in any case, so the
// script never hangs. Never downloads a browser: it uses $CHROMIUM or /usr/bin/chromium.

import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import { fileURLToPath } from "node:url";
import { run as scenarioTrades } from "./scenarios/trades.mjs";
import { run as scenarioOffline } from "./scenarios/offline.mjs";
import {
  STEP_TIMEOUT_MS,
  assert,
  expectSameDocument,
  freshPassword,
  freshTag,
  markDocument,
  pagesAB,
  waitForChatJoined,
} from "./page_helpers.mjs";

const SCENARIO_TIMEOUT_MS = 30_000; // hard limit per scenario (unless SCENARIO_LIMITS_MS says otherwise)
const SCENARIO_LIMITS_MS = { chat: 45_000, board: 45_000, feed: 45_000, trades: 60_000, offline: 60_000 }; // two browsers each
const SERVER_WAIT_MS = 15_000; // how long to wait for the server to answer at all
const LAUNCH_TIMEOUT_MS = 20_000;

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
  "--disable-dev-shm-usage",
];

// ---------------------------------------------------------------------------
// helpers

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function waitForServer(baseUrl) {
  const deadline = Date.now() + SERVER_WAIT_MS;
  let last;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(new URL("/", baseUrl), { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status < 500) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = e.cause?.code || e.message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`server at ${baseUrl} did not answer within ${SERVER_WAIT_MS} ms (${last})`);
}

/** One scenario run: owns its browser contexts, collects the browser's log, fails on page errors. */
class Ctx {
  constructor(name, browser, baseUrl, shotDir) {
    Object.assign(this, { name, browser, baseUrl, shotDir, contexts: [], log: [], problems: [] });
  }

  step(line) {
    console.log(`# [${this.name}] ${line}`);
  }

  url(p) {
    return new URL(p, this.baseUrl).toString();
  }

  async page(label, viewport = DESKTOP, extra = {}) {
    const context = await this.browser.newContext({ viewport, ...extra });
    context.setDefaultTimeout(STEP_TIMEOUT_MS);
    context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
    this.contexts.push(context);
    const page = await context.newPage();
    page.on("console", (m) => this.log.push(`[${label}] console.${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => {
      this.log.push(`[${label}] page error: ${e.message}`);
      this.problems.push(`uncaught error in the page (${label}): ${e.message}`);
    });
    page.on("dialog", (d) => {
      this.problems.push(`unexpected dialog (${label}): ${d.type()} ${d.message()}`);
      d.dismiss().catch(() => {});
    });
    page.on("requestfailed", (r) => this.log.push(`[${label}] request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`));
    page.on("response", (r) => {
      const type = r.request().resourceType();
      this.log.push(`[${label}] ${r.status()} ${r.request().method()} ${r.url()}`);
      // A page's own assets must all load: no unstyled or half-scripted pages.
      if (r.status() >= 400 && ["stylesheet", "script", "image", "font"].includes(type)) {
        this.problems.push(`asset failed to load (${label}): HTTP ${r.status()} ${r.url()}`);
      }
    });
    page.on("framenavigated", (f) => {
      if (f === page.mainFrame()) this.log.push(`[${label}] navigated to ${f.url()}`);
    });
    return page;
  }

  /** Raise the first problem seen by the page listeners. */
  check() {
    if (this.problems.length) throw new Error(this.problems[0]);
  }

  async screenshot(page, file) {
    const target = path.join(this.shotDir, file);
    await page.screenshot({ path: target, fullPage: true, animations: "disabled" });
    this.step(`screenshot ${target}`);
  }

  async close() {
    for (const c of this.contexts) await c.close().catch(() => {});
    this.contexts = [];
  }
}

// page checks ---------------------------------------------------------------

async function goto(ctx, page, p) {
  const res = await page.goto(ctx.url(p), { waitUntil: "load" });
  assert(res, `no response for ${p}`);
  assert(res.status() < 400, `GET ${p} answered HTTP ${res.status()}`);
  return res;
}

/** Click a form's submit button and wait until the resulting page has loaded. */
async function submit(page, formSelector) {
  const navigated = page.waitForEvent("framenavigated", {
    predicate: (f) => f === page.mainFrame(),
  });
  await page.click(`${formSelector} [type="submit"]`);
  await navigated;
  await page.waitForLoadState("load");
}

function pathname(page) {
  return new URL(page.url()).pathname;
}

/** The stylesheet is applied and nothing sticks out sideways (checked at the current viewport). */
async function checkLayout(page, label) {
  const r = await page.evaluate(() => {
    const header = document.querySelector(".site-header");
    const brand = document.querySelector(".site-header .brand");
    return {
      header: !!header,
      headerPosition: header ? getComputedStyle(header).position : null,
      brand: brand ? brand.textContent.trim() : null,
      viewport: document.querySelector('meta[name="viewport"]')?.getAttribute("content") || null,
      navLinks: Array.from(document.querySelectorAll(".site-nav a")).map((a) => a.getAttribute("href")),
      scrollWidth: Math.max(document.documentElement.scrollWidth, document.body.scrollWidth),
      innerWidth: window.innerWidth,
      hasIo: typeof window.io === "function",
      hasAgora: typeof window.Agora === "object" && typeof window.Agora.trackConnection === "function",
    };
  });
  assert(r.header, `${label}: no .site-header`);
  assert(r.headerPosition === "sticky", `${label}: agora.css is not applied (header position ${r.headerPosition})`);
  assert(r.brand === "Agora", `${label}: brand reads ${JSON.stringify(r.brand)}`);
  assert(r.viewport && r.viewport.includes("width=device-width"), `${label}: no responsive viewport meta`);
  for (const href of ["/", "/chat", "/board", "/feed", "/trades"]) {
    assert(r.navLinks.includes(href), `${label}: nav has no link to ${href} (has ${r.navLinks.join(" ")})`);
  }
  assert(r.hasIo, `${label}: /socket.io/socket.io.js did not define io()`);
  assert(r.hasAgora, `${label}: /static/js/common.js did not define Agora.trackConnection`);
  // On a phone-sized page, too-wide content would also widen the layout viewport: compare
  // with the width we asked for, not only with innerWidth.
  const width = page.viewportSize().width;
  assert(
    r.scrollWidth <= width + 1 && r.innerWidth <= width + 1,
    `${label}: page is wider than the ${width}px viewport (content ${r.scrollWidth}px, layout ${r.innerWidth}px)`,
  );
}

async function waitForWelcome(page) {
  await page
    .waitForFunction(() => (document.getElementById("welcome")?.textContent || "").includes("thanks for joining"))
    .catch(async () => {
      const text = await page.locator("#welcome").textContent().catch(() => null);
      throw new Error(`#welcome never showed "thanks for joining" (it shows ${JSON.stringify(text)})`);
    });
}

/** Names shown in #online: each item's data-name, or its text. */
function onlineNames(page) {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll("#online li")).map((li) => (li.dataset.name || li.textContent).trim()),
  );
}

/** Wait until #online lists a name equal to `want.exact`, or starting with `want.prefix`. */
async function waitForOnline(page, want, what) {
  await page
    .waitForFunction((w) => {
      const names = Array.from(document.querySelectorAll("#online li")).map((li) =>
        (li.dataset.name || li.textContent).trim(),
      );
      return names.some((n) => (w.exact !== undefined ? n === w.exact : n.startsWith(w.prefix)));
    }, want)
    .catch(async () => {
      throw new Error(`#online never listed ${what} (it lists ${JSON.stringify(await onlineNames(page))})`);
    });
}

async function waitForConnected(page) {
  await page.waitForSelector('#conn-status[data-state="connected"]', { state: "visible" }).catch(async () => {
    const state = await page.locator("#conn-status").getAttribute("data-state").catch(() => null);
    throw new Error(`#conn-status never showed "connected" (state ${JSON.stringify(state)})`);
  });
}

async function expectSignedOut(page, label) {
  assert((await page.locator("#current-user").count()) === 0, `${label}: #current-user is still shown`);
  assert((await page.locator("#logout-form").count()) === 0, `${label}: #logout-form is still shown`);
  for (const href of ["/login", "/register"]) {
    const n = await page.locator(`.site-header a[href="${href}"]`).count();
    assert(n > 0, `${label}: the header has no link to ${href}`);
  }
}

async function expectSignedIn(page, name, label) {
  const shown = await page
    .locator("#current-user")
    .textContent({ timeout: 2000 })
    .catch(() => null);
  assert(shown !== null, `${label}: no #current-user on ${page.url()}`);
  assert(shown.trim() === name, `${label}: #current-user shows ${JSON.stringify(shown)}, expected ${JSON.stringify(name)}`);
  assert((await page.locator("#logout-form").count()) === 1, `${label}: no #logout-form`);
  const csrf = await page.locator('#logout-form input[name="csrf_token"]').getAttribute("value");
  assert(csrf, `${label}: #logout-form has no csrf_token value`);
}

/** Fill and submit the login or register form. */
async function fillAuth(page, formId, username, password) {
  const form = `#${formId}`;
  assert((await page.locator(form).count()) === 1, `no ${form} on ${page.url()}`);
  const csrf = await page.locator(`${form} input[name="csrf_token"]`).getAttribute("value");
  assert(csrf, `${form} has no csrf_token value`);
  await page.fill(`${form} input[name="username"]`, username);
  await page.fill(`${form} input[name="password"]`, password);
}

// ---------------------------------------------------------------------------
// scenarios

async function scenarioHome(ctx) {
  const page = await ctx.page("desktop");
  ctx.step("GET / (desktop 1280x800)");
  await goto(ctx, page, "/");
  await checkLayout(page, "home");
  await expectSignedOut(page, "home as a guest");
  for (const href of ["/chat", "/board", "/feed", "/trades"]) {
    const n = await page.locator(`#main a[href="${href}"]`).count();
    assert(n > 0, `home: no card linking to ${href}`);
  }
  ctx.step("waiting for the welcome message over the socket");
  await waitForWelcome(page);
  ctx.step("waiting for a guest in #online");
  await waitForOnline(page, { prefix: "guest-" }, 'a name starting with "guest-"');
  await waitForConnected(page);
  const guests = await page.locator("#online li .badge-guest").count();
  assert(guests > 0, "home: guests in #online carry no guest badge");
  ctx.check();
  await ctx.screenshot(page, "home.png");

  const phone = await ctx.page("phone", PHONE, { isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  ctx.step("GET / (phone 390x844)");
  await goto(ctx, phone, "/");
  await waitForWelcome(phone);
  await waitForOnline(phone, { prefix: "guest-" }, 'a name starting with "guest-"');
  await checkLayout(phone, "home on a phone");
  ctx.check();
  await ctx.screenshot(phone, "home-phone.png");

  ctx.step("GET a page that does not exist");
  const res = await page.goto(ctx.url("/no-such-page-" + crypto.randomBytes(3).toString("hex")), { waitUntil: "load" });
  assert(res && res.status() === 404, `unknown page: HTTP ${res && res.status()}, expected 404`);
  const status = ((await page.locator("#error-status").textContent({ timeout: 2000 }).catch(() => "")) || "").trim();
  assert(status === "404", `unknown page: #error-status shows ${JSON.stringify(status)}`);
  await checkLayout(page, "error page");
  ctx.check();
  await ctx.screenshot(page, "error-404.png");
}

async function scenarioRegisterLogin(ctx) {
  // As long as a name may be (24): long unbroken names must not break the layout.
  const username = "e2e_" + crypto.randomBytes(10).toString("hex");
  const password = freshPassword();
  const page = await ctx.page("desktop");

  ctx.step(`register ${username}`);
  await goto(ctx, page, "/register");
  await checkLayout(page, "register");
  await fillAuth(page, "register-form", username, password);
  await ctx.screenshot(page, "register.png");
  await submit(page, "#register-form");
  assert(pathname(page) === "/", `after registering: landed on ${page.url()}, expected /`);
  await expectSignedIn(page, username, "after registering");
  await waitForWelcome(page);
  await waitForOnline(page, { exact: username }, username);
  await waitForConnected(page);
  ctx.check();
  await ctx.screenshot(page, "home-logged-in.png");
  await page.setViewportSize(PHONE);
  await checkLayout(page, "home signed in, phone-sized");
  await page.setViewportSize(DESKTOP);

  ctx.step("log out");
  await submit(page, "#logout-form");
  await expectSignedOut(page, "after logging out");

  ctx.step(`log in as ${username}`);
  await goto(ctx, page, "/login");
  await checkLayout(page, "login");
  await fillAuth(page, "login-form", username, password);
  await ctx.screenshot(page, "login.png");
  await submit(page, "#login-form");
  assert(pathname(page) === "/", `after logging in: landed on ${page.url()}, expected /`);
  await expectSignedIn(page, username, "after logging in");
  await waitForWelcome(page);
  ctx.check();

  ctx.step("log out, then log in with a wrong password");
  await submit(page, "#logout-form");
  await expectSignedOut(page, "after logging out again");
  await goto(ctx, page, "/login");
  await fillAuth(page, "login-form", username, password + "-wrong");
  await submit(page, "#login-form");
  assert(pathname(page) === "/login", `wrong password: landed on ${page.url()}, expected /login`);
  await page.waitForSelector("#form-error", { state: "visible", timeout: 2000 }).catch(() => {
    throw new Error("wrong password: no visible #form-error");
  });
  const error = ((await page.locator("#form-error").textContent()) || "").trim();
  assert(error.length > 0, "wrong password: #form-error is empty");
  await expectSignedOut(page, "after a wrong password");
  assert((await page.locator("#login-form").count()) === 1, "wrong password: the login form is gone");
  ctx.check();
  await ctx.screenshot(page, "login-error.png");

  // Whatever the server echoes back (refilled username, error text) must arrive escaped.
  ctx.step("markup in the username is shown as text, not run");
  await page.evaluate(() => {
    document.getElementById("login-form").noValidate = true;
  });
  await fillAuth(page, "login-form", '<img id="xss-probe" src="x">"\'&', "whatever-123");
  const posted = page.waitForResponse(
    (r) => r.request().method() === "POST" && new URL(r.url()).pathname === "/login",
  );
  await submit(page, "#login-form");
  const status = (await posted).status();
  assert(status < 500, `login with markup in the username: HTTP ${status}`);
  const probe = await page.locator("#xss-probe").count();
  assert(probe === 0, "login with markup in the username: the markup was rendered as HTML (not escaped)");
  ctx.check();
}

// helpers for the app pages -----------------------------------------------------

/** The trimmed texts of the elements matching `selector`. */
function textsOf(page, selector) {
  return page.evaluate(
    (sel) => Array.from(document.querySelectorAll(sel)).map((n) => (n.textContent || "").trim()),
    selector,
  );
}

/** Wait until some element matching `selector` reads exactly `text` (trimmed). */
async function waitForText(page, selector, text, what, timeout = STEP_TIMEOUT_MS) {
  await page
    .waitForFunction(
      ([sel, t]) => Array.from(document.querySelectorAll(sel)).some((n) => (n.textContent || "").trim() === t),
      [selector, text],
      { timeout },
    )
    .catch(async () => {
      const shown = (await textsOf(page, selector).catch(() => [])).slice(-6);
      throw new Error(`${what}: ${selector} never read ${JSON.stringify(text)} within ${timeout} ms (shows ${JSON.stringify(shown)})`);
    });
}

/** The user name the server greeted this page with (in #welcome). */
async function welcomeName(page) {
  await waitForWelcome(page);
  const name = ((await page.locator("#welcome .welcome-name").textContent().catch(() => "")) || "").trim();
  assert(name, "#welcome names no user");
  return name;
}

/** Names in a user list (each item's data-name, or its text). */
function listNames(page, selector) {
  return page.evaluate(
    (sel) => Array.from(document.querySelectorAll(`${sel} li`)).map((li) => (li.dataset.name || li.textContent).trim()),
    selector,
  );
}

async function waitForName(page, selector, name, present, what) {
  await page
    .waitForFunction(
      ([sel, n, want]) =>
        Array.from(document.querySelectorAll(`${sel} li`)).some((li) => (li.dataset.name || li.textContent).trim() === n) === want,
      [selector, name, present],
    )
    .catch(async () => {
      throw new Error(
        `${what}: ${selector} ${present ? "never listed" : "still lists"} ${JSON.stringify(name)} (it lists ${JSON.stringify(await listNames(page, selector))})`,
      );
    });
}

async function expectNoProbe(page, id, what) {
  assert((await page.locator(`#${id}`).count()) === 0, `${what}: markup from a user was rendered as HTML (#${id} exists)`);
}

async function waitForLoaded(page, listSelector, what) {
  await page.waitForSelector(`${listSelector}[data-state="loaded"]`, { state: "attached" }).catch(async () => {
    const state = await page.locator(listSelector).getAttribute("data-state").catch(() => null);
    const status = await page.locator(".board-status, .feed-status").first().textContent().catch(() => null);
    throw new Error(`${what}: ${listSelector} never loaded (state ${JSON.stringify(state)}, status ${JSON.stringify(status)})`);
  });
}

/** The member count that #room-list shows for `room`, or null. */
function roomCount(page, room) {
  return page.evaluate((r) => {
    const li = Array.from(document.querySelectorAll("#room-list li[data-room]")).find((n) => n.dataset.room === r);
    const c = li && li.querySelector(".count");
    return c ? Number(c.textContent.trim()) : null;
  }, room);
}

/** Wait until #room-list shows `room` with a count of at least `want.min` or exactly `want.exact`. */
async function waitForRoomCount(page, room, want, what) {
  await page
    .waitForFunction(
      ([r, w]) => {
        const li = Array.from(document.querySelectorAll("#room-list li[data-room]")).find((n) => n.dataset.room === r);
        const c = li && li.querySelector(".count");
        if (!c) return false;
        const n = Number(c.textContent.trim());
        return w.exact !== undefined ? n === w.exact : n >= w.min;
      },
      [room, want],
    )
    .catch(async () => {
      throw new Error(`${what}: #room-list never showed ${room} with ${JSON.stringify(want)} members (count ${await roomCount(page, room)})`);
    });
}

/** Register through the form in this page's browser context (signed in afterwards). */
async function registerAs(ctx, page, username, password, label) {
  await goto(ctx, page, "/register");
  await fillAuth(page, "register-form", username, password);
  await submit(page, "#register-form");
  assert(pathname(page) === "/", `${label}: after registering landed on ${page.url()}, expected /`);
  await expectSignedIn(page, username, label);
}

// scenarios of the apps ---------------------------------------------------------

/** Pages A and B both on the page `/<name>`, A's layout checked. */
async function openAB(ctx, name, step) {
  const [a, b] = await pagesAB(ctx);
  ctx.step(step);
  await Promise.all([goto(ctx, a, `/${name}`), goto(ctx, b, `/${name}`)]);
  await checkLayout(a, name);
  return [a, b];
}

async function scenarioChat(ctx) {
  const tag = freshTag();
  const [a, b] = await openAB(ctx, "chat", "A and B (two browsers, separate cookies) open /chat");
  const [nameA, nameB] = await Promise.all([welcomeName(a), welcomeName(b)]);
  await Promise.all([waitForConnected(a), waitForConnected(b)]);
  ctx.step(`A is ${nameA}, B is ${nameB}: both auto-join lobby`);
  await waitForChatJoined(a, "lobby", "A");
  await waitForChatJoined(b, "lobby", "B");
  await waitForName(b, "#members", nameA, true, "B's members");
  await waitForName(a, "#members", nameB, true, "A's members");
  await waitForRoomCount(b, "lobby", { min: 2 }, "B's room list");
  await markDocument(b);

  const text = `Hello from A ${tag} <b id="xss-chat">not bold</b> & "quoted"`;
  ctx.step("A types: B sees the typing indicator");
  await a.fill('#message-form input[name="text"]', text);
  await b
    .waitForFunction((n) => (document.getElementById("typing")?.textContent || "").includes(n), nameA, { timeout: 5000 })
    .catch(async () => {
      throw new Error(`B's #typing never mentioned ${nameA} (it shows ${JSON.stringify(await b.locator("#typing").textContent())})`);
    });

  ctx.step("A sends: the message shows for B and A");
  await a.press('#message-form input[name="text"]', "Enter");
  await waitForText(b, "#messages li.message .text", text, "B's messages");
  const seenByB = await b.evaluate((t) => {
    const li = Array.from(document.querySelectorAll("#messages li.message")).find((n) => n.querySelector(".text")?.textContent === t);
    return { user: li?.querySelector(".user")?.textContent.trim(), time: li?.querySelector(".time")?.textContent.trim() };
  }, text);
  assert(seenByB.user === nameA, `B shows the message by ${JSON.stringify(seenByB.user)}, expected ${nameA}`);
  assert(seenByB.time, "B shows the message without a .time");
  await waitForText(a, "#messages li.message .text", text, "A's own messages");
  const copies = (await textsOf(a, "#messages li.message .text")).filter((t) => t === text).length;
  assert(copies === 1, `A shows its own message ${copies} times`);
  assert((await a.inputValue('#message-form input[name="text"]')) === "", "A's message box was not cleared after sending");
  await b
    .waitForFunction(() => (document.getElementById("typing")?.textContent || "") === "", null, { timeout: 5000 })
    .catch(() => {
      throw new Error("B's typing indicator did not go away after A's message");
    });
  await expectNoProbe(a, "xss-chat", "A's chat");
  await expectNoProbe(b, "xss-chat", "B's chat");
  await expectSameDocument(b, "B's chat");
  ctx.check();
  await ctx.screenshot(a, "chat-a.png");
  await ctx.screenshot(b, "chat-b.png");

  ctx.step("B answers: A sees it");
  const reply = `Hi A, B here ${tag}`;
  await b.fill('#message-form input[name="text"]', reply);
  await b.click('#message-form [type="submit"]');
  await waitForText(a, "#messages li.message .text", reply, "A's messages");

  const room = `e2e-${tag}`;
  ctx.step(`B moves to the new room #${room}: A sees B leave lobby and the new room in the list`);
  await b.fill('#join-form input[name="room"]', room);
  await b.press('#join-form input[name="room"]', "Enter");
  await waitForChatJoined(b, room, "B");
  await waitForName(a, "#members", nameB, false, "A's members after B left");
  await waitForRoomCount(a, room, { exact: 1 }, "A's room list");
  const inNewRoom = await textsOf(b, "#messages li.message .text");
  assert(!inNewRoom.includes(text), "B still shows lobby's messages in the new room");

  ctx.step("back to lobby by clicking it in the room list: the history is there");
  await b.click('#room-list li[data-room="lobby"] button, #room-list li[data-room="lobby"]');
  await waitForChatJoined(b, "lobby", "B");
  await waitForText(b, "#messages li.message .text", text, "B's lobby history");
  await waitForName(a, "#members", nameB, true, "A's members after B came back");

  await b.setViewportSize(PHONE);
  await checkLayout(b, "chat, phone-sized");
  ctx.check();
}

async function scenarioBoard(ctx) {
  const tag = freshTag();
  const [a, b] = await openAB(ctx, "board", "A and B open /board");
  await Promise.all([waitForConnected(a), waitForConnected(b)]);
  await Promise.all([waitForLoaded(a, "#board-messages", "A"), waitForLoaded(b, "#board-messages", "B")]);
  await markDocument(b);

  ctx.step("A posts without a name: the page says why, nothing is sent");
  await a.fill('#board-form input[name="name"]', "");
  await a.fill('#board-form textarea[name="message"]', "no name");
  await a.click('#board-form [type="submit"]');
  await a.waitForSelector("#board-error", { state: "visible", timeout: 2000 }).catch(() => {
    throw new Error("posting without a name: no visible #board-error");
  });

  ctx.step("the API refuses an empty name with 400 bad_request");
  const refused = await a.evaluate(async () => {
    const res = await fetch("/messages", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name: "", message: "x" }),
    });
    return { status: res.status, body: await res.json().catch(() => null) };
  });
  assert(
    refused.status === 400 && refused.body?.error?.code === "bad_request",
    `POST /messages with an empty name: HTTP ${refused.status} ${JSON.stringify(refused.body)}, expected 400 bad_request`,
  );

  const name = `Ann <i id="xss-bname">${tag}</i>`;
  const message = `Notice ${tag}: <b id="xss-board">meeting</b> at 5 & bring "snacks"\nsecond line`;
  ctx.step("A posts a note: it shows for B without a reload");
  await a.fill('#board-form input[name="name"]', name);
  await a.fill('#board-form textarea[name="message"]', message);
  const posted = a.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname === "/messages");
  await a.click('#board-form [type="submit"]');
  const res = await posted;
  assert(res.status() === 201, `POST /messages answered HTTP ${res.status()}, expected 201`);
  const stored = await res.json();
  assert(stored && stored.id !== undefined && stored.name === name && stored.message === message, `POST /messages returned ${JSON.stringify(stored)}`);
  const item = `#board-messages li[data-id="${stored.id}"]`;
  await b.waitForSelector(item, { state: "visible" }).catch(() => {
    throw new Error(`B never showed note ${stored.id} (no ${item})`);
  });
  assert(((await b.locator(`${item} .name`).textContent()) || "").trim() === name, "B shows the note with another .name");
  assert((await b.locator(`${item} .message`).textContent()) === message, "B shows the note with another .message");
  assert(((await b.locator(`${item} .time`).textContent()) || "").trim(), "B shows the note without a .time");
  await expectSameDocument(b, "B's board");

  ctx.step("A shows its note once (from the answer and the broadcast)");
  await a.waitForSelector(item, { state: "visible" });
  await a.waitForTimeout(300); // let the broadcast copy arrive too
  assert((await a.locator(item).count()) === 1, `A shows note ${stored.id} ${await a.locator(item).count()} times`);
  assert(await a.locator("#board-error").isHidden(), "A still shows #board-error after a good post");
  assert((await a.inputValue('#board-form textarea[name="message"]')) === "", "A's message box was not cleared");
  for (const [p, who] of [[a, "A"], [b, "B"]]) {
    await expectNoProbe(p, "xss-board", `${who}'s board`);
    await expectNoProbe(p, "xss-bname", `${who}'s board`);
  }

  ctx.check();
  await ctx.screenshot(a, "board-a.png");
  await ctx.screenshot(b, "board-b.png");
  ctx.step("after a reload B still has the note (it is stored)");
  await goto(ctx, b, "/board");
  await waitForLoaded(b, "#board-messages", "B after a reload");
  assert((await b.locator(item).count()) === 1, "B lost the note after a reload");
  await b.setViewportSize(PHONE);
  await checkLayout(b, "board, phone-sized");
  ctx.check();
}

async function scenarioFeed(ctx) {
  const tag = freshTag();
  const password = freshPassword();
  const nameA = `feed_a_${tag}`;
  const nameB = `feed_b_${tag}`;
  const [a, b] = await pagesAB(ctx);

  ctx.step("a guest sees the feed but no compose form, and cannot post over the socket");
  await goto(ctx, b, "/feed");
  await checkLayout(b, "feed as a guest");
  assert((await b.locator("#tweet-form").count()) === 0, "guest: #tweet-form is shown");
  assert((await b.locator('#main a[href="/login"]').count()) > 0, "guest: no prompt to log in");
  const guestPost = await b.evaluate(
    () =>
      new Promise((resolve) => {
        const s = io({ forceNew: true });
        s.timeout(5000).emit("tweet:post", { text: "guest tweet" }, (err, res) => {
          s.disconnect();
          resolve(err ? { timeout: String(err.message || err) } : res);
        });
      }),
  );
  assert(
    guestPost && guestPost.ok === false && guestPost.error?.code === "unauthenticated",
    `tweet:post as a guest answered ${JSON.stringify(guestPost)}, expected an unauthenticated error`,
  );

  ctx.step(`register ${nameA} and ${nameB}, both open /feed`);
  await Promise.all([registerAs(ctx, a, nameA, password, "A"), registerAs(ctx, b, nameB, password, "B")]);
  await Promise.all([goto(ctx, a, "/feed"), goto(ctx, b, "/feed")]);
  await checkLayout(a, "feed");
  await Promise.all([waitForConnected(a), waitForConnected(b)]);
  await Promise.all([waitForLoaded(a, "#tweets", "A"), waitForLoaded(b, "#tweets", "B")]);
  assert((await a.locator("#tweet-form").count()) === 1, "A (signed in) has no #tweet-form");
  await markDocument(b);

  const first = `First post ${tag} <b id="xss-feed">not bold</b> & "quoted"`;
  ctx.step("A posts: it shows for A at once");
  await a.fill('#tweet-form textarea[name="text"]', first);
  const counter = ((await a.locator("#tweet-counter").textContent()) || "").trim();
  assert(counter === String(280 - [...first].length), `A's counter shows ${JSON.stringify(counter)}, expected ${280 - [...first].length}`);
  await a.click('#tweet-form [type="submit"]');
  await waitForText(a, "#tweets li.tweet .text", first, "A's own post", 3000);
  const own = await a.evaluate((t) => {
    const li = Array.from(document.querySelectorAll("#tweets li.tweet")).find((n) => n.querySelector(".text")?.textContent === t);
    return { id: li?.dataset.id, author: li?.querySelector(".author")?.textContent.trim(), time: li?.querySelector(".time")?.textContent.trim() };
  }, first);
  assert(own.id && own.author === nameA && own.time, `A's post shows as ${JSON.stringify(own)}`);
  assert((await a.inputValue('#tweet-form textarea[name="text"]')) === "", "A's compose box was not cleared");

  ctx.step('B gets a banner "1 new tweet", and the post is not in B\'s list yet');
  await waitForText(b, "#new-tweets-banner", "1 new tweet", "B's banner");
  assert(await b.locator("#new-tweets-banner").isVisible(), "B's #new-tweets-banner is not visible");
  assert(!(await textsOf(b, "#tweets li.tweet .text")).includes(first), "B's list shows the post before the banner was clicked");
  ctx.check();
  await ctx.screenshot(b, "feed-banner.png");

  const second = `Second post ${tag}`;
  ctx.step('A posts again: B\'s banner counts up to "2 new tweets"');
  await a.fill('#tweet-form textarea[name="text"]', second);
  await a.click('#tweet-form [type="submit"]');
  await waitForText(a, "#tweets li.tweet .text", second, "A's second post", 3000);
  await waitForText(b, "#new-tweets-banner", "2 new tweets", "B's banner");

  ctx.step("B clicks the banner: both posts show, newest first, and the banner goes");
  await b.click("#new-tweets-banner");
  await waitForText(b, "#tweets li.tweet .text", first, "B's list after the click");
  await waitForText(b, "#tweets li.tweet .text", second, "B's list after the click");
  await b.waitForSelector("#new-tweets-banner", { state: "hidden", timeout: 3000 }).catch(() => {
    throw new Error("B's #new-tweets-banner is still shown after the click");
  });
  const order = (await textsOf(b, "#tweets li.tweet .text")).filter((t) => t === first || t === second);
  assert(order.length === 2 && order[0] === second, `B shows the posts as ${JSON.stringify(order)}, expected the newest first once each`);
  const authorOnB = (await b.locator(`#tweets li.tweet[data-id="${own.id}"] .author`).textContent().catch(() => "")).trim();
  assert(authorOnB === nameA, `B shows the post's author as ${JSON.stringify(authorOnB)}`);
  for (const [p, who] of [[a, "A"], [b, "B"]]) await expectNoProbe(p, "xss-feed", `${who}'s feed`);
  await expectSameDocument(b, "B's feed");
  ctx.check();
  await ctx.screenshot(b, "feed-after-click.png");
  await ctx.screenshot(a, "feed-a.png");
  await a.setViewportSize(PHONE);
  await checkLayout(a, "feed, phone-sized");
  ctx.check();
}

/**
 * Against a server started with --per-message-deflate: a WebSocket opened by the page negotiates
 * permessage-deflate (Chromium compresses what it sends) and the Socket.IO CONNECT goes through.
 * Then the chat scenario's page works as usual (the test runs "chat" on such a server too).
 */
async function scenarioDeflate(ctx) {
  const page = await ctx.page("A");
  await goto(ctx, page, "/chat");
  ctx.step("a WebSocket from the page negotiates permessage-deflate and connects");
  const url = ctx.url("/socket.io/?EIO=4&transport=websocket").replace(/^http/, "ws");
  const r = await page.evaluate(async (url) => {
    const ws = new WebSocket(url);
    const next = () => new Promise((resolve, reject) => {
      ws.onmessage = (e) => resolve(e.data);
      ws.onclose = (e) => reject(new Error(`closed with ${e.code}`));
    });
    const open = next();
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new Error("WebSocket failed"));
    });
    const packet = await open;
    const connected = next();
    ws.send("40");
    const reply = await connected;
    ws.close();
    return { extensions: ws.extensions, open: packet.slice(0, 1), reply: reply.slice(0, 2) };
  }, url);
  assert(r.extensions.startsWith("permessage-deflate"), `negotiated ${JSON.stringify(r.extensions)}`);
  assert(r.open === "0", `open packet ${JSON.stringify(r.open)}`);
  assert(r.reply === "40" || r.reply === "44", `CONNECT answered with ${JSON.stringify(r.reply)}`);
  ctx.check();
}

const SCENARIOS = {
  home: scenarioHome,
  "register-login": scenarioRegisterLogin,
  chat: scenarioChat,
  deflate: scenarioDeflate,
  board: scenarioBoard,
  feed: scenarioFeed,
  trades: (ctx) =>
    scenarioTrades({ browser: ctx.browser, baseUrl: ctx.baseUrl, shotDir: ctx.shotDir, helpers: ctx }),
  offline: (ctx) =>
    scenarioOffline({ browser: ctx.browser, baseUrl: ctx.baseUrl, shotDir: ctx.shotDir, helpers: ctx }),
};

// ---------------------------------------------------------------------------
// main

function limitOf(name) {
  return SCENARIO_LIMITS_MS[name] || SCENARIO_TIMEOUT_MS;
}

async function runScenario(name, browser, baseUrl, shotDir) {
  const ctx = new Ctx(name, browser, baseUrl, shotDir);
  try {
    await withTimeout(SCENARIOS[name](ctx), limitOf(name), `scenario ${name}`);
    ctx.check();
    console.log(`ok ${name}`);
  } catch (e) {
    console.log(`# [${name}] browser log:`);
    for (const line of ctx.log.slice(-60)) console.log(`#   ${line}`);
    e.scenario = name;
    throw e;
  } finally {
    await withTimeout(ctx.close(), 5000, "closing contexts").catch(() => {});
  }
}

async function main() {
  const defaultShots = fileURLToPath(new URL("../../target/e2e-screenshots", import.meta.url));
  const [scenario, baseUrl = "http://127.0.0.1:3000", shotDir = defaultShots] = process.argv.slice(2);
  // "deflate" needs a server started with --per-message-deflate: only by name.
  const names = scenario === "all" ? Object.keys(SCENARIOS).filter((n) => n !== "deflate") : [scenario];
  if (!scenario || !names.every((n) => n in SCENARIOS)) {
    console.log(`usage: node run.mjs <${[...Object.keys(SCENARIOS), "all"].join("|")}> <baseUrl> [screenshotDir]`);
    console.log(`FAIL ${scenario || "(none)"}: unknown scenario`);
    process.exit(1);
  }

  // Whatever happens, never outlive the scenarios' budget (plus launch and server wait).
  const budget = names.reduce((sum, n) => sum + limitOf(n), 0) + SERVER_WAIT_MS + LAUNCH_TIMEOUT_MS + 10_000;
  setTimeout(() => {
    console.log(`FAIL ${scenario}: watchdog: the run took longer than ${budget} ms`);
    process.exit(1);
  }, budget).unref();

  fs.mkdirSync(shotDir, { recursive: true });
  const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
  let browser;
  try {
    await waitForServer(baseUrl);
    assert(fs.existsSync(executablePath), `no Chromium at ${executablePath} (apt-get install -y chromium, or set CHROMIUM)`);
    browser = await chromium.launch({
      executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: LAUNCH_TIMEOUT_MS,
    });
    console.log(`# chromium ${browser.version()}, base ${baseUrl}, screenshots in ${path.resolve(shotDir)}`);
    for (const name of names) await runScenario(name, browser, baseUrl, shotDir);
    if (scenario === "all") console.log("ok all");
  } catch (e) {
    const where = e.scenario && e.scenario !== scenario ? `${scenario} (${e.scenario})` : scenario;
    console.log(`FAIL ${where}: ${String(e.message || e).split("\n")[0]}`);
    process.exitCode = 1;
  } finally {
    if (browser) await withTimeout(browser.close(), 5000, "closing the browser").catch(() => {});
  }
  process.exit(process.exitCode || 0);
}

main();
