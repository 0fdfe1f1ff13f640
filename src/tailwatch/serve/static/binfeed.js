/* tailwatch web map: the binary feed for big worlds (GET /api/map/positions.bin, see
 * serve/map_api.py). Each second one ArrayBuffer of columns (position, altitude, track, type,
 * flags, category, callsign) replaces 20,000 JSON objects to parse: the columns are read in
 * place. The other fields (speed, squawk, registration, ...) come from /data/aircraft.json,
 * refreshed every 2 s while the list or the aircraft panel is open, else every 15 s.
 *
 * TW.BinRow is what the rest of the page sees of one aircraft in this mode: the readsb field
 * names, as getters over the columns (and over the aircraft's last JSON object for the rest),
 * so filters, the table, labels and picking work unchanged. */
"use strict";

(function () {
  const TW = (window.TW = window.TW || {});
  const MAGIC = 0x31505754; // "TWP1" little-endian
  const ascii = new TextDecoder("ascii");
  const hexCache = new Map(); // u32 → "3c6444"
  const typeCache = new Map(); // 4 ASCII bytes as u32 → "A321"
  TW.hexOf = (a) => {
    let h = hexCache.get(a);
    if (h === undefined) { h = a.toString(16).padStart(6, "0"); if (hexCache.size < 200000) hexCache.set(a, h); }
    return h;
  };
  const typeOf = (u) => {
    let t = typeCache.get(u);
    if (t === undefined) {
      t = "";
      for (let k = 0; k < 4; k++) { const ch = (u >>> (8 * k)) & 255; if (ch > 32) t += String.fromCharCode(ch); }
      typeCache.set(u, t);
    }
    return t;
  };

  /** the columns of one positions.bin answer, or null when it is not one */
  TW.parseBin = (buf) => {
    const dv = new DataView(buf);
    if (buf.byteLength < 24 || dv.getUint32(0, true) !== MAGIC) return null;
    const n = dv.getUint32(4, true);
    const o = 24;
    if (buf.byteLength < o + 34 * n) return null;
    return {
      n, now: dv.getFloat64(8, true), version: dv.getUint32(16, true),
      icao: new Uint32Array(buf, o, n), lat: new Float32Array(buf, o + 4 * n, n),
      lon: new Float32Array(buf, o + 8 * n, n), alt: new Float32Array(buf, o + 12 * n, n),
      track: new Float32Array(buf, o + 16 * n, n), type: new Uint32Array(buf, o + 20 * n, n),
      flags: new Uint8Array(buf, o + 24 * n, n), cat: new Uint8Array(buf, o + 25 * n, n),
      call: new Uint8Array(buf, o + 26 * n, 8 * n),
    };
  };

  const num = (v) => (Number.isNaN(v) ? null : v);
  TW.BinRow = class {
    constructor(c, i, hex, o) { this.c = c; this.i = i; this.hex = hex; this.o = o; this.f = null; }
    get lat() { return this.c.lat[this.i]; }
    get lon() { return this.c.lon[this.i]; }
    get alt_baro() { return this.c.flags[this.i] & 2 ? "ground" : num(this.c.alt[this.i]); }
    get alt_geom() { return this.o ? this.o.alt_geom : undefined; }
    get track() { return num(this.c.track[this.i]); }
    get true_heading() { return this.o ? this.o.true_heading : undefined; }
    get mag_heading() { return this.o ? this.o.mag_heading : undefined; }
    get dbFlags() {
      const f = this.c.flags[this.i];
      return (f & 1) | (f & 8 ? 2 : 0) | (this.o ? (this.o.dbFlags || 0) & 12 : 0);
    }
    get type() { return this.c.flags[this.i] & 4 ? "mlat" : (this.o ? this.o.type : "adsb_icao"); }
    get category() {
      const v = this.c.cat[this.i];
      return v >= 8 && v < 40 ? "ABCD"[(v >> 3) - 1] + (v & 7) : undefined;
    }
    get t() { return typeOf(this.c.type[this.i]) || (this.o ? this.o.t : undefined); }
    get flight() {
      if (this.f === null) this.f = ascii.decode(this.c.call.subarray(this.i * 8, this.i * 8 + 8)).replace(/\0/g, "");
      return this.f;
    }
    // the rest from the aircraft's last JSON object
    get r() { return this.o?.r; }
    get desc() { return this.o?.desc; }
    get ownOp() { return this.o?.ownOp; }
    get country() { return this.o?.country; }
    get gs() { return this.o?.gs; }
    get baro_rate() { return this.o?.baro_rate; }
    get geom_rate() { return this.o?.geom_rate; }
    get squawk() { return this.o?.squawk; }
    get emergency() { return this.o?.emergency; }
    get seen() { return this.o?.seen; }
    get rssi() { return this.o?.rssi; }
    get messages() { return this.o?.messages; }
    get r_dst() { return this.o?.r_dst; }
  };

  /** fetch the columns once; null when unchanged since `last` or unavailable */
  TW.fetchBin = async (last) => {
    const r = await fetch("/api/map/positions.bin", { cache: "no-cache" });
    if (!r.ok) throw new Error(`/api/map/positions.bin: ${r.status}`);
    const cols = TW.parseBin(await r.arrayBuffer());
    if (!cols) throw new Error("/api/map/positions.bin: not tailwatch's binary columns");
    if (last && last.version === cols.version && last.now === cols.now) return null;
    return cols;
  };
})();
