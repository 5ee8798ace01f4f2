/*!
 * Agora browser client — a small Socket.IO v5 / Engine.IO v4 client.
 * Written from the protocol documents; no build step, no dependencies.
 * Usage: <script src="/socket.io/socket.io.js"></script>  then  var socket = io();
 */
(function (root) {
  'use strict';

  // ==== Emitter ==============================================================

  class Emitter {
    constructor() { this._events = Object.create(null); }
    on(ev, fn) {
      (this._events[ev] = this._events[ev] || []).push(fn);
      return this;
    }
    once(ev, fn) {
      const self = this;
      function wrapper() { self.off(ev, wrapper); fn.apply(self, arguments); }
      wrapper.fn = fn;
      return this.on(ev, wrapper);
    }
    off(ev, fn) {
      if (ev === undefined) { this._events = Object.create(null); return this; }
      const list = this._events[ev];
      if (!list) return this;
      if (fn === undefined) { delete this._events[ev]; return this; }
      for (let i = 0; i < list.length; i++) {
        if (list[i] === fn || list[i].fn === fn) { list.splice(i, 1); break; }
      }
      if (!list.length) delete this._events[ev];
      return this;
    }
    // A throwing listener must not break the connection state machine: report it asynchronously.
    emit(ev, ...args) {
      const list = this._events[ev];
      if (list) for (const fn of list.slice()) safeCall(fn, this, args);
      return this;
    }
    listeners(ev) { return (this._events[ev] || []).map((f) => f.fn || f); }
    hasListeners(ev) { return !!this._events[ev]; }
    removeAllListeners(ev) { return this.off(ev); }
  }
  const EP = Emitter.prototype;
  EP.addEventListener = EP.addListener = EP.on;
  EP.removeListener = EP.removeEventListener = EP.off;

  function safeCall(fn, self, args) {
    try { fn.apply(self, args); } catch (e) { setTimeout(() => { throw e; }, 0); }
  }
  // Subscribe and return an unsubscribe function.
  function sub(obj, ev, fn) { obj.on(ev, fn); return () => obj.off(ev, fn); }

  // ==== Binary helpers (ArrayBuffer, typed arrays / DataView, Blob, Node Buffer) ====

  const HAS_AB = typeof ArrayBuffer === 'function';
  const HAS_BLOB = typeof Blob === 'function';
  // Under Node (no DOM) binary data is handed to the user as Buffer, like socket.io-client does.
  const NODE_BUFFER = typeof document === 'undefined' && typeof Buffer === 'function' ? Buffer : null;

  function isBinary(x) {
    return !!x && ((HAS_AB && (x instanceof ArrayBuffer || ArrayBuffer.isView(x))) ||
      (HAS_BLOB && x instanceof Blob));
  }
  function isBlob(x) { return HAS_BLOB && x instanceof Blob; }
  function toBytes(x) {
    if (x instanceof ArrayBuffer) return new Uint8Array(x);
    return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  }
  function byteLen(x) { return isBlob(x) ? x.size : x.byteLength; }
  // What the application receives for an incoming binary attachment.
  function userBinary(ab) { return NODE_BUFFER ? NODE_BUFFER.from(ab) : ab; }

  function hasBinary(obj, depth) {
    if (!obj || typeof obj !== 'object' || depth > 100) return false;
    if (isBinary(obj)) return true;
    if (Array.isArray(obj)) return obj.some((v) => hasBinary(v, depth + 1));
    if (typeof obj.toJSON === 'function') return false; // e.g. Date: serialised as-is
    return Object.keys(obj).some((k) => hasBinary(obj[k], depth + 1));
  }

  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const B64_LOOKUP = {};
  for (let i = 0; i < B64.length; i++) B64_LOOKUP[B64.charCodeAt(i)] = i;

  function base64Encode(bytes) {
    let out = '';
    for (let i = 0; i < bytes.length; i += 3) {
      const n = (bytes[i] << 16) | ((bytes[i + 1] || 0) << 8) | (bytes[i + 2] || 0);
      out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63] +
        (i + 1 < bytes.length ? B64[(n >> 6) & 63] : '=') +
        (i + 2 < bytes.length ? B64[n & 63] : '=');
    }
    return out;
  }
  function base64Decode(str) {
    str = str.replace(/[^A-Za-z0-9+/]/g, '');
    const out = new Uint8Array(Math.floor(str.length * 3 / 4));
    let bits = 0, acc = 0, j = 0;
    for (let i = 0; i < str.length; i++) {
      acc = (acc << 6) | B64_LOOKUP[str.charCodeAt(i)];
      bits += 6;
      if (bits >= 8) { bits -= 8; out[j++] = (acc >> bits) & 255; }
    }
    return out.buffer.slice(0, j);
  }

  function utf8Length(str) {
    let n = 0;
    for (let i = 0; i < str.length; i++) {
      const c = str.charCodeAt(i);
      if (c < 0x80) n += 1;
      else if (c < 0x800) n += 2;
      else if (c >= 0xd800 && c < 0xdc00 && i + 1 < str.length) { n += 4; i++; }
      else n += 3;
    }
    return n;
  }

  // ==== Engine.IO v4 packet codec ============================================

  const EIO_TYPES = ['open', 'close', 'ping', 'pong', 'message', 'upgrade', 'noop'];
  const EIO_CODES = {};
  EIO_TYPES.forEach((t, i) => { EIO_CODES[t] = String(i); });
  const SEPARATOR = '\x1e';

  // Text packet -> "<type><data>"; binary -> raw (WebSocket) or "b<base64>" (polling).
  function encodeEioPacket(packet, rawBinary) {
    const data = packet.data;
    if (isBinary(data)) return rawBinary ? data : 'b' + base64Encode(toBytes(data));
    return EIO_CODES[packet.type] + (data === undefined ? '' : data);
  }
  function decodeEioPacket(data) {
    if (typeof data !== 'string') {
      if (NODE_BUFFER && NODE_BUFFER.isBuffer(data)) data = toBytes(data).slice().buffer;
      return { type: 'message', data: data };
    }
    if (data.charAt(0) === 'b') return { type: 'message', data: base64Decode(data.slice(1)) };
    const type = EIO_TYPES[+data.charAt(0)];
    if (!type) return { type: 'error', data: 'parser error' };
    return data.length > 1 ? { type: type, data: data.slice(1) } : { type: type };
  }
  // Polling payload: packets joined by the record separator. Blobs are read first.
  function encodeEioPayload(packets) {
    return Promise.all(packets.map((p) => isBlob(p.data)
      ? p.data.arrayBuffer().then((ab) => encodeEioPacket({ type: p.type, data: ab }, false))
      : encodeEioPacket(p, false))).then((list) => list.join(SEPARATOR));
  }
  function decodeEioPayload(str) { return str.split(SEPARATOR).map(decodeEioPacket); }
  // Size of a packet once encoded for polling (used to respect maxPayload).
  function pollingSize(packet) {
    const d = packet.data;
    if (d === undefined) return 1;
    if (isBinary(d)) return 1 + Math.ceil(byteLen(d) / 3) * 4;
    return 1 + utf8Length(String(d));
  }

  // ==== Engine transports ====================================================

  function encodeQuery(obj) {
    return Object.keys(obj).filter((k) => obj[k] !== undefined && obj[k] !== null)
      .map((k) => encodeURIComponent(k) + '=' + encodeURIComponent(obj[k])).join('&');
  }
  function decodeQuery(str) {
    const out = {};
    String(str).replace(/^\?/, '').split('&').forEach((pair) => {
      if (!pair) return;
      const i = pair.indexOf('=');
      const k = i < 0 ? pair : pair.slice(0, i);
      out[decodeURIComponent(k)] = i < 0 ? '' : decodeURIComponent(pair.slice(i + 1));
    });
    return out;
  }
  let cacheBusterSeq = 0;
  function cacheBuster() { return Date.now().toString(36) + '.' + (cacheBusterSeq++).toString(36); }

  class Transport extends Emitter {
    // opts: { secure, host, port, path, query, sid, withCredentials, extraHeaders }
    constructor(opts) {
      super();
      this.opts = opts;
      this.readyState = '';
      this.writable = false;
    }
    open() { this.readyState = 'opening'; this.doOpen(); return this; }
    close() {
      const st = this.readyState;
      if (st === 'opening' || st === 'open' || st === 'pausing') { this.doClose(); this.onClose(); }
      return this;
    }
    send(packets) { if (this.readyState === 'open') this.write(packets); }
    onOpen() { this.readyState = 'open'; this.writable = true; this.emit('open'); }
    onPacket(packet) { this.emit('packet', packet); }
    onError(message, context) {
      const err = new Error(message);
      err.type = 'TransportError';
      err.description = context;
      this.emit('error', err);
    }
    onClose(details) { this.readyState = 'closed'; this.emit('close', details); }
    uri(secureScheme, plainScheme, extra) {
      const o = this.opts;
      const query = Object.assign({}, o.query, { EIO: 4, transport: this.name }, extra);
      if (o.sid) query.sid = o.sid;
      const defaultPort = o.secure ? '443' : '80';
      return (o.secure ? secureScheme : plainScheme) + '://' + o.host +
        (o.port && String(o.port) !== defaultPort ? ':' + o.port : '') + o.path + '?' + encodeQuery(query);
    }
  }

  // One HTTP request with XMLHttpRequest (browsers) or fetch (e.g. Node 18+). cb(err, text)
  function httpRequest(opts, method, url, body, cb) {
    const headers = Object.assign({}, opts.extraHeaders);
    if (method === 'POST') headers['Content-Type'] = 'text/plain;charset=UTF-8';
    if (typeof XMLHttpRequest === 'function') {
      const xhr = new XMLHttpRequest();
      xhr.open(method, url, true);
      xhr.withCredentials = !!opts.withCredentials;
      Object.keys(headers).forEach((k) => xhr.setRequestHeader(k, headers[k]));
      xhr.onreadystatechange = () => {
        if (xhr.readyState !== 4) return;
        if (xhr.status === 200) cb(null, xhr.responseText);
        else setTimeout(() => cb(new Error('HTTP status ' + xhr.status), xhr.status), 0);
      };
      xhr.send(body);
      return () => { xhr.onreadystatechange = null; try { xhr.abort(); } catch (e) { /* ignore */ } };
    }
    let aborted = false;
    const ctrl = typeof AbortController === 'function' ? new AbortController() : null;
    fetch(url, {
      method: method, body: body, headers: headers, signal: ctrl ? ctrl.signal : undefined,
      credentials: opts.withCredentials ? 'include' : 'same-origin',
    }).then((res) => res.text().then((text) => {
      if (aborted) return;
      if (res.ok) cb(null, text);
      else cb(new Error('HTTP status ' + res.status), res.status);
    })).catch((err) => { if (!aborted) cb(err); });
    return () => { aborted = true; if (ctrl) ctrl.abort(); };
  }

  // HTTP long-polling: a GET always pending for server->client, one POST at a time for client->server.
  class Polling extends Transport {
    get name() { return 'polling'; }
    doOpen() { this.poll(); }
    poll() {
      this.polling = true;
      this._abortPoll = httpRequest(this.opts, 'GET', this.uri('https', 'http', { t: cacheBuster() }), null,
        (err, data) => {
          this._abortPoll = null;
          if (err) return this.onError('xhr poll error', err);
          this.onData(data);
        });
    }
    onData(data) {
      for (const packet of decodeEioPayload(data)) {
        if (this.readyState === 'opening' && packet.type === 'open') this.onOpen();
        if (packet.type === 'close') { this.onClose({ description: 'transport closed by the server' }); return; }
        this.onPacket(packet);
        if (this.readyState === 'closed') return;
      }
      this.polling = false;
      this.emit('pollComplete');
      if (this.readyState === 'open') this.poll();
    }
    write(packets) {
      this.writable = false;
      encodeEioPayload(packets).then((body) => {
        if (this.readyState === 'closed') return;
        httpRequest(this.opts, 'POST', this.uri('https', 'http', { t: cacheBuster() }), body, (err) => {
          if (err) return this.onError('xhr post error', err);
          this.writable = true;
          this.emit('drain');
        });
      });
    }
    // Stop polling (used while upgrading): wait for the pending GET and POST, then call back.
    pause(onPause) {
      this.readyState = 'pausing';
      let pending = 0;
      const done = () => {
        if (--pending > 0 || this.readyState !== 'pausing') return;
        this.readyState = 'paused';
        onPause();
      };
      if (this.polling) { pending++; this.once('pollComplete', done); }
      if (!this.writable) { pending++; this.once('drain', done); }
      if (!pending) { pending = 1; done(); }
    }
    // Upgrade failed after pausing started: go back to polling.
    resume() {
      if (this.readyState !== 'pausing' && this.readyState !== 'paused') return;
      this.readyState = 'open';
      if (!this.polling) this.poll();
    }
    doClose() {
      if (this.readyState === 'open' || this.readyState === 'pausing') this.write([{ type: 'close' }]);
      if (this._abortPoll) { this._abortPoll(); this._abortPoll = null; }
    }
  }

  class WS extends Transport {
    get name() { return 'websocket'; }
    doOpen() {
      const Ctor = typeof WebSocket === 'function' ? WebSocket : null;
      if (!Ctor) return setTimeout(() => this.onError('WebSocket is not available'), 0);
      let ws;
      try { ws = this.ws = new Ctor(this.uri('wss', 'ws')); } catch (e) {
        return setTimeout(() => this.onError('websocket error', e), 0);
      }
      ws.binaryType = 'arraybuffer';
      ws.onopen = () => this.onOpen();
      ws.onclose = (ev) => this.onClose({ description: 'websocket connection closed', context: ev });
      ws.onmessage = (ev) => this.onPacket(decodeEioPacket(ev.data));
      ws.onerror = (e) => this.onError('websocket error', e);
    }
    write(packets) {
      this.writable = false;
      for (const packet of packets) {
        try { this.ws.send(encodeEioPacket(packet, true)); } catch (e) { /* socket closing */ }
      }
      // WebSocket.send() is fire-and-forget: report "drained" once the current task is done
      // (a microtask, so background-tab timer throttling does not slow sending down).
      Promise.resolve().then(() => {
        if (this.readyState !== 'open') return;
        this.writable = true;
        this.emit('drain');
      });
    }
    doClose() {
      if (!this.ws) return;
      this.ws.onclose = this.ws.onmessage = null;
      this.ws.onerror = () => {}; // (the Node 'ws' package throws on unhandled errors)
      try { this.ws.close(); } catch (e) { /* ignore */ }
      this.ws = null;
    }
  }

  const TRANSPORTS = { polling: Polling, websocket: WS };

  // ==== Engine socket: handshake, heartbeat, write buffer, upgrade ===========

  class Engine extends Emitter {
    // opts: { secure, host, port, path, query, transports, upgrade, withCredentials, extraHeaders }
    constructor(opts) {
      super();
      this.opts = opts;
      this.transports = (opts.transports || ['polling', 'websocket']).filter((t) => TRANSPORTS[t]);
      this.readyState = '';
      this.id = null;
      this.writeBuffer = [];
      this.prevBufferLen = 0;
      this.upgrading = false;
      this.maxPayload = 0;
      this.open();
    }
    createTransport(name) {
      const o = this.opts;
      return new TRANSPORTS[name]({
        secure: o.secure, host: o.host, port: o.port, path: o.path, query: o.query, sid: this.id,
        withCredentials: o.withCredentials, extraHeaders: o.extraHeaders,
      });
    }
    open() {
      this.readyState = 'opening';
      if (!this.transports.length) {
        setTimeout(() => this.emit('error', new Error('No transports available')), 0);
        return;
      }
      const t = this.createTransport(this.transports[0]);
      this.setTransport(t);
      t.open();
    }
    setTransport(t) {
      if (this.transport) this.transport.off();
      this.transport = t;
      t.on('drain', () => this.onDrain());
      t.on('packet', (p) => this.onPacket(p));
      t.on('error', (err) => this.onError(err));
      t.on('close', (details) => this.onClose('transport close', details));
    }
    onPacket(packet) {
      if (this.readyState !== 'opening' && this.readyState !== 'open' && this.readyState !== 'closing') return;
      this.emit('packet', packet);
      switch (packet.type) {
        case 'open': {
          let handshake;
          try { handshake = JSON.parse(packet.data); } catch (e) { return this.onError(new Error('invalid handshake')); }
          this.onHandshake(handshake);
          break;
        }
        case 'ping':
          this.resetPingTimeout();
          this.sendPacket('pong');
          this.emit('ping');
          break;
        case 'message': this.emit('data', packet.data); break;
        case 'close': this.onClose('transport close'); break;
        case 'error': this.onError(new Error('parse error')); break;
      }
    }
    onHandshake(data) {
      this.emit('handshake', data);
      this.id = this.transport.opts.sid = data.sid;
      this.upgrades = (data.upgrades || []).filter((u) => this.transports.indexOf(u) !== -1);
      this.pingInterval = data.pingInterval;
      this.pingTimeout = data.pingTimeout;
      this.maxPayload = data.maxPayload || 0;
      this.readyState = 'open';
      this.emit('open');
      this.flush();
      if (this.readyState !== 'open') return;
      this.resetPingTimeout();
      if (this.opts.upgrade !== false && this.transport.name === 'polling') this.upgrades.forEach((u) => this.probe(u));
    }
    // No ping from the server within pingInterval + pingTimeout: consider the connection dead.
    resetPingTimeout() {
      clearTimeout(this.pingTimer);
      this.pingTimer = setTimeout(() => this.onClose('ping timeout'), this.pingInterval + this.pingTimeout);
      if (this.opts.autoUnref && this.pingTimer.unref) this.pingTimer.unref();
    }
    // Try a better transport: "2probe" -> "3probe", pause polling, then "5" (upgrade).
    probe(name) {
      const t = this.createTransport(name);
      let failed = false;
      const cleanup = () => { t.off('open', onOpen); t.off('error', onError); t.off('close', onTClose); this.off('close', onClose); };
      const onError = (err) => {
        if (failed) return;
        failed = true;
        cleanup();
        t.off();
        t.close();
        this.upgrading = false;
        if (this.transport !== t && this.transport.resume) this.transport.resume();
        this.emit('upgradeError', err);
        if (this.readyState !== 'closed') this.flush();
      };
      const onTClose = () => onError(new Error('probe transport closed'));
      const onClose = () => onError(new Error('socket closed'));
      const onOpen = () => {
        t.send([{ type: 'ping', data: 'probe' }]);
        t.once('packet', (msg) => {
          if (failed) return;
          if (msg.type !== 'pong' || msg.data !== 'probe') return onError(new Error('probe error'));
          this.upgrading = true;
          this.emit('upgrading', t);
          this.transport.pause(() => {
            if (failed || this.readyState === 'closed') return;
            if (t.ws && t.ws.readyState !== 1) return onError(new Error('probe transport closed'));
            cleanup();
            t.off('packet');
            this.setTransport(t);
            t.send([{ type: 'upgrade' }]);
            this.upgrading = false;
            this.emit('upgrade', t);
            this.flush();
          });
        });
      };
      t.once('open', onOpen);
      t.once('error', onError);
      t.once('close', onTClose);
      this.once('close', onClose);
      t.open();
    }
    onDrain() {
      this.writeBuffer.splice(0, this.prevBufferLen);
      this.prevBufferLen = 0;
      if (this.writeBuffer.length) this.flush();
      else this.emit('drain');
    }
    flush() {
      if (this.readyState === 'closed' || !this.transport.writable || this.upgrading || !this.writeBuffer.length) return;
      const packets = this.writablePackets();
      this.prevBufferLen = packets.length;
      this.transport.send(packets);
      this.emit('flush');
    }
    // Polling payloads must stay under the server's maxPayload: send a prefix of the buffer.
    writablePackets() {
      const buf = this.writeBuffer;
      if (this.transport.name !== 'polling' || !this.maxPayload) return buf.slice();
      let size = 0;
      for (let i = 0; i < buf.length; i++) {
        size += pollingSize(buf[i]) + (i ? 1 : 0);
        if (i > 0 && size > this.maxPayload) return buf.slice(0, i);
      }
      return buf.slice();
    }
    write(data, options) { this.sendPacket('message', data, options); return this; }
    sendPacket(type, data, options) {
      if (this.readyState === 'closing' || this.readyState === 'closed') return;
      this.writeBuffer.push({ type: type, data: data, options: options || {} });
      this.flush();
    }
    // Graceful close: let a running upgrade finish, flush what is buffered, then close.
    close() {
      if (this.readyState !== 'opening' && this.readyState !== 'open') return this;
      this.readyState = 'closing';
      const finish = () => this.onClose('forced close');
      const afterDrain = () => (this.writeBuffer.length ? this.once('drain', finish) : finish());
      if (this.upgrading) {
        const go = () => { this.off('upgrade', go); this.off('upgradeError', go); afterDrain(); };
        this.on('upgrade', go);
        this.on('upgradeError', go);
      } else {
        afterDrain();
      }
      return this;
    }
    onError(err) {
      this.emit('error', err);
      this.onClose('transport error', err);
    }
    onClose(reason, details) {
      if (this.readyState !== 'opening' && this.readyState !== 'open' && this.readyState !== 'closing') return;
      clearTimeout(this.pingTimer);
      const t = this.transport;
      t.off();
      t.close();
      this.readyState = 'closed';
      this.id = null;
      this.emit('close', reason, details);
      this.writeBuffer = [];
      this.prevBufferLen = 0;
    }
  }

  // ==== Socket.IO v5 packet codec ============================================

  const PT = { CONNECT: 0, DISCONNECT: 1, EVENT: 2, ACK: 3, CONNECT_ERROR: 4, BINARY_EVENT: 5, BINARY_ACK: 6 };

  // Replace binary values with {_placeholder:true,num:N}, collecting them in `buffers`.
  function deconstruct(data, buffers) {
    if (isBinary(data)) {
      buffers.push(data);
      return { _placeholder: true, num: buffers.length - 1 };
    }
    if (Array.isArray(data)) return data.map((v) => deconstruct(v, buffers));
    if (data && typeof data === 'object' && typeof data.toJSON !== 'function') {
      const out = {};
      Object.keys(data).forEach((k) => { out[k] = deconstruct(data[k], buffers); });
      return out;
    }
    return data;
  }
  function reconstruct(data, buffers) {
    if (Array.isArray(data)) return data.map((v) => reconstruct(v, buffers));
    if (data && typeof data === 'object') {
      if (data._placeholder === true) {
        if (typeof data.num !== 'number' || data.num < 0 || data.num >= buffers.length) throw new Error('illegal attachments');
        return userBinary(buffers[data.num]);
      }
      Object.keys(data).forEach((k) => { data[k] = reconstruct(data[k], buffers); });
    }
    return data;
  }

  // Packet -> [string, ...binary attachments]
  function encodeSioPacket(packet) {
    let type = packet.type;
    let data = packet.data;
    const buffers = [];
    if ((type === PT.EVENT || type === PT.ACK) && hasBinary(data, 0)) {
      type = type === PT.EVENT ? PT.BINARY_EVENT : PT.BINARY_ACK;
      data = deconstruct(data, buffers);
    }
    let str = String(type);
    if (type === PT.BINARY_EVENT || type === PT.BINARY_ACK) str += buffers.length + '-';
    if (packet.nsp && packet.nsp !== '/') str += packet.nsp + ',';
    if (packet.id !== undefined && packet.id !== null) str += packet.id;
    if (data !== undefined) str += JSON.stringify(data);
    return [str].concat(buffers);
  }

  function isObject(x) { return !!x && typeof x === 'object' && !Array.isArray(x); }
  function validSioPacket(p) {
    switch (p.type) {
      case PT.CONNECT: return p.data === undefined || isObject(p.data);
      case PT.DISCONNECT: return p.data === undefined;
      case PT.CONNECT_ERROR: return typeof p.data === 'string' || isObject(p.data);
      case PT.EVENT: case PT.BINARY_EVENT:
        return Array.isArray(p.data) && p.data.length > 0 && (typeof p.data[0] === 'string' || typeof p.data[0] === 'number');
      case PT.ACK: case PT.BINARY_ACK: return Array.isArray(p.data);
      default: return false;
    }
  }

  function decodeSioString(str) {
    let i = 0;
    const p = { type: Number(str.charAt(0)), nsp: '/' };
    if (!(p.type >= 0 && p.type <= 6)) throw new Error('unknown packet type ' + str.charAt(0));
    if (p.type === PT.BINARY_EVENT || p.type === PT.BINARY_ACK) {
      const dash = str.indexOf('-', 1);
      const n = str.slice(1, dash);
      if (dash < 0 || !/^\d+$/.test(n)) throw new Error('illegal attachments');
      p.attachments = Number(n);
      i = dash;
    }
    if (str.charAt(i + 1) === '/') {
      const comma = str.indexOf(',', i + 1);
      const end = comma < 0 ? str.length : comma;
      p.nsp = str.slice(i + 1, end);
      i = end;
    }
    const idMatch = /^\d+/.exec(str.slice(i + 1));
    if (idMatch) { p.id = Number(idMatch[0]); i += idMatch[0].length; }
    const rest = str.slice(i + 1);
    if (rest) p.data = JSON.parse(rest);
    if (!validSioPacket(p)) throw new Error('invalid payload');
    return p;
  }

  // Feeds on engine messages; add() returns a packet once it is complete (attachments included).
  class Decoder {
    add(obj) {
      if (typeof obj === 'string') {
        if (this.pending) throw new Error('got plaintext data when reconstructing a packet');
        const p = decodeSioString(obj);
        if (p.attachments) { this.pending = { packet: p, buffers: [] }; return null; }
        delete p.attachments;
        return p;
      }
      if (!this.pending) throw new Error('got binary data when not reconstructing a packet');
      const st = this.pending;
      st.buffers.push(obj);
      if (st.buffers.length < st.packet.attachments) return null;
      this.pending = null;
      st.packet.data = reconstruct(st.packet.data, st.buffers);
      delete st.packet.attachments;
      return st.packet;
    }
  }

  // ==== socket.io-msgpack-parser's format ====================================
  // Each packet is one binary message, the MessagePack object {type, data, nsp, id}, binary
  // values inline (no attachments). Used when the server runs `--parser msgpack`: the page says
  // so in <meta name="agora-parser">, or io(url, { parser: 'msgpack' }).

  const UTF8_ENC = typeof TextEncoder === 'function' ? new TextEncoder() : null;
  const UTF8_DEC = typeof TextDecoder === 'function' ? new TextDecoder() : null;

  function mpEncode(value) {
    const out = [];
    const push = function () { for (let i = 0; i < arguments.length; i++) out.push(arguments[i] & 0xff); };
    const u16 = (n) => push(n >> 8, n);
    const u32 = (n) => push(n >>> 24, n >>> 16, n >>> 8, n);
    const float = new DataView(new ArrayBuffer(8));
    // A length header: the short form when `short` (fixstr, fixarray, fixmap) fits, else 8/16/32 bits.
    const head = (n, short, shortMax, c8, c16, c32) => {
      if (short !== null && n <= shortMax) push(short | n);
      else if (c8 !== null && n < 0x100) push(c8, n);
      else if (n < 0x10000) { push(c16); u16(n); } else { push(c32); u32(n); }
    };
    const raw = (bytes) => { for (let i = 0; i < bytes.length; i++) out.push(bytes[i]); };
    function enc(v) {
      if (v === null || v === undefined || typeof v === 'function' || typeof v === 'symbol') return push(0xc0);
      if (v === true) return push(0xc3);
      if (v === false) return push(0xc2);
      if (typeof v === 'number') {
        if (Number.isInteger(v) && v >= 0 && v <= 0xffffffff) {
          if (v < 0x80) return push(v);
          if (v < 0x100) return push(0xcc, v);
          if (v < 0x10000) { push(0xcd); return u16(v); }
          push(0xce); return u32(v);
        }
        if (Number.isInteger(v) && v < 0 && v >= -0x80000000) {
          if (v >= -0x20) return push(v);
          if (v >= -0x80) return push(0xd0, v);
          if (v >= -0x8000) { push(0xd1); return u16(v); }
          push(0xd2); return u32(v);
        }
        float.setFloat64(0, v);
        push(0xcb);
        return raw(new Uint8Array(float.buffer));
      }
      if (typeof v === 'string') {
        const bytes = UTF8_ENC.encode(v);
        head(bytes.length, 0xa0, 31, 0xd9, 0xda, 0xdb);
        return raw(bytes);
      }
      if (isBinary(v) && !isBlob(v)) {
        const bytes = toBytes(v);
        head(bytes.length, null, 0, 0xc4, 0xc5, 0xc6);
        return raw(bytes);
      }
      if (Array.isArray(v)) {
        head(v.length, 0x90, 15, null, 0xdc, 0xdd);
        return v.forEach(enc);
      }
      if (typeof v === 'object') {
        if (typeof v.toJSON === 'function') return enc(v.toJSON());
        const keys = Object.keys(v).filter((k) => v[k] !== undefined && typeof v[k] !== 'function');
        head(keys.length, 0x80, 15, null, 0xde, 0xdf);
        return keys.forEach((k) => { enc(k); enc(v[k]); });
      }
      return push(0xc0);
    }
    enc(value);
    return new Uint8Array(out).buffer;
  }

  function mpDecode(data) {
    const bytes = toBytes(data);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let pos = 0;
    const need = (n) => { if (pos + n > bytes.length) throw new Error('truncated MessagePack'); };
    // A big-endian integer of `size` bytes (8-byte ones as the nearest double, as notepack.io).
    const integer = (size, signed) => {
      need(size);
      const kind = signed ? 'getInt' : 'getUint';
      const n = size === 8 ? view[kind + '32'](pos) * 4294967296 + view.getUint32(pos + 4) : view[kind + size * 8](pos);
      pos += size;
      return n;
    };
    const uint = (size) => integer(size, false);
    const int = (size) => integer(size, true);
    const str = (n) => { need(n); const s = UTF8_DEC.decode(bytes.subarray(pos, pos + n)); pos += n; return s; };
    const bin = (n) => { need(n); const b = bytes.slice(pos, pos + n).buffer; pos += n; return userBinary(b); };
    const arr = (n) => { const a = []; for (let i = 0; i < n; i++) a.push(dec()); return a; };
    const map = (n) => {
      const o = {};
      for (let i = 0; i < n; i++) {
        const k = dec();
        Object.defineProperty(o, k, { value: dec(), enumerable: true, writable: true, configurable: true });
      }
      return o;
    };
    function dec() {
      need(1);
      const b = bytes[pos++];
      if (b < 0x80) return b;
      if (b < 0x90) return map(b & 0x0f);
      if (b < 0xa0) return arr(b & 0x0f);
      if (b < 0xc0) return str(b & 0x1f);
      if (b >= 0xe0) return b - 0x100;
      switch (b) {
        case 0xc0: return null;
        case 0xc2: return false;
        case 0xc3: return true;
        case 0xc4: return bin(uint(1));
        case 0xc5: return bin(uint(2));
        case 0xc6: return bin(uint(4));
        case 0xca: need(4); pos += 4; return view.getFloat32(pos - 4);
        case 0xcb: need(8); pos += 8; return view.getFloat64(pos - 8);
        case 0xcc: return uint(1);
        case 0xcd: return uint(2);
        case 0xce: return uint(4);
        case 0xcf: return uint(8);
        case 0xd0: return int(1);
        case 0xd1: return int(2);
        case 0xd2: return int(4);
        case 0xd3: return int(8);
        case 0xd4: need(2); pos += 2; return undefined; // notepack.io's undefined (fixext 1)
        case 0xd9: return str(uint(1));
        case 0xda: return str(uint(2));
        case 0xdb: return str(uint(4));
        case 0xdc: return arr(uint(2));
        case 0xdd: return arr(uint(4));
        case 0xde: return map(uint(2));
        case 0xdf: return map(uint(4));
        default: throw new Error('unsupported MessagePack type 0x' + b.toString(16));
      }
    }
    const value = dec();
    if (pos !== bytes.length) throw new Error('trailing bytes after the MessagePack value');
    return value;
  }

  class MsgpackDecoder {
    add(obj) {
      if (typeof obj === 'string') throw new Error('text message under the msgpack parser');
      const p = mpDecode(obj);
      const valid = isObject(p) && Number.isInteger(p.type) && p.type >= PT.CONNECT && p.type <= PT.CONNECT_ERROR &&
        typeof p.nsp === 'string' && (p.id === undefined || Number.isInteger(p.id)) && validSioPacket(p);
      if (!valid) throw new Error('invalid packet');
      return p;
    }
  }

  function encodeMsgpackPacket(packet) {
    const out = { type: packet.type };
    if (packet.data !== undefined) out.data = packet.data;
    out.nsp = packet.nsp || '/';
    if (packet.id !== undefined && packet.id !== null) out.id = packet.id;
    return [mpEncode(out)];
  }

  const PARSERS = {
    default: { encode: encodeSioPacket, Decoder: Decoder },
    msgpack: { encode: encodeMsgpackPacket, Decoder: MsgpackDecoder },
  };

  // The parser named by the option, else by the page (<meta name="agora-parser">), else the default.
  function resolveParser(name) {
    if (!name && typeof document !== 'undefined' && document.querySelector) {
      const meta = document.querySelector('meta[name="agora-parser"]');
      if (meta) name = meta.getAttribute('content');
    }
    return PARSERS[name] || PARSERS.default;
  }

  // ==== Manager: one Engine connection shared by namespaces, with reconnection ====

  // Exponential backoff with jitter: min(max, base * 2^attempt) ± factor.
  class Backoff {
    constructor(o) { this.ms = o.min; this.max = o.max; this.factor = o.jitter; this.attempts = 0; }
    duration() {
      let ms = Math.min(this.ms * Math.pow(2, this.attempts++), 1e12);
      if (this.factor > 0) ms += (Math.random() * 2 - 1) * this.factor * ms;
      return Math.max(0, Math.floor(Math.min(ms, this.max)));
    }
    reset() { this.attempts = 0; }
  }

  function parseUri(uri) {
    const loc = typeof location !== 'undefined' && location && location.host ? location : null;
    const origin = loc ? loc.protocol + '//' + loc.host : 'http://localhost';
    if (uri === undefined || uri === null || uri === '') uri = origin;
    uri = String(uri);
    if (uri.slice(0, 2) === '//') uri = (loc ? loc.protocol : 'http:') + uri;
    else if (uri.charAt(0) === '/') uri = origin + uri;
    else if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) uri = (loc && loc.protocol === 'https:' ? 'https://' : 'http://') + uri;
    const u = new URL(uri);
    const secure = u.protocol === 'https:' || u.protocol === 'wss:';
    const port = u.port || (secure ? '443' : '80');
    return {
      secure: secure, host: u.hostname, port: port, nsp: u.pathname || '/', query: u.search.slice(1),
      id: (secure ? 'https' : 'http') + '://' + u.hostname + ':' + port,
    };
  }

  class Manager extends Emitter {
    constructor(uri, opts) {
      super();
      if (uri && typeof uri === 'object') { opts = uri; uri = undefined; }
      opts = this.opts = Object.assign({}, opts);
      const parsed = parseUri(uri);
      let path = opts.path || '/socket.io/';
      if (path.charAt(0) !== '/') path = '/' + path;
      path = path.replace(/\/$/, '') + '/';
      let query = opts.query !== undefined ? opts.query : parsed.query;
      if (typeof query === 'string') query = decodeQuery(query);
      this.uri = parsed.id;
      this.engineOpts = {
        secure: parsed.secure, host: parsed.host, port: parsed.port, path: path, query: query || {},
        transports: opts.transports, upgrade: opts.upgrade, withCredentials: opts.withCredentials,
        extraHeaders: opts.extraHeaders, autoUnref: opts.autoUnref,
      };
      this.parser = resolveParser(opts.parser);
      this.nsps = {};
      this.subs = [];
      this._reconnection = opts.reconnection !== false;
      this._reconnectionAttempts = opts.reconnectionAttempts !== undefined ? opts.reconnectionAttempts : Infinity;
      this.backoff = new Backoff({
        min: opts.reconnectionDelay !== undefined ? opts.reconnectionDelay : 1000,
        max: opts.reconnectionDelayMax !== undefined ? opts.reconnectionDelayMax : 5000,
        jitter: opts.randomizationFactor !== undefined ? opts.randomizationFactor : 0.5,
      });
      this._timeout = opts.timeout === undefined ? 20000 : opts.timeout;
      this._readyState = 'closed';
      this._reconnecting = false;
      this.skipReconnect = false;
      this._autoConnect = opts.autoConnect !== false;
      if (this._autoConnect) this.open();
    }

    // Open the Engine connection; fn(err?) is called once it is open or has failed.
    open(fn) {
      if (this._readyState === 'open' || this._readyState === 'opening') return this;
      const engine = this.engine = new Engine(Object.assign({}, this.engineOpts));
      this._readyState = 'opening';
      this.skipReconnect = false;
      const onError = (err) => {
        this.cleanup();
        this._readyState = 'closed';
        this.emit('error', err);
        if (fn) fn(err);
        else this.maybeReconnectOnOpen();
      };
      this.subs.push(sub(engine, 'open', () => { this.onopen(); if (fn) fn(); }));
      this.subs.push(sub(engine, 'error', onError));
      if (this._timeout !== false) {
        const timer = setTimeout(() => {
          onError(new Error('timeout'));
          engine.close();
        }, this._timeout);
        if (this.opts.autoUnref && timer.unref) timer.unref();
        this.subs.push(() => clearTimeout(timer));
      }
      return this;
    }
    connect(fn) { return this.open(fn); }

    onopen() {
      this.cleanup();
      this._readyState = 'open';
      this.emit('open');
      const engine = this.engine;
      this.decoder = new this.parser.Decoder();
      this.subs.push(
        sub(engine, 'ping', () => this.emit('ping')),
        sub(engine, 'data', (data) => this.ondata(data)),
        sub(engine, 'error', (err) => this.emit('error', err)),
        sub(engine, 'close', (reason, details) => this.onclose(reason, details)));
    }
    ondata(data) {
      let packet;
      try { packet = this.decoder.add(data); } catch (e) {
        const engine = this.engine;
        this.onclose('parse error', e);
        engine.close();
        return;
      }
      if (packet) this.emit('packet', packet);
    }

    // Namespace socket (reused per namespace).
    socket(nsp, opts) {
      let socket = this.nsps[nsp];
      if (!socket) {
        socket = this.nsps[nsp] = new Socket(this, nsp, opts);
      } else if (this._autoConnect && !socket.active) {
        socket.connect();
      }
      return socket;
    }
    // Called by a socket that disconnected; close the connection when no namespace is active.
    _destroy() {
      for (const nsp of Object.keys(this.nsps)) if (this.nsps[nsp].active) return;
      this._close();
    }
    _packet(packet) {
      for (const chunk of this.parser.encode(packet)) this.engine.write(chunk, packet.options);
    }
    cleanup() {
      this.subs.forEach((unsub) => unsub());
      this.subs = [];
      this.decoder = null;
    }
    _close() {
      this.skipReconnect = true;
      this._reconnecting = false;
      this.onclose('forced close');
      if (this.engine) this.engine.close();
    }
    disconnect() { return this._close(); }
    close() { return this._close(); }

    onclose(reason, details) {
      this.cleanup();
      this.backoff.reset();
      this._readyState = 'closed';
      this.emit('close', reason, details);
      if (this._reconnection && !this.skipReconnect) this.reconnect();
    }
    maybeReconnectOnOpen() {
      if (!this._reconnecting && this._reconnection && this.backoff.attempts === 0) this.reconnect();
    }
    reconnect() {
      if (this._reconnecting || this.skipReconnect) return;
      if (this.backoff.attempts >= this._reconnectionAttempts) {
        this.backoff.reset();
        this.emit('reconnect_failed');
        this._reconnecting = false;
        return;
      }
      const delay = this.backoff.duration();
      this._reconnecting = true;
      const timer = setTimeout(() => {
        if (this.skipReconnect) return;
        this.emit('reconnect_attempt', this.backoff.attempts);
        if (this.skipReconnect) return;
        this.open((err) => {
          if (err) {
            this._reconnecting = false;
            this.reconnect();
            this.emit('reconnect_error', err);
          } else {
            const attempts = this.backoff.attempts;
            this._reconnecting = false;
            this.backoff.reset();
            this.emit('reconnect', attempts);
          }
        });
      }, delay);
      if (this.opts.autoUnref && timer.unref) timer.unref();
      this.subs.push(() => clearTimeout(timer));
    }
  }
  // Getter/setter helpers, e.g. socket.io.reconnection(false)
  [['reconnection', '_reconnection'], ['reconnectionAttempts', '_reconnectionAttempts'], ['timeout', '_timeout'],
    ['reconnectionDelay', 'ms'], ['reconnectionDelayMax', 'max'], ['randomizationFactor', 'factor']].forEach((pair) => {
    Manager.prototype[pair[0]] = function (v) {
      const target = pair[1].charAt(0) === '_' ? this : this.backoff;
      if (v === undefined) return target[pair[1]];
      target[pair[1]] = v;
      return this;
    };
  });

  // ==== Socket: one namespace ================================================

  const RESERVED = ['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener'];
  const emitLocal = Emitter.prototype.emit;

  class Socket extends Emitter {
    constructor(io, nsp, opts) {
      super();
      this.io = io;
      this.nsp = nsp;
      this.id = undefined;
      this.connected = false;
      // Connection state recovery (Socket.IO 4.6+): the server's private session id from the CONNECT
      // answer (only when the server has recovery on) and the offset of the last event received. A
      // reconnecting socket sends both; the same pid in the answer means the server restored the
      // session (same id, rooms) and replays what was missed, and `recovered` becomes true.
      this.recovered = false;
      this._pid = undefined;
      this._lastOffset = undefined;
      this.receiveBuffer = [];
      this.sendBuffer = [];
      this.ids = 0;
      this.acks = {};
      this.flags = {};
      this._any = [];
      this._anyOut = [];
      this._opts = Object.assign({}, opts);
      this.auth = this._opts.auth;
      if (io._autoConnect) this.open();
    }
    get disconnected() { return !this.connected; }
    get active() { return !!this.subs; }
    get volatile() { this.flags.volatile = true; return this; }

    subEvents() {
      if (this.subs) return;
      const io = this.io;
      this.subs = [
        sub(io, 'open', () => this.onopen()),
        sub(io, 'packet', (p) => this.onpacket(p)),
        sub(io, 'error', (err) => this.onerror(err)),
        sub(io, 'close', (reason, details) => this.onclose(reason, details)),
      ];
    }
    connect() {
      if (this.connected) return this;
      this.subEvents();
      if (!this.io._reconnecting) this.io.open();
      if (this.io._readyState === 'open') this.onopen();
      return this;
    }
    open() { return this.connect(); }

    // Engine is open: send CONNECT with (fresh) auth, plus pid and offset when the session may be recovered.
    onopen() {
      const send = (data) => {
        if (this._pid) data = Object.assign({ pid: this._pid, offset: this._lastOffset }, data);
        this.packet({ type: PT.CONNECT, data: data === null ? undefined : data });
      };
      if (typeof this.auth === 'function') this.auth(send);
      else send(this.auth);
    }
    onerror(err) {
      if (!this.connected) emitLocal.call(this, 'connect_error', err);
    }
    onclose(reason, details) {
      const was = this.connected;
      this.connected = false;
      this.id = undefined;
      if (was) emitLocal.call(this, 'disconnect', reason, details);
      this._clearAcks();
    }
    // Acks that can report an error learn about the disconnection; buffered ones wait for reconnection.
    _clearAcks() {
      Object.keys(this.acks).forEach((id) => {
        if (this.sendBuffer.some((p) => String(p.id) === id)) return;
        const ack = this.acks[id];
        delete this.acks[id];
        if (ack.withError) safeCall(ack, this, [new Error('socket has been disconnected')]);
      });
    }

    onpacket(packet) {
      if (packet.nsp !== this.nsp) return;
      switch (packet.type) {
        case PT.CONNECT:
          if (packet.data && packet.data.sid) this.onconnect(packet.data.sid, packet.data.pid);
          else emitLocal.call(this, 'connect_error', new Error('invalid CONNECT packet (is the server Socket.IO v3+?)'));
          break;
        case PT.EVENT: case PT.BINARY_EVENT: this.onevent(packet); break;
        case PT.ACK: case PT.BINARY_ACK: this.onack(packet); break;
        case PT.DISCONNECT: this.ondisconnect(); break;
        case PT.CONNECT_ERROR: {
          this.destroy();
          const d = packet.data;
          const err = new Error(typeof d === 'string' ? d : d.message);
          if (d && typeof d === 'object') err.data = d.data;
          emitLocal.call(this, 'connect_error', err);
          break;
        }
      }
    }
    onconnect(id, pid) {
      this.id = id;
      this.recovered = !!pid && this._pid === pid;
      this._pid = pid; // undefined unless the server has connection state recovery on
      this.connected = true;
      this.receiveBuffer.splice(0).forEach((args) => this.emitEvent(args));
      this.sendBuffer.splice(0).forEach((p) => this.packet(p));
      emitLocal.call(this, 'connect');
    }
    onevent(packet) {
      const args = packet.data.slice();
      if (packet.id !== undefined) args.push(this.ack(packet.id));
      if (this.connected) this.emitEvent(args);
      else this.receiveBuffer.push(args);
    }
    emitEvent(args) {
      for (const fn of this._any.slice()) safeCall(fn, this, args);
      emitLocal.apply(this, args);
      // With recovery on, the server appends each event's offset as its last argument (handlers see
      // it too, as with the official client).
      if (this._pid && args.length && typeof args[args.length - 1] === 'string') this._lastOffset = args[args.length - 1];
    }
    // Reply function for an incoming event with an ack id (usable once).
    ack(id) {
      let sent = false;
      return (...args) => {
        if (sent) return;
        sent = true;
        this.packet({ type: PT.ACK, id: id, data: args });
      };
    }
    onack(packet) {
      const fn = this.acks[packet.id];
      if (typeof fn !== 'function') return;
      delete this.acks[packet.id];
      if (fn.withError) packet.data.unshift(null);
      safeCall(fn, this, packet.data);
    }
    ondisconnect() {
      this.destroy();
      this.onclose('io server disconnect');
    }
    destroy() {
      if (this.subs) { this.subs.forEach((unsub) => unsub()); this.subs = undefined; }
      this.io._destroy(this);
    }
    disconnect() {
      if (this.connected) this.packet({ type: PT.DISCONNECT });
      this.destroy();
      if (this.connected) this.onclose('io client disconnect');
      return this;
    }
    close() { return this.disconnect(); }

    packet(packet) {
      packet.nsp = this.nsp;
      this.io._packet(packet);
    }
    send(...args) { return this.emit('message', ...args); }
    emit(ev, ...args) {
      if (RESERVED.indexOf(ev) !== -1) throw new Error('"' + String(ev) + '" is a reserved event name');
      args.unshift(ev);
      const packet = { type: PT.EVENT, data: args, options: { compress: this.flags.compress !== false } };
      const engine = this.io.engine;
      const writable = !!(engine && engine.transport && engine.transport.writable);
      // volatile packets are dropped when they cannot be sent right away
      const discard = this.flags.volatile && (!writable || !this.connected);
      if (typeof args[args.length - 1] === 'function') {
        const ack = args.pop();
        if (!discard) {
          packet.id = this.ids++;
          this._registerAck(packet.id, ack);
        }
      }
      if (discard) {
        // dropped
      } else if (this.connected) {
        for (const fn of this._anyOut.slice()) fn.apply(this, args);
        this.packet(packet);
      } else {
        this.sendBuffer.push(packet);
      }
      this.flags = {};
      return this;
    }
    _registerAck(id, ack) {
      const timeout = this.flags.timeout !== undefined ? this.flags.timeout : this._opts.ackTimeout;
      if (timeout === undefined) { this.acks[id] = ack; return; }
      const timer = setTimeout(() => {
        delete this.acks[id];
        this.sendBuffer = this.sendBuffer.filter((p) => p.id !== id);
        ack.call(this, new Error('operation has timed out'));
      }, timeout);
      const fn = (...args) => { clearTimeout(timer); ack.apply(this, args); };
      fn.withError = true;
      this.acks[id] = fn;
    }
    emitWithAck(ev, ...args) {
      const withErr = this.flags.timeout !== undefined || this._opts.ackTimeout !== undefined;
      return new Promise((resolve, reject) => {
        args.push(withErr ? (err, res) => (err ? reject(err) : resolve(res)) : (res) => resolve(res));
        this.emit(ev, ...args);
      });
    }
    timeout(ms) { this.flags.timeout = ms; return this; }
    compress(c) { this.flags.compress = c; return this; }

    onAny(fn) { this._any.push(fn); return this; }
    prependAny(fn) { this._any.unshift(fn); return this; }
    offAny(fn) { this._any = fn ? this._any.filter((f) => f !== fn) : []; return this; }
    listenersAny() { return this._any.slice(); }
    onAnyOutgoing(fn) { this._anyOut.push(fn); return this; }
    prependAnyOutgoing(fn) { this._anyOut.unshift(fn); return this; }
    offAnyOutgoing(fn) { this._anyOut = fn ? this._anyOut.filter((f) => f !== fn) : []; return this; }
    listenersAnyOutgoing() { return this._anyOut.slice(); }
  }

  // ==== io() entry point =====================================================

  const cache = {};

  function io(uri, opts) {
    if (uri && typeof uri === 'object') { opts = uri; uri = undefined; }
    opts = opts || {};
    const parsed = parseUri(uri);
    const key = parsed.id + '|' + (opts.path || '/socket.io/');
    const same = cache[key] && parsed.nsp in cache[key].nsps;
    const fresh = opts.forceNew || opts['force new connection'] || opts.multiplex === false || same;
    let manager;
    if (fresh) {
      manager = new Manager(uri, opts);
      // A namespace reopened after its manager went idle: later io() calls multiplex onto the new one.
      if (same && !opts.forceNew && opts.multiplex !== false && !Object.keys(cache[key].nsps).some((n) => cache[key].nsps[n].active)) cache[key] = manager;
    } else {
      manager = cache[key] = cache[key] || new Manager(uri, opts);
    }
    return manager.socket(parsed.nsp, opts);
  }

  Object.assign(io, { protocol: 5, connect: io, io, default: io, Manager, Socket, Emitter });

  if (typeof module === 'object' && module && module.exports) module.exports = io;
  if (root) root.io = io;
})(typeof window !== 'undefined' ? window : typeof self !== 'undefined' ? self : null);
