// The drop zone and the per-file upload/indexing list of a knowledge base page.
import { clear, formatBytes, h } from "../dom.js";
import { icon } from "../icons.js";
import { t } from "../i18n.js";
import { entriesFromDrop, entriesFromInput } from "./files.js";
import { uploaderFor } from "./uploader.js";

const BADGE = {
  added: "badge-ok",
  updated: "badge-ok",
  unchanged: "",
  failed: "badge-danger",
  cancelled: "badge-warn",
  processing: "badge-accent",
  uploading: "badge-accent",
  queued: "",
  waiting: "",
};

function statusText(row) {
  switch (row.status) {
    case "uploading":
      return t("upload.uploading", { pct: row.pct });
    case "processing":
      return row.embed
        ? `${t("upload.processing")} ${row.embed.done}/${row.embed.total}`
        : t("upload.processing");
    case "added":
    case "updated":
      return t(`upload.${row.status}`, { n: row.chunks ?? 0 });
    default:
      return t(`upload.${row.status}`);
  }
}

function rowPct(row) {
  if (row.status === "uploading") return row.pct * 0.5;
  if (row.status === "queued") return 50;
  if (row.status === "processing")
    return row.embed ? 50 + (45 * row.embed.done) / row.embed.total : 55;
  return 100;
}

function fileRow(row) {
  const busy = ["uploading", "queued", "processing"].includes(row.status);
  return h(
    "li",
    { class: `upload-row status-${row.status}`, "data-path": row.path, "data-status": row.status },
    h("span", { class: "upload-icon", html: icon("file", 18) }),
    h(
      "div",
      { class: "upload-main" },
      h(
        "div",
        { class: "upload-line" },
        h("span", { class: "upload-name", title: row.path }, row.path),
        h("span", { class: "faint" }, formatBytes(row.size)),
        h(
          "span",
          { class: `badge ${BADGE[row.status] ?? ""}` },
          busy ? h("span", { class: "spinner" }) : null,
          statusText(row),
        ),
      ),
      busy || row.status === "waiting"
        ? h("div", {
            class: "progress",
            role: "progressbar",
            "aria-label": row.path,
            "aria-valuemin": 0,
            "aria-valuemax": 100,
            "aria-valuenow": Math.round(rowPct(row)),
            style: `--pct:${rowPct(row)}%`,
          })
        : null,
      row.error ? h("div", { class: "upload-error", role: "note" }, row.error) : null,
    ),
  );
}

function dropZone(uploader) {
  const filesInput = h("input", {
    type: "file",
    multiple: true,
    class: "sr-only",
    tabindex: -1,
    "data-testid": "file-input",
  });
  const folderInput = h("input", {
    type: "file",
    multiple: true,
    webkitdirectory: true,
    class: "sr-only",
    tabindex: -1,
    "data-testid": "folder-input",
  });
  for (const input of [filesInput, folderInput]) {
    input.addEventListener("change", () => {
      uploader.add(entriesFromInput(input));
      input.value = "";
    });
  }
  const zone = h(
    "div",
    {
      class: "dropzone",
      tabindex: 0,
      role: "button",
      "aria-label": t("upload.zone"),
      onkeydown: (e) => {
        if (e.key === "Enter" || e.key === " ") {
          e.preventDefault();
          filesInput.click();
        }
      },
    },
    h("span", { class: "dropzone-icon", html: icon("upload", 28) }),
    h("strong", {}, t("upload.drop")),
    h(
      "div",
      { class: "dropzone-actions" },
      h("span", { class: "faint" }, t("upload.or")),
      h(
        "button",
        { type: "button", class: "btn btn-sm", onclick: () => filesInput.click() },
        h("span", { html: icon("file", 16) }),
        t("upload.files"),
      ),
      h(
        "button",
        { type: "button", class: "btn btn-sm", onclick: () => folderInput.click() },
        h("span", { html: icon("folder", 16) }),
        t("upload.folder"),
      ),
    ),
    filesInput,
    folderInput,
  );
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("is-over");
  });
  zone.addEventListener("dragleave", (e) => {
    if (!zone.contains(e.relatedTarget)) zone.classList.remove("is-over");
  });
  zone.addEventListener("drop", async (e) => {
    e.preventDefault();
    zone.classList.remove("is-over");
    uploader.add(await entriesFromDrop(e.dataTransfer));
  });
  return zone;
}

function queue(uploader) {
  if (!uploader.rows.length) return null;
  const { done, failed, total } = uploader.summary();
  return h(
    "section",
    { class: "card upload-queue", "aria-label": t("upload.queue") },
    h(
      "div",
      { class: "upload-head" },
      h("h2", { class: "section-title" }, t("upload.queue")),
      h(
        "span",
        { class: "faint", "data-testid": "upload-summary" },
        t("upload.summary", { done, total, failed }),
      ),
      h("span", { class: "spacer" }),
      uploader.active
        ? h(
            "button",
            { type: "button", class: "btn btn-sm", onclick: () => uploader.cancel() },
            t("upload.cancel"),
          )
        : h(
            "button",
            { type: "button", class: "btn btn-sm", onclick: () => uploader.clearFinished() },
            t("upload.clear"),
          ),
    ),
    h("ul", { class: "upload-list", role: "list" }, uploader.rows.map(fileRow)),
  );
}

/** The upload area of `kb`; onIndexed() runs whenever a job finishes. Returns {el, dispose}. */
export function uploadArea(kb, onIndexed) {
  const uploader = uploaderFor(kb);
  const slot = h("div", { class: "upload-slot" });
  const draw = () => clear(slot, queue(uploader));
  let frame = 0;
  const dispose = uploader.subscribe((kind) => {
    if (kind === "done") onIndexed();
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(draw);
  });
  draw();
  return { el: h("div", { class: "upload-area" }, dropZone(uploader), slot), dispose };
}
