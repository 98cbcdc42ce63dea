// The tables page: databases and their tables with document counts, shards
// and replicas; create, rename and drop; secondary indexes with their build
// progress, and pause, resume and priority of builds (their jobs rows).
import { h, replace, setText, syncKeyed } from "./dom.js";
import { formatDuration } from "./format.js";
import { controlBuild, PRIORITIES, progressOf } from "./jobcontrol.js";
import { LiveConnection, messageOf, Poller } from "./live.js";
import { r } from "./reql.js";

// Polled, not fed: document counts are counted (no system table row changes
// when a table's documents do), and an index build's progress is read with them.
const PERIOD_MS = 700;
const SYSTEM_DB = "rethinkdb";

function tablesQuery() {
  const system = r.db("rethinkdb");
  return r.expr({
    databases: r.dbList().filter((db) => db.ne(SYSTEM_DB)),
    tables: system.table("table_config").orderBy("db", "name").map((t) => {
      const table = r.db(t("db")).table(t("name"));
      return {
        id: t("id"),
        db: t("db"),
        name: t("name"),
        primary_key: t("primary_key"),
        shards: t("shards"),
        ready: system.table("table_status").get(t("id"))("status")("all_replicas_ready").default(false),
        count: table.count(),
        indexes: table.indexStatus().pluck("index", "ready", "progress", "multi", "geo"),
      };
    }).coerceTo("array"),
    builds: system.table("jobs").filter({ type: "index_construction" }).coerceTo("array"),
  });
}

export class TablesPage {
  /** @param {HTMLElement} container */
  constructor(container) {
    this.actions = new LiveConnection();
    this.databases = new Map(); // db name -> section entry
    this.message = h("div", { class: "page-message", role: "status", hidden: true });
    this.list = h("div", { class: "db-list" });
    this.dbSelect = h("select", { id: "new-table-db", "aria-label": "Database of the new table" });
    replace(container, h("h1", { class: "page-title", tabindex: "-1" }, "Tables"), this.forms(), this.message, this.list);
    this.poller = new Poller({
      query: tablesQuery,
      periodMs: PERIOD_MS,
      onValue: (value) => this.update(value),
      onError: (error) => {
        this.say(`Cannot list tables: ${messageOf(error)}`, "fail");
        this.listingFailed = true; // cleared by the next listing that works
      },
    });
  }

  show() {
    this.poller.start();
  }

  hide() {
    this.poller.stop();
  }

  forms() {
    const dbName = h("input", { id: "new-db-name", "aria-label": "Name of the new database", placeholder: "database name", required: true });
    const tableName = h("input", { id: "new-table-name", "aria-label": "Name of the new table", placeholder: "table name", required: true });
    const primaryKey = h("input", { id: "new-table-pkey", "aria-label": "Primary key of the new table", placeholder: "primary key (id)" });
    return h(
      "div",
      { class: "forms" },
      form("new-db", "Add a database", [dbName], "Add database", () => this.act(r.dbCreate(dbName.value.trim()), `Created database ${dbName.value.trim()}.`, () => (dbName.value = ""))),
      form("new-table", "Add a table", [this.dbSelect, tableName, primaryKey], "Add table", () => {
        const options = primaryKey.value.trim() ? { primaryKey: primaryKey.value.trim() } : {};
        const name = tableName.value.trim();
        return this.act(r.db(this.dbSelect.value).tableCreate(name, options), `Created table ${this.dbSelect.value}.${name}.`, () => (tableName.value = primaryKey.value = ""));
      }),
    );
  }

  /** Run an action's query, say how it went, and refresh at once. */
  async act(term, success, after = () => {}) {
    try {
      await this.actions.value(term);
      this.say(success, "ok");
      after();
    } catch (error) {
      this.say(messageOf(error), "fail");
    }
    this.poller.refresh();
  }

  say(text, outcome) {
    this.listingFailed = false;
    this.message.hidden = false;
    this.message.dataset.outcome = outcome;
    replace(this.message, text, h("button", { type: "button", class: "dismiss", "aria-label": "Dismiss", onclick: () => (this.message.hidden = true) }, "×"));
  }

  update({ databases, tables, builds }) {
    if (this.listingFailed) {
      this.listingFailed = false;
      this.message.hidden = true;
    }
    this.updateDbSelect(databases);
    const byDb = new Map(databases.map((db) => [db, []]));
    for (const table of tables) if (byDb.has(table.db)) byDb.get(table.db).push(table);
    const buildOf = new Map(builds.map((job) => [buildKey(job.info.db, job.info.table, job.info.index), job]));
    syncKeyed(
      this.list,
      this.databases,
      [...byDb].map(([db, list]) => ({ db, tables: list })),
      (item) => item.db,
      (item) => new DatabaseSection(this, item.db),
      (section, item) => section.update(item.tables, buildOf),
    );
    showHint(this.list, databases.length ? "" : "No databases yet.");
  }

  updateDbSelect(databases) {
    const current = this.dbSelect.value;
    const names = [...this.dbSelect.options].map((o) => o.value);
    if (names.join("\n") === databases.join("\n")) return;
    replace(this.dbSelect, databases.map((db) => h("option", { value: db, selected: db === current }, db)));
  }
}

