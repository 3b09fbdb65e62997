// The message box: grows with its text, Enter sends, Shift+Enter breaks the line.
import { h } from "../dom.js";
import { icon } from "../icons.js";
import { t } from "../i18n.js";

function placeholder(kbs) {
  return kbs.length ? t("chat.placeholderKb", { kbs: kbs.join(", ") }) : t("chat.placeholder");
}

/** onSend(text), onStop(); streaming: whether an answer is being generated. */
export function composer({ kbs, streaming, onSend, onStop, draft = "" }) {
  const input = h("textarea", {
    class: "composer-input",
    rows: 1,
    "aria-label": t("chat.input"),
    placeholder: placeholder(kbs),
    maxlength: 4000,
    "data-testid": "chat-input",
  });
  input.value = draft;
  const grow = () => {
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight, 220)}px`;
  };
  const submit = () => {
    const text = input.value.trim();
    if (!text || streaming) return;
    input.value = "";
    grow();
    onSend(text);
  };
  input.addEventListener("input", grow);
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submit();
    }
  });
  const button = streaming
    ? h("button", {
        type: "button",
        class: "composer-btn composer-stop",
        "aria-label": t("chat.stop"),
        title: t("chat.stop"),
        "data-action": "stop",
        onclick: onStop,
        html: icon("stop", 20),
      })
    : h("button", {
        type: "submit",
        class: "composer-btn",
        "aria-label": t("chat.send"),
        title: t("chat.send"),
        "data-action": "send",
        html: icon("send", 20),
      });
  const form = h(
    "form",
    { class: "composer", onsubmit: (e) => (e.preventDefault(), submit()) },
    h("div", { class: "composer-box" }, input, button),
    h("p", { class: "composer-hint faint" }, t("chat.send.hint")),
  );
  queueMicrotask(grow);
  return { form, input };
}
