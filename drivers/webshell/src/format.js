// Readable renderings of values, including RethinkDB's TIME and BINARY
// pseudo-types (queries run with timeFormat/binaryFormat "raw").

export function isPlainObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export function pseudoType(value) {
  return isPlainObject(value) && typeof value.$reql_type$ === "string" ? value.$reql_type$ : null;
}

function pad(number, width = 2) {
  return String(number).padStart(width, "0");
}

/** ISO 8601 in the time's own timezone, e.g. `2024-05-01T13:45:00.250+02:00`. */
export function formatTime(time) {
  const zone = typeof time.timezone === "string" ? time.timezone : "+00:00";
  const match = /^([+-])(\d\d):(\d\d)$/.exec(zone);
  const offsetMinutes = match ? (match[1] === "-" ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3])) : 0;
  const local = new Date(time.epoch_time * 1000 + offsetMinutes * 60000);
  if (Number.isNaN(local.getTime())) return `time ${time.epoch_time}`;
  const year = local.getUTCFullYear();
  const date = `${year < 0 ? "-" : ""}${pad(Math.abs(year), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}`;
  const clock = `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}`;
  const millis = local.getUTCMilliseconds();
  return `${date}T${clock}${millis ? `.${pad(millis, 3)}` : ""}${zone}`;
}

const PREVIEW_BYTES = 16;

/** `<binary, 5 bytes: 68 65 6c 6c 6f>`. */
export function formatBinary(binary) {
  let bytes;
  try {
    bytes = atob(binary.data || "");
  } catch {
    return "<binary, malformed base64>";
  }
  const preview = Array.from(bytes.slice(0, PREVIEW_BYTES), (c) => pad(c.charCodeAt(0).toString(16))).join(" ");
  const more = bytes.length > PREVIEW_BYTES ? " …" : "";
  const unit = bytes.length === 1 ? "byte" : "bytes";
  return `<binary, ${bytes.length} ${unit}${bytes.length ? `: ${preview}${more}` : ""}>`;
}

/** Text for a pseudo-type, or null if `value` is not one we render specially. */
export function formatPseudo(value) {
  switch (pseudoType(value)) {
    case "TIME":
      return formatTime(value);
    case "BINARY":
      return formatBinary(value);
    default:
      return null;
  }
}

/** One-line text of any value, pseudo-types made readable, cut at `limit`. */
export function shortText(value, limit = 120) {
  const pseudo = formatPseudo(value);
  const text = pseudo ?? (typeof value === "string" ? value : JSON.stringify(value, readableReplacer));
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}

function readableReplacer(key, value) {
  return formatPseudo(value) ?? value;
}

/** Number of datums in `value` (stops counting at `limit`). */
export function datumCount(value, limit) {
  let count = 0;
  const stack = [value];
  while (stack.length && count < limit) {
    const item = stack.pop();
    count++;
    if (Array.isArray(item)) stack.push(...item);
    else if (isPlainObject(item) && !pseudoType(item)) stack.push(...Object.values(item));
  }
  return count;
}

export function formatDuration(seconds) {
  if (seconds == null) return "—";
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.floor(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function formatMs(ms) {
  if (ms == null) return "—";
  if (ms > 0 && ms < 0.1) return `${(ms * 1000).toFixed(1)} µs`; // per-document means in profiles
  return ms < 10 ? `${ms.toFixed(2)} ms` : ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`;
}
