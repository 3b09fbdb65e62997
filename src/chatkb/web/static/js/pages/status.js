// Status: what runs where (models and devices), store statistics, version, and a loud
// warning when a model runs on the CPU while a GPU sits idle.
import * as api from "../api.js";
import { clear, formatBytes, formatNumber, h } from "../dom.js";
import { icon } from "../icons.js";
import { t } from "../i18n.js";
import { stat } from "../widgets.js";

function gpuPresent(status) {
  const gpu = status.gpu ?? status.doctor?.gpu;
  if (!gpu) return false;
  return Boolean(
    gpu.present ?? gpu.available ?? (Array.isArray(gpu.devices) && gpu.devices.length),
  );
}

/** Models of the status payload as rows: {role, name, device, details}. */
function modelRows(status) {
  const rows = [];
  if (status.embedder) {
    const e = status.embedder;
    rows.push({
      role: t("status.embedder"),
      name: e.name,
      device: e.device ?? "—",
      details: e.dim ? `${e.dim}d` : "",
    });
  }
  if (status.llm) {
    const l = status.llm;
    const extractive = (l.backend ?? l.model) === "extractive";
    const device = l.device ?? (extractive ? "—" : l.base_url ? t("status.remote") : "—");
    const details = extractive
      ? t("status.noLlm")
      : [l.backend, l.base_url].filter(Boolean).join(" · ");
    rows.push({ role: t("status.llm"), name: l.model ?? l.backend, device, details });
  }
  for (const extra of status.models ?? []) {
    rows.push({
      role: extra.role ?? "",
      name: extra.name,
      device: extra.device ?? "—",
      details: extra.details ?? "",
    });
  }
  return rows;
}

function cpuWarnings(status, rows) {
  const messages = [...(status.warnings ?? [])];
  // The server's own CPU-vs-GPU warning, when it gives one, says it better than this rule.
  if (gpuPresent(status) && !messages.some((m) => /\bcpu\b/i.test(m))) {
    for (const row of rows) {
      if (String(row.device).toLowerCase() === "cpu")
        messages.push(t("status.cpuWarning", { model: row.name }));
    }
  }
  return [...new Set(messages)].map((text) =>
    h(
      "div",
      { class: "notice notice-warn section", role: "alert", "data-testid": "cpu-warning" },
      h("span", { html: icon("warning", 20) }),
      h("span", {}, text),
    ),
  );
}

// CPU is only worth a warning colour when a GPU is there to be used instead.
function deviceBadge(device, gpu) {
  const d = String(device).toLowerCase();
  const kind =
    d.startsWith("cuda") || d.startsWith("mps")
      ? "badge-ok"
      : d === "cpu" && gpu
        ? "badge-warn"
        : "";
  return h("span", { class: `badge ${kind}` }, device);
}

function modelsTable(rows, gpu) {
  const head = ["status.role", "status.model", "status.device", "status.details"].map((k) =>
    h("th", { scope: "col" }, t(k)),
  );
  const body = rows.map((r) =>
    h(
      "tr",
      {},
      h("td", {}, r.role),
      h("td", { class: "mono" }, r.name),
      h("td", {}, deviceBadge(r.device, gpu)),
      h("td", { class: "faint" }, r.details),
    ),
  );
  return h(
    "div",
    { class: "card table-wrap section" },
    h("table", { class: "table" }, h("thead", {}, h("tr", {}, head)), h("tbody", {}, body)),
  );
}

function gpuLine(status) {
  const gpu = status.gpu ?? status.doctor?.gpu;
  if (!gpu) return null;
  const text = gpuPresent(status)
    ? [gpu.name, gpu.cuda ? `CUDA ${gpu.cuda}` : null].filter(Boolean).join(" · ") ||
      t("status.gpu")
    : t("status.noGpu");
  return h("p", { class: "muted section" }, h("strong", {}, `${t("status.gpu")}: `), text);
}

function render(status) {
  const rows = modelRows(status);
  const store = status.store ?? {};
  return [
    cpuWarnings(status, rows),
    h("h2", { class: "section-title" }, t("status.models")),
    modelsTable(rows, gpuPresent(status)),
    gpuLine(status),
    h("h2", { class: "section-title" }, t("status.store")),
    h(
      "div",
      { class: "stat-grid section" },
      stat(t("status.kbs"), formatNumber(store.knowledge_bases)),
      stat(t("status.documents"), formatNumber(store.documents)),
      stat(t("status.chunks"), formatNumber(store.chunks)),
      stat(t("status.bytes"), formatBytes(store.bytes)),
    ),
    h("h2", { class: "section-title" }, t("status.server")),
    h(
      "div",
      { class: "stat-grid section" },
      stat(t("status.version"), h("span", { "data-testid": "version" }, status.version ?? "—")),
    ),
  ];
}

export function renderStatus(root) {
  const body = h(
    "div",
    {},
    h("div", { class: "loading" }, h("span", { class: "spinner" }), t("common.loading")),
  );
  root.append(
    h(
      "div",
      { class: "page-inner" },
      h("div", { class: "page-head" }, h("h1", {}, t("status.title"))),
      body,
    ),
  );
  api
    .status()
    .then((status) => clear(body, render(status)))
    .catch((err) =>
      clear(
        body,
        h("div", { class: "notice notice-danger" }, t("common.error", { message: err.message })),
      ),
    );
}
