/*
 * Trades page, inventories: your items and the partner's, loading them, and selecting items by click.
 * Adds to AgoraTrades: renderItems, loadInventory, loadPartner.
 */
AgoraTrades.view(function (T, S, dom) {
  'use strict';

  var el = Agora.el;
  var inventorySeq = 0;
  var partnerSeq = 0;

  function itemCard(it, selected, side) {
    var rarity = T.rarityOf(it);
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
        T.swatch(it),
        el('span', { 'class': 'item-info' }, [
          el('span', { 'class': 'item-name', text: it.name }),
          el('span', { 'class': 'badge rarity-badge', text: rarity })
        ]),
        el('span', { 'class': 'item-check', text: '✓', attrs: { 'aria-hidden': 'true' } })
      ])
    ]);
    var c = T.colorOf(it);
    if (c) li.style.setProperty('--item-color', c);
    return li;
  }

  /** Render a list of items; selected ids that are no longer there are dropped. */
  T.renderItems = function (ul, items, selected, side) {
    var present = Object.create(null);
    Agora.clear(ul);
    items.forEach(function (it) {
      present[String(it.id)] = true;
      ul.appendChild(itemCard(it, selected, side));
    });
    T.keys(selected).forEach(function (id) { if (!present[id]) delete selected[id]; });
  };

  function setStatus(node, text, isError) {
    node.textContent = text || '';
    node.hidden = !text;
    node.classList.toggle('is-error', !!isError);
  }

  T.loadInventory = function () {
    var seq = ++inventorySeq;
    return Agora.fetchJSON('/api/inventory').then(function (body) {
      if (seq !== inventorySeq) return;
      S.myItems = (body && Array.isArray(body.items) ? body.items : []).filter(T.validItem);
      T.renderItems(dom.inventoryList, S.myItems, S.give, 'give');
      dom.inventoryCount.textContent = String(S.myItems.length);
      setStatus(dom.inventoryStatus, S.myItems.length ? '' : 'You have no items right now.');
      dom.inventoryList.dataset.state = 'loaded';
      dom.inventoryList.classList.remove('is-stale');
      T.updateSummary();
    }).catch(function (e) {
      if (seq !== inventorySeq) return;
      dom.inventoryList.dataset.state = 'error';
      setStatus(dom.inventoryStatus, e.status === 401
        ? 'Your session has ended: log in again to trade.'
        : 'Could not load your items (' + e.message + ').', true);
    });
  };

  /** Nobody by that name: forget the partner and what was asked of them. */
  function unknownPartner(name) {
    S.partner = null;
    S.want = Object.create(null);
    Agora.clear(dom.partnerList);
    dom.partnerCount.textContent = '';
    delete dom.partnerList.dataset.user;
    dom.partnerList.dataset.state = 'error';
    setStatus(dom.partnerStatus, 'Nobody is called “' + name + '”.', true);
    T.updateSummary();
  }

  /** Load (or reload, quietly) the items of the person to trade with. */
  T.loadPartner = function (name, quiet) {
    name = String(name || '').trim();
    var seq = ++partnerSeq;
    if (!name) {
      setStatus(dom.partnerStatus, 'Type the name of the person you want to trade with.', true);
      dom.partnerInput.focus();
      return Promise.resolve();
    }
    if (T.isMe(name)) {
      setStatus(dom.partnerStatus, 'That is you: pick someone else to trade with.', true);
      dom.partnerInput.focus();
      return Promise.resolve();
    }
    if (!quiet) setStatus(dom.partnerStatus, 'Loading ' + name + '’s items…');
    dom.partnerButton.disabled = true;
    return Agora.fetchJSON('/api/users/' + encodeURIComponent(name) + '/inventory').then(function (body) {
      if (seq !== partnerSeq) return;
      var items = (body && Array.isArray(body.items) ? body.items : []).filter(T.validItem);
      var shownName = body && typeof body.user === 'string' && body.user ? body.user : name;
      if (!S.partner || T.lower(S.partner.name) !== T.lower(shownName)) S.want = Object.create(null);
      S.partner = { name: shownName, items: items };
      T.renderItems(dom.partnerList, items, S.want, 'want');
      dom.partnerCount.textContent = String(items.length);
      setStatus(dom.partnerStatus, items.length
        ? 'Trading with ' + shownName + ': click the items you want.'
        : shownName + ' has no items right now.');
      dom.partnerList.dataset.state = 'loaded';
      dom.partnerList.dataset.user = shownName;
      dom.partnerList.classList.remove('is-stale');
      T.updateSummary();
    }).catch(function (e) {
      if (seq !== partnerSeq) return;
      if (e.code === 'unknown_user' || e.status === 404) unknownPartner(name);
      else setStatus(dom.partnerStatus, 'Could not load ' + name + '’s items (' + e.message + ').', true);
    }).then(function () {
      if (seq === partnerSeq) dom.partnerButton.disabled = false;
    });
  };

  dom.partnerForm.addEventListener('submit', function (e) {
    e.preventDefault();
    T.clearOfferMessages();
    T.loadPartner(dom.partnerInput.value);
  });

  /** Click an item to select it or not; `side` names the map in the state (it gets replaced). */
  function onItemClick(ul, side) {
    ul.addEventListener('click', function (e) {
      var li = e.target.closest ? e.target.closest('li.item') : null;
      if (!li || !ul.contains(li)) return;
      var selected = S[side];
      var id = li.dataset.id;
      if (selected[id]) delete selected[id];
      else selected[id] = true;
      var on = !!selected[id];
      li.classList.toggle('selected', on);
      var btn = li.querySelector('.item-btn');
      if (btn) btn.setAttribute('aria-pressed', on ? 'true' : 'false');
      S.offerKey = null; // a different offer from now on
      T.clearOfferMessages();
      T.updateSummary();
    });
  }
  onItemClick(dom.inventoryList, 'give');
  onItemClick(dom.partnerList, 'want');
});
