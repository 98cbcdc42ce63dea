// Turns the typed text into ReQL queries, as RethinkDB's Data Explorer did:
// the text is cut at top-level semicolons; each statement is evaluated in
// strict mode after the statements before it that were not queries (so
// `var t = r.table("x"); t.count()` works); every statement that yields a
// query is run in order and only the last one's result is shown.
import { isQuery } from "./reql.js";

export class QuerySyntaxError extends Error {
  constructor(message) {
    super(message);
    this.name = "SyntaxError";
  }
}

const CLOSING = { "(": ")", "[": "]", "{": "}" };

/** Line and column (1-based) of `offset` in `text`. */
function position(text, offset) {
  const before = text.slice(0, offset).split("\n");
  return `line ${before.length}, column ${before[before.length - 1].length + 1}`;
}

/** End (exclusive) of the string or template literal opening at `start`. */
function skipString(text, start) {
  const quote = text[start];
  let depth = 0;
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (c === "\\") i++;
    else if (quote === "`" && c === "$" && text[i + 1] === "{") {
      depth++;
      i++;
    } else if (quote === "`" && depth > 0 && c === "}") depth--;
    else if (c === quote && depth === 0) return i + 1;
    else if (c === "\n" && quote !== "`") break;
  }
  throw new QuerySyntaxError(`Unterminated string starting at ${position(text, start)}.`);
}

/** End (exclusive) of the comment at `start`, or -1 if none starts there. */
function skipComment(text, start) {
  if (text[start] !== "/") return -1;
  if (text[start + 1] === "/") {
    const end = text.indexOf("\n", start);
    return end < 0 ? text.length : end;
  }
  if (text[start + 1] === "*") {
    const end = text.indexOf("*/", start + 2);
    if (end < 0) throw new QuerySyntaxError(`Unterminated comment starting at ${position(text, start)}.`);
    return end + 2;
  }
  return -1;
}

/** Whether `part` holds anything besides blanks and comments. */
function hasCode(part) {
  for (let i = 0; i < part.length; ) {
    const end = skipComment(part, i);
    if (end >= 0) i = end;
    else if (/\s/.test(part[i])) i++;
    else return true;
  }
  return false;
}

/** The top-level statements of `text`; unbalanced brackets are syntax errors. */
export function splitStatements(text) {
  const parts = [];
  const open = [];
  let start = 0;
  for (let i = 0; i < text.length; ) {
    const c = text[i];
    const commentEnd = skipComment(text, i);
    if (commentEnd >= 0) {
      i = commentEnd;
      continue;
    }
    if (c === '"' || c === "'" || c === "`") {
      i = skipString(text, i);
      continue;
    }
    if (c in CLOSING) open.push(i);
    else if (c === ")" || c === "]" || c === "}") {
      const opener = open.pop();
      if (opener === undefined || CLOSING[text[opener]] !== c) {
        throw new QuerySyntaxError(`Unexpected \`${c}\` at ${position(text, i)}.`);
      }
    } else if (c === ";" && open.length === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
    i++;
  }
  if (open.length) {
    const opener = open[open.length - 1];
    throw new QuerySyntaxError(`\`${text[opener]}\` at ${position(text, opener)} is never closed.`);
  }
  parts.push(text.slice(start));
  return parts.filter(hasCode);
}

/** A function returning `part` as an expression, or null if it is a statement. */
function asExpression(prefix, part) {
  try {
    return new Function("r", `"use strict";\n${prefix}\nreturn (${part}\n);`);
  } catch (error) {
    if (error instanceof SyntaxError) return null;
    throw error;
  }
}

/**
 * The queries the text asks to run, in order.
 * @param {string} text
 * @param {any} r the driver's `r`
 * @returns {any[]}
 */
export function queriesOf(text, r) {
  const parts = splitStatements(text);
  if (!parts.length) throw new QuerySyntaxError("Nothing to run: type a query, for example r.dbList()");
  const queries = [];
  let prefix = "";
  let lastIsQuery = false;
  for (const part of parts) {
    const expression = asExpression(prefix, part);
    if (expression) {
      const value = expression(r);
      lastIsQuery = isQuery(value);
      if (lastIsQuery) {
        queries.push(value);
        continue;
      }
    } else {
      new Function("r", `"use strict";\n${prefix}\n${part}\n`)(r);
      lastIsQuery = false;
    }
    prefix += `${part};\n`;
  }
  if (!lastIsQuery) {
    throw new QuerySyntaxError("The last statement is not a ReQL query (start it with r., for example r.table(\"name\")).");
  }
  return queries;
}
