/*
 * Trades page: pick some of your items and some of another user's, send an offer, and answer the
 * offers others send you. Everything updates live.
 *   GET  /api/inventory                      → {user, items: [{id, name, rarity, color}]}  (own)
 *   GET  /api/users/{name}/inventory         → {user, items} | 404 {error: {code: "unknown_user"}}
 *   GET  /api/trades[?status=active]         → {trades: [trade]} newest first, incoming and outgoing
 *   emit trade:offer {to, give: [ids], want: [ids], note?, key?}   ack {ok, trade} | {ok:false, error}
 *   emit trade:accept | trade:decline | trade:cancel {id}          ack {ok, trade} | {ok:false, error, trade?}
 *   on   trade:offer  trade   (the recipient's tabs, when an offer arrives)
 *   on   trade:update trade   (both sides, on every later change)
 * trade: {id, from, to, give: [items of from], want: [items of to], note, status, created_at,
 *         expires_at, updated_at}; status is active, accepted, declined, canceled, expired or invalid.
 * Every string from users or the server goes into the page as text (Agora.el), never as HTML.
 *
 * The page is split by view; templates/trades.html.tera loads, in this order:
 *   trades/state.js      this file: the AgoraTrades namespace, shared state, page nodes, small helpers
 *   trades/inventory.js  own and partner inventories, selecting items
 *   trades/offer.js      composing and sending an offer
 *   trades/card.js       how one trade looks
 *   trades/lists.js      incoming, outgoing and history lists; accept / decline / cancel
 *   trades/main.js       the socket, live events, reconnects, first load
 * The files share one object, window.AgoraTrades (T below): each wraps its code in
 * AgoraTrades.view(function (T, S, dom) {...}), adds its functions to T and calls the others' through
 * it at run time, so only the order of state.js first and main.js last matters. Guests get a prompt
 * to sign in and no #inventory: then no view runs (main.js still drives the connection pill).
 */
(function (root) {
  'use strict';

  var doc = root.document;
  var $ = function (id) { return doc.getElementById(id); };
  if (!$('inventory')) {
    root.AgoraTrades = { view: function () {} }; // a guest: no trading UI, so no view runs
    return;
  }

  var el = Agora.el;

  var T = root.AgoraTrades = {
    MAX_ITEMS: 20, // per offer, both sides together (the server's limit)
    NOTE_MAX: 200,
    MAX_NOTICES: 4,
    MAX_HISTORY: 50,
    RARITIES: ['common', 'uncommon', 'rare', 'legendary'],
    FINAL: { accepted: true, declined: true, canceled: true, expired: true, invalid: true },
    STATUS_TEXT: {
      active: 'open',
      accepted: 'accepted',
      declined: 'declined',
      canceled: 'canceled',
      expired: 'expired',
      invalid: 'no longer possible'
    },

    /** The signed-in user's name as the server rendered it. */
    me: Agora.currentUser(),
    /** Set by main.js: the page's Socket.IO socket. */
    socket: null,

    /** Everything the views share that changes. */
    state: {
      myItems: [],
      partner: null, // {name, items} once loaded
      give: Object.create(null), // selected ids of my items → true (replaced, never shared)
      want: Object.create(null), // selected ids of the partner's items → true (replaced, never shared)
      trades: Object.create(null), // id → latest trade seen
      nodes: Object.create(null), // id → its <li> in one of the lists
      offerKey: null // idempotency key of the offer being sent (kept when an answer times out)
    },

    /** The page's nodes, looked up once. */
    dom: {
      inventoryList: $('inventory'),
      inventoryStatus: $('inventory-status'),
      inventoryCount: $('inventory-count'),
      partnerForm: $('partner-form'),
      partnerInput: $('partner-name'),
      partnerButton: $('load-partner'),
      partnerStatus: $('partner-status'),
      partnerList: $('partner-inventory'),
      partnerCount: $('partner-count'),
      summary: $('offer-summary'),
      noteInput: $('trade-note'),
      noteCounter: $('note-counter'),
      offerError: $('offer-error'),
      offerOk: $('offer-ok'),
      sendButton: $('send-offer'),
      clearButton: $('clear-selection'),
      incoming: $('incoming'),
      outgoing: $('outgoing'),
      historyList: $('trade-history'),
      notices: $('trade-notices'),
      incomingCount: $('incoming-count'),
      outgoingCount: $('outgoing-count'),
      incomingEmpty: $('incoming-empty'),
      outgoingEmpty: $('outgoing-empty'),
      historyEmpty: $('history-empty')
    }
  };

  /** Run one view's code with the namespace, the shared state and the page's nodes (never for guests). */
  T.view = function (fn) { fn(T, T.state, T.dom); };

  // ---- small helpers ---------------------------------------------------------

  T.lower = function (s) { return String(s || '').toLowerCase(); };
  T.isMe = function (name) { return !!T.me && T.lower(name) === T.lower(T.me); };
  T.plural = function (n, one, many) { return n + ' ' + (n === 1 ? one : many); };
  T.keys = function (map) { return Object.keys(map); };

  T.validItem = function (it) {
    return it && typeof it === 'object' && (typeof it.id === 'number' || typeof it.id === 'string') &&
      typeof it.name === 'string';
  };

  T.validTrade = function (t) {
    return t && typeof t === 'object' && t.id !== undefined && t.id !== null &&
      typeof t.from === 'string' && typeof t.to === 'string' && typeof t.status === 'string';
  };

  T.rarityOf = function (it) {
    return T.RARITIES.indexOf(it.rarity) >= 0 ? it.rarity : 'common';
  };

  /** The item's colour, only if it really is a #rrggbb colour (it goes into a CSS property). */
  T.colorOf = function (it) {
    return typeof it.color === 'string' && /^#[0-9a-fA-F]{6}$/.test(it.color) ? it.color : null;
  };

  T.swatch = function (it) {
    var s = el('span', { 'class': 'item-swatch', attrs: { 'aria-hidden': 'true' } });
    var c = T.colorOf(it);
    if (c) s.style.setProperty('--item-color', c);
    return s;
  };

  /** "in 5 min", "in 3 h", "in 2 days" (or "any moment now" once past). */
  T.fromNow = function (ms) {
    var left = Number(ms) - Date.now();
    if (!isFinite(left)) return '';
    if (left <= 0) return 'any moment now';
    var min = Math.round(left / 60000);
    if (min < 1) return 'in less than a minute';
    if (min < 60) return 'in ' + min + ' min';
    var h = Math.round(min / 60);
    if (h < 48) return 'in ' + h + ' h';
    return 'in ' + Math.round(h / 24) + ' days';
  };

  // ---- notices ---------------------------------------------------------------------

  /** A message at the top of the page; kind is info, success, warning or error. */
  T.notice = function (text, kind) {
    var notices = T.dom.notices;
    var close = el('button', {
      'class': 'notice-close', text: '×', attrs: { type: 'button', 'aria-label': 'Dismiss', title: 'Dismiss' }
    });
    var li = el('li', { 'class': 'notice notice-' + (kind || 'info') }, [
      el('span', { 'class': 'notice-text', text: text }),
      close
    ]);
    close.addEventListener('click', function () { if (li.parentNode) li.parentNode.removeChild(li); });
    notices.insertBefore(li, notices.firstChild);
    while (notices.children.length > T.MAX_NOTICES) notices.removeChild(notices.lastElementChild);
    return li;
  };
})(window);
