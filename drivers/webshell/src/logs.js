// The logs page: `rethinkdb.logs`, newest first, with a level filter and a
// text search.  Live: a feed on `logs.changes()` pushes each new line; the
// latest SHOWN lines are read once the feed is subscribed.
import { h, replace, syncKeyed } from "./dom.js";
import { formatTime } from "./format.js";
import { FeedSource, messageOf } from "./live.js";
import { r } from "./reql.js";

const SHOWN = 500;
const LEVELS = ["", "debug", "info", "notice", "warn", "error"];
const LOGS = () => r.db("rethinkdb").table("logs");

function newestFirst(a, b) {
  const at = (entry) => entry.timestamp?.epoch_time ?? 0;
  return at(b) - at(a) || (JSON.stringify(b.id) > JSON.stringify(a.id) ? 1 : -1);
}

export class LogsPage {
  /** @param {HTMLElement} container */
  constructor(container) {
    this.rows = new Map();
    this.entries = [];
    this.body = h("tbody");
    this.level = h("select", { id: "log-level", "aria-label": "Show lines of this level" }, LEVELS.map((l) => h("option", { value: l }, l || "all levels")));
    this.search = h("input", { id: "log-search", type: "search", "aria-label": "Show lines containing", placeholder: "search messages" });
    this.count = h("span", { class: "hint", role: "status" });
    this.problem = h("div", { class: "page-problem", role: "alert", hidden: true });
    for (const control of [this.level, this.search]) control.addEventListener("input", () => this.render());
    replace(
      container,
      h("h1", { class: "page-title", tabindex: "-1" }, "Logs"),
      h("div", { class: "filters" }, h("label", {}, "Level ", this.level), h("label", {}, "Search ", this.search), this.count),
      this.problem,
      h("div", { class: "table-scroll" }, h("table", { class: "grid logs-table" }, h("thead", {}, h("tr", {}, ["Time", "Level", "Server", "Message"].map((c) => h("th", { scope: "col" }, c)))), this.body)),
    );
    this.source = new FeedSource({
      feed: () => LOGS().changes(),
      initial: () => LOGS().orderBy(r.desc("timestamp")).limit(SHOWN).coerceTo("array"),
      keep: { limit: SHOWN, order: newestFirst },
      onValue: (entries) => {
        this.problem.hidden = true;
        this.entries = entries.sort(newestFirst);
        this.render();
      },
      onError: (error) => {
        this.problem.hidden = false;
        this.problem.textContent = `Cannot follow rethinkdb.logs: ${messageOf(error)}`;
      },
    });
  }

  show() {
    this.source.start();
  }

  hide() {
    this.source.stop();
  }

  render() {
    const level = this.level.value;
    const needle = this.search.value.trim().toLowerCase();
    const shown = this.entries.filter((e) => (!level || e.level === level) && (!needle || e.message.toLowerCase().includes(needle)));
    this.count.textContent = `${shown.length} of ${this.entries.length} lines (newest first)`;
    syncKeyed(this.body, this.rows, shown, (e) => JSON.stringify(e.id), (e) => ({ el: logRow(e) }), () => {});
  }
}

function logRow(entry) {
  return h(
    "tr",
    { class: "log-row", dataset: { level: entry.level } },
    h("td", { class: "log-time" }, formatTime(entry.timestamp)),
    h("td", { class: "log-level" }, h("span", { class: `level level-${entry.level}` }, entry.level)),
    h("td", { class: "log-server" }, entry.server),
    h("td", { class: "log-message" }, entry.message),
  );
}
