// Address search as an ARIA 1.2 combobox over the local gazetteer (/api/v1/geocode/?q=).
// Keyboard: type, ArrowDown/ArrowUp to move, Enter to choose, Escape to close. Works
// without the map: choosing an address is a complete way to set a report's place.

import { api, debounce, gettext, interpolate, ngettext } from "./common.js";

export function addressCombobox(input, { onSelect, minLength = 2 } = {}) {
  const list = document.getElementById(input.getAttribute("aria-controls"));
  const status = document.getElementById(input.dataset.status);
  let items = [], active = -1, ctrl = null, lastQuery = "";

  const say = (text) => { if (status) status.textContent = text; };
  const close = () => {
    list.hidden = true; input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant"); active = -1;
  };
  const setActive = (i) => {
    active = i;
    [...list.children].forEach((li, k) => li.setAttribute("aria-selected", String(k === i)));
    if (i >= 0) {
      input.setAttribute("aria-activedescendant", list.children[i].id);
      list.children[i].scrollIntoView({ block: "nearest" });
    } else input.removeAttribute("aria-activedescendant");
  };
  const choose = (i) => {
    const item = items[i];
    if (!item) return;
    input.value = item.label;
    lastQuery = item.label;
    close();
    say(interpolate(gettext("Chosen: %s"), [item.label]));
    onSelect?.(item);
  };
  const render = () => {
    list.replaceChildren(...items.map((item, i) => {
      const li = document.createElement("li");
      li.id = `${list.id}-${i}`;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.textContent = item.label;
      li.addEventListener("mousedown", (e) => e.preventDefault());
      li.addEventListener("click", () => choose(i));
      return li;
    }));
    const open = items.length > 0;
    list.hidden = !open;
    input.setAttribute("aria-expanded", String(open));
    active = -1;
  };

  const search = async (force = false) => {
    const q = input.value.trim();
    if (q.length < minLength) { items = []; render(); return; }
    if (q === lastQuery && !force) return;
    lastQuery = q;
    ctrl?.abort();
    ctrl = new AbortController();
    try {
      const data = await api("/api/v1/geocode/?" + new URLSearchParams({ q }), { signal: ctrl.signal });
      items = Array.isArray(data) ? data : (data?.results || []);
    } catch (err) {
      if (err.name === "AbortError") return;
      items = [];
      say(gettext("Address search is not available right now."));
      render();
      return;
    }
    render();
    say(items.length
      ? interpolate(ngettext("%s address found. Use the arrow keys to choose.",
        "%s addresses found. Use the arrow keys to choose.", items.length), [items.length])
      : gettext("No address found. Try the street name only, or set the place on the map."));
  };
  const later = debounce(() => search(), 250);

  input.addEventListener("input", later);
  input.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown") {
      e.preventDefault();
      if (list.hidden && items.length) { list.hidden = false; input.setAttribute("aria-expanded", "true"); }
      setActive(Math.min(active + 1, items.length - 1));
    } else if (e.key === "ArrowUp") {
      e.preventDefault(); setActive(Math.max(active - 1, 0));
    } else if (e.key === "Enter") {
      e.preventDefault();
      if (!list.hidden && items.length) choose(active >= 0 ? active : 0);
      else search(true);
    } else if (e.key === "Escape") {
      if (!list.hidden) { e.preventDefault(); close(); }
    }
  });
  input.addEventListener("blur", () => setTimeout(close, 150));
  return { search, close, clear() { input.value = ""; items = []; lastQuery = ""; render(); } };
}
