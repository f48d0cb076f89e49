// Vector tiles (/tiles/{layer}/{z}/{x}/{y}.pbf) drawn on canvas by a Leaflet GridLayer.
//
// The choice: a Leaflet GridLayer of our own draws each tile on a canvas; decoding is done by
// @mapbox/vector-tile over pbf (npm, loaded as ES modules through the import map in
// geocity/templates/includes/importmap.html), the decoder every MVT renderer builds on.
// Drawing our own lets symbols overflow the tile edge (no clipped bubbles), label cluster
// bubbles with their counts, hatch hazard zones and answer featuresAt(latlng) for popups.
// One GridLayer may draw several sources into one canvas.
//
// Why not Leaflet.VectorGrid: its last release (1.3.0, 2017) is unmaintained, throws on click
// with Leaflet >= 1.8 (L.DomEvent.fakeStop was removed; VectorGrid issue #274) and cannot
// label cluster bubbles.

import { VectorTile } from "@mapbox/vector-tile";
import { PbfReader } from "pbf";

const PAD = 32; // px a point symbol may overflow its tile
// Tiles that name places (districts) come in the page's language, not the browser's.
const PAGE_LANG = document.documentElement.lang || "uk";

// One source layer of a tile as plain features {id, type, properties, geometry}.
// type: 1 point, 2 line, 3 polygon (rings; drawn with the even-odd rule for holes); geometry:
// parts of Point {x, y} in tile-extent units. The library decodes geometry lazily; drawing and
// hit-testing read it many times, so it is loaded once here.
export function readLayer(buf, name) {
  const layer = new VectorTile(new PbfReader(buf)).layers[name];
  if (!layer) return null;
  const features = [];
  for (let i = 0; i < layer.length; i++) {
    const f = layer.feature(i);
    features.push({ id: f.id, type: f.type, properties: f.properties, geometry: f.loadGeometry() });
  }
  return { name: layer.name, extent: layer.extent, features };
}

function tileUrl(src, coords) {
  const url = src.url.replace("{z}", coords.z).replace("{x}", coords.x).replace("{y}", coords.y);
  const params = typeof src.params === "function" ? src.params() : (src.params || {});
  const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v != null));
  const qs = q.toString();
  return qs ? url + (url.includes("?") ? "&" : "?") + qs : url;
}

const patternCache = new Map();
// Diagonal hatching, for hazard zones: `gap` px apart, lines in `colour`.
export function hatch(ctx, colour, gap, dpr) {
  const key = colour + gap + dpr;
  if (!patternCache.has(key)) {
    const c = document.createElement("canvas");
    const s = Math.round(gap * dpr);
    c.width = c.height = s;
    const g = c.getContext("2d");
    g.strokeStyle = colour;
    g.lineWidth = Math.max(1, dpr);
    g.beginPath(); g.moveTo(0, s); g.lineTo(s, 0); g.moveTo(-1, 1); g.lineTo(1, -1);
    g.moveTo(s - 1, s + 1); g.lineTo(s + 1, s - 1); g.stroke();
    patternCache.set(key, c);
  }
  return ctx.createPattern(patternCache.get(key), "repeat");
}

