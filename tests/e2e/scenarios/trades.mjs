// E2E scenario "trades": two people swap items on /trades, live, in two browser contexts.
//
//   export async function run({ browser, baseUrl, shotDir, helpers })
//
// - browser: a playwright-core Browser (chromium.launch(...));
// - baseUrl: e.g. "http://127.0.0.1:3300"; shotDir: where trades-a.png / trades-b.png go (must exist);
// - helpers (optional): run.mjs's scenario context `ctx` (a `Ctx`) can be passed as is. Used methods:
//     helpers.page(label, viewport?, extra?) → Page  (a new browser context, watched for page errors,
//                                                    dialogs and assets that fail to load)
//     helpers.step(line)                  progress line
//     helpers.check()                     throws the first problem the page listeners saw
//     helpers.screenshot(page, file)      full-page screenshot into shotDir
//   Without helpers the scenario does all of that itself (and closes the contexts it opened).
//
// To register it in run.mjs:
//
//   import { run as scenarioTrades } from "./scenarios/trades.mjs";
//   const SCENARIO_LIMITS_MS = { ..., trades: 60_000 };   // three browsers, several round trips
//   const SCENARIOS = { ..., trades: (ctx) => scenarioTrades({
//     browser: ctx.browser, baseUrl: ctx.baseUrl, shotDir: ctx.shotDir, helpers: ctx }) };
//
// What it checks: a guest on /trades gets a prompt to log in or register and no trading UI. A and B
// register through /register and open /trades: each #inventory shows 6 li.item[data-id] with a
// colour swatch, a name and a rarity badge. Send with nothing chosen shows #offer-error. A loads B's
// inventory (#partner-name + #load-partner: the same ids B sees as its own), selects one of its items
// and one of B's (class "selected"), writes a note with markup and sends: the offer shows in A's
// #outgoing and, live, in B's #incoming with its items, the note as text and Accept/Decline. A sends
// a second offer with the same item of A's. B accepts the first: both pages, without a reload, move
// it to #trade-history as accepted and the second one as invalid (with a notice), A's #inventory now
// has B's item and not its own, B's the reverse, and A's #partner-inventory shows the swap too.
// Screenshots trades-a.png, trades-b.png. Then a refused offer: C takes one of B's items in a trade
// A does not see, A (whose view of B is stale) asks for it and #offer-error shows the server's
// message, and A's view of B is re-read. Last, B declines an offer and A cancels one, each live on
// both sides; the page fits a phone-sized screen (trades-phone.png).
// It leaves three accounts `trd_{a,b,c}_<hex>` and a few trades behind: use a throwaway database.

import path from "node:path";
import { STEP_TIMEOUT_MS, assert, expectSameDocument, freshPassword, freshTag, markDocument, pagesAB } from "../page_helpers.mjs";

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const RARITIES = ["common", "uncommon", "rare", "legendary"];

/** Stand-ins for run.mjs's Ctx when the scenario runs on its own. */
function ownHelpers(browser, baseUrl, shotDir) {
  const contexts = [];
  const log = [];
  const problems = [];
  return {
    log,
    step(line) {
      console.log(`# [trades] ${line}`);
    },
    async page(label, viewport = DESKTOP, extra = {}) {
      const context = await browser.newContext({ viewport, ...extra });
      context.setDefaultTimeout(STEP_TIMEOUT_MS);
      context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
      contexts.push(context);
      const page = await context.newPage();
      page.on("console", (m) => log.push(`[${label}] console.${m.type()}: ${m.text()}`));
      page.on("pageerror", (e) => problems.push(`uncaught error in the page (${label}): ${e.message}`));
      page.on("dialog", (d) => {
        problems.push(`unexpected dialog (${label}): ${d.type()} ${d.message()}`);
        d.dismiss().catch(() => {});
      });
      page.on("response", (r) => {
        log.push(`[${label}] ${r.status()} ${r.request().method()} ${r.url()}`);
        if (r.status() >= 400 && ["stylesheet", "script", "image", "font"].includes(r.request().resourceType())) {
          problems.push(`asset failed to load (${label}): HTTP ${r.status()} ${r.url()}`);
        }
      });
      return page;
    },
    check() {
      if (problems.length) throw new Error(problems[0]);
    },
    async screenshot(page, file) {
      const target = path.join(shotDir, file);
      await page.screenshot({ path: target, fullPage: true, animations: "disabled" });
      console.log(`# [trades] screenshot ${target}`);
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => {});
    },
  };
}

