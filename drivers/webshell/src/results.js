// The result area: header (row range, server time, paging), view tabs
// (tree, table, raw JSON, profile) and the current page of rows.  Only one
// page is ever in the DOM, so results of any size stay responsive.
import { h, replace, loadSetting, saveSetting } from "./dom.js";
import { datumCount, formatMs } from "./format.js";
import { profileView } from "./profile.js";
import { isCursor, isFeed } from "./reql.js";
import { tableView } from "./table.js";
import { treeView } from "./tree.js";

const TREE_DATUM_LIMIT = 2000; // beyond this a page's tree falls back to raw JSON
const PAGE_SIZES = [20, 40, 100, 200, 500];
const END_OF_CURSOR = "No more rows in the cursor.";
// A STOP the server has not answered in this time is given up: the caller
// closes the connection instead, which ends the feed as surely.
const STOP_WAIT_MS = 3000;
const STOPPED = Symbol("stopped");
const FEED_STATE_LABEL = { live: "live", stopping: "stopping…", stopped: "stopped", ended: "ended", failed: "failed" };
const VIEWS = [
  ["tree", "Tree"],
  ["table", "Table"],
  ["raw", "Raw JSON"],
  ["profile", "Profile"],
];

/** Rows already in memory (an array result or a single value). */
class ArraySource {
  constructor(rows) {
    this.rows = rows;
    this.exhausted = true;
  }

  async fill() {}
}

/** Rows read from a cursor as pages are asked for. */
class CursorSource {
  constructor(cursor) {
    this.cursor = cursor;
    this.rows = [];
    this.exhausted = false;
  }

  /** Read until `count` rows are loaded or the cursor ends. */
  async fill(count) {
    while (!this.exhausted && this.rows.length < count) {
      try {
        this.rows.push(await this.cursor.next());
      } catch (error) {
        if (error && error.message === END_OF_CURSOR) this.exhausted = true;
        else throw error;
      }
    }
  }
}

export class ResultView {
  /** @param {HTMLElement} container */
  constructor(container) {
    this.container = container;
    this.view = loadSetting("view", "tree");
    this.pageSize = loadSetting("pageSize", 40);
    this.generation = 0;
    this.source = null;
    this.timer = null;
    this.feed = null; // the changefeed shown: {cursor, state, error, stop}
    this.onFeed = null; // told the feed's state (null: no feed shown)
    this.showWelcome();
  }

  showWelcome() {
    replace(
      this.container,
      h(
        "div",
        { class: "welcome" },
        h("p", {}, "Type a ReQL query in JavaScript syntax, without .run(), and press Shift+Enter."),
        h("p", { class: "hint" }, 'For example: r.db("rethinkdb").table("jobs")'),
      ),
    );
  }

  /** A query started: show a running indicator with the elapsed time. */
  running() {
    this.stop();
    const started = performance.now();
    const elapsed = h("span", { class: "elapsed" }, "");
    replace(this.container, h("div", { class: "status running", role: "status" }, h("span", { class: "spinner" }), "Running… ", elapsed));
    this.timer = setInterval(() => {
      elapsed.textContent = formatMs(performance.now() - started);
    }, 100);
    return ++this.generation;
  }

  /** Forget the shown result (its cursor dies with its connection). */
  stop() {
    clearInterval(this.timer);
    this.timer = null;
    this.generation++;
    this.source = null;
    if (this.feed) {
      this.feed = null;
      this.feedChanged();
    }
  }

  feedChanged() {
    if (this.onFeed) this.onFeed(this.feed ? this.feed.state : null);
  }

  aborted() {
    this.stop();
    replace(this.container, h("div", { class: "status aborted", role: "status" }, "Query aborted."));
  }

  error(error) {
    this.stop();
    replace(this.container, errorBox(error));
  }

  /** Show a result from `reql.run`; `clientMs` is the round trip seen by the page. */
  async show({ value, profile, serverMs }, clientMs) {
    this.stop();
    const generation = this.generation;
    this.profile = profile;
    this.serverMs = serverMs;
    this.clientMs = clientMs;
    this.isAtom = !isCursor(value) && !Array.isArray(value);
    this.page = 0;
    this.notice = null;
    if (isCursor(value) && isFeed(value)) {
      this.follow(value, generation); // runs until the feed ends or is stopped
      return;
    }
    this.source = isCursor(value) ? new CursorSource(value) : new ArraySource(this.isAtom ? [value] : Array.from(value));
    await this.goTo(0, generation);
  }

  /** Load page `page` (plus one row, to know whether more follow) and render it. */
  async goTo(page, generation = this.generation) {
    const source = this.source;
    this.busy = true;
    this.render();
    try {
      await source.fill((page + 1) * this.pageSize + 1);
      if (generation !== this.generation) return;
      this.page = Math.min(page, Math.max(0, Math.ceil(source.rows.length / this.pageSize) - 1));
      this.notice = null;
    } catch (error) {
      if (generation !== this.generation) return;
      this.notice = cursorLost(error);
    } finally {
      if (generation === this.generation) {
        this.busy = false;
        this.render();
      }
    }
  }

  /**
   * Changefeeds: each change shown as it arrives, newest first, the last
   * page's worth kept, until the feed fails, ends or is stopped (`stopFeed`).
   * The driver's `close()` drops a pending `next()` without ever settling it,
   * so each `next()` races the stop.
   */
  async follow(cursor, generation) {
    this.source = new ArraySource([]);
    this.source.exhausted = false;
    let stop;
    const stopped = new Promise((resolve) => (stop = resolve));
    const feed = (this.feed = { cursor, state: "live", error: null, stop });
    this.feedChanged();
    this.render();
    try {
      for (;;) {
        const change = await Promise.race([cursor.next(), stopped]);
        if (generation !== this.generation) return;
        if (change === STOPPED) break;
        this.source.rows.unshift(change);
        this.source.rows.length = Math.min(this.source.rows.length, this.pageSize);
        this.render();
      }
      feed.state = "stopped";
    } catch (error) {
      if (generation !== this.generation) return;
      if (error && error.message === END_OF_CURSOR) feed.state = "ended";
      else Object.assign(feed, { state: "failed", error });
    }
    this.source.exhausted = true;
    this.feedChanged();
    this.render();
  }

