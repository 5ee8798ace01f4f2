/*
 * Board page: notes pinned by anyone, newest on top, arriving live.
 *   GET  /messages[?before=ID]  → [{id, name, message, at}] oldest first (the last 100)
 *   POST /messages {name, message} → 201 {id, name, message, at}; 400/429 {error: {code, message}}
 *   on   message {id, name, message, at}   (every socket, the poster's too: deduplicated by id)
 */
(function () {
  'use strict';

  var PAGE_SIZE = 100;
  var MESSAGE_MAX = 1000;
  var NAME_KEY = 'agora.board.name';

  var socket = io();
  Agora.trackConnection(socket);

  var $ = function (id) { return document.getElementById(id); };
  var form = $('board-form');
  var nameInput = form.elements.name;
  var messageInput = form.elements.message;
  var submitButton = form.querySelector('button[type="submit"]');
  var errorBox = $('board-error');
  var counter = $('board-counter');
  var list = $('board-messages');
  var count = $('board-count');
  var status = $('board-status');
  var olderButton = $('board-older');

  var shown = Object.create(null); // id -> true
  var loaded = false;

  // A guest's name is remembered in this browser; a signed-in user's comes from the server.
  if (!nameInput.value) {
    try { nameInput.value = localStorage.getItem(NAME_KEY) || ''; } catch (e) { /* storage may be off */ }
  }

  // ---- rendering -----------------------------------------------------------

  function valid(m) {
    return m && typeof m === 'object' && m.id !== undefined && m.id !== null &&
      typeof m.name === 'string' && typeof m.message === 'string';
  }

  /** Newer first: by id when both are numbers, else by time. */
  function newer(a, b) {
    var ia = Number(a.id), ib = Number(b.id);
    if (!isNaN(ia) && !isNaN(ib) && ia !== ib) return ia > ib;
    return Number(a.at) > Number(b.at);
  }

  function item(m) {
    var li = Agora.el('li', { 'class': 'card note', dataset: { id: m.id } }, [
      Agora.el('div', { 'class': 'note-meta' }, [
        Agora.avatar(m.name, true),
        Agora.el('span', { 'class': 'name', text: m.name, attrs: { title: m.name } }),
        Agora.timeNode(m.at)
      ]),
      Agora.el('p', { 'class': 'message', text: m.message })
    ]);
    li._note = { id: m.id, at: m.at };
    return li;
  }

  function updateCount() {
    var n = Object.keys(shown).length;
    count.textContent = n ? String(n) : '';
    if (loaded) {
      status.textContent = n ? '' : 'Nothing pinned yet — be the first.';
      status.hidden = n > 0;
    }
  }

  /** Put a note in its place (newest first); returns its element, or null if it was already shown. */
  function insert(m, fresh) {
    if (!valid(m) || shown[m.id]) return null;
    shown[m.id] = true;
    var li = item(m);
    var children = list.children;
    var before = null;
    for (var i = 0; i < children.length; i++) {
      if (children[i]._note && newer(m, children[i]._note)) { before = children[i]; break; }
    }
    list.insertBefore(li, before);
    if (fresh) {
      li.classList.add('is-new');
      setTimeout(function () { li.classList.remove('is-new'); }, 2500);
    }
    return li;
  }

  function oldestId() {
    var last = list.lastElementChild;
    return last && last._note ? last._note.id : null;
  }

  // ---- loading -------------------------------------------------------------

  /** Why a load failed, as the page has always said it: "HTTP 500", or the browser's network error. */
  function reason(e) {
    return e.status ? 'HTTP ' + e.status : e.message;
  }

  function load() {
    return Agora.fetchJSON('/messages').then(function (items) {
      if (!Array.isArray(items)) throw new Error('unexpected answer');
      items.forEach(function (m) { insert(m, false); });
      if (!loaded) olderButton.hidden = items.length < PAGE_SIZE;
      loaded = true;
      list.dataset.state = 'loaded';
      status.hidden = true;
      updateCount();
    }).catch(function (e) {
      if (!loaded) list.dataset.state = 'error';
      status.hidden = false;
      status.textContent = 'Could not load the board (' + reason(e) + ').';
    });
  }

  olderButton.addEventListener('click', function () {
    var before = oldestId();
    if (before === null) return;
    olderButton.disabled = true;
    Agora.fetchJSON('/messages?before=' + encodeURIComponent(before)).then(function (items) {
      if (!Array.isArray(items)) items = [];
      items.forEach(function (m) { insert(m, false); });
      olderButton.hidden = items.length < PAGE_SIZE;
      updateCount();
    }).catch(function (e) {
      showError('Could not load older notes (' + reason(e) + ').');
    }).then(function () { olderButton.disabled = false; });
  });

  // ---- posting ---------------------------------------------------------------

  function showError(text) {
    errorBox.textContent = text || '';
    errorBox.hidden = !text;
  }

  function updateCounter() {
    var left = MESSAGE_MAX - messageInput.value.length;
    counter.textContent = left === 1 ? '1 character left' : left + ' characters left';
    counter.classList.toggle('is-low', left < 50);
  }
  messageInput.addEventListener('input', updateCounter);
  updateCounter();

  // Ctrl/Cmd+Enter posts from the text area.
  messageInput.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      if (typeof form.requestSubmit === 'function') form.requestSubmit();
      else submitButton.click();
    }
  });

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var name = nameInput.value.trim();
    var message = messageInput.value;
    if (!name) { showError('Please enter your name.'); nameInput.focus(); return; }
    if (name.length > 40) { showError('Names are at most 40 characters.'); nameInput.focus(); return; }
    if (!message.trim()) { showError('Please write a message.'); messageInput.focus(); return; }
    if (message.length > MESSAGE_MAX) { showError('Messages are at most ' + MESSAGE_MAX + ' characters.'); messageInput.focus(); return; }
    showError('');
    submitButton.disabled = true;
    Agora.fetchJSON('/messages', {
      method: 'POST',
      body: { name: name, message: message },
      csrf: form.dataset.csrf
    }).then(function (body) {
      var li = insert(body, true);
      if (li) li.scrollIntoView({ block: 'nearest' });
      updateCount();
      messageInput.value = '';
      updateCounter();
      try { if (!Agora.currentUser()) localStorage.setItem(NAME_KEY, name); } catch (err) { /* ignore */ }
    }, function (e) {
      if (e.code === 'network') {
        showError('Could not reach the server. Check your connection and try again.');
        return;
      }
      var text = e.body && e.body.error && e.body.error.message;
      if (e.status === 429) text = text || 'You are posting too fast — wait a moment.';
      showError(text || 'Could not post (HTTP ' + e.status + ').');
    }).then(function () {
      submitButton.disabled = false;
    });
  });

  // ---- live updates ------------------------------------------------------------

  socket.on('message', function (m) {
    if (insert(m, true)) updateCount();
  });

  // Back after a reconnect: fetch what was pinned while we were away.
  var connectedOnce = false;
  socket.on('connect', function () {
    if (connectedOnce) load();
    connectedOnce = true;
  });

  load();
})();
