/*
 * Trades page, the lists: offers to you (incoming), your offers (outgoing) and the history, kept
 * up to date from the API, the live events and the answers to Accept / Decline / Cancel.
 * Adds to AgoraTrades: apply, loadTrades, scheduleInventoryReload.
 */
AgoraTrades.view(function (T, S, dom) {
  'use strict';

  var FINAL = T.FINAL;
  var NOTICE_KIND = { accepted: 'success', declined: 'info', canceled: 'info', expired: 'warning', invalid: 'warning' };
  /** Several updates about one trade come together: re-read the inventories once for all of them. */
  var INVENTORY_RELOAD_DELAY_MS = 120;
  /** How often "expires in …" is brought up to date. */
  var EXPIRY_REFRESH_MS = 30000;
  var tradesSeq = 0;
  var reloadTimer = null;

  /** Insert newest first: by the time of the last change (history), then by id. */
  function place(ul, li) {
    var before = null;
    for (var c = ul.firstElementChild; c; c = c.nextElementSibling) {
      if (c._time < li._time || (c._time === li._time && c._id < li._id)) { before = c; break; }
    }
    ul.insertBefore(li, before);
  }

  /** The counts and "nothing here" lines; the history keeps its newest MAX_HISTORY trades. */
  T.renderCounts = function () {
    var nIn = dom.incoming.children.length;
    var nOut = dom.outgoing.children.length;
    dom.incomingCount.textContent = nIn ? String(nIn) : '';
    dom.outgoingCount.textContent = nOut ? String(nOut) : '';
    dom.incomingEmpty.hidden = nIn > 0;
    dom.outgoingEmpty.hidden = nOut > 0;
    dom.historyEmpty.hidden = dom.historyList.children.length > 0;
    while (dom.historyList.children.length > T.MAX_HISTORY) {
      var last = dom.historyList.lastElementChild;
      delete S.nodes[last.dataset.id];
      dom.historyList.removeChild(last);
    }
  };

  /** Inventories changed: re-read ours and the partner's (several updates come together). */
  T.scheduleInventoryReload = function () {
    if (reloadTimer) return;
    reloadTimer = setTimeout(function () {
      reloadTimer = null;
      T.loadInventory();
      if (S.partner) T.loadPartner(S.partner.name, true);
    }, INVENTORY_RELOAD_DELAY_MS);
  };

  /** Is this trade between us and the partner whose items are shown? */
  function withPartner(t) {
    var partner = S.partner;
    return !!partner && (T.lower(partner.name) === T.lower(t.from) || T.lower(partner.name) === T.lower(t.to));
  }

  /**
   * Take in a trade from the list, an event or an ack. Final states are final: an older "active"
   * copy never brings a finished trade back. opts: {fresh: highlight, quiet: no notice, live: news}.
   */
  T.apply = function (t, opts) {
    opts = opts || {};
    if (!T.validTrade(t)) return;
    var old = S.trades[t.id];
    if (old) {
      if (FINAL[old.status] && !FINAL[t.status]) return;
      if (old.status === t.status && Number(t.updated_at || 0) < Number(old.updated_at || 0)) return;
      if (old.status === t.status && Number(t.updated_at || 0) === Number(old.updated_at || 0) && S.nodes[t.id]) return;
    }
    S.trades[t.id] = t;
    var li = T.tradeCard(t);
    var prev = S.nodes[t.id];
    if (prev && prev.parentNode) prev.parentNode.removeChild(prev);
    S.nodes[t.id] = li;
    var target = FINAL[t.status] ? dom.historyList : (T.isMe(t.from) ? dom.outgoing : dom.incoming);
    place(target, li);
    if (opts.fresh || (old && old.status !== t.status)) {
      li.classList.add('is-new');
      setTimeout(function () { li.classList.remove('is-new'); }, 2500);
    }
    T.renderCounts();

    var finishedNow = FINAL[t.status] && (!old || old.status === 'active') && (old || opts.live);
    if (finishedNow && !opts.quiet) T.notice(T.transitionText(t), NOTICE_KIND[t.status]);
    if (t.status === 'accepted' && finishedNow) T.scheduleInventoryReload();
    if (t.status === 'invalid' && finishedNow && withPartner(t)) T.scheduleInventoryReload();
  };

  T.loadTrades = function () {
    var seq = ++tradesSeq;
    var lists = [dom.incoming, dom.outgoing, dom.historyList];
    return Promise.all([Agora.fetchJSON('/api/trades?status=active'), Agora.fetchJSON('/api/trades')]).then(function (bodies) {
      if (seq !== tradesSeq) return;
      var active = bodies[0] && Array.isArray(bodies[0].trades) ? bodies[0].trades : [];
      var all = bodies[1] && Array.isArray(bodies[1].trades) ? bodies[1].trades : [];
      all.concat(active).forEach(function (t) { T.apply(t); });
      lists.forEach(function (ul) {
        ul.dataset.state = 'loaded';
        ul.classList.remove('is-stale');
      });
      T.renderCounts();
    }).catch(function (e) {
      if (seq !== tradesSeq) return;
      T.notice(e.status === 401
        ? 'Your session has ended: log in again to trade.'
        : 'Could not load your offers (' + e.message + ').', 'error');
      lists.forEach(function (ul) { ul.dataset.state = 'error'; });
    });
  };

  var EVENTS = { accept: 'trade:accept', decline: 'trade:decline', cancel: 'trade:cancel' };

  // Accept / Decline / Cancel, delegated for both lists of open offers.
  function onDecision(e) {
    var btn = e.target.closest ? e.target.closest('button.accept, button.decline, button.cancel') : null;
    if (!btn) return;
    var li = btn.closest('li.trade');
    if (!li) return;
    var verb = btn.classList.contains('accept') ? 'accept' : btn.classList.contains('decline') ? 'decline' : 'cancel';
    var msg = li.querySelector('.trade-msg');
    var buttons = li.querySelectorAll('.trade-actions button');
    Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
    li.classList.add('is-busy');
    msg.hidden = true;

    /** Say it on the card, or in a notice when an update replaced the card meanwhile. */
    function fail(text) {
      if (S.nodes[li.dataset.id] === li) {
        msg.textContent = text;
        msg.hidden = false;
        Array.prototype.forEach.call(buttons, function (b) { b.disabled = false; });
      } else {
        T.notice(text, 'error');
      }
    }

    Agora.request(T.socket, EVENTS[verb], { id: Number(li.dataset.id) }).then(function (res) {
      li.classList.remove('is-busy');
      if (T.validTrade(res.trade)) T.apply(res.trade, { live: true });
      else fail('Could not ' + verb + ': the hub refused it.');
    }, function (err) {
      li.classList.remove('is-busy');
      if (err.code === 'timeout') return fail('The hub did not answer in time. Try again.');
      var trade = err.answer && err.answer.trade;
      if (T.validTrade(trade)) {
        // No longer active (expired, or an item changed hands): show where it stands.
        T.apply(trade, { quiet: true, live: true });
        T.notice('Could not ' + verb + ': ' + err.message + '.', FINAL[trade.status] ? 'warning' : 'error');
        if (trade.status === 'invalid') T.scheduleInventoryReload();
        return;
      }
      if (err.code === 'unauthenticated') return fail('Your session has ended: log in again to trade.');
      fail('Could not ' + verb + ': ' + err.message + '.');
    });
  }
  [dom.incoming, dom.outgoing].forEach(function (ul) { ul.addEventListener('click', onDecision); });

  // Keep "expires in …" honest.
  setInterval(function () {
    Array.prototype.forEach.call(document.querySelectorAll('.trade-expiry[data-expires]'), function (p) {
      p.textContent = 'Expires ' + T.fromNow(p.dataset.expires);
    });
  }, EXPIRY_REFRESH_MS);
});
