// The documents table of a knowledge base: status, chunks, size; view, open, re-index, delete.
import * as api from "../api.js";
import { confirmDialog } from "../dialogs.js";
import { clear, formatBytes, formatNumber, h, toast } from "../dom.js";
import { icon } from "../icons.js";
import { lang, t } from "../i18n.js";
import { link, pathOf } from "../router.js";
import { iconButton } from "../widgets.js";

const STATUS_BADGE = {
  indexed: "badge-ok",
  pending: "badge-accent",
  failed: "badge-danger",
  not_indexed: "badge-warn",
};
const STATUS_TEXT = {
  en: { indexed: "Indexed", pending: "Indexing", failed: "Failed", not_indexed: "Not indexed" },
  zh: { indexed: "已索引", pending: "索引中", failed: "失败", not_indexed: "未索引" },
};

function when(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? iso
    : date.toLocaleString(lang() === "zh" ? "zh-CN" : undefined, {
        dateStyle: "medium",
        timeStyle: "short",
      });
}

function actions(kb, doc, refresh) {
  const view = doc.doc_id
    ? h("a", {
        class: "icon-btn",
        href: link(pathOf("kb", kb, "doc", doc.source)),
        "aria-label": `${t("docs.view")}: ${doc.source}`,
        title: t("docs.view"),
        "data-action": "view-chunks",
        html: icon("layers", 18),
      })
    : null;
  const open = doc.has_original
    ? h("a", {
        class: "icon-btn",
        href: api.documentFileUrl(kb, doc.source),
        target: "_blank",
        rel: "noopener",
        "aria-label": `${t("docs.download")}: ${doc.source}`,
        title: t("docs.download"),
        html: icon("external", 18),
      })
    : null;
  const reindex = doc.has_original
    ? iconButton(
        "reindex",
        `${t("docs.reindex")}: ${doc.source}`,
        async () => {
          try {
            await api.reindexDocument(kb, doc.source);
            toast(t("docs.reindexed", { source: doc.source }));
            refresh();
          } catch (err) {
            toast(t("common.error", { message: err.message }), "error");
          }
        },
        { icon: "refresh" },
      )
    : null;
  const remove = iconButton(
    "delete-document",
    `${t("docs.delete")}: ${doc.source}`,
    async () => {
      const ok = await confirmDialog({
        title: t("docs.delete"),
        message: t("docs.deleteConfirm", { source: doc.source }),
        danger: true,
      });
      if (!ok) return;
      try {
        await api.deleteDocument(kb, doc.source);
        toast(t("docs.deleted", { source: doc.source }));
        refresh();
      } catch (err) {
        toast(t("common.error", { message: err.message }), "error");
      }
    },
    { icon: "trash" },
  );
  return h("td", { class: "actions" }, view, open, reindex, remove);
}

function row(kb, doc, refresh) {
  const status = doc.status ?? "indexed";
  return h(
    "tr",
    { "data-source": doc.source, "data-status": status },
    h(
      "td",
      {},
      h(
        "div",
        { class: "doc-source" },
        h("span", { class: "doc-icon", html: icon("file", 16) }),
        h(
          "div",
          {},
          h("div", { class: "doc-name" }, doc.source),
          doc.error ? h("div", { class: "doc-error" }, doc.error) : null,
        ),
      ),
    ),
    h(
      "td",
      {},
      h(
        "span",
        { class: `badge ${STATUS_BADGE[status] ?? ""}` },
        STATUS_TEXT[lang()][status] ?? status,
      ),
    ),
    h("td", { class: "num hide-sm" }, formatNumber(doc.chunk_count)),
    h("td", { class: "num hide-sm" }, formatBytes(doc.size)),
    h("td", { class: "hide-sm faint" }, when(doc.updated_at)),
    actions(kb, doc, refresh),
  );
}

/** The table; returns {el, load()} where load() refetches; onLoaded(docs) after each load. */
export function documentsTable(kb, onLoaded) {
  const filter = h("input", {
    class: "input doc-filter",
    type: "search",
    placeholder: t("docs.filter"),
    "aria-label": t("docs.filter"),
  });
  const body = h("div", { class: "table-wrap" });
  let docs = [];
  const draw = () => {
    const needle = filter.value.trim().toLowerCase();
    const shown = docs.filter((d) => d.source.toLowerCase().includes(needle));
    if (!docs.length)
      return clear(
        body,
        h("div", { class: "empty" }, h("span", { html: icon("file", 30) }), t("docs.empty")),
      );
    const head = [
      "docs.source",
      "docs.status",
      "docs.chunks",
      "docs.size",
      "docs.updated",
      "docs.actions",
    ].map((key, i) =>
      h(
        "th",
        {
          scope: "col",
          class:
            [
              i === 2 ? "num hide-sm" : "",
              i === 3 ? "num hide-sm" : "",
              i === 4 ? "hide-sm" : "",
              i === 5 ? "actions" : "",
            ]
              .join(" ")
              .trim() || null,
        },
        t(key),
      ),
    );
    clear(
      body,
      h(
        "table",
        { class: "table doc-table" },
        h("thead", {}, h("tr", {}, head)),
        h(
          "tbody",
          {},
          shown.map((d) => row(kb, d, load)),
        ),
      ),
    );
  };
  async function load() {
    try {
      docs = await api.listDocuments(kb);
      draw();
      onLoaded?.(docs);
    } catch (err) {
      clear(
        body,
        h("div", { class: "notice notice-danger" }, t("common.error", { message: err.message })),
      );
    }
  }
  filter.addEventListener("input", draw);
  const el = h(
    "section",
    { class: "card section doc-section", "aria-labelledby": "docs-title" },
    h("div", { class: "doc-head" }, h("h2", { id: "docs-title" }, t("docs.title")), filter),
    body,
  );
  return { el, load };
}
