/*
 * Home page: the welcome line and the list of who is online, both pushed by the server.
 *   welcome  {"text": "thanks for joining", "user": "<name>"}
 *   online   {"users": ["alice", "guest-x1y2", ...]}
 */
(function () {
  'use strict';

  var socket = io();
  Agora.trackConnection(socket);

  var welcome = document.getElementById('welcome');
  var online = document.getElementById('online');
  var count = document.getElementById('online-count');
  var me = Agora.currentUser();
  var lastUsers = null;

  function renderOnline() {
    if (!lastUsers) return;
    var n = Agora.renderUserList(online, lastUsers, { me: me, empty: 'Nobody is online right now.' });
    count.textContent = String(n);
    online.classList.remove('is-stale');
  }

  socket.on('welcome', function (msg) {
    if (msg && typeof msg.user === 'string' && msg.user) me = msg.user;
    Agora.renderWelcome(welcome, msg);
    renderOnline(); // mark "you" now that we know who we are
  });

  socket.on('online', function (msg) {
    lastUsers = msg && Array.isArray(msg.users) ? msg.users : [];
    renderOnline();
  });

  // The list is only as fresh as the connection: dim it while we are away.
  socket.on('disconnect', function () { online.classList.add('is-stale'); });
})();
