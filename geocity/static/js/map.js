// The city map (/): reports (server-clustered tiles, points from z13), heatmap, mine-hazard
// zones, infrastructure and, for staff, department areas. Filters, legend, a text list of
// the reports in view, popups with a report card. Everything comes from this server.

import { ago, api, config, debounce, gettext, h, interpolate, STATUS_GROUP } from "./common.js";
import { addBasemap, labelZoomClass } from "./basemap.js";
import { addressCombobox } from "./combobox.js";
import { VectorTiles } from "./map-tiles.js";
import { infraStyle, mergeCells, paintSwatches, reportStyle, RESPONSIBILITY, zoneStyle } from "./map-styles.js";

const cfg = config("map-config");
const $ = (id) => document.getElementById(id);
const form = $("map-filters");
const say = (text) => { $("map-status").textContent = text; };
const INFRA_KINDS = { networks: ["water_main", "heating_main", "sewer"] };

// --- State in the URL: ?category=&status=&period=&layers=  #zoom/lat/lon ---------------------
const query = new URLSearchParams(location.search);
const state = {
  category: query.get("category") || "",
  status: query.get("status") || "",
  period: query.get("period") || "",
  layers: new Set((query.get("layers") || "reports,zones").split(",").filter(Boolean)),
};
function initialView() {
  const m = location.hash.match(/^#(\d+)\/(-?[\d.]+)\/(-?[\d.]+)$/);
  return m ? { zoom: +m[1], center: [+m[2], +m[3]] } : { zoom: cfg.zoom, center: cfg.center };
}
function saveState() {
  const q = new URLSearchParams();
  for (const k of ["category", "status", "period"]) if (state[k]) q.set(k, state[k]);
  const layers = [...state.layers].sort().join(",");
  if (layers !== "reports,zones") q.set("layers", layers);
  const c = map.getCenter();
  const hash = `#${map.getZoom()}/${c.lat.toFixed(5)}/${c.lng.toFixed(5)}`;
  history.replaceState(null, "", (q.toString() ? "?" + q : location.pathname) + hash);
  const cta = $("report-cta");
  cta.href = `${cta.pathname}?clat=${c.lat.toFixed(5)}&clon=${c.lng.toFixed(5)}&z=${map.getZoom()}`;
}

function sinceDate() {
  if (!state.period) return "";
  return new Date(Date.now() - Number(state.period) * 86400000).toISOString().slice(0, 10);
}
function tileFilters() {
  return { category: state.category, status: state.status ? cfg.statusGroups[state.status].join(",") : "",
    since: sinceDate() };
}

// --- Map and layers ------------------------------------------------------------------------
const view = initialView();
const map = L.map("map", { zoomControl: false, minZoom: 8, maxZoom: 19, keyboard: true })
  .setView(view.center, view.zoom);
L.control.zoom({ position: "bottomright", zoomInTitle: gettext("Zoom in"),
  zoomOutTitle: gettext("Zoom out") }).addTo(map);
addBasemap(map, cfg);
labelZoomClass(map);

const reports = new VectorTiles({
  zIndex: 6,
  sources: [{ name: "reports", url: "/tiles/reports/{z}/{x}/{y}.pbf", params: tileFilters,
    style: reportStyle, transform: (layer) => mergeCells(layer), interactive: true }],
});
const zones = new VectorTiles({
  zIndex: 4,
  sources: [{ name: "hazard-zones", url: "/tiles/hazard-zones/{z}/{x}/{y}.pbf", style: zoneStyle,
    interactive: true }],
});
const infra = new VectorTiles({
  zIndex: 5,
  sources: [{ name: "infrastructure", url: "/tiles/infrastructure/{z}/{x}/{y}.pbf",
    params: () => ({ kind: infraKinds().join(",") }), style: infraStyle, interactive: true }],
});
const responsibility = new VectorTiles({
  zIndex: 2,
  sources: [{ name: "responsibility", url: "/tiles/responsibility/{z}/{x}/{y}.pbf",
    style: () => RESPONSIBILITY, interactive: true }],
});
const heatUrl = () => "/tiles/heat/{z}/{x}/{y}.png?" + new URLSearchParams(
  Object.entries({ ...tileFilters(), weight: "open" }).filter(([, v]) => v));
const heat = L.tileLayer(heatUrl(), { zIndex: 3, opacity: 0.8, maxZoom: 19, className: "heat-tiles" });

function infraKinds() {
  const kinds = [];
  for (const name of ["shelter", "invincibility_point", "streetlight", "traffic_light", "networks"]) {
    if (state.layers.has(name)) kinds.push(...(INFRA_KINDS[name] || [name]));
  }
  return kinds;
}

function toggle(layer, on) {
  if (on && !map.hasLayer(layer)) layer.addTo(map);
  if (!on && map.hasLayer(layer)) map.removeLayer(layer);
}
function applyLayers() {
  toggle(reports, state.layers.has("reports"));
  toggle(heat, state.layers.has("heat"));
  toggle(zones, state.layers.has("zones"));
  toggle(responsibility, cfg.staff && state.layers.has("responsibility"));
  const kinds = infraKinds();
  toggle(infra, kinds.length > 0);
  if (kinds.length && map.hasLayer(infra)) infra.redraw();
}
function applyFilters({ redraw = true } = {}) {
  if (redraw && map.hasLayer(reports)) reports.redraw();
  if (redraw) heat.setUrl(heatUrl());
  const n = ["category", "status", "period"].filter((k) => state[k]).length;
  $("filter-count").hidden = !n;
  $("filter-count").textContent = n;
  refreshList();
  saveState();
}

// "Fictional demo data" badge when a visible hazard zone is demo data.
zones.on("tiledata", () => {
  const demo = zones.loadedFeatures("hazard-zones").some((f) => f.properties.is_demo);
  $("demo-flag").hidden = !demo || !map.hasLayer(zones);
  $("legend-demo").hidden = !demo;
});
zones.on("remove", () => { $("demo-flag").hidden = true; });

// --- Filters form ---------------------------------------------------------------------------
form.category.value = state.category;
form.status.value = state.status;
form.period.value = state.period;
for (const box of form.querySelectorAll("input[name=layer]")) box.checked = state.layers.has(box.value);
form.addEventListener("submit", (e) => e.preventDefault());
form.addEventListener("change", (e) => {
  const t = e.target;
  if (t.name === "layer") {
    if (t.checked) state.layers.add(t.value); else state.layers.delete(t.value);
    applyLayers(); saveState();
    return;
  }
  if (["category", "status", "period"].includes(t.name)) { state[t.name] = t.value; applyFilters(); }
});
$("f-reset").addEventListener("click", () => {
  state.category = state.status = state.period = "";
  form.category.value = form.status.value = form.period.value = "";
  applyFilters();
  say(gettext("Filters reset."));
});

// --- Panels (bottom sheets on phones, side panels on desktops) --------------------------------
function openPanel(id, open) {
  const panel = $(id);
  const button = document.querySelector(`[aria-controls="${id}"].tool`);
  for (const other of document.querySelectorAll(".panel")) {
    if (other.id !== id && !other.hidden) openPanel(other.id, false);
  }
  panel.hidden = !open;
  button?.setAttribute("aria-expanded", String(open));
  document.body.classList.toggle("panel-open", !!document.querySelector(".panel:not([hidden])"));
  if (open) {
    const title = panel.querySelector("h2");
    title.setAttribute("tabindex", "-1");
    title.focus();
  } else button?.focus();
  if (id === "panel-list" && open) refreshList();
}
for (const button of document.querySelectorAll(".tool[aria-controls]")) {
  button.addEventListener("click", () => openPanel(button.getAttribute("aria-controls"),
    button.getAttribute("aria-expanded") !== "true"));
}
for (const close of document.querySelectorAll("[data-close]")) {
  close.addEventListener("click", () => openPanel(close.dataset.close, false));
}
document.addEventListener("keydown", (e) => {
  const open = document.querySelector(".panel:not([hidden])");
  if (e.key === "Escape" && open) openPanel(open.id, false);
});

// --- A text list of the reports in view (for keyboards and screen readers) -------------------
let listCtrl = null;
async function refreshList() {
  if ($("panel-list").hidden) return;
  const b = map.getBounds();
  const f = tileFilters();
  const q = new URLSearchParams({
    in_bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(5)).join(","),
    page_size: "30", ordering: "-created",
  });
  if (f.category) q.set("category", f.category);
  if (f.status) q.set("status", f.status);
  if (f.since) q.set("created_after", f.since);
  listCtrl?.abort();
  listCtrl = new AbortController();
  $("list-status").textContent = gettext("Loading…");
  let data;
  try { data = await api("/api/v1/reports/?" + q, { signal: listCtrl.signal }); } catch (err) {
    if (err.name === "AbortError") return;
    $("list-status").textContent = gettext("The list cannot be loaded right now.");
    return;
  }
  const items = data?.features || [];
  $("report-list").replaceChildren(...items.map((feat) => listItem(feat.properties, feat.id)));
  $("list-status").textContent = items.length
    ? interpolate(gettext("%s most recent reports in view. Move or zoom the map to change the list."), [items.length])
    : gettext("No reports in this part of the map with these filters.");
  showMore(data?.next);
}

