// How each map layer looks. The legend swatches are drawn by the same code as the map.

import { GROUP_COLOUR, STATUS_GROUP } from "./common.js";
import { drawSymbol, hatch } from "./map-tiles.js";

const STATUS_SHAPE = {
  open: { shape: "circle", radius: 7 },
  progress: { shape: "diamond", radius: 6 },
  done: { shape: "circle", radius: 7, check: true },
  other: { shape: "square", radius: 5 },
};

export function statusSymbol(group, { overdue = false, hazard = false } = {}) {
  if (hazard) return { shape: "triangle", radius: 8, fill: "#d4580a", stroke: "#fff", weight: 1.5, label: "!", fontSize: 10 };
  return { ...STATUS_SHAPE[group] || STATUS_SHAPE.other, fill: GROUP_COLOUR[group] || GROUP_COLOUR.other,
    stroke: "#fff", weight: 1.5, ring: overdue ? "#1b1f24" : null };
}

function shortCount(n) {
  if (n >= 10000) return Math.round(n / 1000) + "k";
  if (n >= 1000) return (Math.round(n / 100) / 10) + "k";
  return String(n);
}

export function clusterSymbol(n) {
  const r = n < 10 ? 11 : n < 100 ? 14 : n < 1000 ? 17 : 21;
  return { shape: "circle", radius: r, fill: "#0057b7", fillOpacity: 0.88, stroke: "#fff", weight: 2,
    label: shortCount(n), fontSize: n >= 1000 ? 10.5 : 12 };
}

// The server aggregates reports below z13 into small cells; merge them into bins of `px`
// screen pixels per tile so bubbles never overlap, keeping count-weighted centres.
export function mergeCells(layer, px = 64) {
  const cell = (layer.extent * px) / 256;
  const bins = new Map();
  const points = [];
  for (const f of layer.features) {
    if (f.properties.count === undefined || f.type !== 1) { points.push(f); continue; }
    for (const part of f.geometry) for (const { x, y } of part) {
      const key = Math.floor(x / cell) + ":" + Math.floor(y / cell);
      const n = Number(f.properties.count) || 0, open = Number(f.properties.open) || 0;
      const bin = bins.get(key) || { n: 0, open: 0, x: 0, y: 0 };
      bin.n += n; bin.open += open; bin.x += x * n; bin.y += y * n;
      bins.set(key, bin);
    }
  }
  for (const b of bins.values()) {
    if (!b.n) continue;
    points.push({ id: undefined, type: 1, properties: { count: b.n, open: b.open },
      geometry: [[{ x: Math.round(b.x / b.n), y: Math.round(b.y / b.n) }]] });
  }
  return { ...layer, features: points };
}

export function reportStyle(f) {
  const p = f.properties;
  if (p.count !== undefined) return clusterSymbol(Number(p.count) || 0);
  return statusSymbol(STATUS_GROUP[p.status] || "other", { overdue: !!p.overdue, hazard: !!p.hazard });
}

export const ZONE = {
  CHA: { stroke: "#b42318", weight: 2.5, fill: "hatch", hatchColour: "#b42318", hatchGap: 6, fillOpacity: 0.6 },
  SHA: { stroke: "#d4580a", weight: 2, dash: [7, 4], fill: "hatch", hatchColour: "#d4580a", hatchGap: 11, fillOpacity: 0.5 },
  cleared: { stroke: "#57606a", weight: 1.5, dash: [2, 4] },
};
export function zoneStyle(f) {
  const p = f.properties;
  if (p.status === "closed" || (p.kind !== "SHA" && p.kind !== "CHA")) return ZONE.cleared;
  return ZONE[p.kind];
}

