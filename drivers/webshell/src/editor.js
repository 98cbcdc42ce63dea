// The CodeMirror 6 editor: JavaScript highlighting, brackets, history,
// ReQL autocompletion; Shift+Enter (or Ctrl/Cmd+Enter) runs the query.
import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { javascript } from "@codemirror/lang-javascript";
import { bracketMatching, defaultHighlightStyle, indentOnInput, syntaxHighlighting } from "@codemirror/language";
import { highlightSelectionMatches, searchKeymap } from "@codemirror/search";
import { EditorState, Prec } from "@codemirror/state";
import { drawSelection, EditorView, highlightActiveLine, highlightActiveLineGutter, keymap, lineNumbers, placeholder } from "@codemirror/view";

/**
 * @param {HTMLElement} parent
 * @param {{doc: string, onRun: () => void, onChange: (text: string) => void, completions: any}} options
 * @returns {EditorView}
 */
export function createEditor(parent, { doc, onRun, onChange, completions }) {
  const run = () => {
    onRun();
    return true;
  };
  const runKeys = Prec.highest(keymap.of([
    { key: "Shift-Enter", run },
    { key: "Mod-Enter", run },
  ]));
  return new EditorView({
    parent,
    state: EditorState.create({
      doc,
      extensions: [
        runKeys,
        lineNumbers(),
        highlightActiveLineGutter(),
        history(),
        drawSelection(),
        indentOnInput(),
        bracketMatching(),
        closeBrackets(),
        highlightActiveLine(),
        highlightSelectionMatches(),
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        javascript(),
        autocompletion({ override: [completions], activateOnTyping: true }),
        placeholder('r.db("rethinkdb").table("jobs")   — Shift+Enter runs the query'),
        keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...searchKeymap, ...historyKeymap, ...completionKeymap, indentWithTab]),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) onChange(update.state.doc.toString());
        }),
        EditorView.lineWrapping,
      ],
    }),
  });
}

/** The selected text if any, else the whole document. */
export function queryText(view) {
  const { state } = view;
  const selected = state.selection.ranges.map((range) => state.sliceDoc(range.from, range.to)).join("\n");
  return selected.trim() ? selected : state.doc.toString();
}

export function setText(view, text) {
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text }, selection: { anchor: text.length } });
  view.focus();
}
