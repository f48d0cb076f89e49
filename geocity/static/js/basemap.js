// The basemap: BASEMAP_URL when configured and reachable; otherwise the city's own: the
// OpenStreetMap basemap from this server's vector tiles (/tiles/basemap/, imported with
// `manage.py import_osm`: streets labelled in Ukrainian, buildings, water, parks, railways)
// over the service area, with the districts and main networks from the city's layers. The
// page is never blank on an isolated municipal network.

import { api, gettext } from "./common.js";
import { VectorTiles } from "./map-tiles.js";

const NETWORK_COLOURS = { water_main: "#2f6fb3", heating_main: "#c4402b", sewer: "#8a6a4f" };

// --- The OpenStreetMap basemap (source layer "basemap": kind, class, name) ---------------------
const PARK_FILL = { forest: "#add19e", grass: "#cdebb0", cemetery: "#aacbaf" };
const WATER = "#aad3df";
// Street classes: [fill colour, width at z12, z14, z16, z18], casing.
const STREETS = {
  motorway: ["#e892a2", 2.5, 5, 10, 18],
  primary: ["#fcd6a4", 2, 4.5, 9, 16],
  tertiary: ["#ffffff", 1.5, 3.5, 8, 14],
  minor: ["#ffffff", 0.8, 2.5, 6, 12],
  service: ["#ffffff", 0.5, 1.2, 3, 6],
};
const STREET_CASING = "#c2b8ae";
// From which zoom a street class is labelled.
const LABEL_ZOOM = { motorway: 13, primary: 13, tertiary: 14, minor: 14, service: 16, path: 17 };
const LABEL_RANK = { motorway: 5, primary: 4, tertiary: 3, minor: 2, service: 1, path: 0 };

function streetWidth(widths, z) {
  const [w12, w14, w16, w18] = widths;
  if (z <= 12) return w12 * Math.pow(1.4, z - 12);
  if (z <= 14) return w12 + (w14 - w12) * (z - 12) / 2;
  if (z <= 16) return w14 + (w16 - w14) * (z - 14) / 2;
  return w16 + (w18 - w16) * Math.min(1, (z - 16) / 2);
}

export function osmStyle(f, z) {
  const p = f.properties;
  switch (p.kind) {
    case "park": return { fill: PARK_FILL[p.class] || "#c8facc", fillOpacity: 1 };
    case "water":
      if (f.type === 3) return { fill: WATER, fillOpacity: 1 };
      return { stroke: WATER, weight: p.class === "river" ? Math.max(2, z - 9) : z >= 14 ? 2 : 1 };
    case "building": return { fill: "#d9d0c9", fillOpacity: 1, stroke: "#c4b6ab", weight: z >= 16 ? 0.8 : 0.4 };
    case "rail": return { stroke: p.class === "tram" ? "#8a8a8a" : "#707070", weight: z >= 15 ? 2 : 1.3,
      dash: z >= 14 && p.class !== "tram" ? [8, 5] : null };
    case "street": {
      if (p.class === "path") return { stroke: "#fa8072", weight: 1.2, dash: [3, 3] };
      const s = STREETS[p.class] || STREETS.minor;
      const w = streetWidth(s.slice(1), z);
      return { stroke: s[0], weight: w, casing: z >= 12 ? { colour: STREET_CASING, weight: w + 1.5 } : null };
    }
    default: return null;
  }
}

export function osmLabel(f, z) {
  const p = f.properties;
  if (p.kind !== "street" || !p.name || z < (LABEL_ZOOM[p.class] ?? 99)) return null;
  return { text: p.name, size: z >= 17 ? 13 : 11.5, colour: "#3b3b3b", rank: LABEL_RANK[p.class] || 0 };
}

function cityStyle(name) {
  if (name === "service-area") return () => ({ fill: "#f2efe9", fillOpacity: 1, stroke: "#57606a", weight: 2 });
  if (name === "districts") return () => ({ stroke: "#8c959f", weight: 1.2, dash: [6, 4] });
  return (f, z) => {
    const kind = f.properties.kind;
    if (kind === "road_segment") {
      const w = z >= 15 ? 6 : z >= 13 ? 3.5 : 2;
      return { stroke: "#ffffff", weight: w, casing: { colour: "#c9ced6", weight: w + 2 } };
    }
    if (NETWORK_COLOURS[kind]) return { stroke: NETWORK_COLOURS[kind], weight: z >= 14 ? 2 : 1.2, opacity: 0.55 };
    return null;
  };
}

