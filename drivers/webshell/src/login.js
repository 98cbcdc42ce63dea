// The console's login (beyond RethinkDB): once the server's admin user has a
// password, the server asks for a user and password and binds this page's
// queries to that user.  The session is an HttpOnly cookie the page never
// sees; the driver's requests carry it (same origin).
import { h, replace } from "./dom.js";

const JSON_HEADERS = { "content-type": "application/json" };
const ENDED_KEY = "systables.session-ended";
let ending = false; // the page is starting over: once is enough

/** `{login_required, user}` as the server sees this page. */
export async function fetchSession() {
  const answer = await fetch("ajax/session", { credentials: "same-origin", cache: "no-store" });
  if (!answer.ok) throw new Error(`cannot read the session: HTTP ${answer.status}`);
  return answer.json();
}

/** Ask for a user and password until a login succeeds; resolves to the user. */
export function askForLogin(root) {
  return new Promise((resolve) => {
    const user = h("input", { id: "login-user", name: "user", autocomplete: "username", required: true });
    const password = h("input", { id: "login-password", name: "password", type: "password", autocomplete: "current-password" });
    const message = h("p", { id: "login-message", class: "login-message", role: "alert" });
    const submit = h("button", { type: "submit", class: "primary", id: "login-submit" }, "Log in");
    const form = h("form", { class: "login-form", "aria-labelledby": "login-title" },
      h("h1", { id: "login-title", class: "page-title" }, "Log in to systables"),
      h("label", { for: "login-user" }, "User"), user,
      h("label", { for: "login-password" }, "Password"), password,
      submit, message);
    const ended = sessionStorage.getItem(ENDED_KEY);
    if (ended) {
      message.textContent = ended;
      sessionStorage.removeItem(ENDED_KEY);
    }
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      submit.disabled = true;
      message.textContent = "";
      try {
        const name = await logIn(user.value, password.value);
        root.hidden = true;
        resolve(name);
      } catch (error) {
        message.textContent = error.message;
        password.select();
      } finally {
        submit.disabled = false;
      }
    });
    replace(root, form);
    root.hidden = false;
    user.focus();
  });
}

async function logIn(user, password) {
  const answer = await fetch("ajax/login", {
    method: "POST", credentials: "same-origin", headers: JSON_HEADERS, body: JSON.stringify({ user, password }),
  });
  const text = await answer.text();
  if (!answer.ok) throw new Error(text.trim() || `HTTP ${answer.status}`);
  return JSON.parse(text).user;
}

/** End the session on the server (its connections close), then start over. */
export async function logOut() {
  ending = true; // the page's own requests refused meanwhile are no news
  try {
    await fetch("ajax/logout", { method: "POST", credentials: "same-origin" });
  } finally {
    location.reload();
  }
}

/** The server refused this page's session (it expired, or the user's password
 * changed): start over at the login form, saying why. */
export function sessionLost(text) {
  if (ending) return;
  ending = true;
  sessionStorage.setItem(ENDED_KEY, `Your session has ended (${text.trim()}). Log in again.`);
  location.reload();
}
