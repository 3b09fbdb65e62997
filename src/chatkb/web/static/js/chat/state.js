// Chat state that outlives a page render (a language switch re-renders mid-answer),
// and the calls that change it. Views subscribe and redraw on every change.
import * as api from "../api.js";
import { getPref, setPref } from "../prefs.js";

export const state = {
  conversations: [],
  kbs: [],
  models: [],
  current: null, // {id|null, title, kbs, settings, messages}
  streaming: null, // {controller, message}
};

const listeners = new Set();

export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function changed(what = "all") {
  for (const fn of listeners) fn(what);
}

let localId = 0;
const newId = () => `local-${Date.now()}-${(localId += 1)}`;

// A conversation's settings hold only what the user chose; the server decides the rest.
// A new chat starts with the choices of the last one (a UI preference).
function lastSettings() {
  return { ...getPref("chatSettings", {}) };
}

export function blankConversation() {
  const known = new Set(state.kbs.map((kb) => kb.name));
  const kbs = (getPref("lastKbs", []) ?? []).filter((name) => known.has(name));
  return { id: null, title: "", kbs, settings: lastSettings(), messages: [] };
}

export async function loadSidebar() {
  const [conversations, kbs, models] = await Promise.all([
    api.listConversations(),
    api.listKbs(),
    api.listModels().catch(() => []),
  ]);
  Object.assign(state, { conversations, kbs, models });
}

function fromServerMessage(m) {
  return {
    id: m.id,
    serverId: m.id,
    role: m.role,
    content: m.content,
    citations: m.citations ?? [],
    model: m.model,
    extractive: m.extractive ?? m.model === "extractive",
    found: m.found ?? (m.role === "assistant" ? inferFound(m) : undefined),
    grounded: m.grounded ?? (m.role === "assistant" ? (m.citations ?? []).length > 0 : undefined),
    feedback: m.feedback?.rating ?? null,
    status: "done",
  };
}

// Stored messages do not say whether anything was found; no citations on a KB answer means not.
function inferFound(m) {
  return (m.citations ?? []).length > 0 || m.found === true;
}

export async function openConversation(id) {
  if (state.streaming && state.current?.id === id) return;
  const detail = await api.getConversation(id);
  state.current = {
    id: detail.id,
    title: detail.title,
    kbs: detail.kbs ?? [],
    settings: { ...(detail.settings ?? {}) },
    messages: (detail.messages ?? []).map(fromServerMessage),
  };
}

let saveTimer = 0;

function saveConversation(patch, delay = 0) {
  const id = state.current?.id;
  if (!id) return;
  clearTimeout(saveTimer);
  saveTimer = setTimeout(() => api.updateConversation(id, patch).catch(() => {}), delay);
}

export function updateSetting(key, value) {
  const conv = state.current;
  conv.settings = { ...conv.settings, [key]: value };
  setPref("chatSettings", conv.settings);
  saveConversation({ settings: conv.settings }, 400);
}

export function updateKbs(kbs) {
  state.current.kbs = kbs;
  setPref("lastKbs", kbs);
  saveConversation({ kbs });
}

function chatRequest(conv, question, regenerate) {
  const body = { question, kbs: conv.kbs };
  for (const [key, value] of Object.entries(conv.settings)) {
    if (value !== "" && value !== null && value !== undefined) body[key] = value;
  }
  if (conv.id) body.conversation_id = conv.id;
  if (regenerate) body.regenerate = true;
  return body;
}

// /api/chat starts a conversation when given none; its `meta` event names it.
function adoptConversation(data, question) {
  const conv = state.current;
  if (conv.id || !data.conversation_id) return;
  conv.id = data.conversation_id;
  conv.title = question.slice(0, 80);
  if (Object.keys(conv.settings).length) saveConversation({ settings: conv.settings });
  const now = new Date().toISOString();
  const listed = {
    id: conv.id,
    title: conv.title,
    kbs: conv.kbs,
    created_at: now,
    updated_at: now,
  };
  state.conversations = [listed, ...state.conversations.filter((c) => c.id !== conv.id)];
  changed("sidebar");
}

