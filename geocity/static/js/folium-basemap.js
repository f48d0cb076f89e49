// The city's own basemap under folium maps (the officials' dashboard and its print view):
// folium draws the layers of the page; without a BASEMAP_URL it has no basemap of its own,
// so the OpenStreetMap vector tiles of this server go underneath, as on every other map.

import { addBasemap } from "./basemap.js";

const url = JSON.parse(document.getElementById("basemap-url")?.textContent || '""');

for (const el of document.querySelectorAll(".folium-map")) {
  const map = window[el.id]; // folium declares each map as a global named after its element
  if (!map || !window.L || !(map instanceof L.Map)) continue;
  // With BASEMAP_URL folium has already added it as a tile layer.
  if (!url) addBasemap(map, { basemap: { url: "", districtLabels: false } });
}
