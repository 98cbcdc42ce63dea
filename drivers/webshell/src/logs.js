// The logs page: `rethinkdb.logs`, newest first, read again every second
// (a feed on `logs.changes()` can replace the poller, see live.js), with a
// level filter and a text search.
import { h, replace, syncKeyed } from "./dom.js";
import { formatTime } from "./format.js";
import { messageOf, Poller } from "./live.js";
import { r } from "./reql.js";

const PERIOD_MS = 1000;
const SHOWN = 500;
const LEVELS = ["", "debug", "info", "notice", "warn", "error"];

function logsQuery() {
  return r.db("rethinkdb").table("logs").orderBy(r.desc("timestamp")).limit(SHOWN).coerceTo("array");
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
    this.poller = new Poller({
      query: logsQuery,
      periodMs: PERIOD_MS,
      onValue: (entries) => {
        this.problem.hidden = true;
        this.entries = entries;
        this.render();
      },
      onError: (error) => {
        this.problem.hidden = false;
        this.problem.textContent = `Cannot read rethinkdb.logs: ${messageOf(error)}`;
      },
    });
  }

  show() {
    this.poller.start();
  }

  hide() {
    this.poller.stop();
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