// "Show more": the API's cursor link (same origin, same filters).
function showMore(next) {
  const button = $("list-more");
  button.hidden = !next;
  button.onclick = next ? async () => {
    button.disabled = true;
    let data;
    const url = new URL(next, location.href); // a path: the server may sit behind a proxy
    try { data = await api(url.pathname + url.search); } catch { button.disabled = false; return; }
    const first = data?.features?.[0];
    $("report-list").append(...(data?.features || []).map((feat) => listItem(feat.properties, feat.id)));
    button.disabled = false;
    showMore(data?.next);
    if (first) $("report-list").querySelector(`a[href="/reports/${first.properties.number ?? first.id}/"]`)?.focus();
  } : null;
}
const refreshListSoon = debounce(refreshList, 400);

function statusBadge(p) {
  const group = STATUS_GROUP[p.status] || "other";
  return h("span", { class: `badge status-${group}` }, p.status_display || p.status);
}

function listItem(p, id) {
  const number = p.number ?? id;
  const thumb = p.thumbnail_url
    ? h("img", { src: p.thumbnail_url, alt: "", width: 64, height: 64, loading: "lazy" })
    : h("span", { class: "thumb", "aria-hidden": "true" }, p.category?.icon || "•");
  return h("li", { class: "report-item" }, thumb,
    h("div", {},
      h("h3", {}, h("a", { href: `/reports/${number}/` }, `${p.category?.name || ""} · №${number}`)),
      h("p", {}, statusBadge(p), p.overdue ? [" ", h("span", { class: "badge badge-overdue" }, gettext("Overdue"))] : null),
      h("p", { class: "small muted" }, [p.address, p.created ? ago(p.created) : ""].filter(Boolean).join(" · "))));
}

