// Tiny DOM helpers.  Text is always inserted as text nodes, never parsed as
// HTML: documents are user data and their keys and values may hold markup.

/**
 * Create an element.  `props`: `class`, `dataset`, `on<event>` listeners,
 * `text`, or attributes; `children`: nodes or values shown as text.
 * @param {string} tag
 * @param {Record<string, any>} [props]
 * @param {...any} children
 * @returns {HTMLElement}
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value == null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "text") el.textContent = String(value);
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  appendChildren(el, children);
  return el;
}

/** @param {Node} el @param {any[]} children */
export function appendChildren(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/** @param {Element} el @param {...any} children */
export function replace(el, ...children) {
  el.replaceChildren();
  appendChildren(el, children);
}

const STORE_PREFIX = "systables.";

/** Read a JSON value kept in localStorage (missing or unreadable: `fallback`). */
export function loadSetting(name, fallback) {
  try {
    const raw = localStorage.getItem(STORE_PREFIX + name);
    return raw == null ? fallback : JSON.parse(raw);
  } catch {
    return fallback;
  }
}

export function saveSetting(name, value) {
  try {
    localStorage.setItem(STORE_PREFIX + name, JSON.stringify(value));
  } catch {
    // Storage full or disabled: settings simply do not persist.
  }
}

/**
 * Make `container`'s children the elements of `items`, in order, keeping the
 * element of an item whose key was already shown (so focus, open forms and
 * in-flight clicks survive a refresh).  `create(item)` returns `{el, ...}`;
 * `update(entry, item)` refreshes an existing one.
 * @param {Map<string, any>} entries key -> entry, kept by the caller between calls
 */
export function syncKeyed(container, entries, items, keyOf, create, update) {
  const seen = new Set();
  let previous = null;
  for (const item of items) {
    const key = keyOf(item);
    seen.add(key);
    let entry = entries.get(key);
    if (!entry) {
      entry = create(item);
      entries.set(key, entry);
    }
    update(entry, item);
    const expected = previous ? previous.nextSibling : container.firstChild;
    if (expected !== entry.el) container.insertBefore(entry.el, expected);
    previous = entry.el;
  }
  for (const [key, entry] of entries) {
    if (!seen.has(key)) {
      entry.el.remove();
      entries.delete(key);
    }
  }
}

/** Set an element's text only when it changed (keeps selections). */
export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}
