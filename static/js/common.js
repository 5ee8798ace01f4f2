/*
 * Agora — helpers shared by every page. Loaded by base.html.tera after socket.io.js.
 * This file never opens a socket itself: a page creates its own with io() and hands it over:
 *
 *   var socket = io();
 *   Agora.trackConnection(socket);        // drives the header's #conn-status pill
 *
 * and talks to the server through Agora.fetchJSON (the JSON API) and Agora.request (an emit the hub
 * acknowledges), which answer with Promises and one kind of error (see "Talking to the server").
 *
 * Everything that puts data into the page uses textContent / DOM nodes, never innerHTML.
 */
(function (root) {
  'use strict';

  var doc = root.document;

  // ---- DOM helpers ---------------------------------------------------------

  /**
   * Build an element. props: { class, text, attrs: {name: value}, dataset: {k: v} };
   * children: nodes or strings (strings become text nodes, never HTML).
   */
  function el(tag, props, children) {
    var node = doc.createElement(tag);
    props = props || {};
    if (props['class']) node.className = props['class'];
    if (props.text !== undefined && props.text !== null) node.textContent = String(props.text);
    if (props.attrs) {
      Object.keys(props.attrs).forEach(function (k) {
        var v = props.attrs[k];
        if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? '' : String(v));
      });
    }
    if (props.dataset) {
      Object.keys(props.dataset).forEach(function (k) { node.dataset[k] = String(props.dataset[k]); });
    }
    (children || []).forEach(function (c) {
      if (c === undefined || c === null || c === false) return;
      node.appendChild(typeof c === 'string' ? doc.createTextNode(c) : c);
    });
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function isGuest(name) {
    return typeof name === 'string' && name.indexOf('guest-') === 0;
  }

  /** The name of the signed-in user as rendered by the server, or null for guests. */
  function currentUser() {
    var node = doc.getElementById('current-user');
    return node ? node.textContent.trim() : null;
  }

  function initial(name) {
    if (isGuest(name)) return 'G';
    return String(name || '?').charAt(0).toUpperCase();
  }

  /** A round avatar with the name's first letter (guests get their own colour). */
  function avatar(name, small) {
    return el('span', {
      'class': 'avatar' + (small ? ' avatar-sm' : '') + (isGuest(name) ? ' avatar-guest' : ''),
      text: initial(name),
      attrs: { 'aria-hidden': 'true' }
    });
  }

  /**
   * Render a list of user names into a <ul>. Each item is
   *   <li class="user" data-name="NAME"><avatar/><span class="user-name">NAME</span>[badges]</li>
   * opts: { me: name to mark "you", empty: text when nobody is there }
   */
  function renderUserList(ul, users, opts) {
    opts = opts || {};
    clear(ul);
    var list = Array.isArray(users) ? users.filter(function (u) { return typeof u === 'string'; }) : [];
    // Signed-in people first, then guests; alphabetical within each group; "me" on top.
    list.sort(function (a, b) {
      if (opts.me) {
        if (a === opts.me && b !== opts.me) return -1;
        if (b === opts.me && a !== opts.me) return 1;
      }
      var ga = isGuest(a), gb = isGuest(b);
      if (ga !== gb) return ga ? 1 : -1;
      return a.localeCompare(b);
    });
    if (!list.length) {
      ul.appendChild(el('li', { 'class': 'user-list-empty muted', text: opts.empty || 'Nobody here yet.' }));
      return 0;
    }
    list.forEach(function (name) {
      var guest = isGuest(name);
      ul.appendChild(el('li', {
        'class': 'user' + (guest ? ' user-guest' : ''),
        dataset: { name: name }
      }, [
        avatar(name),
        el('span', { 'class': 'user-name', text: name, attrs: { title: name } }),
        guest ? el('span', { 'class': 'badge badge-guest', text: 'guest' }) : null,
        opts.me && name === opts.me ? el('span', { 'class': 'badge badge-you', text: 'you' }) : null
      ]));
    });
    return list.length;
  }

  /** "14:05", or "Mar 3, 14:05" when not today. Accepts a Date, a number (ms) or an ISO string. */
  function formatTime(value) {
    var d = value instanceof Date ? value : new Date(value);
    if (isNaN(d.getTime())) return '';
    var now = new Date();
    var time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    if (d.toDateString() === now.toDateString()) return time;
    return d.toLocaleDateString([], { month: 'short', day: 'numeric' }) + ', ' + time;
  }

  /** <time class="time"> reading formatTime(value), with the exact moment in datetime and title. */
  function timeNode(value) {
    var node = el('time', { 'class': 'time', text: formatTime(value) });
    var d = value instanceof Date ? value : new Date(value);
    if (!isNaN(d.getTime())) {
      node.dateTime = d.toISOString();
      node.title = d.toLocaleString();
    }
    return node;
  }

  /**
   * Show the server's welcome {text, user} in `node`: "<strong>user</strong> — text" (just the text
   * when there is no user), then mark the node data-state="ready".
   */
  function renderWelcome(node, msg) {
    msg = msg || {};
    var text = typeof msg.text === 'string' ? msg.text : '';
    clear(node);
    if (typeof msg.user === 'string' && msg.user) {
      node.appendChild(el('span', { 'class': 'welcome-text' }, [
        el('strong', { 'class': 'welcome-name', text: msg.user }),
        ' — ' + text
      ]));
    } else {
      node.appendChild(el('span', { 'class': 'welcome-text', text: text }));
    }
    node.dataset.state = 'ready';
  }

  // ---- Connection status ----------------------------------------------------

  var STATUS_TEXT = {
    connecting: 'connecting…',
    connected: 'connected',
    reconnecting: 'reconnecting…',
    offline: 'offline'
  };

  function setStatus(state) {
    var node = doc.getElementById('conn-status');
    if (!node) return;
    node.hidden = false;
    node.dataset.state = state;
    node.title = 'Live connection: ' + STATUS_TEXT[state];
    var text = node.querySelector('.conn-text') || node;
    text.textContent = STATUS_TEXT[state];
  }

  /**
   * Reflect a Socket.IO socket's state in the header: connecting → connected → reconnecting… → connected,
   * or offline when the client gives up (or the server refuses the connection).
   * Also toggles the class "is-offline" on <body> so pages can dim live content.
   * Returns the socket for chaining.
   */
  function trackConnection(socket) {
    var manager = socket.io;
    function update(state) {
      setStatus(state);
      doc.body.classList.toggle('is-offline', state !== 'connected');
    }
    update(socket.connected ? 'connected' : 'connecting');
    socket.on('connect', function () { update('connected'); });
    socket.on('disconnect', function (reason) {
      // The server or the page closed it on purpose: the client will not come back by itself.
      if (reason === 'io server disconnect' || reason === 'io client disconnect') update('offline');
      else update('reconnecting');
    });
    socket.on('connect_error', function () {
      // A refused CONNECT deactivates the socket; a transport error just means "trying again".
      update(socket.active ? 'reconnecting' : 'offline');
    });
    if (manager && typeof manager.on === 'function') {
      manager.on('reconnect_attempt', function () { if (!socket.connected) update('reconnecting'); });
      manager.on('reconnect_failed', function () { update('offline'); });
    }
    return socket;
  }

  // ---- Talking to the server ------------------------------------------------

  /** How long a page waits for the hub's answer to an emit before it tells the user "no answer". */
  var ACK_TIMEOUT_MS = 10000;

  /** An Error with a machine-readable code and any extra fields (status, answer, body, cause). */
  function failure(code, message, extra) {
    var e = new Error(message);
    e.code = code;
    Object.keys(extra || {}).forEach(function (k) { e[k] = extra[k]; });
    return e;
  }

  /**
   * Call the site's JSON API. opts: { method (GET), body (sent as JSON), csrf (X-CSRF-Token header) }.
   * Resolves with the parsed body (null when it is empty or not JSON). An HTTP error rejects with an
   * Error carrying status, code (the API's error.code), message (the API's error.message, else
   * "HTTP <status>") and body; a network failure rejects with code "network" (status 0, the browser's
   * message, the original error as cause).
   */
  function fetchJSON(url, opts) {
    opts = opts || {};
    var headers = { Accept: 'application/json' };
    var init = { method: opts.method || 'GET', headers: headers, credentials: 'same-origin' };
    if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(opts.body);
    }
    if (opts.csrf) headers['X-CSRF-Token'] = opts.csrf;
    return fetch(url, init).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (body) {
        if (res.ok) return body;
        var error = body && body.error && typeof body.error === 'object' ? body.error : {};
        throw failure(error.code, error.message || 'HTTP ' + res.status, { status: res.status, body: body });
      });
    }, function (cause) {
      throw failure('network', (cause && cause.message) || 'network error', { status: 0, cause: cause });
    });
  }

  /**
   * Emit an event that the hub acknowledges with {ok: true, ...} or {ok: false, error: {code, message}}.
   * Resolves with the answer when ok is true. Rejects with an Error whose code is "timeout" when no
   * answer came within ACK_TIMEOUT_MS, else the app's error.code ("refused" if it gave none) and
   * message ("the hub refused it" if it gave none); the whole answer stays on the error as answer.
   */
  function request(socket, event, data) {
    return new Promise(function (resolve, reject) {
      socket.timeout(ACK_TIMEOUT_MS).emit(event, data, function (err, answer) {
        if (err) return reject(failure('timeout', 'The hub did not answer in time.', { answer: null }));
        if (answer && answer.ok === true) return resolve(answer);
        var error = answer && answer.error && typeof answer.error === 'object' ? answer.error : {};
        reject(failure(error.code || 'refused', error.message || 'the hub refused it', { answer: answer }));
      });
    });
  }

  // ---- Navigation: highlight the current section ----------------------------

  function markCurrentNav() {
    var path = root.location.pathname.replace(/\/+$/, '') || '/';
    var links = doc.querySelectorAll('.site-nav a[href]');
    Array.prototype.forEach.call(links, function (a) {
      var href = a.getAttribute('href');
      var current = href === '/' ? path === '/' : (path === href || path.indexOf(href + '/') === 0);
      if (current) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    });
  }

  if (doc.readyState === 'loading') doc.addEventListener('DOMContentLoaded', markCurrentNav);
  else markCurrentNav();

  root.Agora = {
    el: el,
    clear: clear,
    isGuest: isGuest,
    currentUser: currentUser,
    avatar: avatar,
    renderUserList: renderUserList,
    formatTime: formatTime,
    timeNode: timeNode,
    renderWelcome: renderWelcome,
    trackConnection: trackConnection,
    setStatus: setStatus,
    ACK_TIMEOUT_MS: ACK_TIMEOUT_MS,
    fetchJSON: fetchJSON,
    request: request
  };
})(window);
