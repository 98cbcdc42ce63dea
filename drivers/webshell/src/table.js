// Table view: one row per document, columns from the documents' keys
// (nested objects flattened to dotted names, most frequent first).
import { h } from "./dom.js";
import { isPlainObject, pseudoType, shortText } from "./format.js";

const MAX_DEPTH = 3;
const VALUE_COLUMN = "value";

/** Flatten nested plain objects into dotted keys (pseudo-types stay whole). */
function flatten(doc, prefix = "", depth = 0, out = new Map()) {
  for (const key of Object.keys(doc)) {
    const value = doc[key];
    const name = prefix + key;
    if (isPlainObject(value) && !pseudoType(value) && depth < MAX_DEPTH && Object.keys(value).length) {
      flatten(value, `${name}.`, depth + 1, out);
    } else {
      out.set(name, value);
    }
  }
  return out;
}

/** Columns ordered by how many rows have them (then first appearance); `id` first. */
export function columnsOf(flatRows) {
  const counts = new Map();
  for (const row of flatRows) for (const name of row.keys()) counts.set(name, (counts.get(name) || 0) + 1);
  const order = [...counts.keys()];
  return order.sort((a, b) => {
    if (a === "id" || b === "id") return a === "id" ? -1 : 1;
    return counts.get(b) - counts.get(a) || order.indexOf(a) - order.indexOf(b);
  });
}

function cell(row, column) {
  if (!row.has(column)) return h("td", { class: "cell-missing" });
  const value = row.get(column);
  const text = shortText(value, 200);
  const kind = value === null ? "null" : pseudoType(value) ? "pseudo" : Array.isArray(value) ? "array" : typeof value;
  const full = typeof value === "string" ? value : JSON.stringify(value);
  return h("td", { class: `cell-${kind}`, title: full && full.length > 200 ? full.slice(0, 2000) : null }, text);
}

/** A table of `rows`, numbered from `firstIndex`. */
export function tableView(rows, firstIndex) {
  const flatRows = rows.map((row) => (isPlainObject(row) && !pseudoType(row) ? flatten(row) : new Map([[VALUE_COLUMN, row]])));
  const columns = columnsOf(flatRows);
  return h(
    "div",
    { class: "table-scroll" },
    h(
      "table",
      { class: "result-table" },
      h("thead", {}, h("tr", {}, h("th", { class: "row-number" }, "#"), columns.map((name) => h("th", { scope: "col" }, name)))),
      h(
        "tbody",
        {},
        flatRows.map((row, i) => h("tr", {}, h("td", { class: "row-number" }, String(firstIndex + i + 1)), columns.map((name) => cell(row, name)))),
      ),
    ),
  );
}
