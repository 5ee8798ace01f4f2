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
 */
(function () {
  'use strict';

  var ACK_TIMEOUT_MS = 10000;
  var MAX_ITEMS = 20; // per offer, both sides together (the server's limit)
  var NOTE_MAX = 200;
  var MAX_NOTICES = 4;
  var MAX_HISTORY = 50;
  var RARITIES = ['common', 'uncommon', 'rare', 'legendary'];
  var FINAL = { accepted: true, declined: true, canceled: true, expired: true, invalid: true };
  var STATUS_TEXT = {
    active: 'open',
    accepted: 'accepted',
    declined: 'declined',
    canceled: 'canceled',
    expired: 'expired',
    invalid: 'no longer possible'
  };

  var socket = io();
  Agora.trackConnection(socket);

  var $ = function (id) { return document.getElementById(id); };
  var inventoryList = $('inventory');
  if (!inventoryList) return; // guests get a prompt to sign in, nothing else

  var el = Agora.el;
  var me = Agora.currentUser();
  var inventoryStatus = $('inventory-status');
  var inventoryCount = $('inventory-count');
  var partnerForm = $('partner-form');
  var partnerInput = $('partner-name');
  var partnerButton = $('load-partner');
  var partnerStatus = $('partner-status');
  var partnerList = $('partner-inventory');
  var partnerCount = $('partner-count');
  var summary = $('offer-summary');
  var noteInput = $('trade-note');
  var noteCounter = $('note-counter');
  var offerError = $('offer-error');
  var offerOk = $('offer-ok');
  var sendButton = $('send-offer');
  var clearButton = $('clear-selection');
  var incoming = $('incoming');
  var outgoing = $('outgoing');
  var historyList = $('trade-history');
  var notices = $('trade-notices');

  var myItems = [];
  var partner = null; // {name, items} once loaded
  var give = Object.create(null); // selected ids of my items → true
  var want = Object.create(null); // selected ids of the partner's items → true
  var trades = Object.create(null); // id → latest trade seen
  var nodes = Object.create(null); // id → its <li> in one of the lists
  var inventorySeq = 0;
  var partnerSeq = 0;
  var tradesSeq = 0;
  var sending = false;
  var offerKey = null; // idempotency key of the offer being sent (kept when an answer times out)

  // ---- small helpers ---------------------------------------------------------

  function lower(s) { return String(s || '').toLowerCase(); }
  function isMe(name) { return !!me && lower(name) === lower(me); }
  function plural(n, one, many) { return n + ' ' + (n === 1 ? one : many); }
  function keys(map) { return Object.keys(map); }

  function getJSON(url) {
    return fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
      .then(function (res) {
        return res.json().catch(function () { return null; }).then(function (body) {
          if (!res.ok) {
            var error = (body && body.error) || {};
            var e = new Error(error.message || 'HTTP ' + res.status);
            e.status = res.status;
            e.code = error.code;
            throw e;
          }
          return body;
        });
      });
  }

  function newKey() {
    if (window.crypto && typeof window.crypto.randomUUID === 'function') return window.crypto.randomUUID();
    return Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 12);
  }

  function validItem(it) {
    return it && typeof it === 'object' && (typeof it.id === 'number' || typeof it.id === 'string') &&
      typeof it.name === 'string';
  }

  function validTrade(t) {
    return t && typeof t === 'object' && t.id !== undefined && t.id !== null &&
      typeof t.from === 'string' && typeof t.to === 'string' && typeof t.status === 'string';
  }

  function rarityOf(it) {
    return RARITIES.indexOf(it.rarity) >= 0 ? it.rarity : 'common';
  }

  /** The item's colour, only if it really is a #rrggbb colour (it goes into a CSS property). */
  function colorOf(it) {
    return typeof it.color === 'string' && /^#[0-9a-fA-F]{6}$/.test(it.color) ? it.color : null;
  }

  function swatch(it) {
    var s = el('span', { 'class': 'item-swatch', attrs: { 'aria-hidden': 'true' } });
    var c = colorOf(it);
    if (c) s.style.setProperty('--item-color', c);
    return s;
  }

  /** "in 5 min", "in 3 h", "in 2 days" (or "any moment now" once past). */
  function fromNow(ms) {
    var left = Number(ms) - Date.now();
    if (!isFinite(left)) return '';
    if (left <= 0) return 'any moment now';
    var min = Math.round(left / 60000);
    if (min < 1) return 'in less than a minute';
    if (min < 60) return 'in ' + min + ' min';
    var h = Math.round(min / 60);
    if (h < 48) return 'in ' + h + ' h';
    return 'in ' + Math.round(h / 24) + ' days';
  }

  function timeNode(ms, prefix) {
    var node = el('time', { 'class': 'time', text: (prefix || '') + Agora.formatTime(ms) });
    var d = new Date(ms);
    if (!isNaN(d.getTime())) {
      node.dateTime = d.toISOString();
      node.title = d.toLocaleString();
    }
    return node;
  }

  // ---- notices ---------------------------------------------------------------------

  /** A message at the top of the page; kind is info, success, warning or error. */
  function notice(text, kind) {
    var close = el('button', {
      'class': 'notice-close', text: '×', attrs: { type: 'button', 'aria-label': 'Dismiss', title: 'Dismiss' }
    });
    var li = el('li', { 'class': 'notice notice-' + (kind || 'info') }, [
      el('span', { 'class': 'notice-text', text: text }),
      close
    ]);
    close.addEventListener('click', function () { if (li.parentNode) li.parentNode.removeChild(li); });
    notices.insertBefore(li, notices.firstChild);
    while (notices.children.length > MAX_NOTICES) notices.removeChild(notices.lastElementChild);
    return li;
  }

  // ---- inventories -------------------------------------------------------------------

  function itemCard(it, selected, side) {
    var rarity = rarityOf(it);
    var pressed = !!selected[String(it.id)];
    var li = el('li', {
      'class': 'item rarity-' + rarity + (pressed ? ' selected' : ''),
      dataset: { id: it.id, rarity: rarity }
    }, [
      el('button', {
        'class': 'item-btn',
        attrs: {
          type: 'button',
          'aria-pressed': pressed ? 'true' : 'false',
          title: (side === 'give' ? 'Give ' : 'Ask for ') + it.name + ' (' + rarity + ')'
        }
      }, [
        swatch(it),
        el('span', { 'class': 'item-info' }, [
          el('span', { 'class': 'item-name', text: it.name }),
          el('span', { 'class': 'badge rarity-badge', text: rarity })
        ]),
        el('span', { 'class': 'item-check', text: '✓', attrs: { 'aria-hidden': 'true' } })
      ])
    ]);
    var c = colorOf(it);
    if (c) li.style.setProperty('--item-color', c);
    return li;
  }

  /** Render a list of items; selected ids that are no longer there are dropped. */
  function renderItems(ul, items, selected, side) {
    var present = Object.create(null);
    Agora.clear(ul);
    items.forEach(function (it) {
      present[String(it.id)] = true;
      ul.appendChild(itemCard(it, selected, side));
    });
    keys(selected).forEach(function (id) { if (!present[id]) delete selected[id]; });
  }

  function setStatus(node, text, isError) {
    node.textContent = text || '';
    node.hidden = !text;
    node.classList.toggle('is-error', !!isError);
  }

  function loadInventory() {
    var seq = ++inventorySeq;
    return getJSON('/api/inventory').then(function (body) {
      if (seq !== inventorySeq) return;
      myItems = (body && Array.isArray(body.items) ? body.items : []).filter(validItem);
      renderItems(inventoryList, myItems, give, 'give');
      inventoryCount.textContent = String(myItems.length);
      setStatus(inventoryStatus, myItems.length ? '' : 'You have no items right now.');
      inventoryList.dataset.state = 'loaded';
      inventoryList.classList.remove('is-stale');
      updateSummary();
    }).catch(function (e) {
      if (seq !== inventorySeq) return;
      inventoryList.dataset.state = 'error';
      setStatus(inventoryStatus, e.status === 401
        ? 'Your session has ended: log in again to trade.'
        : 'Could not load your items (' + e.message + ').', true);
    });
  }

  function loadPartner(name, quiet) {
    name = String(name || '').trim();
    var seq = ++partnerSeq;
    if (!name) {
      setStatus(partnerStatus, 'Type the name of the person you want to trade with.', true);
      partnerInput.focus();
      return Promise.resolve();
    }
    if (isMe(name)) {
      setStatus(partnerStatus, 'That is you: pick someone else to trade with.', true);
      partnerInput.focus();
      return Promise.resolve();
    }
    if (!quiet) setStatus(partnerStatus, 'Loading ' + name + '’s items…');
    partnerButton.disabled = true;
    return getJSON('/api/users/' + encodeURIComponent(name) + '/inventory').then(function (body) {
      if (seq !== partnerSeq) return;
      var items = (body && Array.isArray(body.items) ? body.items : []).filter(validItem);
      var shownName = body && typeof body.user === 'string' && body.user ? body.user : name;
      if (!partner || lower(partner.name) !== lower(shownName)) want = Object.create(null);
      partner = { name: shownName, items: items };
      renderItems(partnerList, items, want, 'want');
      partnerCount.textContent = String(items.length);
      setStatus(partnerStatus, items.length
        ? 'Trading with ' + shownName + ': click the items you want.'
        : shownName + ' has no items right now.');
      partnerList.dataset.state = 'loaded';
      partnerList.dataset.user = shownName;
      partnerList.classList.remove('is-stale');
      updateSummary();
    }).catch(function (e) {
      if (seq !== partnerSeq) return;
      if (e.code === 'unknown_user' || e.status === 404) {
        partner = null;
        want = Object.create(null);
        Agora.clear(partnerList);
        partnerCount.textContent = '';
        delete partnerList.dataset.user;
        partnerList.dataset.state = 'error';
        setStatus(partnerStatus, 'Nobody is called “' + name + '”.', true);
        updateSummary();
      } else {
        setStatus(partnerStatus, 'Could not load ' + name + '’s items (' + e.message + ').', true);
      }
    }).then(function () {
      if (seq === partnerSeq) partnerButton.disabled = false;
    });
  }

  partnerForm.addEventListener('submit', function (e) {
    e.preventDefault();
    clearOfferMessages();
    loadPartner(partnerInput.value);
  });

  /** Click an item to select it or not; `selection()` gives the current map (it gets replaced). */
  function onItemClick(ul, selection) {
    ul.addEventListener('click', function (e) {
      var li = e.target.closest ? e.target.closest('li.item') : null;
      if (!li || !ul.contains(li)) return;
      var selected = selection();
      var id = li.dataset.id;
      if (selected[id]) delete selected[id];
      else selected[id] = true;
      var on = !!selected[id];
      li.classList.toggle('selected', on);
      var btn = li.querySelector('.item-btn');
      if (btn) btn.setAttribute('aria-pressed', on ? 'true' : 'false');
      offerKey = null; // a different offer from now on
      clearOfferMessages();
      updateSummary();
    });
  }
  function selectedGive() { return give; }
  function selectedWant() { return want; }
  onItemClick(inventoryList, selectedGive);
  onItemClick(partnerList, selectedWant);

  // ---- composing ----------------------------------------------------------------------

  function idsOf(map) {
    return keys(map).map(Number).filter(function (n) { return isFinite(n); });
  }

  function updateSummary() {
    var g = keys(selectedGive()).length;
    var w = keys(selectedWant()).length;
    var text;
    if (!g && !w) text = partner ? 'Nothing selected yet.' : 'Nothing selected yet. Load someone’s items to ask for them.';
    else {
      text = 'You give ' + (g ? plural(g, 'item', 'items') : 'nothing') + ' and ask for ' +
        (w ? plural(w, 'item', 'items') : 'nothing') + (partner ? ' from ' + partner.name : '') + '.';
    }
    summary.textContent = text;
    summary.classList.toggle('is-over', g + w > MAX_ITEMS);
    sendButton.disabled = sending;
    sendButton.textContent = sending ? 'Sending…' : (partner ? 'Send offer to ' + partner.name : 'Send offer');
  }

  function clearOfferMessages() {
    offerError.hidden = true;
    offerError.textContent = '';
    offerOk.hidden = true;
    offerOk.textContent = '';
  }

  function showOfferError(text) {
    offerOk.hidden = true;
    offerError.textContent = text;
    offerError.hidden = false;
  }

  function updateNoteCounter() {
    var left = NOTE_MAX - Array.from(noteInput.value).length;
    noteCounter.textContent = left >= 0 ? plural(left, 'character', 'characters') + ' left' : plural(-left, 'character', 'characters') + ' too many';
    noteCounter.classList.toggle('is-low', left <= 20 && left >= 0);
    noteCounter.classList.toggle('is-over', left < 0);
  }
  noteInput.addEventListener('input', function () { offerKey = null; updateNoteCounter(); });
  updateNoteCounter();

  function clearSelection() {
    give = Object.create(null);
    want = Object.create(null);
    renderItems(inventoryList, myItems, give, 'give');
    if (partner) renderItems(partnerList, partner.items, want, 'want');
    offerKey = null;
    updateSummary();
  }

  clearButton.addEventListener('click', function () {
    clearOfferMessages();
    clearSelection();
  });

  function sendOffer() {
    if (sending) return;
    clearOfferMessages();
    if (!partner) {
      showOfferError('First load the items of the person you want to trade with (“Trade with…” above).');
      partnerInput.focus();
      return;
    }
    var g = idsOf(selectedGive());
    var w = idsOf(selectedWant());
    if (!g.length && !w.length) {
      showOfferError('Pick at least one item: one of yours to give, or one of ' + partner.name + '’s to ask for.');
      return;
    }
    if (g.length + w.length > MAX_ITEMS) {
      showOfferError('An offer moves at most ' + MAX_ITEMS + ' items; you picked ' + (g.length + w.length) + '.');
      return;
    }
    var note = noteInput.value.trim();
    if (Array.from(note).length > NOTE_MAX) {
      showOfferError('The note is too long: ' + NOTE_MAX + ' characters at most.');
      return;
    }
    if (!offerKey) offerKey = newKey();
    var to = partner.name;
    var request = { to: to, give: g, want: w, key: offerKey };
    if (note) request.note = note;
    sending = true;
    updateSummary();
    socket.timeout(ACK_TIMEOUT_MS).emit('trade:offer', request, function (err, res) {
      sending = false;
      if (err) {
        // The offer may have arrived: sending again reuses the key, so it is not made twice.
        showOfferError('The hub did not answer in time. Try again.');
      } else if (!res || res.ok !== true || !validTrade(res.trade)) {
        offerKey = null;
        var code = res && res.error && res.error.code;
        var message = (res && res.error && res.error.message) || 'the hub refused it';
        if (code === 'unauthenticated') showOfferError('Your session has ended: log in again to trade.');
        else showOfferError('Offer not sent: ' + message + '.');
        // Somebody's items changed under us: show what is really there now.
        if (code === 'not_owner') loadInventory();
        if (code === 'not_theirs' && partner) loadPartner(partner.name, true);
      } else {
        offerKey = null;
        apply(res.trade, { fresh: true });
        clearSelection();
        noteInput.value = '';
        updateNoteCounter();
        offerOk.textContent = 'Offer sent to ' + res.trade.to + '.';
        offerOk.hidden = false;
      }
      updateSummary();
    });
  }

  sendButton.addEventListener('click', sendOffer);

  // ---- trades -------------------------------------------------------------------------

  function chips(items) {
    var list = (Array.isArray(items) ? items : []).filter(validItem);
    if (!list.length) return el('p', { 'class': 'muted small chips-none', text: 'nothing' });
    return el('ul', { 'class': 'chips' }, list.map(function (it) {
      var rarity = rarityOf(it);
      return el('li', {
        'class': 'chip rarity-' + rarity,
        dataset: { id: it.id },
        attrs: { title: it.name + ' (' + rarity + ')' }
      }, [swatch(it), el('span', { 'class': 'chip-name', text: it.name })]);
    }));
  }

  function tradeCard(t) {
    var mine = isMe(t.from); // I made the offer
    var other = mine ? t.to : t.from;
    var active = t.status === 'active';
    var youGet = mine ? t.want : t.give;
    var youGive = mine ? t.give : t.want;
    var status = STATUS_TEXT[t.status] ? t.status : 'invalid';

    var partnerButtonNode = el('button', {
      'class': 'link-button trade-partner',
      text: other,
      attrs: { type: 'button', title: 'Show ' + other + '’s items' }
    });
    partnerButtonNode.addEventListener('click', function () {
      partnerInput.value = other;
      clearOfferMessages();
      loadPartner(other);
      partnerInput.scrollIntoView({ block: 'center', behavior: 'smooth' });
    });

    var head = el('div', { 'class': 'trade-head' }, [
      Agora.avatar(other, true),
      el('span', { 'class': 'trade-title' }, [mine ? 'To ' : 'From ', partnerButtonNode]),
      el('span', { 'class': 'badge status-badge status-' + status, text: STATUS_TEXT[status] }),
      timeNode(active ? t.created_at : (t.updated_at || t.created_at))
    ]);

    var body = el('div', { 'class': 'trade-body' }, [
      el('div', { 'class': 'trade-col trade-get' }, [
        el('span', { 'class': 'trade-col-title', text: active || status === 'accepted' ? 'You get' : 'You would get' }),
        chips(youGet)
      ]),
      el('span', { 'class': 'trade-arrow', text: '⇄', attrs: { 'aria-hidden': 'true' } }),
      el('div', { 'class': 'trade-col trade-give' }, [
        el('span', { 'class': 'trade-col-title', text: active || status === 'accepted' ? 'You give' : 'You would give' }),
        chips(youGive)
      ])
    ]);

    var children = [head, body];
    if (typeof t.note === 'string' && t.note) children.push(el('p', { 'class': 'trade-note', text: t.note }));
    if (active && t.expires_at) {
      children.push(el('p', { 'class': 'muted small trade-expiry', dataset: { expires: t.expires_at } }, [
        'Expires ' + fromNow(t.expires_at)
      ]));
    } else if (status === 'invalid') {
      children.push(el('p', { 'class': 'muted small trade-reason', text: 'An item in it changed hands, so it can no longer happen.' }));
    } else if (status === 'expired') {
      children.push(el('p', { 'class': 'muted small trade-reason', text: 'Nobody answered in time.' }));
    }
    children.push(el('p', { 'class': 'error trade-msg', attrs: { role: 'alert' } }));
    if (active) {
      var actions = mine
        ? [el('button', { 'class': 'btn btn-ghost btn-sm cancel', text: 'Cancel offer', attrs: { type: 'button' } })]
        : [
            el('button', { 'class': 'btn btn-primary btn-sm accept', text: 'Accept', attrs: { type: 'button' } }),
            el('button', { 'class': 'btn btn-ghost btn-sm decline', text: 'Decline', attrs: { type: 'button' } })
          ];
      children.push(el('div', { 'class': 'trade-actions' }, actions));
    }

    var li = el('li', {
      'class': 'trade ' + (mine ? 'is-outgoing' : 'is-incoming') + (active ? '' : ' is-final'),
      dataset: { id: t.id, status: status, from: t.from, to: t.to }
    }, children);
    li.querySelector('.trade-msg').hidden = true;
    li._id = Number(t.id);
    li._time = active ? 0 : Number(t.updated_at || t.created_at || 0); // history: latest change first
    return li;
  }

  /** Insert newest first: by the time of the last change (history), then by id. */
  function place(ul, li) {
    var before = null;
    for (var c = ul.firstElementChild; c; c = c.nextElementSibling) {
      if (c._time < li._time || (c._time === li._time && c._id < li._id)) { before = c; break; }
    }
    ul.insertBefore(li, before);
  }

  function renderCounts() {
    var nIn = incoming.children.length;
    var nOut = outgoing.children.length;
    $('incoming-count').textContent = nIn ? String(nIn) : '';
    $('outgoing-count').textContent = nOut ? String(nOut) : '';
    $('incoming-empty').hidden = nIn > 0;
    $('outgoing-empty').hidden = nOut > 0;
    $('history-empty').hidden = historyList.children.length > 0;
    while (historyList.children.length > MAX_HISTORY) {
      var last = historyList.lastElementChild;
      delete nodes[last.dataset.id];
      historyList.removeChild(last);
    }
  }

  /** What to tell the user when one of their trades stops being active. */
  function transitionText(t) {
    var mine = isMe(t.from);
    var other = mine ? t.to : t.from;
    switch (t.status) {
      case 'accepted': return mine ? other + ' accepted your offer. Your items are updated.' : 'You accepted ' + other + '’s offer. Your items are updated.';
      case 'declined': return mine ? other + ' declined your offer.' : 'You declined ' + other + '’s offer.';
      case 'canceled': return mine ? 'You canceled your offer to ' + other + '.' : other + ' withdrew their offer.';
      case 'expired': return mine ? 'Your offer to ' + other + ' expired.' : other + '’s offer expired.';
      default: return (mine ? 'Your offer to ' + other : other + '’s offer') + ' is no longer possible: an item in it changed hands.';
    }
  }

  var NOTICE_KIND = { accepted: 'success', declined: 'info', canceled: 'info', expired: 'warning', invalid: 'warning' };

  var reloadTimer = null;
  /** Inventories changed: re-read ours and the partner's (several updates come together). */
  function scheduleInventoryReload() {
    if (reloadTimer) return;
    reloadTimer = setTimeout(function () {
      reloadTimer = null;
      loadInventory();
      if (partner) loadPartner(partner.name, true);
    }, 120);
  }

  /**
   * Take in a trade from the list, an event or an ack. Final states are final: an older "active"
   * copy never brings a finished trade back. opts: {fresh: highlight, quiet: no notice}.
   */
  function apply(t, opts) {
    opts = opts || {};
    if (!validTrade(t)) return;
    var old = trades[t.id];
    if (old) {
      if (FINAL[old.status] && !FINAL[t.status]) return;
      if (old.status === t.status && Number(t.updated_at || 0) < Number(old.updated_at || 0)) return;
      if (old.status === t.status && Number(t.updated_at || 0) === Number(old.updated_at || 0) && nodes[t.id]) return;
    }
    trades[t.id] = t;
    var li = tradeCard(t);
    var prev = nodes[t.id];
    if (prev && prev.parentNode) prev.parentNode.removeChild(prev);
    nodes[t.id] = li;
    var target = FINAL[t.status] ? historyList : (isMe(t.from) ? outgoing : incoming);
    place(target, li);
    if (opts.fresh || (old && old.status !== t.status)) {
      li.classList.add('is-new');
      setTimeout(function () { li.classList.remove('is-new'); }, 2500);
    }
    renderCounts();

    var finishedNow = FINAL[t.status] && (!old || old.status === 'active') && (old || opts.live);
    if (finishedNow && !opts.quiet) notice(transitionText(t), NOTICE_KIND[t.status]);
    if (t.status === 'accepted' && finishedNow) scheduleInventoryReload();
    if (t.status === 'invalid' && finishedNow && partner &&
        (lower(partner.name) === lower(t.from) || lower(partner.name) === lower(t.to))) {
      scheduleInventoryReload();
    }
  }

  function loadTrades() {
    var seq = ++tradesSeq;
    return Promise.all([getJSON('/api/trades?status=active'), getJSON('/api/trades')]).then(function (bodies) {
      if (seq !== tradesSeq) return;
      var active = bodies[0] && Array.isArray(bodies[0].trades) ? bodies[0].trades : [];
      var all = bodies[1] && Array.isArray(bodies[1].trades) ? bodies[1].trades : [];
      all.concat(active).forEach(function (t) { apply(t); });
      [incoming, outgoing, historyList].forEach(function (ul) {
        ul.dataset.state = 'loaded';
        ul.classList.remove('is-stale');
      });
      renderCounts();
    }).catch(function (e) {
      if (seq !== tradesSeq) return;
      notice(e.status === 401
        ? 'Your session has ended: log in again to trade.'
        : 'Could not load your offers (' + e.message + ').', 'error');
      [incoming, outgoing, historyList].forEach(function (ul) { ul.dataset.state = 'error'; });
    });
  }

  // Accept / Decline / Cancel, delegated for all three lists.
  function onDecision(e) {
    var btn = e.target.closest ? e.target.closest('button.accept, button.decline, button.cancel') : null;
    if (!btn) return;
    var li = btn.closest('li.trade');
    if (!li) return;
    var id = Number(li.dataset.id);
    var event = btn.classList.contains('accept') ? 'trade:accept'
      : btn.classList.contains('decline') ? 'trade:decline' : 'trade:cancel';
    var verb = { 'trade:accept': 'accept', 'trade:decline': 'decline', 'trade:cancel': 'cancel' }[event];
    var msg = li.querySelector('.trade-msg');
    var buttons = li.querySelectorAll('.trade-actions button');
    Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
    li.classList.add('is-busy');
    msg.hidden = true;
    socket.timeout(ACK_TIMEOUT_MS).emit(event, { id: id }, function (err, res) {
      li.classList.remove('is-busy');
      var current = nodes[li.dataset.id] === li; // not replaced by an update meanwhile
      function fail(text) {
        if (current) {
          msg.textContent = text;
          msg.hidden = false;
          Array.prototype.forEach.call(buttons, function (b) { b.disabled = false; });
        } else {
          notice(text, 'error');
        }
      }
      if (err) return fail('The hub did not answer in time. Try again.');
      if (res && res.ok === true && validTrade(res.trade)) return apply(res.trade, { live: true });
      var message = (res && res.error && res.error.message) || 'the hub refused it';
      var code = res && res.error && res.error.code;
      if (res && validTrade(res.trade)) {
        // No longer active (expired, or an item changed hands): show where it stands.
        apply(res.trade, { quiet: true, live: true });
        notice('Could not ' + verb + ': ' + message + '.', FINAL[res.trade.status] ? 'warning' : 'error');
        if (res.trade.status === 'invalid') scheduleInventoryReload();
        return;
      }
      if (code === 'unauthenticated') return fail('Your session has ended: log in again to trade.');
      fail('Could not ' + verb + ': ' + message + '.');
    });
  }
  [incoming, outgoing].forEach(function (ul) { ul.addEventListener('click', onDecision); });

  // Keep "expires in …" honest.
  setInterval(function () {
    Array.prototype.forEach.call(document.querySelectorAll('.trade-expiry[data-expires]'), function (p) {
      p.textContent = 'Expires ' + fromNow(p.dataset.expires);
    });
  }, 30000);

  // ---- live ----------------------------------------------------------------------------

  socket.on('trade:offer', function (t) {
    if (!validTrade(t)) return;
    var known = !!trades[t.id];
    apply(t, { fresh: true, live: true });
    if (!known && t.status === 'active' && !isMe(t.from)) {
      notice('New offer from ' + t.from + '.', 'info');
    }
  });

  socket.on('trade:update', function (t) {
    apply(t, { fresh: !trades[t && t.id], live: true });
  });

  // Back after a reconnect: what changed while we were away?
  var connectedOnce = false;
  socket.on('connect', function () {
    if (connectedOnce) {
      loadTrades();
      loadInventory();
      if (partner) loadPartner(partner.name, true);
    }
    connectedOnce = true;
  });
  socket.on('disconnect', function () {
    [inventoryList, partnerList, incoming, outgoing].forEach(function (ul) { ul.classList.add('is-stale'); });
  });

  // ---- start ---------------------------------------------------------------------------

  updateSummary();
  renderCounts();
  loadInventory();
  loadTrades();
  var wanted = new URLSearchParams(window.location.search).get('with');
  if (wanted) {
    partnerInput.value = wanted;
    loadPartner(wanted);
  }
})();
