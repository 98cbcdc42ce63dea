// Autocompletion: `r.` functions, term methods after `.`, and database and
// table names inside the string argument of db()/table().
import { snippetCompletion } from "@codemirror/autocomplete";
import { commandNames } from "./reql.js";

const LOOKBEHIND = 600;
const DEFAULT_DB = "test";
const DB_ARGUMENT = /(?:^|[^\w$])(?:r\s*\.\s*)(?:db|dbDrop)\(\s*["']([\w-]*)$/;
const TABLE_IN_DB = /\.\s*db\(\s*["']([\w-]+)["']\s*\)\s*\.\s*(?:table|tableDrop)\(\s*["']([\w-]*)$/;
const TABLE_ARGUMENT = /(?:^|[^\w$])r\s*\.\s*(?:table|tableDrop)\(\s*["']([\w-]*)$/;
const TOP_LEVEL = /(?:^|[^\w$.])r\s*\.\s*([\w$]*)$/;
const METHOD = /[\w$)\]"'`]\s*\.\s*([\w$]*)$/;

function commandOptions() {
  const { top, methods } = commandNames();
  const call = (name, type) => snippetCompletion(`${name}(\${})`, { label: name, type });
  return {
    top: top.map(({ name, callable }) => (callable ? call(name, "function") : { label: name, type: "constant" })),
    methods: methods.map((name) => call(name, "method")),
  };
}

/**
 * A CodeMirror completion source.
 * @param {() => Map<string, string[]>} names database -> tables
 */
export function reqlCompletions(names) {
  const commands = commandOptions();
  return (context) => {
    const before = context.state.sliceDoc(Math.max(0, context.pos - LOOKBEHIND), context.pos);
    const nameCompletion = completeNames(before, context.pos, names());
    if (nameCompletion) return nameCompletion;
    let match = TOP_LEVEL.exec(before);
    const options = match ? commands.top : (match = METHOD.exec(before)) ? commands.methods : null;
    if (!options) return null;
    const word = match[1];
    if (!word && !context.explicit && !before.endsWith(".")) return null;
    return { from: context.pos - word.length, options, validFor: /^[\w$]*$/ };
  };
}

function completeNames(before, pos, databases) {
  let match = DB_ARGUMENT.exec(before);
  if (match) return nameList(pos, match[1], [...databases.keys()], "database");
  match = TABLE_IN_DB.exec(before);
  if (match) return nameList(pos, match[2], databases.get(match[1]) || [], `table in ${match[1]}`);
  match = TABLE_ARGUMENT.exec(before);
  if (match) return nameList(pos, match[1], databases.get(DEFAULT_DB) || [], `table in ${DEFAULT_DB}`);
  return null;
}

function nameList(pos, typed, names, detail) {
  return {
    from: pos - typed.length,
    options: names.map((name) => ({ label: name, type: "variable", detail })),
    validFor: /^[\w-]*$/,
  };
}
