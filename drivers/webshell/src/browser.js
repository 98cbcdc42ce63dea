// The table browser: databases and their tables with document counts.
// Clicking a table shows its first documents.  The names also feed the
// editor's autocompletion.
import { h, replace } from "./dom.js";
import { closeQuietly, connect, r, run } from "./reql.js";

const NAMES_REFRESH_MS = 5000;
const COUNT_CONCURRENCY = 4;
const SYSTEM_DB = "rethinkdb";

export class TableBrowser {
  /**
   * @param {HTMLElement} container
   * @param {{onOpen: (db: string, table: string) => void}} handlers
   */
  constructor(container, { onOpen }) {
    this.container = container;
    this.onOpen = onOpen;
    this.conn = null;
    this.databases = []; // [{db, tables: [name]}]
    this.counts = new Map(); // "db.table" -> number | Error
    this.countGeneration = 0;
    this.list = h("div", { class: "browser-list" });
    this.problem = h("div", { class: "browser-problem", hidden: true });
    replace(
      container,
      h(
        "div",
        { class: "panel-title" },
        "Tables",
        h("span", { class: "spacer" }),
        h("button", { type: "button", class: "refresh", title: "Refresh names and counts", onclick: () => this.refresh(true) }, "↻"),
      ),
      this.problem,
      this.list,
    );
  }

  /** Database name -> table names, for autocompletion. */
  names() {
    return new Map(this.databases.map(({ db, tables }) => [db, tables]));
  }

  start() {
    this.refresh(true);
    this.timer = setInterval(() => this.refresh(false), NAMES_REFRESH_MS);
  }

  stop() {
    clearInterval(this.timer);
  }

  /** Reload the names; recount when asked or when the set of tables changed. */
  async refresh(recount) {
    let databases;
    try {
      if (!this.conn) this.conn = await connect();
      const { value } = await run(
        r.dbList().map((db) => ({ db, tables: r.db(db).tableList() })),
        this.conn,
      );
      // User databases by name, then the system database.
      databases = value.sort((a, b) => (a.db === SYSTEM_DB) - (b.db === SYSTEM_DB) || (a.db < b.db ? -1 : a.db > b.db ? 1 : 0));
      this.problem.hidden = true;
    } catch (error) {
      this.problem.hidden = false;
      this.problem.textContent = `Cannot list tables: ${error && error.message ? error.message : error}`;
      closeQuietly(this.conn);
      this.conn = null;
      return;
    }
    const changed = JSON.stringify(databases) !== JSON.stringify(this.databases);
    this.databases = databases;
    if (changed || recount) {
      this.render();
      this.countAll();
    }
  }

  render() {
    replace(
      this.list,
      this.databases.map(({ db, tables }) =>
        h(
          "details",
          { class: "browser-db", open: db !== SYSTEM_DB, dataset: { db } },
          h("summary", {}, h("span", { class: "db-name" }, db), h("span", { class: "badge" }, String(tables.length))),
          tables.length
            ? h(
                "ul",
                { class: "browser-tables" },
                tables.map((table) =>
                  h(
                    "li",
                    {},
                    h(
                      "button",
                      { type: "button", class: "browser-table", dataset: { db, table }, title: `Show the first documents of ${db}.${table}`, onclick: () => this.onOpen(db, table) },
                      h("span", { class: "table-name" }, table),
                      h("span", { class: "table-count", dataset: { key: `${db}.${table}` } }, countText(this.counts.get(`${db}.${table}`))),
                    ),
                  ),
                ),
              )
            : h("p", { class: "browser-empty" }, "no tables"),
        ),
      ),
    );
  }

  /** Count every table, a few at a time, updating each badge as it arrives. */
  async countAll() {
    const generation = ++this.countGeneration;
    const pending = this.databases.flatMap(({ db, tables }) => tables.map((table) => [db, table]));
    const worker = async () => {
      while (pending.length && generation === this.countGeneration) {
        const [db, table] = pending.shift();
        const key = `${db}.${table}`;
        try {
          this.counts.set(key, (await run(r.db(db).table(table).count(), this.conn)).value);
        } catch (error) {
          this.counts.set(key, error);
        }
        const badge = this.list.querySelector(`.table-count[data-key="${CSS.escape(key)}"]`);
        if (badge) {
          badge.textContent = countText(this.counts.get(key));
          badge.title = this.counts.get(key) instanceof Error ? this.counts.get(key).message : "documents";
        }
      }
    };
    await Promise.all(Array.from({ length: COUNT_CONCURRENCY }, worker));
  }
}

function countText(count) {
  if (count === undefined) return "…";
  if (count instanceof Error) return "?";
  return count.toLocaleString("en-US");
}
