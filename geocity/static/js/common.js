// Small helpers shared by the page scripts: translations, DOM building, same-origin JSON.
// Strings go through Django's JavaScriptCatalog (/jsi18n/<lang>/), loaded before the modules.

export function gettext(s) { return window.gettext ? window.gettext(s) : s; }
export function ngettext(one, many, n) {
  return window.ngettext ? window.ngettext(one, many, n) : (n === 1 ? one : many);
}
export function interpolate(fmt, obj, named) {
  return window.interpolate ? window.interpolate(fmt, obj, named) : fmt;
}
export const lang = document.documentElement.lang || "uk";

export function config(id) {
  const el = document.getElementById(id);
  return el ? JSON.parse(el.textContent) : {};
}

// h("a", {href: "/x", class: "btn"}, "text", child) -> element. Text is never parsed as HTML.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

export function csrfToken() {
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (input) return input.value;
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
}

// fetch() for our own API: JSON in and out, CSRF header, errors as {status, body}. The API
// answers in the page's language (it negotiates Accept-Language for other clients; the page
// itself is Ukrainian unless the user switched, whatever the browser asks for).
export async function api(url, { method = "GET", body, headers = {}, signal } = {}) {
  const opts = { method, headers: { Accept: "application/json", "Accept-Language": lang, ...headers },
    signal, credentials: "same-origin" };
  if (method !== "GET") opts.headers["X-CSRFToken"] = csrfToken();
  if (body instanceof FormData) opts.body = body;
  else if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, opts);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw { status: 0, body: { code: "network", message: gettext("No connection to the server. Check the network and try again.") } };
  }
  let data = null;
  if (res.status !== 204) {
    try { data = await res.json(); } catch { data = null; }
  }
  if (!res.ok) throw { status: res.status, body: data || {}, headers: res.headers };
  return data;
}

export function debounce(fn, ms) {
  let t;
  return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
}

const rtf = typeof Intl.RelativeTimeFormat === "function"
  ? new Intl.RelativeTimeFormat(lang, { numeric: "auto" }) : null;

// "3 days ago" in the page language, from an ISO date or an age in days.
export function ago(isoOrDays) {
  const days = typeof isoOrDays === "number" ? isoOrDays
    : Math.floor((Date.now() - Date.parse(isoOrDays)) / 86400000);
  if (!rtf) return interpolate(gettext("%s days ago"), [days]);
  if (days < 1) return rtf.format(0, "day");
  if (days < 31) return rtf.format(-days, "day");
  if (days < 365) return rtf.format(-Math.floor(days / 30), "month");
  return rtf.format(-Math.floor(days / 365), "year");
}

export function formatDate(iso, withTime = true) {
  const d = new Date(iso);
  const opts = withTime ? { dateStyle: "medium", timeStyle: "short" } : { dateStyle: "medium" };
  return new Intl.DateTimeFormat(lang, opts).format(d);
}

// Status groups as on the server (reports.views.STATUS_GROUPS): colour and shape per group.
export const STATUS_GROUP = {
  new: "open", moderation: "open", assigned: "open",
  in_progress: "progress", needs_info: "progress",
  resolved: "done", closed: "done", rejected: "other", duplicate: "other",
};
export const GROUP_COLOUR = { open: "#cf222e", progress: "#b35900", done: "#1a7f37", other: "#6e7781" };

// Keep focus inside `box` while it is open (dialogs and sheets); returns a release function.
export function trapFocus(box) {
  const sel = "a[href], button:not([disabled]), input:not([disabled]), select, textarea, [tabindex]:not([tabindex='-1'])";
  function onKey(e) {
    if (e.key !== "Tab") return;
    const items = [...box.querySelectorAll(sel)].filter((el) => el.offsetParent !== null);
    if (!items.length) return;
    const first = items[0], last = items[items.length - 1];
    if (e.shiftKey && document.activeElement === first) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first.focus(); }
  }
  box.addEventListener("keydown", onKey);
  return () => box.removeEventListener("keydown", onKey);
}
