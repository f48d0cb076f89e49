// The reporting flow (/report/new/): place (map pin, my location, typed address), category
// with its extra questions, description, photos, contact; duplicate suggestions and the
// ДСНС safety notice before sending; POST /api/v1/reports/ with an Idempotency-Key.
// The draft lives in sessionStorage, so nothing typed is lost on an error or a reload.

import { api, config, debounce, gettext, h, interpolate, ngettext, STATUS_GROUP, trapFocus } from "./common.js";
import { addBasemap } from "./basemap.js";
import { addressCombobox } from "./combobox.js";

const cfg = config("report-config");
const $ = (id) => document.getElementById(id);
const form = $("report-form");
const categories = Object.fromEntries(cfg.categories.map((c) => [c.code, c]));
const DRAFT = "geocity:report-draft";
const TYPES = ["image/jpeg", "image/png", "image/webp", "image/heic", "image/heif"];
const EXTENSIONS = /\.(jpe?g|png|webp|heic|heif)$/i;

const state = {
  lat: null, lon: null, addressFrom: "", // "typed" | "reverse" | "geocode"
  category: "", photos: [], hazardZone: null, hazardAck: false, duplicates: [],
  key: null, sending: false,
};

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

// --- Draft -----------------------------------------------------------------------------------
function readDraft() {
  try { return JSON.parse(sessionStorage.getItem(DRAFT)) || {}; } catch { return {}; }
}
function saveDraft() {
  const draft = {
    lat: state.lat, lon: state.lon, addressFrom: state.addressFrom, address: form.address.value,
    category: state.category, attrs: readAttributes(true), description: form.description.value,
    contact_name: form.contact_name?.value || "", contact_email: form.contact_email?.value || "",
    contact_phone: form.contact_phone?.value || "", key: state.key, hazardAck: state.hazardAck,
  };
  try { sessionStorage.setItem(DRAFT, JSON.stringify(draft)); } catch { /* private mode: no draft */ }
}
const saveDraftSoon = debounce(saveDraft, 300);

// --- Errors next to their fields -------------------------------------------------------------
const LABELS = () => ({
  location: gettext("Place"), category: gettext("Category"), description: gettext("Description"),
  photos: gettext("Photos"), contact_email: gettext("E-mail"), contact_phone: gettext("Phone"),
  contact_name: gettext("Name"), address: gettext("Address"),
});
const FOCUS = { location: "address", category: null, photos: "photos" };

function fieldBox(field) { return $(`field-${field}`); }
function errorEl(field) { return $(`${field}-error`); }

function clearErrors() {
  for (const el of form.querySelectorAll(".field-error")) { el.hidden = true; el.textContent = ""; }
  for (const el of form.querySelectorAll(".has-error")) el.classList.remove("has-error");
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  $("error-summary").hidden = true;
}

function focusTarget(field) {
  if (field === "category") return form.querySelector("input[name=category]:checked") || form.querySelector("input[name=category]") ;
  if (field.startsWith("attr-")) return form.querySelector(`[name="${field}"]`);
  return $(FOCUS[field] || field);
}

// errors: [[field|null, message]]; shows each next to its field and all in the summary.
function showErrors(errors) {
  clearErrors();
  const list = $("error-list");
  list.replaceChildren();
  for (const [field, message] of errors) {
    const el = field && errorEl(field);
    if (el) {
      el.textContent = el.textContent ? el.textContent + " " + message : message;
      el.hidden = false;
      (fieldBox(field) || el.parentElement).classList.add("has-error");
      focusTarget(field)?.setAttribute("aria-invalid", "true");
    }
    const label = field ? (LABELS()[field] || $(`${field}-label`)?.textContent || "") : "";
    const text = label ? `${label}: ${message}` : message;
    list.append(h("li", {}, el ? h("a", { href: `#${el.id}`, onclick: (e) => {
      e.preventDefault(); const t = focusTarget(field); (t || el).focus(); (t || el).scrollIntoView({ block: "center" });
    } }, text) : text));
  }
  const summary = $("error-summary");
  summary.hidden = false;
  summary.focus();
  summary.scrollIntoView({ block: "start" });
}

