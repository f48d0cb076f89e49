// The basemap: BASEMAP_URL when configured and reachable; otherwise a schematic map drawn
// from the city's own layers (service area, districts, roads and main networks), so the
// page is never blank on an isolated municipal network.

import { api, gettext } from "./common.js";
import { VectorTiles } from "./map-tiles.js";

const NETWORK_COLOURS = { water_main: "#2f6fb3", heating_main: "#c4402b", sewer: "#8a6a4f" };

function cityStyle(name) {
  if (name === "service-area") return () => ({ fill: "#fbfaf5", fillOpacity: 1, stroke: "#57606a", weight: 2 });
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
      src("districts", "/tiles/districts/{z}/{x}/{y}.pbf"),
      { ...src("infrastructure", "/tiles/infrastructure/{z}/{x}/{y}.pbf"),
        params: { kind: "road_segment,water_main,heating_main" } },
    ],
  });
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
    fallback = cityBasemap().addTo(map);
    map.getContainer().classList.add("map-fallback");
    map.attributionControl.addAttribution(b.fallbackAttribution || gettext("Schematic map from the city's layers"));
    addDistrictLabels(map);
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
