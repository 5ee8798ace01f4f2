/*
 * Trades page, one trade as a card: who, what each side gets, the note, the status, the buttons.
 * Adds to AgoraTrades: tradeCard, transitionText.
 */
AgoraTrades.view(function (T, S, dom) {
  'use strict';

  var el = Agora.el;

  function chips(items) {
    var list = (Array.isArray(items) ? items : []).filter(T.validItem);
    if (!list.length) return el('p', { 'class': 'muted small chips-none', text: 'nothing' });
    return el('ul', { 'class': 'chips' }, list.map(function (it) {
      var rarity = T.rarityOf(it);
      return el('li', {
        'class': 'chip rarity-' + rarity,
        dataset: { id: it.id },
        attrs: { title: it.name + ' (' + rarity + ')' }
      }, [T.swatch(it), el('span', { 'class': 'chip-name', text: it.name })]);
    }));
  }

  /** The other person's name as a button that loads their items into the composer. */
  function partnerLink(other) {
    var button = el('button', {
      'class': 'link-button trade-partner',
      text: other,
      attrs: { type: 'button', title: 'Show ' + other + '’s items' }
    });
    button.addEventListener('click', function () {
      dom.partnerInput.value = other;
      T.clearOfferMessages();
      T.loadPartner(other);
      dom.partnerInput.scrollIntoView({ block: 'center', behavior: 'smooth' });
    });
    return button;
  }

  /** Expiry while open, else why it ended (when that needs saying). */
  function footnote(t, active, status) {
    if (active && t.expires_at) {
      return el('p', { 'class': 'muted small trade-expiry', dataset: { expires: t.expires_at } }, [
        'Expires ' + T.fromNow(t.expires_at)
      ]);
    }
    if (status === 'invalid') {
      return el('p', { 'class': 'muted small trade-reason', text: 'An item in it changed hands, so it can no longer happen.' });
    }
    if (status === 'expired') return el('p', { 'class': 'muted small trade-reason', text: 'Nobody answered in time.' });
    return null;
  }

  /** A trade's <li>: its _id and _time (0 while open, else the last change) order the lists. */
  T.tradeCard = function (t) {
    var mine = T.isMe(t.from); // I made the offer
    var other = mine ? t.to : t.from;
    var active = t.status === 'active';
    var youGet = mine ? t.want : t.give;
    var youGive = mine ? t.give : t.want;
    var status = T.STATUS_TEXT[t.status] ? t.status : 'invalid';
    var sure = active || status === 'accepted';

    var head = el('div', { 'class': 'trade-head' }, [
      Agora.avatar(other, true),
      el('span', { 'class': 'trade-title' }, [mine ? 'To ' : 'From ', partnerLink(other)]),
      el('span', { 'class': 'badge status-badge status-' + status, text: T.STATUS_TEXT[status] }),
      Agora.timeNode(active ? t.created_at : (t.updated_at || t.created_at))
    ]);

    var body = el('div', { 'class': 'trade-body' }, [
      el('div', { 'class': 'trade-col trade-get' }, [
        el('span', { 'class': 'trade-col-title', text: sure ? 'You get' : 'You would get' }),
        chips(youGet)
      ]),
      el('span', { 'class': 'trade-arrow', text: '⇄', attrs: { 'aria-hidden': 'true' } }),
      el('div', { 'class': 'trade-col trade-give' }, [
        el('span', { 'class': 'trade-col-title', text: sure ? 'You give' : 'You would give' }),
        chips(youGive)
      ])
    ]);

    var children = [head, body];
    if (typeof t.note === 'string' && t.note) children.push(el('p', { 'class': 'trade-note', text: t.note }));
    children.push(footnote(t, active, status));
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
  };

  /** What to tell the user when one of their trades stops being active. */
  T.transitionText = function (t) {
    var mine = T.isMe(t.from);
    var other = mine ? t.to : t.from;
    switch (t.status) {
      case 'accepted': return mine ? other + ' accepted your offer. Your items are updated.' : 'You accepted ' + other + '’s offer. Your items are updated.';
      case 'declined': return mine ? other + ' declined your offer.' : 'You declined ' + other + '’s offer.';
      case 'canceled': return mine ? 'You canceled your offer to ' + other + '.' : other + ' withdrew their offer.';
      case 'expired': return mine ? 'Your offer to ' + other + ' expired.' : other + '’s offer expired.';
      default: return (mine ? 'Your offer to ' + other : other + '’s offer') + ' is no longer possible: an item in it changed hands.';
    }
  };
});