const CODES = () => ({
  outside_service_area: ["location", gettext("This place is outside the city's service area. Move the pin inside the city.")],
  invalid_location: ["location", gettext("Set the place of the problem.")],
  unknown_category: ["category", gettext("Choose a category from the list.")],
  description_required: ["description", gettext("Describe the problem.")],
  description_too_long: ["description", gettext("The description is too long: at most 4000 characters.")],
  photo_required: ["photos", gettext("This category needs at least one photo.")],
  too_many_photos: ["photos", interpolate(gettext("At most %s photos."), [cfg.photoMaxCount])],
  photo_wrong_type: ["photos", gettext("One of the files is not a JPEG, PNG, WebP or HEIC photo.")],
  photo_too_big: ["photos", gettext("One of the photos is larger than allowed.")],
  photo_too_many_pixels: ["photos", gettext("One of the photos has too many pixels (over 40 megapixels).")],
  photo_corrupt: ["photos", gettext("One of the photo files is damaged.")],
  photo_invalid: ["photos", gettext("One of the photos cannot be used.")],
  idempotency_key_reused: [null, gettext("The form changed after an interrupted send. Check it and send again.")],
  network: [null, gettext("No connection to the server. Your report is kept here; try again.")],
});

function fieldFor(key) {
  if (["lat", "lon", "location", "point"].includes(key)) return "location";
  if (key.startsWith("attributes.")) return "attr-" + key.slice(11);
  if (key.startsWith("contact")) return key.replace("contact.", "contact_");
  if (key.startsWith("photos")) return "photos";
  if (["category", "description", "address"].includes(key)) return key === "address" ? "location" : key;
  return null;
}

function apiErrors(status, body, headers) {
  const out = [];
  const known = CODES()[body.code];
  if (status === 429) {
    const wait = Number(headers?.get("Retry-After")) || body.retry_after || 60;
    out.push([null, interpolate(gettext("You have sent several reports in a short time. Try again in %s min."), [Math.ceil(wait / 60)])]);
    return out;
  }
  if (body.code === "outside_service_area" && body.distance_m !== undefined) {
    out.push(["location", interpolate(gettext("This place is %s m outside the city's service area. Move the pin inside the city."), [Math.round(body.distance_m)])]);
  } else if (known) out.push(known);
  const covered = new Set(out.map(([f]) => f));
  const flat = {};
  const walk = (obj, prefix) => {
    for (const [k, v] of Object.entries(obj || {})) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (v && typeof v === "object" && !Array.isArray(v)) walk(v, key); else flat[key] = v;
    }
  };
  walk(body.errors, "");
  for (const [key, messages] of Object.entries(flat)) {
    const field = fieldFor(key);
    if (field && covered.has(field)) continue;
    const msgs = (Array.isArray(messages) ? messages : [messages]).map((m) => (typeof m === "string" ? m : JSON.stringify(m)));
    out.push([field && errorEl(field) ? field : null, msgs.join(" ")]);
  }
  if (!out.length) out.push([null, body.message || (status >= 500
    ? gettext("The server had a problem. Your report is kept here; try again in a minute.")
    : gettext("The report could not be sent."))]);
  return out;
}

// --- The map and the pin -----------------------------------------------------------------------
const start = cfg.initial || readDraft().lat != null && { lat: readDraft().lat, lon: readDraft().lon };
const params = new URLSearchParams(location.search);
const viewCentre = params.get("clat") ? [Number(params.get("clat")), Number(params.get("clon"))] : cfg.center;
const map = L.map("pick-map", { zoomControl: false, maxZoom: 19, minZoom: 8 })
  .setView(start ? [start.lat, start.lon] : viewCentre,
    start ? 17 : Number(params.get("z")) || Math.max(cfg.zoom, 13));