function buildKey(db, table, index) {
  return JSON.stringify([db, table, index]);
}

/** A small labelled form whose submit runs `onSubmit` (Enter works in every field). */
function form(id, legend, fields, label, onSubmit) {
  return h(
    "form",
    {
      class: "inline-form",
      id,
      onsubmit: (event) => {
        event.preventDefault();
        onSubmit();
      },
    },
    h("fieldset", {}, h("legend", {}, legend), fields, h("button", { type: "submit", class: "primary" }, label)),
  );
}

class DatabaseSection {
  constructor(page, db) {
    this.page = page;
    this.db = db;
    this.tables = new Map();
    this.list = h("div", { class: "table-cards" });
    this.confirm = h("span", { class: "confirm" });
    this.el = h(
      "section",
      { class: "db-section", dataset: { db }, "aria-label": `Database ${db}` },
      h("h2", { class: "db-title" }, h("span", { class: "db-name" }, db), h("span", { class: "spacer" }), this.confirm, h("button", { type: "button", class: "drop-db", onclick: () => this.askDrop() }, "Drop database")),
      this.list,
    );
  }

  askDrop() {
    confirmInline(this.confirm, `Drop database ${this.db} and all its tables?`, () => this.page.act(r.dbDrop(this.db), `Dropped database ${this.db}.`));
  }

  update(tables, buildOf) {
    syncKeyed(this.list, this.tables, tables, (t) => t.id, (t) => new TableCard(this.page, t), (card, t) => card.update(t, buildOf));
    showHint(this.list, tables.length ? "" : "No tables.");
  }
}

/** A hint after a keyed list (removed when `text` is empty). */
function showHint(list, text) {
  const hint = list.querySelector(":scope > .list-hint");
  if (!text) return hint?.remove();
  if (hint) setText(hint, text);
  else list.append(h("p", { class: "hint list-hint" }, text));
}

/** "Sure? [Yes] [Cancel]" in place of a button, for destructive actions. */
function confirmInline(container, question, onYes) {
  const done = () => replace(container);
  replace(
    container,
    question,
    " ",
    h("button", { type: "button", class: "danger confirm-yes", onclick: () => (done(), onYes()) }, "Yes, drop"),
    h("button", { type: "button", class: "confirm-cancel", onclick: done }, "Cancel"),
  );
  container.querySelector(".confirm-cancel").focus();
}

class TableCard {
  constructor(page, table) {
    this.page = page;
    this.indexes = new Map();
    this.parts = {
      name: h("h3", { class: "table-name" }),
      count: h("span", { class: "doc-count" }),
      key: h("span", { class: "table-meta" }),
      shards: h("span", { class: "table-meta" }),
      status: h("span", { class: "table-status" }),
      form: h("div", { class: "card-form" }),
      indexes: h("tbody", {}),
    };
    const p = this.parts;
    this.el = h(
      "article",
      { class: "table-card", dataset: { table: `${table.db}.${table.name}` } },
      h("header", { class: "table-head" }, p.name, p.count, p.key, p.shards, p.status, h("span", { class: "spacer" }),
        h("button", { type: "button", class: "rename-table", onclick: () => this.askRename() }, "Rename"),
        h("button", { type: "button", class: "drop-table", onclick: () => this.askDrop() }, "Drop")),
      p.form,
      h("table", { class: "index-table" }, h("caption", {}, "Secondary indexes"), h("thead", {}, h("tr", {}, ["Index", "Kind", "Status", "Actions"].map((c) => h("th", { scope: "col" }, c)))), p.indexes),
      this.indexForm(),
    );
  }

  get label() {
    return `${this.table.db}.${this.table.name}`;
  }

  update(table, buildOf) {
    this.table = table;
    const p = this.parts;
    setText(p.name, table.name);
    setText(p.count, `${table.count.toLocaleString("en-US")} ${table.count === 1 ? "document" : "documents"}`);
    setText(p.key, `primary key ${table.primary_key}`);
    const replicas = Math.max(1, ...table.shards.map((s) => s.replicas.length));
    setText(p.shards, `${table.shards.length} ${table.shards.length === 1 ? "shard" : "shards"}, ${replicas} ${replicas === 1 ? "replica" : "replicas"}`);
    setText(p.status, table.ready ? "ready" : "not ready");
    p.status.dataset.state = table.ready ? "ok" : "fail";
    this.el.dataset.table = this.label;
    const items = table.indexes.map((ix) => ({ ...ix, build: buildOf.get(buildKey(table.db, table.name, ix.index)) }));
    syncKeyed(p.indexes, this.indexes, items, (ix) => ix.index, (ix) => new IndexRow(this, ix), (row, ix) => row.update(ix));
    if (!items.length) replace(p.indexes, h("tr", { class: "no-indexes" }, h("td", { colspan: 4, class: "hint" }, "No secondary indexes.")));
    else p.indexes.querySelector(".no-indexes")?.remove();
  }