export async function run({ browser, baseUrl, shotDir, helpers } = {}) {
  assert(browser && baseUrl && shotDir, "trades: run({ browser, baseUrl, shotDir }) needs all three");
  const own = helpers ? null : ownHelpers(browser, baseUrl, shotDir);
  const h = helpers || own;
  try {
    await scenario(h, baseUrl);
    h.check();
  } catch (e) {
    if (own) {
      console.log("# [trades] browser log:");
      for (const line of own.log.slice(-60)) console.log(`#   ${line}`);
    }
    throw e;
  } finally {
    if (own) await own.close();
  }
}

// ---------------------------------------------------------------------------
// page helpers

const url = (baseUrl, p) => new URL(p, baseUrl).toString();

async function goto(baseUrl, page, p) {
  const res = await page.goto(url(baseUrl, p), { waitUntil: "load" });
  assert(res && res.status() < 400, `GET ${p} answered HTTP ${res && res.status()}`);
}

async function register(baseUrl, page, username, password, label) {
  await goto(baseUrl, page, "/register");
  await page.fill('#register-form input[name="username"]', username);
  await page.fill('#register-form input[name="password"]', password);
  const navigated = page.waitForEvent("framenavigated", { predicate: (f) => f === page.mainFrame() });
  await page.click('#register-form [type="submit"]');
  await navigated;
  await page.waitForLoadState("load");
  assert(new URL(page.url()).pathname === "/", `${label}: after registering landed on ${page.url()}, expected /`);
  const shown = ((await page.locator("#current-user").textContent({ timeout: 2000 }).catch(() => "")) || "").trim();
  assert(shown === username, `${label}: #current-user shows ${JSON.stringify(shown)} after registering, expected ${username}`);
}

async function waitConnected(page, label) {
  await page.waitForSelector('#conn-status[data-state="connected"]', { state: "visible" }).catch(async () => {
    const state = await page.locator("#conn-status").getAttribute("data-state").catch(() => null);
    throw new Error(`${label}: #conn-status never showed "connected" (state ${JSON.stringify(state)})`);
  });
}

/** The items shown in a list: [{id, name, rarity, selected, swatch}] */
function itemsIn(page, selector) {
  return page.evaluate(
    (sel) =>
      Array.from(document.querySelectorAll(`${sel} li.item[data-id]`)).map((li) => {
        const sw = li.querySelector(".item-swatch");
        return {
          id: li.dataset.id,
          name: (li.querySelector(".item-name")?.textContent || "").trim(),
          rarity: (li.querySelector(".rarity-badge")?.textContent || "").trim(),
          selected: li.classList.contains("selected"),
          swatch: sw ? getComputedStyle(sw).backgroundColor : null,
          swatchWidth: sw ? sw.getBoundingClientRect().width : 0,
        };
      }),
    selector,
  );
}

async function idsIn(page, selector) {
  return (await itemsIn(page, selector)).map((i) => i.id);
}

/** Wait until `selector` holds li.item with all of `has` and none of `hasNot` (ids). */
async function waitItems(page, selector, { has = [], hasNot = [], count } = {}, what) {
  await page
    .waitForFunction(
      ([sel, yes, no, n]) => {
        const ids = Array.from(document.querySelectorAll(`${sel} li.item[data-id]`)).map((li) => li.dataset.id);
        return yes.every((i) => ids.includes(i)) && no.every((i) => !ids.includes(i)) && (n === null || ids.length === n);
      },
      [selector, has, hasNot, count ?? null],
    )
    .catch(async () => {
      throw new Error(
        `${what}: ${selector} never had ${JSON.stringify({ has, hasNot, count })} (it has ${JSON.stringify(await idsIn(page, selector))})`,
      );
    });
}

