// Live data for the console pages: a connection of each page's own (a Run in
// the Data Explorer closes only its own connection) and a poller that reads
// on a fixed period while its page is shown.
//
// Changefeeds do not exist yet, so every live view polls.  The views only
// see `Poller`'s callback with fresh values: a feed-backed source with the
// same `start`/`stop`/`onValue` shape can replace a poller without touching
// them (e.g. `r.db("rethinkdb").table("stats").changes()`).
import { closeQuietly, connect, isCursor, run } from "./reql.js";

/** One HTTP ReQL connection, opened on first use and reopened after it broke. */
export class LiveConnection {
  constructor() {
    this.conn = null;
  }

  /** Run `term` and return its whole value (cursors are read to the end). */
  async value(term) {
    try {
      if (!this.conn) this.conn = await connect();
      const { value } = await run(term, this.conn);
      return isCursor(value) ? await value.toArray() : value;
    } catch (error) {
      if (!error || error.name === "ReqlDriverError" || !this.conn || !this.conn.isOpen()) this.close();
      throw error;
    }
  }

  close() {
    closeQuietly(this.conn);
    this.conn = null;
  }
}

/**
 * Reads `query()` every `periodMs` while started and hands each value to
 * `onValue`, or the error to `onError`; one read at a time, never overlapping.
 */
export class Poller {
  constructor({ query, onValue, onError, periodMs, retryMs = 3000 }) {
    Object.assign(this, { query, onValue, onError, periodMs, retryMs });
    this.live = new LiveConnection();
    this.running = false;
    this.timer = null;
    this.generation = 0;
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.tick(++this.generation);
  }

  stop() {
    this.running = false;
    this.generation++;
    clearTimeout(this.timer);
  }

  /** Read now (after an action), without waiting for the next period. */
  refresh() {
    if (!this.running) return;
    clearTimeout(this.timer);
    this.tick(++this.generation);
  }

  async tick(generation) {
    let ok = true;
    try {
      const value = await this.live.value(this.query());
      if (generation === this.generation) this.onValue(value);
    } catch (error) {
      ok = false;
      if (generation === this.generation && this.onError) this.onError(error);
    }
    if (generation === this.generation && this.running) {
      this.timer = setTimeout(() => this.tick(generation), ok ? this.periodMs : this.retryMs);
    }
  }
}

/** The message of any error, for status lines. */
export function messageOf(error) {
  return error && error.message ? error.message : String(error);
}