L.control.zoom({ zoomInTitle: gettext("Zoom in"), zoomOutTitle: gettext("Zoom out") }).addTo(map);
addBasemap(map, cfg);
const pinIcon = L.divIcon({
  className: "pin-icon", iconSize: [36, 48], iconAnchor: [18, 46],
  html: '<svg viewBox="0 0 36 48" width="36" height="48" aria-hidden="true"><path d="M18 1C8.6 1 1 8.6 1 18c0 12.4 17 29 17 29s17-16.6 17-29C35 8.6 27.4 1 18 1Z" fill="#0057b7" stroke="#fff" stroke-width="2"/><circle cx="18" cy="18" r="6.5" fill="#ffd700"/></svg>',
});
let pin = null;

function placeText() {
  const addr = form.address.value.trim();
  const coords = `${state.lat.toFixed(5)}, ${state.lon.toFixed(5)}`;
  return addr ? interpolate(gettext("Place chosen: %s"), [addr]) : interpolate(gettext("Place chosen on the map (%s)."), [coords]);
}

async function setPlace(lat, lon, { from = "map", label = null, pan = true } = {}) {
  state.lat = lat; state.lon = lon;
  if (!pin) {
    pin = L.marker([lat, lon], { draggable: true, icon: pinIcon, keyboard: false, title: gettext("Problem location") }).addTo(map);
    pin.on("dragend", () => { const ll = pin.getLatLng(); setPlace(ll.lat, ll.lng, { from: "map", pan: false }); });
  } else pin.setLatLng([lat, lon]);
  if (pan) map.setView([lat, lon], Math.max(map.getZoom(), 17));
  errorEl("location").hidden = true;
  fieldBox("location").classList.remove("has-error");
  if (label !== null) { form.address.value = label; state.addressFrom = from; }
  $("location-status").textContent = placeText();
  saveDraftSoon();
  if (label === null && state.addressFrom !== "typed") reverseGeocode(lat, lon);
  checkHazard();
  findDuplicates();
}

let reverseCtrl = null;
async function reverseGeocode(lat, lon) {
  reverseCtrl?.abort();
  reverseCtrl = new AbortController();
  try {
    const r = await api(`/api/v1/geocode/reverse/?lat=${lat}&lon=${lon}`, { signal: reverseCtrl.signal });
    if (r?.label) { form.address.value = r.label; state.addressFrom = "reverse"; }
  } catch (err) {
    if (err.name === "AbortError") return;
    if (state.addressFrom === "reverse" || state.addressFrom === "geocode") { form.address.value = ""; state.addressFrom = ""; }
  }
  $("location-status").textContent = placeText();
  saveDraftSoon();
}

map.on("click", (e) => setPlace(e.latlng.lat, e.latlng.lng));
map.getContainer().addEventListener("keydown", (e) => {
  if ((e.key === "Enter" || e.key === " ") && e.target === map.getContainer()) {
    e.preventDefault();
    const c = map.getCenter();
    setPlace(c.lat, c.lng, { pan: false });
  }
});

form.address.addEventListener("input", () => { state.addressFrom = "typed"; saveDraftSoon(); });
addressCombobox(form.address, {
  onSelect: (item) => setPlace(Number(item.lat), Number(item.lon), { from: "geocode", label: item.label }),
});

$("use-location").addEventListener("click", () => {
  const status = $("location-status");
  if (!navigator.geolocation) { status.textContent = gettext("This browser cannot tell your location. Type the address or use the map."); return; }
  status.textContent = gettext("Finding your location…");
  navigator.geolocation.getCurrentPosition(
    (pos) => setPlace(pos.coords.latitude, pos.coords.longitude),
    () => { status.textContent = gettext("Your location is not available. Allow it in the browser, or type the address."); },
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
  );
});

