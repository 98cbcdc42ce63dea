// The servers page: one row per server (one until clustering exists) with
// its name, tags, uptime, versions, connections and addresses.
import { h, replace, syncKeyed } from "./dom.js";
import { formatDuration } from "./format.js";
import { messageOf, Poller } from "./live.js";
import { r } from "./reql.js";

// Polled, not fed: what moves here (uptime, connections) moves on its own.
const PERIOD_MS = 2000;

function serversQuery() {
  const system = r.db("rethinkdb");
  return system.table("server_status").orderBy("name").map((s) => ({
    id: s("id"),
    name: s("name"),
    tags: system.table("server_config").get(s("id"))("tags").default([]),
    hostname: s("network")("hostname"),
    reql_port: s("network")("reql_port"),
    http_port: s("network")("http_admin_port"),
    cluster_port: s("network")("cluster_port"),
    version: s("process")("version"),
    pid: s("process")("pid"),
    cache_mb: s("process")("cache_size_mb"),
    uptime: r.now().sub(s("process")("time_started")),
    connections: system.table("stats").get(["server", s("id")])("query_engine")("client_connections").default(0),
  })).coerceTo("array");
}

const COLUMNS = ["Name", "Tags", "Uptime", "Version", "Connections", "Host and ports", "Process"];

export class ServersPage {
  /** @param {HTMLElement} container */
  constructor(container) {
    this.rows = new Map();
    this.body = h("tbody");
    this.problem = h("div", { class: "page-problem", role: "alert", hidden: true });
    replace(
      container,
      h("h1", { class: "page-title", tabindex: "-1" }, "Servers"),
      this.problem,
      h("div", { class: "table-scroll" }, h("table", { class: "grid servers-table" }, h("thead", {}, h("tr", {}, COLUMNS.map((c) => h("th", { scope: "col" }, c)))), this.body)),
      h("p", { class: "hint" }, "One server until clustering exists; a cluster will list each of its servers here."),
    );
    this.poller = new Poller({
      query: serversQuery,
      periodMs: PERIOD_MS,
      onValue: (servers) => this.update(servers),
      onError: (error) => {
        this.problem.hidden = false;
        this.problem.textContent = `Cannot read server_status: ${messageOf(error)}`;
      },
    });
  }

  show() {
    this.poller.start();
  }

  hide() {
    this.poller.stop();
  }

  update(servers) {
    this.problem.hidden = true;
    syncKeyed(this.body, this.rows, servers, (s) => s.id, () => ({ el: h("tr", { class: "server-row" }) }), (row, s) => fillRow(row.el, s));
  }
}

function fillRow(el, s) {
  el.dataset.server = s.name;
  replace(
    el,
    h("th", { scope: "row", class: "server-name" }, s.name, h("div", { class: "hint" }, s.id)),
    h("td", { class: "server-tags" }, s.tags.map((tag) => h("span", { class: "tag" }, tag))),
    h("td", { class: "server-uptime" }, formatDuration(s.uptime)),
    h("td", { class: "server-version" }, s.version),
    h("td", { class: "server-connections" }, String(s.connections)),
    h("td", { class: "server-address" }, s.hostname, h("div", { class: "hint" }, `driver ${s.reql_port} · http ${s.http_port} · cluster ${s.cluster_port}`)),
    h("td", { class: "server-process" }, `pid ${s.pid}`, h("div", { class: "hint" }, `cache ${s.cache_mb} MB`)),
  );
}
