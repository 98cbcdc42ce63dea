// The stock RethinkDB JavaScript driver, talking to this server over HTTP
// (`/ajax/reql/`), as RethinkDB's own Data Explorer used it.
import r from "rethinkdb";
import { sessionLost } from "./login.js";

// The driver's cursor code raises `ReqlClientError`, a class it never defines;
// without this alias a CLIENT_ERROR on a cursor would never settle its promise.
if (!r.Error.ReqlClientError) r.Error.ReqlClientError = r.Error.ReqlDriverError;

const termPrototype = ownerOf(r.expr(1), "run");
const driverRun = termPrototype.run;

// Queries are typed without `.run()`: the shell runs them on its own connection.
termPrototype.run = function run() {
  throw new r.Error.ReqlDriverError(
    "You should remove .run() from your queries when using the Data Explorer. " +
      "The query will be built and sent by the Data Explorer itself.",
  );
};

/** The prototype in `value`'s chain that defines `name` itself. */
function ownerOf(value, name) {
  for (let proto = Object.getPrototypeOf(value); proto; proto = Object.getPrototypeOf(proto)) {
    if (Object.prototype.hasOwnProperty.call(proto, name)) return proto;
  }
  throw new Error(`driver has no ${name}()`);
}

/** Whether `value` is a ReQL term built with `r`. */
export function isQuery(value) {
  return value != null && Object.prototype.isPrototypeOf.call(termPrototype, value);
}

// The driver ignores an HTTP status other than 200 on a query, leaving its
// promise unsettled forever.  The server answers 401/403 when this page's
// console session has ended (logout, expiry, a password change): the query
// then fails with the server's text, and the page goes back to its login.
// Otherwise the driver's own `write` (pinned driver version), unchanged.
const HttpConnection = r.net.HttpConnection;
HttpConnection.prototype.write = function write(chunk, token) {
  const xhr = new XMLHttpRequest();
  xhr.open("POST", `${this._url}?conn_id=${this._connId}`, true);
  xhr.responseType = "arraybuffer";
  xhr.onreadystatechange = () => {
    if (xhr.readyState !== 4 || xhr.status === 0) return;
    if (xhr.status === 200) this._data(Buffer.from(new Uint8Array(xhr.response)));
    else refused(this, token, xhr);
  };
  xhr.onerror = () => this.outstandingCallbacks[token]?.cb(new Error("This HTTP connection is not open"));
  xhr.send(Uint8Array.from(chunk));
  this.xhr = xhr;
};

/** Answer `token` as a CLIENT_ERROR with the refusal's text (the driver's own path for errors). */
function refused(conn, token, xhr) {
  const text = new TextDecoder().decode(xhr.response || new ArrayBuffer(0)).trim() || `HTTP status ${xhr.status}`;
  const body = Buffer.from(JSON.stringify({ t: 16, r: [text], b: [] }));
  const frame = Buffer.alloc(12 + body.length);
  frame.writeUInt32LE(token % 0x100000000, 0);
  frame.writeUInt32LE(Math.floor(token / 0x100000000), 4);
  frame.writeUInt32LE(body.length, 8);
  body.copy(frame, 12);
  conn._data(frame);
  if (xhr.status === 401 || xhr.status === 403) sessionLost(text);
}

const openConnections = new Set();

/** A new HTTP ReQL connection to the server that served this page. */
export async function connect() {
  const https = location.protocol === "https:";
  let conn;
  try {
    conn = await Promise.resolve(
      r.connect({
        host: location.hostname,
        port: Number(location.port) || (https ? 443 : 80),
        protocol: https ? "https" : "http",
        pathname: location.pathname.replace(/[^/]*$/, ""),
      }),
    );
  } catch (error) {
    // The driver reports only the status of a refused open-new-connection.
    if (/http status 40[13]\b/.test(error.message)) sessionLost("not logged in");
    throw error;
  }
  openConnections.add(conn);
  return conn;
}

/** Close a connection without waiting for anything; its running queries are interrupted. */
export function closeQuietly(conn) {
  if (!conn) return;
  openConnections.delete(conn);
  try {
    Promise.resolve(conn.close({ noreplyWait: false })).catch(() => {});
  } catch {
    // Already closed.
  }
}

// When the page goes away, tell the server at once rather than leaving its
// cursors (visible in rethinkdb.jobs) to expire.  An XHR would be cancelled
// by the unload; a beacon is not.  `_url`/`_connId` are the driver's
// HttpConnection fields (pinned driver version).
addEventListener("pagehide", () => {
  for (const conn of openConnections) {
    if (conn._url && conn._connId) navigator.sendBeacon(`${conn._url}close-connection?conn_id=${conn._connId}`);
  }
  openConnections.clear();
});

/**
 * Run `term`; returns `{value, profile, serverMs}`.  Over HTTP the server
 * always attaches a profile, so the driver answers `{profile, value}`.
 */
export async function run(term, conn, { profile = false } = {}) {
  const options = { timeFormat: "raw", binaryFormat: "raw", profile };
  const answer = await Promise.resolve(driverRun.call(term, conn, options));
  const wrapped = answer != null && typeof answer === "object" && "value" in answer && "profile" in answer;
  const value = wrapped ? answer.value : answer;
  const events = wrapped ? answer.profile : null;
  return { value, profile: profile ? events : null, serverMs: serverTime(events) };
}

/** Total server time (ms) of a profile: the sum of its top-level events. */
function serverTime(events) {
  if (!Array.isArray(events)) return null;
  let total = 0;
  for (const event of events) {
    if (event && typeof event["duration(ms)"] === "number") total += event["duration(ms)"];
    else if (event && Array.isArray(event.parallel_tasks)) {
      total += Math.max(0, ...event.parallel_tasks.map((tasks) => serverTime(tasks) || 0));
    }
  }
  return total;
}

/** Whether a result value is a cursor (rather than a datum or an array). */
export function isCursor(value) {
  return value != null && typeof value === "object" && typeof value.next === "function" && !Array.isArray(value);
}

/** Whether a cursor is a changefeed (the driver names its class in toString()). */
export function isFeed(cursor) {
  return /Feed\]$/.test(String(cursor));
}

/** The `r` functions and the term methods, for autocompletion. */
export function commandNames() {
  const top = Object.keys(r)
    .filter((name) => !name.startsWith("_") && !HIDDEN_TOP_LEVEL.has(name))
    .map((name) => ({ name, callable: typeof r[name] === "function" }));
  const methods = new Set();
  for (let proto = Object.getPrototypeOf(r.table("x")); proto && proto !== Function.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (!name.startsWith("_") && !HIDDEN_METHODS.has(name) && typeof proto[name] === "function") methods.add(name);
    }
  }
  return { top, methods: [...methods].sort() };
}

const HIDDEN_TOP_LEVEL = new Set(["connect", "Error", "net", "protodef", "setNestingDepth", "setArrayLimit"]);
const HIDDEN_METHODS = new Set(["constructor", "run", "toString", "build", "compose", "showRunWarning"]);

export { r };