async function waitInventoryLoaded(page, label) {
  await page.waitForSelector('#inventory[data-state="loaded"]', { state: "attached" }).catch(async () => {
    const status = await page.locator("#inventory-status").textContent().catch(() => null);
    throw new Error(`${label}: #inventory never loaded (status ${JSON.stringify(status)})`);
  });
}

async function checkItems(items, label) {
  assert(items.length === 6, `${label}: #inventory shows ${items.length} items, a new account has 6`);
  for (const it of items) {
    assert(it.name, `${label}: item ${it.id} shows no .item-name`);
    assert(RARITIES.includes(it.rarity), `${label}: item ${it.id} shows rarity ${JSON.stringify(it.rarity)}`);
    assert(it.swatch && it.swatch !== "rgba(0, 0, 0, 0)" && it.swatchWidth > 8, `${label}: item ${it.id} has no colour swatch`);
  }
  assert(new Set(items.map((i) => i.id)).size === items.length, `${label}: an item id shows twice`);
}

/** Wait until a trade card shows in a list (optionally with a data-status). */
async function waitTrade(page, listSel, id, what, status) {
  const sel = `${listSel} li.trade[data-id="${id}"]${status ? `[data-status="${status}"]` : ""}`;
  await page.waitForSelector(sel, { state: "visible" }).catch(async () => {
    const shown = await page.evaluate(
      () =>
        Object.fromEntries(
          ["incoming", "outgoing", "trade-history"].map((l) => [
            l,
            Array.from(document.querySelectorAll(`#${l} li.trade`)).map((li) => `${li.dataset.id}:${li.dataset.status}`),
          ]),
        ),
    );
    throw new Error(`${what}: no ${sel} (lists: ${JSON.stringify(shown)})`);
  });
}

async function waitNoTrade(page, listSel, id, what) {
  await page.waitForSelector(`${listSel} li.trade[data-id="${id}"]`, { state: "detached" }).catch(() => {
    throw new Error(`${what}: trade ${id} is still in ${listSel}`);
  });
}

async function select(page, listSel, id) {
  await page.click(`${listSel} li.item[data-id="${id}"]`);
  await page.waitForSelector(`${listSel} li.item.selected[data-id="${id}"]`, { state: "attached", timeout: 2000 }).catch(() => {
    throw new Error(`clicking item ${id} in ${listSel} did not select it`);
  });
}

async function waitOfferError(page, what, includes) {
  await page.waitForSelector("#offer-error", { state: "visible" }).catch(() => {
    throw new Error(`${what}: no visible #offer-error`);
  });
  const text = ((await page.locator("#offer-error").textContent()) || "").trim();
  assert(text.length > 0, `${what}: #offer-error is empty`);
  if (includes) assert(text.includes(includes), `${what}: #offer-error reads ${JSON.stringify(text)}, expected it to include ${JSON.stringify(includes)}`);
  return text;
}

/** Send the current selection; returns the id of the new trade in #outgoing. */
async function sendOffer(page, label) {
  const before = await page.evaluate(() => Array.from(document.querySelectorAll("#outgoing li.trade")).map((li) => li.dataset.id));
  await page.click("#send-offer");
  const id = await page
    .waitForFunction(
      (seen) => {
        const err = document.getElementById("offer-error");
        if (err && !err.hidden) return { error: err.textContent };
        const li = Array.from(document.querySelectorAll("#outgoing li.trade")).find((n) => !seen.includes(n.dataset.id));
        return li ? { id: li.dataset.id } : null;
      },
      before,
    )
    .then((h) => h.jsonValue())
    .catch(() => {
      throw new Error(`${label}: the offer never showed in #outgoing`);
    });
  assert(!id.error, `${label}: the offer was refused: ${id.error}`);
  return id.id;
}