// --- Category picker ---------------------------------------------------------------------------
const search = $("category-search");
search.addEventListener("input", () => {
  const words = search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
  let shown = 0;
  for (const group of form.querySelectorAll(".cat-group")) {
    let inGroup = 0;
    for (const opt of group.querySelectorAll(".cat-option")) {
      const ok = words.every((w) => opt.dataset.search.includes(w));
      opt.hidden = !ok;
      inGroup += ok;
    }
    group.hidden = !inGroup;
    shown += inGroup;
  }
  $("category-none").hidden = shown > 0;
  $("category-search-status").textContent = words.length
    ? interpolate(ngettext("%s category matches.", "%s categories match.", shown), [shown]) : "";
});
search.addEventListener("keydown", (e) => {
  if (e.key === "Enter") {
    e.preventDefault();
    form.querySelector(".cat-option:not([hidden]) input")?.focus();
  }
});

function showPicker(open) {
  $("category-picker").hidden = !open;
  $("category-chosen").hidden = open || !state.category;
}
$("category-change").addEventListener("click", () => {
  showPicker(true);
  (form.querySelector("input[name=category]:checked") || search).focus();
});

// Pointer choices collapse the picker at once; keyboard users arrow through the radios
// (each arrow fires "change"), so the picker stays open until they press Enter or leave it.
function chooseCategory(code, { restore = false, collapse = true } = {}) {
  const c = categories[code];
  if (!c) return;
  const changed = state.category !== code;
  state.category = code;
  const radio = form.querySelector(`input[name=category][value="${CSS.escape(code)}"]`);
  if (radio) radio.checked = true;
  $("category-chosen-label").textContent = `${c.icon || ""} ${c.name}`.trim();
  if (collapse) showPicker(false);
  errorEl("category").hidden = true;
  fieldBox("category").classList.remove("has-error");
  $("photos-optional").textContent = c.photoRequired ? gettext("(required for this category)") : gettext("(optional)");
  if (changed || restore) renderAttributes(c, restore ? readDraft().attrs || {} : {});
  saveDraftSoon();
  if (changed) findDuplicates();
  if (collapse && !restore) hazardForCategory();
}
function hazardForCategory() {
  if (categories[state.category]?.isHazard && !state.hazardAck) openHazard("category");
}
let pointerPick = false;
$("category-groups").addEventListener("pointerdown", () => { pointerPick = true; });
form.addEventListener("change", (e) => {
  if (e.target.name !== "category") return;
  chooseCategory(e.target.value, { collapse: pointerPick });
  pointerPick = false;
});
form.addEventListener("keydown", (e) => {
  if (e.target.name === "category" && e.key === "Enter") {
    e.preventDefault();
    chooseCategory(e.target.value);
    if (dialog.hidden) $("category-change").focus();
  }
});
$("category-picker").addEventListener("focusout", (e) => {
  if (!state.category || $("category-picker").contains(e.relatedTarget)) return;
  if (!e.relatedTarget || e.relatedTarget === $("category-change")) return;
  showPicker(false);
  hazardForCategory();
});

// --- Extra questions (Open311 attributes), all six datatypes --------------------------------
function renderAttributes(c, values) {
  const box = $("attributes");
  box.replaceChildren();
  if (!c.attributes.length) return;
  box.append(h("h3", {}, gettext("A few questions about it")));
  for (const a of c.attributes) {
    const id = `attr-${a.code}`, err = `${id}-error`;
    const optional = a.required ? null : h("span", { class: "optional" }, " " + gettext("(optional)"));
    const value = values[a.code];
    const described = { "aria-describedby": err, "aria-required": a.required ? "true" : null };
    let field;
    if (a.datatype === "singlevaluelist" || a.datatype === "multivaluelist") {
      const multi = a.datatype === "multivaluelist";
      if (!multi && a.values.length > 6) {
        field = h("div", { class: "field", id: `field-${id}` },
          h("label", { for: id, id: `${id}-label` }, a.description, optional),
          h("select", { id, name: id, ...described },
            h("option", { value: "" }, gettext("Choose…")),
            a.values.map((v) => h("option", { value: v.key, selected: value === v.key }, v.name))));
      } else {
        field = h("fieldset", { class: "field", id: `field-${id}`, "aria-describedby": err },
          h("legend", { id: `${id}-label` }, a.description, optional),
          a.values.map((v) => h("label", { class: "choice" },
            h("input", { type: multi ? "checkbox" : "radio", name: id, value: v.key,
              checked: multi ? (value || []).includes(v.key) : value === v.key }), " ", v.name)));
      }
    } else {
      const input = a.datatype === "text"
        ? h("textarea", { id, name: id, rows: 3, maxlength: 2000, ...described })
        : h("input", { id, name: id, maxlength: a.datatype === "string" ? 200 : null,
          type: a.datatype === "number" ? "number" : a.datatype === "datetime" ? "datetime-local" : "text",
          step: a.datatype === "number" ? "any" : null, inputmode: a.datatype === "number" ? "decimal" : null,
          ...described });
      if (value !== undefined && value !== null) input.value = value;
      field = h("div", { class: "field", id: `field-${id}` },
        h("label", { for: id, id: `${id}-label` }, a.description, optional), input);
    }
    field.append(h("p", { class: "field-error", id: err, hidden: true }));
    box.append(field);
  }
}

