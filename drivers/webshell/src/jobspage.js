// The jobs page: every row of `rethinkdb.jobs` with its progress and ETA,
// filterable by type, user and table; queries can be killed (their row is
// deleted), index builds paused, resumed and given a priority.  Pushed by a
// changefeed on the table (`LiveJobs`): every job start and end shows at
// once, and a job that ended stays listed a few seconds, marked "ended".
import { h, replace, setText, syncKeyed } from "./dom.js";
import { formatDuration } from "./format.js";
import { canControl, canKill, controlBuild, killJob, LiveJobs, PRIORITIES, progressOf, targetOf } from "./jobcontrol.js";
import { LiveConnection, messageOf } from "./live.js";

const TYPES = ["query", "index_construction", "backfill", "disk_compaction"];
const TYPE_LABEL = { query: "query", index_construction: "index construction", backfill: "backfill", disk_compaction: "disk compaction" };
/** The user of a job: queries have one; background work is the server's. */
function userOf(job) {
  return job.info?.user ?? "";
}

function describe(job) {
  return job.type === "query" ? job.info?.query ?? "" : targetOf(job);
}

export class JobsPage {
  /** @param {HTMLElement} container */
  constructor(container) {
    this.actions = new LiveConnection();
    this.rows = new Map();
    this.jobs = [];
    this.type = h("select", { id: "jobs-type", "aria-label": "Show jobs of this type" }, h("option", { value: "" }, "all types"), TYPES.map((t) => h("option", { value: t }, TYPE_LABEL[t])));
    this.user = h("input", { id: "jobs-user", type: "search", "aria-label": "Show jobs of this user", placeholder: "user", list: "jobs-users" });
    this.users = h("datalist", { id: "jobs-users" });
    this.table = h("input", { id: "jobs-table", type: "search", "aria-label": "Show jobs on this table", placeholder: "table (or db.table)" });
    for (const control of [this.type, this.user, this.table]) control.addEventListener("input", () => this.render());
    this.count = h("span", { class: "hint", role: "status" });
    this.message = h("div", { class: "page-message", role: "status", hidden: true });
    this.body = h("tbody");
    replace(
      container,
      h("h1", { class: "page-title", tabindex: "-1" }, "Jobs"),
      h("div", { class: "filters" }, h("label", {}, "Type ", this.type), h("label", {}, "User ", this.user), this.users, h("label", {}, "Table ", this.table), this.count),
      this.message,
      h("div", { class: "table-scroll" }, h("table", { class: "grid jobs-table" }, h("thead", {}, h("tr", {}, ["Type", "What", "User and client", "Duration", "Progress", "ETA", "Actions"].map((c) => h("th", { scope: "col" }, c)))), this.body)),
    );
    this.live = new LiveJobs({
      onJobs: (jobs) => {
        if (this.message.dataset.outcome === "feed") this.message.hidden = true;
        this.jobs = jobs;
        this.render();
      },
      onError: (error) => this.say(`Cannot follow rethinkdb.jobs: ${messageOf(error)}`, "feed"),
    });
  }

  show() {
    this.live.start();
  }

  hide() {
    this.live.stop();
  }

  matches(job) {
    const type = this.type.value;
    const user = this.user.value.trim();
    const table = this.table.value.trim().toLowerCase();
    if (type && job.type !== type) return false;
    if (user && userOf(job) !== user) return false;
    if (!table) return true;
    const info = job.info || {};
    if (info.table != null) return `${info.db}.${info.table}`.toLowerCase().includes(table);
    return (info.query ?? "").toLowerCase().includes(`table("${table.split(".").pop()}")`);
  }

  render() {
    const byAge = (a, b) => Boolean(a.ended) - Boolean(b.ended) || (b.duration_sec ?? 0) - (a.duration_sec ?? 0);
    const shown = this.jobs.filter((job) => this.matches(job)).sort(byAge);
    const ended = this.jobs.filter((job) => job.ended).length;
    setText(this.count, `${shown.length} of ${this.jobs.length} jobs${ended ? ` (${ended} just ended)` : ""}`);
    const users = [...new Set(this.jobs.map(userOf).filter(Boolean))].sort();
    if ([...this.users.options].map((o) => o.value).join() !== users.join()) replace(this.users, users.map((u) => h("option", { value: u })));
    syncKeyed(this.body, this.rows, shown, (job) => JSON.stringify(job.id), (job) => new JobRow(this, job), (row, job) => row.update(job));
  }

