/*
 * Feed page: posts newest first. New posts by others are not inserted by themselves: a banner counts
 * them ("3 new tweets") and a click fetches and shows them. The author's own post shows at once.
 *   GET  /api/tweets?limit=N | ?after=ID | ?before=ID  → [{id, author, text, at}] newest first
 *   emit tweet:post {text}   ack {ok, tweet} | {ok:false, error:{code, message}}
 *   on   newTweet {id, author}   (every socket but the author's)
 */
(function () {
  'use strict';

  var PAGE_SIZE = 20;
  var TEXT_MAX = 280;
  var MAX_CATCH_UP_PAGES = 5;

  var socket = io();
  Agora.trackConnection(socket);

  var $ = function (id) { return document.getElementById(id); };
  var list = $('tweets');
  var banner = $('new-tweets-banner');
  var status = $('feed-status');
  var loadMore = $('load-more');
  var form = $('tweet-form'); // absent for guests
  var me = Agora.currentUser();

  var shown = Object.create(null); // id -> true
  var pending = Object.create(null); // ids announced by newTweet, not shown yet
  var cursor = null; // the newest id fetched from the server list (own posts from acks do not move it)
  var loaded = false;
  var fetchingNew = false;

  // ---- rendering -----------------------------------------------------------

  function valid(t) {
    return t && typeof t === 'object' && t.id !== undefined && t.id !== null &&
      typeof t.author === 'string' && typeof t.text === 'string';
  }

  function idNum(id) { return Number(id); }

  function tweetItem(t) {
    var li = Agora.el('li', {
      'class': 'card tweet' + (me && t.author === me ? ' is-mine' : ''),
      dataset: { id: t.id, author: t.author }
    }, [
      Agora.avatar(t.author),
      Agora.el('div', { 'class': 'tweet-body' }, [
        Agora.el('div', { 'class': 'tweet-meta' }, [
          Agora.el('span', { 'class': 'author', text: t.author, attrs: { title: t.author } }),
          Agora.el('span', { 'class': 'dot', text: '·', attrs: { 'aria-hidden': 'true' } }),
          Agora.timeNode(t.at)
        ]),
        Agora.el('p', { 'class': 'text', text: t.text })
      ])
    ]);
    li._id = idNum(t.id);
    return li;
  }

  /** Put a post in its place (newest first); returns its element, or null if already shown. */
  function insert(t, fresh) {
    if (!valid(t) || shown[t.id]) return null;
    shown[t.id] = true;
    delete pending[t.id];
    var li = tweetItem(t);
    var n = idNum(t.id);
    var before = null;
    for (var c = list.firstElementChild; c; c = c.nextElementSibling) {
      if (c._id < n) { before = c; break; }
    }
    list.insertBefore(li, before);
    if (fresh) {
      li.classList.add('is-new');
      setTimeout(function () { li.classList.remove('is-new'); }, 2500);
    }
    status.hidden = true;
    return li;
  }

  function advanceCursor(items) {
    items.forEach(function (t) {
      if (valid(t) && (cursor === null || idNum(t.id) > idNum(cursor))) cursor = t.id;
    });
  }

  function oldestShown() {
    var last = list.lastElementChild;
    return last ? last.dataset.id : null;
  }

  function renderBanner() {
    var n = Object.keys(pending).length;
    banner.textContent = n === 1 ? '1 new tweet' : n + ' new tweets';
    banner.hidden = n === 0;
  }

  function showStatus(text) {
    status.textContent = text;
    status.hidden = !text;
  }

  // ---- loading -------------------------------------------------------------

  /** A page of posts; a failure says why as the page has always said it ("HTTP 500", a network error). */
  function getTweets(query) {
    return Agora.fetchJSON('/api/tweets?' + query).then(function (items) {
      if (!Array.isArray(items)) throw new Error('unexpected answer');
      return items.filter(valid);
    }, function (e) {
      throw new Error(e.status ? 'HTTP ' + e.status : e.message);
    });
  }

  function loadFirstPage() {
    getTweets('limit=' + PAGE_SIZE).then(function (items) {
      items.forEach(function (t) { insert(t, false); });
      advanceCursor(items);
      loaded = true;
      list.dataset.state = 'loaded';
      loadMore.hidden = items.length < PAGE_SIZE;
      if (!list.firstElementChild) showStatus('No posts yet.' + (form ? ' Write the first one!' : ''));
      renderBanner(); // announcements that raced the first page may already be shown
    }).catch(function (e) {
      list.dataset.state = 'error';
      showStatus('Could not load the feed (' + e.message + ').');
    });
  }

  /** Fetch everything newer than the cursor (a few pages at most) and show it. */
  function showNew() {
    if (fetchingNew) return;
    fetchingNew = true;
    banner.disabled = true;
    var pages = 0;
    function step() {
      var query = cursor === null ? 'limit=' + PAGE_SIZE : 'after=' + encodeURIComponent(cursor);
      return getTweets(query).then(function (items) {
        items.forEach(function (t) { insert(t, true); });
        var before = cursor;
        advanceCursor(items);
        pages++;
        if (items.length >= PAGE_SIZE && cursor !== before && pages < MAX_CATCH_UP_PAGES) return step();
      });
    }
    step().then(function () {
      pending = Object.create(null);
      renderBanner();
      if (list.firstElementChild) list.firstElementChild.scrollIntoView({ block: 'nearest' });
    }).catch(function (e) {
      showStatus('Could not load new posts (' + e.message + ').');
    }).then(function () {
      fetchingNew = false;
      banner.disabled = false;
    });
  }

  banner.addEventListener('click', showNew);

  loadMore.addEventListener('click', function () {
    var before = oldestShown();
    if (before === null) return;
    loadMore.disabled = true;
    getTweets('before=' + encodeURIComponent(before) + '&limit=' + PAGE_SIZE).then(function (items) {
      items.forEach(function (t) { insert(t, false); });
      loadMore.hidden = items.length < PAGE_SIZE;
    }).catch(function (e) {
      showStatus('Could not load older posts (' + e.message + ').');
    }).then(function () { loadMore.disabled = false; });
  });

  // ---- live ------------------------------------------------------------------

  socket.on('newTweet', function (msg) {
    if (!msg || msg.id === undefined || msg.id === null || shown[msg.id]) return;
    pending[msg.id] = true;
    renderBanner();
  });

  // Back after a reconnect: count what was posted while we were away.
  var connectedOnce = false;
  socket.on('connect', function () {
    if (connectedOnce && loaded && cursor !== null) {
      getTweets('after=' + encodeURIComponent(cursor)).then(function (items) {
        items.forEach(function (t) { if (!shown[t.id]) pending[t.id] = true; });
        renderBanner();
      }).catch(function () { /* the banner just stays as it was */ });
    }
    connectedOnce = true;
  });

  // ---- composing (signed-in users only) ------------------------------------------

  if (form) {
    var textInput = form.elements.text;
    var counter = $('tweet-counter');
    var postButton = form.querySelector('button[type="submit"]');
    var errorBox = $('tweet-error');
    var posting = false;

    var length = function (s) { return Array.from(s).length; }; // characters, not UTF-16 units

    var showError = function (text) {
      errorBox.textContent = text || '';
      errorBox.hidden = !text;
    };

    var update = function () {
      var left = TEXT_MAX - length(textInput.value);
      counter.textContent = String(left);
      counter.setAttribute('aria-label', left >= 0 ? left + ' characters left' : -left + ' characters too many');
      counter.classList.toggle('is-low', left <= 20 && left >= 0);
      counter.classList.toggle('is-over', left < 0);
      postButton.disabled = posting || !textInput.value.trim() || left < 0;
    };
    textInput.addEventListener('input', update);
    update();

    textInput.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        if (!postButton.disabled) form.requestSubmit ? form.requestSubmit() : postButton.click();
      }
    });

    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var text = textInput.value;
      if (posting || !text.trim() || length(text) > TEXT_MAX) return;
      posting = true;
      update();
      showError('');
      Agora.request(socket, 'tweet:post', { text: text }).then(function (res) {
        var li = insert(res.tweet, true);
        if (li) li.scrollIntoView({ block: 'nearest' });
        textInput.value = '';
      }, function (e) {
        var given = e.answer && e.answer.error && e.answer.error.message; // the hub's own words, if any
        if (e.code === 'timeout') showError('The hub did not answer in time. Try again.');
        else if (e.code === 'unauthenticated') showError('Your session has ended: log in again to post.');
        else if (e.code === 'rate_limited') showError(given || 'You are posting too fast — wait a moment.');
        else showError(given || 'Could not post.');
      }).then(function () {
        posting = false;
        update();
      });
    });
  }

  loadFirstPage();
})();
