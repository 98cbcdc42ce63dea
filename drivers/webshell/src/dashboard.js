// The dashboard: servers, tables, indexes and issues at a glance, and live
// graphs of documents read and written per second, for the whole server and
// for each table, from `rethinkdb.stats`.
//
// The stats rows are pushed by a changefeed, but a stats feed says nothing
// while the rates stand still (an idle server sends nothing at all), so the
// graphs are advanced by a timer, one sample a second of the rows as last
// pushed.  The cards (counts of servers, tables, indexes, issues) have no
// single feed: they are read in one query, every OVERVIEW_MS.
import { LineChart } from "./chart.js";
import { h, replace } from "./dom.js";
import { FeedSource, messageOf, Poller } from "./live.js";
import { r } from "./reql.js";

const SAMPLE_MS = 1000;
const OVERVIEW_MS = 2000;
const MAX_TABLE_CHARTS = 12;
const SERIES = [
  { key: "read", label: "reads" },
  { key: "written", label: "writes" },
];

function overviewQuery() {
  const system = r.db("rethinkdb");
  return r.expr({
    servers: system.table("server_status").pluck("id", "name").coerceTo("array"),
    tables: system.table("table_config").pluck("id", "db", "name", "indexes").coerceTo("array"),
    databases: r.dbList().count().sub(1), // without the system database
    building: system.table("jobs").filter({ type: "index_construction" }).count(),
    issues: system.table("current_issues").pluck("type", "description").coerceTo("array"),
  });
}

function rates(queryEngine) {
  return { read: queryEngine?.read_docs_per_sec ?? 0, written: queryEngine?.written_docs_per_sec ?? 0 };
}

export class Dashboard {
  /** @param {HTMLElement} container */
  constructor(container) {
    this.cards = h("div", { class: "cards", role: "list", "aria-label": "At a glance" });
    this.problem = h("div", { class: "page-problem", role: "alert", hidden: true });
    this.serverChart = new LineChart({ title: "Server: documents per second", series: SERIES });
    this.serverChart.el.classList.add("chart-main");
    this.tableCharts = new Map(); // table id -> LineChart
    this.tableGrid = h("div", { class: "chart-grid-tables" });
    this.tableNote = h("p", { class: "hint" });
    this.issues = h("ul", { class: "issues" });
    replace(
      container,
      h("h1", { class: "page-title", tabindex: "-1" }, "Dashboard"),
      this.problem,
      this.cards,
      this.issues,
      h("section", { class: "charts", "aria-label": "Live graphs" }, this.serverChart.el, h("h2", { class: "section-title" }, "Tables"), this.tableGrid),
    );
    this.stats = null; // the rows of rethinkdb.stats, as last pushed
    this.problems = { stats: null, overview: null };
    this.statsFeed = new FeedSource({
      feed: () => r.db("rethinkdb").table("stats").changes({ includeInitial: true, includeStates: true }),
      onValue: (rows) => {
        const first = this.stats === null;
        this.stats = rows;
        this.report("stats", null);
        if (first) this.sample();
      },
      onError: (error) => this.report("stats", `Cannot follow rethinkdb.stats: ${messageOf(error)}`),
    });
    this.poller = new Poller({
      query: overviewQuery,
      periodMs: OVERVIEW_MS,
      onValue: (value) => {
        this.report("overview", null);
        this.update(value);
      },
      onError: (error) => this.report("overview", `Cannot read the system tables: ${messageOf(error)}`),
    });
  }

  show() {
    this.stats = null;
    this.statsFeed.start();
    this.poller.start();
    this.sampler = setInterval(() => this.sample(), SAMPLE_MS);
  }

  hide() {
    clearInterval(this.sampler);
    this.statsFeed.stop();
    this.poller.stop();
  }

  report(source, problem) {
    this.problems[source] = problem;
    const text = Object.values(this.problems).filter(Boolean).join(" · ");
    this.problem.hidden = !text;
    this.problem.textContent = text;
  }

  /** One sample of every graph from the stats rows as last pushed. */
  sample() {
    if (!this.stats) return;
    const server = this.stats.find((row) => row.id[0] === "server");
    this.serverChart.push(rates(server?.query_engine));
    this.updateTableCharts(this.stats.filter((row) => row.id[0] === "table"));
  }

  update({ servers, tables, databases, building, issues }) {
    const server = this.stats?.find((row) => row.id[0] === "server");
    const indexCount = tables.reduce((n, t) => n + (t.indexes?.length ?? 0), 0);
    replace(
      this.cards,
      card("servers", "Servers", `${servers.length}`, `${servers.length === 1 ? "server" : "servers"} connected`),
      card("tables", "Tables", `${tables.length}`, `in ${databases} ${databases === 1 ? "database" : "databases"}`),
      card("indexes", "Indexes", `${indexCount}`, building ? `${building} building` : "all ready"),
      card("issues", "Issues", `${issues.length}`, issues.length ? "need attention" : "no issues", issues.length ? "bad" : "good"),
      card("connections", "Connections", `${server?.query_engine?.client_connections ?? 0}`, "driver clients"),
    );
    replace(this.issues, issues.map((issue) => h("li", { class: "issue", role: "alert" }, h("strong", {}, issue.type), " ", issue.description)));
  }

  /** One chart per table (by name, up to MAX_TABLE_CHARTS); charts of dropped tables go. */
  updateTableCharts(rows) {
    rows.sort((a, b) => `${a.db}.${a.table}`.localeCompare(`${b.db}.${b.table}`));
    const shown = rows.slice(0, MAX_TABLE_CHARTS);
    const ids = new Set(shown.map((row) => row.id[1]));
    for (const [id, chart] of this.tableCharts) {
      if (!ids.has(id)) {
        chart.el.remove();
        this.tableCharts.delete(id);
      }
    }
    for (const row of shown) {
      let chart = this.tableCharts.get(row.id[1]);
      if (!chart) {
        chart = new LineChart({ title: `${row.db}.${row.table}`, series: SERIES });
        chart.el.dataset.table = `${row.db}.${row.table}`;
        this.tableCharts.set(row.id[1], chart);
      }
      chart.push(rates(row.query_engine));
      this.tableGrid.append(chart.el); // keeps the name order
    }
    const hidden = rows.length - shown.length;
    this.tableNote.textContent = !rows.length ? "No tables yet." : hidden ? `and ${hidden} more tables` : "";
    this.tableNote.hidden = !this.tableNote.textContent;
    this.tableGrid.append(this.tableNote);
  }
}

function card(key, label, value, detail, state = "") {
  return h("div", { class: `card ${state}`, role: "listitem", dataset: { card: key } }, h("div", { class: "card-label" }, label), h("div", { class: "card-value" }, value), h("div", { class: "card-detail" }, detail));
}
