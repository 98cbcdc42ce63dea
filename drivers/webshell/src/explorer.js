// The Data Explorer: editor and results in the middle, table browser on the
// left, live jobs panel on the right.  Every Run opens a new HTTP ReQL
// connection and closes the previous one (which ends its cursor), as
// RethinkDB's Data Explorer did; Abort closes the running query's connection.
// A changefeed's changes are shown as they arrive until Stop (or leaving the
// page) sends STOP.
import { TableBrowser } from "./browser.js";
import { reqlCompletions } from "./completion.js";
import { h, loadSetting, replace, saveSetting } from "./dom.js";
import { createEditor, queryText, setText } from "./editor.js";
import { queriesOf } from "./evaluate.js";
import { clearHistory, loadDraft, loadHistory, remember, saveDraft } from "./history.js";
import { JobsPanel } from "./jobs.js";
import { closeQuietly, isCursor, connect, r, run } from "./reql.js";
import { ResultView } from "./results.js";

const ABORT_DELAY_MS = 70; // quick queries never flash an Abort button
const DRAFT_SAVE_MS = 300;
const DEFAULT_QUERY = 'r.db("rethinkdb").table("jobs")';

export class DataExplorer {
  constructor() {
    this.results = new ResultView(document.getElementById("results"));
    this.results.onFeed = (state) => this.feedState(state);
    this.browser = new TableBrowser(document.getElementById("browser"), { onOpen: (db, table) => this.openTable(db, table) });
    this.jobs = new JobsPanel(document.getElementById("jobs"));
    this.conn = null; // connection of the current run
    this.runId = 0;
    this.profile = loadSetting("profile", false);
    this.buildToolbar();
    let draftTimer = null;
    this.editor = createEditor(document.getElementById("editor"), {
      doc: loadDraft() ?? DEFAULT_QUERY,
      onRun: () => this.run(),
      onChange: (text) => {
        clearTimeout(draftTimer);
        draftTimer = setTimeout(() => saveDraft(text), DRAFT_SAVE_MS);
      },
      completions: reqlCompletions(() => this.browser.names()),
    });
  }

  /** The side panels poll only while the page is shown. */
  show() {
    this.browser.start();
    this.jobs.start();
    this.editor.focus();
  }

  hide() {
    this.browser.stop();
    this.jobs.stop();
    this.stopFeed();
  }

  buildToolbar() {
    this.runButton = h("button", { type: "button", id: "run", class: "primary", title: "Run (Shift+Enter)", onclick: () => this.run() }, "Run");
    this.abortButton = h("button", { type: "button", id: "abort", class: "danger", hidden: true, onclick: () => this.abort() }, "Abort");
    this.stopButton = h("button", { type: "button", id: "stop-feed", class: "danger", hidden: true, "aria-label": "Stop the changefeed", title: "Stop the changefeed", onclick: () => this.stopFeed() }, "Stop");
    const profiler = h("input", { type: "checkbox", id: "profiler", checked: this.profile });
    profiler.addEventListener("change", () => {
      this.profile = profiler.checked;
      saveSetting("profile", this.profile);
    });
    this.historyButton = h("button", { type: "button", id: "history-toggle", "aria-expanded": "false", onclick: () => this.toggleHistory() }, "History");
    this.historyPanel = h("div", { id: "history", class: "history", hidden: true });
    replace(
      document.getElementById("toolbar"),
      this.runButton,
      this.abortButton,
      this.stopButton,
      h("span", { class: "hint" }, "Shift+Enter runs · Ctrl+Space completes"),
      h("span", { class: "spacer" }),
      h("label", { class: "option" }, profiler, " Profile"),
      this.historyButton,
      this.historyPanel,
    );
  }

  openTable(db, table) {
    setText(this.editor, `r.db(${JSON.stringify(db)}).table(${JSON.stringify(table)})`);
    this.run();
  }

  /** Run the selection, or the whole editor. */
  async run() {
    const text = queryText(this.editor);
    const id = ++this.runId;
    this.closeRun();
    this.results.running();
    this.setRunning(id, true);
    let ok = false;
    try {
      const queries = queriesOf(text, r);
      const conn = await connect();
      if (id !== this.runId) return closeQuietly(conn);
      this.conn = conn;
      for (const [i, query] of queries.entries()) {
        const started = performance.now();
        const answer = await run(query, conn, { profile: this.profile });
        if (id !== this.runId) return; // aborted or replaced by a newer run
        if (i < queries.length - 1) {
          if (isCursor(answer.value)) answer.value.close().catch(() => {});
          continue;
        }
        ok = true;
        this.setRunning(id, false);
        await this.results.show(answer, performance.now() - started);
      }
    } catch (error) {
      if (id === this.runId) this.results.error(error);
    } finally {
      if (id === this.runId) this.setRunning(id, false);
      remember(text, ok);
      if (!this.historyPanel.hidden) this.renderHistory();
    }
  }

  abort() {
    this.runId++;
    this.closeRun();
    this.setRunning(this.runId, false);
    this.results.aborted();
  }

  /** Stop the changefeed shown; if its STOP goes unanswered, close its connection. */
  async stopFeed() {
    const conn = this.conn;
    const answered = await this.results.stopFeed();
    if (!answered && this.conn === conn) this.closeRun();
  }

  feedState(state) {
    const following = state === "live" || state === "stopping";
    const hadFocus = document.activeElement === this.stopButton;
    this.stopButton.hidden = !following;
    // Not `disabled` while stopping: a disabled button would drop the focus.
    this.stopButton.setAttribute("aria-disabled", String(state === "stopping"));
    document.body.dataset.feed = state ?? "";
    if (hadFocus && !following) this.runButton.focus(); // keyboard users keep their place
  }

  closeRun() {
    closeQuietly(this.conn);
    this.conn = null;
  }

  setRunning(id, running) {
    clearTimeout(this.abortTimer);
    document.body.dataset.running = String(running);
    if (!running) {
      this.abortButton.hidden = true;
      return;
    }
    this.abortTimer = setTimeout(() => {
      if (id === this.runId) this.abortButton.hidden = false;
    }, ABORT_DELAY_MS);
  }

  toggleHistory() {
    const show = this.historyPanel.hidden;
    this.historyPanel.hidden = !show;
    this.historyButton.setAttribute("aria-expanded", String(show));
    if (show) this.renderHistory();
  }

  renderHistory() {
    const entries = loadHistory().reverse();
    replace(
      this.historyPanel,
      h(
        "div",
        { class: "history-head" },
        `${entries.length} recent quer${entries.length === 1 ? "y" : "ies"} (kept in this browser)`,
        h("button", { type: "button", class: "link", onclick: () => (clearHistory(), this.renderHistory()) }, "clear"),
      ),
      entries.length
        ? h(
            "ol",
            { class: "history-list" },
            entries.map((entry) =>
              h(
                "li",
                {},
                h(
                  "button",
                  {
                    type: "button",
                    class: `history-entry${entry.ok ? "" : " failed"}`,
                    title: entry.ok ? new Date(entry.at).toLocaleString() : "this query failed",
                    onclick: () => {
                      setText(this.editor, entry.query);
                      this.toggleHistory();
                    },
                  },
                  entry.query,
                ),
              ),
            ),
          )
        : h("p", { class: "hint" }, "No queries yet."),
    );
  }
}