// --- Popups ----------------------------------------------------------------------------------
function reportCard(p, id) {
  const number = p.number ?? id;
  const photo = p.thumbnail_url || p.photos?.[0]?.thumbnail_url;
  const desc = (p.description || "").length > 140 ? p.description.slice(0, 140) + "…" : p.description;
  return h("article", { class: "report-card" },
    photo ? h("img", { src: photo, alt: gettext("Photo of the problem"), width: 96, height: 96 }) : null,
    h("div", {},
      h("p", { class: "card-badges" }, statusBadge(p),
        p.overdue ? [" ", h("span", { class: "badge badge-overdue" }, gettext("Overdue"))] : null),
      h("h3", {}, `${p.category?.icon || ""} ${p.category?.name || ""}`.trim()),
      h("p", { class: "small muted" }, [`№${number}`, p.created ? ago(p.created) : "",
        p.location_generalised ? gettext("approximate place") : p.address].filter(Boolean).join(" · ")),
      desc ? h("p", { class: "small" }, desc) : null,
      h("a", { href: `/reports/${number}/`, class: "btn btn-small btn-primary" }, gettext("Open the report"))));
}

async function showReport(latlng, feature) {
  const popup = L.popup({ maxWidth: 320, minWidth: 240, autoPanPaddingTopLeft: [10, 70] })
    .setLatLng(latlng).setContent(gettext("Loading…")).openOn(map);
  try {
    const data = await api(`/api/v1/reports/${feature.properties.id ?? feature.id}/`);
    popup.setContent(reportCard(data.properties || data, data.id));
  } catch (err) {
    popup.setContent(err.status === 404 ? gettext("This report is no longer public.")
      : gettext("The report cannot be loaded right now."));
  }
}

const ZONE_KIND = { SHA: gettext("Suspected hazardous area (SHA)"), CHA: gettext("Confirmed hazardous area (CHA)"),
  cancelled: gettext("Cancelled area"), cleared: gettext("Cleared area") };
function zoneCard(p) {
  return h("div", { class: "zone-card" },
    h("h3", {}, p.name || gettext("Mine-hazard zone")),
    h("p", {}, ZONE_KIND[p.kind] || p.kind),
    p.is_demo ? h("p", {}, h("span", { class: "badge badge-demo" }, gettext("Fictional demo data"))) : null,
    h("p", { class: "small" }, gettext("Do not enter. If you see an explosive object, move away the way you came and call 101.")),
    h("a", { href: "tel:101", class: "btn btn-small btn-danger" }, gettext("Call 101")));
}

const INFRA_NAMES = { shelter: gettext("Shelter"), invincibility_point: gettext("Invincibility Point"),
  streetlight: gettext("Streetlight"), traffic_light: gettext("Traffic light"), water_main: gettext("Water main"),
  heating_main: gettext("Heating main"), sewer: gettext("Sewer"), substation: gettext("Substation") };
function infraCard(p, latlng) {
  return h("div", { class: "infra-card" },
    h("h3", {}, p.name || INFRA_NAMES[p.kind] || p.kind),
    h("p", {}, INFRA_NAMES[p.kind] || p.kind, p.shelter_type_display || p.shelter_type ? ` · ${p.shelter_type_display || p.shelter_type}` : ""),
    p.layer ? h("p", { class: "small muted" }, p.layer) : null,
    reportHereLink(latlng, gettext("Report a problem with it")));
}