// raw: the draft's form values; otherwise the API's values (numbers, ISO datetimes, lists).
function readAttributes(raw = false) {
  const c = categories[state.category];
  const out = {};
  if (!c) return out;
  for (const a of c.attributes) {
    const name = `attr-${a.code}`;
    if (a.datatype === "multivaluelist") {
      const v = [...form.querySelectorAll(`[name="${name}"]:checked`)].map((el) => el.value);
      if (v.length) out[a.code] = v;
    } else if (a.datatype === "singlevaluelist") {
      const el = form.querySelector(`select[name="${name}"]`) || form.querySelector(`[name="${name}"]:checked`);
      if (el?.value) out[a.code] = el.value;
    } else {
      const v = form.querySelector(`[name="${name}"]`)?.value.trim();
      if (!v) continue;
      if (raw) out[a.code] = v;
      else if (a.datatype === "number") out[a.code] = Number(v.replace(",", "."));
      else if (a.datatype === "datetime") out[a.code] = new Date(v).toISOString();
      else out[a.code] = v;
    }
  }
  return out;
}

// --- Duplicates ------------------------------------------------------------------------------
let dupCtrl = null;
async function findDuplicates() {
  if (state.lat == null || !state.category) { $("duplicates").hidden = true; return; }
  dupCtrl?.abort();
  dupCtrl = new AbortController();
  let data;
  try {
    data = await api(`/api/v1/reports/nearby/?${new URLSearchParams({ lat: state.lat, lon: state.lon, category: state.category })}`,
      { signal: dupCtrl.signal });
  } catch { return; }
  const items = (data?.features || []).slice(0, 5);
  state.duplicates = items;
  $("duplicates").hidden = !items.length;
  $("dup-list").replaceChildren(...items.map(dupItem));
}

function dupItem(feat) {
  const p = feat.properties || {};
  const number = p.number ?? feat.id;
  const group = STATUS_GROUP[p.status] || "other";
  const button = h("button", { type: "button", class: "btn btn-small btn-primary" }, gettext("Support it instead"));
  button.addEventListener("click", () => support(number, button));
  return h("li", { class: "report-item" },
    p.thumbnail_url ? h("img", { src: p.thumbnail_url, alt: "", width: 64, height: 64 })
      : h("span", { class: "thumb", "aria-hidden": "true" }, p.category?.icon || "•"),
    h("div", {},
      h("h3", {}, h("a", { href: `/reports/${number}/`, target: "_blank" }, `№${number} · ${p.category?.name || ""}`)),
      h("p", {}, h("span", { class: `badge status-${group}` }, p.status_display || p.status), " ",
        p.distance_m !== undefined ? interpolate(gettext("%s m away"), [Math.round(p.distance_m)]) : ""),
      p.description ? h("p", { class: "small" }, p.description.length > 120 ? p.description.slice(0, 120) + "…" : p.description) : null,
      p.supporters_count ? h("p", { class: "small muted" }, interpolate(ngettext("%s person supports it", "%s people support it", p.supporters_count), [p.supporters_count])) : null,
      button));
}

