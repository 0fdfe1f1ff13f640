/* tailwatch web map: the views an investigation needs — a selected aircraft's itinerary (flights
 * of the last days, airports, stops, unseen legs dashed) with the evidence-report button, the
 * events feed with its filters (each event jumps to its place and time), the history heatmap of
 * the positions in view, and the receivers' measured coverage outline. Data: /api/map/*. */
"use strict";

(function () {
  const TW = (window.TW = window.TW || {});
  const { $, el, fmt, getJSON } = TW;
  const ITIN = "#ffd166";

  // --- itinerary -----------------------------------------------------------------------------
  TW.addItineraryLayers = (map, th) => {
    map.addSource("event", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
    map.addLayer({ id: "event-ring", type: "circle", source: "event",
      paint: { "circle-radius": 14, "circle-color": "rgba(255,107,107,0.15)", "circle-stroke-color": "#ff6b6b", "circle-stroke-width": 2.5 } });
    map.addLayer({ id: "event-label", type: "symbol", source: "event",
      layout: { "text-field": ["get", "label"], "text-size": 12, "text-offset": [0, 1.6], "text-anchor": "top" },
      paint: { "text-color": th.label, "text-halo-color": th.halo, "text-halo-width": 1.4 } });
    map.addLayer({ id: "itinerary-seen", type: "line", source: "itinerary", filter: ["==", ["get", "kind"], "seen"],
      paint: { "line-color": ITIN, "line-width": 2.2, "line-opacity": 0.9 } });
    map.addLayer({ id: "itinerary-unseen", type: "line", source: "itinerary", filter: ["==", ["get", "kind"], "unseen"],
      paint: { "line-color": ITIN, "line-width": 2, "line-dasharray": [2, 2], "line-opacity": 0.9 } });
    map.addLayer({ id: "itinerary-places", type: "circle", source: "itinerary", filter: ["==", ["get", "kind"], "place"],
      paint: { "circle-radius": 5, "circle-color": ["case", ["==", ["get", "inferred"], true], "rgba(0,0,0,0)", ITIN],
        "circle-stroke-color": ITIN, "circle-stroke-width": 2 } });
    map.addLayer({ id: "itinerary-labels", type: "symbol", source: "itinerary", filter: ["==", ["get", "kind"], "place"],
      layout: { "text-field": ["get", "label"], "text-size": 11, "text-offset": [0, 1.1], "text-anchor": "top" },
      paint: { "text-color": th.label, "text-halo-color": th.halo, "text-halo-width": 1.2 } });
  };

  // great-circle points between two [lon, lat] (so long unseen legs bend as the report draws them)
  function greatCircle(a, b, n = 48) {
    const r = Math.PI / 180;
    const [l1, p1, l2, p2] = [a[0] * r, a[1] * r, b[0] * r, b[1] * r];
    const d = 2 * Math.asin(Math.sqrt(Math.sin((p2 - p1) / 2) ** 2 + Math.cos(p1) * Math.cos(p2) * Math.sin((l2 - l1) / 2) ** 2));
    if (d < 1e-6) return [a, b];
    const out = [];
    for (let i = 0; i <= n; i++) {
      const f = i / n;
      const A = Math.sin((1 - f) * d) / Math.sin(d), B = Math.sin(f * d) / Math.sin(d);
      const x = A * Math.cos(p1) * Math.cos(l1) + B * Math.cos(p2) * Math.cos(l2);
      const y = A * Math.cos(p1) * Math.sin(l1) + B * Math.cos(p2) * Math.sin(l2);
      const z = A * Math.sin(p1) + B * Math.sin(p2);
      out.push([Math.atan2(y, x) / r, Math.atan2(z, Math.sqrt(x * x + y * y)) / r]);
    }
    // keep the line continuous across ±180°
    for (let i = 1; i < out.length; i++) {
      while (out[i][0] - out[i - 1][0] > 180) out[i][0] -= 360;
      while (out[i][0] - out[i - 1][0] < -180) out[i][0] += 360;
    }
    return out;
  }

  TW.clearItinerary = (map) => {
    for (const id of ["itinerary", "event"]) {
      if (map && map.getSource(id)) map.getSource(id).setData({ type: "FeatureCollection", features: [] });
    }
  };

  TW.showItinerary = async (map, hex, box, fit = true) => {
    if (!box) return;
    box.replaceChildren(el("p", { class: "hint", text: "loading the itinerary…" }));
    const days = Number(TW.pref.get("itineraryDays", 7));
    let doc;
    try { doc = await getJSON(`/api/map/itinerary/${hex}?days=${days}`); } catch (e) { box.replaceChildren(el("p", { class: "hint", text: e.message })); return; }
    if (TW.state.selected[0] && TW.state.selected[0] !== hex) return;
    const feats = [];
    const c = doc.track.columns;
    for (const [a, b] of doc.track.segments) {
      const coords = [];
      for (let i = a; i < b; i++) if (c.lat[i] != null) coords.push([c.lon[i], c.lat[i]]);
      if (coords.length > 1) feats.push({ type: "Feature", properties: { kind: "seen" }, geometry: { type: "LineString", coordinates: coords } });
    }
    for (const leg of doc.legs) {
      let pts = [];
      for (let i = 1; i < leg.coordinates.length; i++) pts = pts.concat(greatCircle(leg.coordinates[i - 1], leg.coordinates[i]));
      feats.push({ type: "Feature", properties: { kind: "unseen", hours: leg.hours }, geometry: { type: "LineString", coordinates: pts } });
    }
    const stopAirports = new Set(doc.stops.map((s) => s.airport).filter(Boolean));
    for (const ap of doc.airports) {
      const inferred = stopAirports.has(ap.icao) && !doc.flights.some((f) => f.origin === ap.icao || f.destination === ap.icao);
      feats.push({ type: "Feature", properties: { kind: "place", label: ap.icao + (inferred ? " (inferred)" : ""), inferred },
        geometry: { type: "Point", coordinates: [ap.lon, ap.lat] } });
    }
    map.getSource("itinerary").setData({ type: "FeatureCollection", features: feats });
    if (fit) {
      const all = feats.flatMap((f) => (f.geometry.type === "Point" ? [f.geometry.coordinates] : f.geometry.coordinates));
      if (all.length) {
        const lons = all.map((p) => p[0]), lats = all.map((p) => p[1]);
        map.fitBounds([[Math.min(...lons), Math.min(...lats)], [Math.max(...lons), Math.max(...lats)]], { padding: 60, maxZoom: 9, duration: 0 });
      }
    }
    // the panel: flights, stops, unseen legs, the report button
    const name = [doc.identity.registration, doc.identity.typecode, doc.identity.operator].filter(Boolean).join(" · ");
    const daysSel = el("select", { "aria-label": "Days of itinerary" });
    for (const d of [1, 3, 7, 14, 31]) daysSel.append(el("option", { value: d, text: `${d} d` }));
    daysSel.value = String(days);
    daysSel.addEventListener("change", () => { TW.pref.set("itineraryDays", Number(daysSel.value)); TW.showItinerary(map, hex, box, fit); });
    const list = el("ol", { class: "itin" });
    const items = [];
    for (const f of doc.flights) {
      const t = f.takeoff_t ?? f.first_seen;
      items.push([t, el("li", { class: "flight" },
        el("strong", { text: `${f.origin || "?"} → ${f.destination || "?"}` }),
        ` ${f.callsign || ""} · ${fmt.time(f.first_seen)} – ${fmt.time(f.last_seen).slice(11)}`,
        f.origin_airport ? el("div", { class: "hint", text: `${f.origin_airport.name} → ${f.destination_airport?.name || "?"}` }) : null)]);
    }
    for (const s of doc.stops) {
      items.push([s.t, el("li", { class: "stop" }, el("strong", { text: s.type === "inferred_stop" ? "probable stop (inferred)" : "stopover" }),
        ` ${s.airport || ""} · ${fmt.time(s.t)}`)]);
    }
    for (const leg of doc.legs) {
      items.push([leg.from_t + 1, el("li", { class: "unseen" }, el("strong", { text: `not seen ${fmt.hours(leg.hours)}` }),
        ` ${fmt.time(leg.from_t)} → ${fmt.time(leg.to_t)} (dashed)`)]);
    }
    items.sort((a, b) => a[0] - b[0]);
    for (const [, li] of items) list.append(li);
    if (!items.length) list.append(el("li", { class: "hint", text: "no stored flights, stops or gaps in this period" }));
    const report = el("a", { class: "button", href: doc.report, download: "", "data-testid": "btn-report" }, "Make the evidence report (zip)");
    box.replaceChildren(
      el("h3", {}, "Itinerary ", daysSel),
      el("p", { class: "hint", text: `${name || hex} · ${doc.track.count} stored positions; seen legs solid, unseen legs dashed` }),
      list, el("p", {}, report));
  };

  // --- events feed ---------------------------------------------------------------------------
  const EV_LABEL = { takeoff: "take-off", landing: "landing", go_around: "go-around", touch_and_go: "touch-and-go",
    stopover: "stopover", inferred_stop: "probable stop", emergency: "EMERGENCY", squawk_change: "squawk change",
    enter_coverage: "entered coverage", leave_coverage: "left coverage", first_seen: "first seen",
    military_at_civil_airport: "military at civil airport", orbit: "orbit", gnss_degradation: "GNSS degradation",
    implausible_position: "implausible position", alert: "alert" };
  let eventsTimer = null;
  TW.loadEvents = async () => {
    const ul = $("#events");
    const classes = [...document.querySelectorAll("#ev-filters input:checked")].map((i) => i.value);
    const hours = Number($("#ev-hours").value || 24);
    const now = TW.state.now || Date.now() / 1000;
    try {
      const doc = await getJSON(`/api/map/events?since=${Math.floor(now - hours * 3600)}&until=${Math.ceil(now + 60)}` +
        (classes.length ? `&classes=${classes.join(",")}` : "") + "&limit=300");
      ul.replaceChildren();
      for (const ev of doc.events) {
        const who = [ev.registration, ev.typecode].filter(Boolean).join(" ") || ev.icao24;
        const li = el("li", { class: ev.classes.join(" "), tabindex: "0", "data-testid": "event" },
          el("strong", { text: EV_LABEL[ev.type] || ev.type }),
          ev.military ? el("span", { class: "badge mil", text: "mil" }) : null,
          ` ${who} ${ev.airport || ""}`,
          el("div", { class: "hint" }, fmt.time(ev.t),
            el("button", { type: "button", class: "mini", title: "Play back from this event", text: "▶ replay" })));
        li.addEventListener("click", (e) => jump(ev, e.target.tagName === "BUTTON"));
        li.addEventListener("keydown", (e) => { if (e.key === "Enter") jump(ev, false); });
        ul.append(li);
      }
      if (!doc.events.length) ul.append(el("li", { class: "hint", text: "no events in this period" }));
    } catch (e) { ul.replaceChildren(el("li", { text: e.message })); }
    clearTimeout(eventsTimer);
    eventsTimer = setTimeout(() => { if (!$("#tab-events").hidden) TW.loadEvents(); }, 30000);
  };

  /** an event: to its place (and its aircraft); with play, also to its time (playback, paused) */
  function jump(ev, play) {
    const map = TW.app.getMap();
    if (ev.lat != null) map.jumpTo({ center: [ev.lon, ev.lat], zoom: Math.min(10, Math.max(map.getZoom(), 8)) });
    TW.app.select(ev.icao24, { keepTab: true });
    map.getSource("event").setData({ type: "FeatureCollection", features: ev.lat == null ? [] : [{ type: "Feature",
      properties: { label: `${EV_LABEL[ev.type] || ev.type} ${ev.airport || ""} ${fmt.time(ev.t).slice(11)}` },
      geometry: { type: "Point", coordinates: [ev.lon, ev.lat] } }] });
    if (play) TW.app.playFrom(ev.t, { scope: "selected" }).catch((e) => { $("#pb-time").textContent = e.message; });
  }
  TW.jumpToEvent = jump;

  // --- heatmap and coverage ------------------------------------------------------------------
  let heatSeq = 0;
  TW.loadHeatmap = async (map) => {
    if (!TW.state.layers.heatmap) return;
    const b = map.getBounds();
    const f = (x) => x.toFixed(4);
    const box = `${f(Math.max(b.getSouth(), -85))},${f(Math.max(b.getWest(), -180))},${f(Math.min(b.getNorth(), 85))},${f(Math.min(b.getEast(), 180))}`;
    const hours = Number($("#hm-hours").value || 1);
    const now = TW.state.now || Date.now() / 1000;
    const seq = ++heatSeq;
    try {
      const doc = await getJSON(`/api/map/heatmap?box=${box}&since=${Math.floor(now - hours * 3600)}&until=${Math.ceil(now + 1)}&cells=120`);
      if (seq !== heatSeq) return;
      const c = doc.cells;
      const max = Math.max(1, ...c.n);
      const feats = c.n.map((n, i) => ({ type: "Feature", properties: { w: Math.log1p(n) / Math.log1p(max) },
        geometry: { type: "Point", coordinates: [c.lon[i], c.lat[i]] } }));
      map.getSource("heatmap").setData({ type: "FeatureCollection", features: feats });
      $("#hm-info").textContent = `${doc.count.toLocaleString()} positions in view over ${hours} h${doc.truncated ? " (truncated)" : ""}`;
    } catch (e) { $("#hm-info").textContent = e.message; }
  };

  TW.loadCoverage = async (map) => {
    try {
      const doc = await getJSON("/api/map/coverage?hours=24");
      const feats = doc.receivers.filter((r) => r.outline.length > 2).map((r) => ({ type: "Feature",
        properties: { id: r.id, max: r.max_nm }, geometry: { type: "LineString", coordinates: r.outline } }));
      map.getSource("coverage").setData({ type: "FeatureCollection", features: feats });
      const info = doc.receivers.map((r) => `${r.name || r.id}: ${r.max_nm == null ? "no positions yet" : `up to ${fmt.dist(r.max_nm)}`}`).join("; ");
      $("#cov-info").textContent = info || "no receiver position configured";
    } catch (e) { $("#cov-info").textContent = e.message; }
  };
})();