export const INFRA = {
  shelter: { shape: "square", radius: 6, fill: "#0057b7", stroke: "#fff", weight: 2 },
  invincibility_point: { shape: "star", radius: 7, fill: "#ffd700", stroke: "#1b1f24", weight: 1.2 },
  streetlight: { shape: "circle", radius: 3.5, fill: "#f2c800", stroke: "#7d4e00", weight: 1 },
  traffic_light: { shape: "square", radius: 3.5, fill: "#24292f", stroke: "#fff", weight: 1 },
  substation: { shape: "square", radius: 4.5, fill: "#8250df", stroke: "#fff", weight: 1 },
  water_main: { stroke: "#2f6fb3", weight: 2.5 },
  heating_main: { stroke: "#c4402b", weight: 2.5 },
  sewer: { stroke: "#8a6a4f", weight: 2 },
  other: { shape: "circle", radius: 4, fill: "#57606a", stroke: "#fff", weight: 1 },
};
export function infraStyle(f, z) {
  const st = INFRA[f.properties.kind] || INFRA.other;
  if (f.type === 1 && (f.properties.kind === "streetlight" || f.properties.kind === "traffic_light") && z < 15) {
    return { ...st, radius: 2.5, weight: 0.5 };
  }
  if (f.type === 3) return { stroke: st.stroke || st.fill, weight: 1.5, fill: st.fill || st.stroke, fillOpacity: 0.15 };
  return st;
}

export const RESPONSIBILITY = { stroke: "#8250df", weight: 1.5, fill: "#8250df", fillOpacity: 0.06 };

// Legend swatches: <span class="swatch" data-swatch="open"> gets a small canvas.
const SWATCHES = {
  open: () => statusSymbol("open"), progress: () => statusSymbol("progress"),
  done: () => statusSymbol("done"), other: () => statusSymbol("other"),
  overdue: () => ({ ...statusSymbol("open", { overdue: true }), radius: 5 }),
  hazard: () => statusSymbol("open", { hazard: true }),
  cluster: () => ({ ...clusterSymbol(24), radius: 10, fontSize: 9.5 }),
  shelter: () => INFRA.shelter, invincibility_point: () => INFRA.invincibility_point,
  streetlight: () => ({ ...INFRA.streetlight, radius: 5 }), traffic_light: () => ({ ...INFRA.traffic_light, radius: 5 }),
};
const AREAS = { sha: ZONE.SHA, cha: ZONE.CHA, cleared: ZONE.cleared, responsibility: RESPONSIBILITY,
  heating_main: INFRA.heating_main };

export function paintSwatches(root = document) {
  const dpr = Math.min(window.devicePixelRatio || 1, 2);
  for (const el of root.querySelectorAll("[data-swatch]")) {
    const name = el.dataset.swatch, size = 24;
    const c = document.createElement("canvas");
    c.width = c.height = size * dpr;
    c.style.width = c.style.height = size + "px";
    c.setAttribute("aria-hidden", "true");
    const ctx = c.getContext("2d");
    if (SWATCHES[name]) drawSymbol(ctx, size * dpr / 2, size * dpr / 2, SWATCHES[name](), dpr);
    else if (AREAS[name]) {
      const st = AREAS[name];
      if (name === "heating_main") {
        ctx.beginPath(); ctx.moveTo(2 * dpr, 16 * dpr); ctx.lineTo(22 * dpr, 8 * dpr);
        ctx.strokeStyle = st.stroke; ctx.lineWidth = st.weight * dpr; ctx.stroke();
        ctx.beginPath(); ctx.moveTo(2 * dpr, 20 * dpr); ctx.lineTo(22 * dpr, 12 * dpr);
        ctx.strokeStyle = INFRA.water_main.stroke; ctx.stroke();
      } else {
        ctx.beginPath(); ctx.rect(3 * dpr, 3 * dpr, 18 * dpr, 18 * dpr);
        if (st.fill) {
          ctx.globalAlpha = st.fillOpacity ?? 0.3;
          ctx.fillStyle = st.fill === "hatch" ? hatch(ctx, st.hatchColour, st.hatchGap / 2 + 2, dpr) : st.fill;
          ctx.fill(); ctx.globalAlpha = 1;
        }
        ctx.setLineDash((st.dash || []).map((d) => d * dpr * 0.6));
        ctx.strokeStyle = st.stroke; ctx.lineWidth = st.weight * dpr; ctx.stroke();
      }
    }
    el.replaceChildren(c);
  }
}
