// The jobs panel: the rows of `rethinkdb.jobs`, pushed by a changefeed on a
// connection of its own (a new Run closes the editor's connection, not this
// one); a job that ended stays a few seconds, marked.  Query rows carry a
// Kill button that deletes the row, which interrupts the query.
import { h, replace, setText } from "./dom.js";
import { formatDuration } from "./format.js";
import { killJob, LiveJobs, progressOf, targetOf } from "./jobcontrol.js";
import { LiveConnection, messageOf } from "./live.js";
const TYPE_ORDER = { index_construction: 0, backfill: 1, disk_compaction: 2, query: 3 };
const TYPE_LABEL = {
  query: "query",
  index_construction: "index construction",
  backfill: "backfill",
  disk_compaction: "disk compaction",
};

function jobKey(job) {
  return JSON.stringify(job.id);
}

function byTypeThenAge(a, b) {
  return Boolean(a.ended) - Boolean(b.ended) || (TYPE_ORDER[a.type] ?? 9) - (TYPE_ORDER[b.type] ?? 9) || (b.duration_sec ?? 0) - (a.duration_sec ?? 0);
}

export class JobsPanel {
  /** @param {HTMLElement} container */
  constructor(container) {
    this.container = container;
    this.live = new LiveConnection(); // for kills
    this.feed = new LiveJobs({
      onJobs: (jobs) => {
        this.problem.hidden = true;
        this.updated.textContent = "live";
        this.update(jobs);
      },
      onError: (error) => {
        this.problem.hidden = false;
        this.problem.textContent = `Cannot follow rethinkdb.jobs: ${messageOf(error)}`;
        this.updated.textContent = "";
      },
    });
    this.rows = new Map(); // job key -> {el, job, confirming, killing}
    this.count = h("span", { class: "jobs-count" }, "");
    this.updated = h("span", { class: "jobs-updated" }, "");
    this.message = h("div", { class: "jobs-message", role: "status", hidden: true });
    this.problem = h("div", { class: "jobs-problem", hidden: true });
    this.list = h("ol", { class: "jobs-list" });
    replace(
      container,
      h("div", { class: "panel-title" }, "Jobs ", this.count, h("span", { class: "spacer" }), this.updated),
      this.message,
      this.problem,
      this.list,
      h("p", { class: "panel-note" }, "Rows of r.db(\"rethinkdb\").table(\"jobs\"), pushed by its changefeed (hidden); ended jobs stay a few seconds."),
    );
  }

  start() {
    this.feed.start();
  }

  stop() {
    this.feed.stop();
  }

  update(jobs) {
    const visible = [...jobs].sort(byTypeThenAge);
    const seen = new Set();
    for (const job of visible) {
      const key = jobKey(job);
      seen.add(key);
      let row = this.rows.get(key);
      if (!row) {
        row = this.createRow(job);
        this.rows.set(key, row);
      }
      const ending = job.ended && !row.job.ended;
      row.job = job;
      if (ending) {
        row.el.dataset.state = "ended";
        this.renderControls(row);
      }
      fillRow(row);
      this.list.append(row.el); // moves existing rows into the sorted order
    }
    for (const [key, row] of this.rows) {
      if (!seen.has(key)) {
        row.el.remove();
        this.rows.delete(key);
      }
    }
    this.count.textContent = `(${visible.filter((job) => !job.ended).length})`;
  }

  /** A row's fixed structure; polls only update its texts and bar, so buttons stay put. */
  createRow(job) {
    const row = { job, confirming: false, killing: false, parts: {} };
    const parts = row.parts;
    parts.duration = h("span", { class: "job-duration", title: "duration_sec" });
    parts.controls = h("span", { class: "job-controls" });
    parts.servers = h("div", { class: "job-servers" });
    const head = h("div", { class: "job-head" }, h("span", { class: `job-type job-type-${job.type}` }, TYPE_LABEL[job.type] || job.type), parts.duration, h("span", { class: "spacer" }), parts.controls);
    let details = null;
    if (job.type === "query") {
      parts.query = h("pre", { class: "job-query" });
      parts.client = h("div", { class: "job-client" });
      details = [parts.query, parts.client];
    } else if (job.info && "progress" in job.info) {
      parts.target = h("div", { class: "job-target" });
      parts.bar = h("progress", { max: "1", value: "0" });
      parts.percent = h("span", { class: "job-percent" });
      details = h("div", { class: "job-progress" }, parts.target, parts.bar, parts.percent);
    }
    row.el = h("li", { class: "jobs-row", dataset: { type: job.type, id: job.id[1], state: job.ended ? "ended" : "running" } }, head, details, parts.servers);
    this.renderControls(row);
    return row;
  }

  renderControls(row) {
    if (row.job.type !== "query") return;
    const controls = row.parts.controls;
    if (row.job.ended) {
      if (!row.shownEnded) replace(controls, h("span", { class: "job-ended" }, "ended"));
      row.shownEnded = true;
    } else if (row.killing) {
      replace(controls, h("span", { class: "job-killing" }, "killing…"));
    } else if (!row.confirming) {
      replace(controls, h("button", { type: "button", class: "kill", title: "Interrupt this query", onclick: () => this.setConfirming(row, true) }, "Kill"));
    } else {
      replace(
        controls,
        h(
          "span",
          { class: "kill-confirmation" },
          "Kill this query? ",
          h("button", { type: "button", class: "kill-confirm danger", onclick: () => this.kill(row) }, "Yes, kill"),
          h("button", { type: "button", class: "kill-cancel", onclick: () => this.setConfirming(row, false) }, "Cancel"),
        ),
      );
    }
  }

  setConfirming(row, confirming) {
    row.confirming = confirming;
    this.renderControls(row);
  }

  async kill(row) {
    row.confirming = false;
    row.killing = true;
    this.renderControls(row);
    const id = row.job.id;
    try {
      this.say(await killJob(this.live, id), "ok");
    } catch (error) {
      this.say(`Could not kill query ${id[1]}: ${messageOf(error)}`, "fail");
    } finally {
      row.killing = false;
      this.renderControls(row);
    }
  }

  say(text, outcome) {
    this.message.hidden = false;
    this.message.dataset.outcome = outcome;
    replace(this.message, text, h("button", { type: "button", class: "dismiss", title: "Dismiss", onclick: () => (this.message.hidden = true) }, "×"));
  }
}

/** Update a row's texts and progress bar from its latest job document. */
function fillRow(row) {
  const { job, parts } = row;
  const info = job.info || {};
  parts.duration.textContent = formatDuration(job.duration_sec);
  parts.servers.textContent = job.servers && job.servers.length ? `on ${job.servers.join(", ")}` : "";
  if (parts.query) {
    setText(parts.query, info.query ?? "");
    setText(parts.client, `${info.client_address ?? "?"}:${info.client_port ?? "?"} · ${info.user ?? "?"}`);
  }
  if (parts.bar) {
    const fraction = progressOf(job) ?? 0;
    const what = targetOf(job);
    setText(parts.target, what);
    parts.bar.value = fraction;
    parts.bar.setAttribute("aria-label", `progress of ${what}`);
    parts.percent.textContent = `${(fraction * 100).toFixed(1)}%`;
  }
}
