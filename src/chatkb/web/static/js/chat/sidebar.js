// The conversation list: new chat, open, rename, delete.
import { h } from "../dom.js";
import { icon } from "../icons.js";
import { t } from "../i18n.js";
import { link } from "../router.js";

function item(conversation, activeId, handlers) {
  const title = conversation.title || t("chat.untitled");
  return h(
    "li",
    {
      class: "conv-item",
      "aria-current": conversation.id === activeId ? "page" : null,
      "data-conversation-id": conversation.id,
    },
    h("a", { class: "conv-link", href: link(`/chat/${conversation.id}`), title }, title),
    h(
      "div",
      { class: "conv-actions" },
      h("button", {
        type: "button",
        class: "icon-btn",
        "aria-label": `${t("common.rename")}: ${title}`,
        "data-action": "rename-conversation",
        onclick: () => handlers.onRename(conversation),
        html: icon("pencil", 16),
      }),
      h("button", {
        type: "button",
        class: "icon-btn",
        "aria-label": `${t("common.delete")}: ${title}`,
        "data-action": "delete-conversation",
        onclick: () => handlers.onDelete(conversation),
        html: icon("trash", 16),
      }),
    ),
  );
}

/** handlers: onNew(), onRename(conversation), onDelete(conversation), onClose() */
export function conversationList({ conversations, activeId, handlers }) {
  const list = conversations.length
    ? h(
        "ul",
        { class: "conv-list", role: "list" },
        conversations.map((c) => item(c, activeId, handlers)),
      )
    : h("p", { class: "faint conv-empty" }, t("chat.noConversations"));
  return h(
    "nav",
    { class: "conv-panel", "aria-label": t("chat.conversations") },
    h(
      "div",
      { class: "conv-head" },
      h(
        "button",
        {
          type: "button",
          class: "btn new-chat",
          "data-action": "new-chat",
          onclick: handlers.onNew,
        },
        h("span", { html: icon("plus", 18) }),
        t("chat.new"),
      ),
      h("button", {
        type: "button",
        class: "icon-btn conv-close",
        "aria-label": t("common.close"),
        onclick: handlers.onClose,
        html: icon("close"),
      }),
    ),
    h("h2", { class: "section-title conv-title" }, t("chat.conversations")),
    list,
  );
}