export function cityBasemap() {
  const src = (name, url) => ({ name, url, layer: name, style: cityStyle(name) });
  return new VectorTiles({
    zIndex: 0,
    className: "basemap-city",
    sources: [
      src("service-area", "/tiles/service-area/{z}/{x}/{y}.pbf"),
      { name: "basemap", url: "/tiles/basemap/{z}/{x}/{y}.pbf", layer: "basemap", style: osmStyle,
        label: osmLabel },
      src("districts", "/tiles/districts/{z}/{x}/{y}.pbf"),
      // The city's own road segments only where no OSM streets were imported.
      { ...src("infrastructure", "/tiles/infrastructure/{z}/{x}/{y}.pbf"),
        params: { kind: "road_segment,water_main,heating_main" }, unless: "basemap" },
    ],
  });
}

// "© OpenStreetMap contributors" (ODbL) once a basemap tile with OSM data has been drawn.
function creditOsm(map, layer) {
  const credit = gettext("© OpenStreetMap contributors");
  const onData = (e) => {
    const osm = e.results[1];
    if (!osm || !osm.features.length) return;
    map.attributionControl?.addAttribution(credit);
    layer.off("tiledata", onData);
  };
  layer.on("tiledata", onData);
}

// Label point of a (multi)polygon: centroid of its largest outer ring.
function labelPoint(geometry) {
  const polys = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
  let best = null, bestArea = 0;
  for (const poly of polys) {
    const ring = poly[0];
    let a = 0, cx = 0, cy = 0;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const cross = ring[j][0] * ring[i][1] - ring[i][0] * ring[j][1];
      a += cross; cx += (ring[j][0] + ring[i][0]) * cross; cy += (ring[j][1] + ring[i][1]) * cross;
    }
    if (Math.abs(a) > bestArea && a !== 0) { bestArea = Math.abs(a); best = [cy / (3 * a), cx / (3 * a)]; }
  }
  return best;
}

async function addDistrictLabels(map) {
  let data;
  try { data = await api("/api/v1/layers/districts/"); } catch { return; }
  const group = L.layerGroup();
  for (const f of data?.features || []) {
    const at = f.geometry && labelPoint(f.geometry);
    const name = f.properties?.name;
    if (!at || !name) continue;
    const icon = L.divIcon({ className: "district-label", html: "", iconSize: null });
    const m = L.marker(at, { icon, interactive: false, keyboard: false });
    m.on("add", () => {
      const el = m.getElement();
      el.textContent = name;
      el.setAttribute("aria-hidden", "true"); // decoration: the map has a text alternative
    });
    group.addLayer(m);
  }
  group.addTo(map);
}

export function addBasemap(map, cfg) {
  const b = cfg.basemap || {};
  let fallback = null;
  const useFallback = () => {
    if (fallback) return;
    fallback = cityBasemap();
    creditOsm(map, fallback);
    // The street names drawn on screen, on the map element (the browser tests read them).
    fallback.on("tiledata", () => {
      map.getContainer().dataset.basemapLabels = fallback.drawnLabels().join("|");
    });
    fallback.addTo(map);
    map.getContainer().classList.add("map-fallback");
    map.attributionControl?.addAttribution(b.fallbackAttribution || gettext("Schematic map from the city's layers"));
    if (b.districtLabels !== false) addDistrictLabels(map);
  };
  if (!b.url) { useFallback(); return; }
  let loaded = 0, failed = 0;
  const tiles = L.tileLayer(b.url, { attribution: b.attribution, maxZoom: 19, zIndex: 1 });
  tiles.on("tileload", () => { loaded++; });
  tiles.on("tileerror", () => {
    failed++;
    if (!loaded && failed >= 2) { map.removeLayer(tiles); useFallback(); }
  });
  // A network that drops packets never errors: give the basemap a few seconds.
  setTimeout(() => { if (!loaded) useFallback(); }, 6000);
  tiles.addTo(map);
}

// Show district labels only where they do not clutter (zoom 11-15).
export function labelZoomClass(map) {
  const update = () => {
    const z = map.getZoom();
    map.getContainer().classList.toggle("hide-district-labels", z < 11 || z > 15);
  };
  map.on("zoomend", update);
  update();
}
