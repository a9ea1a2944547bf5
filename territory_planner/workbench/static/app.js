/* territory_planner workbench — the browser front end.
 *
 * Plain ES2020, no build step, no framework; Leaflet 1.9.4 is the only library.
 * Talks to the server API described in the workbench contract (/api/*).
 *
 * Safety: text from the data (names, labels, messages) only ever reaches the page through
 * textContent / createElement / setAttribute, never as HTML.
 *
 * Speed: the accounts and their areas are drawn by two batch layers on ONE shared
 * L.canvas renderer (no per-account Leaflet objects): positions are projected once at
 * zoom 0 and scaled per zoom, dots are drawn grouped by colour, and an edit only repaints
 * the canvas and updates the existing table cells.
 */
(() => {
  'use strict';

  const TAU = Math.PI * 2;
  const ACTIVE = new Set(['starting', 'running', 'stopping']);
  const NAME_KEY = 'tp-planner-name';
  const TOKEN_KEY = 'tp-workbench-token';
  const POLL_MS = 300;
  const EXPORTS = [['salesforce', 'Salesforce'], ['hubspot', 'HubSpot'], ['dynamics', 'Dynamics 365'], ['xlsx', 'Excel (xlsx)']];
  const MOVED_LIST_MAX = 400;
  const COL_LOCK = '#111827';
  const COL_MOVED = '#e11d8f';
  const COL_NONE = '#9ca3af';

  // ------------------------------------------------------------------ DOM helpers
  const $ = (id) => document.getElementById(id);

  /** createElement with attributes; strings become text nodes (never HTML). */
  function h(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    if (attrs) {
      for (const k of Object.keys(attrs)) {
        const v = attrs[k];
        if (v == null || v === false) continue;
        if (k === 'class') e.className = v;
        else if (k === 'text') e.textContent = String(v);
        else if (k === 'testid') e.setAttribute('data-testid', v);
        else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
        else e.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const c of kids) {
      if (c == null || c === false) continue;
      e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }

  function setText(el, text) {
    const s = String(text);
    if (el.textContent !== s) el.textContent = s;
  }

  // ------------------------------------------------------------------ formatting
  const NF0 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  const NF1 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
  const NF3 = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 3 });
  const NFC = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

  function fmtNum(x) {
    if (x == null || !Number.isFinite(x)) return '—';
    const a = Math.abs(x);
    if (a >= 1000) return NF0.format(x);
    if (a >= 10) return NF1.format(x);
    return NF3.format(x);
  }
  const fmtInt = (x) => (x == null || !Number.isFinite(x) ? '—' : NF0.format(x));
  const fmtCompact = (x) => (x == null || !Number.isFinite(x) ? '—' : (Math.abs(x) >= 10000 ? NFC.format(x) : fmtNum(x)));
  /** A deviation in % with its sign: "-2.1%", "+4.0%", "0.0%". */
  function fmtDev(d) {
    if (d == null || !Number.isFinite(d)) return '—';
    const r = Math.round(d * 10) / 10;
    if (r === 0) return '0.0%';
    return (r > 0 ? '+' : '-') + Math.abs(r).toFixed(1) + '%';
  }
  /** A gap given as a fraction, shown in %. */
  const fmtGap = (g) => (g == null || !Number.isFinite(g) ? '—' : (g * 100).toFixed(2) + '%');
  function fmtDate(s) {
    if (!s) return '';
    const d = new Date(s);
    if (Number.isNaN(d.getTime())) return String(s);
    const p = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
  }
  /** An allowed band [lo, hi] in %: "±5%" or "-3%/+8%" (float noise rounded away). */
  function fmtBand(b) {
    const r = (x) => Math.round(x * 10) / 10;
    const lo = r(b[0]), hi = r(b[1]);
    if (lo === -hi) return `±${Math.abs(hi)}%`;
    return `${lo > 0 ? '+' : ''}${lo}%/${hi > 0 ? '+' : ''}${hi}%`;
  }
  const cap = (s) => String(s).charAt(0).toUpperCase() + String(s).slice(1);

  // ------------------------------------------------------------------ client state
  const S = {
    state: null,          // the server's state object (items/kpis/figures are updated in place by edits)
    n: 0,
    idIndex: new Map(),   // item id -> index
    repIndex: new Map(),  // rep_id -> territory index
    colors: [],
    sel: new Uint8Array(0),
    selCount: 0,
    hi: new Uint8Array(0),
    hiCount: 0,
    mode: 'click',
    mutating: false,
    runs: [],
    lowerIds: null,
    lowerNames: null,
    rb: { watching: false, timer: null, failures: 0 },
    z0: 0,
    timings: {},
    noun: ['account', 'accounts'],
  };
  let idleWaiters = [];

  // ------------------------------------------------------------------ messages
  function showError(err, extra) {
    const m = $('message');
    const text = err && err.message ? err.message : String(err);
    m.replaceChildren(...[
      h('strong', null, text),
      err && err.fix ? h('span', { class: 'fix' }, err.fix) : null,
      extra ? h('span', { class: 'fix' }, extra) : null,
      h('button', { type: 'button', class: 'close', 'aria-label': 'Dismiss', testid: 'message-close', onclick: clearMessage }, '×'),
    ].filter(Boolean));
    m.hidden = false;
  }
  function clearMessage() {
    const m = $('message');
    m.hidden = true;
    m.replaceChildren();
  }
  let noticeTimer = null;
  function notice(text) {
    const n = $('notice');
    n.replaceChildren(h('span', null, text),
      h('button', { type: 'button', class: 'close', 'aria-label': 'Dismiss', onclick: () => { n.hidden = true; } }, '×'));
    n.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => { n.hidden = true; }, 8000);
  }

  // ------------------------------------------------------------------ API
  let token = null;
  function initToken() {
    try {
      const url = new URL(location.href);
      const t = url.searchParams.get('token');
      if (t) {
        token = t;
        try { sessionStorage.setItem(TOKEN_KEY, t); } catch (e) { /* storage off: keep it in memory */ }
        url.searchParams.delete('token');
        history.replaceState(history.state, '', url.pathname + url.search + url.hash);
      } else {
        token = sessionStorage.getItem(TOKEN_KEY);
      }
    } catch (e) { /* keep going without a token */ }
  }

  class ApiError extends Error {
    constructor(status, message, fix) {
      super(message);
      this.status = status;
      this.fix = fix || null;
    }
  }

  /** The one fetch helper: token header, JSON body, {"error","fix"} shown in #message, 409 reloads. */
  async function api(method, path, body, opts = {}) {
    const headers = { Accept: 'application/json' };
    if (token) headers['X-Workbench-Token'] = token;
    const init = { method, headers, cache: 'no-store', credentials: 'same-origin' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      const err = new ApiError(0, 'Cannot reach the workbench server.', 'Check that "territory-planner serve" is still running, then reload this page.');
      if (!opts.quiet) showError(err);
      throw err;
    }
    if (!res.ok) {
      let data = null;
      try { data = await res.json(); } catch (e) { /* not JSON */ }
      const msg = data && typeof data.error === 'string' && data.error ? data.error : `The server answered ${res.status} ${res.statusText || ''}`.trim();
      const fix = data && typeof data.fix === 'string' ? data.fix : null;
      const err = new ApiError(res.status, msg, fix);
      if (res.status === 409) {
        showError(err, 'The plan changed on the server, so the page now shows its latest state.');
        try { await reloadState(); } catch (e) { /* shown already */ }
      } else if (!opts.quiet) {
        showError(err);
      }
      throw err;
    }
    if (opts.raw) return res;
    return res.json();
  }

  function startMutation() {
    if (S.mutating) return false;
    S.mutating = true;
    document.body.classList.add('busy');
    return true;
  }
  function endMutation() {
    S.mutating = false;
    document.body.classList.remove('busy');
    const w = idleWaiters;
    idleWaiters = [];
    w.forEach((f) => f());
  }
  const rbActive = () => !!(S.state && S.state.rebalance && ACTIVE.has(S.state.rebalance.state));

  // ------------------------------------------------------------------ canvas batch layers
  /** A Leaflet path that draws a whole batch of shapes on the shared canvas renderer. */
  const BatchLayer = L.Path.extend({
    options: { interactive: false, stroke: false, fill: false, weight: 0 },
    initialize(options) { L.setOptions(this, options); },
    _update() { /* drawing happens in _updatePath while the renderer draws */ },
    _containsPoint() { return false; },
    _updatePath() {
      const r = this._renderer;
      if (r && r._drawing && this._pxBounds && S.state) this._drawOn(r._ctx, r._bounds);
    },
    /** Repaint (no re-projection): after a recolour, a selection change, … */
    refresh() {
      if (this._map && this._renderer) this._renderer._requestRedraw(this);
      return this;
    },
    _factor() {
      const m = this._map;
      const crs = m.options.crs;
      return crs.scale(m.getZoom()) / crs.scale(0);
    },
  });

  /** All items as dots (+ rep homes), coloured by territory, with lock/selection/moved rings. */
  const DotLayer = BatchLayer.extend({
    setData(x0, y0, hx0, hy0) {
      const n = x0.length;
      Object.assign(this, {
        n, x0, y0, hx0, hy0,
        px: new Float32Array(n), py: new Float32Array(n),
        hpx: new Float32Array(hx0.length), hpy: new Float32Array(hx0.length),
        vis: new Int32Array(n), order: new Int32Array(n),
      });
      if (this._map) this.redraw();
      return this;
    },
    _project() {
      this._pxBounds = null;
      if (!this._map || !this.x0) return;
      const f = this._factor();
      const o = this._map.getPixelOrigin();
      const { x0, y0, px, py, n } = this;
      let x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
      for (let i = 0; i < n; i++) {
        const x = x0[i] * f - o.x, y = y0[i] * f - o.y;
        px[i] = x; py[i] = y;
        if (x < x1) x1 = x;
        if (x > x2) x2 = x;
        if (y < y1) y1 = y;
        if (y > y2) y2 = y;
      }
      for (let k = 0; k < this.hx0.length; k++) {
        const x = this.hx0[k] * f - o.x, y = this.hy0[k] * f - o.y;
        this.hpx[k] = x; this.hpy[k] = y;
        if (x < x1) x1 = x;
        if (x > x2) x2 = x;
        if (y < y1) y1 = y;
        if (y > y2) y2 = y;
      }
      this.radius = dotRadius(this._map.getZoom());
      if (x1 <= x2) this._pxBounds = L.bounds([x1 - 40, y1 - 40], [x2 + 40, y2 + 40]);
    },
    _drawOn(ctx, vb) {
      const t0 = performance.now();
      drawDots(ctx, this, vb);
      S.timings.drawDots = performance.now() - t0;
    },
  });

  /** Each item's area (Voronoi cell or unit polygon), filled with its territory's colour. */
  const CellLayer = BatchLayer.extend({
    setData(cells, project) {
      const n = cells.length;
      let nr = 0, nv = 0;
      for (let i = 0; i < n; i++) {
        const c = cells[i];
        if (!Array.isArray(c)) continue;
        for (const ring of c) if (Array.isArray(ring) && ring.length > 2) { nr++; nv += ring.length; }
      }
      const cellStart = new Int32Array(n + 1), ringStart = new Int32Array(nr + 1);
      const X = new Float64Array(nv), Y = new Float64Array(nv), bb = new Float64Array(4 * n);
      let r = 0, v = 0, gx1 = Infinity, gy1 = Infinity, gx2 = -Infinity, gy2 = -Infinity;
      for (let i = 0; i < n; i++) {
        cellStart[i] = r;
        let x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
        const c = cells[i];
        if (Array.isArray(c)) {
          for (const ring of c) {
            if (!Array.isArray(ring) || ring.length <= 2) continue;
            ringStart[r++] = v;
            for (const pt of ring) {
              const p = project(pt[0], pt[1]);
              X[v] = p.x; Y[v] = p.y; v++;
              if (p.x < x1) x1 = p.x;
              if (p.x > x2) x2 = p.x;
              if (p.y < y1) y1 = p.y;
              if (p.y > y2) y2 = p.y;
            }
          }
        }
        bb[4 * i] = x1; bb[4 * i + 1] = y1; bb[4 * i + 2] = x2; bb[4 * i + 3] = y2;
        if (x1 < gx1) gx1 = x1;
        if (y1 < gy1) gy1 = y1;
        if (x2 > gx2) gx2 = x2;
        if (y2 > gy2) gy2 = y2;
      }
      cellStart[n] = r;
      ringStart[nr] = v;
      Object.assign(this, { n, cellStart, ringStart, X, Y, bb, gb: [gx1, gy1, gx2, gy2], order: new Int32Array(n), nCells: nr ? n : 0 });
      if (this._map) this.redraw();
      return this;
    },
    _project() {
      this._pxBounds = null;
      if (!this._map || !this.nCells || !(this.gb[0] <= this.gb[2])) return;
      const f = this._factor(), o = this._map.getPixelOrigin();
      this._pxBounds = L.bounds([this.gb[0] * f - o.x - 2, this.gb[1] * f - o.y - 2], [this.gb[2] * f - o.x + 2, this.gb[3] * f - o.y + 2]);
    },
    _drawOn(ctx, vb) {
      const t0 = performance.now();
      drawCells(ctx, this, vb);
      S.timings.drawCells = performance.now() - t0;
    },
  });

  function dotRadius(z) {
    const n = S.n;
    const base = n <= 5000 ? 3.6 : n <= 20000 ? 2.6 : 1.7;
    const min = n <= 5000 ? 2.2 : 1.3;
    return Math.max(min, Math.min(9, base + (z - S.z0) * 0.9));
  }

  /** Group the indices in vis[0..m) by territory (counting sort) into order; returns bucket starts. */
  function groupByTerritory(vis, m, order, terr, K) {
    const start = new Int32Array(K + 2);
    for (let j = 0; j < m; j++) {
      const t = terr[vis[j]];
      start[(t >= 0 && t < K ? t : K) + 1]++;
    }
    for (let b = 0; b <= K; b++) start[b + 1] += start[b];
    const pos = start.slice(0, K + 1);
    for (let j = 0; j < m; j++) {
      const i = vis[j];
      const t = terr[i];
      order[pos[t >= 0 && t < K ? t : K]++] = i;
    }
    return start;
  }

  function drawDots(ctx, layer, vb) {
    const items = S.state.items;
    const terr = items.territory, locked = items.locked, fixed = items.fixed;
    const { n, px, py, vis, order } = layer;
    const r = layer.radius;
    const K = S.colors.length;
    const pad = r + 8;
    const minx = vb.min.x - pad, maxx = vb.max.x + pad, miny = vb.min.y - pad, maxy = vb.max.y + pad;
    let m = 0;
    for (let i = 0; i < n; i++) {
      const x = px[i], y = py[i];
      if (x >= minx && x <= maxx && y >= miny && y <= maxy) vis[m++] = i;
    }
    const start = groupByTerritory(vis, m, order, terr, K);
    const square = r < 1.75;
    const outline = r >= 2.4 && m < 25000;
    ctx.save();
    ctx.setLineDash([]);
    ctx.globalAlpha = 1;
    for (let b = 0; b <= K; b++) {
      const s = start[b], e = start[b + 1];
      if (s === e) continue;
      ctx.beginPath();
      if (square) {
        const d = 2 * r;
        for (let j = s; j < e; j++) { const i = order[j]; ctx.rect(px[i] - r, py[i] - r, d, d); }
      } else {
        for (let j = s; j < e; j++) { const i = order[j]; ctx.moveTo(px[i] + r, py[i]); ctx.arc(px[i], py[i], r, 0, TAU); }
      }
      if (outline) {  // a white halo under the fill: clusters stay solid, single dots get an edge
        ctx.lineWidth = 1.6;
        ctx.strokeStyle = 'rgba(255,255,255,0.9)';
        ctx.stroke();
      }
      ctx.fillStyle = b < K ? S.colors[b] : COL_NONE;
      ctx.fill();
    }
    // planner locks: a dark ring; input-file locks (fixed): a dark square
    let any = false;
    ctx.beginPath();
    const rl = r + 1.8;
    for (let j = 0; j < m; j++) {
      const i = vis[j];
      if (locked[i] && !fixed[i]) { any = true; ctx.moveTo(px[i] + rl, py[i]); ctx.arc(px[i], py[i], rl, 0, TAU); }
    }
    if (any) { ctx.lineWidth = 1.5; ctx.strokeStyle = COL_LOCK; ctx.stroke(); }
    any = false;
    ctx.beginPath();
    const rf = r + 2;
    for (let j = 0; j < m; j++) {
      const i = vis[j];
      if (fixed[i]) { any = true; ctx.rect(px[i] - rf, py[i] - rf, 2 * rf, 2 * rf); }
    }
    if (any) { ctx.lineWidth = 1.5; ctx.strokeStyle = COL_LOCK; ctx.stroke(); }
    // moved (rebalance result or compare): a magenta ring on a white halo
    if (S.hiCount) {
      const rh = r + 4.5;
      ctx.beginPath();
      for (let j = 0; j < m; j++) {
        const i = vis[j];
        if (S.hi[i]) { ctx.moveTo(px[i] + rh, py[i]); ctx.arc(px[i], py[i], rh, 0, TAU); }
      }
      ctx.lineWidth = 4; ctx.strokeStyle = 'rgba(255,255,255,0.85)'; ctx.stroke();
      ctx.lineWidth = 2.2; ctx.strokeStyle = COL_MOVED; ctx.stroke();
    }
    // selection: a thick white + black ring
    if (S.selCount) {
      const rs = r + 2.6;
      ctx.beginPath();
      for (let j = 0; j < m; j++) {
        const i = vis[j];
        if (S.sel[i]) { ctx.moveTo(px[i] + rs, py[i]); ctx.arc(px[i], py[i], rs, 0, TAU); }
      }
      ctx.lineWidth = 4.5; ctx.strokeStyle = '#ffffff'; ctx.stroke();
      ctx.lineWidth = 2; ctx.strokeStyle = '#111827'; ctx.stroke();
    }
    // rep homes: diamonds
    const hs = Math.max(5.5, r + 3);
    for (let k = 0; k < layer.hx0.length; k++) {
      const x = layer.hpx[k], y = layer.hpy[k];
      if (!(x >= minx && x <= maxx && y >= miny && y <= maxy)) continue;
      ctx.beginPath();
      ctx.moveTo(x, y - hs); ctx.lineTo(x + hs, y); ctx.lineTo(x, y + hs); ctx.lineTo(x - hs, y); ctx.closePath();
      ctx.fillStyle = S.colors[k] || COL_NONE;
      ctx.lineWidth = 3; ctx.strokeStyle = '#ffffff'; ctx.stroke();
      ctx.fill();
      ctx.lineWidth = 1.3; ctx.strokeStyle = COL_LOCK; ctx.stroke();
    }
    ctx.restore();
  }

  function drawCells(ctx, layer, vb) {
    const terr = S.state.items.territory;
    const K = S.colors.length;
    const f = layer._factor(), o = layer._map.getPixelOrigin();
    const { n, bb, order, cellStart, ringStart, X, Y } = layer;
    // visible cells: bounding box against the canvas
    const vis = order;  // reuse: fill vis then group into a second array
    const ox = o.x, oy = o.y;
    let m = 0;
    const tmp = layer._tmp && layer._tmp.length === n ? layer._tmp : (layer._tmp = new Int32Array(n));
    for (let i = 0; i < n; i++) {
      if (cellStart[i] === cellStart[i + 1]) continue;
      if (bb[4 * i + 2] * f - ox < vb.min.x || bb[4 * i] * f - ox > vb.max.x ||
          bb[4 * i + 3] * f - oy < vb.min.y || bb[4 * i + 1] * f - oy > vb.max.y) continue;
      tmp[m++] = i;
    }
    const start = groupByTerritory(tmp, m, vis, terr, K);
    ctx.save();
    ctx.setLineDash([]);
    ctx.lineJoin = 'round';
    for (let b = 0; b <= K; b++) {
      const s = start[b], e = start[b + 1];
      if (s === e) continue;
      ctx.beginPath();
      for (let j = s; j < e; j++) {
        const i = vis[j];
        for (let r = cellStart[i]; r < cellStart[i + 1]; r++) {
          const v0 = ringStart[r], v1 = ringStart[r + 1];
          ctx.moveTo(X[v0] * f - ox, Y[v0] * f - oy);
          for (let v = v0 + 1; v < v1; v++) ctx.lineTo(X[v] * f - ox, Y[v] * f - oy);
          ctx.closePath();
        }
      }
      const c = b < K ? S.colors[b] : COL_NONE;
      ctx.globalAlpha = 0.35;
      ctx.fillStyle = c;
      ctx.fill('evenodd');
      ctx.globalAlpha = 0.8;
      ctx.lineWidth = 0.5;
      ctx.strokeStyle = c;
      ctx.stroke();
    }
    ctx.restore();
  }

  // ------------------------------------------------------------------ the map
  let map = null, renderer = null, dots = null, cells = null, mapGeometry = null, tip = null;

  function ensureMap(geometry) {
    if (map && mapGeometry === geometry) return false;
    if (map) {
      map.remove();
      map = null;
    }
    const planar = geometry === 'planar';
    renderer = L.canvas({ padding: 0.15 });
    map = L.map('map', {
      crs: planar ? L.CRS.Simple : L.CRS.EPSG3857,
      preferCanvas: true,
      renderer,
      attributionControl: false,
      boxZoom: false,
      zoomSnap: 0.25,
      zoomDelta: 0.5,
      wheelPxPerZoomLevel: 100,
      minZoom: planar ? -20 : 1,
      maxZoom: planar ? 20 : 18,
      keyboard: true,
    });
    mapGeometry = geometry;
    if (!planar) L.control.scale({ position: 'bottomright', maxWidth: 120 }).addTo(map);
    const Fit = L.Control.extend({
      options: { position: 'topleft' },
      onAdd() {
        const div = L.DomUtil.create('div', 'leaflet-bar wb-fit');
        const a = h('a', { href: '#', role: 'button', title: 'Show the whole plan', 'aria-label': 'Show the whole plan', testid: 'fit' }, '⤢');
        a.addEventListener('click', (e) => { e.preventDefault(); fitAll(); });
        div.append(a);
        L.DomEvent.disableClickPropagation(div);
        return div;
      },
    });
    new Fit().addTo(map);
    cells = new CellLayer({ renderer });
    dots = new DotLayer({ renderer });
    cells.addTo(map);
    dots.addTo(map);
    tip = L.tooltip({ direction: 'top', offset: [0, -8], opacity: 1, className: 'wb-tip' });
    map.on('click', onMapClick);
    map.on('mousemove', onMapMove);
    map.on('mouseout', hideTip);
    map.on('zoomstart movestart', hideTip);
    map.getContainer().addEventListener('pointerdown', onPointerDown, true);
    setMode(S.mode);
    return true;
  }

  function projector() {
    return (lat, lon) => {
      if (lat == null || lon == null || !Number.isFinite(lat) || !Number.isFinite(lon)) return { x: NaN, y: NaN };
      return map.project(L.latLng(lat, lon), 0);
    };
  }

  function setItemsOnMap() {
    const it = S.state.items;
    const n = S.n;
    const proj = projector();
    const x0 = new Float64Array(n), y0 = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const p = proj(it.lat[i], it.lon[i]);
      x0[i] = p.x; y0[i] = p.y;
    }
    const T = S.state.territories;
    const hx0 = new Float64Array(T.length), hy0 = new Float64Array(T.length);
    T.forEach((t, k) => {
      const p = Array.isArray(t.home) ? proj(t.home[0], t.home[1]) : { x: NaN, y: NaN };
      hx0[k] = p.x; hy0[k] = p.y;
    });
    cells.setData([], proj);
    fitAll(true);
    dots.setData(x0, y0, hx0, hy0);
  }

  function itemBounds(indices) {
    const it = S.state.items;
    let a = Infinity, b = Infinity, c = -Infinity, d = -Infinity;
    const each = (i) => {
      const la = it.lat[i], lo = it.lon[i];
      if (la == null || lo == null) return;
      if (la < a) a = la;
      if (la > c) c = la;
      if (lo < b) b = lo;
      if (lo > d) d = lo;
    };
    if (indices) indices.forEach(each); else for (let i = 0; i < S.n; i++) each(i);
    return a <= c ? L.latLngBounds([a, b], [c, d]) : null;
  }

  function fitAll(initial) {
    if (!map || !S.state) return;
    let bounds = itemBounds(null);
    if (!bounds) {
      const homes = S.state.territories.filter((t) => Array.isArray(t.home)).map((t) => t.home);
      bounds = homes.length ? L.latLngBounds(homes) : null;
    }
    if (!bounds) {
      map.setView([0, 0], 0);
    } else if (bounds.getNorthEast().equals(bounds.getSouthWest())) {
      map.setView(bounds.getCenter(), mapGeometry === 'planar' ? 0 : 10, { animate: false });
    } else {
      map.fitBounds(bounds, { padding: [24, 24], animate: !initial });
    }
    if (initial) S.z0 = map.getZoom();
  }

  function focusItems(indices) {
    if (!indices.length) return;
    if (indices.length === 1) {
      const i = indices[0];
      const it = S.state.items;
      if (it.lat[i] == null || it.lon[i] == null) return;
      map.setView([it.lat[i], it.lon[i]], Math.max(map.getZoom(), S.z0 + 3));
      return;
    }
    const b = itemBounds(indices);
    if (b) map.fitBounds(b, { padding: [40, 40], maxZoom: S.z0 + 5 });
  }

  /** The item whose dot is nearest to a layer point, within maxPx; -1 if none. */
  function nearestItem(lp, maxPx) {
    if (!dots || !dots.px) return -1;
    const { px, py, n } = dots;
    let best = -1, bd = maxPx * maxPx;
    const x = lp.x, y = lp.y;
    for (let i = 0; i < n; i++) {
      const dx = px[i] - x;
      if (dx > maxPx || dx < -maxPx) continue;
      const dy = py[i] - y;
      const d = dx * dx + dy * dy;
      if (d <= bd) { bd = d; best = i; }
    }
    return best;
  }
  function nearestHome(lp, maxPx) {
    if (!dots || !dots.hpx) return -1;
    let best = -1, bd = maxPx * maxPx;
    for (let k = 0; k < dots.hpx.length; k++) {
      const dx = dots.hpx[k] - lp.x, dy = dots.hpy[k] - lp.y;
      const d = dx * dx + dy * dy;
      if (d <= bd) { bd = d; best = k; }
    }
    return best;
  }
  const hitRadius = () => Math.max((dots && dots.radius ? dots.radius : 3) + 3, 6);

  let suppressClick = false;
  function onMapClick(e) {
    if (suppressClick) { suppressClick = false; return; }
    if (!S.state) return;
    const oe = e.originalEvent || {};
    const add = oe.shiftKey || oe.ctrlKey || oe.metaKey;
    const i = nearestItem(e.layerPoint, hitRadius());
    if (i < 0) {
      if (!add) clearSelection();
      return;
    }
    if (add) {
      S.sel[i] = S.sel[i] ? 0 : 1;
      selectionChanged();
    } else {
      setSelection([i]);
    }
  }

  let hoverPt = null, hoverRaf = 0, hoverKey = null;
  function onMapMove(e) {
    hoverPt = e.layerPoint;
    if (!hoverRaf) hoverRaf = requestAnimationFrame(doHover);
  }
  function doHover() {
    hoverRaf = 0;
    if (!map || !S.state || drag || map._animatingZoom || !hoverPt) return;
    const i = nearestItem(hoverPt, hitRadius());
    const k = i < 0 ? nearestHome(hoverPt, 8) : -1;
    const key = i >= 0 ? 'i' + i : k >= 0 ? 'h' + k : null;
    map.getContainer().classList.toggle('hovering', i >= 0);
    if (key === hoverKey) return;
    hoverKey = key;
    if (key == null) { hideTip(); return; }
    const it = S.state.items;
    let node, ll;
    if (i >= 0) {
      const t = S.state.territories[it.territory[i]];
      node = h('div', null,
        h('div', { class: 'tip-title' }, it.names && it.names[i] ? it.names[i] : it.ids[i]),
        h('div', { class: 'tip-sub' }, `${it.ids[i]} · ${t ? `${t.rep_name} (${t.rep_id})` : 'no territory'}`),
        h('div', { class: 'tip-sub' }, `Potential ${fmtNum(it.potential[i])} · workload ${fmtNum(it.workload[i])} h`),
        it.fixed[i] ? h('span', { class: 'tip-tag' }, 'fixed by the input files') : it.locked[i] ? h('span', { class: 'tip-tag' }, 'locked') : null);
      ll = L.latLng(it.lat[i], it.lon[i]);
    } else {
      const t = S.state.territories[k];
      node = h('div', null, h('div', { class: 'tip-title' }, `${t.rep_name} (${t.rep_id})`),
        h('div', { class: 'tip-sub' }, `Home base · ${t.territory_id}${t.status && t.status !== 'active' ? ' · ' + t.status : ''}`));
      ll = L.latLng(t.home[0], t.home[1]);
    }
    tip.setContent(node);
    tip.setLatLng(ll);
    if (!map.hasLayer(tip)) map.openTooltip(tip);
  }
  function hideTip() {
    hoverKey = null;
    if (map && tip && map.hasLayer(tip)) map.closeTooltip(tip);
    if (map) map.getContainer().classList.remove('hovering');
  }

  // ---- box and lasso selection (also shift-drag in click mode)
  let drag = null;
  function onPointerDown(ev) {
    if (!S.state || ev.button !== 0 || !ev.isPrimary) return;
    if (ev.target.closest && ev.target.closest('.leaflet-control')) return;
    const boxy = S.mode !== 'click' || ev.shiftKey;
    if (!boxy) return;
    const shape = S.mode === 'lasso' ? 'lasso' : 'box';
    const rect = map.getContainer().getBoundingClientRect();
    drag = { shape, add: ev.shiftKey, rect, pts: [[ev.clientX - rect.left, ev.clientY - rect.top]], moved: false, reenable: false };
    if (map.dragging.enabled()) { map.dragging.disable(); drag.reenable = true; }
    hideTip();
    ev.preventDefault();
    window.addEventListener('pointermove', onPointerMove, true);
    window.addEventListener('pointerup', onPointerUp, true);
    window.addEventListener('pointercancel', cancelDrag, true);
  }
  function onPointerMove(ev) {
    if (!drag) return;
    const p = [ev.clientX - drag.rect.left, ev.clientY - drag.rect.top];
    const first = drag.pts[0];
    if (!drag.moved && Math.hypot(p[0] - first[0], p[1] - first[1]) < 4) return;
    drag.moved = true;
    if (drag.shape === 'box') {
      drag.pts[1] = p;
    } else {
      const last = drag.pts[drag.pts.length - 1];
      if (Math.hypot(p[0] - last[0], p[1] - last[1]) >= 3) drag.pts.push(p);
    }
    drawDragShape();
  }
  function dragPolygon(d) {
    if (d.shape === 'box') {
      const [a, b] = d.pts;
      if (!b) return [a];
      return [a, [b[0], a[1]], b, [a[0], b[1]]];
    }
    return d.pts;
  }
  function drawDragShape() {
    $('sel-shape').setAttribute('points', dragPolygon(drag).map((p) => p[0].toFixed(1) + ',' + p[1].toFixed(1)).join(' '));
  }
  function endDrag() {
    window.removeEventListener('pointermove', onPointerMove, true);
    window.removeEventListener('pointerup', onPointerUp, true);
    window.removeEventListener('pointercancel', cancelDrag, true);
    $('sel-shape').setAttribute('points', '');
    if (drag && drag.reenable && map) map.dragging.enable();
  }
  function cancelDrag() {
    endDrag();
    drag = null;
  }
  function onPointerUp(ev) {
    if (!drag) return;
    const d = drag;
    onPointerMove(ev);
    endDrag();
    drag = null;
    if (!d.moved) return;  // a plain click: the map's click handler selects
    suppressClick = true;
    setTimeout(() => { suppressClick = false; }, 0);
    const poly = dragPolygon(d);
    if (poly.length < 3) return;
    const lp = poly.map((p) => map.containerPointToLayerPoint(L.point(p[0], p[1])));
    const hits = itemsInPolygon(lp, d.shape === 'box');
    setSelection(hits, d.add);
  }
  function itemsInPolygon(poly, isBox) {
    let x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
    for (const p of poly) {
      if (p.x < x1) x1 = p.x;
      if (p.x > x2) x2 = p.x;
      if (p.y < y1) y1 = p.y;
      if (p.y > y2) y2 = p.y;
    }
    const out = [];
    const { px, py, n } = dots;
    const xs = poly.map((p) => p.x), ys = poly.map((p) => p.y);
    const m = poly.length;
    for (let i = 0; i < n; i++) {
      const x = px[i], y = py[i];
      if (!(x >= x1 && x <= x2 && y >= y1 && y <= y2)) continue;
      if (isBox) { out.push(i); continue; }
      let inside = false;
      for (let a = 0, b = m - 1; a < m; b = a++) {
        if ((ys[a] > y) !== (ys[b] > y) && x < ((xs[b] - xs[a]) * (y - ys[a])) / (ys[b] - ys[a]) + xs[a]) inside = !inside;
      }
      if (inside) out.push(i);
    }
    return out;
  }

  function setMode(mode) {
    S.mode = mode;
    for (const b of document.querySelectorAll('.seg-btn')) b.setAttribute('aria-pressed', String(b.dataset.mode === mode));
    if (!map) return;
    const c = map.getContainer();
    c.classList.toggle('mode-box', mode === 'box');
    c.classList.toggle('mode-lasso', mode === 'lasso');
    if (mode === 'click') map.dragging.enable(); else map.dragging.disable();
  }

  // ------------------------------------------------------------------ selection
  function setSelection(indices, add = false) {
    if (!add) S.sel.fill(0);
    for (const i of indices) if (i >= 0 && i < S.n) S.sel[i] = 1;
    selectionChanged();
  }
  function clearSelection() {
    if (!S.selCount) return;
    S.sel.fill(0);
    selectionChanged();
  }
  function selectedIndices() {
    const out = [];
    const sel = S.sel;
    for (let i = 0; i < S.n; i++) if (sel[i]) out.push(i);
    return out;
  }
  function selectionChanged() {
    const it = S.state.items;
    const K = S.state.territories.length;
    const perT = new Int32Array(K);
    let c = 0, p = 0, w = 0;
    const sel = S.sel;
    for (let i = 0; i < S.n; i++) {
      if (!sel[i]) continue;
      c++;
      p += +it.potential[i] || 0;
      w += +it.workload[i] || 0;
      const t = it.territory[i];
      if (t >= 0 && t < K) perT[t]++;
    }
    S.selCount = c;
    setText($('selection-count'), `${c} selected`);
    setText($('selection-sums'), c ? `· potential ${fmtCompact(p)} · workload ${fmtNum(w)} h` : `· click, shift-click, box or lasso ${S.noun[1]} on the map`);
    document.body.classList.toggle('has-selection', c > 0);
    rows.forEach((r, k) => {
      r.tr.classList.toggle('has-sel', perT[k] > 0);
      const name = S.state.territories[k].rep_name;
      r.tr.title = c ? `Move the ${c} selected to ${name}` : `Zoom to ${name}'s territory`;
    });
    setText($('table-hint'), c ? `click a row to move the ${c} selected there` : 'click a row to zoom to it');
    updateButtons();
    if (dots) dots.refresh();
  }

  // ------------------------------------------------------------------ territory table
  let rows = [];
  let tableKey = '';

  function niceCeil(v) {
    const steps = [2, 5, 10, 15, 20, 25, 30, 40, 50, 60, 80, 100, 150, 200, 300, 500, 1000];
    for (const s of steps) if (v <= s) return s;
    return Math.ceil(v / 1000) * 1000;
  }

  function buildTable() {
    const st = S.state;
    const cols = st.kpis.columns || [];
    const T = st.territories;
    tableKey = cols.join('|') + '#' + T.map((t) => t.rep_id + ':' + t.color + ':' + t.rep_name + ':' + t.status).join('|');
    const table = $('territory-table');
    const kt0 = (st.kpis.territories || [])[0];
    const bandText = (c) => {
      const b = kt0 && kt0.band_pct && kt0.band_pct[c];
      if (!b) return '';
      return fmtBand(b);
    };
    const headRow = h('tr', null,
      h('th', { class: 'c-sw', 'aria-label': 'Colour' }),
      h('th', { class: 'c-rep' }, 'Rep'),
      h('th', { class: 'c-n num', title: `Number of ${S.noun[1]}` }, 'Accts'),
      ...cols.map((c) => h('th', { class: 'c-kpi', title: `${cap(c)}: deviation from the territory's target; the shaded zone is the allowed band` }, cap(c), ' ', h('span', { class: 'band' }, bandText(c)))),
      h('th', { class: 'c-util num', title: 'Workload / capacity' }, 'Util.'));
    table.tHead.replaceChildren(headRow);
    const tb = table.tBodies[0];
    const frag = document.createDocumentFragment();
    rows = T.map((t, k) => {
      const tr = h('tr', { class: 'trow', testid: 'territory-row', 'data-rep-id': t.rep_id, 'data-index': k });
      const sw = h('span', { class: 'sw' });
      sw.style.background = t.color;
      const sub = h('div', { class: 'rep-sub' }, `${t.rep_id} · ${t.territory_id}`);
      if (t.status && t.status !== 'active') sub.append(' · ', h('span', { class: 'open' }, t.status));
      const n = h('td', { class: 'num', testid: 'n-accounts' });
      tr.append(h('td', null, sw), h('td', { class: 'c-rep' }, h('div', { class: 'rep-name' }, t.rep_name || t.rep_id), sub), n);
      const kp = {};
      for (const c of cols) {
        const band = h('div', { class: 'bband' }), fill = h('div', { class: 'bfill' }), bar = h('div', { class: 'bar' }, band, h('div', { class: 'bzero' }), fill);
        const text = h('span', { class: 'dev', testid: 'kpi-' + c });
        tr.append(h('td', null, h('div', { class: 'kpi-cell' }, bar, text)));
        kp[c] = { bar, band, fill, text };
      }
      const util = h('td', { class: 'num util', testid: 'utilisation' });
      tr.append(util);
      tr.addEventListener('click', () => onRowClick(k));
      frag.append(tr);
      return { tr, n, util, kp };
    });
    tb.replaceChildren(frag);
    renderMoveTo();
  }

  function updateTable() {
    const st = S.state;
    const cols = st.kpis.columns || [];
    const key = cols.join('|') + '#' + st.territories.map((t) => t.rep_id + ':' + t.color + ':' + t.rep_name + ':' + t.status).join('|');
    if (key !== tableKey || rows.length !== st.territories.length) buildTable();
    const KT = st.kpis.territories || [];
    const scale = {};
    for (const c of cols) {
      let m = 1, bm = 0;
      for (const kt of KT) {
        const d = kt.dev_pct ? kt.dev_pct[c] : null;
        if (Number.isFinite(d)) m = Math.max(m, Math.abs(d) * 1.05);
        const b = kt.band_pct ? kt.band_pct[c] : null;
        if (b) bm = Math.max(bm, Math.abs(b[0]), Math.abs(b[1]));
      }
      // wide enough for the band and the deviations, but an outlier (e.g. an emptied territory
      // at -100%) does not squash every other bar: beyond the scale the bar is clipped at the edge
      scale[c] = niceCeil(Math.min(Math.max(m, bm * 1.6), Math.max(bm * 4, 20)));
    }
    const pos = (v, s) => Math.max(0, Math.min(100, ((v + s) / (2 * s)) * 100));
    rows.forEach((r, k) => {
      const kt = KT[k] || {};
      const oob = Array.isArray(kt.out_of_band) ? kt.out_of_band : [];
      const nAcc = kt.n_accounts != null ? kt.n_accounts : kt.n_items;
      setText(r.n, fmtInt(nAcc));
      r.n.dataset.value = String(nAcc);
      if (kt.n_items != null && kt.n_items !== nAcc) r.n.title = `${kt.n_items} ${S.noun[1]}`;
      for (const c of cols) {
        const s = scale[c];
        const d = kt.dev_pct ? kt.dev_pct[c] : null;
        const band = kt.band_pct ? kt.band_pct[c] : null;
        const out = oob.includes(c);
        const e = r.kp[c];
        setText(e.text, fmtDev(d));
        e.text.dataset.value = d == null ? '' : String(d);
        e.text.classList.toggle('out', out);
        e.bar.classList.toggle('out', out);
        if (band) {
          const a = pos(band[0], s), b = pos(band[1], s);
          e.band.style.left = a + '%';
          e.band.style.width = Math.max(0, b - a) + '%';
          e.band.hidden = false;
        } else {
          e.band.hidden = true;
        }
        if (Number.isFinite(d)) {
          const z = pos(0, s), v = pos(d, s);
          e.fill.style.left = Math.min(z, v) + '%';
          e.fill.style.width = Math.max(Math.abs(v - z), 0.6) + '%';
        } else {
          e.fill.style.width = '0';
        }
        const val = kt.values ? kt.values[c] : null;
        e.bar.title = `${cap(c)} ${fmtNum(val)}: ${fmtDev(d)} from target${band ? ` (band ${fmtBand(band)})` : ''}`;
      }
      const u = kt.utilisation;
      setText(r.util, u == null ? '—' : Math.round(u * 100) + '%');
      r.util.classList.toggle('out', oob.includes('capacity'));
      r.util.title = kt.capacity_hours != null ? `${fmtNum(kt.values && kt.values.workload)} h of ${fmtNum(kt.capacity_hours)} h capacity` : '';
      r.tr.classList.toggle('oob', oob.length > 0);
    });
  }

  function renderMoveTo() {
    const sel = $('move-to');
    const prev = sel.value;
    const opts = [h('option', { value: '' }, 'Move selected to…')];
    for (const t of S.state.territories) opts.push(h('option', { value: t.rep_id }, `${t.rep_name} (${t.rep_id})`));
    sel.replaceChildren(...opts);
    if (prev && S.repIndex.has(prev)) sel.value = prev;
  }

  function onRowClick(k) {
    const t = S.state.territories[k];
    if (S.selCount > 0) {
      moveSelectionTo(t.rep_id);
    } else {
      const idx = [];
      const terr = S.state.items.territory;
      for (let i = 0; i < S.n; i++) if (terr[i] === k) idx.push(i);
      if (idx.length) focusItems(idx);
      else if (Array.isArray(t.home)) map.setView(t.home, Math.max(map.getZoom(), S.z0 + 2));
    }
  }

  // ------------------------------------------------------------------ status, violations
  function renderStatus() {
    const st = S.state;
    const f = st.figures || {};
    const badge = $('status-badge');
    badge.className = 'badge st-' + String(f.status || 'none').replace(/[^a-z_]/gi, '');
    setText(badge, String(f.status || '—').replace(/_/g, ' '));
    setText($('status-text'), f.status_text || '');
    setText($('objective'), fmtNum(f.objective));
    const label = st.kpis && st.kpis.objective_label ? st.kpis.objective_label : '';
    setText($('objective-label'), label);
    $('objective-label').title = label;
    setText($('bound'), fmtNum(f.bound));
    setText($('bound-from'), f.bound_from ? `from ${f.bound_from}` : (f.bound == null ? 'none proven' : 'lower bound'));
    setText($('gap'), fmtGap(f.gap));
    setText($('gap-note'), f.gap == null ? (f.status === 'edited' ? 'none: breaks constraints' : 'none proven') : 'proven');
    const d = st.draft;
    setText($('version'), String(d.version));
    const base = d.base_run ? `base run ${d.base_run}${d.base_label ? ` “${d.base_label}”` : ''}` : (d.base_label ? `base: ${d.base_label}` : 'new plan');
    setText($('base-run'), base);
    $('base-run').title = base;
    const k = st.kpis || {};
    const extra = [];
    if (k.moved_from_base != null) extra.push(`${fmtInt(k.moved_from_base)} ${k.moved_from_base === 1 ? S.noun[0] : S.noun[1]} moved from the base run`);
    if (k.mean_distance_km != null) extra.push(`mean distance ${fmtNum(k.mean_distance_km)}${st.scenario.geometry !== 'planar' ? ' km' : ''}`);
    if (d.saved_run) extra.push(`saved as run ${d.saved_run}`);
    setText($('plan-extra'), extra.join(' · '));
    const sc = st.scenario || {};
    $('scenario').replaceChildren(h('b', null, sc.name || ''), sc.description ? ` — ${sc.description}` : '');
    $('scenario').title = sc.description || '';
    document.title = `${sc.name ? sc.name + ' · ' : ''}Workbench · territory_planner`;
  }

  function renderViolations() {
    const v = (S.state.kpis && S.state.kpis.violations) || [];
    const wrap = $('violations-wrap');
    wrap.hidden = v.length === 0;
    setText($('violations-title'), v.length === 1 ? '1 violation' : `${v.length} violations`);
    $('violations').replaceChildren(...v.map((t) => h('li', { testid: 'violation' }, t)));
  }

  function updateButtons() {
    const st = S.state;
    const active = rbActive();
    const d = st ? st.draft : {};
    const none = !st;
    $('undo').disabled = none || active || !d.can_undo;
    $('redo').disabled = none || active || !d.can_redo;
    const noSel = none || active || S.selCount === 0;
    $('lock').disabled = noSel;
    $('unlock').disabled = noSel;
    $('move-button').disabled = noSel;
    $('clear-selection').disabled = none || S.selCount === 0;
    $('rebalance').disabled = none || active;
    $('stop').disabled = none || !active || (st.rebalance && st.rebalance.state === 'stopping');
    $('save').disabled = none || active;
    for (const b of document.querySelectorAll('[data-testid=open-run]')) b.disabled = active;
  }

  // ------------------------------------------------------------------ applying server data
  function sameIds(a, b) {
    if (!a || !b || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  function applyState(st) {
    const prev = S.state;
    const sameItems = prev && prev.scenario && st.scenario && prev.scenario.geometry === st.scenario.geometry &&
      sameIds(prev.items.ids, st.items.ids);
    S.state = st;
    const it = st.items;
    S.n = it.ids.length;
    S.noun = it.kind === 'unit' ? ['unit', 'units'] : ['account', 'accounts'];
    S.repIndex = new Map(st.territories.map((t, k) => [t.rep_id, k]));
    S.colors = st.territories.map((t) => t.color || COL_NONE);
    const newMap = ensureMap(st.scenario.geometry);
    if (!sameItems || newMap) {
      S.idIndex = new Map();
      for (let i = 0; i < S.n; i++) S.idIndex.set(it.ids[i], i);
      S.lowerIds = S.lowerNames = null;
      S.sel = new Uint8Array(S.n);
      S.hi = new Uint8Array(S.n);
      S.selCount = S.hiCount = 0;
      hideMoved();
      setItemsOnMap();
      S.cellsWanted = true;
    } else {
      const hp = homesProjected();
      dots.setData(dots.x0, dots.y0, hp.x, hp.y);
      cells.refresh();
    }
    const tl = st.scenario && Number.isFinite(st.scenario.time_limit) ? Math.min(st.scenario.time_limit, 15) : 15;
    if (!applyState.tlSet || !sameItems) { $('time-limit').value = String(Math.max(1, Math.round(tl * 10) / 10)); applyState.tlSet = true; }
    updateTable();
    renderStatus();
    renderViolations();
    selectionChanged();
    renderRebalance(st.rebalance || { state: 'idle' });
    renderRunsMarks();
    if (!sameItems && S.readyDone) loadCells();
  }

  function homesProjected() {
    const proj = projector();
    const T = S.state.territories;
    const x = new Float64Array(T.length), y = new Float64Array(T.length);
    T.forEach((t, k) => {
      const p = Array.isArray(t.home) ? proj(t.home[0], t.home[1]) : { x: NaN, y: NaN };
      x[k] = p.x; y[k] = p.y;
    });
    return { x, y };
  }

  /** Apply an EDIT_RESULT (move/undo/redo/lock, or a finished rebalance). */
  function applyEdit(r) {
    const st = S.state;
    const it = st.items;
    st.draft.version = r.version;
    if ('can_undo' in r) st.draft.can_undo = !!r.can_undo;
    if ('can_redo' in r) st.draft.can_redo = !!r.can_redo;
    if ('saved_run' in r) st.draft.saved_run = r.saved_run;
    else if ((r.changed || []).length) st.draft.saved_run = null;
    for (const c of r.changed || []) {
      const i = c.index;
      if (!(i >= 0 && i < S.n)) continue;
      if (c.territory != null) it.territory[i] = c.territory;
      if (c.locked != null) it.locked[i] = !!c.locked;
      if (c.fixed != null) it.fixed[i] = !!c.fixed;
    }
    if (r.kpis) st.kpis = r.kpis;
    if (r.figures) st.figures = r.figures;
    updateTable();
    renderStatus();
    renderViolations();
    selectionChanged();   // repaints the dots, updates the per-row selection marks and buttons
    if ((r.changed || []).length && cells) cells.refresh();
  }

  async function reloadState() {
    const st = await api('GET', '/api/state');
    applyState(st);
    if (ACTIVE.has((st.rebalance || {}).state)) watchRebalance();
    return st;
  }

  let cellsGen = 0;
  async function loadCells() {
    const gen = ++cellsGen;
    const t0 = performance.now();
    let data;
    try {
      data = await api('GET', '/api/cells');
    } catch (e) {
      return;
    }
    if (gen !== cellsGen || !map) return;
    if (data && Array.isArray(data.cells)) {
      cells.setData(data.cells.length > S.n ? data.cells.slice(0, S.n) : data.cells, projector());
    }
    S.timings.cells = performance.now() - t0;
  }

  // ------------------------------------------------------------------ edits
  async function mutate(path, body) {
    if (!S.state || rbActive()) return null;
    if (!startMutation()) return null;   // a request is in flight: ignore (it would send a stale version)
    clearMessage();
    try {
      const r = await api('POST', path, Object.assign({}, body, { version: S.state.draft.version, draft: S.state.draft.id }));
      applyEdit(r);
      return r;
    } catch (e) {
      return null;
    } finally {
      endMutation();
    }
  }
  function selectedIds() {
    return selectedIndices().map((i) => S.state.items.ids[i]);
  }
  function moveSelectionTo(repId) {
    if (!repId || !S.selCount) return null;
    return mutate('/api/move', { items: selectedIds(), to: repId });
  }
  const undo = () => (S.state && S.state.draft.can_undo ? mutate('/api/undo', {}) : null);
  const redo = () => (S.state && S.state.draft.can_redo ? mutate('/api/redo', {}) : null);
  function setLocked(locked) {
    if (!S.selCount) return null;
    return mutate('/api/lock', { items: selectedIds(), locked });
  }

  // ------------------------------------------------------------------ search
  let results = [], activeResult = 0;
  function runSearch(q) {
    q = q.trim().toLowerCase();
    if (!q || !S.state) return [];
    const out = [];
    S.state.territories.forEach((t, k) => {
      if (String(t.rep_id).toLowerCase().includes(q) || String(t.rep_name || '').toLowerCase().includes(q) ||
          String(t.territory_id || '').toLowerCase().includes(q)) out.push({ kind: 'rep', k });
    });
    if (!S.lowerIds) {
      S.lowerIds = S.state.items.ids.map((s) => String(s).toLowerCase());
      S.lowerNames = (S.state.items.names || []).map((s) => String(s == null ? '' : s).toLowerCase());
    }
    const ids = S.lowerIds, names = S.lowerNames;
    const exact = [], prefix = [], other = [];
    for (let i = 0; i < S.n && exact.length + prefix.length < 12; i++) {
      const id = ids[i], nm = names[i] || '';
      if (id === q) exact.push(i);
      else if (id.startsWith(q) || nm.startsWith(q)) prefix.push(i);
      else if (other.length < 12 && (id.includes(q) || nm.includes(q))) other.push(i);
    }
    for (const i of exact.concat(prefix, other)) out.push({ kind: 'item', i });
    out.sort((a, b) => (a.kind === 'item' && exact.includes(a.i) ? -1 : 0) - (b.kind === 'item' && exact.includes(b.i) ? -1 : 0));
    return out.slice(0, 14);
  }
  function renderResults() {
    const ul = $('search-results');
    const input = $('search');
    if (!input.value.trim()) {
      ul.hidden = true;
      input.setAttribute('aria-expanded', 'false');
      return;
    }
    const it = S.state.items;
    const lis = results.map((r, j) => {
      let li;
      if (r.kind === 'rep') {
        const t = S.state.territories[r.k];
        const n = (S.state.kpis.territories[r.k] || {}).n_items;
        li = h('li', { role: 'option', testid: 'search-result', 'data-kind': 'rep', 'data-rep-id': t.rep_id },
          h('span', { class: 'sr-kind' }, 'Rep'),
          h('span', { class: 'sr-main' }, `${t.rep_name} (${t.rep_id})`),
          h('span', { class: 'sr-sub' }, n != null ? `${fmtInt(n)} ${S.noun[1]}` : ''));
      } else {
        const t = S.state.territories[it.territory[r.i]];
        li = h('li', { role: 'option', testid: 'search-result', 'data-kind': S.noun[0], 'data-item-id': it.ids[r.i] },
          h('span', { class: 'sr-kind' }, cap(S.noun[0])),
          h('span', { class: 'sr-main' }, `${it.ids[r.i]} · ${it.names && it.names[r.i] ? it.names[r.i] : ''}`),
          h('span', { class: 'sr-sub' }, t ? t.rep_name : ''));
      }
      if (j === activeResult) li.classList.add('active');
      li.setAttribute('aria-selected', String(j === activeResult));
      li.addEventListener('mousedown', (e) => { e.preventDefault(); pickResult(j); });
      return li;
    });
    if (!lis.length) lis.push(h('li', { class: 'sr-none' }, 'No account or rep matches'));
    ul.replaceChildren(...lis);
    ul.hidden = false;
    input.setAttribute('aria-expanded', 'true');
  }
  function closeResults() {
    $('search-results').hidden = true;
    $('search').setAttribute('aria-expanded', 'false');
  }
  function pickResult(j) {
    const r = results[j];
    if (!r) return;
    closeResults();
    if (r.kind === 'rep') {
      const idx = [];
      const terr = S.state.items.territory;
      for (let i = 0; i < S.n; i++) if (terr[i] === r.k) idx.push(i);
      setSelection(idx);
      if (idx.length) focusItems(idx);
      else {
        const t = S.state.territories[r.k];
        if (Array.isArray(t.home)) map.setView(t.home, Math.max(map.getZoom(), S.z0 + 2));
      }
    } else {
      setSelection([r.i]);
      focusItems([r.i]);
    }
  }

  // ------------------------------------------------------------------ rebalance
  function renderRebalance(rb) {
    rb = rb || { state: 'idle' };
    const state = rb.state || 'idle';
    const el = $('rebalance-state');
    setText(el, state);
    el.className = 'rb-state s-' + state.replace(/[^a-z_]/gi, '');
    const tl = rb.time_limit;
    setText($('rebalance-elapsed'), state === 'idle' ? '' : `${(rb.seconds || 0).toFixed(1)} s${tl ? ` of ${fmtNum(tl)} s` : ''}`);
    setText($('rebalance-objective'), fmtNum(rb.objective));
    setText($('rebalance-bound'), fmtNum(rb.bound));
    setText($('rebalance-gap'), fmtGap(rb.gap));
    $('rebalance-progress').style.width = (state === 'done' ? 100 : tl ? Math.min(100, ((rb.seconds || 0) / tl) * 100) : 0) + '%';
    // sparkline of the gap over time
    const hist = Array.isArray(rb.history) ? rb.history : [];
    const pts = [];
    let gmax = 0, smax = 0;
    for (const hrow of hist) {
      const [s, o, b] = hrow;
      if (o == null || b == null || !o) continue;
      const g = Math.max(0, (o - b) / Math.abs(o));
      pts.push([s, g]);
      gmax = Math.max(gmax, g);
      smax = Math.max(smax, s);
    }
    const line = $('spark-line');
    if (pts.length >= 2 && gmax > 0 && smax > 0) {
      line.setAttribute('points', pts.map(([s, g]) => `${((s / smax) * 120).toFixed(1)},${(22 - (g / gmax) * 20).toFixed(1)}`).join(' '));
    } else {
      line.setAttribute('points', '');
    }
    $('rebalance-spark').setAttribute('aria-label', 'Gap over time');
    updateButtons();
  }

  function watchRebalance() {
    S.rb.watching = true;
    S.rb.failures = 0;
    schedulePoll();
  }
  function schedulePoll() {
    if (S.rb.timer) return;
    S.rb.timer = setTimeout(poll, POLL_MS);
  }
  async function poll() {
    S.rb.timer = null;
    let r;
    try {
      r = await api('GET', '/api/rebalance', undefined, { quiet: true });
    } catch (e) {
      S.rb.failures++;
      if (S.rb.failures === 5) showError(e);
      if (S.rb.failures < 100) schedulePoll();
      return;
    }
    S.rb.failures = 0;
    handleRebalance(r);
  }
  function handleRebalance(r) {
    if (!S.state) return;
    S.state.rebalance = r;
    renderRebalance(r);
    if (ACTIVE.has(r.state)) {
      schedulePoll();
      return;
    }
    if (!S.rb.watching) return;
    S.rb.watching = false;
    if (r.state === 'done' && r.result) {
      applyRebalanceResult(r.result);
    } else if (r.state === 'failed') {
      showError(new ApiError(0, `Rebalance failed: ${r.error || 'unknown error'}`, null));
      $('rebalance-state').title = r.error || '';
    }
  }
  function applyRebalanceResult(res) {
    const v = S.state.draft.version;
    if (res.version === v + 1 && Array.isArray(res.changed)) {
      applyEdit(res);
    } else if (res.version !== v) {
      reloadState().catch(() => {});
    }
    const moved = Array.isArray(res.moved) ? res.moved : [];
    showMoved(moved, moved.length === 1 ? `Rebalance moved 1 ${S.noun[0]}` : `Rebalance moved ${fmtInt(moved.length)} ${S.noun[1]}`);
    notice(moved.length ? `Rebalance finished: ${moved.length} ${moved.length === 1 ? S.noun[0] : S.noun[1]} moved (undo with Ctrl+Z).` : 'Rebalance finished: no change needed.');
  }
  async function startRebalance() {
    if (!S.state || rbActive()) return;
    if (!startMutation()) return;
    clearMessage();
    let tl = parseFloat($('time-limit').value);
    if (!(tl > 0)) tl = Math.min((S.state.scenario && S.state.scenario.time_limit) || 15, 15);
    try {
      const r = await api('POST', '/api/rebalance', { version: S.state.draft.version, draft: S.state.draft.id, time_limit: tl });
      S.rb.watching = true;
      S.rb.failures = 0;
      handleRebalance(r && r.state ? r : { state: 'starting', time_limit: tl });
    } catch (e) {
      /* shown */
    } finally {
      endMutation();
    }
  }
  async function stopRebalance() {
    if (!rbActive()) return;
    $('stop').disabled = true;
    try {
      const r = await api('POST', '/api/rebalance/stop', {});
      if (r && r.state) handleRebalance(r);
      else schedulePoll();
    } catch (e) {
      updateButtons();
    }
  }

  // ------------------------------------------------------------------ moved lists and highlight
  function repLabel(repId) {
    const k = S.repIndex.get(repId);
    return k == null ? String(repId) : `${S.state.territories[k].rep_name}`;
  }
  function fillMovedList(ul, moved) {
    const lis = moved.slice(0, MOVED_LIST_MAX).map((m) => {
      const li = h('li', { testid: 'moved-item', 'data-item-id': m.id, title: `${m.id} · ${m.name || ''}: ${m.from_rep} → ${m.to_rep}` },
        h('span', { class: 'mv-id' }, m.id),
        h('span', { class: 'mv-name' }, m.name || ''),
        h('span', { class: 'mv-reps' }, h('b', null, repLabel(m.from_rep)), ' → ', h('b', null, repLabel(m.to_rep))));
      li.addEventListener('click', () => {
        const i = S.idIndex.get(m.id);
        if (i != null) { setSelection([i]); focusItems([i]); }
      });
      return li;
    });
    if (moved.length > MOVED_LIST_MAX) lis.push(h('li', { class: 'more' }, `… and ${fmtInt(moved.length - MOVED_LIST_MAX)} more (all ringed on the map)`));
    ul.replaceChildren(...lis);
  }
  function setHighlight(ids) {
    S.hi.fill(0);
    let c = 0;
    for (const id of ids) {
      const i = S.idIndex.get(id);
      if (i != null && !S.hi[i]) { S.hi[i] = 1; c++; }
    }
    S.hiCount = c;
    if (dots) dots.refresh();
  }
  function showMoved(moved, title) {
    hideCompare(false);
    setText($('moved-title'), title);
    fillMovedList($('moved-list'), moved);
    $('moved-card').hidden = false;
    setHighlight(moved.map((m) => m.id));
  }
  function hideMoved() {
    $('moved-card').hidden = true;
    $('moved-list').replaceChildren();
    if (S.hiCount) setHighlight([]);
  }

  // ------------------------------------------------------------------ runs, approve, export, compare
  async function loadRuns() {
    let r;
    try { r = await api('GET', '/api/runs'); } catch (e) { return; }
    S.runs = Array.isArray(r.runs) ? r.runs : [];
    renderRuns();
    renderCompareSelects();
  }
  const storedName = () => { try { return (localStorage.getItem(NAME_KEY) || '').trim(); } catch (e) { return ''; } };

  function renderPlanner() {
    const el = $('planner');
    const name = storedName();
    if (!name) { el.replaceChildren(); return; }
    el.replaceChildren(`Approving as ${name} `, h('button', {
      type: 'button', class: 'link', testid: 'planner-change',
      onclick: () => { try { localStorage.removeItem(NAME_KEY); } catch (e) { /* ignore */ } renderPlanner(); },
    }, 'change'));
  }

  function renderRuns() {
    const ul = $('runs-list');
    renderPlanner();
    if (!S.runs.length) {
      ul.replaceChildren(h('li', { class: 'empty' }, 'No runs yet: save the plan to create one.'));
      return;
    }
    const lis = S.runs.map((run) => {
      const id = String(run.id);
      const li = h('li', { testid: 'run-row', 'data-run-id': id, class: 'run-row' });
      const top = h('div', { class: 'run-top' },
        h('span', { class: 'run-id' }, id),
        h('span', { class: 'run-label' }, run.label || run.name || ''),
        run.kind ? h('span', { class: 'badge' }, run.kind) : null,
        run.status ? h('span', { class: 'badge st-' + String(run.status).replace(/[^a-z_]/gi, '') }, String(run.status).replace(/_/g, ' ')) : null,
        run.gap != null ? h('span', { class: 'muted small' }, `gap ${fmtGap(run.gap)}`) : null,
        h('span', { class: 'badge current run-current', hidden: true }, 'open'),
        run.approved ? h('span', { class: 'badge approved', testid: 'run-approved' }, '✓ approved') : null);
      const meta = h('div', { class: 'run-meta' },
        [fmtDate(run.created_at), run.name && run.label ? run.name : null, run.parent ? `from ${run.parent}` : null,
          run.approved ? `approved by ${run.approved_by || '?'}${run.approved_at ? ' on ' + fmtDate(run.approved_at) : ''}` : null]
          .filter(Boolean).join(' · '));
      const openBtn = h('button', { type: 'button', testid: 'open-run', title: `Open run ${id} in the workbench (replaces the current draft)` }, 'Open');
      openBtn.addEventListener('click', () => openRun(id));
      const approveBtn = h('button', { type: 'button', testid: 'approve-run', title: run.approved ? `Approved by ${run.approved_by}` : `Approve run ${id}` }, run.approved ? 'Approved' : 'Approve');
      approveBtn.disabled = !!run.approved;
      approveBtn.addEventListener('click', () => approveClicked(id, li));
      const menu = h('div', { class: 'menu', role: 'menu' });
      const details = h('details', { class: 'export' }, h('summary', { testid: 'export-menu', title: 'Download the CRM export of this run' }, 'Export ▾'), menu);
      for (const [to, label] of EXPORTS) {
        const href = `/api/export?run=${encodeURIComponent(id)}&to=${encodeURIComponent(to)}`;
        const a = h('a', { href, download: `run-${id}-${to}.zip`, testid: 'export-link', 'data-to': to, role: 'menuitem' }, label);
        // A plain link (copy/middle-click work); a click fetches it through api() so the token
        // header is sent and a refusal ({"error","fix"}) shows in #message instead of a broken download.
        a.addEventListener('click', (e) => {
          details.open = false;
          if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
          e.preventDefault();
          downloadBlob(href, `run-${id}-${to}.zip`);
        });
        menu.append(a);
      }
      li.append(top, meta, h('div', { class: 'run-actions' }, openBtn, approveBtn, details));
      return li;
    });
    ul.replaceChildren(...lis);
    renderRunsMarks();
    updateButtons();
  }
  function renderRunsMarks() {
    const base = S.state && S.state.draft ? S.state.draft.base_run : null;
    for (const li of document.querySelectorAll('#runs-list > li.run-row')) {
      const cur = li.dataset.runId === base;
      li.classList.toggle('is-current', cur);
      const b = li.querySelector('.run-current');
      if (b) b.hidden = !cur;
    }
  }

  async function downloadBlob(href, fallbackName) {
    let res;
    try { res = await api('GET', href, undefined, { raw: true }); } catch (e) { return; }
    const blob = await res.blob();
    let name = fallbackName;
    const cd = res.headers.get('Content-Disposition') || '';
    const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(cd);
    if (m) { try { name = decodeURIComponent(m[1]); } catch (e) { name = m[1]; } }
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 30000);
  }

  async function openRun(id) {
    if (rbActive()) return;
    if (!startMutation()) return;
    clearMessage();
    try {
      const st = await api('POST', '/api/open', { run: id });
      hideMoved();
      hideCompare(true);
      applyState(st);
      if (ACTIVE.has((st.rebalance || {}).state)) watchRebalance();
      notice(`Opened run ${id}.`);
    } catch (e) {
      /* shown */
    } finally {
      endMutation();
    }
    loadRuns();
  }

  function approveClicked(id, li) {
    const name = storedName();
    if (name) { approve(id, name); return; }
    for (const f of document.querySelectorAll('.approve-form')) f.remove();
    const input = h('input', { type: 'text', testid: 'planner-name', id: 'planner-name', placeholder: 'Your name', maxlength: '120', autocomplete: 'name', required: true });
    const form = h('form', { class: 'approve-form', testid: 'approve-form' },
      h('label', { for: 'planner-name' }, `Approve run ${id} as (asked once, kept in this browser):`),
      h('div', { class: 'row' }, input,
        h('button', { type: 'submit', class: 'primary', testid: 'approve-confirm' }, 'Approve'),
        h('button', { type: 'button', testid: 'approve-cancel', onclick: () => form.remove() }, 'Cancel')));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const v = input.value.trim();
      if (!v) { input.focus(); showError(new ApiError(0, 'Type your name to approve the run.', null)); return; }
      try { localStorage.setItem(NAME_KEY, v); } catch (err) { /* private mode: still approve */ }
      form.remove();
      approve(id, v);
    });
    li.append(form);
    input.focus();
  }
  async function approve(id, by) {
    if (!startMutation()) return;
    clearMessage();
    try {
      const r = await api('POST', '/api/approve', { run: id, by });
      const row = r && r.run;
      if (row) {
        const j = S.runs.findIndex((x) => String(x.id) === String(row.id));
        if (j >= 0) S.runs[j] = row; else S.runs.unshift(row);
        renderRuns();
      }
      notice(`Run ${id} approved by ${by}.`);
    } catch (e) {
      /* shown */
    } finally {
      endMutation();
    }
    renderPlanner();
  }

  async function saveRun() {
    if (!S.state || rbActive()) return;
    if (!startMutation()) return;
    clearMessage();
    const label = $('save-label').value.trim() || null;
    try {
      const r = await api('POST', '/api/save', { version: S.state.draft.version, draft: S.state.draft.id, label });
      if (r && r.state) applyState(r.state);
      if (r && r.run) {
        if (r.state == null) S.state.draft.saved_run = r.run.id;
        notice(`Saved as run ${r.run.id}${label ? ` “${label}”` : ''}.`);
      }
      $('save-label').value = '';
      renderStatus();
    } catch (e) {
      /* shown */
    } finally {
      endMutation();
    }
    loadRuns();
  }

  function renderCompareSelects() {
    const a = $('compare-a'), b = $('compare-b');
    const pa = a.value, pb = b.value;
    const opts = () => S.runs.map((r) => h('option', { value: String(r.id) }, `${r.id}${r.label ? ' · ' + r.label : r.name ? ' · ' + r.name : ''}`));
    a.replaceChildren(...opts());
    b.replaceChildren(...opts());
    const ids = S.runs.map((r) => String(r.id));
    const base = S.state && S.state.draft.base_run;
    a.value = ids.includes(pa) ? pa : (base && ids.includes(base) && base !== ids[0] ? base : (ids[1] || ids[0] || ''));
    b.value = ids.includes(pb) ? pb : (ids[0] || '');
    $('compare-button').disabled = ids.length < 2;
  }
  async function compareRuns() {
    const a = $('compare-a').value, b = $('compare-b').value;
    if (!a || !b) return;
    if (a === b) { showError(new ApiError(0, 'Pick two different runs to compare.', null)); return; }
    clearMessage();
    let r;
    try { r = await api('GET', `/api/compare?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`); } catch (e) { return; }
    const unit = (u) => (u ? (u === '%' ? '%' : ' ' + u) : '');
    const val = (x, u) => (x == null ? '—' : (typeof x === 'number' ? fmtNum(x) + unit(u) : String(x)));
    const table = $('compare-table');
    table.tHead.replaceChildren(h('tr', null, h('th', null, 'KPI'), h('th', null, `Run ${r.a || a}`), h('th', null, `Run ${r.b || b}`), h('th', null, 'Δ')));
    table.tBodies[0].replaceChildren(...(r.kpis || []).map((k) => {
      const d = k.delta;
      const dt = d == null ? '—' : (typeof d === 'number' ? (d > 0 ? '+' : '') + fmtNum(d) + unit(k.unit) : String(d));
      return h('tr', { testid: 'compare-row' }, h('td', null, k.kpi), h('td', null, val(k.a, k.unit)), h('td', null, val(k.b, k.unit)), h('td', { testid: 'compare-delta' }, dt));
    }));
    const moved = Array.isArray(r.moved) ? r.moved : [];
    hideMoved();
    setText($('compare-moved-title'), `${fmtInt(moved.length)} ${moved.length === 1 ? S.noun[0] : S.noun[1]} moved from ${r.a || a} to ${r.b || b} (ringed on the map)`);
    fillMovedList($('compare-moved'), moved);
    $('compare-result').hidden = false;
    setHighlight(moved.map((m) => m.id));
  }
  function hideCompare(clearHi) {
    if ($('compare-result').hidden) return;
    $('compare-result').hidden = true;
    $('compare-moved').replaceChildren();
    if (clearHi && S.hiCount) setHighlight([]);
  }

  // ------------------------------------------------------------------ wiring
  function wire() {
    for (const b of document.querySelectorAll('.seg-btn')) b.addEventListener('click', () => setMode(b.dataset.mode));
    $('undo').addEventListener('click', undo);
    $('redo').addEventListener('click', redo);
    $('lock').addEventListener('click', () => setLocked(true));
    $('unlock').addEventListener('click', () => setLocked(false));
    $('move-button').addEventListener('click', () => {
      const to = $('move-to').value;
      if (!to) { $('move-to').focus(); showError(new ApiError(0, 'Pick the rep to move the selection to.', null)); return; }
      moveSelectionTo(to);
    });
    $('clear-selection').addEventListener('click', clearSelection);
    $('rebalance').addEventListener('click', startRebalance);
    $('stop').addEventListener('click', stopRebalance);
    $('save-form').addEventListener('submit', (e) => { e.preventDefault(); saveRun(); });
    $('runs-refresh').addEventListener('click', loadRuns);
    $('compare-button').addEventListener('click', compareRuns);
    $('compare-clear').addEventListener('click', () => hideCompare(true));
    $('moved-clear').addEventListener('click', hideMoved);
    const input = $('search');
    input.addEventListener('input', () => {
      results = runSearch(input.value);
      activeResult = 0;
      renderResults();
    });
    input.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        if (!results.length) return;
        e.preventDefault();
        activeResult = (activeResult + (e.key === 'ArrowDown' ? 1 : results.length - 1)) % results.length;
        renderResults();
      } else if (e.key === 'Enter') {
        e.preventDefault();
        if (!results.length) results = runSearch(input.value);
        pickResult(activeResult);
      } else if (e.key === 'Escape') {
        if (!$('search-results').hidden) { e.stopPropagation(); closeResults(); }
      }
    });
    input.addEventListener('blur', () => setTimeout(closeResults, 120));
    input.addEventListener('focus', () => { if (input.value.trim()) { results = runSearch(input.value); renderResults(); } });
    document.addEventListener('keydown', onKey);
  }

  function onKey(e) {
    const t = e.target;
    const typing = t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable);
    const mod = e.ctrlKey || e.metaKey;
    const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    if (mod && !e.altKey && key === 'z') {
      if (typing) return;
      e.preventDefault();
      if (e.shiftKey) redo(); else undo();
    } else if (mod && !e.altKey && key === 'y') {
      if (typing) return;
      e.preventDefault();
      redo();
    } else if (key === 'Escape') {
      if (drag) { cancelDrag(); return; }
      if (!$('search-results').hidden) { closeResults(); return; }
      clearSelection();
    }
  }

  // ------------------------------------------------------------------ test API and start
  let resolveReady, rejectReady, resolveCells;
  const ready = new Promise((res, rej) => { resolveReady = res; rejectReady = rej; });
  ready.catch(() => {});
  const cellsReady = new Promise((res) => { resolveCells = res; });

  const testApi = Object.freeze({
    ready,
    cellsReady,
    /** Select items by id as if clicked (replaces the selection); returns the number selected. */
    selectItems(ids) {
      if (!S.state) return 0;
      const list = Array.isArray(ids) ? ids : [ids];
      setSelection(list.map((id) => S.idIndex.get(String(id))).filter((i) => i != null));
      return S.selCount;
    },
    /** The current client state: the server's state (kept up to date by edits) plus the selection. */
    state() {
      if (!S.state) return null;
      return Object.freeze(Object.assign({}, S.state, {
        selection: selectedIds(),
        highlighted: S.hiCount ? S.state.items.ids.filter((_, i) => S.hi[i]) : [],
        mode: S.mode,
        busy: S.mutating,
      }));
    },
    /** Resolves when no edit request is in flight. */
    idle() { return S.mutating ? new Promise((r) => idleWaiters.push(r)) : Promise.resolve(); },
    timings() { return Object.assign({}, S.timings); },
  });
  Object.defineProperty(window, 'workbench', { value: testApi, writable: false, configurable: false, enumerable: true });

  const nextFrame = () => new Promise((r) => requestAnimationFrame(() => r()));

  async function start() {
    initToken();
    wire();
    updateButtons();
    try {
      const st = await api('GET', '/api/state');
      S.timings.state = performance.now();
      applyState(st);
      await nextFrame();
      await nextFrame();
      $('loading').hidden = true;
      S.readyDone = true;
      S.timings.ready = performance.now();
      resolveReady(testApi);
      const rb = st.rebalance || {};
      if (ACTIVE.has(rb.state)) watchRebalance();
      else if (rb.state === 'done' && rb.result && rb.result.version === st.draft.version && Array.isArray(rb.result.moved) && rb.result.moved.length) {
        showMoved(rb.result.moved, `Last rebalance moved ${fmtInt(rb.result.moved.length)} ${S.noun[1]}`);
      }
    } catch (e) {
      setText($('loading'), 'Could not load the plan.');
      rejectReady(e);
      return;
    }
    loadRuns();
    await loadCells();
    resolveCells();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
