/* tailwatch web map: playback of stored positions (every aircraft, the selected ones or the
 * area in view) with a time slider; live updates pause meanwhile. TW.Playback(app) returns the
 * functions app.js calls; app gives {state, render, showTab, getMap}. */
"use strict";

(function () {
  const TW = window.TW;
  const { $, fmt, getJSON } = TW;

  TW.Playback = (app) => {
    const { state, render, showTab } = app;
    // --- playback -------------------------------------------------------------------------------
    function toLocalInput(s) {
      const d = new Date(s * 1000);
      const pad = (n) => String(n).padStart(2, "0");
      return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    }
    function fromLocalInput(v) { return new Date(v).getTime() / 1000; }

    async function loadPlayback(startAt) {
      const a = fromLocalInput($("#pb-from").value);
      const b = fromLocalInput($("#pb-to").value);
      if (!(b > a)) { $("#pb-time").textContent = "choose a window (To after From)"; return; }
      const scope = $("#pb-scope").value;
      let filter = "";
      if (scope === "selected") {
        if (!state.selected.length) { $("#pb-time").textContent = "select an aircraft first"; return; }
        filter = state.selected.map((h) => `&icao24=${encodeURIComponent(h)}`).join("");
      } else if (scope === "area") {
        const bb = app.getMap().getBounds();
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
        if (!r) byHex.set(c.icao24[i], (r = { t: [], lat: [], lon: [], alt: [], track: [], mlat: [] }));
        r.t.push(c.t[i]); r.lat.push(c.lat[i]); r.lon.push(c.lon[i]);
        r.alt.push(c.on_ground[i] ? "ground" : c.altitude_ft[i]); r.track.push(c.track_deg[i]);
        r.mlat.push(c.source[i] === "mlat");
      }
      if (state.playback?.timer) clearInterval(state.playback.timer);
      state.playback = { a, b, t: a, byHex, count: byHex.size, timer: null };
      state.mode = "playback";
      document.body.classList.add("playback");
      const slider = $("#pb-slider");
      slider.disabled = false; slider.value = 0;
      $("#pb-play").disabled = false;
      setPlaybackTime(startAt ?? a);
    }

    /** playback around an event: the window [t - 15 min, t + 15 min] of its aircraft (or area) */
    async function playFrom(t, opts = {}) {
      $("#pb-from").value = toLocalInput(t - (opts.before ?? 900));
      $("#pb-to").value = toLocalInput(t + (opts.after ?? 900));
      $("#pb-scope").value = opts.scope || (state.selected.length ? "selected" : "area");
      showTab("playback");
      await loadPlayback(t);
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
        out.push({ hex, lat, lon, alt: r.alt[i], track: r.track[i], mlat: r.mlat[i] });
      }
      return out;
    }

    function playbackTrail(hex, t) {
      const r = state.playback.byHex.get(hex);
      if (!r) return [];
      const i = lastIndex(r.t, t);
      const out = [];
      for (let k = 0; k <= i; k++) out.push([r.lon[k], r.lat[k], r.alt[k] === "ground" ? 0 : r.alt[k], r.mlat[k]]);
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
      document.body.classList.remove("playback");
      $("#pb-slider").disabled = true;
      $("#pb-play").disabled = true;
      $("#pb-time").textContent = "";
      render();
    }


    return { toLocalInput, loadPlayback, playFrom, setPlaybackTime, togglePlay, backToLive, playbackPositions, playbackTrail };
  };
})();