async function support(number, button) {
  const status = $("dup-status");
  const email = ($("support-email")?.value || form.contact_email?.value || "").trim();
  if (!cfg.signedIn && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
    status.textContent = gettext("Give your e-mail above to support a report, or log in.");
    $("support-email")?.focus();
    return;
  }
  button.disabled = true;
  try {
    const r = await api(`/api/v1/reports/${number}/support/`, { method: "POST", body: cfg.signedIn ? {} : { email } });
    status.replaceChildren(
      r?.created === false ? gettext("You already support this report.")
        : cfg.signedIn ? interpolate(gettext("Thank you! You support report №%s; we will tell you when its status changes."), [number])
          : interpolate(gettext("Thank you! Your support for report №%s is counted. To get its updates, confirm your e-mail from the link we sent."), [number]),
      " ", h("a", { href: `/reports/${number}/` }, gettext("Open it")));
    button.textContent = gettext("Supported");
  } catch (err) {
    button.disabled = false;
    const code = err.body?.code;
    status.textContent = code === "own_report" ? gettext("You reported this problem yourself.")
      : code === "report_closed" ? gettext("Only open reports can be supported.")
      : err.body?.message || gettext("Support could not be sent. Try again.");
  }
}

// --- Hazard: a full-screen warning that cannot be missed ------------------------------------
const dialog = $("hazard-dialog");
let releaseTrap = null, afterAck = null;
const outside = () => [document.querySelector(".site-header"), form.parentElement, document.querySelector(".site-footer")].filter(Boolean);

function openHazard(reason, then = null) {
  afterAck = then;
  $("hazard-reason").textContent = reason === "category"
    ? gettext("You chose “explosive object”. Your safety comes first.")
    : gettext("This place is in or near a mine-hazard area. Your safety comes first.");
  const zones = reason === "zone" && state.hazardZone ? state.hazardZone.zones || [] : [];
  $("hazard-zones").replaceChildren(...zones.map((z) => h("li", {}, z.name || "",
    z.kind ? ` (${z.kind})` : "", z.is_demo ? [" ", h("span", { class: "badge badge-demo" }, gettext("Fictional demo data"))] : null)));
  $("hazard-ack").checked = false;
  $("hazard-continue").disabled = true;
  dialog.hidden = false;
  document.body.classList.add("dialog-open");
  outside().forEach((el) => { el.inert = true; });
  releaseTrap = trapFocus(dialog);
  dialog.querySelector(".dialog").focus();
}
function closeHazard() {
  dialog.hidden = true;
  document.body.classList.remove("dialog-open");
  outside().forEach((el) => { el.inert = false; });
  releaseTrap?.();
  state.hazardAck = true;
  $("hazard-reminder").hidden = false;
  saveDraftSoon();
  const then = afterAck;
  afterAck = null;
  if (then) then(); else $("description").focus();
}
$("hazard-ack").addEventListener("change", (e) => { $("hazard-continue").disabled = !e.target.checked; });
$("hazard-continue").addEventListener("click", () => { if ($("hazard-ack").checked) closeHazard(); });

let hazardCtrl = null;
async function checkHazard() {
  hazardCtrl?.abort();
  hazardCtrl = new AbortController();
  try {
    const r = await api(`/api/v1/hazard-check/?lat=${state.lat}&lon=${state.lon}`, { signal: hazardCtrl.signal });
    state.hazardZone = r && (r.near || r.inside) ? r : null;
  } catch { return; }
  if (state.hazardZone && !state.hazardAck) openHazard("zone");
}
const hazardNeeded = () => !!(categories[state.category]?.isHazard || state.hazardZone);

// --- Photos ----------------------------------------------------------------------------------
const PHOTO_CODES = () => ({
  photo_wrong_type: gettext("This file is not a JPEG, PNG, WebP or HEIC photo."),
  photo_too_big: interpolate(gettext("This photo is larger than %s MB."), [Math.round(cfg.photoMaxBytes / 1048576)]),
  photo_too_many_pixels: gettext("This photo has too many pixels (over 40 megapixels)."),
  photo_corrupt: gettext("This file is damaged or not a complete image."),
});

