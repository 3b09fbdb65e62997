// Small pieces of UI that several pages share.
import { h } from "./dom.js";
import { t } from "./i18n.js";
import { icon } from "./icons.js";
import { link, pathOf } from "./router.js";

/** A labelled icon button; `data-action` names it for delegation and tests. */
export function iconButton(name, label, onclick, { icon: iconName = name, attrs = {} } = {}) {
  return h("button", {
    type: "button",
    class: "icon-btn",
    "aria-label": label,
    title: label,
    "data-action": name,
    onclick,
    html: icon(iconName, 18),
    ...attrs,
  });
}

/** A figure with its label, as on the knowledge-base and status pages. */
export function stat(label, value) {
  return h(
    "div",
    { class: "stat" },
    h("div", { class: "stat-value" }, value),
    h("div", { class: "stat-label" }, label),
  );
}

/** "Knowledge bases /", and inside one of them "name /" after it. */
export function kbBreadcrumbs(name = null) {
  const slash = () => h("span", { "aria-hidden": "true" }, "/");
  const inside = name ? [h("a", { href: link(pathOf("kb", name)) }, name), slash()] : [];
  return h(
    "nav",
    { class: "breadcrumbs", "aria-label": "breadcrumbs" },
    h("a", { href: "#/kb" }, t("kb.title")),
    slash(),
    ...inside,
  );
}
