// One knowledge base: its facts, the upload area, and its documents.
import * as api from "../api.js";
import { clear, formatBytes, formatNumber, h } from "../dom.js";
import { icon } from "../icons.js";
import { t } from "../i18n.js";
import { documentsTable } from "../kb/documents.js";
import { uploadArea } from "../kb/upload-view.js";
import { setPref } from "../prefs.js";
import { link, navigate, pathOf } from "../router.js";
import { kbBreadcrumbs, stat } from "../widgets.js";
import { deleteKbFlow } from "./kbs.js";

const POLL_MS = 2000;

function stats(kb) {
  return h(
    "div",
    { class: "stat-grid section", "data-testid": "kb-stats" },
    stat(t("status.documents"), formatNumber(kb.documents)),
    stat(t("status.chunks"), formatNumber(kb.chunks)),
    stat(t("kb.size"), formatBytes(kb.bytes)),
    stat(t("kb.embedder"), h("span", { class: "stat-small" }, `${kb.embedder} · ${kb.dim}d`)),
    stat(
      t("kb.chunking"),
      h("span", { class: "stat-small" }, `${kb.chunk_size} / ${kb.chunk_overlap}`),
    ),
  );
}

function header(kb) {
  const chat = () => {
    setPref("lastKbs", [kb.name]);
    navigate("/chat");
  };
  const remove = async () => (await deleteKbFlow(kb)) && navigate("/kb");
  return h(
    "div",
    {},
    kbBreadcrumbs(),
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, kb.name),
      h(
        "button",
        { type: "button", class: "btn", onclick: chat },
        h("span", { html: icon("chat", 18) }),
        t("kb.chat"),
      ),
      h(
        "a",
        {
          class: "btn",
          href: link(pathOf("kb", kb.name, "search")),
          "data-action": "test-retrieval",
        },
        h("span", { html: icon("search", 18) }),
        t("kb.test"),
      ),
      h(
        "button",
        { type: "button", class: "btn btn-danger", "data-action": "delete-kb", onclick: remove },
        h("span", { html: icon("trash", 18) }),
        t("common.delete"),
      ),
    ),
    kb.description ? h("p", { class: "muted kb-desc" }, kb.description) : null,
  );
}

export function renderKbDetail(root, { name }) {
  const inner = h(
    "div",
    { class: "page-inner" },
    h("div", { class: "loading" }, h("span", { class: "spinner" }), t("common.loading")),
  );
  root.append(inner);
  const statsSlot = h("div");
  let timer = 0;
  let alive = true;
  const refreshStats = () =>
    api
      .getKb(name)
      .then((kb) => alive && clear(statsSlot, stats(kb)))
      .catch(() => {});
  // While anything is pending, poll: jobs started elsewhere (CLI, API, another tab) show up too.
  const table = documentsTable(name, (docs) => {
    refreshStats();
    clearTimeout(timer);
    if (alive && docs.some((d) => d.status === "pending"))
      timer = setTimeout(() => table.load(), POLL_MS);
  });
  const upload = uploadArea(name, () => table.load());
  api
    .getKb(name)
    .then((kb) => {
      if (!alive) return;
      clear(statsSlot, stats(kb));
      clear(inner, header(kb), statsSlot, h("div", { class: "section" }, upload.el), table.el);
      table.load();
    })
    .catch(
      (err) =>
        alive &&
        clear(
          inner,
          h("div", { class: "notice notice-danger" }, t("common.error", { message: err.message })),
        ),
    );
  return () => {
    alive = false;
    clearTimeout(timer);
    upload.dispose();
  };
}
