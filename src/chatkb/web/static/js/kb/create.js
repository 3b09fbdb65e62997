// The "new knowledge base" dialog: name, description, embedder, chunk size and overlap.
import * as api from "../api.js";
import { openDialog } from "../dialogs.js";
import { h, uid } from "../dom.js";
import { t } from "../i18n.js";

function field(label, control, hint) {
  const id = uid("f");
  control.id = id;
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    control,
    hint ? h("span", { class: "hint" }, hint) : null,
  );
}

// Embedders as [{name, default}]: the server's list, else the one in use (from status).
async function embedderChoices() {
  try {
    const list = await api.listEmbedders();
    if (list.length) return list.map((e) => (typeof e === "string" ? { name: e } : e));
  } catch {
    // Older servers have no embedder list; fall through to the status page's embedder.
  }
  try {
    const status = await api.status();
    return status.embedder?.name ? [{ name: status.embedder.name, default: true }] : [];
  } catch {
    return [];
  }
}

function numberInput(name, min, max, placeholder) {
  return h("input", {
    class: "input",
    type: "number",
    name,
    min,
    max,
    step: 1,
    placeholder,
    inputmode: "numeric",
  });
}

function specFrom(form) {
  const data = new FormData(form);
  const spec = {
    name: String(data.get("name")).trim(),
    description: String(data.get("description")).trim(),
  };
  const embedder = data.get("embedder");
  if (embedder) spec.embedder = String(embedder);
  for (const key of ["chunk_size", "chunk_overlap"]) {
    const value = String(data.get(key) ?? "").trim();
    if (value !== "") spec[key] = Number(value);
  }
  return spec;
}

/** Resolves with the created knowledge base, or undefined when cancelled. */
export async function createKbDialog() {
  const embedders = await embedderChoices();
  return openDialog({
    build: (close, titleId) => {
      const error = h("div", { class: "notice notice-danger", hidden: true, role: "alert" });
      const embedder = embedders.length
        ? h(
            "select",
            { class: "select", name: "embedder" },
            embedders.map((e) =>
              h("option", { value: e.name, selected: e.default || null }, e.name),
            ),
          )
        : h("input", { class: "input", name: "embedder", placeholder: "e5-small-onnx" });
      const submit = h(
        "button",
        { type: "submit", class: "btn btn-primary", "data-action": "create-kb" },
        t("kb.create"),
      );
      const onsubmit = async (e) => {
        e.preventDefault();
        submit.disabled = true;
        try {
          close(await api.createKb(specFrom(e.target)));
        } catch (err) {
          error.hidden = false;
          error.textContent = err.message;
          submit.disabled = false;
        }
      };
      const name = h("input", {
        class: "input",
        name: "name",
        required: true,
        maxlength: 64,
        pattern: "[\\w][\\w.\\-]{0,63}",
        autocomplete: "off",
      });
      queueMicrotask(() => name.focus());
      return h(
        "form",
        { onsubmit, class: "kb-create" },
        h(
          "div",
          { class: "dialog-body" },
          h("h2", { id: titleId }, t("kb.new")),
          field(t("kb.name"), name, t("kb.nameHint")),
          field(
            t("kb.description"),
            h("textarea", { class: "textarea", name: "description", rows: 2, maxlength: 2000 }),
          ),
          field(t("kb.embedder"), embedder),
          h(
            "div",
            { class: "field-row" },
            field(t("kb.chunkSize"), numberInput("chunk_size", 50, 8000, "500")),
            field(t("kb.chunkOverlap"), numberInput("chunk_overlap", 0, 4000, "80")),
          ),
          h("p", { class: "faint" }, t("kb.fixedHint")),
          error,
        ),
        h(
          "div",
          { class: "dialog-actions" },
          h(
            "button",
            { type: "button", class: "btn", onclick: () => close(undefined) },
            t("common.cancel"),
          ),
          submit,
        ),
      );
    },
  });
}
