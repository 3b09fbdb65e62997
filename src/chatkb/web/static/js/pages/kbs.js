// The knowledge-base list: cards with counts and sizes; create and delete.
import * as api from "../api.js";
import { confirmDialog } from "../dialogs.js";
import { clear, formatBytes, formatNumber, h, toast } from "../dom.js";
import { icon } from "../icons.js";
import { t } from "../i18n.js";
import { createKbDialog } from "../kb/create.js";
import { setPref } from "../prefs.js";
import { link, navigate, pathOf } from "../router.js";

export async function deleteKbFlow(kb) {
  const ok = await confirmDialog({
    title: t("kb.delete"),
    message: t("kb.deleteConfirm", { name: kb.name, n: kb.documents ?? 0 }),
    danger: true,
    typed: kb.name,
  });
  if (!ok) return false;
  try {
    await api.deleteKb(kb.name);
    toast(t("kb.deleted", { name: kb.name }));
    return true;
  } catch (err) {
    toast(t("common.error", { message: err.message }), "error");
    return false;
  }
}

function kbCard(kb, refresh) {
  const open = link(pathOf("kb", kb.name));
  return h(
    "article",
    { class: "card kb-card", "data-kb": kb.name },
    h(
      "div",
      { class: "kb-card-head" },
      h("span", { class: "kb-card-icon", html: icon("books", 20) }),
      h("h2", { class: "kb-card-title" }, h("a", { href: open }, kb.name)),
      kb.active_jobs
        ? h(
            "span",
            { class: "badge badge-accent" },
            h("span", { class: "spinner" }),
            t("upload.processing"),
          )
        : null,
    ),
    h("p", { class: "kb-card-desc muted" }, kb.description || "\u00a0"),
    h(
      "div",
      { class: "kb-card-stats" },
      h("span", {}, t("kb.documents", { n: formatNumber(kb.documents) })),
      h("span", {}, t("kb.chunks", { n: formatNumber(kb.chunks) })),
      h("span", {}, formatBytes(kb.bytes)),
    ),
    h(
      "div",
      { class: "kb-card-foot" },
      h("span", { class: "badge", title: t("kb.embedder") }, kb.embedder),
      h("span", { class: "spacer" }),
      h(
        "a",
        {
          class: "btn btn-sm btn-ghost",
          href: "#/chat",
          onclick: () => setPref("lastKbs", [kb.name]),
        },
        t("kb.chat"),
      ),
      h("button", {
        type: "button",
        class: "icon-btn",
        "aria-label": `${t("kb.delete")}: ${kb.name}`,
        "data-action": "delete-kb",
        onclick: async () => (await deleteKbFlow(kb)) && refresh(),
        html: icon("trash", 18),
      }),
    ),
  );
}

async function load(body, refresh) {
  const kbs = await api.listKbs();
  if (!kbs.length) {
    return clear(
      body,
      h(
        "div",
        { class: "card empty" },
        h("span", { html: icon("books", 36) }),
        h("p", {}, t("kb.empty")),
      ),
    );
  }
  clear(
    body,
    h(
      "div",
      { class: "kb-grid" },
      kbs.map((kb) => kbCard(kb, refresh)),
    ),
  );
}

export function renderKbList(root) {
  const body = h(
    "div",
    {},
    h("div", { class: "loading" }, h("span", { class: "spinner" }), t("common.loading")),
  );
  const refresh = () =>
    load(body, refresh).catch((err) =>
      clear(
        body,
        h("div", { class: "notice notice-danger" }, t("common.error", { message: err.message })),
      ),
    );
  const create = async () => {
    const kb = await createKbDialog();
    if (!kb) return;
    toast(t("kb.created", { name: kb.name }));
    navigate(pathOf("kb", kb.name));
  };
  root.append(
    h(
      "div",
      { class: "page-inner" },
      h(
        "div",
        { class: "page-head" },
        h("h1", {}, t("kb.title")),
        h(
          "button",
          { type: "button", class: "btn btn-primary", "data-action": "new-kb", onclick: create },
          h("span", { html: icon("plus", 18) }),
          t("kb.new"),
        ),
      ),
      body,
    ),
  );
  refresh();
}
