/* tailwatch web map: the selected aircraft's panel (identity with the source of each field, live
 * state in the chosen units, annotations, exports, the itinerary and report buttons).
 * TW.Panel(app) returns {facts, renderPanel}; app gives {select, getMap}. */
"use strict";

(function () {
  const TW = window.TW;
  const { $, el, fmt } = TW;

  TW.Panel = (app) => {
    function fact(dl, name, value, testid) {
      dl.append(el("dt", { text: name }), el("dd", { text: value == null || value === "" ? "–" : String(value), "data-testid": testid }));
    }

    function facts(a, detail) {
      const id = detail?.identity || {};
      const live = detail?.live || {};
      const dl = el("dl", { class: "facts", "data-testid": "facts" });
      fact(dl, "Registration", id.registration ?? a?.r);
      fact(dl, "Type", [id.typecode ?? a?.t, id.description ?? a?.desc].filter(Boolean).join(" · "));
      fact(dl, "Operator", id.operator ?? a?.ownOp);
      fact(dl, "Country", id.country ?? a?.country);
      fact(dl, "Callsign", (a?.flight || live.callsign || "").trim());
      fact(dl, "Altitude", fmt.alt(a?.alt_baro ?? live.altitude_ft));
      fact(dl, "Ground speed", fmt.spd(a?.gs ?? live.gs_kt));
      fact(dl, "Track", fmt.deg(a?.track ?? live.track_deg));
      fact(dl, "Vertical rate", fmt.vr(a?.baro_rate ?? live.vrate_fpm));
      fact(dl, "Squawk", a?.squawk ?? live.squawk);
      if (a?.emergency && a.emergency !== "none") fact(dl, "Emergency", a.emergency);
      fact(dl, "Source", a ? TW.sourceOf(a) : live.source);
      fact(dl, "Distance", fmt.dist(a ? TW.distOf(a) : null));
      fact(dl, "Last seen", a ? fmt.ago(a.seen) + " ago" : fmt.time(live.last_seen));
      fact(dl, "Position", a?.lat != null ? `${a.lat.toFixed(4)}, ${a.lon.toFixed(4)}` : "–");
      return dl;
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
        a && a.type === "mlat" ? el("span", { class: "badge mlat", text: "MLAT" }) : null,
        id.ladd ? el("span", { class: "badge", text: "LADD" }) : null,
        id.pia ? el("span", { class: "badge", text: "PIA" }) : null);
      box.append(title, facts(a, detail));
      const tools = el("div", { class: "row" },
        el("button", { type: "button", "data-testid": "btn-itinerary", onclick: () => TW.showItinerary(app.getMap(), hex, $("#itinerary")) }, "Itinerary"),
        el("button", { type: "button", onclick: () => { if (a?.lat != null) app.getMap().flyTo({ center: [a.lon, a.lat], zoom: Math.max(app.getMap().getZoom(), 8) }); } }, "Centre"),
        el("button", { type: "button", onclick: () => app.select(null) }, "Deselect"));
      box.append(tools, el("div", { id: "itinerary", "data-testid": "itinerary" }));
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
      if (id.sources) {
        box.append(el("p", { class: "hint", text: "Sources: " + Object.entries(id.sources).map(([k, v]) => `${k} ← ${v}`).join(", ") }));
      }
      if (detail?.exports) {
        const p = el("p", { class: "links", "data-testid": "exports" }, "Track export: ");
        for (const [k, href] of Object.entries(detail.exports)) p.append(el("a", { href, download: "", text: k }), " ");
        box.append(p);
      }
      if (detail?.error) box.append(el("p", { class: "hint", text: detail.error }));
    }


    return { facts, renderPanel };
  };
})();
