// Tree view: documents as collapsible JSON, keys sorted, pseudo-types readable.
import { h } from "./dom.js";
import { formatPseudo, isPlainObject } from "./format.js";

function scalar(value) {
  if (value === null) return h("span", { class: "j-null" }, "null");
  switch (typeof value) {
    case "string":
      return h("span", { class: "j-string" }, JSON.stringify(value));
    case "number":
      return h("span", { class: "j-number" }, String(value));
    case "boolean":
      return h("span", { class: "j-bool" }, String(value));
    default:
      return h("span", {}, String(value));
  }
}

function node(value) {
  const pseudo = formatPseudo(value);
  if (pseudo !== null) return h("span", { class: "j-pseudo", title: JSON.stringify(value) }, pseudo);
  if (Array.isArray(value)) return container("[", "]", value.map((item) => [null, item]), `${value.length} items`);
  if (isPlainObject(value)) {
    const keys = Object.keys(value).sort();
    return container("{", "}", keys.map((key) => [key, value[key]]), `${keys.length} keys`);
  }
  return scalar(value);
}

function container(open, close, entries, summary) {
  if (!entries.length) return h("span", { class: "j-punct" }, open + close);
  const toggle = h("button", { class: "j-toggle", type: "button", "aria-expanded": "true", title: "Collapse" }, "▾");
  const body = h(
    "div",
    { class: "j-body" },
    entries.map(([key, item], i) =>
      h(
        "div",
        { class: "j-entry" },
        key === null ? null : [h("span", { class: "j-key" }, JSON.stringify(key)), h("span", { class: "j-punct" }, ": ")],
        node(item),
        i < entries.length - 1 ? h("span", { class: "j-punct" }, ",") : null,
      ),
    ),
  );
  const folded = h("span", { class: "j-folded", hidden: true }, ` … ${summary} `);
  const wrapper = h("span", { class: "j-container" }, toggle, h("span", { class: "j-punct" }, open), folded, body, h("span", { class: "j-punct" }, close));
  toggle.addEventListener("click", () => {
    const collapse = !body.hidden;
    body.hidden = collapse;
    folded.hidden = !collapse;
    toggle.textContent = collapse ? "▸" : "▾";
    toggle.setAttribute("aria-expanded", String(!collapse));
    toggle.title = collapse ? "Expand" : "Collapse";
  });
  return wrapper;
}

/** The tree of each row, numbered from `firstIndex`. */
export function treeView(rows, firstIndex) {
  return h(
    "ol",
    { class: "tree", start: firstIndex + 1 },
    rows.map((row) => h("li", { class: "tree-row" }, node(row))),
  );
}
