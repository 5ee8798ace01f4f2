/*
 * Trades page, wiring (loaded last): the socket and its live events, what to re-read after a
 * reconnect, and the first load (?with=NAME preloads a partner).
 */
(function () {
  'use strict';

  var socket = io(); // guests get one too: it drives the connection pill
  Agora.trackConnection(socket);

  AgoraTrades.view(function (T, S, dom) {
    T.socket = socket;

    socket.on('trade:offer', function (t) {
      if (!T.validTrade(t)) return;
      var known = !!S.trades[t.id];
      T.apply(t, { fresh: true, live: true });
      if (!known && t.status === 'active' && !T.isMe(t.from)) {
        T.notice('New offer from ' + t.from + '.', 'info');
      }
    });

    socket.on('trade:update', function (t) {
      T.apply(t, { fresh: !S.trades[t && t.id], live: true });
    });

    // Back after a reconnect: what changed while we were away?
    var connectedOnce = false;
    socket.on('connect', function () {
      if (connectedOnce) {
        T.loadTrades();
        T.loadInventory();
        if (S.partner) T.loadPartner(S.partner.name, true);
      }
      connectedOnce = true;
    });
    socket.on('disconnect', function () {
      [dom.inventoryList, dom.partnerList, dom.incoming, dom.outgoing].forEach(function (ul) {
        ul.classList.add('is-stale');
      });
    });

    T.updateSummary();
    T.renderCounts();
    T.loadInventory();
    T.loadTrades();
    var wanted = new URLSearchParams(window.location.search).get('with');
    if (wanted) {
      dom.partnerInput.value = wanted;
      T.loadPartner(wanted);
    }
  });
})();
