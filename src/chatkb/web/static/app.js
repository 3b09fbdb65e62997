// Entry point: the shell (navigation, theme, language) and the hash routes.
import { setToken } from "./js/api.js";
import { promptDialog } from "./js/dialogs.js";
import { h, clear } from "./js/dom.js";
import { icon } from "./js/icons.js";
import { lang, otherLang, setLang, t } from "./js/i18n.js";
import { applyTheme, currentTheme, setPref } from "./js/prefs.js";
import { currentPath, navigate, resolve, route } from "./js/router.js";
import { renderChat } from "./js/pages/chat.js";
import { renderKbList } from "./js/pages/kbs.js";
import { renderKbDetail } from "./js/pages/kb-detail.js";
import { renderChunks } from "./js/pages/chunks.js";
import { renderRetrieval } from "./js/pages/retrieval.js";
import { renderStatus } from "./js/pages/status.js";

const NAV = [
  { path: "/chat", key: "nav.chat", icon: "chat" },
  { path: "/kb", key: "nav.kbs", icon: "books" },
  { path: "/status", key: "nav.status", icon: "status" },
];

let main = null;
let disposePage = null;

function renderRail() {
  const path = currentPath();
  const dark = currentTheme() === "dark";
  const links = NAV.map((item) =>
    h(
      "a",
      {
        class: "rail-link",
        href: `#${item.path}`,
        "aria-current": path.startsWith(item.path) ? "page" : null,
        "data-nav": item.path.slice(1),
      },
      h("span", { html: icon(item.icon, 22) }),
      t(item.key),
    ),
  );
  const theme = h("button", {
    type: "button",
    class: "icon-btn",
    "aria-label": t(dark ? "nav.theme.light" : "nav.theme.dark"),
    title: t(dark ? "nav.theme.light" : "nav.theme.dark"),
    onclick: () => toggleTheme(),
    html: icon(dark ? "sun" : "moon"),
  });
  const language = h(
    "button",
    {
      type: "button",
      class: "icon-btn lang-btn",
      "aria-label": t("nav.lang"),
      title: t("nav.lang"),
      lang: otherLang() === "zh" ? "zh-CN" : "en",
      onclick: () => switchLanguage(),
      "data-action": "switch-language",
    },
    t("nav.lang.short"),
  );
  return h(
    "nav",
    { class: "rail", "aria-label": t("nav.main") },
    h("a", { class: "rail-logo", href: "#/chat", "aria-label": "chatkb", html: icon("logo", 22) }),
    links,
    h("div", { class: "rail-spacer" }),
    language,
    theme,
  );
}

function toggleTheme() {
  const next = currentTheme() === "dark" ? "light" : "dark";
  setPref("theme", next);
  applyTheme(next);
  renderShell();
}

function switchLanguage() {
  setLang(otherLang());
  renderShell();
  renderPage();
}

function renderShell() {
  const app = document.getElementById("app");
  const rail = renderRail();
  const existing = app.querySelector(".rail");
  if (existing) existing.replaceWith(rail);
  else app.prepend(rail);
  if (!main) {
    main = h("main", { id: "main", class: "page", tabindex: "-1" });
    app.append(main);
  }
  document.getElementById("skip-link").textContent = t("app.skip");
}

function mount(render) {
  return (params, path) => {
    disposePage?.();
    disposePage = null;
    clear(main);
    const dispose = render(main, params, path);
    disposePage = typeof dispose === "function" ? dispose : null;
  };
}

route("/chat", mount(renderChat));
route("/chat/:id", mount(renderChat));
route("/kb", mount(renderKbList));
route("/kb/:name", mount(renderKbDetail));
route("/kb/:name/doc/:doc", mount(renderChunks));
route("/kb/:name/search", mount(renderRetrieval));
route("/search", mount(renderRetrieval));
route("/status", mount(renderStatus));

function renderPage() {
  resolve(() => navigate("/chat", { replace: true }));
}

let asking = false;

// The server wants an API key: ask once, keep it for this browser, start again.
async function askForKey() {
  if (asking) return;
  asking = true;
  const key = await promptDialog({
    title: t("auth.title"),
    label: t("auth.key"),
    confirm: t("auth.use"),
    type: "password",
  });
  asking = false;
  if (!key) return;
  setToken(key);
  renderPage();
}

function boot() {
  setLang(lang());
  applyTheme(currentTheme());
  renderShell();
  document.getElementById("skip-link").addEventListener("click", () => main.focus());
  window.addEventListener("chatkb:unauthorized", askForKey);
  window.addEventListener("hashchange", () => {
    renderShell();
    renderPage();
  });
  renderPage();
}

boot();