  /**
   * Stop the changefeed shown: STOP is sent and the page returns to idle.
   * Resolves to whether the server answered the STOP in time (if not, the
   * caller closes the connection).
   */
  async stopFeed() {
    const feed = this.feed;
    if (!feed || feed.state !== "live") return true;
    feed.state = "stopping";
    this.feedChanged();
    this.render();
    let answered;
    try {
      answered = await Promise.race([
        Promise.resolve(feed.cursor.close()).then(() => true),
        new Promise((resolve) => setTimeout(() => resolve(false), STOP_WAIT_MS)),
      ]);
    } catch {
      answered = true; // the server answered the STOP with the feed's error
    }
    feed.stop(STOPPED);
    return answered;
  }

  render() {
    const source = this.source;
    if (!source) return;
    const start = this.page * this.pageSize;
    const rows = source.rows.slice(start, start + this.pageSize);
    if (this.view === "profile" && !this.profile) this.view = "tree";
    const failed = this.feed && this.feed.state === "failed";
    replace(
      this.container,
      this.header(start, rows.length),
      failed && h("div", { class: "feed-error" }, h("div", { class: "feed-error-title" }, "The changefeed failed; the changes it had shown are below."), errorBox(this.feed.error)),
      this.tabs(),
      this.notice && h("div", { class: "notice" }, this.notice),
      this.body(rows, start),
    );
  }

  header(start, shown) {
    const source = this.source;
    const more = !source.exhausted || source.rows.length > start + shown;
    let range;
    if (this.isAtom) range = "1 result (a single value)";
    else if (this.feed) range = `Changefeed: ${this.feed.state === "live" && !shown ? "waiting for changes" : `latest ${shown} change${shown === 1 ? "" : "s"} (newest first)`}`;
    else if (!shown) range = this.busy ? "Loading…" : "No results";
    else if (source.exhausted && !this.page && !more) range = `${shown} row${shown === 1 ? "" : "s"}`;
    else range = `Rows ${start + 1}–${start + shown}${source.exhausted ? ` of ${source.rows.length}` : ""}`;
    return h(
      "div",
      { class: "result-header" },
      h("span", { class: "result-range" }, range),
      this.feed && h("span", { class: "feed-state", dataset: { state: this.feed.state } }, FEED_STATE_LABEL[this.feed.state]),
      h("span", { class: "result-time", title: "Time spent by the server on the first batch" }, `server time ${formatMs(this.serverMs)}`),
      h("span", { class: "result-time", title: "Round trip seen by this page" }, `round trip ${formatMs(this.clientMs)}`),
      h("span", { class: "spacer" }),
      this.busy ? h("span", { class: "loading" }, "loading…") : null,
      this.pageSizeSelect(),
      h("button", { type: "button", class: "page-prev", disabled: this.page === 0 || this.busy, onclick: () => this.goTo(this.page - 1) }, "◀ Previous"),
      h("button", { type: "button", class: "page-more", disabled: !more || this.busy || this.feed, onclick: () => this.goTo(this.page + 1) }, "More results ▶"),
    );
  }

  pageSizeSelect() {
    const select = h(
      "select",
      { class: "page-size", title: "Rows per page", "aria-label": "Rows per page" },
      PAGE_SIZES.map((n) => h("option", { value: n, selected: n === this.pageSize }, `${n} / page`)),
    );
    select.addEventListener("change", () => {
      const first = this.page * this.pageSize;
      this.pageSize = Number(select.value);
      saveSetting("pageSize", this.pageSize);
      this.goTo(Math.floor(first / this.pageSize));
    });
    return select;
  }

  tabs() {
    return h(
      "div",
      { class: "view-tabs", role: "tablist" },
      VIEWS.filter(([name]) => name !== "profile" || this.profile).map(([name, label]) =>
        h(
          "button",
          {
            type: "button",
            role: "tab",
            class: `view-tab${this.view === name ? " active" : ""}`,
            dataset: { view: name },
            "aria-selected": String(this.view === name),
            onclick: () => {
              this.view = name;
              saveSetting("view", name);
              this.render();
            },
          },
          label,
        ),
      ),
    );
  }

  body(rows, start) {
    const view = this.view;
    if (view === "profile") return profileView(this.profile);
    if (view === "raw") return rawView(this.isAtom ? rows[0] : rows);
    if (view === "table") return tableView(rows, start);
    if (datumCount(rows, TREE_DATUM_LIMIT + 1) > TREE_DATUM_LIMIT) {
      return h("div", {}, h("div", { class: "notice" }, "This page is too large for the tree view; showing raw JSON."), rawView(rows));
    }
    return treeView(rows, start);
  }
}

function rawView(value) {
  return h("pre", { class: "raw" }, JSON.stringify(value, null, 2));
}

function cursorLost(error) {
  return `Could not read more results: ${error && error.message ? error.message : error}. Run the query again.`;
}

/** An error from evaluation, the driver or the server, as text. */
export function errorBox(error) {
  const kind = (error && error.name) || "Error";
  const message = error && error.message ? error.message : String(error);
  return h("div", { class: "error", role: "alert" }, h("div", { class: "error-kind" }, kind), h("pre", { class: "error-message" }, message));
}