function scrollTop(page) {
  return page.evaluate(() => window.scrollTo(0, 0));
}

function chipIds(page, sel) {
  return page.evaluate((s) => Array.from(document.querySelectorAll(`${s} .chip[data-id]`)).map((c) => c.dataset.id), sel);
}

async function checkFits(page, label) {
  const r = await page.evaluate(() => ({
    scrollWidth: Math.max(document.documentElement.scrollWidth, document.body.scrollWidth),
    innerWidth: window.innerWidth,
  }));
  const width = page.viewportSize().width;
  assert(r.scrollWidth <= width + 1 && r.innerWidth <= width + 1, `${label}: page is wider than ${width}px (content ${r.scrollWidth}px)`);
}

// ---------------------------------------------------------------------------
// the scenario

async function scenario(h, baseUrl) {
  const tag = freshTag();
  const password = freshPassword();
  const nameA = `trd_a_${tag}`;
  const nameB = `trd_b_${tag}`;
  const nameC = `trd_c_${tag}`;
  const [a, b] = await pagesAB(h);

  h.step("a guest on /trades gets a prompt to log in, no trading UI");
  await goto(baseUrl, b, "/trades");
  await b.waitForSelector("#trades-login-prompt", { state: "visible" }).catch(() => {
    throw new Error("guest: no visible #trades-login-prompt on /trades");
  });
  for (const href of ["/login", "/register"]) {
    assert((await b.locator(`#main a[href="${href}"]`).count()) > 0, `guest: /trades has no link to ${href}`);
  }
  for (const sel of ["#inventory", "#send-offer", "#incoming"]) {
    assert((await b.locator(sel).count()) === 0, `guest: /trades shows ${sel}`);
  }
  const cssLoaded = await b.evaluate(() =>
    Array.from(document.styleSheets).some((s) => (s.href || "").endsWith("/static/css/trades.css") && s.cssRules.length > 0),
  );
  assert(cssLoaded, "/static/css/trades.css is not applied on /trades");
  h.check();

  h.step(`register ${nameA} and ${nameB}; both open /trades`);
  await Promise.all([register(baseUrl, a, nameA, password, "A"), register(baseUrl, b, nameB, password, "B")]);
  await Promise.all([goto(baseUrl, a, "/trades"), goto(baseUrl, b, "/trades")]);
  await Promise.all([waitConnected(a, "A"), waitConnected(b, "B")]);
  await Promise.all([waitInventoryLoaded(a, "A"), waitInventoryLoaded(b, "B")]);
  const itemsA = await itemsIn(a, "#inventory");
  const itemsB = await itemsIn(b, "#inventory");
  await checkItems(itemsA, "A");
  await checkItems(itemsB, "B");
  assert(
    (await a.evaluate(() => getComputedStyle(document.getElementById("inventory")).display)) === "grid",
    "trades.css is not applied (#inventory is not a grid)",
  );
  const [a1, a2, a3] = itemsA.map((i) => i.id);
  const [b1, b2, b3] = itemsB.map((i) => i.id);
  h.step(`A owns ${itemsA.map((i) => i.id).join(",")}; B owns ${itemsB.map((i) => i.id).join(",")}`);
  await Promise.all([markDocument(a), markDocument(b)]);

  h.step("sending with nobody loaded says why");
  await a.click("#send-offer");
  await waitOfferError(a, "send before loading a partner");

  h.step(`A loads ${nameB}'s inventory: the same items B sees as its own`);
  await a.fill("#partner-name", nameB);
  await a.click("#load-partner");
  await waitItems(a, "#partner-inventory", { has: itemsB.map((i) => i.id), count: 6 }, "A's view of B");
  await checkItems(await itemsIn(a, "#partner-inventory"), "A's view of B");

  h.step("sending with nothing selected says why");
  await a.click("#send-offer");
  await waitOfferError(a, "send with nothing selected");

  h.step(`A selects ${a1} (own) and ${b1} (B's); a second click unselects`);
  await select(a, "#inventory", a2);
  await a.click(`#inventory li.item[data-id="${a2}"]`);
  assert(!(await itemsIn(a, "#inventory")).find((i) => i.id === a2).selected, "a second click did not unselect the item");
  await select(a, "#inventory", a1);
  await select(a, "#partner-inventory", b1);
  assert(await a.locator("#offer-error").isHidden(), "#offer-error is still shown after selecting items");

  const note = `Swap? ${tag} <b id="xss-trade">bold</b> & "quotes"`;
  await a.fill("#trade-note", note);
  h.step("A sends the offer: it shows in A's #outgoing and, live, in B's #incoming");
  const t1 = await sendOffer(a, "A's first offer");
  assert((await a.locator("#inventory li.item.selected, #partner-inventory li.item.selected").count()) === 0, "the selection was not cleared after sending");
  assert((await a.inputValue("#trade-note")) === "", "the note was not cleared after sending");
  assert((await a.locator(`#outgoing li.trade[data-id="${t1}"] .cancel`).count()) === 1, "A's outgoing offer has no .cancel button");
  await waitTrade(b, "#incoming", t1, "B's incoming offers");
  const card = `#incoming li.trade[data-id="${t1}"]`;
  assert((await b.locator(`${card} .accept`).count()) === 1 && (await b.locator(`${card} .decline`).count()) === 1, "B's incoming offer lacks .accept/.decline");
  const shownNote = ((await b.locator(`${card} .trade-note`).textContent().catch(() => "")) || "").trim();
  assert(shownNote === note, `B shows the note as ${JSON.stringify(shownNote)}, expected ${JSON.stringify(note)}`);
  const chips = await chipIds(b, card);
  assert(chips.includes(a1) && chips.includes(b1) && chips.length === 2, `B's card shows items ${JSON.stringify(chips)}, expected ${a1} and ${b1}`);
  const from = ((await b.locator(`${card} .trade-partner`).textContent()) || "").trim();
  assert(from === nameA, `B's card names ${JSON.stringify(from)} as the sender`);
  for (const [p, who] of [[a, "A"], [b, "B"]]) {
    assert((await p.locator("#xss-trade").count()) === 0, `${who}: markup in the note was rendered as HTML`);
  }
  await expectSameDocument(b, "B");

  h.step(`A offers ${a1} again, for ${b2}: two open offers share ${a1}`);
  await select(a, "#inventory", a1);
  await select(a, "#partner-inventory", b2);
  const t2 = await sendOffer(a, "A's second offer");
  await waitTrade(b, "#incoming", t2, "B's incoming offers");

  h.step(`B accepts offer ${t1}`);
  await b.click(`${card} .accept`);
  await waitTrade(b, "#trade-history", t1, "B's history after accepting", "accepted");
  await waitTrade(a, "#trade-history", t1, "A's history after B accepted", "accepted");
  await waitNoTrade(b, "#incoming", t1, "B's incoming after accepting");
  await waitNoTrade(a, "#outgoing", t1, "A's outgoing after B accepted");
  h.step(`offer ${t2} became invalid (${a1} is gone): both sides see it`);
  await waitTrade(a, "#trade-history", t2, "A's history", "invalid");
  await waitTrade(b, "#trade-history", t2, "B's history", "invalid");
  await waitNoTrade(b, "#incoming", t2, "B's incoming");
  const noticesA = await a.evaluate(() => Array.from(document.querySelectorAll("#trade-notices li")).map((li) => li.textContent));
  assert(noticesA.some((t) => t.includes("no longer possible")), `A got no notice about the invalid offer (notices ${JSON.stringify(noticesA)})`);
  assert(noticesA.some((t) => t.includes("accepted")), `A got no notice about the accepted offer (notices ${JSON.stringify(noticesA)})`);

  h.step("both inventories update without a reload");
  await waitItems(a, "#inventory", { has: [b1], hasNot: [a1], count: 6 }, "A's inventory after the trade");
  await waitItems(b, "#inventory", { has: [a1], hasNot: [b1], count: 6 }, "B's inventory after the trade");
  await waitItems(a, "#partner-inventory", { has: [a1], hasNot: [b1], count: 6 }, "A's view of B after the trade");
  await expectSameDocument(a, "A");
  await expectSameDocument(b, "B");
  h.check();
  await Promise.all([scrollTop(a), scrollTop(b)]); // the sticky header stays at the top of the shots
  await h.screenshot(a, "trades-a.png");
  await h.screenshot(b, "trades-b.png");

  h.step(`a refused offer: ${nameC} gets ${b2} from B, A (stale view of B) asks for it`);
  const c = await h.page("C");
  await register(baseUrl, c, nameC, password, "C");
  await goto(baseUrl, c, "/trades");
  await waitConnected(c, "C");
  await waitInventoryLoaded(c, "C");
  const c1 = (await idsIn(c, "#inventory"))[0];
  await c.fill("#partner-name", nameB);
  await c.click("#load-partner");
  await waitItems(c, "#partner-inventory", { has: [b2] }, "C's view of B");
  await select(c, "#inventory", c1);
  await select(c, "#partner-inventory", b2);
  const tc = await sendOffer(c, "C's offer");
  await waitTrade(b, "#incoming", tc, "B's incoming offer from C");
  await b.click(`#incoming li.trade[data-id="${tc}"] .accept`);
  await waitTrade(c, "#trade-history", tc, "C's history", "accepted");
  await waitItems(b, "#inventory", { has: [c1], hasNot: [b2] }, "B's inventory after C's trade");
  assert((await idsIn(a, "#partner-inventory")).includes(b2), "A's view of B changed although A was not told (test premise)");
  await select(a, "#inventory", a2);
  await select(a, "#partner-inventory", b2);
  await a.click("#send-offer");
  const refusal = await waitOfferError(a, "offer for an item B no longer has", "they do not own");
  h.step(`A sees: ${refusal}`);
  await waitItems(a, "#partner-inventory", { hasNot: [b2], has: [c1] }, "A's view of B after the refusal");
  assert((await a.locator("#outgoing li.trade").count()) === 0, "A shows an outgoing offer after a refusal");

  h.step("B declines an offer, A cancels another: both live on both sides");
  await a.click("#clear-selection");
  await select(a, "#inventory", a2);
  await select(a, "#partner-inventory", b3);
  const t3 = await sendOffer(a, "A's third offer");
  await select(a, "#inventory", a3);
  const t4 = await sendOffer(a, "A's fourth offer (gift)");
  await waitTrade(b, "#incoming", t3, "B's incoming");
  await waitTrade(b, "#incoming", t4, "B's incoming");
  await b.click(`#incoming li.trade[data-id="${t3}"] .decline`);
  await waitTrade(a, "#trade-history", t3, "A's history after B declined", "declined");
  await waitTrade(b, "#trade-history", t3, "B's history after declining", "declined");
  await a.click(`#outgoing li.trade[data-id="${t4}"] .cancel`);
  await waitNoTrade(b, "#incoming", t4, "B's incoming after A canceled");
  await waitTrade(b, "#trade-history", t4, "B's history after A canceled", "canceled");
  await waitTrade(a, "#trade-history", t4, "A's history after canceling", "canceled");
  await waitItems(a, "#inventory", { has: [a2, a3, b1] }, "A's inventory after decline/cancel");
  await expectSameDocument(a, "A");
  await expectSameDocument(b, "B");

  h.step("after a reload B's history is still there (read from /api/trades)");
  await goto(baseUrl, b, "/trades");
  await waitTrade(b, "#trade-history", t1, "B's history after a reload", "accepted");
  await waitTrade(b, "#trade-history", t4, "B's history after a reload", "canceled");
  assert((await b.locator("#incoming li.trade").count()) === 0, "B shows open offers after a reload although none is open");

  await a.setViewportSize(PHONE);
  await checkFits(a, "trades, phone-sized");
  h.check();
  await scrollTop(a);
  await h.screenshot(a, "trades-phone.png");
}
