/* tailwatch web map. Plain JavaScript, no build step; MapLibre GL JS is served from the package
 * (static/vendor), and so is the base map (static/data/countries.geojson): nothing is fetched
 * from anywhere but this server unless a tile URL is configured.
 *
 * Files: util.js (helpers, units, URL), glaircraft.js (the WebGL aircraft layer), table.js (the
 * aircraft list), investigate.js (itinerary, events feed, heatmap, coverage), this one (the map,
 * live data, selection, filters, search, playback, keyboard). docs/map.md describes the map. */
"use strict";

(function () {
  const TW = window.TW;
  const { $, el, fmt, getJSON } = TW;

  // --- state ---------------------------------------------------------------------------------
  const state = {
    aircraft: new Map(), // hex → readsb object
    trails: new Map(), // hex → [[lon, lat, alt], ...] (live, last few minutes)
    shown: [], // aircraft passing the filters, with a position (what the map draws)
    now: 0,
    selected: [], // hexes; the first is the one in the panel
    mode: "live", // or "playback"
    config: {},
    filter: { mil: false, interesting: false, country: "", type: "", callsign: "", description: "", icao: "",
      altMin: null, altMax: null, ground: true, sources: [], dbFlags: [], maxRange: null, text: "" },
    layers: TW.pref.get("layers", { trails: "selected", labels: true, airports: true, rings: true, coverage: true, heatmap: false, mlat: true }),
    theme: TW.pref.get("theme", "dark"),
    playback: null,
    ready: false,
    receivers: [],
    stats: { updates: 0, lastDrawMs: 0 },
    feed: "ws", // "bin" for big worlds (binfeed.js)
    bin: null, // the last binary columns
  };
  /** from this many aircraft on, the map reads the binary feed instead of the JSON websocket */
  const BIG_WORLD = 2000;
  TW.state = state;
  TW.setUnits(TW.pref.get("units", "aviation"));
  const TRAIL_POINTS = 120;
  let map = null;
  let acLayer = null;
  let buf = new Float32Array(0);

  // --- the map --------------------------------------------------------------------------------
  maplibregl.setWorkerUrl("/static/vendor/maplibre-gl-csp-worker.js");
  const THEMES = {
    dark: { bg: "#0e2233", land: "#1d2b36", line: "#4a5d6e", label: "#e8eef3", halo: "rgba(0,0,0,0.85)", ring: "#6f8597" },
    light: { bg: "#b9d3e6", land: "#f3f1ea", line: "#9a9a8e", label: "#1b2530", halo: "rgba(255,255,255,0.9)", ring: "#56708a" },
  };

  function baseStyle(tileUrl) {
    const th = THEMES[state.theme] || THEMES.dark;
    const sources = {
      countries: { type: "geojson", data: "/static/data/countries.geojson",
        attribution: "Natural Earth (public domain) via world-atlas" },
    };
    const layers = [{ id: "background", type: "background", paint: { "background-color": th.bg } }];
    if (tileUrl) {
      sources.tiles = { type: "raster", tiles: [tileUrl], tileSize: 256, attribution: "tiles: configured server" };
      layers.push({ id: "tiles", type: "raster", source: "tiles", paint: { "raster-opacity": 0.85 } });
    }
    layers.push(
      { id: "countries-fill", type: "fill", source: "countries", paint: { "fill-color": th.land, "fill-opacity": tileUrl ? 0 : 1 } },
      { id: "countries-line", type: "line", source: "countries", paint: { "line-color": th.line, "line-width": 0.7 } },
    );
    return { version: 8, sources, layers };
  }

  function applyTheme(name) {
    state.theme = THEMES[name] ? name : "dark";
    TW.pref.set("theme", state.theme);
    document.documentElement.dataset.theme = state.theme;
    if (!map || !state.ready) return;
    const th = THEMES[state.theme];
    map.setPaintProperty("background", "background-color", th.bg);
    map.setPaintProperty("countries-fill", "fill-color", th.land);
    map.setPaintProperty("countries-line", "line-color", th.line);
    for (const id of ["aircraft-labels", "rings-labels", "itinerary-labels", "event-label"]) {
      if (map.getLayer(id)) {
        map.setPaintProperty(id, "text-color", th.label);
        map.setPaintProperty(id, "text-halo-color", th.halo);
      }
    }
    map.setPaintProperty("rings", "line-color", th.ring);
    acLayer.selectedColour = state.theme === "light" ? [0.0, 0.34, 0.72] : [1, 1, 1];
    map.triggerRepaint();
  }

  const empty = () => ({ type: "FeatureCollection", features: [] });
  function addOverlayLayers() {
    const th = THEMES[state.theme];
    const src = (id) => map.addSource(id, { type: "geojson", data: empty() });
    for (const id of ["heatmap", "coverage", "rings", "airports", "itinerary", "trails", "labels"]) src(id);
    map.addLayer({ id: "heatmap", type: "heatmap", source: "heatmap",
      paint: { "heatmap-weight": ["get", "w"], "heatmap-intensity": 1.1,
        "heatmap-radius": ["interpolate", ["linear"], ["zoom"], 3, 8, 8, 18, 12, 30], "heatmap-opacity": 0.75 } });
    map.addLayer({ id: "coverage", type: "line", source: "coverage",
      paint: { "line-color": "#ff8c42", "line-width": 1.6, "line-opacity": 0.85 } });
    map.addLayer({ id: "rings", type: "line", source: "rings",
      paint: { "line-color": th.ring, "line-width": 1, "line-dasharray": [3, 3], "line-opacity": 0.8 } });
    map.addLayer({ id: "rings-labels", type: "symbol", source: "rings", filter: ["has", "label"],
      layout: { "symbol-placement": "line", "text-field": ["get", "label"], "text-size": 10 },
      paint: { "text-color": th.label, "text-halo-color": th.halo, "text-halo-width": 1 } });
    map.addLayer({ id: "airports", type: "circle", source: "airports", minzoom: 5,
      filter: ["any", ["==", ["get", "major"], true], [">=", ["zoom"], 8]],
      paint: { "circle-radius": ["interpolate", ["linear"], ["zoom"], 5, 1.5, 10, 4],
        "circle-color": "rgba(0,0,0,0)", "circle-stroke-color": "#8fa3b5",
        "circle-stroke-width": ["interpolate", ["linear"], ["zoom"], 5, 0.8, 10, 1.5], "circle-stroke-opacity": 0.6 } });
    TW.addItineraryLayers(map, th);
    map.addLayer({ id: "trails", type: "line", source: "trails",
      paint: { "line-color": ["get", "color"], "line-width": ["case", ["==", ["get", "selected"], true], 2.6, 1.2],
        "line-opacity": ["case", ["==", ["get", "mlat"], true], 0.55, 0.85] } });
    acLayer = new TW.AircraftLayer("aircraft");
    map.addLayer(acLayer);
    // callsign labels from zoom 7 (no glyphs URL: MapLibre draws them with the system font)
    map.addLayer({ id: "aircraft-labels", type: "symbol", source: "labels", minzoom: 7,
      layout: { "text-field": ["get", "label"], "text-size": 11, "text-offset": [0, 1.5], "text-anchor": "top",
        "text-optional": true, "text-allow-overlap": false },
      paint: { "text-color": th.label, "text-halo-color": th.halo, "text-halo-width": 1.2 } });
    map.on("click", (e) => {
      // a click on a GNSS hexagon is the GNSS layer's (gnss.js shows its popup): no aircraft selection
      if (map.getLayer("gnss-fill") && map.queryRenderedFeatures(e.point, { layers: ["gnss-fill"] }).length) return;
      const hex = pick(e.point);
      if (hex) select(hex, { add: e.originalEvent.ctrlKey || e.originalEvent.metaKey || e.originalEvent.shiftKey });
    });
    map.on("mousemove", (e) => { map.getCanvas().style.cursor = pick(e.point) ? "pointer" : ""; });
    map.on("click", "airports", (e) => {
      const p = e.features[0].properties;
      new maplibregl.Popup({ closeButton: false }).setLngLat(e.lngLat)
        .setDOMContent(el("div", {}, el("strong", { text: p.icao + (p.iata ? ` / ${p.iata}` : "") }), el("br"), p.name))
        .addTo(map);
    });
    map.on("moveend", () => {
      TW.pref.set("view", { lon: map.getCenter().lng, lat: map.getCenter().lat, zoom: map.getZoom() });
      syncURL();
      drawLabels();
      if (state.layers.heatmap) TW.loadHeatmap(map);
    });
    setLayerVisibility();
    // room for the GNSS layer (serve/static/gnss.js) and anything else that draws under the aircraft
    TW.layerSlot = (name) => (name === "top" ? "aircraft-labels" : "trails");
    window.dispatchEvent(new CustomEvent("tailwatch:ready", { detail: { map, state, beforeId: "trails" } }));
  }

  function setLayerVisibility() {
    const vis = (on) => (on ? "visible" : "none");
    const L = state.layers;
    map.setLayoutProperty("airports", "visibility", vis(L.airports));
    map.setLayoutProperty("rings", "visibility", vis(L.rings));
    map.setLayoutProperty("rings-labels", "visibility", vis(L.rings));
    map.setLayoutProperty("coverage", "visibility", vis(L.coverage));
    map.setLayoutProperty("heatmap", "visibility", vis(L.heatmap));
    map.setLayoutProperty("aircraft-labels", "visibility", vis(L.labels));
    TW.pref.set("layers", L);
  }

  // --- picking: the nearest drawn aircraft within 14 px ---------------------------------------
  function pick(point) {
    const r = 14;
    const a = map.unproject([point.x - r, point.y - r]), b = map.unproject([point.x + r, point.y + r]);
    const w = Math.min(a.lng, b.lng), e = Math.max(a.lng, b.lng), s = Math.min(a.lat, b.lat), n = Math.max(a.lat, b.lat);
    let best = null, bestD = r * r;
    for (const ac of state.shown) {
      if (ac.lat < s || ac.lat > n || ac.lon < w || ac.lon > e) continue;
      const q = map.project([ac.lon, ac.lat]);
      const d = (q.x - point.x) ** 2 + (q.y - point.y) ** 2;
      if (d <= bestD) { bestD = d; best = ac.hex; }
    }
    return best;
  }

  // --- data: live -----------------------------------------------------------------------------
  // live trails: per aircraft a ring of TRAIL_POINTS × (lon, lat, alt, mlat) in a Float32Array
  // (20,000 aircraft × 120 points = 38 MB at most, and no garbage per update)
  function trailPush(hex, lon, lat, alt, mlat) {
    let r = state.trails.get(hex);
    if (!r) state.trails.set(hex, (r = { b: new Float32Array(TRAIL_POINTS * 4), n: 0, head: 0 }));
    const last = r.n ? ((r.head + TRAIL_POINTS - 1) % TRAIL_POINTS) * 4 : -1;
    if (last >= 0 && r.b[last] === Math.fround(lon) && r.b[last + 1] === Math.fround(lat)) return;
    const o = r.head * 4;
    r.b[o] = lon; r.b[o + 1] = lat; r.b[o + 2] = alt == null ? NaN : alt; r.b[o + 3] = mlat ? 1 : 0;
    r.head = (r.head + 1) % TRAIL_POINTS;
    r.n = Math.min(r.n + 1, TRAIL_POINTS);
  }
  function trailCoords(hex) {
    const r = state.trails.get(hex);
    if (!r) return [];
    const out = [];
    for (let i = 0; i < r.n; i++) {
      const o = ((r.head - r.n + i + TRAIL_POINTS) % TRAIL_POINTS) * 4;
      out.push([r.b[o], r.b[o + 1], Number.isNaN(r.b[o + 2]) ? null : r.b[o + 2], r.b[o + 3] === 1]);
    }
    return out;
  }

  function ingest(list, now) {
    for (const a of list) {
      state.aircraft.set(a.hex, a);
      if (a.lat != null && a.lon != null) trailPush(a.hex, a.lon, a.lat, TW.altNum(a), a.type === "mlat");
    }
    if (now) state.now = now;
    state.stats.updates++;
  }

  function remove(hexes) {
    for (const h of hexes) { state.aircraft.delete(h); state.trails.delete(h); shapes.delete(h); }
  }

  // the live feed: the websocket; while it is down, /data/aircraft.json every 2 s and a new
  // websocket every 5 s (the server drops a client that falls 8 messages behind)
  let wsOpen = false;
  let polling = false;
  function connectLive() {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    let ws;
    try { ws = new WebSocket(`${proto}://${location.host}/api/live`); } catch (e) { startPolling(); return; }
    ws.onopen = () => { wsOpen = true; };
    ws.onmessage = (ev) => {
      const t0 = performance.now();
      const m = JSON.parse(ev.data);
      if (m.type === "snapshot") { state.aircraft.clear(); ingest(m.aircraft, m.now); }
      else if (m.type === "diff") { ingest(m.aircraft, m.now); remove(m.removed || []); }
      sample("messageMs", performance.now() - t0);
      afterUpdate();
    };
    ws.onclose = () => {
      wsOpen = false;
      state.stats.wsCloses = (state.stats.wsCloses || 0) + 1;
      setStatus("live feed closed; polling");
      startPolling();
      setTimeout(connectLive, 5000);
    };
  }

  function startPolling() {
    if (polling) return;
    polling = true;
    setTimeout(poll, 1000);
  }

  async function poll() {
    if (wsOpen) { polling = false; return; }
    try {
      const doc = await getJSON("/data/aircraft.json");
      const seen = new Set(doc.aircraft.map((a) => a.hex));
      remove([...state.aircraft.keys()].filter((h) => !seen.has(h)));
      ingest(doc.aircraft, doc.now);
      afterUpdate();
    } catch (e) { setStatus(`offline: ${e.message}`); }
    setTimeout(poll, 2000);
  }

  // the binary feed (big worlds): columns every second, the JSON objects more slowly
  async function binLoop() {
    const t0 = performance.now();
    try {
      const cols = await TW.fetchBin(state.bin);
      if (cols) {
        const t1 = performance.now();
        state.bin = cols;
        state.now = cols.now;
        for (let i = 0; i < cols.n; i++) {
          const f = cols.flags[i];
          trailPush(TW.hexOf(cols.icao[i]), cols.lon[i], cols.lat[i], f & 2 ? 0 : cols.alt[i], (f & 4) !== 0);
        }
        state.stats.updates++;
        sample("messageMs", performance.now() - t1);
        if (state.stats.updates % 30 === 0) pruneTrails(cols);
        afterUpdate();
      }
    } catch (e) { setStatus(`offline: ${e.message}`); }
    setTimeout(binLoop, Math.max(200, 1000 - (performance.now() - t0)));
  }
  function pruneTrails(cols) {
    const live = new Set();
    for (let i = 0; i < cols.n; i++) live.add(TW.hexOf(cols.icao[i]));
    for (const h of state.trails.keys()) if (!live.has(h)) state.trails.delete(h);
  }
  async function objectsLoop() {
    try {
      const doc = await getJSON("/data/aircraft.json");
      const fresh = new Map();
      for (const a of doc.aircraft) fresh.set(a.hex, a);
      state.aircraft = fresh;
    } catch (e) { /* the binary feed still runs */ }
    const busy = !$("#tab-list").hidden || !$("#tab-aircraft").hidden;
    setTimeout(objectsLoop, busy && !document.body.classList.contains("side-closed") ? 2000 : 15000);
  }

  /** the last 120 timings of a kind (for bench/webmap.py and the curious: tailwatch.timings()) */
  function sample(kind, ms) {
    const arr = state.stats[kind] || (state.stats[kind] = []);
    arr.push(ms);
    if (arr.length > 120) arr.shift();
  }

  function afterUpdate() {
    setStatus();
    if (state.mode === "live") render();
  }

  const liveCount = () => (state.feed === "bin" && state.bin ? state.bin.n : state.aircraft.size);
  function setStatus(text) {
    $("#status").textContent = text || `${state.shown.length} / ${liveCount()} aircraft · ${fmt.time(state.now)}`;
  }

  // --- filters --------------------------------------------------------------------------------
  function filterActive() {
    const f = state.filter;
    return f.mil || f.interesting || f.dbFlags.length || f.country || f.type || f.callsign || f.description ||
      f.icao || f.sources.length || !f.ground || f.altMin != null || f.altMax != null || f.maxRange != null || !!f.text;
  }

  function passes(a) {
    const f = state.filter;
    if (f.mil && !(a.dbFlags & 1)) return false;
    if (f.interesting && !(a.dbFlags & 2)) return false;
    if (f.dbFlags.length) {
      const bits = { military: 1, interesting: 2, pia: 4, ladd: 8 };
      if (!f.dbFlags.some((k) => (a.dbFlags || 0) & (bits[k] || 0))) return false;
    }
    if (f.country && a.country !== f.country) return false;
    if (f.type && !(a.t || "").toUpperCase().startsWith(f.type.toUpperCase())) return false;
    if (f.callsign && !TW.callsign(a).toUpperCase().startsWith(f.callsign.toUpperCase())) return false;
    if (f.description && !(a.desc || "").toUpperCase().includes(f.description.toUpperCase())) return false;
    if (f.icao && !a.hex.startsWith(f.icao.toLowerCase())) return false;
    if (f.sources.length) {
      const s = TW.sourceOf(a).toLowerCase().replace(/[^a-z]/g, "");
      const want = f.sources.map((x) => x.toLowerCase().replace(/[^a-z]/g, ""));
      if (!want.includes(s) && !(want.includes("modes") && s === "modes")) return false;
    }
    if (!f.ground && a.alt_baro === "ground") return false;
    const alt = TW.altNum(a);
    if (f.altMin != null && (alt == null || alt < f.altMin)) return false;
    if (f.altMax != null && (alt == null || alt > f.altMax)) return false;
    if (f.maxRange != null) { const d = TW.distOf(a); if (d == null || d > f.maxRange) return false; }
    if (f.text) {
      const q = f.text.toUpperCase();
      const hay = `${a.hex} ${TW.callsign(a)} ${a.r || ""} ${a.t || ""} ${a.squawk || ""} ${a.ownOp || ""} ${a.country || ""}`.toUpperCase();
      if (!hay.includes(q)) return false;
    }
    return true;
  }

  /** distance from the receiver (NM): readsb's r_dst, else computed from the first receiver */
  TW.distOf = (a) => {
    if (a.r_dst != null) return a.r_dst;
    const rx = state.receivers[0];
    if (!rx || a.lat == null) return null;
    return TW.distNm(rx.lat, rx.lon, a.lat, a.lon);
  };

  // --- rendering ------------------------------------------------------------------------------
  let renderQueued = false;
  function render() {
    if (!state.ready || renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => { renderQueued = false; draw(); });
  }

  // the drawn aircraft: in live mode the objects of the feed themselves (nothing is added to
  // them: new properties on 20,000 fresh objects a second cost more than the drawing); in
  // playback, objects made from the stored positions
  const altOf = (a) => a.alt_baro ?? a.alt_geom;
  const trackOf = (a) => a.track ?? a.true_heading ?? a.mag_heading ?? 0;
  function collect() {
    const out = [];
    if (state.mode === "live" && state.feed === "bin") {
      const c = state.bin;
      if (!c) return out;
      const filtering = filterActive();
      for (let i = 0; i < c.n; i++) {
        const hex = TW.hexOf(c.icao[i]);
        const row = new TW.BinRow(c, i, hex, state.aircraft.get(hex));
        if (!filtering || passes(row)) out.push(row);
      }
    } else if (state.mode === "live") {
      for (const a of state.aircraft.values()) if (a.lat != null && passes(a)) out.push(a);
    } else if (state.playback) {
      for (const p of playbackPositions(state.playback.t)) {
        const live = state.aircraft.get(p.hex);
        const a = Object.assign({}, live || { hex: p.hex, dbFlags: 0 }, { alt_baro: p.alt, alt_geom: null, lat: p.lat, lon: p.lon,
          track: p.track ?? 0, type: p.mlat ? "mlat" : (live && live.type), r_dst: null });
        if (passes(a)) out.push(a);
      }
    }
    return out;
  }

  // symbol class per aircraft, recomputed only when category, type or flags change
  const shapes = new Map(); // hex → [category, type, flags, shape]
  function shapeOf(a) {
    const s = shapes.get(a.hex);
    if (s && s[0] === a.category && s[1] === a.t && s[2] === a.dbFlags) return s[3];
    const shape = TW.classify(a);
    shapes.set(a.hex, [a.category, a.t, a.dbFlags, shape]);
    return shape;
  }

  // altitude colours every 100 ft up to 50,000 ft (then the last), ground, unknown: no per-aircraft allocation
  const LUT = new Float32Array((502 + 2) * 3);
  for (let i = 0; i <= 501; i++) TW.altRGB(Math.max(1, i * 100)).forEach((v, k) => { LUT[i * 3 + k] = v / 255; });
  TW.GROUND_RGB.forEach((v, k) => { LUT[502 * 3 + k] = v / 255; });
  TW.altRGB(null).forEach((v, k) => { LUT[503 * 3 + k] = v / 255; });
  function colourIndex(alt) {
    if (alt === "ground") return 502 * 3;
    if (alt == null) return 503 * 3;
    return Math.min(501, Math.max(0, Math.round(alt / 100))) * 3;
  }

  function fill(list) {
    const S = TW.STRIDE;
    if (buf.length < list.length * S) buf = new Float32Array(Math.ceil(list.length * 1.25 + 64) * S);
    const sel = new Set(state.selected);
    const D = Math.PI / 180;
    // draw order: low first, the selected ones last (on top)
    let k = 0;
    const put = (a) => {
      const x = (a.lon + 180) / 360;
      const sinL = Math.sin(Math.max(-85.06, Math.min(85.06, a.lat)) * D);
      const y = 0.5 - Math.log((1 + sinL) / (1 - sinL)) / (4 * Math.PI);
      const shape = shapeOf(a);
      const c = colourIndex(altOf(a));
      const selected = sel.has(a.hex);
      const o = k * S;
      buf[o] = x; buf[o + 1] = y; buf[o + 2] = trackOf(a) * D; buf[o + 3] = TW.SLOT[shape];
      buf[o + 4] = LUT[c]; buf[o + 5] = LUT[c + 1]; buf[o + 6] = LUT[c + 2];
      buf[o + 7] = ((a.dbFlags & 1) ? 1 : 0) + (selected ? 2 : 0) + (state.layers.mlat && a.type === "mlat" ? 4 : 0);
      buf[o + 8] = (TW.shapeScale[shape] || 1) * (selected ? 1.3 : 1);
      k++;
    };
    for (const a of list) if (!sel.has(a.hex)) put(a);
    for (const a of list) if (sel.has(a.hex)) put(a);
    return k;
  }

  function draw() {
    const t0 = performance.now();
    const list = collect();
    state.shown = list;
    const t1 = performance.now();
    const n = fill(list);
    acLayer.setData(buf, n);
    const t2 = performance.now();
    $("#f-count").textContent = `${list.length} shown of ${state.mode === "live" ? liveCount() : (state.playback?.count ?? 0)}`;
    drawTrails();
    drawLabels();
    const t3 = performance.now();
    if (tableOpen()) { table.update(list, state.selected); sample("tableMs", performance.now() - t3); }
    sample("collectMs", t1 - t0);
    sample("fillMs", t2 - t1);
    sample("overlaysMs", t3 - t2);
    if (state.selected.length && $("#tab-aircraft").hidden === false) refreshPanelLive();
    document.body.dataset.rendered = String(list.length);
    state.stats.lastDrawMs = performance.now() - t0;
    sample("drawMs", state.stats.lastDrawMs);
    setStatus();
  }

  function drawLabels() {
    if (!state.ready) return;
    const feats = [];
    if (state.layers.labels && map.getZoom() >= 7) {
      const b = map.getBounds();
      for (const a of state.shown) {
        if (!b.contains([a.lon, a.lat])) continue;
        feats.push({ type: "Feature", geometry: { type: "Point", coordinates: [a.lon, a.lat] },
          properties: { hex: a.hex, label: TW.callsign(a) || a.r || a.hex } });
        if (feats.length >= 800) break;
      }
    }
    if (feats.length || state.stats.labels) map.getSource("labels").setData({ type: "FeatureCollection", features: feats });
    state.stats.labels = feats.length;
  }

  let selectedTrack = null; // from the store: {segments, columns}
  function drawTrails() {
    const feats = [];
    const line = (coords, selected) => {
      // one feature per run of one colour band (altitude changes colour along the trail)
      let run = [];
      let colour = null;
      for (let i = 0; i < coords.length; i++) {
        const c = TW.altCSS(coords[i][2]);
        if (c !== colour && run.length) {
          run.push(coords[i].slice(0, 2));
          feats.push({ type: "Feature", properties: { color: colour, selected, mlat: !!coords[i][3] },
            geometry: { type: "LineString", coordinates: run } });
          run = [];
        }
        colour = c;
        run.push(coords[i].slice(0, 2));
      }
      if (run.length > 1) feats.push({ type: "Feature", properties: { color: colour, selected, mlat: false },
        geometry: { type: "LineString", coordinates: run } });
    };
    if (state.mode === "live") {
      if (state.layers.trails === "all") {
        const b = map.getBounds();
        for (const a of state.shown) {
          if (state.selected.includes(a.hex) || !b.contains([a.lon, a.lat])) continue;
          const t = trailCoords(a.hex);
          if (t.length > 1) line(t, false);
        }
      }
      if (state.layers.trails !== "none") {
        for (const hex of state.selected) {
          const live = trailCoords(hex);
          if (hex === state.selected[0] && selectedTrack) {
            const c = selectedTrack.columns;
            for (const [a, b] of selectedTrack.segments) {
              const pts = [];
              for (let i = a; i < b; i++) if (c.lat[i] != null) pts.push([c.lon[i], c.lat[i], c.altitude_ft[i], c.mlat[i]]);
              // the last stored segment runs on into the live trail
              line(b === c.t.length ? pts.concat(live) : pts, true);
            }
          } else line(live, true);
        }
      }
    } else if (state.playback) {
      for (const hex of state.selected) line(playbackTrail(hex, state.playback.t), true);
    }
    if (feats.length || state.stats.trailFeatures) map.getSource("trails").setData({ type: "FeatureCollection", features: feats });
    state.stats.trailFeatures = feats.length;
    state.stats.storedTrack = selectedTrack ? selectedTrack.count : 0;
  }

  // --- selection and the panel ------------------------------------------------------------------
  async function select(hex, opts = {}) {
    hex = hex ? hex.toLowerCase() : null;
    if (!hex) { state.selected = []; selectedTrack = null; TW.clearItinerary(map); syncURL(); render(); return; }
    if (opts.add) {
      state.selected = state.selected.includes(hex) ? state.selected.filter((h) => h !== hex) : [hex, ...state.selected];
    } else state.selected = [hex];
    selectedTrack = null;
    TW.clearItinerary(map);
    syncURL();
    if (!opts.keepTab) showTab("aircraft");
    const a = state.aircraft.get(hex);
    if (opts.fly && a && a.lat != null) map.flyTo({ center: [a.lon, a.lat], zoom: Math.max(map.getZoom(), 7) });
    renderPanel(a, null);
    render();
    if (table) table.scrollTo(hex);
    try {
      const detail = await getJSON(`/api/aircraft/${encodeURIComponent(hex)}`);
      if (state.selected[0] !== hex) return;
      panelDetail = detail;
      renderPanel(state.aircraft.get(hex) || a, detail);
      if (opts.itinerary) TW.showItinerary(map, hex, $("#itinerary"), true);
      if (opts.fly && !a && detail.live?.lat != null) map.flyTo({ center: [detail.live.lon, detail.live.lat], zoom: 7 });
      if (state.mode === "live" && state.layers.trails !== "none") {
        const tr = await getJSON(`/api/map/track/${hex}`);
        if (state.selected[0] !== hex) return;
        selectedTrack = tr;
        render();
      }
    } catch (e) {
      if (state.selected[0] === hex) renderPanel(a, { error: e.message });
    }
  }

  let panelDetail = null;
  function refreshPanelLive() {
    const hex = state.selected[0];
    const a = state.aircraft.get(hex);
    if (a && panelDetail && panelDetail.icao24 === hex) {
      const dl = $("#tab-aircraft dl.facts");
      if (dl) dl.replaceWith(facts(a, panelDetail));
    }
  }

  const { facts, renderPanel } = TW.Panel({ select: (...x) => select(...x), getMap: () => map });

  // --- search: live first, then the store ----------------------------------------------------
  let searchSeq = 0;
  async function search(q) {
    const needle = q.trim().toUpperCase();
    const list = $("#results");
    list.replaceChildren();
    if (!needle) { list.hidden = true; return; }
    const plain = needle.replace(/-/g, "");
    const hits = [];
    for (const a of state.aircraft.values()) {
      const fields = [a.hex, TW.callsign(a), a.r, a.t, a.ownOp, a.desc, a.squawk].map((x) => (x || "").toUpperCase());
      const reg = (a.r || "").toUpperCase().replace(/-/g, "");
      const exact = fields.includes(needle) || reg === plain;
      if (exact || fields.some((x) => x.includes(needle)) || reg.includes(plain)) hits.push([exact ? 0 : 1, a]);
    }
    hits.sort((x, y) => x[0] - y[0]);
    const item = (hex, strong, rest, onPick, stored) => {
      const li = el("li", { tabindex: "0", "data-hex": hex, class: stored ? "stored" : null }, el("strong", { text: strong }), ` ${rest}`);
      li.addEventListener("click", () => { list.hidden = true; onPick(); });
      li.addEventListener("keydown", (e) => { if (e.key === "Enter") li.click(); });
      list.append(li);
    };
    for (const [, a] of hits.slice(0, 30)) {
      item(a.hex, TW.callsign(a) || a.hex, `${a.hex} · ${a.r || "?"} · ${a.t || "?"} · ${a.ownOp || a.country || ""}`, () => select(a.hex, { fly: true }));
    }
    list.hidden = false;
    const seq = ++searchSeq;
    const more = el("li", { class: "hint", text: "searching the store…" });
    list.append(more);
    try {
      const doc = await getJSON(`/api/map/search?q=${encodeURIComponent(q.trim())}`);
      if (seq !== searchSeq) return;
      more.remove();
      for (const s of doc.stored) {
        item(s.icao24, s.callsign || s.registration || s.icao24,
          `${s.icao24} · ${s.registration || "?"} · ${s.typecode || "?"} · last seen ${fmt.time(s.last_seen)} (stored)`,
          () => select(s.icao24, { itinerary: true }), true);
      }
    } catch (e) { more.textContent = e.message; }
    if (!list.querySelector("li[data-hex]")) list.append(el("li", { text: "nothing matches, live or stored" }));
  }

  // --- flights (last 24 h) --------------------------------------------------------------------
  async function loadFlights() {
    const ul = $("#flights");
    try {
      const doc = await getJSON("/api/flights?limit=200");
      ul.replaceChildren();
      for (const f of doc.flights) {
        const li = el("li", {}, el("strong", { text: f.callsign || f.icao24 }),
          ` ${f.icao24} · ${f.origin || "?"} → ${f.destination || "?"} · ${fmt.time(f.first_seen)} `);
        for (const [k, href] of Object.entries(f.exports || {})) li.append(el("a", { href, download: "", text: k }), " ");
        li.addEventListener("click", (e) => { if (e.target.tagName !== "A") { select(f.icao24, { fly: true, itinerary: true }); } });
        ul.append(li);
      }
      if (!doc.flights.length) ul.append(el("li", { text: "no flights yet" }));
    } catch (e) { ul.replaceChildren(el("li", { text: e.message })); }
  }

  // --- playback (playback.js) -------------------------------------------------------------------
  const { toLocalInput, loadPlayback, playFrom, setPlaybackTime, togglePlay, backToLive, playbackPositions, playbackTrail } =
    TW.Playback({ state, render: () => render(), showTab: (n) => showTab(n), getMap: () => map });

  // --- tabs, controls, keyboard -------------------------------------------------------------
  let table = null;
  const tableOpen = () => table && !$("#tab-list").hidden && !document.body.classList.contains("side-closed");

  function showTab(name) {
    for (const b of document.querySelectorAll(".tabs button")) b.setAttribute("aria-selected", String(b.dataset.tab === name));
    for (const s of document.querySelectorAll(".tab")) s.hidden = s.id !== `tab-${name}`;
    document.body.classList.remove("side-closed");
    if (name === "flights") loadFlights();
    if (name === "events") TW.loadEvents();
    if (name === "list") render();
  }

  function countries() {
    const sel = $("#f-country");
    const have = new Set([...sel.options].map((o) => o.value));
    const names = [...new Set([...state.aircraft.values()].map((a) => a.country).filter(Boolean))].sort();
    for (const n of names) if (!have.has(n)) sel.append(el("option", { value: n, text: n }));
  }

  function syncURL() {
    if (!map) return;
    TW.writeURL({ selected: state.selected, center: map.getCenter(), zoom: map.getZoom(), filter: state.filter });
  }

  function setFilter(patch) {
    Object.assign(state.filter, patch);
    syncURL();
    render();
  }

  function toggleSide() {
    const closed = document.body.classList.toggle("side-closed");
    $("#toggle-side").setAttribute("aria-expanded", String(!closed));
    setTimeout(() => map.resize(), 0);
  }

  function applyUnits(system) {
    TW.setUnits(system);
    TW.pref.set("units", TW.units.system);
    $("#units").value = TW.units.system;
    $("#alt-unit").textContent = TW.unitLabel("alt");
    table.header();
    drawRings();
    render();
    if (state.selected[0]) renderPanel(state.aircraft.get(state.selected[0]), panelDetail);
  }
  function cycleUnits() {
    const names = TW.unitNames;
    applyUnits(names[(names.indexOf(TW.units.system) + 1) % names.length]);
  }

  const KEYS = {
    "/": () => $("#search").focus(),
    l: () => showTab("list"),
    f: () => showTab("filters"),
    e: () => showTab("events"),
    p: () => showTab("playback"),
    t: () => { state.layers.trails = { selected: "all", all: "none", none: "selected" }[state.layers.trails]; $("#f-trails").value = state.layers.trails; render(); TW.pref.set("layers", state.layers); },
    u: () => cycleUnits(),
    d: () => { applyTheme(state.theme === "dark" ? "light" : "dark"); },
    h: () => { state.layers.heatmap = !state.layers.heatmap; $("#l-heatmap").checked = state.layers.heatmap; setLayerVisibility(); if (state.layers.heatmap) TW.loadHeatmap(map); },
    m: () => { $("#f-mil").checked = !state.filter.mil; setFilter({ mil: !state.filter.mil }); },
    r: () => { state.layers.rings = !state.layers.rings; $("#l-rings").checked = state.layers.rings; setLayerVisibility(); },
    i: () => { if (state.selected[0]) TW.showItinerary(map, state.selected[0], $("#itinerary")); },
    c: () => { const a = state.aircraft.get(state.selected[0]); if (a?.lat != null) map.flyTo({ center: [a.lon, a.lat] }); },
    s: () => toggleSide(),
    "?": () => { $("#keys").hidden = !$("#keys").hidden; },
    Escape: () => { $("#results").hidden = true; $("#keys").hidden = true; select(null); },
    "+": () => map.zoomIn(),
    "-": () => map.zoomOut(),
    j: () => stepSelection(1),
    k: () => stepSelection(-1),
  };
  function stepSelection(d) {
    const order = table.order();
    if (!order.length) return;
    const i = order.indexOf(state.selected[0]);
    const next = order[(i + d + order.length) % order.length];
    select(next, { fly: true, keepTab: true });
  }

  function wire() {
    for (const b of document.querySelectorAll(".tabs button")) b.addEventListener("click", () => showTab(b.dataset.tab));
    $("#toggle-side").addEventListener("click", toggleSide);
    $("#search").addEventListener("input", (e) => search(e.target.value));
    $("#search-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const first = $("#results li[data-hex]");
      if (first) first.click();
    });
    const num = (v) => (v === "" ? null : Number(v));
    const altFt = (v) => (v == null ? null : TW.units.system === "metric" ? v / 0.3048 : v);
    $("#f-text").addEventListener("input", (e) => setFilter({ text: e.target.value.trim() }));
    $("#f-mil").addEventListener("change", (e) => setFilter({ mil: e.target.checked }));
    $("#f-int").addEventListener("change", (e) => setFilter({ interesting: e.target.checked }));
    $("#f-country").addEventListener("change", (e) => setFilter({ country: e.target.value }));
    $("#f-country").addEventListener("focus", countries);
    $("#f-type").addEventListener("input", (e) => setFilter({ type: e.target.value.trim() }));
    $("#f-callsign").addEventListener("input", (e) => setFilter({ callsign: e.target.value.trim() }));
    $("#f-alt-min").addEventListener("input", (e) => setFilter({ altMin: altFt(num(e.target.value)) }));
    $("#f-alt-max").addEventListener("input", (e) => setFilter({ altMax: altFt(num(e.target.value)) }));
    $("#f-ground").addEventListener("change", (e) => setFilter({ ground: e.target.checked }));
    $("#f-source").addEventListener("change", (e) => setFilter({ sources: e.target.value ? [e.target.value] : [] }));
    $("#f-trails").addEventListener("change", (e) => { state.layers.trails = e.target.value; TW.pref.set("layers", state.layers); render(); });
    for (const [id, key] of [["#l-airports", "airports"], ["#l-rings", "rings"], ["#l-coverage", "coverage"], ["#l-heatmap", "heatmap"], ["#l-labels", "labels"], ["#l-mlat", "mlat"]]) {
      $(id).checked = !!state.layers[key];
      $(id).addEventListener("change", (e) => {
        state.layers[key] = e.target.checked;
        setLayerVisibility();
        if (key === "heatmap" && e.target.checked) TW.loadHeatmap(map);
        if (key === "coverage" && e.target.checked) TW.loadCoverage(map);
        render();
      });
    }
    $("#hm-hours").addEventListener("change", () => TW.loadHeatmap(map));
    $("#units").value = TW.units.system;
    $("#units").addEventListener("change", (e) => applyUnits(e.target.value));
    $("#alt-unit").textContent = TW.unitLabel("alt");
    $("#theme").addEventListener("click", () => applyTheme(state.theme === "dark" ? "light" : "dark"));
    $("#help").addEventListener("click", () => { $("#keys").hidden = !$("#keys").hidden; });
    $("#pb-load").addEventListener("click", () => loadPlayback().catch((e) => { $("#pb-time").textContent = e.message; }));
    $("#pb-play").addEventListener("click", togglePlay);
    $("#pb-live").addEventListener("click", backToLive);
    $("#pb-slider").addEventListener("input", (e) => {
      const p = state.playback;
      if (p) setPlaybackTime(p.a + (Number(e.target.value) / 1000) * (p.b - p.a));
    });
    document.addEventListener("keydown", (e) => {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const tag = (e.target.tagName || "").toLowerCase();
      if ((tag === "input" || tag === "select" || tag === "textarea") && e.key !== "Escape") return;
      const fn = KEYS[e.key];
      if (fn) { e.preventDefault(); fn(); }
    });
    table = new TW.Table($("#table-box"), { onSelect: (hex, add) => select(hex, { add, fly: false, keepTab: true }) });
    if (window.matchMedia("(max-width: 720px)").matches) document.body.classList.add("side-closed");
  }

  function applyURLFilters(f) {
    const st = state.filter;
    for (const k of ["altMin", "altMax", "maxRange"]) if (f[k] != null) st[k] = f[k];
    for (const k of ["callsign", "type", "description", "icao", "text"]) if (f[k]) st[k] = f[k];
    if (f.sources.length) st.sources = f.sources;
    if (f.dbFlags.length) st.dbFlags = f.dbFlags;
    $("#f-text").value = st.text;
    $("#f-type").value = st.type;
    $("#f-callsign").value = st.callsign;
    if (st.altMin != null) $("#f-alt-min").value = st.altMin;
    if (st.altMax != null) $("#f-alt-max").value = st.altMax;
    if (st.dbFlags.includes("military")) { $("#f-mil").checked = true; }
    if (st.sources.length === 1) $("#f-source").value = st.sources[0].toLowerCase();
  }

  async function loadAirports() {
    try {
      const ap = await getJSON("/api/airports");
      const feats = ap.icao.map((icao, i) => ({ type: "Feature", geometry: { type: "Point", coordinates: [ap.lon[i], ap.lat[i]] },
        properties: { icao, iata: ap.iata[i], name: ap.name[i], major: !!ap.iata[i] } }));
      map.getSource("airports").setData({ type: "FeatureCollection", features: feats });
    } catch (e) { /* airports are optional */ }
  }

  function drawRings() {
    if (!state.ready) return;
    const feats = [];
    const system = TW.units.system;
    const step = system === "metric" ? 100 / 1.852 : system === "imperial" ? 100 / 1.150779 : 50;
    for (const rx of state.receivers) {
      for (let k = 1; k <= 5; k++) {
        const nm = step * k;
        feats.push({ type: "Feature", properties: { label: fmt.dist(nm).replace(/\.0 /, " ") },
          geometry: { type: "LineString", coordinates: TW.circle(rx.lat, rx.lon, nm) } });
      }
    }
    map.getSource("rings").setData({ type: "FeatureCollection", features: feats });
  }

  /** where the map opens: the URL, else the receivers, else the live aircraft, else the last view */
  function initialView(url, liveList) {
    if (url.lat != null && url.lon != null) return { center: [url.lon, url.lat], zoom: url.zoom ?? 8 };
    if (state.receivers.length) {
      const lons = state.receivers.map((r) => r.lon), lats = state.receivers.map((r) => r.lat);
      if (state.receivers.length === 1) return { center: [lons[0], lats[0]], zoom: 6 };
      return { bounds: [[Math.min(...lons), Math.min(...lats)], [Math.max(...lons), Math.max(...lats)]] };
    }
    const pos = liveList.filter((a) => a.lat != null);
    if (pos.length) {
      // the bulk of the traffic: the 5th-95th percentiles, so one stray aircraft does not zoom the world out
      const q = (arr, f) => { const s = [...arr].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(f * (s.length - 1) + 0.5))]; };
      const lats = pos.map((a) => a.lat), lons = pos.map((a) => a.lon);
      const lo = pos.length > 20 ? 0.05 : 0, hi = pos.length > 20 ? 0.95 : 1;
      return { bounds: [[q(lons, lo), q(lats, lo)], [q(lons, hi), q(lats, hi)]] };
    }
    const last = TW.pref.get("view", null);
    if (last) return { center: [last.lon, last.lat], zoom: last.zoom };
    return { center: [0, 30], zoom: 2 };
  }

  async function start() {
    document.documentElement.dataset.theme = state.theme;
    const url = TW.readURL();
    if (url.units) TW.setUnits(url.units);
    if (url.theme) state.theme = url.theme;
    wire();
    applyURLFilters(url.filter);
    try { state.config = await getJSON("/api/config"); } catch (e) { state.config = {}; }
    const rxs = state.config.receivers || (state.config.receiver ? [state.config.receiver] : []);
    state.receivers = rxs.filter((r) => r && r.lat != null && r.lon != null);
    table.defaultSort(state.receivers.length > 0);
    let first = [];
    try {
      const doc = await getJSON("/data/aircraft.json");
      ingest(doc.aircraft, doc.now);
      first = doc.aircraft;
    } catch (e) { setStatus(`offline: ${e.message}`); }
    const view = initialView(url, first);
    map = new maplibregl.Map({
      container: "map", style: baseStyle(state.config.tile_url || null),
      center: view.center || [0, 0], zoom: view.zoom ?? 2,
      attributionControl: { compact: true }, fadeDuration: 0, maxZoom: 16,
    });
    if (view.bounds) map.fitBounds(view.bounds, { padding: 50, maxZoom: 8, duration: 0 });
    map.addControl(new maplibregl.NavigationControl({ visualizePitch: false }), "top-left");
    map.addControl(new maplibregl.ScaleControl({ unit: "nautical" }), "bottom-left");
    window.tailwatch.map = map;
    // default playback window: the last hour of stored history
    getJSON("/api/stats").then((stats) => {
      const last = stats.history?.last ?? stats.now;
      const firstT = stats.history?.first ?? last - 3600;
      $("#pb-from").value = toLocalInput(Math.max(firstT, last - 3600));
      $("#pb-to").value = toLocalInput(last);
    }).catch(() => { /* no history */ });
    const onStyle = () => {
      addOverlayLayers();
      state.ready = true;
      applyTheme(state.theme);
      loadAirports();
      drawRings();
      if (state.layers.coverage) TW.loadCoverage(map);
      render();
      if (url.icao.length) {
        select(url.icao[0], { fly: url.lat == null, keepTab: false });
        for (const h of url.icao.slice(1)) if (!state.selected.includes(h)) state.selected.push(h);
        syncURL();
      }
    };
    if (map.isStyleLoaded()) onStyle(); else map.once("load", onStyle);
    state.feed = url.feed === "bin" || url.feed === "ws" ? url.feed : (first.length >= BIG_WORLD ? "bin" : "ws");
    if (state.feed === "bin") { binLoop(); setTimeout(objectsLoop, 2000); } else connectLive();
  }

  // a small handle for tests and power users (read-only views of the state)
  window.tailwatch = {
    map: null, state, select, search, setPlaybackTime, playFrom, showTab,
    count: () => liveCount(),
    feed: () => state.feed,
    /** aircraft drawn inside the visible map */
    rendered: () => {
      if (!state.ready || !acLayer || !acLayer.frames) return 0;
      const b = map.getBounds();
      let n = 0;
      for (const a of state.shown) if (b.contains([a.lon, a.lat])) n++;
      return n;
    },
    shown: () => state.shown.length,
    tableRows: () => (table ? table.order() : []),
    positionOf: (hex) => {
      const a = state.shown.find((x) => x.hex === hex);
      return a ? [a.lon, a.lat] : null;
    },
    frames: () => (acLayer ? acLayer.frames : 0),
    /** positions of the selected aircraft's stored track drawn (0 before it arrives) */
    storedTrack: () => state.stats.storedTrack || 0,
    lastDrawMs: () => state.stats.lastDrawMs,
    timings: () => {
      const out = { updates: state.stats.updates };
      for (const k of ["messageMs", "drawMs", "collectMs", "fillMs", "overlaysMs", "tableMs"]) out[k] = state.stats[k] || [];
      return out;
    },
  };
  TW.app = { select, playFrom, render, showTab, getMap: () => map };
  start();
})();
