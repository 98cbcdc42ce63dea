// Actions on rows of `rethinkdb.jobs`: deleting a query's row interrupts the
// query; an index build takes `paused` and `priority` updates.  Other job
// types cannot be controlled (RethinkDB refuses those writes too).
import { r } from "./reql.js";

const JOBS = () => r.db("rethinkdb").table("jobs");
export const PRIORITIES = ["normal", "low"];

export function canKill(job) {
  return job.type === "query";
}

export function canControl(job) {
  return job.type === "index_construction";
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
