/* tailwatch web map: shared helpers (DOM, units, preferences, the URL). Plain script; everything
 * hangs off window.TW so that the other files (glaircraft.js, table.js, investigate.js, app.js)
 * can use it without a build step. */
"use strict";

(function () {
  const TW = (window.TW = window.TW || {});

  TW.$ = (sel) => document.querySelector(sel);
  TW.el = (tag, attrs, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null) continue;
      if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const kid of kids) if (kid != null) e.append(kid);
    return e;
  };
  TW.getJSON = async (url) => {
    const r = await fetch(url, { headers: { Accept: "application/json" } });
    if (!r.ok) {
      let detail = "";
      try { detail = (await r.json()).error || ""; } catch (e) { /* not JSON */ }
      throw new Error(`${url.split("?")[0]}: ${r.status}${detail ? " " + detail : ""}`);
    }
    return r.json();
  };

  // --- preferences (localStorage; a private window simply forgets them) ----------------------
  const PREFIX = "tailwatch.";
  TW.pref = {
    get(name, fallback) {
      try {
        const v = localStorage.getItem(PREFIX + name);
        return v == null ? fallback : JSON.parse(v);
      } catch (e) { return fallback; }
    },
    set(name, value) {
      try { localStorage.setItem(PREFIX + name, JSON.stringify(value)); } catch (e) { /* full or off */ }
    },
  };

  // --- units ---------------------------------------------------------------------------------
  // aviation: ft, kt, NM, ft/min · metric: m, km/h, km, m/s · imperial: ft, mph, mi, ft/min
  const UNITS = {
    aviation: { alt: [1, "ft"], spd: [1, "kt"], dist: [1, "NM"], vr: [1, "ft/min"] },
    metric: { alt: [0.3048, "m"], spd: [1.852, "km/h"], dist: [1.852, "km"], vr: [0.00508, "m/s"] },
    imperial: { alt: [1, "ft"], spd: [1.150779, "mph"], dist: [1.150779, "mi"], vr: [1, "ft/min"] },
  };
  TW.units = { system: "aviation" };
  TW.unitNames = Object.keys(UNITS);
  TW.setUnits = (system) => { if (UNITS[system]) TW.units.system = system; };
  const NF = [0, 1, 2].map((nd) => new Intl.NumberFormat(undefined, { maximumFractionDigits: nd, minimumFractionDigits: nd }));
  const conv = (kind, v, nd) => {
    const [f, u] = UNITS[TW.units.system][kind];
    return `${NF[nd].format(v * f)} ${u}`;
  };
  TW.unitLabel = (kind) => UNITS[TW.units.system][kind][1];
  TW.fmt = {
    alt: (a) => (a === "ground" ? "ground" : a == null ? "–" : conv("alt", a, 0)),
    spd: (v) => (v == null ? "–" : conv("spd", v, 0)),
    dist: (nm) => (nm == null ? "–" : conv("dist", nm, 1)),
    vr: (v) => (v == null ? "–" : conv("vr", v, TW.units.system === "metric" ? 1 : 0)),
    deg: (v) => (v == null ? "–" : `${Math.round(v)}°`),
    num: (v, unit, nd = 0) => (v == null ? "–" : `${Number(v).toFixed(nd)}${unit ? " " + unit : ""}`),
    time: (s) => (s == null ? "–" : new Date(s * 1000).toISOString().replace("T", " ").slice(0, 19) + "Z"),
    ago: (s) => (s == null ? "–" : s < 60 ? `${s.toFixed(0)} s` : s < 3600 ? `${(s / 60).toFixed(0)} min` : `${(s / 3600).toFixed(1)} h`),
    hours: (h) => (h < 1 ? `${Math.round(h * 60)} min` : `${h.toFixed(1)} h`),
  };

  // --- geometry ------------------------------------------------------------------------------
  TW.distNm = (lat1, lon1, lat2, lon2) => {
    const r = Math.PI / 180;
    const a = Math.sin(((lat2 - lat1) * r) / 2) ** 2 +
      Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.sin(((lon2 - lon1) * r) / 2) ** 2;
    return 2 * 3440.065 * Math.asin(Math.sqrt(Math.min(1, a)));
  };
  TW.circle = (lat, lon, nm, n = 96) => {
    const out = [];
    const d = nm / 3440.065, p1 = (lat * Math.PI) / 180, l1 = (lon * Math.PI) / 180;
    for (let i = 0; i <= n; i++) {
      const b = (i / n) * 2 * Math.PI;
      const p2 = Math.asin(Math.sin(p1) * Math.cos(d) + Math.cos(p1) * Math.sin(d) * Math.cos(b));
      const l2 = l1 + Math.atan2(Math.sin(b) * Math.sin(d) * Math.cos(p1), Math.cos(d) - Math.sin(p1) * Math.sin(p2));
      out.push([(((l2 * 180) / Math.PI + 540) % 360) - 180, (p2 * 180) / Math.PI]);
    }
    return out;
  };

  // --- altitude colours (the legend shows the same stops) --------------------------------------
  TW.ALT_STOPS = [[0, [242, 142, 43]], [5000, [242, 142, 43]], [10000, [228, 194, 31]],
    [20000, [89, 161, 79]], [30000, [78, 155, 214]], [40000, [176, 122, 161]]];
  TW.GROUND_RGB = [138, 143, 148];
  TW.altRGB = (alt) => {
    if (alt === "ground" || alt === 0) return TW.GROUND_RGB;
    if (alt == null) return [200, 200, 200];
    const s = TW.ALT_STOPS;
    if (alt <= s[0][0]) return s[0][1];
    for (let i = 1; i < s.length; i++) {
      if (alt <= s[i][0]) {
        const f = (alt - s[i - 1][0]) / (s[i][0] - s[i - 1][0]);
        return s[i - 1][1].map((c, k) => c + (s[i][1][k] - c) * f);
      }
    }
    return s[s.length - 1][1];
  };
  TW.altCSS = (alt) => `rgb(${TW.altRGB(alt).map(Math.round).join(",")})`;

  // --- readsb fields -----------------------------------------------------------------------
  TW.altNum = (a) => (a.alt_baro === "ground" ? 0 : (a.alt_baro ?? a.alt_geom ?? null));
  TW.sourceOf = (a) => {
    const t = a.type || "";
    if (t === "mlat") return "MLAT";
    if (t.startsWith("adsb") || t.startsWith("adsr")) return "ADS-B";
    if (t.startsWith("tisb")) return "TIS-B";
    if (t === "mode_s") return "Mode S";
    return "other";
  };
  TW.callsign = (a) => (a.flight || "").trim();

  // --- the URL (tar1090's parameter names where it has them) ---------------------------------
  TW.readURL = () => {
    const q = new URLSearchParams(location.search);
    const num = (k) => (q.has(k) && q.get(k) !== "" && Number.isFinite(Number(q.get(k))) ? Number(q.get(k)) : null);
    const list = (k) => (q.get(k) || "").split(",").map((x) => x.trim()).filter(Boolean);
    return {
      icao: list("icao").map((h) => h.toLowerCase()),
      lat: num("lat"), lon: num("lon"), zoom: num("zoom"),
      filter: {
        altMin: num("filterAltMin"), altMax: num("filterAltMax"),
        callsign: q.get("filterCallSign") || "", type: q.get("filterType") || "",
        description: q.get("filterDescription") || "", icao: q.get("filterIcao") || "",
        sources: list("filterSources"), dbFlags: list("filterDbFlag"),
        maxRange: num("filterMaxRange"), text: q.get("filter") || "",
      },
      units: q.get("units"), theme: q.get("theme"), feed: q.get("feed"),
    };
  };
  let urlTimer = null;
  TW.writeURL = (st) => {
    clearTimeout(urlTimer);
    urlTimer = setTimeout(() => {
      const q = new URLSearchParams();
      if (st.selected.length) q.set("icao", st.selected.join(","));
      if (st.center) {
        q.set("lat", st.center.lat.toFixed(4));
        q.set("lon", st.center.lng.toFixed(4));
        q.set("zoom", st.zoom.toFixed(1));
      }
      const f = st.filter;
      if (f.altMin != null) q.set("filterAltMin", f.altMin);
      if (f.altMax != null) q.set("filterAltMax", f.altMax);
      if (f.callsign) q.set("filterCallSign", f.callsign);
      if (f.type) q.set("filterType", f.type);
      if (f.description) q.set("filterDescription", f.description);
      if (f.icao) q.set("filterIcao", f.icao);
      if (f.sources && f.sources.length) q.set("filterSources", f.sources.join(","));
      if (f.dbFlags && f.dbFlags.length) q.set("filterDbFlag", f.dbFlags.join(","));
      if (f.maxRange != null) q.set("filterMaxRange", f.maxRange);
      if (f.text) q.set("filter", f.text);
      const s = q.toString().replace(/%2C/g, ",");
      history.replaceState(null, "", s ? `?${s}` : location.pathname);
    }, 250);
  };
})();
