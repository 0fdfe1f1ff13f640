/* tailwatch web map: the aircraft table beside the map (tar1090's list). Sortable by any column
 * (click a heading; again to reverse), filtered with the map (the same filters), click a row to
 * select; the chosen columns and the sort are remembered. Only the rows in the scroll window
 * are in the DOM, so 20,000 aircraft cost a sort per update, not 20,000 rows. */
"use strict";

(function () {
  const TW = (window.TW = window.TW || {});
  const { el, fmt } = TW;
  const ROW_PX = 24;

  const num = (v) => (v == null || v === "" || Number.isNaN(v) ? null : Number(v));
  TW.COLUMNS = [
    { key: "hex", label: "Hex", get: (a) => a.hex, show: (a) => a.hex, on: false },
    { key: "flight", label: "Callsign", get: (a) => TW.callsign(a), show: (a) => TW.callsign(a), on: true },
    { key: "r", label: "Reg.", get: (a) => a.r || "", show: (a) => a.r || "", on: true },
    { key: "t", label: "Type", get: (a) => a.t || "", show: (a) => a.t || "", on: true },
    { key: "alt", label: "Altitude", get: (a) => num(TW.altNum(a)), show: (a) => fmt.alt(a.alt_baro ?? a.alt_geom), on: true, right: true },
    { key: "gs", label: "Speed", get: (a) => num(a.gs), show: (a) => fmt.spd(a.gs), on: true, right: true },
    { key: "vr", label: "V. rate", get: (a) => num(a.baro_rate ?? a.geom_rate), show: (a) => fmt.vr(a.baro_rate ?? a.geom_rate), on: false, right: true },
    { key: "squawk", label: "Squawk", get: (a) => a.squawk || "", show: (a) => a.squawk || "", on: true },
    { key: "dist", label: "Distance", get: (a) => num(TW.distOf(a)), show: (a) => fmt.dist(TW.distOf(a)), on: true, right: true },
    { key: "track", label: "Track", get: (a) => num(a.track), show: (a) => fmt.deg(a.track), on: false, right: true },
    { key: "seen", label: "Seen", get: (a) => num(a.seen), show: (a) => fmt.ago(a.seen), on: false, right: true },
    { key: "rssi", label: "RSSI", get: (a) => num(a.rssi), show: (a) => (a.rssi == null ? "–" : `${a.rssi.toFixed(1)}`), on: false, right: true },
    { key: "messages", label: "Msgs", get: (a) => num(a.messages), show: (a) => (a.messages == null ? "–" : String(a.messages)), on: false, right: true },
    { key: "source", label: "Source", get: (a) => TW.sourceOf(a), show: (a) => TW.sourceOf(a), on: true },
    { key: "country", label: "Country", get: (a) => a.country || "", show: (a) => a.country || "", on: false },
    { key: "flags", label: "Flags", get: (a) => (a.dbFlags || 0) & 3, show: (a) => [(a.dbFlags & 1) ? "mil" : "", (a.dbFlags & 2) ? "int" : "", a.emergency && a.emergency !== "none" ? "EMERG" : ""].filter(Boolean).join(" "), on: true },
  ];

  TW.Table = class {
    constructor(box, { onSelect }) {
      this.box = box;
      this.onSelect = onSelect;
      this.rows = [];
      this.selected = new Set();
      const saved = TW.pref.get("columns", null);
      this.visible = new Set(saved || TW.COLUMNS.filter((c) => c.on).map((c) => c.key));
      const sort = TW.pref.get("sort", null) || { key: "dist", dir: 1 };
      this.sortChosen = TW.pref.get("sort", null) != null;
      this.sortKey = sort.key;
      this.sortDir = sort.dir;
      this.build();
    }
    build() {
      this.head = el("tr");
      this.thead = el("thead", {}, this.head);
      this.tbody = el("tbody");
      this.table = el("table", { class: "ac-table", "data-testid": "ac-table" }, this.thead, this.tbody);
      this.scroller = el("div", { class: "table-scroll", "data-testid": "ac-table-scroll" }, this.table);
      this.scroller.addEventListener("scroll", () => this.paint());
      this.tbody.addEventListener("click", (e) => {
        const tr = e.target.closest("tr[data-hex]");
        if (tr) this.onSelect(tr.dataset.hex, e.ctrlKey || e.metaKey || e.shiftKey);
      });
      this.chooser = el("details", { class: "col-chooser" }, el("summary", { text: "Columns" }));
      for (const c of TW.COLUMNS) {
        const box = el("input", { type: "checkbox", "data-col": c.key });
        box.checked = this.visible.has(c.key);
        box.addEventListener("change", () => {
          if (box.checked) this.visible.add(c.key); else this.visible.delete(c.key);
          TW.pref.set("columns", [...this.visible]);
          this.header();
          this.paint(true);
        });
        this.chooser.append(el("label", {}, box, ` ${c.label}`));
      }
      this.box.append(this.chooser, this.scroller);
      this.header();
    }
    columns() { return TW.COLUMNS.filter((c) => this.visible.has(c.key)); }
    header() {
      this.head.replaceChildren();
      for (const c of this.columns()) {
        const arrow = c.key === this.sortKey ? (this.sortDir > 0 ? " ▲" : " ▼") : "";
        const unit = { alt: "alt", gs: "spd", dist: "dist", vr: "vr" }[c.key];
        const th = el("th", { "data-col": c.key, class: c.right ? "r" : null, title: unit ? TW.unitLabel(unit) : null,
          "aria-sort": c.key === this.sortKey ? (this.sortDir > 0 ? "ascending" : "descending") : null }, c.label + arrow);
        th.addEventListener("click", () => this.sortBy(c.key));
        this.head.append(th);
      }
    }
    /** the sort when the user has not chosen one: distance with a receiver, else altitude */
    defaultSort(hasReceiver) {
      if (this.sortChosen) return;
      this.sortKey = hasReceiver ? "dist" : "alt";
      this.sortDir = hasReceiver ? 1 : -1;
      this.header();
    }
    sortBy(key, dir) {
      this.sortChosen = true;
      if (dir != null) this.sortDir = dir;
      else this.sortDir = key === this.sortKey ? -this.sortDir : 1;
      this.sortKey = key;
      TW.pref.set("sort", { key: this.sortKey, dir: this.sortDir });
      this.header();
      this.sort();
      this.paint(true);
    }
    /** the shown aircraft (already filtered), sorted; nulls last whatever the direction */
    update(list, selected) {
      this.rows = list;
      this.selected = new Set(selected);
      this.sort();
      this.paint(true);
    }
    sort() {
      const col = TW.COLUMNS.find((c) => c.key === this.sortKey) || TW.COLUMNS[1];
      const d = this.sortDir;
      const keyed = this.rows.map((a) => [col.get(a), a]);
      keyed.sort((x, y) => {
        const a = x[0], b = y[0];
        const na = a == null || a === "", nb = b == null || b === "";
        if (na || nb) return na === nb ? 0 : na ? 1 : -1;
        return (a < b ? -1 : a > b ? 1 : 0) * d;
      });
      this.rows = keyed.map((k) => k[1]);
    }
    order() { return this.rows.map((a) => a.hex); }
    paint() {
      if (!this.scroller.offsetParent) return; // hidden tab: nothing to draw
      const cols = this.columns();
      const top = this.scroller.scrollTop;
      const height = Math.min(this.scroller.clientHeight || 600, window.innerHeight);
      const first = Math.max(0, Math.floor(top / ROW_PX) - 5);
      const last = Math.min(this.rows.length, first + Math.ceil(height / ROW_PX) + 10);
      const frag = document.createDocumentFragment();
      frag.append(el("tr", { class: "pad", style: `height:${first * ROW_PX}px` }));
      for (let i = first; i < last; i++) {
        const a = this.rows[i];
        const cls = [this.selected.has(a.hex) ? "sel" : "", a.dbFlags & 1 ? "mil" : "",
          a.emergency && a.emergency !== "none" ? "emerg" : "", a.type === "mlat" ? "mlat" : ""].filter(Boolean).join(" ");
        const tr = el("tr", { "data-hex": a.hex, class: cls || null });
        for (const c of cols) tr.append(el("td", { class: c.right ? "r" : null, text: c.show(a) }));
        frag.append(tr);
      }
      frag.append(el("tr", { class: "pad", style: `height:${(this.rows.length - last) * ROW_PX}px` }));
      this.tbody.replaceChildren(frag);
    }
    scrollTo(hex) {
      const i = this.rows.findIndex((a) => a.hex === hex);
      if (i >= 0) this.scroller.scrollTop = Math.max(0, i * ROW_PX - 60);
    }
  };
})();