  askRename() {
    const input = h("input", { class: "rename-input", value: this.table.name, "aria-label": `New name of table ${this.label}`, required: true });
    replace(
      this.parts.form,
      form(`rename-${this.table.id}`, `Rename ${this.label}`, [input], "Rename", () => {
        const name = input.value.trim();
        replace(this.parts.form);
        this.page.act(r.db(this.table.db).table(this.table.name).config().update({ name }), `Renamed ${this.label} to ${name}.`);
      }),
      h("button", { type: "button", class: "confirm-cancel", onclick: () => replace(this.parts.form) }, "Cancel"),
    );
    input.focus();
    input.select();
  }

  askDrop() {
    confirmInline(this.parts.form, `Drop table ${this.label} and its documents?`, () => this.page.act(r.db(this.table.db).tableDrop(this.table.name), `Dropped table ${this.label}.`));
  }

  indexForm() {
    const name = h("input", { class: "index-name", "aria-label": "Name of the new index", placeholder: "index name", required: true });
    const field = h("input", { class: "index-field", "aria-label": "Field to index (default: the index name)", placeholder: "field (default: the name)" });
    const multi = h("input", { type: "checkbox", class: "index-multi" });
    return form(null, "Add a secondary index", [name, field, h("label", { class: "option" }, multi, " multi")], "Add index", () => {
      const t = r.db(this.table.db).table(this.table.name);
      const fieldName = field.value.trim() || name.value.trim();
      this.page.act(t.indexCreate(name.value.trim(), r.row(fieldName), { multi: multi.checked }), `Creating index ${name.value.trim()} on ${this.label}.`, () => (name.value = field.value = ""));
    });
  }
}

class IndexRow {
  constructor(card, ix) {
    this.card = card;
    this.parts = {
      name: h("th", { scope: "row", class: "index-name-cell" }),
      kind: h("td", {}),
      bar: h("progress", { max: "1", value: "0" }),
      percent: h("span", { class: "index-percent" }),
      state: h("span", { class: "index-state" }),
      controls: h("div", { class: "index-controls" }),
    };
    const p = this.parts;
    this.el = h("tr", { class: "index-row", dataset: { index: ix.index } }, p.name, p.kind, h("td", {}, h("div", { class: "index-status" }, p.state, p.bar, p.percent)), h("td", {}, p.controls));
    this.shape = null;
  }

  update(ix) {
    this.ix = ix;
    const p = this.parts;
    setText(p.name, ix.index);
    setText(p.kind, [ix.multi && "multi", ix.geo && "geo"].filter(Boolean).join(", ") || "simple");
    const build = ix.build;
    const progress = ix.ready ? 1 : build ? progressOf(build) ?? ix.progress ?? 0 : ix.progress ?? 0;
    const phase = ix.ready ? "ready" : build?.info?.phase ?? "building";
    this.el.dataset.state = phase;
    p.bar.hidden = ix.ready;
    p.percent.hidden = ix.ready;
    p.bar.value = progress;
    p.bar.setAttribute("aria-label", `Build progress of index ${ix.index} on ${this.card.label}`);
    setText(p.percent, `${(progress * 100).toFixed(1)}%`);
    const eta = build?.info?.eta_sec;
    setText(p.state, ix.ready ? "ready" : `${phase}${eta != null && phase === "building" ? `, ${formatDuration(eta)} left` : ""}`);
    this.renderControls(build, phase);
  }

  /** Build controls while building; a Drop button always.  Rebuilt only when their shape changes. */
  renderControls(build, phase) {
    const priority = build?.info?.priority ?? "normal";
    const shape = `${build ? build.id[1] : "-"}|${phase}|${priority}`;
    if (shape === this.shape) return;
    this.shape = shape;
    const label = `index ${this.ix.index} on ${this.card.label}`;
    const page = this.card.page;
    const control = (change, what) => async () => {
      try {
        await controlBuild(page.actions, build.id, change);
        page.say(`${what} the build of ${label}.`, "ok");
      } catch (error) {
        page.say(messageOf(error), "fail");
      }
      page.poller.refresh();
    };
    const controls = [];
    if (build) {
      const paused = phase === "paused";
      controls.push(h("button", { type: "button", class: paused ? "resume-build" : "pause-build", "aria-label": `${paused ? "Resume" : "Pause"} the build of ${label}`, onclick: control({ paused: !paused }, paused ? "Resumed" : "Paused") }, paused ? "Resume" : "Pause"));
      const select = h("select", { class: "build-priority", "aria-label": `Priority of the build of ${label}` }, PRIORITIES.map((p) => h("option", { value: p, selected: p === priority }, `${p} priority`)));
      select.addEventListener("change", () => control({ priority: select.value }, `Set ${select.value} priority for`)());
      controls.push(select);
    }
    const t = r.db(this.card.table.db).table(this.card.table.name);
    controls.push(h("button", { type: "button", class: "drop-index", "aria-label": `Drop ${label}`, onclick: () => page.act(t.indexDrop(this.ix.index), `Dropped ${label}.`) }, "Drop"));
    replace(this.parts.controls, controls);
  }
}