function sizeText(bytes) {
  return bytes > 1048576 ? `${(bytes / 1048576).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

$("photos").addEventListener("change", (e) => {
  const files = [...e.target.files];
  e.target.value = "";
  const problems = [];
  for (const file of files) {
    if (state.photos.length >= cfg.photoMaxCount) {
      problems.push(interpolate(gettext("At most %s photos: %s was not added."), [cfg.photoMaxCount, file.name]));
      continue;
    }
    if (!TYPES.includes(file.type) && !EXTENSIONS.test(file.name)) {
      problems.push(interpolate(gettext("%s is not a JPEG, PNG, WebP or HEIC photo."), [file.name]));
      continue;
    }
    if (file.size > cfg.photoMaxBytes) {
      problems.push(interpolate(gettext("%s is larger than %s MB."), [file.name, Math.round(cfg.photoMaxBytes / 1048576)]));
      continue;
    }
    const photo = { file, id: newKey(), url: URL.createObjectURL(file), status: "checking", error: "", gps: null };
    state.photos.push(photo);
    inspect(photo);
  }
  const err = errorEl("photos");
  err.textContent = problems.join(" ");
  err.hidden = !problems.length;
  renderPhotos();
});

async function inspect(photo) {
  const body = new FormData();
  body.append("photo", photo.file);
  try {
    const r = await api("/api/v1/photos/inspect/", { method: "POST", body });
    photo.status = "ok";
    photo.gps = r?.gps || null;
  } catch (err) {
    if (err.status === 400 || err.status === 413) {
      photo.status = "error";
      photo.error = PHOTO_CODES()[err.body?.code] || err.body?.message || gettext("This photo cannot be used.");
    } else photo.status = "ok"; // the server checks again on sending
  }
  renderPhotos();
}

function renderPhotos() {
  $("photo-list").replaceChildren(...state.photos.map((p, i) => {
    const img = h("img", { src: p.url, alt: interpolate(gettext("Photo %s"), [i + 1]), width: 88, height: 88 });
    img.addEventListener("error", () => img.replaceWith(h("span", { class: "photo-placeholder", "aria-hidden": "true" }, "🖼")));
    const remove = h("button", { type: "button", class: "btn btn-small" }, gettext("Remove"));
    remove.setAttribute("aria-label", interpolate(gettext("Remove photo %s (%s)"), [i + 1, p.file.name]));
    remove.addEventListener("click", () => {
      URL.revokeObjectURL(p.url);
      state.photos = state.photos.filter((x) => x !== p);
      renderPhotos();
      $("photos").focus();
    });
    const gps = p.gps && h("button", { type: "button", class: "btn btn-small btn-accent" }, gettext("Use the photo's location"));
    gps?.addEventListener("click", () => {
      state.addressFrom = "";
      setPlace(Number(p.gps.lat), Number(p.gps.lon));
      $("location-status").focus?.();
    });
    return h("li", { class: `photo-item${p.status === "error" ? " photo-bad" : ""}` }, img,
      h("div", {},
        h("p", { class: "small" }, h("strong", {}, p.file.name), ` · ${sizeText(p.file.size)}`),
        h("p", { class: p.status === "error" ? "field-error" : "small muted" },
          p.status === "checking" ? gettext("Checking…") : p.status === "error" ? p.error
            : p.gps ? gettext("The photo has a location. Use it for the report?") : gettext("Ready")),
        h("div", { class: "actions" }, gps, remove)));
  }));
}

// --- Live helpers ----------------------------------------------------------------------------
const count = $("description-count");
form.description.addEventListener("input", () => {
  count.textContent = `${form.description.value.length} / 4000`;
});
form.addEventListener("input", (e) => { if (e.target.name !== "category") saveDraftSoon(); });
form.addEventListener("change", saveDraftSoon);

// --- Validation and sending ----------------------------------------------------------------
function validate() {
  const errors = [];
  if (state.lat == null) {
    errors.push(["location", form.address.value.trim()
      ? gettext("Choose the address from the list, or set the place on the map.")
      : gettext("Set the place: type the address, use your location, or tap the map.")]);
  }
  const c = categories[state.category];
  if (!c) errors.push(["category", gettext("Choose a category.")]);
  else {
    const answers = readAttributes();
    for (const a of c.attributes) {
      const v = answers[a.code];
      if (a.required && (v === undefined || (Array.isArray(v) && !v.length))) {
        errors.push([`attr-${a.code}`, gettext("Answer this question.")]);
      } else if (a.datatype === "number" && v !== undefined && !Number.isFinite(v)) {
        errors.push([`attr-${a.code}`, gettext("Give a number.")]);
      }
    }
    if (c.photoRequired && !state.photos.length) errors.push(["photos", gettext("This category needs at least one photo.")]);
  }
  if (!form.description.value.trim()) errors.push(["description", gettext("Describe the problem.")]);
  if (state.photos.some((p) => p.status === "error")) errors.push(["photos", gettext("Remove the photos that cannot be used.")]);
  const email = form.contact_email?.value.trim();
  if (email && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) errors.push(["contact_email", gettext("Give a valid e-mail address, or leave it empty.")]);
  return errors;
}

function payload() {
  const body = new FormData();
  body.append("category", state.category);
  body.append("lat", state.lat.toFixed(7));
  body.append("lon", state.lon.toFixed(7));
  body.append("description", form.description.value.trim());
  body.append("address", form.address.value.trim());
  body.append("attributes", JSON.stringify(readAttributes()));
  for (const name of ["contact_name", "contact_email", "contact_phone"]) {
    if (form[name]?.value.trim()) body.append(name, form[name].value.trim());
  }
  for (const p of state.photos) body.append("photos", p.file, p.file.name);
  return body;
}

async function send() {
  if (state.sending) return;
  state.sending = true;
  const button = $("submit"), status = $("submit-status");
  button.disabled = true;
  button.textContent = gettext("Sending…");
  status.textContent = state.photos.length ? gettext("Sending the report and the photos…") : gettext("Sending the report…");
  if (!state.key) { state.key = newKey(); saveDraft(); }
  try {
    const r = await api("/api/v1/reports/", { method: "POST", body: payload(), headers: { "Idempotency-Key": state.key } });
    sessionStorage.removeItem(DRAFT);
    status.textContent = gettext("Sent.");
    location.assign(`/reports/${r.number}/submitted/`);
    return;
  } catch (err) {
    if (err.body?.code === "idempotency_key_reused") state.key = newKey();
    saveDraft();
    status.textContent = "";
    showErrors(apiErrors(err.status, err.body || {}, err.headers));
  } finally {
    state.sending = false;
    button.disabled = false;
    button.textContent = gettext("Send the report");
  }
}

form.addEventListener("submit", (e) => {
  e.preventDefault();
  const errors = validate();
  if (errors.length) { showErrors(errors); return; }
  clearErrors();
  if (hazardNeeded() && !state.hazardAck) {
    openHazard(categories[state.category]?.isHazard ? "category" : "zone", send);
    return;
  }
  send();
});

// --- Start: restore the draft, then the URL's pin --------------------------------------------
(function restore() {
  const d = readDraft();
  state.key = d.key || null;
  state.hazardAck = !!d.hazardAck;
  if (d.description) { form.description.value = d.description; count.textContent = `${d.description.length} / 4000`; }
  for (const name of ["contact_name", "contact_email", "contact_phone"]) if (form[name] && d[name]) form[name].value = d[name];
  const code = cfg.category || d.category;
  if (code && categories[code]) chooseCategory(code, { restore: true });
  if (state.hazardAck && hazardNeeded()) $("hazard-reminder").hidden = false;
  if (cfg.initial) setPlace(cfg.initial.lat, cfg.initial.lon, { pan: false });
  else if (d.lat != null) {
    state.addressFrom = d.addressFrom || "";
    setPlace(d.lat, d.lon, { pan: false, from: d.addressFrom, label: d.address || "" });
  }
})();
