// Live data for the console pages: a connection of each page's own (a Run in
// the Data Explorer closes only its own connection), a poller that reads on a
// fixed period while its page is shown, and a feed-backed source with the same
// `start`/`stop`/`onValue` shape, pushed by a changefeed.
//
// A page uses a feed where the server pushes what it needs (the jobs panel and
// page, the logs page, the dashboard's stats) and polls what no feed tells
// (counts of tables, indexes, issues read in one query).
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

const FLUSH_MS = 0; // the changes of one response reach `onValue` together

/**
 * The rows of a table kept current by a changefeed, while started: `feed()`
 * is the feed query; `initial()`, when given, a plain read of the rows to
 * start from, run once the feed is subscribed (so nothing falls between the
 * two); without it the feed must include its initial values and states
 * (`{includeInitial: true, includeStates: true}`).  `onValue(rows, changes)`
 * gets every current row and the changes since the last call; `keep` bounds
 * the rows kept (`{limit, order}`: the first `limit` rows in `order`).
 * Stopping closes the feed's connection, which ends the feed on the server.
 */
export class FeedSource {
  constructor({ feed, initial = null, key = (row) => JSON.stringify(row.id), keep = null, onValue, onError, retryMs = 3000 }) {
    Object.assign(this, { feed, initial, key, keep, onValue, onError, retryMs });
    this.running = false;
    this.generation = 0;
    this.conn = null;
    this.timer = null;
    this.flushTimer = null;
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.follow(++this.generation);
  }

  stop() {
    this.running = false;
    this.generation++;
    clearTimeout(this.timer);
    clearTimeout(this.flushTimer);
    closeQuietly(this.conn);
    this.conn = null;
  }

  /** Nothing to do: a feed is always current (the poller's `refresh`). */
  refresh() {}

  async follow(generation) {
    const current = () => generation === this.generation;
    this.rows = new Map();
    this.changes = [];
    this.ready = false;
    try {
      const conn = await connect();
      if (!current()) return closeQuietly(conn);
      this.conn = conn;
      const { value: cursor } = await run(this.feed(), conn);
      if (!current()) return;
      if (this.initial) {
        const { value } = await run(this.initial(), conn);
        if (!current()) return;
        for (const row of isCursor(value) ? await value.toArray() : value) this.rows.set(this.key(row), row);
        this.ready = true;
        this.flush(generation);
      }
      for (;;) {
        const change = await cursor.next();
        if (!current()) return;
        this.apply(change);
        if (this.ready && !this.flushTimer) this.flushTimer = setTimeout(() => this.flush(generation), FLUSH_MS);
      }
    } catch (error) {
      if (!current()) return;
      closeQuietly(this.conn);
      this.conn = null;
      if (this.onError) this.onError(error);
      if (this.running) this.timer = setTimeout(() => this.follow(generation), this.retryMs);
    }
  }

  apply(change) {
    if ("state" in change) {
      if (change.state === "ready") {
        this.ready = true;
        this.flush(this.generation);
      }
      return;
    }
    if (change.old_val != null) this.rows.delete(this.key(change.old_val));
    if (change.new_val != null) this.rows.set(this.key(change.new_val), change.new_val);
    if (this.ready) this.changes.push(change);
  }

  flush(generation) {
    clearTimeout(this.flushTimer);
    this.flushTimer = null;
    if (generation !== this.generation) return;
    let rows = [...this.rows.values()];
    if (this.keep && rows.length > this.keep.limit) {
      rows = rows.sort(this.keep.order).slice(0, this.keep.limit);
      this.rows = new Map(rows.map((row) => [this.key(row), row]));
    }
    const changes = this.changes;
    this.changes = [];
    this.onValue(rows, changes);
  }
}

/** The message of any error, for status lines. */
export function messageOf(error) {
  return error && error.message ? error.message : String(error);
}
