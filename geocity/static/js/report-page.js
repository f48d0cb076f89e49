// The small map on a report page: the pin, or for a hazard report shown to the public only
// an approximate area (the server already sends the generalised point).

import { config } from "./common.js";
import { addBasemap } from "./basemap.js";

const cfg = config("report-page-config");
const el = document.getElementById("report-map");
if (el && window.L) {
  const map = L.map(el, { zoomControl: false, scrollWheelZoom: false, maxZoom: 19 })
    .setView(cfg.point, cfg.generalised ? 14 : 16);
  L.control.zoom({ zoomInTitle: cfg.zoomIn, zoomOutTitle: cfg.zoomOut }).addTo(map);
  addBasemap(map, cfg);
  if (cfg.generalised) {
    L.circle(cfg.point, { radius: cfg.cellM * 0.71, color: "#d4580a", weight: 2, dashArray: "6 4",
      fillColor: "#d4580a", fillOpacity: 0.12, interactive: false }).addTo(map);
  } else {
    L.marker(cfg.point, {
      interactive: false, keyboard: false,
      icon: L.divIcon({
        className: "pin-icon", iconSize: [36, 48], iconAnchor: [18, 46],
        html: '<svg viewBox="0 0 36 48" width="36" height="48" aria-hidden="true"><path d="M18 1C8.6 1 1 8.6 1 18c0 12.4 17 29 17 29s17-16.6 17-29C35 8.6 27.4 1 18 1Z" fill="#0057b7" stroke="#fff" stroke-width="2"/><circle cx="18" cy="18" r="6.5" fill="#ffd700"/></svg>',
      }),
    }).addTo(map);
  }
}