  say(text, outcome) {
    this.message.hidden = false;
    this.message.dataset.outcome = outcome;
    replace(this.message, text, h("button", { type: "button", class: "dismiss", "aria-label": "Dismiss", onclick: () => (this.message.hidden = true) }, "×"));
  }
}

class JobRow {
  constructor(page, job) {
    this.page = page;
    this.confirming = false;
    this.shape = null;
    this.parts = {
      what: h("td", { class: "job-what" }),
      who: h("td", { class: "job-who" }),
      duration: h("td", { class: "job-duration" }),
      bar: h("progress", { max: "1", value: "0" }),
      percent: h("span", { class: "job-percent" }),
      eta: h("td", { class: "job-eta" }),
      actions: h("td", { class: "job-actions" }),
    };
    const p = this.parts;
    this.el = h(
      "tr",
      { class: "job-row", dataset: { type: job.type, id: job.id[1] } },
      h("td", {}, h("span", { class: `job-type job-type-${job.type}` }, TYPE_LABEL[job.type] ?? job.type)),
      p.what,
      p.who,
      p.duration,
      h("td", { class: "job-progress-cell" }, p.bar, p.percent),
      p.eta,
      p.actions,
    );
  }

  update(job) {
    this.job = job;
    this.el.dataset.state = job.ended ? "ended" : "running";
    const p = this.parts;
    const info = job.info || {};
    setText(p.what, describe(job));
    setText(p.who, job.type === "query" ? `${info.user ?? "?"} · ${info.client_address ?? "?"}:${info.client_port ?? "?"}` : "server");
    setText(p.duration, formatDuration(job.duration_sec));
    const progress = progressOf(job);
    p.bar.hidden = p.percent.hidden = progress == null;
    if (progress != null) {
      p.bar.value = progress;
      p.bar.setAttribute("aria-label", `Progress of ${describe(job)}`);
      setText(p.percent, `${(progress * 100).toFixed(1)}%`);
    }
    setText(p.eta, job.ended ? "—" : info.phase === "paused" ? "paused" : info.eta_sec != null ? formatDuration(info.eta_sec) : "—");
    this.renderActions();
  }

  renderActions() {
    const job = this.job;
    const shape = `${this.confirming}|${job.info?.phase}|${job.info?.priority}|${Boolean(job.ended)}`;
    if (shape === this.shape) return;
    this.shape = shape;
    const label = describe(job);
    if (job.ended) {
      replace(this.parts.actions, h("span", { class: "job-ended" }, "ended"));
    } else if (canKill(job)) {
      replace(
        this.parts.actions,
        this.confirming
          ? h("span", { class: "kill-confirmation" }, "Kill? ",
              h("button", { type: "button", class: "kill-confirm danger", onclick: () => this.kill() }, "Yes, kill"),
              h("button", { type: "button", class: "kill-cancel", onclick: () => this.setConfirming(false) }, "Cancel"))
          : h("button", { type: "button", class: "kill", "aria-label": `Kill the query ${label}`, onclick: () => this.setConfirming(true) }, "Kill"),
      );
      if (this.confirming) this.parts.actions.querySelector(".kill-cancel").focus();
    } else if (canControl(job)) {
      const paused = job.info?.phase === "paused";
      const select = h("select", { class: "build-priority", "aria-label": `Priority of ${label}` }, PRIORITIES.map((p) => h("option", { value: p, selected: p === job.info?.priority }, `${p} priority`)));
      select.addEventListener("change", () => this.control({ priority: select.value }));
      replace(this.parts.actions, h("button", { type: "button", class: paused ? "resume-build" : "pause-build", "aria-label": `${paused ? "Resume" : "Pause"} ${label}`, onclick: () => this.control({ paused: !paused }) }, paused ? "Resume" : "Pause"), select);
    } else {
      replace(this.parts.actions, h("span", { class: "hint" }, "—"));
    }
  }

  setConfirming(confirming) {
    this.confirming = confirming;
    this.renderActions();
  }

  async kill() {
    this.confirming = false;
    replace(this.parts.actions, h("span", { class: "job-killing" }, "killing…"));
    this.shape = null;
    try {
      this.page.say(await killJob(this.page.actions, this.job.id), "ok");
    } catch (error) {
      this.page.say(`Could not kill query ${this.job.id[1]}: ${messageOf(error)}`, "fail");
    }
    this.renderActions();
  }

  async control(change) {
    try {
      await controlBuild(this.page.actions, this.job.id, change);
    } catch (error) {
      this.page.say(messageOf(error), "fail");
    }
  }
}
