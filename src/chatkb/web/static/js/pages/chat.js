// The chat page: conversations on the left, the conversation in the middle, settings on
// the right. State lives in chat/state.js; this module only draws it and wires events.
import { composer } from "../chat/composer.js";
import { kbPicker } from "../chat/kb-picker.js";
import { renderMessage } from "../chat/message.js";
import { settingsPanel } from "../chat/settings.js";
import { conversationList } from "../chat/sidebar.js";
import * as chat from "../chat/state.js";
import { confirmDialog, promptDialog } from "../dialogs.js";
import { clear, h, toast } from "../dom.js";
import { icon } from "../icons.js";
import { t } from "../i18n.js";
import { link, navigate } from "../router.js";

const { state } = chat;

function welcome() {
  return h(
    "div",
    { class: "chat-welcome" },
    h("div", { class: "chat-welcome-icon", html: icon("sparkle", 28) }),
    h("h2", {}, t("chat.welcome")),
    h("p", { class: "muted" }, state.kbs.length ? t("chat.welcomeHint") : t("chat.noKbs")),
  );
}

class ChatView {
  constructor(root) {
    this.root = root;
    this.settingsOpen = false;
    this.listOpen = false;
    this.draft = "";
  }

  ctx(message) {
    const messages = state.current.messages;
    return {
      kbs: state.current.kbs,
      isLast: message === messages[messages.length - 1] && !state.streaming,
      onRegenerate: () => chat.regenerate(),
      onFeedback: (m, rating, reason) =>
        chat
          .feedback(m, rating, reason)
          .then(() => toast(t("chat.feedbackThanks")))
          .catch((err) => toast(t("common.error", { message: err.message }), "error")),
    };
  }