// A point symbol at (x, y) in canvas pixels. Shared with the legend, so both look the same.
export function drawSymbol(ctx, x, y, st, dpr = 1) {
  const r = (st.radius || 6) * dpr;
  ctx.save();
  ctx.beginPath();
  switch (st.shape) {
    case "diamond":
      ctx.moveTo(x, y - r * 1.25); ctx.lineTo(x + r * 1.25, y); ctx.lineTo(x, y + r * 1.25);
      ctx.lineTo(x - r * 1.25, y); ctx.closePath(); break;
    case "square":
      ctx.rect(x - r, y - r, 2 * r, 2 * r); break;
    case "triangle":
      ctx.moveTo(x, y - r * 1.3); ctx.lineTo(x + r * 1.25, y + r * 0.9);
      ctx.lineTo(x - r * 1.25, y + r * 0.9); ctx.closePath(); break;
    case "star": {
      for (let i = 0; i < 10; i++) {
        const a = Math.PI / 5 * i - Math.PI / 2, rr = i % 2 ? r * 0.5 : r * 1.25;
        ctx[i ? "lineTo" : "moveTo"](x + rr * Math.cos(a), y + rr * Math.sin(a));
      }
      ctx.closePath(); break;
    }
    default:
      ctx.arc(x, y, r, 0, Math.PI * 2);
  }
  if (st.fill) { ctx.globalAlpha = st.fillOpacity ?? 1; ctx.fillStyle = st.fill; ctx.fill(); ctx.globalAlpha = 1; }
  if (st.stroke) { ctx.lineWidth = (st.weight || 1.5) * dpr; ctx.strokeStyle = st.stroke; ctx.stroke(); }
  if (st.ring) {
    ctx.beginPath(); ctx.arc(x, y, r + 3.5 * dpr, 0, Math.PI * 2);
    ctx.lineWidth = 2 * dpr; ctx.strokeStyle = st.ring; ctx.stroke();
  }
  if (st.check) {
    ctx.beginPath(); ctx.moveTo(x - r * 0.5, y); ctx.lineTo(x - r * 0.1, y + r * 0.45);
    ctx.lineTo(x + r * 0.55, y - r * 0.4); ctx.lineWidth = 1.8 * dpr; ctx.strokeStyle = "#fff"; ctx.stroke();
  }
  if (st.label) {
    ctx.fillStyle = st.labelColour || "#fff";
    ctx.font = `700 ${Math.round((st.fontSize || 12) * dpr)}px system-ui, sans-serif`;
    ctx.textAlign = "center"; ctx.textBaseline = "middle";
    ctx.fillText(st.label, x, y + 0.5 * dpr);
  }
  ctx.restore();
}

function tracePath(ctx, parts, k, ox, oy, close) {
  for (const part of parts) {
    part.forEach(({ x, y }, i) => ctx[i ? "lineTo" : "moveTo"](ox + x * k, oy + y * k));
    if (close) ctx.closePath();
  }
}

function drawFeature(ctx, f, st, k, dpr, ox, oy, extent) {
  if (f.type === 1) {
    for (const part of f.geometry) {
      for (const { x, y } of part) {
        // Each tile draws the points it owns; neighbours draw theirs (no double symbols).
        if (x < 0 || y < 0 || x >= extent || y >= extent) continue;
        drawSymbol(ctx, ox + x * k, oy + y * k, st, dpr);
      }
    }
    return;
  }
  ctx.beginPath();
  tracePath(ctx, f.geometry, k, ox, oy, f.type === 3);
  if (f.type === 3 && st.fill) {
    ctx.globalAlpha = st.fillOpacity ?? 0.2;
    ctx.fillStyle = st.fill === "hatch" ? hatch(ctx, st.hatchColour || st.stroke, st.hatchGap || 8, dpr) : st.fill;
    ctx.fill("evenodd");
    ctx.globalAlpha = 1;
  }
  if (st.casing && !st.casingDrawn) {
    ctx.lineWidth = st.casing.weight * dpr; ctx.strokeStyle = st.casing.colour;
    ctx.setLineDash([]); ctx.lineJoin = "round"; ctx.lineCap = "round"; ctx.stroke();
  }
  if (st.stroke) {
    ctx.globalAlpha = st.opacity ?? 1;
    ctx.lineWidth = (st.weight || 1) * dpr;
    ctx.strokeStyle = st.stroke;
    ctx.setLineDash((st.dash || []).map((d) => d * dpr));
    ctx.lineJoin = "round"; ctx.lineCap = "round";
    ctx.stroke();
    ctx.setLineDash([]); ctx.globalAlpha = 1;
  }
}

