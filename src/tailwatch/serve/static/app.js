/* tailwatch web map. Plain JavaScript, no build step; MapLibre GL JS is served from the package
 * (static/vendor), and so is the base map (static/data/countries.geojson): nothing is fetched
 * from anywhere but this server unless a tile URL is configured. */
"use strict";

(function () {
  const $ = (sel) => document.querySelector(sel);
  const el = (tag, attrs, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const kid of kids) if (kid != null) e.append(kid);
    return e;
  };
  const fmt = {
    alt: (a) => (a === "ground" ? "ground" : a == null ? "–" : `${Math.round(a).toLocaleString()} ft`),
    num: (v, unit, nd = 0) => (v == null ? "–" : `${Number(v).toFixed(nd)} ${unit}`),
    time: (s) => (s == null ? "–" : new Date(s * 1000).toISOString().replace("T", " ").slice(0, 19) + "Z"),
    ago: (s) => (s == null ? "–" : s < 60 ? `${s.toFixed(0)} s ago` : `${(s / 60).toFixed(1)} min ago`),
  };

  // --- state ---------------------------------------------------------------------------------
  const state = {
    aircraft: new Map(), // hex → readsb object (+ _t: our receive time)
    trails: new Map(), // hex → [[lon, lat], ...] (live, last few minutes)
    features: [], // what the aircraft layer shows now
    now: 0,
    selected: null,
    mode: "live", // or "playback"
    config: {},
    filters: { mil: false, country: "", type: "", altMin: null, altMax: null, ground: true, trails: false, airports: true },
    playback: null,
    ready: false,
  };
  const TRAIL_POINTS = 120;

  // --- colours -------------------------------------------------------------------------------
  const ALT_STOPS = [0, "#f28e2b", 5000, "#f28e2b", 10000, "#e4c21f", 20000, "#59a14f", 30000, "#4e9bd6", 40000, "#b07aa1"];

  // --- the map --------------------------------------------------------------------------------
  maplibregl.setWorkerUrl("/static/vendor/maplibre-gl-csp-worker.js");

  function baseStyle(tileUrl) {
    const sources = {
      countries: { type: "geojson", data: "/static/data/countries.geojson",
        attribution: "Natural Earth (public domain) via world-atlas" },
    };
    const layers = [
      { id: "background", type: "background", paint: { "background-color": "#0e2233" } },
    ];
    if (tileUrl) {
      sources.tiles = { type: "raster", tiles: [tileUrl], tileSize: 256, attribution: "tiles: configured server" };
      layers.push({ id: "tiles", type: "raster", source: "tiles", paint: { "raster-opacity": 0.85 } });
    }
    layers.push(
      { id: "countries-fill", type: "fill", source: "countries",
        paint: { "fill-color": "#1d2b36", "fill-opacity": tileUrl ? 0 : 1 } },
      { id: "countries-line", type: "line", source: "countries",
        paint: { "line-color": "#4a5d6e", "line-width": 0.7 } },
    );
    return { version: 8, sources, layers };
  }

  let map = null;
  function createMap(tileUrl, center, zoom) {
    map = new maplibregl.Map({
      container: "map",
      style: baseStyle(tileUrl),
      center,
      zoom,
      attributionControl: { compact: true },
      fadeDuration: 0,
    });
    map.addControl(new maplibregl.NavigationControl({ visualizePitch: false }), "top-left");
    map.addControl(new maplibregl.ScaleControl({ unit: "nautical" }), "bottom-left");
    window.tailwatch.map = map;
  }

  function planeIcon(size) {
    // a simple top-down aircraft silhouette, white on transparent (used as an SDF icon)
    const c = document.createElement("canvas");
    c.width = c.height = size;
    const g = c.getContext("2d");
    const s = size / 32;
    g.fillStyle = "#fff";
    g.beginPath();
    const pts = [[16, 1], [18.5, 6], [18.5, 12], [30, 19], [30, 22], [18.5, 18], [18, 26], [22, 29], [22, 31],
      [16, 29.5], [10, 31], [10, 29], [14, 26], [13.5, 18], [2, 22], [2, 19], [13.5, 12], [13.5, 6]];
    g.moveTo(pts[0][0] * s, pts[0][1] * s);
    for (const [x, y] of pts.slice(1)) g.lineTo(x * s, y * s);
    g.closePath();
    g.fill();
    return g.getImageData(0, 0, size, size);
  }

  function addOverlayLayers() {
    map.addImage("plane", planeIcon(48), { sdf: true, pixelRatio: 2 });
    map.addSource("airports", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
    map.addLayer({ id: "airports", type: "circle", source: "airports", minzoom: 5,
      filter: ["any", ["==", ["get", "major"], true], [">=", ["zoom"], 8]],
      paint: { "circle-radius": ["interpolate", ["linear"], ["zoom"], 5, 1.5, 10, 4],
        "circle-color": "rgba(0,0,0,0)", "circle-stroke-color": "#8fa3b5",
        "circle-stroke-width": ["interpolate", ["linear"], ["zoom"], 5, 0.8, 10, 1.5],
        "circle-stroke-opacity": 0.6 } });
    map.addSource("trails", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
    map.addLayer({ id: "trails", type: "line", source: "trails",
      paint: { "line-color": ["interpolate", ["linear"], ["coalesce", ["get", "alt"], 0], ...ALT_STOPS],
        "line-width": ["case", ["==", ["get", "selected"], true], 2.5, 1.2], "line-opacity": 0.8 } });
    map.addSource("aircraft", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
    map.addLayer({ id: "aircraft", type: "symbol", source: "aircraft",
      layout: {
        "icon-image": "plane",
        "icon-size": ["interpolate", ["linear"], ["zoom"], 3, 0.8, 8, 1.1, 12, 1.4],
        "icon-rotate": ["coalesce", ["get", "track"], 0],
        "icon-rotation-alignment": "map",
        "icon-allow-overlap": true,
        "icon-ignore-placement": true,
        "symbol-sort-key": ["coalesce", ["get", "altn"], 0],
      },
      paint: {
        "icon-color": ["case", ["==", ["get", "ground"], true], "#8a8f94",
          ["interpolate", ["linear"], ["coalesce", ["get", "altn"], 0], ...ALT_STOPS]],
        "icon-halo-color": ["case", ["==", ["get", "mil"], true], "#d7191c",
          ["==", ["get", "selected"], true], "#ffffff", "rgba(0,0,0,0.6)"],
        "icon-halo-width": ["case", ["==", ["get", "mil"], true], 2.5, ["==", ["get", "selected"], true], 2.5, 1],
      } });
    // callsign labels from zoom 7 (no glyphs URL: MapLibre draws them with the system font)
    map.addLayer({ id: "aircraft-labels", type: "symbol", source: "aircraft", minzoom: 7,
      layout: { "text-field": ["get", "label"], "text-size": 11, "text-offset": [0, 1.4],
        "text-anchor": "top", "text-optional": true },
      paint: { "text-color": "#e8eef3", "text-halo-color": "rgba(0,0,0,0.8)", "text-halo-width": 1.2 } });
    map.on("click", "aircraft", (e) => { if (e.features.length) select(e.features[0].properties.hex, false); });
    map.on("mouseenter", "aircraft", () => { map.getCanvas().style.cursor = "pointer"; });
    map.on("mouseleave", "aircraft", () => { map.getCanvas().style.cursor = ""; });
    map.on("click", "airports", (e) => {
      const p = e.features[0].properties;
      new maplibregl.Popup({ closeButton: false }).setLngLat(e.lngLat)
        .setDOMContent(el("div", {}, el("strong", { text: p.icao + (p.iata ? ` / ${p.iata}` : "") }), el("br"), p.name))
        .addTo(map);
    });
  }

  // --- data: live -----------------------------------------------------------------------------
  async function getJSON(url) {
    const r = await fetch(url, { headers: { Accept: "application/json" } });
    if (!r.ok) throw new Error(`${url}: ${r.status}`);
    return r.json();
  }

  function ingest(list, now) {
    for (const a of list) {
      state.aircraft.set(a.hex, a);
      if (a.lat != null && a.lon != null) {
        let t = state.trails.get(a.hex);
        if (!t) state.trails.set(a.hex, (t = []));
        const last = t[t.length - 1];
        if (!last || last[0] !== a.lon || last[1] !== a.lat) {
          t.push([a.lon, a.lat, altNum(a)]);
          if (t.length > TRAIL_POINTS) t.shift();
        }
      }
    }
    if (now) state.now = now;
  }

  function remove(hexes) {
    for (const h of hexes) { state.aircraft.delete(h); state.trails.delete(h); }
  }

  function altNum(a) { return a.alt_baro === "ground" ? 0 : (a.alt_baro ?? a.alt_geom ?? null); }

  function connectLive() {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    let ws;
    try { ws = new WebSocket(`${proto}://${location.host}/api/live`); } catch (e) { return poll(); }
    ws.onmessage = (ev) => {
      const m = JSON.parse(ev.data);
      if (m.type === "snapshot") { state.aircraft.clear(); ingest(m.aircraft, m.now); }
      else if (m.type === "diff") { ingest(m.aircraft, m.now); remove(m.removed || []); }
      setStatus();
      if (state.mode === "live") render();
    };
    ws.onclose = () => { setStatus("live feed closed; polling"); setTimeout(poll, 1000); };
  }

  async function poll() {
    try {
      const doc = await getJSON("/data/aircraft.json");
      const seen = new Set(doc.aircraft.map((a) => a.hex));
      remove([...state.aircraft.keys()].filter((h) => !seen.has(h)));
      ingest(doc.aircraft, doc.now);
      setStatus();
      if (state.mode === "live") render();
    } catch (e) { setStatus(`offline: ${e.message}`); }
    setTimeout(poll, 2000);
  }

  function setStatus(text) {
    const n = state.aircraft.size;
    $("#status").textContent = text || `${n} aircraft · ${fmt.time(state.now)}`;
  }

  // --- filters and rendering ------------------------------------------------------------------
  function passes(a) {
    const f = state.filters;
    if (f.mil && !(a.dbFlags & 1)) return false;
    if (f.country && a.country !== f.country) return false;
    if (f.type && (a.t || "").toUpperCase() !== f.type.toUpperCase()) return false;
    if (!f.ground && a.alt_baro === "ground") return false;
    const alt = altNum(a);
    if (f.altMin != null && (alt == null || alt < f.altMin)) return false;
    if (f.altMax != null && (alt == null || alt > f.altMax)) return false;
    return true;
  }

  function feature(a, lon, lat, track, alt) {
    return {
      type: "Feature",
      geometry: { type: "Point", coordinates: [lon, lat] },
      properties: { hex: a.hex, track: track ?? 0, altn: alt === "ground" ? 0 : alt, ground: alt === "ground",
        mil: !!(a.dbFlags & 1), selected: a.hex === state.selected,
        label: (a.flight || "").trim() || (a.r || "") || a.hex },
    };
  }

  let renderQueued = false;
  function render() {
    if (!state.ready || renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => { renderQueued = false; draw(); });
  }

  function draw() {
    const feats = [];
    let shown = 0;
    if (state.mode === "live") {
      for (const a of state.aircraft.values()) {
        if (a.lat == null || !passes(a)) continue;
        feats.push(feature(a, a.lon, a.lat, a.track ?? a.mag_heading, a.alt_baro ?? a.alt_geom));
        shown++;
      }
    } else if (state.playback) {
      for (const p of playbackPositions(state.playback.t)) {
        const a = state.aircraft.get(p.hex) || { hex: p.hex, dbFlags: 0 };
        if (!passes({ ...a, alt_baro: p.alt })) continue;
        feats.push(feature(a, p.lon, p.lat, p.track, p.alt));
        shown++;
      }
    }
    state.features = feats;
    map.getSource("aircraft").setData({ type: "FeatureCollection", features: feats });
    $("#f-count").textContent = `${shown} shown of ${state.mode === "live" ? state.aircraft.size : (state.playback?.count ?? 0)}`;
    drawTrails();
    document.body.dataset.rendered = String(shown);
  }

  let selectedTrack = null; // [[lon, lat, alt], ...] from the history store
  function drawTrails() {
    const feats = [];
    const line = (coords, selected) => {
      for (let i = 1; i < coords.length; i++) {
        feats.push({ type: "Feature", properties: { alt: coords[i][2], selected },
          geometry: { type: "LineString", coordinates: [coords[i - 1].slice(0, 2), coords[i].slice(0, 2)] } });
      }
    };
    if (state.mode === "live") {
      if (state.filters.trails) {
        for (const [hex, t] of state.trails) {
          const a = state.aircraft.get(hex);
          if (a && passes(a) && hex !== state.selected) line(t, false);
        }
      }
      if (state.selected) {
        const live = state.trails.get(state.selected) || [];
        line((selectedTrack || []).concat(live), true);
      }
    } else if (state.playback && state.selected) {
      line(playbackTrail(state.selected, state.playback.t), true);
    }
    map.getSource("trails").setData({ type: "FeatureCollection", features: feats });
  }

  // --- selection and the panel ------------------------------------------------------------------
  async function select(hex, fly) {
    state.selected = hex;
    selectedTrack = null;
    showTab("aircraft");
    const a = state.aircraft.get(hex);
    if (fly && a && a.lat != null) map.flyTo({ center: [a.lon, a.lat], zoom: Math.max(map.getZoom(), 7) });
    renderPanel(a, null);
    render();
    try {
      const detail = await getJSON(`/api/aircraft/${encodeURIComponent(hex)}`);
      if (state.selected !== hex) return;
      renderPanel(state.aircraft.get(hex) || a, detail);
      const since = detail.live?.first_seen;
      if (since != null && state.mode === "live") {
        const h = await getJSON(`/api/history?icao24=${hex}&since=${Math.floor(since)}&every=5`);
        const c = h.columns;
        selectedTrack = c.t.map((_, i) => [c.lon[i], c.lat[i], c.on_ground[i] ? 0 : c.altitude_ft[i]])
          .filter((p) => p[0] != null && p[1] != null);
        render();
      }
    } catch (e) {
      if (state.selected === hex) renderPanel(a, { error: e.message });
    }
  }

  function fact(dl, name, value) {
    dl.append(el("dt", { text: name }), el("dd", { text: value == null || value === "" ? "–" : String(value) }));
  }

  function renderPanel(a, detail) {
    const box = $("#tab-aircraft");
    box.replaceChildren();
    if (!a && !detail) { box.append(el("p", { class: "hint", text: "Not in the live picture." })); return; }
    const id = detail?.identity || {};
    const live = detail?.live || {};
    const hex = a?.hex || detail?.icao24;
    const mil = id.military || (a && a.dbFlags & 1);
    const title = el("div", { class: "ac-head" },
      el("h2", { "data-testid": "panel-title", text: (a?.flight || live.callsign || hex || "").trim() || hex }),
      el("span", { class: "mono", text: hex }),
      mil ? el("span", { class: "badge mil", text: `military (${id.military_rule || "db_flag"})` }) : null,
      id.ladd ? el("span", { class: "badge", text: "LADD" }) : null,
      id.pia ? el("span", { class: "badge", text: "PIA" }) : null);
    const dl = el("dl", { class: "facts", "data-testid": "facts" });
    fact(dl, "Registration", id.registration ?? a?.r);
    fact(dl, "Type", [id.typecode ?? a?.t, id.description ?? a?.desc].filter(Boolean).join(" · "));
    fact(dl, "Operator", id.operator ?? a?.ownOp);
    fact(dl, "Country", id.country ?? a?.country);
    fact(dl, "Callsign", (a?.flight || live.callsign || "").trim());
    fact(dl, "Altitude", fmt.alt(a?.alt_baro ?? live.altitude_ft));
    fact(dl, "Ground speed", fmt.num(a?.gs ?? live.gs_kt, "kt"));
    fact(dl, "Track", fmt.num(a?.track ?? live.track_deg, "°"));
    fact(dl, "Vertical rate", fmt.num(a?.baro_rate ?? live.vrate_fpm, "ft/min"));
    fact(dl, "Squawk", a?.squawk ?? live.squawk);
    if (a?.emergency && a.emergency !== "none") fact(dl, "Emergency", a.emergency);
    fact(dl, "Source", a?.type ?? live.source);
    fact(dl, "Last seen", a ? fmt.ago(a.seen) : fmt.time(live.last_seen));
    fact(dl, "Position", a?.lat != null ? `${a.lat.toFixed(4)}, ${a.lon.toFixed(4)}` : "–");
    box.append(title, dl);
    if (id.unit || id.notes || (id.links && id.links.length) || id.citation) {
      const ann = el("dl", { class: "facts" });
      if (id.unit) fact(ann, "Unit", id.unit);
      if (id.notes) fact(ann, "Notes", id.notes);
      if (id.citation) fact(ann, "Source", id.citation);
      box.append(el("h3", { text: "Annotations" }), ann);
      if (id.links && id.links.length) {
        const ul = el("ul", { class: "links" });
        for (const href of id.links) {
          if (/^https?:\/\//.test(href)) ul.append(el("li", {}, el("a", { href, rel: "noopener noreferrer", target: "_blank", text: href })));
        }
        box.append(ul);
      }
    }
    if (detail?.sources || id.sources) {
      const src = id.sources || {};
      box.append(el("p", { class: "hint", text: "Sources: " + Object.entries(src).map(([k, v]) => `${k} ← ${v}`).join(", ") }));
    }
    if (detail?.exports) {
      const p = el("p", { class: "links", "data-testid": "exports" }, "Track export: ");
      for (const [k, href] of Object.entries(detail.exports)) p.append(el("a", { href, download: "", text: k }), " ");
      box.append(p);
    }
    if (detail?.flights?.length) {
      const ul = el("ul", { class: "list" });
      for (const f of detail.flights) {
        const li = el("li", {}, `${fmt.time(f.first_seen)} ${f.origin || "?"} → ${f.destination || "?"} `);
        for (const [k, href] of Object.entries(f.exports || {})) li.append(el("a", { href, download: "", text: k }), " ");
        ul.append(li);
      }
      box.append(el("h3", { text: "Flights" }), ul);
    }
    if (detail?.error) box.append(el("p", { class: "hint", text: detail.error }));
  }

  // --- search ---------------------------------------------------------------------------------
  function search(q) {
    const needle = q.trim().toUpperCase();
    const list = $("#results");
    list.replaceChildren();
    if (!needle) { list.hidden = true; return; }
    const plain = needle.replace(/-/g, "");
    const hits = [];
    for (const a of state.aircraft.values()) {
      const fields = [a.hex, (a.flight || "").trim(), a.r, a.t, a.ownOp, a.desc].map((x) => (x || "").toUpperCase());
      const exact = fields.includes(needle) || (a.r || "").toUpperCase().replace(/-/g, "") === plain;
      const part = exact || fields.some((x) => x.includes(needle)) || (a.r || "").toUpperCase().replace(/-/g, "").includes(plain);
      if (part) hits.push([exact ? 0 : 1, a]);
    }
    hits.sort((x, y) => x[0] - y[0]);
    for (const [, a] of hits.slice(0, 30)) {
      const li = el("li", { tabindex: "0", "data-hex": a.hex },
        el("strong", { text: (a.flight || "").trim() || a.hex }), ` ${a.hex} · ${a.r || "?"} · ${a.t || "?"} · ${a.ownOp || a.country || ""}`);
      li.addEventListener("click", () => { list.hidden = true; select(a.hex, true); });
      li.addEventListener("keydown", (e) => { if (e.key === "Enter") li.click(); });
      list.append(li);
    }
    if (!hits.length) list.append(el("li", { text: "no live aircraft matches" }));
    list.hidden = false;
  }

  // --- flights and events ---------------------------------------------------------------------
  async function loadFlights() {
    const ul = $("#flights");
    try {
      const doc = await getJSON("/api/flights?limit=200");
      ul.replaceChildren();
      for (const f of doc.flights) {
        const li = el("li", {}, el("strong", { text: f.callsign || f.icao24 }),
          ` ${f.icao24} · ${f.origin || "?"} → ${f.destination || "?"} · ${fmt.time(f.first_seen)} `);
        for (const [k, href] of Object.entries(f.exports || {})) li.append(el("a", { href, download: "", text: k }), " ");
        li.addEventListener("click", (e) => { if (e.target.tagName !== "A") select(f.icao24, true); });
        ul.append(li);
      }
      if (!doc.flights.length) ul.append(el("li", { text: "no flights yet" }));
    } catch (e) { ul.replaceChildren(el("li", { text: e.message })); }
  }

  async function loadEvents() {
    const ul = $("#events");
    try {
      const doc = await getJSON("/api/events?limit=200");
      ul.replaceChildren();
      for (const ev of doc.events) {
        const li = el("li", {}, el("strong", { text: ev.type }), ` ${ev.icao24} ${ev.airport || ""} · ${fmt.time(ev.t)}`);
        li.addEventListener("click", () => {
          if (ev.lat != null) map.flyTo({ center: [ev.lon, ev.lat], zoom: 9 });
          select(ev.icao24, false);
        });
        ul.append(li);
      }
      if (!doc.events.length) ul.append(el("li", { text: "no events yet" }));
    } catch (e) { ul.replaceChildren(el("li", { text: e.message })); }
  }

  // --- playback -------------------------------------------------------------------------------
  function toLocalInput(s) {
    const d = new Date(s * 1000);
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }
  function fromLocalInput(v) { return new Date(v).getTime() / 1000; }

  async function loadPlayback() {
    const a = fromLocalInput($("#pb-from").value);
    const b = fromLocalInput($("#pb-to").value);
    if (!(b > a)) { $("#pb-time").textContent = "choose a window (To after From)"; return; }
    const scope = $("#pb-scope").value;
    let filter = "";
    if (scope === "selected") {
      if (!state.selected) { $("#pb-time").textContent = "select an aircraft first"; return; }
      filter = `&icao24=${encodeURIComponent(state.selected)}`;
    } else if (scope === "area") {
      const bb = map.getBounds();
      const f = (x) => x.toFixed(4);
      filter = `&box=${f(Math.max(bb.getSouth(), -90))},${f(Math.max(bb.getWest(), -180))},` +
        `${f(Math.min(bb.getNorth(), 90))},${f(Math.min(bb.getEast(), 180))}`;
    }
    $("#pb-time").textContent = "loading…";
    const doc = await getJSON(`/api/history?since=${a}&until=${b}&every=5&limit=2000000${filter}`);
    const c = doc.columns;
    const byHex = new Map();
    for (let i = 0; i < doc.count; i++) {
      if (c.lat[i] == null) continue;
      let r = byHex.get(c.icao24[i]);
      if (!r) byHex.set(c.icao24[i], (r = { t: [], lat: [], lon: [], alt: [], track: [] }));
      r.t.push(c.t[i]); r.lat.push(c.lat[i]); r.lon.push(c.lon[i]);
      r.alt.push(c.on_ground[i] ? "ground" : c.altitude_ft[i]); r.track.push(c.track_deg[i]);
    }
    state.playback = { a, b, t: a, byHex, count: byHex.size, timer: null };
    state.mode = "playback";
    const slider = $("#pb-slider");
    slider.disabled = false; slider.value = 0;
    $("#pb-play").disabled = false;
    setPlaybackTime(a);
  }

  function lastIndex(arr, t) {
    let lo = 0, hi = arr.length - 1, ans = -1;
    while (lo <= hi) { const mid = (lo + hi) >> 1; if (arr[mid] <= t) { ans = mid; lo = mid + 1; } else hi = mid - 1; }
    return ans;
  }

  function playbackPositions(t) {
    const out = [];
    for (const [hex, r] of state.playback.byHex) {
      const i = lastIndex(r.t, t);
      if (i < 0 || t - r.t[i] > 120) continue;
      let lat = r.lat[i], lon = r.lon[i];
      const j = i + 1;
      if (j < r.t.length && r.t[j] - r.t[i] < 120 && r.t[j] > r.t[i]) { // interpolate
        const f = (t - r.t[i]) / (r.t[j] - r.t[i]);
        lat += (r.lat[j] - lat) * f; lon += (r.lon[j] - lon) * f;
      }
      out.push({ hex, lat, lon, alt: r.alt[i], track: r.track[i] });
    }
    return out;
  }

  function playbackTrail(hex, t) {
    const r = state.playback.byHex.get(hex);
    if (!r) return [];
    const i = lastIndex(r.t, t);
    const out = [];
    for (let k = 0; k <= i; k++) out.push([r.lon[k], r.lat[k], r.alt[k] === "ground" ? 0 : r.alt[k]]);
    return out;
  }

  function setPlaybackTime(t) {
    const p = state.playback;
    p.t = Math.min(Math.max(t, p.a), p.b);
    $("#pb-slider").value = String(Math.round(((p.t - p.a) / (p.b - p.a)) * 1000));
    $("#pb-time").textContent = `${fmt.time(p.t)} · ${p.count} aircraft in the window`;
    document.body.dataset.playbackTime = String(p.t);
    render();
  }

  function togglePlay() {
    const p = state.playback;
    if (!p) return;
    if (p.timer) { clearInterval(p.timer); p.timer = null; $("#pb-play").textContent = "▶ Play"; return; }
    $("#pb-play").textContent = "⏸ Pause";
    p.timer = setInterval(() => {
      const speed = Number($("#pb-speed").value);
      if (p.t >= p.b) { togglePlay(); return; }
      setPlaybackTime(p.t + speed * 0.25);
    }, 250);
  }

  function backToLive() {
    if (state.playback?.timer) clearInterval(state.playback.timer);
    state.playback = null;
    state.mode = "live";
    $("#pb-slider").disabled = true;
    $("#pb-play").disabled = true;
    $("#pb-time").textContent = "";
    render();
  }

  // --- tabs, controls -------------------------------------------------------------------------
  function showTab(name) {
    for (const b of document.querySelectorAll(".tabs button")) b.setAttribute("aria-selected", String(b.dataset.tab === name));
    for (const s of document.querySelectorAll(".tab")) s.hidden = s.id !== `tab-${name}`;
    document.body.classList.remove("side-closed");
    if (name === "flights") loadFlights();
    if (name === "events") loadEvents();
  }

  function countries() {
    const sel = $("#f-country");
    const have = new Set([...sel.options].map((o) => o.value));
    const names = [...new Set([...state.aircraft.values()].map((a) => a.country).filter(Boolean))].sort();
    for (const n of names) if (!have.has(n)) sel.append(el("option", { value: n, text: n }));
  }

  function wire() {
    for (const b of document.querySelectorAll(".tabs button")) b.addEventListener("click", () => showTab(b.dataset.tab));
    $("#toggle-side").addEventListener("click", () => {
      const closed = document.body.classList.toggle("side-closed");
      $("#toggle-side").setAttribute("aria-expanded", String(!closed));
      setTimeout(() => map.resize(), 0);
    });
    $("#search").addEventListener("input", (e) => search(e.target.value));
    $("#search-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const first = $("#results li[data-hex]");
      if (first) first.click();
    });
    const f = state.filters;
    const num = (v) => (v === "" ? null : Number(v));
    $("#f-mil").addEventListener("change", (e) => { f.mil = e.target.checked; render(); });
    $("#f-country").addEventListener("change", (e) => { f.country = e.target.value; render(); });
    $("#f-country").addEventListener("focus", countries);
    $("#f-type").addEventListener("input", (e) => { f.type = e.target.value.trim(); render(); });
    $("#f-alt-min").addEventListener("input", (e) => { f.altMin = num(e.target.value); render(); });
    $("#f-alt-max").addEventListener("input", (e) => { f.altMax = num(e.target.value); render(); });
    $("#f-ground").addEventListener("change", (e) => { f.ground = e.target.checked; render(); });
    $("#f-trails").addEventListener("change", (e) => { f.trails = e.target.checked; render(); });
    $("#f-airports").addEventListener("change", (e) => {
      map.setLayoutProperty("airports", "visibility", e.target.checked ? "visible" : "none");
    });
    $("#pb-load").addEventListener("click", () => loadPlayback().catch((e) => { $("#pb-time").textContent = e.message; }));
    $("#pb-play").addEventListener("click", togglePlay);
    $("#pb-live").addEventListener("click", backToLive);
    $("#pb-slider").addEventListener("input", (e) => {
      const p = state.playback;
      if (p) setPlaybackTime(p.a + (Number(e.target.value) / 1000) * (p.b - p.a));
    });
    if (window.matchMedia("(max-width: 720px)").matches) document.body.classList.add("side-closed");
  }

  async function loadAirports() {
    try {
      const ap = await getJSON("/api/airports");
      const feats = ap.icao.map((icao, i) => ({ type: "Feature", geometry: { type: "Point", coordinates: [ap.lon[i], ap.lat[i]] },
        properties: { icao, iata: ap.iata[i], name: ap.name[i], major: !!ap.iata[i] } }));
      map.getSource("airports").setData({ type: "FeatureCollection", features: feats });
    } catch (e) { /* airports are optional */ }
  }

  async function start() {
    wire();
    try { state.config = await getJSON("/api/config"); } catch (e) { state.config = {}; }
    const rx = state.config.receiver || {};
    const home = rx.lat != null && rx.lon != null ? [rx.lon, rx.lat] : [2.35, 48.85];
    createMap(state.config.tile_url || null, home, rx.lat != null ? 6 : 4);
    // default playback window: the last hour of stored history
    try {
      const stats = await getJSON("/api/stats");
      const last = stats.history?.last ?? stats.now;
      const first = stats.history?.first ?? last - 3600;
      $("#pb-from").value = toLocalInput(Math.max(first, last - 3600));
      $("#pb-to").value = toLocalInput(last);
    } catch (e) { /* no history */ }
    const onStyle = () => {
      addOverlayLayers();
      state.ready = true;
      loadAirports();
      render();
    };
    if (map.isStyleLoaded()) onStyle(); else map.once("load", onStyle);
    try {
      const doc = await getJSON("/data/aircraft.json");
      ingest(doc.aircraft, doc.now);
      setStatus();
      render();
    } catch (e) { setStatus(`offline: ${e.message}`); }
    connectLive();
  }

  // a small handle for tests and power users (read-only views of the state)
  window.tailwatch = {
    map: null, state, select, search, setPlaybackTime,
    count: () => state.aircraft.size,
    rendered: () => (state.ready ? map.queryRenderedFeatures({ layers: ["aircraft"] }).length : 0),
    positionOf: (hex) => {
      const f = (state.features || []).find((x) => x.properties.hex === hex);
      return f ? f.geometry.coordinates : null;
    },
  };
  start();
})();
