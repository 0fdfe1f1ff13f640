/* tailwatch web map: the aircraft symbols, drawn by one WebGL layer (a MapLibre custom layer).
 *
 * 20,000 aircraft updated every second cost one typed-array upload and one draw call per world
 * copy: no GeoJSON, no worker re-tiling, no symbol placement. Each aircraft is a point sprite;
 * the fragment shader turns the sprite by the aircraft's track (minus the map's bearing) and
 * picks its silhouette from an atlas drawn here on a canvas at start-up. Fill colour = the
 * altitude colour; outline colour = selected (white), military (red), MLAT position (cyan),
 * else dark. */
"use strict";

(function () {
  const TW = (window.TW = window.TW || {});

  // --- symbol classes ------------------------------------------------------------------------
  const SHAPES = ["jet", "heavy", "light", "heli", "miltransport", "fighter", "glider", "ground", "uav", "unknown"];
  TW.SHAPES = SHAPES;
  const SLOT = Object.fromEntries(SHAPES.map((s, i) => [s, i]));
  const set = (s) => new Set(s.split(" "));
  const HELI = set("EC20 EC25 EC30 EC35 EC45 EC55 EC75 H125 H130 H135 H145 H155 H160 H175 H215 H225 AS32 AS3B AS50 AS55 AS65 A109 A119 A139 A149 A169 A189 B06 B06T B407 B412 B429 B505 BK17 R22 R44 R66 S61 S76 S92 UH1 UH60 H60 H47 CH47 H53 NH90 MI8 MI17 MI24 MI26 MI28 KA27 KA32 KA52 LYNX PUMA TIGR EH10 V22 AW19");
  const FIGHTER = set("F15 F16 F18 F18S F22 F35 F5 F4 EUFI RFAL TORN MIR2 M2KC JAS39 GRIF SU24 SU25 SU27 SU30 SU34 SU35 SU57 MG29 MG31 A10 HAWK T38 T6 L39 M346 AJET PC21 TUCA K8 JF17 J10 HAR B1 B2 B52 TU22 TU95 T160");
  const MILTRANSPORT = set("C17 C130 C30J C5 C5M A400 IL76 IL78 AN12 AN22 AN26 AN32 AN70 AN124 A124 AN225 KC10 K35R K35E KC46 C27J C295 CN35 C160 Y20 KC39 E3TF E3CF E767 P8 P3 E2 R135 U2 C2 C1 KC2");
  const HEAVY = set("A124 A306 A30B A310 A332 A333 A338 A339 A342 A343 A345 A346 A359 A35K A388 B741 B742 B743 B744 B748 B74S B762 B763 B764 B772 B773 B77L B77W B778 B779 B788 B789 B78X DC10 MD11 IL62 IL86 IL96 A3ST BLCF BSCA AN24 IL18");
  const LIGHT = set("C150 C152 C162 C170 C172 C175 C177 C180 C182 C185 C195 C206 C207 C208 C210 C310 C337 C340 C402 C414 C421 P28A P28B P28R P28T P32R P46T PA18 PA22 PA24 PA31 PA34 PA44 PA46 SR20 SR22 SR22T DA20 DA40 DA42 DA62 DR40 TB10 TB20 TB9 BE20 BE33 BE35 BE36 BE58 BE9L M20P M20T RV7 RV8 RV9 RV10 AT3 AT5 AT6 AT7 AT8 AT72 AT75 AT76 DH8A DH8B DH8C DH8D DHC6 DHC2 DHC3 PC12 PC6T PC7 PC9 TBM7 TBM8 TBM9 KODI G115 SF25 EV97 CRUZ");
  TW.classify = (a) => {
    const cat = a.category || "";
    const t = (a.t || "").toUpperCase();
    const mil = !!(a.dbFlags & 1);
    if (cat === "A7" || HELI.has(t)) return "heli";
    if (FIGHTER.has(t)) return "fighter";
    if (mil && MILTRANSPORT.has(t)) return "miltransport";
    if (cat === "B6") return "uav";
    if (cat === "B1" || cat === "B2" || cat === "B3") return "glider";
    if (cat.startsWith("C")) return "ground";
    if (mil && (cat === "A6")) return "fighter";
    if (mil && (cat === "A5" || HEAVY.has(t))) return "miltransport";
    if (cat === "A5" || HEAVY.has(t)) return "heavy";
    if (cat === "A1" || cat === "A2" || cat === "B4" || LIGHT.has(t)) return "light";
    if (cat === "A3" || cat === "A4" || cat === "A6" || t) return "jet";
    return "unknown";
  };
  TW.shapeScale = { jet: 1, heavy: 1.2, light: 0.8, heli: 0.9, miltransport: 1.2, fighter: 0.9, glider: 0.95, ground: 0.6, uav: 0.7, unknown: 0.8 };

  // --- the atlas -----------------------------------------------------------------------------
  const CELL = 64;
  // silhouettes in a 32 × 32 box, nose up
  const PATHS = {
    jet: [[16, 1], [18, 5], [18, 12], [30, 19], [30, 22], [18, 18.5], [17.5, 26], [21.5, 29], [21.5, 31], [16, 29.5], [10.5, 31], [10.5, 29], [14.5, 26], [14, 18.5], [2, 22], [2, 19], [14, 12], [14, 5]],
    heavy: [[16, 0.5], [18.5, 4], [18.5, 11], [31.5, 19], [31.5, 22.5], [18.5, 18], [18, 25.5], [23, 29], [23, 31], [16, 29.5], [9, 31], [9, 29], [14, 25.5], [13.5, 18], [0.5, 22.5], [0.5, 19], [13.5, 11], [13.5, 4]],
    light: [[16, 3], [17.5, 5], [17.5, 10], [29, 10.5], [29, 14], [17.5, 14.5], [17, 24], [22, 25], [22, 28], [16, 27.5], [10, 28], [10, 25], [15, 24], [14.5, 14.5], [3, 14], [3, 10.5], [14.5, 10], [14.5, 5]],
    miltransport: [[16, 1], [18.5, 4], [18.5, 9], [31, 10], [31, 13.5], [18.5, 14], [18, 24], [24, 25.5], [24, 29], [16, 28], [8, 29], [8, 25.5], [14, 24], [13.5, 14], [1, 13.5], [1, 10], [13.5, 9], [13.5, 4]],
    fighter: [[16, 0.5], [18, 6], [19, 12], [29, 22], [29, 25], [19, 23], [19.5, 27], [23, 30], [23, 31.5], [16, 30], [9, 31.5], [9, 30], [12.5, 27], [13, 23], [3, 25], [3, 22], [13, 12], [14, 6]],
    glider: [[16, 4], [17, 6], [17, 11], [31.5, 11.5], [31.5, 13.5], [17, 14], [16.6, 26], [20, 27], [20, 29], [16, 28.5], [12, 29], [12, 27], [15.4, 26], [15, 14], [0.5, 13.5], [0.5, 11.5], [15, 11], [15, 6]],
    uav: [[16, 6], [18, 12], [28, 9], [28, 12], [19, 16], [28, 22], [28, 25], [18, 20], [16, 26], [14, 20], [4, 25], [4, 22], [13, 16], [4, 12], [4, 9], [14, 12]],
  };
  function drawShape(g, name) {
    g.beginPath();
    if (name === "heli") {
      g.arc(16, 14, 10.5, 0, 2 * Math.PI); // rotor disk (drawn as a ring below)
      g.moveTo(17.5, 14); g.lineTo(17, 30); g.lineTo(15, 30); g.lineTo(14.5, 14);
    } else if (name === "ground") {
      g.rect(10, 8, 12, 16);
    } else if (name === "unknown") {
      g.moveTo(16, 3); g.lineTo(26, 27); g.lineTo(16, 21); g.lineTo(6, 27);
    } else {
      const p = PATHS[name];
      g.moveTo(p[0][0], p[0][1]);
      for (const [x, y] of p.slice(1)) g.lineTo(x, y);
    }
    g.closePath();
  }
  function atlas() {
    const c = document.createElement("canvas");
    c.width = CELL * SHAPES.length;
    c.height = CELL;
    const g = c.getContext("2d");
    SHAPES.forEach((name, i) => {
      g.save();
      g.translate(i * CELL, 0);
      g.scale(CELL / 32, CELL / 32);
      g.lineJoin = "round";
      g.strokeStyle = "#000";
      g.lineWidth = 2.2;
      drawShape(g, name);
      g.stroke();
      g.fillStyle = "#fff";
      if (name === "heli") {
        g.beginPath(); g.arc(16, 14, 10.5, 0, 2 * Math.PI); g.lineWidth = 1.6; g.strokeStyle = "#fff"; g.stroke();
        g.beginPath(); g.ellipse(16, 14, 3.2, 6, 0, 0, 2 * Math.PI); g.fill();
        g.fillRect(15, 14, 2, 16);
      } else {
        drawShape(g, name);
        g.fill();
      }
      g.restore();
    });
    return c;
  }
  TW.atlasCanvas = atlas;

  // --- the layer -----------------------------------------------------------------------------
  const VS = `
    attribute vec2 a_pos; attribute float a_angle; attribute float a_slot; attribute vec3 a_rgb;
    attribute float a_flags; attribute float a_size;
    uniform mat4 u_matrix; uniform float u_offset; uniform float u_px; uniform float u_bearing;
    varying float v_angle; varying float v_slot; varying vec3 v_rgb; varying float v_flags;
    void main() {
      gl_Position = u_matrix * vec4(a_pos.x + u_offset, a_pos.y, 0.0, 1.0);
      gl_PointSize = u_px * a_size;
      v_angle = a_angle - u_bearing; v_slot = a_slot; v_rgb = a_rgb; v_flags = a_flags;
    }`;
  const FS = `
    precision mediump float;
    uniform sampler2D u_atlas; uniform float u_slots; uniform vec3 u_sel;
    varying float v_angle; varying float v_slot; varying vec3 v_rgb; varying float v_flags;
    void main() {
      vec2 p = gl_PointCoord - 0.5;
      float c = cos(v_angle), s = sin(v_angle);
      vec2 q = vec2(c * p.x + s * p.y, -s * p.x + c * p.y) + 0.5;
      if (q.x < 0.0 || q.x > 1.0 || q.y < 0.0 || q.y > 1.0) discard;
      vec4 t = texture2D(u_atlas, vec2((floor(v_slot + 0.5) + q.x) / u_slots, q.y));
      if (t.a < 0.02) discard;
      float f = floor(v_flags + 0.5); // varyings are not exact integers at mediump
      vec3 line = vec3(0.05, 0.07, 0.09);
      if (mod(f, 2.0) >= 1.0) line = vec3(0.85, 0.1, 0.11);            // military
      else if (mod(floor(f / 4.0), 2.0) >= 1.0) line = vec3(0.0, 0.9, 1.0); // MLAT
      if (mod(floor(f / 2.0), 2.0) >= 1.0) line = u_sel;                // selected
      vec3 col = mix(line, v_rgb, t.r);
      gl_FragColor = vec4(col * t.a, t.a);
    }`;
  const STRIDE = 9; // x, y, angle, slot, r, g, b, flags, size

  function compile(gl, type, src) {
    const s = gl.createShader(type);
    gl.shaderSource(s, src);
    gl.compileShader(s);
    if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(s));
    return s;
  }

  TW.AircraftLayer = class {
    constructor(id) {
      this.id = id;
      this.type = "custom";
      this.renderingMode = "2d";
      this.data = new Float32Array(0);
      this.n = 0;
      this.uploaded = -1;
      this.version = 0;
      this.frames = 0;
      this.selectedColour = [1, 1, 1]; // white on the dark map, blue on the light one
    }
    onAdd(map, gl) {
      this.map = map;
      const p = gl.createProgram();
      gl.attachShader(p, compile(gl, gl.VERTEX_SHADER, VS));
      gl.attachShader(p, compile(gl, gl.FRAGMENT_SHADER, FS));
      gl.linkProgram(p);
      if (!gl.getProgramParameter(p, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(p));
      this.program = p;
      this.loc = {};
      for (const a of ["a_pos", "a_angle", "a_slot", "a_rgb", "a_flags", "a_size"]) this.loc[a] = gl.getAttribLocation(p, a);
      for (const u of ["u_matrix", "u_offset", "u_px", "u_bearing", "u_atlas", "u_slots", "u_sel"]) this.loc[u] = gl.getUniformLocation(p, u);
      this.buffer = gl.createBuffer();
      this.texture = gl.createTexture();
      gl.bindTexture(gl.TEXTURE_2D, this.texture);
      gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, atlas());
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    }
    /** data: Float32Array of n × STRIDE values (see fill() in app.js) */
    setData(data, n) {
      this.data = data;
      this.n = n;
      this.version++;
      if (this.map) this.map.triggerRepaint();
    }
    render(gl, args) {
      if (!this.n) return;
      const matrix = args && args.defaultProjectionData ? args.defaultProjectionData.mainMatrix
        : (args && args.modelViewProjectionMatrix) || args;
      gl.useProgram(this.program);
      gl.bindBuffer(gl.ARRAY_BUFFER, this.buffer);
      if (this.uploaded !== this.version) {
        gl.bufferData(gl.ARRAY_BUFFER, this.data.subarray(0, this.n * STRIDE), gl.DYNAMIC_DRAW);
        this.uploaded = this.version;
      }
      const B = 4 * STRIDE;
      const attr = (name, size, offset) => {
        const l = this.loc[name];
        if (l < 0) return;
        gl.enableVertexAttribArray(l);
        gl.vertexAttribPointer(l, size, gl.FLOAT, false, B, offset * 4);
      };
      attr("a_pos", 2, 0); attr("a_angle", 1, 2); attr("a_slot", 1, 3); attr("a_rgb", 3, 4);
      attr("a_flags", 1, 7); attr("a_size", 1, 8);
      const z = this.map.getZoom();
      // small at world scale (20,000 sprites overlap anyway; each costs its pixels in the fragment shader)
      const px = (z < 2.5 ? 10 : z < 4 ? 13 : z < 5.5 ? 17 : z < 7 ? 22 : z < 10 ? 28 : 32) * (window.devicePixelRatio || 1);
      gl.uniformMatrix4fv(this.loc.u_matrix, false, matrix);
      gl.uniform1f(this.loc.u_px, px);
      gl.uniform1f(this.loc.u_bearing, (this.map.getBearing() * Math.PI) / 180);
      gl.uniform1f(this.loc.u_slots, SHAPES.length);
      gl.uniform3fv(this.loc.u_sel, this.selectedColour);
      gl.activeTexture(gl.TEXTURE0);
      gl.bindTexture(gl.TEXTURE_2D, this.texture);
      gl.uniform1i(this.loc.u_atlas, 0);
      gl.enable(gl.BLEND);
      gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
      // the world copies on each side, when the view shows them
      const b = this.map.getBounds();
      const copies = [0];
      if (b.getWest() < -180) copies.push(-1);
      if (b.getEast() > 180) copies.push(1);
      for (const off of copies) {
        gl.uniform1f(this.loc.u_offset, off);
        gl.drawArrays(gl.POINTS, 0, this.n);
      }
      for (const name of ["a_pos", "a_angle", "a_slot", "a_rgb", "a_flags", "a_size"]) {
        if (this.loc[name] >= 0) gl.disableVertexAttribArray(this.loc[name]);
      }
      this.frames++;
    }
  };
  TW.STRIDE = STRIDE;
  TW.SLOT = SLOT;
})();