// Casings of a line, under every line of its source (so crossings show no casing).
function drawCasing(ctx, f, st, k, dpr, ox, oy) {
  ctx.beginPath();
  tracePath(ctx, f.geometry, k, ox, oy, false);
  ctx.lineWidth = st.casing.weight * dpr; ctx.strokeStyle = st.casing.colour;
  ctx.setLineDash([]); ctx.lineJoin = "round"; ctx.lineCap = "round"; ctx.stroke();
}

// --- Labels along lines (street names) ------------------------------------------------------
// A label follows its line letter by letter, centred on the longest part of the line in the
// tile, reads left to right, and is left out where it does not fit or would overlap another.
function pathPoints(part, k, ox, oy) { return part.map(({ x, y }) => [ox + x * k, oy + y * k]); }

function pathLength(pts) {
  let n = 0;
  for (let i = 1; i < pts.length; i++) n += Math.hypot(pts[i][0] - pts[i - 1][0], pts[i][1] - pts[i - 1][1]);
  return n;
}

// Point and angle at distance d along pts.
function along(pts, d) {
  for (let i = 1; i < pts.length; i++) {
    const [ax, ay] = pts[i - 1], [bx, by] = pts[i];
    const seg = Math.hypot(bx - ax, by - ay);
    if (d <= seg || i === pts.length - 1) {
      const t = seg ? Math.min(1, d / seg) : 0;
      return [ax + (bx - ax) * t, ay + (by - ay) * t, Math.atan2(by - ay, bx - ax)];
    }
    d -= seg;
  }
  return [pts[0][0], pts[0][1], 0];
}

function overlaps(box, placed) {
  return placed.some((b) => box[0] < b[2] && box[2] > b[0] && box[1] < b[3] && box[3] > b[1]);
}

function drawLineLabel(ctx, f, lab, k, dpr, o, size, placed) {
  let best = null, bestLen = 0;
  for (const part of f.geometry) {
    const pts = pathPoints(part, k, o, o);
    const len = pathLength(pts);
    if (len > bestLen) { best = pts; bestLen = len; }
  }
  if (!best) return false;
  ctx.font = `${lab.weight || 500} ${Math.round((lab.size || 12) * dpr)}px system-ui, sans-serif`;
  const width = ctx.measureText(lab.text).width;
  if (bestLen < width + 24 * dpr) return false;
  const mid = along(best, bestLen / 2);
  // Only the tile that holds the label's middle draws it.
  if (mid[0] < o || mid[1] < o || mid[0] >= o + size * dpr || mid[1] >= o + size * dpr) return false;
  const start = along(best, (bestLen - width) / 2), end = along(best, (bestLen + width) / 2);
  if (end[0] < start[0]) best = best.slice().reverse();
  // Too curved to read: the label's ends more than 40 degrees off its chord.
  const chord = Math.atan2(end[1] - start[1], end[0] - start[0]);
  for (const d of [0.1, 0.5, 0.9]) {
    const a = along(best, (bestLen - width) / 2 + width * d)[2];
    const diff = Math.abs(Math.atan2(Math.sin(a - chord), Math.cos(a - chord)));
    if (diff > 0.7 && diff < Math.PI - 0.7) return false;
  }
  const pad = 4 * dpr, h = (lab.size || 12) * dpr;
  const box = [Math.min(start[0], end[0]) - pad - h / 2, Math.min(start[1], end[1]) - pad - h / 2,
    Math.max(start[0], end[0]) + pad + h / 2, Math.max(start[1], end[1]) + pad + h / 2];
  if (overlaps(box, placed)) return false;
  placed.push(box);
  ctx.save();
  ctx.textAlign = "center"; ctx.textBaseline = "middle";
  ctx.lineJoin = "round"; ctx.lineWidth = 3 * dpr; ctx.strokeStyle = lab.halo || "#fff";
  ctx.fillStyle = lab.colour || "#333";
  let d = (bestLen - width) / 2;
  for (const ch of lab.text) {
    const w = ctx.measureText(ch).width;
    const [x, y, a] = along(best, d + w / 2);
    ctx.save(); ctx.translate(x, y); ctx.rotate(a);
    ctx.strokeText(ch, 0, 0); ctx.fillText(ch, 0, 0);
    ctx.restore();
    d += w;
  }
  ctx.restore();
  return true;
}

