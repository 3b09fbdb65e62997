// The "what was wrong?" dialog behind a thumbs-down.
import { openDialog } from "../dialogs.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";

/** Resolves with the reason text ("" if none given), or undefined when cancelled. */
export function askFeedbackReason() {
  return openDialog({
    build: (close, titleId) => {
      const reasons = t("chat.feedbackReasons").split("|");
      const chips = reasons.map((reason) =>
        h(
          "label",
          { class: "chip" },
          h("input", { type: "radio", name: "reason", value: reason }),
          h("span", {}, reason),
        ),
      );
      const note = h("textarea", {
        class: "textarea",
        rows: 3,
        "aria-label": t("chat.feedbackReason"),
        placeholder: t("chat.feedbackReason"),
        maxlength: 2000,
      });
      const submit = (e) => {
        e.preventDefault();
        const picked = e.target.querySelector("input[name=reason]:checked")?.value ?? "";
        close([picked, note.value.trim()].filter(Boolean).join(": "));
      };
      return h(
        "form",
        { onsubmit: submit },
        h(
          "div",
          { class: "dialog-body" },
          h("h2", { id: titleId }, t("chat.feedbackTitle")),
          h(
            "fieldset",
            { class: "chips" },
            h("legend", { class: "sr-only" }, t("chat.feedbackTitle")),
            chips,
          ),
          note,
        ),
        h(
          "div",
          { class: "dialog-actions" },
          h(
            "button",
            { type: "button", class: "btn", onclick: () => close(undefined) },
            t("common.cancel"),
          ),
          h("button", { type: "submit", class: "btn btn-primary" }, t("common.save")),
        ),
      );
    },
  });
}
