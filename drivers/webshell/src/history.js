// Query history and the current draft, kept in this browser (localStorage).
import { loadSetting, saveSetting } from "./dom.js";

const HISTORY_LIMIT = 50;

/** @returns {{query: string, ok: boolean, at: number}[]} oldest first */
export function loadHistory() {
  const entries = loadSetting("history", []);
  return Array.isArray(entries) ? entries.filter((e) => e && typeof e.query === "string") : [];
}

/** Remember an executed query (moved to the end if already known). */
export function remember(query, ok) {
  const text = query.trim();
  if (!text) return;
  const entries = loadHistory().filter((e) => e.query !== text);
  entries.push({ query: text, ok, at: Date.now() });
  saveSetting("history", entries.slice(-HISTORY_LIMIT));
}

export function clearHistory() {
  saveSetting("history", []);
}

export function loadDraft() {
  return loadSetting("draft", null);
}

export function saveDraft(text) {
  saveSetting("draft", text);
}