  render() {
    this.draft = this.composer?.input.value ?? this.draft;
    const layout = h("div", {
      class: `chat-layout${this.settingsOpen ? " settings-open" : ""}${this.listOpen ? " list-open" : ""}`,
    });
    this.sidebarSlot = h("div", { class: "conv-slot" });
    this.messagesEl = h("div", {
      class: "messages",
      role: "log",
      "aria-live": "polite",
      "aria-relevant": "additions",
    });
    this.scroller = h("div", { class: "chat-scroll" }, this.messagesEl);
    this.composerSlot = h("div", { class: "composer-slot" });
    const main = h(
      "section",
      { class: "chat-main" },
      this.header(),
      this.scroller,
      this.composerSlot,
    );
    const scrim = h("div", { class: "drawer-scrim", onclick: () => this.toggleList(false) });
    layout.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && this.listOpen) this.toggleList(false);
    });
    clear(layout, this.sidebarSlot, main, this.settingsOpen ? this.settings() : null, scrim);
    clear(this.root, layout);
    this.renderSidebar();
    this.renderMessages();
    this.renderComposer();
  }

  header() {
    const conv = state.current;
    return h(
      "header",
      { class: "chat-head" },
      h("button", {
        type: "button",
        class: "icon-btn conv-toggle",
        "aria-label": t("chat.toggleList"),
        onclick: () => this.toggleList(true),
        html: icon("menu"),
      }),
      h("h1", { class: "chat-title" }, conv.title || t("chat.new")),
      kbPicker({ kbs: state.kbs, selected: conv.kbs, onChange: (kbs) => this.kbsChanged(kbs) }),
      h("button", {
        type: "button",
        class: "icon-btn",
        "aria-label": t("chat.settings"),
        title: t("chat.settings"),
        "aria-pressed": String(this.settingsOpen),
        "data-action": "chat-settings",
        onclick: () => this.toggleSettings(),
        html: icon("settings"),
      }),
    );
  }

  settings() {
    return settingsPanel({
      settings: state.current.settings,
      models: state.models,
      onChange: (key, value) => chat.updateSetting(key, value),
      onClose: () => this.toggleSettings(),
    });
  }

  kbsChanged(kbs) {
    chat.updateKbs(kbs);
    this.renderMessages();
    this.renderComposer();
  }

  toggleSettings() {
    this.settingsOpen = !this.settingsOpen;
    this.render();
    const target = this.settingsOpen ? ".chat-settings input" : "[data-action=chat-settings]";
    this.root.querySelector(target)?.focus();
  }

  toggleList(open) {
    this.listOpen = open;
    this.root.querySelector(".chat-layout")?.classList.toggle("list-open", open);
    const target = open ? ".conv-panel .new-chat" : ".conv-toggle";
    this.root.querySelector(target)?.focus();
  }

  renderSidebar() {
    clear(
      this.sidebarSlot,
      conversationList({
        conversations: state.conversations,
        activeId: state.current.id,
        handlers: {
          onNew: () => this.newChat(),
          onRename: (c) => this.rename(c),
          onDelete: (c) => this.remove(c),
          onClose: () => this.toggleList(false),
        },
      }),
    );
  }

  renderMessages() {
    const messages = state.current.messages;
    clear(
      this.messagesEl,
      messages.length ? messages.map((m) => renderMessage(m, this.ctx(m))) : welcome(),
    );
    this.scrollToEnd(true);
  }

  renderStreaming() {
    const message = state.streaming?.message;
    if (!message) return;
    const old = this.messagesEl.querySelector(`[data-message-id="${message.id}"]`);
    const stick = this.nearBottom();
    if (old) old.replaceWith(renderMessage(message, this.ctx(message)));
    if (stick) this.scrollToEnd(false);
  }

  renderComposer() {
    const hadFocus = this.composer && document.activeElement === this.composer.input;
    this.draft = this.composer?.input.value ?? this.draft;
    this.composer = composer({
      kbs: state.current.kbs,
      streaming: Boolean(state.streaming),
      draft: this.draft,
      onSend: (text) => this.send(text),
      onStop: () => chat.stop(),
    });
    clear(this.composerSlot, this.composer.form);
    if (hadFocus) this.composer.input.focus();
  }

  nearBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
  }

  scrollToEnd(force) {
    if (force || this.nearBottom()) this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  send(text) {
    this.draft = "";
    chat.send(text);
  }

  newChat() {
    if (state.streaming) chat.stop();
    state.current = chat.blankConversation();
    this.listOpen = false;
    navigate("/chat");
    this.render();
    this.composer.input.focus();
  }

  async rename(conversation) {
    const title = await promptDialog({
      title: t("common.rename"),
      label: t("chat.renamePrompt"),
      value: conversation.title,
    });
    if (!title) return;
    await chat
      .rename(conversation, title)
      .catch((err) => toast(t("common.error", { message: err.message }), "error"));
  }

  async remove(conversation) {
    const ok = await confirmDialog({
      title: t("common.delete"),
      message: t("chat.deleteConfirm", { title: conversation.title || t("chat.untitled") }),
      danger: true,
    });
    if (!ok) return;
    try {
      const wasCurrent = await chat.remove(conversation);
      toast(t("chat.deleted"));
      if (wasCurrent) navigate("/chat");
    } catch (err) {
      toast(t("common.error", { message: err.message }), "error");
    }
  }

  onChange(what) {
    if (what === "stream") return this.renderStreaming();
    if (what === "sidebar") {
      this.renderSidebar();
      this.syncUrl();
      return this.refreshTitle();
    }
    this.renderSidebar();
    this.refreshTitle();
    this.renderMessages();
    this.renderComposer();
  }

  refreshTitle() {
    const title = this.root.querySelector(".chat-title");
    if (title) title.textContent = state.current.title || t("chat.new");
  }

  // A new conversation gets its id mid-answer: show it in the address bar without a reload.
  syncUrl() {
    const id = state.current.id;
    if (id && location.hash !== link(`/chat/${id}`))
      history.replaceState(null, "", link(`/chat/${id}`));
  }
}

async function load(id) {
  await chat.loadSidebar();
  if (id !== (state.current?.id ?? undefined) && state.streaming) chat.stop();
  if (id && id !== state.current?.id) await chat.openConversation(id);
  const blank = !state.current || state.current.id || !state.current.messages.length;
  if (!id && blank && !state.streaming) state.current = chat.blankConversation();
}

export function renderChat(root, params) {
  const view = new ChatView(root);
  root.append(h("div", { class: "loading" }, h("span", { class: "spinner" }), t("common.loading")));
  let active = true;
  const unsubscribe = chat.subscribe((what) => active && view.onChange(what));
  load(params.id)
    .then(() => {
      if (!active) return;
      view.render();
      view.composer.input.focus();
    })
    .catch((err) => {
      if (!active) return;
      clear(
        root,
        h(
          "div",
          { class: "page-inner" },
          h("div", { class: "notice notice-danger" }, t("common.error", { message: err.message })),
        ),
      );
    });
  return () => {
    active = false;
    unsubscribe();
  };
}
