/*
 * Trades page, composing: the summary of what is selected, the note, and sending the offer.
 * An offer carries an idempotency key: when the hub's answer times out, the key is kept, so sending
 * again cannot make the same offer twice; any change to the selection or the note starts a new key.
 * Adds to AgoraTrades: updateSummary, clearOfferMessages.
 */
AgoraTrades.view(function (T, S, dom) {
  'use strict';

  var sending = false;

  function newKey() {
    if (window.crypto && typeof window.crypto.randomUUID === 'function') return window.crypto.randomUUID();
    return Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 12);
  }

  function idsOf(map) {
    return T.keys(map).map(Number).filter(function (n) { return isFinite(n); });
  }

  /** "You give 1 item and ask for 2 items from bob." and the send button's label. */
  T.updateSummary = function () {
    var g = T.keys(S.give).length;
    var w = T.keys(S.want).length;
    var partner = S.partner;
    var text;
    if (!g && !w) text = partner ? 'Nothing selected yet.' : 'Nothing selected yet. Load someone’s items to ask for them.';
    else {
      text = 'You give ' + (g ? T.plural(g, 'item', 'items') : 'nothing') + ' and ask for ' +
        (w ? T.plural(w, 'item', 'items') : 'nothing') + (partner ? ' from ' + partner.name : '') + '.';
    }
    dom.summary.textContent = text;
    dom.summary.classList.toggle('is-over', g + w > T.MAX_ITEMS);
    dom.sendButton.disabled = sending;
    dom.sendButton.textContent = sending ? 'Sending…' : (partner ? 'Send offer to ' + partner.name : 'Send offer');
  };

  T.clearOfferMessages = function () {
    dom.offerError.hidden = true;
    dom.offerError.textContent = '';
    dom.offerOk.hidden = true;
    dom.offerOk.textContent = '';
  };

  function showOfferError(text) {
    dom.offerOk.hidden = true;
    dom.offerError.textContent = text;
    dom.offerError.hidden = false;
  }

  function updateNoteCounter() {
    var left = T.NOTE_MAX - Array.from(dom.noteInput.value).length;
    dom.noteCounter.textContent = left >= 0
      ? T.plural(left, 'character', 'characters') + ' left'
      : T.plural(-left, 'character', 'characters') + ' too many';
    dom.noteCounter.classList.toggle('is-low', left <= 20 && left >= 0);
    dom.noteCounter.classList.toggle('is-over', left < 0);
  }
  dom.noteInput.addEventListener('input', function () { S.offerKey = null; updateNoteCounter(); });
  updateNoteCounter();

  function clearSelection() {
    S.give = Object.create(null);
    S.want = Object.create(null);
    T.renderItems(dom.inventoryList, S.myItems, S.give, 'give');
    if (S.partner) T.renderItems(dom.partnerList, S.partner.items, S.want, 'want');
    S.offerKey = null;
    T.updateSummary();
  }

  dom.clearButton.addEventListener('click', function () {
    T.clearOfferMessages();
    clearSelection();
  });

  /** What is wrong with the offer as composed, or null when it can be sent. */
  function problem(g, w, note) {
    var partner = S.partner;
    if (!g.length && !w.length) {
      return 'Pick at least one item: one of yours to give, or one of ' + partner.name + '’s to ask for.';
    }
    if (g.length + w.length > T.MAX_ITEMS) {
      return 'An offer moves at most ' + T.MAX_ITEMS + ' items; you picked ' + (g.length + w.length) + '.';
    }
    if (Array.from(note).length > T.NOTE_MAX) return 'The note is too long: ' + T.NOTE_MAX + ' characters at most.';
    return null;
  }

  /** The hub said no (or answered without a trade): a new key next time, and show why. */
  function refused(code, message) {
    S.offerKey = null;
    if (code === 'unauthenticated') showOfferError('Your session has ended: log in again to trade.');
    else showOfferError('Offer not sent: ' + message + '.');
    // Somebody's items changed under us: show what is really there now.
    if (code === 'not_owner') T.loadInventory();
    if (code === 'not_theirs' && S.partner) T.loadPartner(S.partner.name, true);
  }

  function sent(trade) {
    S.offerKey = null;
    T.apply(trade, { fresh: true });
    clearSelection();
    dom.noteInput.value = '';
    updateNoteCounter();
    dom.offerOk.textContent = 'Offer sent to ' + trade.to + '.';
    dom.offerOk.hidden = false;
  }

  function sendOffer() {
    if (sending) return;
    T.clearOfferMessages();
    if (!S.partner) {
      showOfferError('First load the items of the person you want to trade with (“Trade with…” above).');
      dom.partnerInput.focus();
      return;
    }
    var g = idsOf(S.give);
    var w = idsOf(S.want);
    var note = dom.noteInput.value.trim();
    var why = problem(g, w, note);
    if (why) {
      showOfferError(why);
      return;
    }
    if (!S.offerKey) S.offerKey = newKey();
    var request = { to: S.partner.name, give: g, want: w, key: S.offerKey };
    if (note) request.note = note;
    sending = true;
    T.updateSummary();
    Agora.request(T.socket, 'trade:offer', request).then(function (res) {
      sending = false;
      if (T.validTrade(res.trade)) sent(res.trade);
      else refused(null, 'the hub refused it');
    }, function (e) {
      sending = false;
      // No answer: the offer may have arrived. Sending again reuses the key, so it is not made twice.
      if (e.code === 'timeout') showOfferError('The hub did not answer in time. Try again.');
      else refused(e.code, e.message);
    }).then(T.updateSummary);
  }

  dom.sendButton.addEventListener('click', sendOffer);
});
