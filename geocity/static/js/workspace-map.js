// The map of the workspace queue: the same basemap, tile renderer and symbols as the resident
// map (basemap.js, map-tiles.js, map-styles.js), fed with the queue's filters; the tickets of
// the current page are outlined and link to their ticket pages.

import { addBasemap, labelZoomClass } from "./basemap.js";
import { VectorTiles } from "./map-tiles.js";
import { reportStyle } from "./map-styles.js";

function start() {
  const el = document.getElementById("queue-map");
  const cfgEl = document.getElementById("queue-map-config");
  if (!el || !cfgEl || !window.L) return;
  const cfg = JSON.parse(cfgEl.textContent);
  const map = L.map(el, { zoomControl: true }).setView(cfg.center, cfg.zoom);
  addBasemap(map, { basemap: { url: cfg.basemap, attribution: cfg.attribution } });
  labelZoomClass(map);
  const ticketUrl = (n) => cfg.ticket_url.replace("/0/", `/${n}/`);

  const tiles = new VectorTiles({
    zIndex: 5,
    sources: [{ name: "reports", layer: "reports", url: cfg.tiles, style: reportStyle,
                interactive: true }],
  }).addTo(map);
  map.on("click", (e) => {
    const hit = tiles.featuresAt(e.latlng).find((h) => h.feature.properties.id !== undefined);
    if (!hit) return;
    const id = hit.feature.properties.id;
    const a = document.createElement("a");
    a.href = ticketUrl(id);
    a.textContent = `#${id}`;
    L.popup().setLatLng(e.latlng).setContent(a).openOn(map);
  });

  const page = L.featureGroup();
  for (const p of cfg.points) {
    const marker = L.circleMarker([p.lat, p.lon], {
      radius: 11, weight: 3, color: p.overdue ? "#1b1f24" : "#0057b7", fill: false,
    });
    const a = document.createElement("a");
    a.href = ticketUrl(p.n);
    a.textContent = p.label;
    marker.bindPopup(a);
    marker.bindTooltip(`#${p.n}`);
    marker.addTo(page);
  }
  page.addTo(map);
  if (cfg.points.length) map.fitBounds(page.getBounds().pad(0.25), { maxZoom: 16 });

  // Hovering a row outlines its ticket on the map.
  document.querySelectorAll(".queue-table tr[data-number]").forEach((row) => {
    row.addEventListener("mouseenter", () => {
      page.eachLayer((m) => {
        const on = m.getTooltip()?.getContent() === `#${row.dataset.number}`;
        m.setStyle({ weight: on ? 5 : 3 });
        if (on) m.bringToFront();
      });
    });
  });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
