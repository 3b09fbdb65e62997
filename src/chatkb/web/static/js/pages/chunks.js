// The chunk browser: one document's chunks in order; edit (re-embedded) or delete one.
import * as api from "../api.js";
import { confirmDialog } from "../dialogs.js";
import { clear, h, toast } from "../dom.js";
import { icon } from "../icons.js";
import { t } from "../i18n.js";
import { kbBreadcrumbs } from "../widgets.js";

function meta(chunk, n) {
  return h(
    "div",
    { class: "chunk-meta" },
    h("span", { class: "chunk-n" }, `#${n}`),
    chunk.page ? h("span", { class: "badge" }, t("common.page", { page: chunk.page })) : null,
    chunk.heading_path?.length
      ? h(
          "span",
          { class: "chunk-headings", title: chunk.heading_path.join(" › ") },
          chunk.heading_path.join(" › "),
        )
      : null,
    h("span", { class: "spacer" }),
    h("span", { class: "faint" }, t("chunks.chars", { n: chunk.text.length })),
  );
}

function editor(kb, chunk, n, done) {
  const area = h("textarea", {
    class: "textarea chunk-editor",
    rows: Math.min(16, Math.max(5, Math.ceil(chunk.text.length / 80))),
    "aria-label": `${t("chunks.text")} #${n}`,
    maxlength: 20000,
  });
  area.value = chunk.text;
  const save = h(
    "button",
    { type: "submit", class: "btn btn-primary btn-sm", "data-action": "save-chunk" },
    t("common.save"),
  );
  queueMicrotask(() => area.focus());
  return h(
    "form",
    {
      class: "chunk-edit",
      onsubmit: async (e) => {
        e.preventDefault();
        save.disabled = true;
        try {
          const updated = await api.updateChunk(kb, chunk.chunk_id, area.value);
          toast(t("chunks.saved"));
          done(updated);
        } catch (err) {
          toast(t("common.error", { message: err.message }), "error");
          save.disabled = false;
        }
      },
      onkeydown: (e) => e.key === "Escape" && done(null),
    },
    area,
    h(
      "div",
      { class: "chunk-edit-actions" },
      h(
        "button",
        { type: "button", class: "btn btn-sm", onclick: () => done(null) },
        t("common.cancel"),
      ),
      save,
    ),
  );
}

function chunkCard(kb, chunk, n, reload) {
  const card = h("article", { class: "card chunk-card", "data-chunk-id": chunk.chunk_id });
  const view = (current) =>
    clear(
      card,
      meta(current, n),
      h("div", { class: "chunk-text" }, current.text),
      h(
        "div",
        { class: "chunk-actions" },
        h(
          "button",
          {
            type: "button",
            class: "btn btn-sm btn-ghost",
            "data-action": "edit-chunk",
            "aria-label": `${t("chunks.edit")} #${n}`,
            onclick: () => edit(current),
          },
          h("span", { html: icon("edit", 16) }),
          t("chunks.edit"),
        ),
        h(
          "button",
          {
            type: "button",
            class: "btn btn-sm btn-ghost btn-danger",
            "data-action": "delete-chunk",
            "aria-label": `${t("chunks.delete")} #${n}`,
            onclick: () => remove(),
          },
          h("span", { html: icon("trash", 16) }),
          t("common.delete"),
        ),
      ),
    );
  const edit = (current) =>
    clear(
      card,
      meta(current, n),
      editor(kb, current, n, (updated) => {
        Object.assign(chunk, updated ?? {});
        view(chunk);
        card.querySelector("[data-action=edit-chunk]").focus();
      }),
    );
  const remove = async () => {
    const ok = await confirmDialog({
      title: t("chunks.delete"),
      message: t("chunks.deleteConfirm", { n }),
      danger: true,
    });
    if (!ok) return;
    try {
      await api.deleteChunk(kb, chunk.chunk_id);
      toast(t("chunks.deleted"));
      reload();
    } catch (err) {
      toast(t("common.error", { message: err.message }), "error");
    }
  };
  view(chunk);
  return card;
}

export function renderChunks(root, { name, doc }) {
  const list = h(
    "div",
    { class: "chunk-list" },
    h("div", { class: "loading" }, h("span", { class: "spinner" }), t("common.loading")),
  );
  const count = h("span", { class: "faint" });
  const load = async () => {
    try {
      const chunks = await api.listChunks(name, doc);
      count.textContent = t("kb.chunks", { n: chunks.length });
      clear(
        list,
        chunks.length
          ? chunks.map((c, i) => chunkCard(name, c, i + 1, load))
          : h("div", { class: "card empty" }, t("chunks.empty")),
      );
    } catch (err) {
      clear(
        list,
        h("div", { class: "notice notice-danger" }, t("common.error", { message: err.message })),
      );
    }
  };
  root.append(
    h(
      "div",
      { class: "page-inner" },
      kbBreadcrumbs(name),
      h(
        "div",
        { class: "page-head" },
        h("h1", { class: "doc-title" }, doc),
        count,
        h(
          "a",
          { class: "btn", href: api.documentFileUrl(name, doc), target: "_blank", rel: "noopener" },
          h("span", { html: icon("external", 18) }),
          t("docs.download"),
        ),
      ),
      list,
    ),
  );
  load();
}
