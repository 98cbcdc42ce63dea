"""A JavaScript worker process: QuickJS behind a pipe.

The server keeps a few of these (see ``pool.py``) so that JavaScript never
runs on the server's event loop and a runaway script can be stopped at once
by killing its process.  This file is self-contained (run as a script) so a
worker starts quickly and imports nothing from the server.

Framing, both ways: 4-byte little-endian length, then UTF-8 JSON.  Requests
also carry the time limit: ``<u32 length><f64 timeout seconds><JSON>``.

Requests (JSON arrays):
  ["eval", source, fid]        evaluate; a function result is kept under fid
  ["call", fid, source|null, args]
                               call function fid (compiling ``source`` first
                               if this worker has not seen it)
  ["map", fid, source|null, rows]
                               call function fid once per row (one argument)
Replies: {"v": datum} | {"vs": [datum...]} (map) | {"f": 1} (a function) |
         {"e": message} |
         {"t": 1} (time limit hit) | {"e": message, "x": 1} (retire worker)
"""

from __future__ import annotations

import json
import os
import struct
import sys
import threading
import time
from typing import BinaryIO

REQUEST_HEADER = struct.Struct("<Id")
REPLY_HEADER = struct.Struct("<I")
MEMORY_LIMIT = 512 * 1024 * 1024
INTERRUPTED = "InternalError: interrupted"
WATCHDOG_SECONDS = 0.5

# Runs once per worker.  Everything it needs is captured before user code can
# replace globals (JSON, eval, Date...).  The handler returns the reply text.
RUNTIME_JS = r"""
(function () {
  var geval = eval;
  var parse = JSON.parse, stringify = JSON.stringify;
  var isArray = Array.isArray, objectKeys = Object.keys, isFiniteNum = isFinite;
  var DateCtor = Date, StringFn = String;
  var MAX_DEPTH = 500;
  var fns = {};

  function ConvError(message) { this.message = message; }

  function revive(key, v) {
    if (v !== null && typeof v === "object" && v["$reql_type$"] === "TIME" && !isArray(v)) {
      return new DateCtor(v.epoch_time * 1000);
    }
    return v;
  }

  function toDatum(v, depth) {
    if (depth > MAX_DEPTH) {
      throw new ConvError("Recursion limit exceeded in js_to_json (circular reference?).");
    }
    switch (typeof v) {
      case "number":
        if (!isFiniteNum(v)) throw new ConvError("Number return value is not finite.");
        return v;
      case "string":
      case "boolean":
        return v;
      case "undefined":
        throw new ConvError("Cannot convert javascript `undefined` to ql::datum_t.");
      case "function":
        throw new ConvError("Cannot convert function to ql::datum_t.");
      case "object":
        if (v === null) return null;
        if (isArray(v)) {
          var arr = [];
          for (var i = 0; i < v.length; i++) arr.push(toDatum(v[i], depth + 1));
          return arr;
        }
        if (v instanceof DateCtor) {
          var ms = v.getTime();
          if (!isFiniteNum(ms)) throw new ConvError("Invalid Date cannot be converted to ql::datum_t.");
          return {"$reql_type$": "TIME", "epoch_time": ms / 1000, "timezone": "+00:00"};
        }
        var obj = {};
        var keys = objectKeys(v);
        for (var j = 0; j < keys.length; j++) obj[keys[j]] = toDatum(v[keys[j]], depth + 1);
        return obj;
      default:
        throw new ConvError("Unrecognized value type when converting to ql::datum_t.");
    }
  }

  function value(v) { return stringify({"v": toDatum(v, 0)}); }

  function run(req) {
    var op = req[0];
    if (op === "eval") {
      var result = geval(req[1]);
      if (typeof result === "function") { fns[req[2]] = result; return "{\"f\":1}"; }
      return value(result);
    }
    if (op === "call") {
      var f = fns[req[1]];
      if (f === undefined) { f = geval(req[2]); fns[req[1]] = f; }
      return value(f.apply(null, req[3]));
    }
    return stringify({"e": "Unknown request."});
  }

  return function (text) {
    try {
      return run(parse(text, revive));
    } catch (e) {
      if (e instanceof ConvError) return stringify({"e": e.message});
      return stringify({"e": StringFn(e)});
    }
  };
})()
"""


def read_exact(stream: BinaryIO, n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


class Runtime:
    def __init__(self) -> None:
        import quickjs

        self._quickjs = quickjs
        self._error = quickjs.JSException
        self.fresh_context()

    def fresh_context(self) -> None:
        """A new JavaScript context: no global a script changed, no compiled function."""
        self._context = self._quickjs.Context()
        self._context.set_memory_limit(MEMORY_LIMIT)
        self._handle = self._context.eval(RUNTIME_JS)

    def handle(self, payload: str, timeout: float) -> str:
        if payload == '["reset"]':  # the worker passes to another user's scripts
            self.fresh_context()
            return '{"v":null}'
        if payload.startswith('["map"'):
            return self.map_rows(payload, timeout)
        return self.run(payload, timeout)

    def map_rows(self, payload: str, timeout: float) -> str:
        """One function over many rows: one reply, each row with its own time limit."""
        _, fid, source, rows = json.loads(payload)
        values = []
        for row in rows:
            reply = self.run(json.dumps(["call", fid, source, [row]]), timeout)
            source = None  # compiled by the first call
            if not reply.startswith('{"v":'):
                return reply  # the first failure fails the whole query, as row by row
            values.append(reply[5:-1])
        return '{"vs":[' + ",".join(values) + "]}"

    def run(self, payload: str, timeout: float) -> str:
        # QuickJS measures CPU time; the server also enforces wall time by
        # killing the process, so this only spares a restart in the common case.
        self._context.set_time_limit(max(timeout, 0.0))
        try:
            return self._handle(payload)
        except self._error as e:
            message = str(e).split("\n", 1)[0]
            if message == INTERRUPTED:
                return '{"t":1}'
            # Uncatchable errors (out of memory...) leave the context unusable.
            return json.dumps({"e": message or "JavaScript engine failure.", "x": 1})
        finally:
            self._context.set_time_limit(-1)


def die_with_server(server_pid: int) -> None:
    """A worker must not outlive a server that was killed (a looping script
    would otherwise run on until its time limit).  QuickJS releases the GIL
    while it runs, so a watchdog thread can end the process at any time.
    (PR_SET_PDEATHSIG would not do: it follows the thread that spawned us.)"""

    def watch() -> None:
        while os.getppid() == server_pid:
            time.sleep(WATCHDOG_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def serve(inp: BinaryIO, out: BinaryIO) -> None:
    runtime = Runtime()
    while True:
        header = read_exact(inp, REQUEST_HEADER.size)
        if header is None:
            return
        length, timeout = REQUEST_HEADER.unpack(header)
        payload = read_exact(inp, length)
        if payload is None:
            return
        reply = runtime.handle(payload.decode("utf-8"), timeout).encode("utf-8", "surrogatepass")
        out.write(REPLY_HEADER.pack(len(reply)) + reply)
        out.flush()


if __name__ == "__main__":
    if len(sys.argv) > 1:
        die_with_server(int(sys.argv[1]))
    serve(sys.stdin.buffer, sys.stdout.buffer)
