// A query's profile as a tree (RethinkDB issue #1608): each event with its
// duration and a bar showing its share of the whole query; sub-tasks nest,
// parallel tasks are grouped.  The raw profile stays one click away.
import { h } from "./dom.js";
import { formatMs } from "./format.js";

function durationOf(event) {
  if (!event || typeof event !== "object") return 0;
  if (typeof event["duration(ms)"] === "number") return event["duration(ms)"];
  // Sampled events (e.g. "Read documents.") give a mean over their samples.
  if (typeof event["mean_duration(ms)"] === "number") return event["mean_duration(ms)"] * (event.n_samples ?? 1);
  if (Array.isArray(event.parallel_tasks)) return Math.max(0, ...event.parallel_tasks.map(totalOf));
  return 0;
}

function totalOf(events) {
  return Array.isArray(events) ? events.reduce((sum, event) => sum + durationOf(event), 0) : 0;
}

/** @param {any[]} profile the `profile` of a query's answer */
export function profileView(profile) {
  const total = totalOf(profile) || 1;
  return h(
    "div",
    { class: "profile" },
    h("div", { class: "profile-total" }, `Server time ${formatMs(totalOf(profile))}, ${countEvents(profile)} events`),
    h("ul", { class: "profile-tree", role: "tree", "aria-label": "Query profile" }, eventNodes(profile, total)),
    h("details", { class: "profile-raw" }, h("summary", {}, "Profile as JSON"), h("pre", { class: "raw" }, JSON.stringify(profile, null, 2))),
  );
}

function countEvents(events) {
  if (!Array.isArray(events)) return 0;
  return events.reduce((n, e) => n + 1 + countEvents(e?.sub_tasks) + (e?.parallel_tasks ?? []).reduce((m, tasks) => m + countEvents(tasks), 0), 0);
}

function eventNodes(events, total) {
  return (Array.isArray(events) ? events : []).map((event) => eventNode(event, total));
}

function eventNode(event, total) {
  const duration = durationOf(event);
  const parallel = Array.isArray(event?.parallel_tasks);
  const label = parallel ? `${event.parallel_tasks.length} tasks in parallel` : event?.description ?? "(event)";
  const samples = typeof event?.n_samples === "number" ? ` · ${event.n_samples} samples, mean ${formatMs(event["mean_duration(ms)"])}` : "";
  const children = parallel
    ? event.parallel_tasks.map((tasks, i) => h("li", { class: "profile-branch", role: "treeitem" }, h("div", { class: "profile-label" }, `task ${i + 1}`), h("ul", { role: "group" }, eventNodes(tasks, total))))
    : eventNodes(event?.sub_tasks, total);
  const share = Math.min(1, duration / total);
  const head = h(
    "div",
    { class: "profile-event" },
    h("span", { class: "profile-bar", "aria-hidden": "true" }, h("span", { style: `width: ${(share * 100).toFixed(1)}%` })),
    h("span", { class: "profile-description" }, label),
    h("span", { class: "profile-duration" }, formatMs(duration), samples),
  );
  if (!children.length) return h("li", { class: "profile-node", role: "treeitem" }, head);
  return h("li", { class: "profile-node", role: "treeitem", "aria-expanded": "true" }, h("details", { open: true }, h("summary", {}, head), h("ul", { role: "group" }, children)));
}
