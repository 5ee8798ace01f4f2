/*
 * Chat page: rooms with member counts, one active room at a time (joining another leaves the previous
 * one), its messages, who is in it and who is typing. Everything from users goes in as text.
 *   emit  chat:rooms                     ack {ok, rooms: [{name, members}]}
 *   emit  chat:join  {room, after?}      ack {ok, room, members: [names], history: [message]}
 *                                        (with `after`: the messages after that id instead of the last 50)
 *   emit  chat:leave {room}              ack {ok, room}
 *   emit  chat:send  {room, text}        ack {ok, message: {id, room, user, text, at}}
 *   emit  chat:typing {room}             (no ack)
 *   on    chat:rooms {rooms}, chat:presence {room, user, online}, chat:message {message...},
 *         chat:typing {room, user}, welcome {text, user}
 * With connection state recovery on, every event has its offset as an extra last argument: the
 * handlers here only read their first argument.
 *
 * After a reconnect: if the server recovered the session (socket.recovered), the events missed while
 * offline arrive by themselves; otherwise the page re-joins its room with `after` = the last message
 * id it shows and appends what it missed. Either way messages are deduplicated by id.
 */
(function () {
  'use strict';

  var TYPING_THROTTLE_MS = 2000; // send chat:typing at most this often
  var TYPING_SHOW_MS = 3000; // show "x is typing…" this long after the last signal
  var DEFAULT_ROOM = 'lobby';

  var socket = io();
  Agora.trackConnection(socket);

  var $ = function (id) { return document.getElementById(id); };
  var welcome = $('welcome');
  var roomList = $('room-list');
  var joinForm = $('join-form');
  var roomName = $('room-name');
  var roomState = $('room-state');
  var messages = $('messages');
  var messagesEmpty = $('messages-empty');
  var typing = $('typing');
  var chatError = $('chat-error');
  var messageForm = $('message-form');
  var messageInput = messageForm.elements.text;
  var sendButton = messageForm.querySelector('button[type="submit"]');
  var members = $('members');
  var memberCount = $('member-count');

  var me = Agora.currentUser();
  var wanted = DEFAULT_ROOM; // the room the page shows (re-joined after a reconnect)
  var active = null; // the room we are in right now, as confirmed by the server
  var joinSeq = 0; // ignore answers to joins that a later join has overtaken
  // Events for the room being joined can arrive before the join's answer: keep them, replay them
  // onto the answer's members and history (in order, so an arrival then a departure both count).
  var early = [];
  var memberNames = [];
  var rooms = [];
  var seenIds = Object.create(null);
  var lastId = null; // highest message id shown in the active room (for `after` on a re-join)
  var joinedAtDrop = null; // the room we were in when the connection dropped
  var typers = Object.create(null); // user -> timer
  var lastTypingSent = 0;

  // ---- small helpers -------------------------------------------------------

  function errorText(res, fallback) {
    if (res && res.error && typeof res.error.message === 'string' && res.error.message) return res.error.message;
    if (res && res.error && res.error.code === 'rate_limited') return 'You are sending too fast — wait a moment.';
    return fallback;
  }

  function showError(text) {
    chatError.textContent = text || '';
    chatError.hidden = !text;
  }

  /** The text for the user when an Agora.request failed (no answer in time, or a refusal). */
  function failureText(e) {
    if (e.code === 'timeout') return e.message;
    return errorText(e.answer, 'That did not work.');
  }

  /** Emit an event the hub acknowledges; Agora.request's Promise (see common.js). */
  function request(event, data) {
    return Agora.request(socket, event, data);
  }

  function ignore() {}

  function nearBottom() {
    return messages.scrollHeight - messages.scrollTop - messages.clientHeight < 80;
  }

  function scrollToBottom() {
    messages.scrollTop = messages.scrollHeight;
  }

  function setComposer(enabled) {
    messageInput.disabled = !enabled;
    sendButton.disabled = !enabled;
  }

  // ---- rooms ---------------------------------------------------------------

  function renderRooms() {
    Agora.clear(roomList);
    var list = rooms.filter(function (r) { return r && typeof r.name === 'string'; });
    // The room we show is always listed, even before the server's list knows about it.
    if (wanted && !list.some(function (r) { return r.name === wanted; })) list.push({ name: wanted, members: active === wanted ? memberNames.length : 0 });
    // lobby first, then rooms with people in them (busiest first), then the quiet ones.
    list.sort(function (a, b) {
      if (a.name === DEFAULT_ROOM) return -1;
      if (b.name === DEFAULT_ROOM) return 1;
      var d = (Number(b.members) || 0) - (Number(a.members) || 0);
      return d || a.name.localeCompare(b.name);
    });
    list.forEach(function (r) {
      var current = r.name === wanted;
      var n = Number(r.members) || 0;
      roomList.appendChild(Agora.el('li', {
        'class': 'room' + (current ? ' is-active' : ''),
        dataset: { room: r.name }
      }, [
        Agora.el('button', {
          'class': 'room-button',
          attrs: { type: 'button', 'aria-current': current ? 'true' : null, title: r.name }
        }, [
          Agora.el('span', { 'class': 'room-hash', text: '#', attrs: { 'aria-hidden': 'true' } }),
          Agora.el('span', { 'class': 'room-name', text: r.name }),
          Agora.el('span', {
            'class': 'count',
            text: String(n),
            attrs: { 'aria-label': n === 1 ? '1 member' : n + ' members' }
          })
        ])
      ]));
    });
  }

  function setRooms(list) {
    rooms = Array.isArray(list) ? list : [];
    renderRooms();
  }

  roomList.addEventListener('click', function (e) {
    var li = e.target.closest && e.target.closest('li[data-room]');
    if (li && li.dataset.room !== wanted) join(li.dataset.room);
  });

  joinForm.addEventListener('submit', function (e) {
    e.preventDefault();
    var name = joinForm.elements.room.value.trim();
    if (!name) return;
    joinForm.elements.room.value = '';
    if (name !== active) join(name);
  });

  // ---- members & typing ------------------------------------------------------

  function renderMembers() {
    var n = Agora.renderUserList(members, memberNames, { me: me, empty: active ? 'Nobody else is here.' : 'Not in a room yet.' });
    memberCount.textContent = active ? String(n) : '';
    members.classList.toggle('is-stale', !active);
  }

  function renderTyping() {
    var names = Object.keys(typers);
    if (!names.length) typing.textContent = '';
    else if (names.length === 1) typing.textContent = names[0] + ' is typing…';
    else if (names.length === 2) typing.textContent = names[0] + ' and ' + names[1] + ' are typing…';
    else typing.textContent = 'Several people are typing…';
  }

  function stopTyping(user) {
    if (!(user in typers)) return;
    clearTimeout(typers[user]);
    delete typers[user];
    renderTyping();
  }

  function clearTyping() {
    Object.keys(typers).forEach(function (u) { clearTimeout(typers[u]); });
    typers = Object.create(null);
    renderTyping();
  }

  // ---- messages ------------------------------------------------------------

  function messageItem(m) {
    var mine = me && m.user === me;
    return Agora.el('li', {
      'class': 'message' + (mine ? ' is-mine' : ''),
      dataset: { id: m.id, user: m.user }
    }, [
      Agora.avatar(m.user, true),
      Agora.el('div', { 'class': 'message-body' }, [
        Agora.el('div', { 'class': 'message-meta' }, [
          Agora.el('span', { 'class': 'user', text: m.user }),
          Agora.isGuest(m.user) ? Agora.el('span', { 'class': 'badge badge-guest', text: 'guest' }) : null,
          Agora.timeNode(m.at)
        ]),
        Agora.el('p', { 'class': 'text', text: m.text })
      ])
    ]);
  }

  function validMessage(m) {
    return m && typeof m === 'object' && typeof m.user === 'string' && typeof m.text === 'string';
  }

  function addMessage(m, forceScroll) {
    if (!validMessage(m)) return;
    if (m.id !== undefined && m.id !== null) {
      if (seenIds[m.id]) return;
      seenIds[m.id] = true;
      if (typeof m.id === 'number' && (lastId === null || m.id > lastId)) lastId = m.id;
    }
    var stick = forceScroll || nearBottom();
    messages.appendChild(messageItem(m));
    messagesEmpty.hidden = true;
    if (stick) scrollToBottom();
  }

  function addNotice(text) {
    var stick = nearBottom();
    messages.appendChild(Agora.el('li', { 'class': 'notice muted small', text: text }));
    if (stick) scrollToBottom();
  }

  function resetMessages(history) {
    Agora.clear(messages);
    seenIds = Object.create(null);
    lastId = null;
    (Array.isArray(history) ? history : []).forEach(function (m) { addMessage(m, true); });
    messagesEmpty.hidden = messages.querySelector('li.message') !== null;
    scrollToBottom();
  }

  // ---- joining & leaving -------------------------------------------------------

  function showRoom(name, state) {
    roomName.textContent = name;
    roomState.textContent = state;
    document.title = '#' + name + ' · Chat · Agora';
  }

  function join(room) {
    if (!room) return;
    var previous = active;
    var seq = ++joinSeq;
    wanted = room;
    active = null;
    early = [];
    setComposer(false);
    clearTyping();
    showError('');
    showRoom(room, socket.connected ? 'joining…' : 'waiting for the connection…');
    renderRooms();
    if (!socket.connected) return; // the connect handler joins `wanted`
    if (previous && previous !== room) request('chat:leave', { room: previous }).catch(ignore);
    request('chat:join', { room: room }).then(function (res) {
      if (seq !== joinSeq) return; // another join was asked for since
      enter(res, room);
      resetMessages(res.history);
      replayEarly(true);
      showLive();
      messageInput.focus({ preventScroll: true });
    }, function (e) {
      if (seq !== joinSeq) return;
      showRoom(room, 'not joined');
      showError('Could not join #' + room + ': ' + failureText(e));
      // Go back to where we were, if anywhere.
      if (previous && previous !== room) join(previous);
    });
  }

  /** A join's answer: `res.room` (else `room`) is the active room, with the members it lists. */
  function enter(res, room) {
    active = typeof res.room === 'string' ? res.room : room;
    wanted = active;
    memberNames = Array.isArray(res.members) ? res.members.slice() : [];
    if (me && memberNames.indexOf(me) === -1) memberNames.push(me);
    showRoom(active, '');
  }

  /** Applies the events that arrived while the join was under way, in order. */
  function replayEarly(forceScroll) {
    var replay = early;
    early = [];
    replay.forEach(function (e) {
      if (e.kind === 'presence') applyPresence(e.msg, false);
      else addMessage(e.msg, forceScroll);
    });
  }

  /** The active room is shown and open for messages. */
  function showLive() {
    renderMembers();
    renderRooms();
    setComposer(true);
  }

  /**
   * Back in `room` after a reconnect, keeping what the page shows. Recovered: the server kept our
   * rooms and replays what we missed, so the room is live again at once. Not recovered: the room is
   * joined again and what was said meanwhile comes in the answer (`after` the last id shown); events
   * arriving before the answer are kept and replayed onto it, as for a first join.
   * The recovered case asks for the same join: the server forgets the socket's chat membership when
   * its connection drops (sending would answer not_in_room and the others would not list us), and
   * the answer also fills in anything the replay could not.
   */
  function rejoin(room, recovered) {
    var seq = ++joinSeq;
    wanted = room;
    early = [];
    active = recovered ? room : null;
    showRoom(room, recovered ? '' : 'catching up…');
    setComposer(recovered);
    var ask = { room: room };
    if (lastId !== null) ask.after = lastId;
    request('chat:join', ask).then(function (res) {
      if (seq !== joinSeq) return;
      joinedAtDrop = null;
      enter(res, room);
      var stick = nearBottom();
      (Array.isArray(res.history) ? res.history : []).forEach(function (m) { addMessage(m, false); });
      replayEarly(false);
      if (stick) scrollToBottom();
      showLive();
    }, function () {
      if (seq !== joinSeq) return;
      joinedAtDrop = null;
      // Could not catch up: start over with a plain join (fresh history).
      active = null;
      join(room);
    });
  }

  // ---- sending ---------------------------------------------------------------

  messageForm.addEventListener('submit', function (e) {
    e.preventDefault();
    var text = messageInput.value;
    if (!active || !text.trim()) return;
    var room = active;
    messageInput.value = '';
    lastTypingSent = 0;
    request('chat:send', { room: room, text: text }).then(function (res) {
      showError('');
      if (res.message && (res.message.room === undefined || res.message.room === active)) addMessage(res.message, true);
    }, function (e) {
      showError(failureText(e));
      if (!messageInput.value) messageInput.value = text; // give the text back
    });
  });

  messageInput.addEventListener('input', function () {
    if (!active || !messageInput.value) return;
    var now = Date.now();
    if (now - lastTypingSent < TYPING_THROTTLE_MS) return;
    lastTypingSent = now;
    socket.emit('chat:typing', { room: active });
  });

  // ---- server events -----------------------------------------------------------

  socket.on('welcome', function (msg) {
    Agora.renderWelcome(welcome, msg);
    if (msg && typeof msg.user === 'string' && msg.user && msg.user !== me) {
      me = msg.user;
      if (active) renderMembers();
    }
  });

  socket.on('chat:rooms', function (msg) {
    setRooms(msg && msg.rooms);
  });

  /** True (and the event kept for later) while `room` is being joined. */
  function keepIfJoining(room, kind, msg) {
    if (active !== null || room !== wanted) return false;
    early.push({ kind: kind, msg: msg });
    return true;
  }

  function applyPresence(msg, render) {
    // This page is here: a departure of our own name (e.g. replayed after a dropped connection) is not news.
    if (!msg.online && me && msg.user === me) return;
    var i = memberNames.indexOf(msg.user);
    if (msg.online) {
      if (i !== -1) return;
      memberNames.push(msg.user);
      addNotice(msg.user + ' joined');
    } else {
      if (i === -1) return;
      memberNames.splice(i, 1);
      stopTyping(msg.user);
      addNotice(msg.user + ' left');
    }
    if (render) renderMembers();
  }

  socket.on('chat:presence', function (msg) {
    if (!msg || typeof msg.user !== 'string') return;
    if (keepIfJoining(msg.room, 'presence', msg)) return;
    if (msg.room === active) applyPresence(msg, true);
  });

  socket.on('chat:message', function (m) {
    if (!validMessage(m)) return;
    if (keepIfJoining(m.room, 'message', m)) return;
    if (m.room !== active) return;
    stopTyping(m.user);
    addMessage(m, false);
  });

  socket.on('chat:typing', function (msg) {
    if (!msg || msg.room !== active || typeof msg.user !== 'string' || msg.user === me) return;
    clearTimeout(typers[msg.user]);
    typers[msg.user] = setTimeout(function () { stopTyping(msg.user); }, TYPING_SHOW_MS);
    renderTyping();
  });

  socket.on('connect', function () {
    request('chat:rooms').then(function (res) { setRooms(res.rooms); }, ignore);
    var back = joinedAtDrop; // cleared once the re-join has answered (it may be cut off too)
    if (back && back === wanted) {
      // Back after a reconnect in the room we were in: catch up without losing what is shown.
      rejoin(back, socket.recovered === true);
      return;
    }
    // First connection, or another room was chosen while offline: a plain join (a recovered session
    // still has the old room, leave it).
    joinedAtDrop = null;
    if (back && socket.recovered === true) request('chat:leave', { room: back }).catch(ignore);
    active = null;
    join(wanted || DEFAULT_ROOM);
  });

  socket.on('disconnect', function () {
    if (active) joinedAtDrop = active;
    active = null;
    setComposer(false);
    clearTyping();
    roomState.textContent = 'reconnecting…';
    members.classList.add('is-stale');
  });
})();
