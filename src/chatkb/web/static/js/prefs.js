// UI preferences only (theme, language, last choices); conversations live on the server.

const KEY = "chatkb.prefs";

function read() {
  try {
    return JSON.parse(localStorage.getItem(KEY) ?? "{}") ?? {};
  } catch {
    return {};
  }
}

export function getPref(name, fallback = null) {
  const value = read()[name];
  return value === undefined ? fallback : value;
}

export function setPref(name, value) {
  const prefs = read();
  if (value === null || value === undefined) delete prefs[name];
  else prefs[name] = value;
  try {
    localStorage.setItem(KEY, JSON.stringify(prefs));
  } catch {
    // Private mode or a full quota: the UI still works, it just forgets the choice.
  }
}

/** "light" or "dark": the saved choice, else the system's. */
export function currentTheme() {
  const saved = getPref("theme");
  if (saved === "light" || saved === "dark") return saved;
  return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

export function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  const meta = document.querySelector('meta[name="theme-color"]');
  if (meta) meta.setAttribute("content", theme === "dark" ? "#17181c" : "#ffffff");
}
