// One message of a conversation: the user's question, or a streamed, cited answer.
import { copyText, h, toast } from "../dom.js";
import { icon } from "../icons.js";
import { t } from "../i18n.js";
import { renderMarkdown } from "../markdown.js";
import { iconButton } from "../widgets.js";
import { openSource, renderSources } from "./citations.js";
import { askFeedbackReason } from "./feedback.js";

function bodyHtml(message) {
  const numbers = new Set((message.citations ?? []).map((c) => Number(c.n)));
  return renderMarkdown(message.content ?? "", {
    citations: numbers,
    citeLabel: (n) => t("chat.citeLabel", { n }),
  });
}

function notices(message, ctx) {
  const out = [];
  if (message.status === "streaming") return out;
  if (message.found === false && ctx.kbs.length) {
    out.push(
      h(
        "div",
        { class: "notice notice-warn answer-flag", "data-flag": "not-found" },
        h("span", { html: icon("search", 18) }),
        t("chat.notFound"),
      ),
    );
  }
  if (message.grounded === false && message.found !== false && ctx.kbs.length) {
    out.push(
      h(
        "div",
        { class: "notice notice-warn answer-flag", "data-flag": "ungrounded" },
        h("span", { html: icon("warning", 18) }),
        t("chat.ungrounded"),
      ),
    );
  }
  if (message.extractive && message.found !== false) {
    out.push(
      h(
        "div",
        { class: "notice notice-info answer-flag", "data-flag": "extractive" },
        h("span", { html: icon("quote", 18) }),
        t("chat.extractive"),
      ),
    );
  }
  if (message.status === "error") {
    out.push(
      h(
        "div",
        { class: "notice notice-danger" },
        h("span", { html: icon("warning", 18) }),
        message.error,
      ),
    );
  }
  return out;
}

function actions(message, ctx) {
  if (message.status === "streaming") return null;
  const copy = iconButton("copy", t("chat.copy"), async (e) => {
    await copyText(message.content ?? "");
    const btn = e.currentTarget;
    btn.innerHTML = icon("check", 18);
    toast(t("common.copied"));
    setTimeout(() => (btn.innerHTML = icon("copy", 18)), 1500);
  });
  const vote = (value) => async () => {
    const reason = value === "down" ? await askFeedbackReason() : "";
    if (reason === undefined) return;
    ctx.onFeedback(message, value, reason);
  };
  const up = iconButton("thumbs-up", t("chat.good"), vote("up"), {
    icon: "thumbUp",
    attrs: { "aria-pressed": String(message.feedback === "up") },
  });
  const down = iconButton("thumbs-down", t("chat.bad"), vote("down"), {
    icon: "thumbDown",
    attrs: { "aria-pressed": String(message.feedback === "down") },
  });
  const regen = ctx.isLast
    ? iconButton("regenerate", t("chat.regenerate"), () => ctx.onRegenerate(message), {
        icon: "refresh",
      })
    : null;
  const model = message.model ? h("span", { class: "faint msg-model" }, message.model) : null;
  const stopped =
    message.status === "stopped" ? h("span", { class: "badge" }, t("chat.stopped")) : null;
  return h("div", { class: "msg-actions" }, copy, regen, up, down, stopped, model);
}

function assistantBody(message) {
  if (message.status === "streaming" && !message.content) {
    return h(
      "div",
      { class: "msg-body msg-pending" },
      h("span", { class: "typing", "aria-hidden": "true" }, h("i"), h("i"), h("i")),
      h("span", { class: "sr-only" }, t("chat.thinking")),
    );
  }
  const body = h("div", { class: "msg-body markdown", html: bodyHtml(message) });
  if (message.status === "streaming") body.classList.add("is-streaming");
  return body;
}

export function renderMessage(message, ctx) {
  if (message.role === "user") {
    return h(
      "article",
      { class: "msg msg-user", "data-message-id": message.id, "aria-label": t("chat.you") },
      h("div", { class: "msg-bubble" }, message.content),
    );
  }
  const el = h(
    "article",
    {
      class: "msg msg-assistant",
      "data-message-id": message.id,
      "data-status": message.status ?? "done",
      "aria-label": t("chat.assistant"),
      "aria-busy": message.status === "streaming" ? "true" : null,
    },
    h("div", { class: "msg-avatar", html: icon("sparkle", 18) }),
    h(
      "div",
      { class: "msg-main" },
      assistantBody(message),
      notices(message, ctx),
      message.status === "streaming" ? null : renderSources(message, ctx.kbs),
      actions(message, ctx),
    ),
  );
  el.addEventListener("click", (e) => {
    const marker = e.target.closest(".cite-marker");
    if (marker) openSource(el, message.id, marker.dataset.cite);
  });
  return el;
}
