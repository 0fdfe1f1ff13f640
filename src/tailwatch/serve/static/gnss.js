/* tailwatch web map: GNSS interference layer (docs/gnss.md). Self-contained: waits for
 * window.TW.ready ({map, state, beforeId}, see layers.js), reads /api/gnss (GeoJSON hexagons)
 * and /api/gnss/cells/{h3} (a hexagon's aircraft), and puts its controls into #gnss-slot.
 *
 * - hexagons coloured by level: none (faint outline), low (amber), high (red); a purple
 *   outline when an aircraft was spoofed there;
 * - a time slider: the period (an hour or a day) shown, counted back from the latest one;
 * - compare: a second map beside the first, same view, another period (both sliders);
 * - a click on a hexagon lists its aircraft with their worst NIC and NACp, degraded, spoofed. */
"use strict";

(function () {
  const TW = window.TW;
  if (!TW || !TW.ready) return;
  const COLORS = { none: "#4caf50", low: "#ffb300", high: "#e53935" };
  const SPOOF = "#8e24aa";
  const SRC = "gnss";
  const pref = TW.pref.get("gnss", { on: false, res: 4, period: "hour", back: 0, backB: 24, compare: false });

  const fillPaint = {
    "fill-color": ["match", ["get", "level"], "high", COLORS.high, "low", COLORS.low, COLORS.none],
    "fill-opacity": ["match", ["get", "level"], "high", 0.45, "low", 0.35, 0.06],
  };
  const linePaint = {
    "line-color": ["case", [">", ["get", "spoofed"], 0], SPOOF, ["match", ["get", "level"], "high", COLORS.high, "low", COLORS.low, "#7a8a7a"]],
    "line-width": ["case", [">", ["get", "spoofed"], 0], 2.5, 0.6],
    "line-opacity": 0.8,
  };
  const empty = { type: "FeatureCollection", features: [] };

  function addLayers(m, beforeId) {
    if (m.getSource(SRC)) return;
    m.addSource(SRC, { type: "geojson", data: empty });
    const before = beforeId && m.getLayer(beforeId) ? beforeId : undefined;
    m.addLayer({ id: "gnss-fill", type: "fill", source: SRC, paint: fillPaint }, before);
    m.addLayer({ id: "gnss-line", type: "line", source: SRC, paint: linePaint }, before);
  }

  function setVisible(m, on) {
    for (const id of ["gnss-fill", "gnss-line"]) if (m.getLayer(id)) m.setLayoutProperty(id, "visibility", on ? "visible" : "none");
  }

  const periodS = () => (pref.period === "day" ? 86400 : 3600);
  let latestEnd = null; // end of the latest stored period (from the first answer)

  function range(back) {
    const len = periodS();
    const end = Math.floor((latestEnd || Date.now() / 1000) / len) * len + (latestEnd && latestEnd % len === 0 ? 0 : len);
    const until = end - back * len;
    return { since: until - len, until };
  }

  const fmt = (t) => new Date(t * 1000).toISOString().replace(":00.000Z", "Z").replace("T", " ");

  async function load(m, back, info) {
    const r = range(back);
    const url = `/api/gnss?res=${pref.res}&since=${r.since}&until=${r.until}`;
    try {
      const doc = await TW.getJSON(url);
      m.getSource(SRC).setData(doc);
      const n = doc.features.length;
      const flagged = doc.features.filter((f) => f.properties.level !== "none").length;
      if (info) info.textContent = `${fmt(r.since)} – ${fmt(r.until)}: ${n} hexagons, ${flagged} flagged`;
      return doc;
    } catch (e) {
      if (info) info.textContent = `GNSS layer: ${e.message}`;
      return null;
    }
  }

  function popupFor(m, range_) {
    m.on("click", "gnss-fill", async (e) => {
      const f = e.features && e.features[0];
      if (!f) return;
      const h = f.properties.h3;
      const box = TW.el("div", { class: "gnss-popup", "data-testid": "gnss-popup" },
        TW.el("b", { text: `${h} · ${f.properties.level}` }),
        TW.el("div", { text: `${f.properties.aircraft} aircraft, ${f.properties.degraded} degraded, ${f.properties.spoofed} spoofed` }));
      box.style.color = "#111"; // the popup is white whatever the page's theme
      box.style.fontSize = "12px";
      const popup = new maplibregl.Popup({ maxWidth: "360px" }).setLngLat(e.lngLat).setDOMContent(box).addTo(m);
      try {
        const r = range_();
        const cell = await TW.getJSON(`/api/gnss/cells/${h}?since=${r.since}&until=${r.until}`);
        const rows = cell.aircraft_list.slice(0, 60).map((a) => TW.el("tr", {},
          TW.el("td", {}, TW.el("a", { href: `#${a.icao24}`, text: a.icao24 })),
          TW.el("td", { text: a.worst_nic == null ? "–" : String(a.worst_nic) }),
          TW.el("td", { text: a.worst_nacp == null ? "–" : String(a.worst_nacp) }),
          TW.el("td", { text: a.degraded ? "degraded" : "" }),
          TW.el("td", { text: a.spoofed ? "spoofed" : "" })));
        box.append(TW.el("table", {},
          TW.el("tr", {}, ...["icao24", "NIC", "NACp", "", ""].map((x) => TW.el("th", { text: x }))), ...rows));
        if (cell.aircraft_list.length > 60) box.append(TW.el("div", { text: `… ${cell.aircraft_list.length - 60} more` }));
      } catch (err) {
        box.append(TW.el("div", { text: err.message }));
      }
      popup.setDOMContent(box);
    });
    m.on("mouseenter", "gnss-fill", () => { m.getCanvas().style.cursor = "pointer"; });
    m.on("mouseleave", "gnss-fill", () => { m.getCanvas().style.cursor = ""; });
  }

  // --- the second map of the comparison -------------------------------------------------------
  let compareMap = null;
  function compareStyle(main) {
    const st = main.getStyle();
    const sources = {};
    const layers = [];
    for (const l of st.layers) {
      if (l.type === "background") layers.push(l);
      if (l.type === "raster" && st.sources[l.source]) { sources[l.source] = st.sources[l.source]; layers.push(l); }
    }
    return { version: 8, sources, layers };
  }

  function openCompare(main, info) {
    const host = main.getContainer();
    const div = TW.el("div", { id: "gnss-compare", "data-testid": "gnss-compare" });
    div.style.cssText = "position:absolute;top:0;right:0;width:50%;height:100%;border-left:2px solid #888;z-index:2";
    host.append(div);
    compareMap = new maplibregl.Map({ container: div, style: compareStyle(main), center: main.getCenter(),
      zoom: main.getZoom(), bearing: main.getBearing(), pitch: main.getPitch(), attributionControl: false, interactive: false });
    const sync = () => compareMap && compareMap.jumpTo({ center: main.getCenter(), zoom: main.getZoom(), bearing: main.getBearing(), pitch: main.getPitch() });
    main.on("move", sync);
    compareMap.on("load", () => {
      addLayers(compareMap);
      load(compareMap, pref.backB, info);
    });
    compareMap._twSync = sync;
  }

  function closeCompare(main) {
    if (!compareMap) return;
    main.off("move", compareMap._twSync);
    compareMap.remove();
    compareMap = null;
    const div = document.getElementById("gnss-compare");
    if (div) div.remove();
  }

  // --- controls ---------------------------------------------------------------------------------
  TW.ready.then(({ map, beforeId }) => {
    const slot = document.getElementById("gnss-slot");
    addLayers(map, beforeId);
    setVisible(map, pref.on);
    popupFor(map, () => range(pref.back));

    const info = TW.el("p", { class: "hint", "data-testid": "gnss-info" });
    const infoB = TW.el("p", { class: "hint", "data-testid": "gnss-info-b" });
    const on = TW.el("input", { type: "checkbox", id: "l-gnss", "data-testid": "layer-gnss" });
    on.checked = pref.on;
    const res = TW.el("select", { id: "gnss-res", "aria-label": "GNSS hexagon size" },
      ...[3, 4, 5, 6].map((r) => TW.el("option", { value: String(r), text: `res ${r}` })));
    res.value = String(pref.res);
    const period = TW.el("select", { id: "gnss-period", "aria-label": "GNSS period" },
      TW.el("option", { value: "hour", text: "hour" }), TW.el("option", { value: "day", text: "day" }));
    period.value = pref.period;
    const slider = TW.el("input", { type: "range", id: "gnss-time", min: "0", max: "168", step: "1", "aria-label": "GNSS period shown (back from the latest)", "data-testid": "gnss-slider" });
    slider.value = String(pref.back);
    const sliderB = TW.el("input", { type: "range", id: "gnss-time-b", min: "0", max: "168", step: "1", "aria-label": "GNSS compared period", "data-testid": "gnss-slider-b" });
    sliderB.value = String(pref.backB);
    const compare = TW.el("input", { type: "checkbox", id: "gnss-compare-on", "data-testid": "gnss-compare-toggle" });
    compare.checked = pref.compare;
    const legend = TW.el("div", { class: "hint" },
      ...Object.entries(COLORS).map(([k, c]) => {
        const sw = TW.el("span", { text: "■ " });
        sw.style.color = c;
        return TW.el("span", {}, sw, TW.el("span", { text: `${k}  ` }));
      }),
      (() => { const s = TW.el("span", { text: "□ spoofed" }); s.style.color = SPOOF; return s; })());

    slot.append(
      TW.el("h3", { text: "GNSS interference" }),
      TW.el("label", {}, on, " Hexagons of degraded / spoofed GNSS ", res, " per ", period),
      TW.el("label", {}, "Period ", slider), info,
      TW.el("label", {}, compare, " Compare with ", sliderB), infoB, legend);

    const save = () => TW.pref.set("gnss", pref);
    const refresh = async () => {
      if (!pref.on) return;
      await load(map, pref.back, info);
      if (compareMap && compareMap.isStyleLoaded()) await load(compareMap, pref.backB, infoB);
    };
    on.addEventListener("change", () => {
      pref.on = on.checked; save(); setVisible(map, pref.on);
      if (!pref.on) closeCompare(map); else { refresh(); if (pref.compare) openCompare(map, infoB); }
    });
    res.addEventListener("change", () => { pref.res = Number(res.value); save(); refresh(); });
    period.addEventListener("change", () => { pref.period = period.value; save(); refresh(); });
    slider.addEventListener("input", () => { pref.back = Number(slider.value); save(); refresh(); });
    sliderB.addEventListener("input", () => { pref.backB = Number(sliderB.value); save(); refresh(); });
    compare.addEventListener("change", () => {
      pref.compare = compare.checked; save();
      if (pref.compare && pref.on) openCompare(map, infoB); else closeCompare(map);
    });

    // the latest stored period anchors the slider
    TW.getJSON(`/api/gnss?res=3&level=high`).then((doc) => {
      latestEnd = doc.until || null;
      if (pref.on) { refresh(); if (pref.compare) openCompare(map, infoB); }
    }).catch((e) => { info.textContent = `GNSS layer: ${e.message}`; });

    window.tailwatch = window.tailwatch || {};
    window.tailwatch.gnss = { reload: refresh, range: () => range(pref.back) };
  });
})();
