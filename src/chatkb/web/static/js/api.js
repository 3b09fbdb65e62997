// The public REST API, and nothing else: every route the interface uses is listed here.
import { readEvents } from "./sse.js";

const BASE = "/api";
const TOKEN_PREF = "chatkb.token";

export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// The API key lives in this tab's sessionStorage: it survives a reload, not the tab, and is
// never written where every later visitor of the browser profile could read it. Versions
// before 0.2 kept it in localStorage; it is removed from there.
localStorage.removeItem(TOKEN_PREF);

function headers(extra = {}) {
  const token = sessionStorage.getItem(TOKEN_PREF);
  return token ? { Authorization: `Bearer ${token}`, ...extra } : extra;
}

export function setToken(token) {
  if (token) sessionStorage.setItem(TOKEN_PREF, token);
  else sessionStorage.removeItem(TOKEN_PREF);
}

const seg = (value) => encodeURIComponent(value);

// A server with API keys answers 401 until the browser has one: let the shell ask for it.
function unauthorized(status) {
  if (status === 401) window.dispatchEvent(new CustomEvent("chatkb:unauthorized"));
}

async function failure(response) {
  unauthorized(response.status);
  let message = `${response.status} ${response.statusText}`;
  let code;
  try {
    const body = await response.json();
    const err = body.error ?? body;
    message = err.message ?? err.detail ?? err.msg ?? message;
    if (Array.isArray(message)) message = message.map((m) => m.msg ?? m).join("; ");
    code = err.code;
  } catch {
    // Not JSON: keep the status line.
  }
  return new ApiError(response.status, String(message), code);
}

export async function request(method, path, { json, body, signal, query } = {}) {
  const url = new URL(BASE + path, location.origin);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  const init = { method, headers: headers(), signal };
  if (json !== undefined) {
    init.headers = headers({ "Content-Type": "application/json" });
    init.body = JSON.stringify(json);
  } else if (body !== undefined) {
    init.body = body;
  }
  const response = await fetch(url, init);
  if (!response.ok) throw await failure(response);
  return parse(response);
}

function parse(response) {
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") ?? "";
  return type.includes("json") ? response.json() : response.text();
}

/** Lists come as {data, count}; tolerate a bare array too. */
const items = (result) => (Array.isArray(result) ? result : (result?.data ?? []));

// ---- health, status ----
export const health = () => request("GET", "/health");
export const version = () => request("GET", "/version");
export const status = () => request("GET", "/status");

// ---- knowledge bases ----
export const listKbs = async () => items(await request("GET", "/kbs"));
export const getKb = (name) => request("GET", `/kbs/${seg(name)}`);
export const createKb = (spec) => request("POST", "/kbs", { json: spec });
export const updateKb = (name, patch) => request("PATCH", `/kbs/${seg(name)}`, { json: patch });
export const deleteKb = (name) => request("DELETE", `/kbs/${seg(name)}`);
export const listEmbedders = async () => items(await request("GET", "/embedders"));

// ---- documents (named by source, a relative path; each segment encoded) ----
const src = (source) => source.split("/").map(seg).join("/");
const docPath = (kb, source) => `/kbs/${seg(kb)}/documents/${src(source)}`;
export const listDocuments = async (kb) => items(await request("GET", `/kbs/${seg(kb)}/documents`));
export const deleteDocument = (kb, source) => request("DELETE", docPath(kb, source));
export const reindexDocument = (kb, source) => request("POST", `${docPath(kb, source)}/reindex`);
export const documentFileUrl = (kb, source, page) =>
  `${BASE}${docPath(kb, source)}/file${page ? `#page=${page}` : ""}`;

/**
 * Upload files (each {file, path}) in one multipart request; onProgress(loadedBytes, total).
 * XMLHttpRequest because fetch() cannot report upload progress.
 */
export function uploadDocuments(kb, entries, onProgress, signal) {
  const form = new FormData();
  for (const { file, path } of entries) form.append("files", file, path || file.name);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `${BASE}/kbs/${seg(kb)}/documents`);
    for (const [key, value] of Object.entries(headers())) xhr.setRequestHeader(key, value);
    xhr.upload.onprogress = (e) => onProgress?.(e.loaded, e.total);
    xhr.onerror = () => reject(new ApiError(0, "network error"));
    xhr.onabort = () => reject(new ApiError(0, "cancelled", "aborted"));
    xhr.onload = () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else {
        unauthorized(xhr.status);
        const err = body?.error ?? body ?? {};
        reject(new ApiError(xhr.status, err.message ?? err.detail ?? xhr.statusText, err.code));
      }
    };
    signal?.addEventListener("abort", () => xhr.abort());
    xhr.send(form);
  });
}

// ---- ingestion jobs ----
export const getJob = (jobId) => request("GET", `/jobs/${seg(jobId)}`);
export const listJobs = async (kb) => items(await request("GET", "/jobs", { query: { kb } }));
export const cancelJob = (jobId) => request("POST", `/jobs/${seg(jobId)}/cancel`);

/** Yields job events from the job's SSE stream until it ends. */
export async function* jobEvents(jobId, signal) {
  const response = await fetch(`${BASE}/jobs/${seg(jobId)}/events`, { headers: headers(), signal });
  if (!response.ok) throw await failure(response);
  yield* readEvents(response);
}

// ---- chunks ----
export const listChunks = async (kb, source) =>
  items(await request("GET", `/kbs/${seg(kb)}/chunks`, { query: { source } }));
export const updateChunk = (kb, chunkId, text) =>
  request("PATCH", `/kbs/${seg(kb)}/chunks/${seg(chunkId)}`, { json: { text } });
export const deleteChunk = (kb, chunkId) =>
  request("DELETE", `/kbs/${seg(kb)}/chunks/${seg(chunkId)}`);

// ---- search ----
export const search = async (spec) => items(await request("POST", "/search", { json: spec }));

// ---- chat ----
/**
 * Chat models the server offers: `/api/models`, or else the plain models of the
 * OpenAI-compatible `/v1/models` (knowledge bases appear there as `kb:NAME`; skipped).
 */
export async function listModels() {
  try {
    return items(await request("GET", "/models"));
  } catch (err) {
    if (err.status !== 404) throw err;
  }
  const response = await fetch("/v1/models", { headers: headers() });
  if (!response.ok) return [];
  const body = await response.json();
  return items(body).filter((m) => !String(m.id).startsWith("kb:"));
}

/** Yields {event, data} from a streamed chat answer; abort with `signal`. */
export async function* chatStream(spec, signal) {
  const response = await fetch(`${BASE}/chat`, {
    method: "POST",
    headers: headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
    body: JSON.stringify({ ...spec, stream: true }),
    signal,
  });
  if (!response.ok) throw await failure(response);
  yield* readEvents(response);
}

// ---- conversations ----
export const listConversations = async () => items(await request("GET", "/conversations"));
export const getConversation = (id) => request("GET", `/conversations/${seg(id)}`);
export const createConversation = (spec) => request("POST", "/conversations", { json: spec });
export const updateConversation = (id, patch) =>
  request("PATCH", `/conversations/${seg(id)}`, { json: patch });
export const deleteConversation = (id) => request("DELETE", `/conversations/${seg(id)}`);
export const sendFeedback = (conversationId, messageId, feedback) =>
  request("PUT", `/conversations/${seg(conversationId)}/messages/${seg(messageId)}/feedback`, {
    json: feedback,
  });