function applyEvent(message, { event, data }) {
  if (event === "token" || event === "delta") {
    message.content +=
      typeof data === "string" ? data : (data.text ?? data.content ?? data.delta ?? "");
  } else if (event === "citations") {
    message.citations = Array.isArray(data) ? data : (data.citations ?? []);
  } else if (event === "done" || event === "answer") {
    message.content = data.answer ?? message.content;
    message.citations = data.citations ?? message.citations;
    message.model = data.model;
    message.extractive = data.extractive;
    message.found = data.found;
    message.grounded = data.grounded;
    message.serverId = data.message_id ?? message.serverId;
    message.status = "done";
  } else if (event === "error") {
    message.status = "error";
    message.error = data.message ?? data.error?.message ?? String(data);
  } else if (event === "meta") {
    Object.assign(message, pick(data, ["model", "extractive", "found"]));
    message.serverId = data.message_id ?? message.serverId;
  }
}

function pick(obj, keys) {
  return Object.fromEntries(keys.filter((k) => obj?.[k] !== undefined).map((k) => [k, obj[k]]));
}

// Optional request fields a server may not know yet: dropped (once) when it refuses them,
// so the answer still comes, only without that setting.
const OPTIONAL = new Set(["score_threshold", "temperature", "model", "regenerate"]);
const refused = new Set();

async function* chatEvents(body, signal) {
  for (const key of refused) delete body[key];
  try {
    yield* api.chatStream(body, signal);
  } catch (err) {
    const unknown = [...String(err.message).matchAll(/body\.(\w+): Extra inputs/g)].map(
      (m) => m[1],
    );
    const droppable = unknown.filter((key) => OPTIONAL.has(key) && key in body);
    if (err.status !== 422 || !droppable.length) throw err;
    for (const key of droppable) refused.add(key);
    yield* chatEvents(body, signal);
  }
}

async function stream(question, message, regenerate) {
  const controller = new AbortController();
  state.streaming = { controller, message };
  changed("messages");
  try {
    const body = chatRequest(state.current, question, regenerate);
    for await (const event of chatEvents(body, controller.signal)) {
      if (event.event === "meta") adoptConversation(event.data, question);
      applyEvent(message, event);
      changed("stream");
    }
    if (message.status === "streaming") message.status = "done";
  } catch (err) {
    if (controller.signal.aborted) message.status = "stopped";
    else {
      message.status = "error";
      message.error = err.message;
    }
  } finally {
    state.streaming = null;
    bumpConversation();
    changed("messages");
  }
}

function bumpConversation() {
  const conv = state.current;
  const listed = state.conversations.find((c) => c.id === conv?.id);
  if (listed) {
    state.conversations = [listed, ...state.conversations.filter((c) => c !== listed)];
  }
}

function assistantPlaceholder() {
  return { id: newId(), role: "assistant", content: "", citations: [], status: "streaming" };
}

export function send(question) {
  if (state.streaming || !question.trim()) return null;
  const conv = state.current;
  conv.messages.push({ id: newId(), role: "user", content: question, status: "done" });
  const message = assistantPlaceholder();
  conv.messages.push(message);
  return stream(question, message, false);
}

export function regenerate() {
  const conv = state.current;
  if (state.streaming || conv.messages.length < 2) return null;
  const last = conv.messages[conv.messages.length - 1];
  const question = conv.messages[conv.messages.length - 2].content;
  // A stopped or failed answer was never stored, so there is nothing to replace on the server.
  const stored = last.status === "done" && Boolean(last.serverId);
  const message = assistantPlaceholder();
  conv.messages[conv.messages.length - 1] = message;
  return stream(question, message, stored);
}

export function stop() {
  state.streaming?.controller.abort();
}

export async function feedback(message, rating, reason) {
  if (!message.serverId || !state.current?.id) return;
  await api.sendFeedback(state.current.id, message.serverId, { rating, reason });
  message.feedback = rating;
  changed("messages");
}

export async function rename(conversation, title) {
  const updated = await api.updateConversation(conversation.id, { title });
  state.conversations = state.conversations.map((c) =>
    c.id === updated.id ? { ...c, ...updated } : c,
  );
  if (state.current?.id === updated.id) state.current.title = updated.title;
  changed("sidebar");
}

export async function remove(conversation) {
  await api.deleteConversation(conversation.id);
  state.conversations = state.conversations.filter((c) => c.id !== conversation.id);
  const wasCurrent = state.current?.id === conversation.id;
  if (wasCurrent) state.current = blankConversation();
  changed("all");
  return wasCurrent;
}