function reportHereLink(latlng, text) {
  const q = new URLSearchParams({ lat: latlng.lat.toFixed(6), lon: latlng.lng.toFixed(6) });
  return h("a", { href: `/report/new/?${q}`, class: "btn btn-small btn-accent" }, text);
}

map.on("click", (e) => {
  if (map.hasLayer(reports)) {
    const hit = reports.featuresAt(e.latlng)[0];
    if (hit && hit.feature.properties.count !== undefined) {
      map.setView(e.latlng, Math.min(map.getZoom() + 2, cfg.pointsFromZoom + 1));
      return;
    }
    if (hit) { showReport(e.latlng, hit.feature); return; }
  }
  for (const [layer, card] of [[infra, (p) => infraCard(p, e.latlng)], [zones, zoneCard]]) {
    if (!map.hasLayer(layer)) continue;
    const hit = layer.featuresAt(e.latlng)[0];
    if (hit) { L.popup({ maxWidth: 300 }).setLatLng(e.latlng).setContent(card(hit.feature.properties)).openOn(map); return; }
  }
  if (map.hasLayer(responsibility)) {
    // Staff: every department area under the point, highest priority first.
    const seen = new Set();
    const areas = responsibility.featuresAt(e.latlng).map((hit) => hit.feature.properties)
      .filter((p) => { const k = `${p.department}|${p.name}`; return !seen.has(k) && seen.add(k); })
      .sort((a, b) => (b.priority || 0) - (a.priority || 0));
    if (areas.length) {
      L.popup({ maxWidth: 320 }).setLatLng(e.latlng).setContent(h("div", { class: "areas-card" },
        h("h3", {}, gettext("Department areas here")),
        h("ul", {}, areas.map((p) => h("li", {}, h("strong", {}, p.department), " · ", p.name || "",
          p.priority ? ` (${interpolate(gettext("priority %s"), [p.priority])})` : ""))))).openOn(map);
      return;
    }
  }
  const card = h("div", { class: "here-card" }, h("p", {}, gettext("Is there a problem here?")),
    reportHereLink(e.latlng, gettext("Report a problem here")));
  L.popup({ maxWidth: 260 }).setLatLng(e.latlng).setContent(card).openOn(map);
  addressHere(e.latlng, card);
});

// The address of the clicked place (the building's own, else the nearest within 150 m), from
// the city's gazetteer, at the top of the card.
async function addressHere(latlng, card) {
  let found;
  try {
    found = await api(`/api/v1/geocode/reverse/?lat=${latlng.lat.toFixed(6)}&lon=${latlng.lng.toFixed(6)}`);
  } catch { return; }
  if (found?.label && card.isConnected) card.prepend(h("p", { class: "here-address" }, h("strong", {}, found.label)));
}

// Pointer cursor over clickable symbols (mouse only).
map.on("mousemove", debounce((e) => {
  const over = [reports, infra, zones].some((l) => map.hasLayer(l) && l.featuresAt(e.latlng, 2)
    .some((hit) => hit.type === 1));
  map.getContainer().classList.toggle("over-feature", over);
}, 60));

map.on("moveend", () => { saveState(); refreshListSoon(); });

// --- Where am I, and address search ----------------------------------------------------------
let here = null;
const locate = L.Control.extend({
  options: { position: "bottomright" },
  onAdd() {
    const b = h("button", { type: "button", class: "locate-btn", title: gettext("Show my location"),
      "aria-label": gettext("Show my location") }, "◎");
    L.DomEvent.disableClickPropagation(b);
    b.addEventListener("click", () => map.locate({ setView: true, maxZoom: 16, enableHighAccuracy: true }));
    return b;
  },
});
new locate().addTo(map);
map.on("locationfound", (e) => {
  here?.remove();
  here = L.circleMarker(e.latlng, { radius: 8, color: "#fff", weight: 3, fillColor: "#0057b7", fillOpacity: 1 }).addTo(map);
  say(gettext("The map shows your location."));
});
map.on("locationerror", () => say(gettext("Your location is not available. Allow it in the browser, or search for an address.")));

addressCombobox($("map-address"), {
  onSelect(item) {
    map.setView([item.lat, item.lon], 17);
    L.popup({ maxWidth: 260 }).setLatLng([item.lat, item.lon])
      .setContent(h("div", { class: "here-card" }, h("p", {}, item.label),
        reportHereLink(L.latLng(item.lat, item.lon), gettext("Report a problem here")))).openOn(map);
  },
});

paintSwatches();
applyLayers();
applyFilters({ redraw: false });
