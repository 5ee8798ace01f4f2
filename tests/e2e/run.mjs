#!/usr/bin/env node
// End-to-end tests: drive Agora's web pages in Debian's headless Chromium with playwright-core.
//
//   node tests/e2e/run.mjs <scenario> <baseUrl> [screenshotDir]
//
// Scenarios: home, register-login, all (both, in order). Prints progress lines starting with
// "# ", then "ok <scenario>" (exit 0) or "FAIL <scenario>: <reason>" followed by the browser
// log (exit 1). Every wait has a timeout, each scenario has a hard limit, and a watchdog ends
// the process in any case, so the script never hangs. Never downloads a browser: it uses
// $CHROMIUM or /usr/bin/chromium.

import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import { fileURLToPath } from "node:url";

const SCENARIO_TIMEOUT_MS = 30_000; // hard limit per scenario
const STEP_TIMEOUT_MS = 10_000; // default wait for one thing on a page
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

function assert(cond, what) {
  if (!cond) throw new Error(what);
}

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
    this.name = name;
    this.browser = browser;
    this.baseUrl = baseUrl;
    this.shotDir = shotDir;
    this.contexts = [];
    this.log = [];
    this.problems = [];
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
  const password = "pw-" + crypto.randomBytes(9).toString("base64url");
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

const SCENARIOS = {
  home: scenarioHome,
  "register-login": scenarioRegisterLogin,
};

// ---------------------------------------------------------------------------
// main

async function runScenario(name, browser, baseUrl, shotDir) {
  const ctx = new Ctx(name, browser, baseUrl, shotDir);
  try {
    await withTimeout(SCENARIOS[name](ctx), SCENARIO_TIMEOUT_MS, `scenario ${name}`);
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
  const names = scenario === "all" ? Object.keys(SCENARIOS) : [scenario];
  if (!scenario || !names.every((n) => n in SCENARIOS)) {
    console.log(`usage: node run.mjs <${[...Object.keys(SCENARIOS), "all"].join("|")}> <baseUrl> [screenshotDir]`);
    console.log(`FAIL ${scenario || "(none)"}: unknown scenario`);
    process.exit(1);
  }

  // Whatever happens, never outlive the scenarios' budget (plus launch and server wait).
  const budget = names.length * SCENARIO_TIMEOUT_MS + SERVER_WAIT_MS + LAUNCH_TIMEOUT_MS + 10_000;
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
