// Page helpers shared by run.mjs and the scenarios under scenarios/.

import crypto from "node:crypto";

/** How long one expected thing on a page may take (the machine may be loaded). */
export const STEP_TIMEOUT_MS = 10_000;

export function assert(cond, what) {
  if (!cond) throw new Error(what);
}

/** Put a marker on the page; `expectSameDocument` later proves the page was not reloaded. */
export async function markDocument(page) {
  await page.evaluate(() => {
    window.__e2eMarker = "still-here";
  });
}

export async function expectSameDocument(page, what) {
  const marker = await page.evaluate(() => window.__e2eMarker).catch(() => null);
  assert(marker === "still-here", `${what}: the page was reloaded or left`);
}

/** The chat page has joined `room`: its name shows and the message box is enabled. */
export async function waitForChatJoined(page, room, what, timeout = STEP_TIMEOUT_MS) {
  await page
    .waitForFunction(
      (r) =>
        (document.getElementById("room-name")?.textContent || "").trim() === r &&
        !document.querySelector('#message-form input[name="text"]')?.disabled,
      room,
      { timeout },
    )
    .catch(async () => {
      const shown = await page.evaluate(() => ({
        room: document.getElementById("room-name")?.textContent,
        state: document.getElementById("room-state")?.textContent,
        error: document.getElementById("chat-error")?.textContent,
        disabled: document.querySelector('#message-form input[name="text"]')?.disabled,
      }));
      throw new Error(`${what}: never joined #${room} (page shows ${JSON.stringify(shown)})`);
    });
}

/** A short random tag for this run's names, so runs against one server never collide. */
export function freshTag() {
  return crypto.randomBytes(4).toString("hex");
}

/** A random password, long enough for the rules. */
export function freshPassword() {
  return "pw-" + crypto.randomBytes(9).toString("base64url");
}

/** The scenario's two browsers A and B (`ctx.page`: separate contexts, separate cookies). */
export async function pagesAB(ctx) {
  return [await ctx.page("A"), await ctx.page("B")];
}
