// Actions on rows of `rethinkdb.jobs`: deleting a query's row interrupts the
// query; an index build takes `paused` and `priority` updates.  Other job
// types cannot be controlled (RethinkDB refuses those writes too).  The jobs
// panel and page are pushed by a feed on the table (`LiveJobs`).
import { FeedSource } from "./live.js";
import { r } from "./reql.js";

const JOBS = () => r.db("rethinkdb").table("jobs");
export const PRIORITIES = ["normal", "low"];
/** How long a job that ended stays listed, so that short ones can be seen. */
export const ENDED_KEEP_MS = 5000;
const JOBS_FEED = () => JOBS().changes({ includeInitial: true, includeStates: true });
// How the server prints the feed in rethinkdb.jobs (the lists hide their own feed).
export const OWN_FEED_TEXT = 'r.db("rethinkdb").table("jobs").changes({"includeInitial": true, "includeStates": true})';

function isOwnFeed(job) {
  return job.type === "query" && job.info?.query === OWN_FEED_TEXT;
}

/**
 * The rows of `rethinkdb.jobs`, pushed by a changefeed while started, without
 * the feed's own query; a job that ended is kept for ENDED_KEEP_MS with
 * `ended: true`.  `onJobs(jobs)` gets every job to list.
 */
export class LiveJobs {
  constructor({ onJobs, onError }) {
    this.onJobs = onJobs;
    this.jobs = [];
    this.ended = new Map(); // job key -> {job, timer}
    this.source = new FeedSource({ feed: JOBS_FEED, onValue: (jobs, changes) => this.update(jobs, changes), onError });
  }

  start() {
    this.source.start();
  }

  stop() {
    this.source.stop();
    for (const { timer } of this.ended.values()) clearTimeout(timer);
    this.ended.clear();
  }

  update(jobs, changes) {
    for (const { old_val: old, new_val: now } of changes) {
      if (!old || now || isOwnFeed(old)) continue;
      const key = JSON.stringify(old.id);
      const timer = setTimeout(() => {
        this.ended.delete(key);
        this.emit();
      }, ENDED_KEEP_MS);
      this.ended.set(key, { job: { ...old, ended: true }, timer });
    }
    this.jobs = jobs.filter((job) => !isOwnFeed(job));
    this.emit();
  }

  emit() {
    const live = new Set(this.jobs.map((job) => JSON.stringify(job.id)));
    const ended = [...this.ended].filter(([key]) => !live.has(key)).map(([, { job }]) => job);
    this.onJobs([...this.jobs, ...ended]);
  }
}

export function canKill(job) {
  return job.type === "query" && !job.ended;
}

export function canControl(job) {
  return job.type === "index_construction" && !job.ended;
}

/** Kill a query; resolves to a sentence saying what happened. */
export async function killJob(live, id) {
  const result = await live.value(JOBS().get(id).delete());
  if (result.first_error) throw new Error(result.first_error);
  return result.deleted ? `Killed query ${id[1]}.` : `Query ${id[1]} had already finished.`;
}

/** `{paused: bool}` or `{priority: "normal" | "low"}` for an index build. */
export async function controlBuild(live, id, change) {
  const result = await live.value(JOBS().get(id).update(change));
  if (result.first_error) throw new Error(result.first_error);
  return result;
}

/** "db.table, index name" for an index build or a backfill. */
export function targetOf(job) {
  const info = job.info || {};
  const where = [info.db, info.table].filter((x) => x != null).join(".");
  if (job.type === "backfill") return `${where}: ${info.source_server ?? "?"} → ${info.destination_server ?? "?"}`;
  return info.index != null ? `${where}, index ${info.index}` : where;
}

export function progressOf(job) {
  const progress = job.info?.progress;
  return typeof progress === "number" ? Math.min(1, Math.max(0, progress)) : null;
}