function segDist(px, py, ax, ay, bx, by) {
  const dx = bx - ax, dy = by - ay, len = dx * dx + dy * dy;
  const t = len ? Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len)) : 0;
  return Math.hypot(px - ax - t * dx, py - ay - t * dy);
}

// Distance in px from (px, py) to the feature (0 inside a polygon), or Infinity.
function hitDistance(f, st, px, py, k, tol) {
  if (f.type === 1) {
    let best = Infinity;
    for (const part of f.geometry) for (const { x, y } of part) {
      const d = Math.hypot(px - x * k, py - y * k);
      if (d <= (st.radius || 6) * 1.3 + tol) best = Math.min(best, d);
    }
    return best;
  }
  if (f.type === 2) {
    let best = Infinity;
    for (const part of f.geometry) for (let i = 1; i < part.length; i++) {
      best = Math.min(best, segDist(px, py, part[i - 1].x * k, part[i - 1].y * k, part[i].x * k, part[i].y * k));
    }
    return best <= (st.weight || 1) / 2 + tol ? best : Infinity;
  }
  let inside = false;
  for (const ring of f.geometry) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const xi = ring[i].x * k, yi = ring[i].y * k, xj = ring[j].x * k, yj = ring[j].y * k;
      if ((yi > py) !== (yj > py) && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
    }
  }
  return inside ? 0 : Infinity;
}

