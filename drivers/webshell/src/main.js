// The console: one page per view, chosen by the URL's fragment (#dashboard,
// #tables, #servers, #dataexplorer, #logs, #jobs), so every page can be
// bookmarked and the browser's Back button works.  A page is built the first
// time it is shown and polls only while it is shown.
import { Dashboard } from "./dashboard.js";
import { replace } from "./dom.js";
import { DataExplorer } from "./explorer.js";
import { JobsPage } from "./jobspage.js";
import { askForLogin, fetchSession, logOut } from "./login.js";
import { LogsPage } from "./logs.js";
import { closeQuietly, connect } from "./reql.js";
import { errorBox } from "./results.js";
import { ServersPage } from "./servers.js";
import { TablesPage } from "./tables.js";

const PAGES = {
  dashboard: { title: "Dashboard", make: (el) => new Dashboard(el) },
  tables: { title: "Tables", make: (el) => new TablesPage(el) },
  servers: { title: "Servers", make: (el) => new ServersPage(el) },
  dataexplorer: { title: "Data Explorer", make: () => new DataExplorer() },
  logs: { title: "Logs", make: (el) => new LogsPage(el) },
  jobs: { title: "Jobs", make: (el) => new JobsPage(el) },
};
const DEFAULT_PAGE = "dashboard";

class Console {
  constructor() {
    this.pages = new Map(); // name -> page object
    this.current = null;
  }

  start() {
    addEventListener("hashchange", () => this.route(true));
    this.route(false);
    showServer();
  }

  route(moveFocus) {
    const asked = location.hash.slice(1);
    const name = asked in PAGES ? asked : DEFAULT_PAGE;
    if (name === this.current) return;
    if (this.current) {
      this.pages.get(this.current).hide();
      document.getElementById(`page-${this.current}`).hidden = true;
    }
    const section = document.getElementById(`page-${name}`);
    section.hidden = false;
    document.body.dataset.page = name;
    if (!this.pages.has(name)) this.pages.set(name, PAGES[name].make(section));
    this.current = name;
    document.title = `systables · ${PAGES[name].title}`;
    for (const link of document.querySelectorAll(".nav a")) {
      if (link.getAttribute("href") === `#${name}`) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    this.pages.get(name).show();
    // Keyboard and screen-reader users land on the new page's heading.
    if (moveFocus && name !== "dataexplorer") section.querySelector(".page-title")?.focus();
  }
}

async function showServer() {
  const status = document.getElementById("server-status");
  try {
    const conn = await connect();
    const info = await Promise.resolve(conn.server());
    status.textContent = `connected to ${info.name}`;
    status.dataset.state = "ok";
    closeQuietly(conn);
  } catch (error) {
    status.textContent = `cannot reach the server: ${error.message}`;
    status.dataset.state = "fail";
  }
}

/** Once the server asks for a login (its admin user has a password), the
 * pages start only after one; the bar then shows the user and a Log out button. */
async function logInIfNeeded() {
  let session;
  try {
    session = await fetchSession();
  } catch {
    return; // an older server, or none: the pages say they cannot reach it
  }
  if (!session.login_required && !session.user) return;
  const main = document.querySelector("main.pages");
  const status = document.getElementById("server-status");
  main.hidden = true;
  status.textContent = "not logged in";
  const user = session.user ?? (await askForLogin(document.getElementById("login")));
  status.textContent = "connecting…";
  main.hidden = false;
  document.getElementById("session-user").textContent = `logged in as ${user}`;
  const logout = document.getElementById("logout");
  logout.hidden = false;
  logout.addEventListener("click", () => logOut());
}

async function boot() {
  try {
    await logInIfNeeded();
    new Console().start();
  } catch (error) {
    replace(document.getElementById("results") ?? document.body, errorBox(error));
  }
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else boot();
