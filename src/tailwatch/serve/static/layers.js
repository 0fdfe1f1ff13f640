/* tailwatch web map: optional layers from other features (serve/static/gnss.js for GNSS
 * interference, mlat.js ...). /api/map/layers names the scripts this installation has; each is
 * loaded after the map is ready and gets the "tailwatch:ready" event's detail
 * ({map, state, beforeId}) through window.TW.ready, so it can add its sources and layers under
 * the aircraft (beforeId) and its controls to #gnss-slot in the Filters tab. */
"use strict";

(function () {
  const TW = window.TW;
  TW.ready = new Promise((resolve) => window.addEventListener("tailwatch:ready", (e) => resolve(e.detail), { once: true }));
  TW.ready.then(async () => {
    try {
      const doc = await TW.getJSON("/api/map/layers");
      for (const src of doc.scripts) document.body.append(TW.el("script", { src }));
    } catch (e) { /* no optional layers */ }
  });
})();