// options.sources: [{name, url, layer, params, style(feature, zoom) -> style|null,
//   label(feature, zoom) -> {text, size, colour, halo}|null (lines), unless: name of a source
//   whose features make this one redundant in a tile, transform(layer, coords) -> layer,
//   minZoom, maxZoom, interactive}]. Events: "tiledata" {coords, results}, "sourceerror".
export const VectorTiles = (window.L ? L.GridLayer.extend({
  options: { sources: [], updateWhenZooming: false, keepBuffer: 1 },

  initialize(options) {
    L.setOptions(this, options);
    this._data = new Map();
    this._aborts = new Map();
    this._labels = new Map();
    this.on("tileunload", (e) => {
      const key = this._tileCoordsToKey(e.coords);
      this._aborts.get(key)?.abort();
      this._aborts.delete(key);
      this._data.delete(key);
      this._labels.delete(key);
    });
  },

  _initTile(tile) {
    L.GridLayer.prototype._initTile.call(this, tile);
    const size = this.getTileSize();
    tile.style.width = size.x + 2 * PAD + "px";
    tile.style.height = size.y + 2 * PAD + "px";
    tile.style.margin = -PAD + "px 0 0 " + -PAD + "px";
  },

  createTile(coords, done) {
    const canvas = document.createElement("canvas");
    const key = this._tileCoordsToKey(coords);
    const ctrl = new AbortController();
    this._aborts.set(key, ctrl);
    Promise.all(this.options.sources.map((src) => this._fetch(src, coords, ctrl.signal)))
      .then((results) => {
        if (ctrl.signal.aborted) return;
        this._data.set(key, { coords, results });
        this._draw(canvas, coords, results);
        this.fire("tiledata", { coords, results });
        done(null, canvas);
      });
    return canvas;
  },

  _fetch(src, coords, signal) {
    if (coords.z < (src.minZoom ?? 0) || coords.z > (src.maxZoom ?? 30) || src.enabled === false) {
      return Promise.resolve(null);
    }
    return fetch(tileUrl(src, coords), { signal, credentials: "same-origin",
      headers: { "Accept-Language": PAGE_LANG } })
      .then((r) => {
        if (r.status === 204) return null;
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.arrayBuffer();
      })
      .then((buf) => (buf && buf.byteLength ? readLayer(buf, src.layer || src.name) : null))
      .then((layer) => (layer && src.transform ? src.transform(layer, coords) : layer))
      .catch((err) => {
        if (err.name !== "AbortError") this.fire("sourceerror", { source: src, error: err });
        return null;
      });
  },

  _draw(canvas, coords, results) {
    const size = this.getTileSize();
    const dpr = Math.min(window.devicePixelRatio || 1, 2);
    canvas.width = (size.x + 2 * PAD) * dpr;
    canvas.height = (size.y + 2 * PAD) * dpr;
    const ctx = canvas.getContext("2d");
    const o = PAD * dpr;
    const sources = this.options.sources;
    const placed = [];
    const labels = [];
    results.forEach((layer, i) => {
      if (!layer) return;
      const src = sources[i];
      if (src.unless) {
        const other = results[sources.findIndex((s) => s.name === src.unless)];
        if (other && other.features.length) return;
      }
      const k = (size.x * dpr) / layer.extent;
      const styled = [];
      for (const f of layer.features) {
        const st = src.style(f, coords.z);
        if (st) styled.push([f, st]);
      }
      ctx.save();
      ctx.beginPath(); ctx.rect(o, o, size.x * dpr, size.y * dpr); ctx.clip();
      for (const [f, st] of styled) if (f.type === 2 && st.casing) drawCasing(ctx, f, st, k, dpr, o, o);
      for (const [f, st] of styled) {
        if (f.type !== 1) drawFeature(ctx, f, f.type === 2 && st.casing ? { ...st, casingDrawn: true } : st, k, dpr, o, o, layer.extent);
      }
      ctx.restore();
      for (const [f, st] of styled) if (f.type === 1) drawFeature(ctx, f, st, k, dpr, o, o, layer.extent);
      if (src.label) {
        for (const [f] of styled) {
          const lab = f.type === 2 && src.label(f, coords.z);
          if (lab && lab.text) labels.push([f, lab, k, lab.rank || 0]);
        }
      }
    });
    // Labels last, most important first; one per name and tile.
    const named = new Set();
    labels.sort((a, b) => b[3] - a[3]);
    for (const [f, lab, k] of labels) {
      if (named.has(lab.text)) continue;
      if (drawLineLabel(ctx, f, lab, k, dpr, o, size.x, placed)) named.add(lab.text);
    }
    this._labels.set(this._tileCoordsToKey(coords), [...named]);
  },

  // Labels drawn in the tiles on screen (tests and screen-reader summaries read them).
  drawnLabels() {
    const out = new Set();
    for (const [key, names] of this._labels) {
      if (this._data.get(key)?.coords.z !== this._tileZoom) continue; // tiles of this zoom only
      for (const n of names) out.add(n);
    }
    return [...out];
  },

  // Features under a map position, nearest first: [{feature, source, distance}].
  featuresAt(latlng, tol = 6) {
    const z = this._tileZoom;
    if (z === undefined || !this._map) return [];
    const p = this._map.project(latlng, z);
    const size = this.getTileSize();
    const hits = [];
    for (const { coords, results } of this._data.values()) {
      if (coords.z !== z) continue;
      const px = p.x - coords.x * size.x, py = p.y - coords.y * size.y;
      if (px < -PAD || py < -PAD || px > size.x + PAD || py > size.y + PAD) continue;
      results.forEach((layer, i) => {
        const src = this.options.sources[i];
        if (!layer || !src.interactive) return;
        const k = size.x / layer.extent;
        for (const f of layer.features) {
          const st = src.style(f, z);
          if (!st) continue;
          const d = hitDistance(f, st, px, py, k, tol);
          if (d !== Infinity) hits.push({ feature: f, source: src.name, distance: d, type: f.type });
        }
      });
    }
    // Points before lines before areas; then nearest.
    return hits.sort((a, b) => a.type - b.type || a.distance - b.distance);
  },

  // Features of loaded tiles (for legends: "is any hazard zone demo data?").
  loadedFeatures(sourceName) {
    const out = [];
    for (const { results } of this._data.values()) {
      results.forEach((layer, i) => {
        if (layer && this.options.sources[i].name === sourceName) out.push(...layer.features);
      });
    }
    return out;
  },
}) : null);
