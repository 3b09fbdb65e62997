// Interface strings in English and Chinese; the browser's language picks the default.
import { getPref, setPref } from "./prefs.js";
import { EN } from "./strings/en.js";
import { ZH } from "./strings/zh.js";

const TABLES = { en: EN, zh: ZH };

function browserLang() {
  const langs = navigator.languages?.length ? navigator.languages : [navigator.language];
  for (const lang of langs) {
    const base = String(lang).toLowerCase().slice(0, 2);
    if (base in TABLES) return base;
  }
  return "en";
}

let current = null;

export function lang() {
  if (!current) {
    const saved = getPref("lang");
    current = saved in TABLES ? saved : browserLang();
  }
  return current;
}

export function setLang(code) {
  current = code in TABLES ? code : "en";
  setPref("lang", current);
  document.documentElement.lang = current === "zh" ? "zh-CN" : "en";
}

/** t("kb.documents", {n: 3}) → "3 documents"; an unknown key falls back to English. */
export function t(key, vars = {}) {
  const text = TABLES[lang()][key] ?? EN[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

export function otherLang() {
  return lang() === "zh" ? "en" : "zh";
}
