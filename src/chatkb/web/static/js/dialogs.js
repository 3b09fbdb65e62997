// Modal dialogs on the native <dialog> element: focus is trapped and Escape closes them.
import { h } from "./dom.js";
import { t } from "./i18n.js";

/**
 * Show a dialog; `build(close, titleId)` returns the body, whose heading carries titleId;
 * resolves with what close() is given
 * (undefined when dismissed with Escape or the backdrop).
 */
export function openDialog({ build }) {
  return new Promise((resolve) => {
    const titleId = `dlg-${Math.random().toString(36).slice(2)}`;
    const dialog = h("dialog", { "aria-labelledby": titleId });
    let result;
    const close = (value) => {
      result = value;
      dialog.close();
    };
    dialog.append(build(close, titleId));
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(result);
    });
    dialog.addEventListener("click", (e) => {
      if (e.target === dialog) close(undefined);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Yes/no confirmation; `danger` styles the confirm button red. */
export function confirmDialog({ title, message, confirm, danger = false, typed = null }) {
  return openDialog({
    build: (close, titleId) => {
      const input = typed
        ? h("input", { class: "input", "aria-label": t("kb.deleteTyped"), autocomplete: "off" })
        : null;
      const ok = h(
        "button",
        {
          type: "submit",
          class: `btn ${danger ? "btn-danger btn-solid" : "btn-primary"}`,
          disabled: Boolean(typed),
        },
        confirm ?? t("common.delete"),
      );
      input?.addEventListener("input", () => {
        ok.disabled = input.value !== typed;
      });
      const form = h(
        "form",
        { method: "dialog", onsubmit: (e) => (e.preventDefault(), close(true)) },
        h(
          "div",
          { class: "dialog-body" },
          h("h2", { id: titleId }, title),
          h("p", { class: "muted" }, message),
          input
            ? h("div", { class: "field" }, h("span", { class: "hint" }, t("kb.deleteTyped")), input)
            : null,
        ),
        h(
          "div",
          { class: "dialog-actions" },
          h(
            "button",
            { type: "button", class: "btn", onclick: () => close(false) },
            t("common.cancel"),
          ),
          ok,
        ),
      );
      queueMicrotask(() => (input ?? ok).focus());
      return form;
    },
  });
}

/** One-line text prompt; resolves with the text, or undefined when cancelled. */
export function promptDialog({ title, label, value = "", confirm, type = "text" }) {
  return openDialog({
    build: (close, titleId) => {
      const input = h("input", {
        class: "input",
        type,
        value,
        "aria-label": label,
        maxlength: 200,
      });
      queueMicrotask(() => input.select());
      return h(
        "form",
        { onsubmit: (e) => (e.preventDefault(), close(input.value.trim())) },
        h(
          "div",
          { class: "dialog-body" },
          h("h2", { id: titleId }, title),
          h("div", { class: "field" }, input),
        ),
        h(
          "div",
          { class: "dialog-actions" },
          h(
            "button",
            { type: "button", class: "btn", onclick: () => close(undefined) },
            t("common.cancel"),
          ),
          h("button", { type: "submit", class: "btn btn-primary" }, confirm ?? t("common.save")),
        ),
      );
    },
  });
}
