// The sources under an answer: each cited document once, its cited passages under it
// (numbered, expandable, linked to the original at the passage's page).
import * as api from "../api.js";
import { h } from "../dom.js";
import { icon } from "../icons.js";
import { t } from "../i18n.js";

/** Where the original document opens: the server's URL if given, else the file route. */
export function citationUrl(citation, kbs) {
  if (citation.url) {
    const page = citation.page && !citation.url.includes("#") ? `#page=${citation.page}` : "";
    return citation.url + page;
  }
  const kb = citation.kb ?? (kbs.length === 1 ? kbs[0] : null);
  if (!kb || !citation.source) return null;
  return api.documentFileUrl(kb, citation.source, citation.page);
}

// Inside its document's group a passage is named by its page and its first words.
function passageLabel(citation) {
  const page = citation.page ? `${t("common.page", { page: citation.page })} · ` : "";
  const words = (citation.text ?? "").replace(/\s+/g, " ").trim();
  return page + (words.length > 90 ? `${words.slice(0, 90)}…` : words);
}

function citationItem(citation, kbs, messageId) {
  const url = citationUrl(citation, kbs);
  const open = url
    ? h(
        "a",
        {
          class: "btn btn-sm",
          href: url,
          target: "_blank",
          rel: "noopener",
          "data-action": "open-source",
        },
        h("span", { html: icon("external", 16) }),
        t("chat.openDoc"),
      )
    : null;
  return h(
    "details",
    { class: "source", id: `src-${messageId}-${citation.n}`, "data-n": citation.n },
    h(
      "summary",
      {},
      h("span", { class: "source-n" }, String(citation.n)),
      h("span", { class: "source-name" }, passageLabel(citation)),
      h("span", { class: "source-chevron", html: icon("chevronDown", 16) }),
    ),
    h(
      "div",
      { class: "source-body" },
      h("blockquote", { class: "source-passage" }, citation.text ?? ""),
      h(
        "div",
        { class: "source-foot" },
        citation.score !== undefined && citation.score !== null
          ? h(
              "span",
              { class: "faint" },
              t("common.score", { score: Number(citation.score).toFixed(3) }),
            )
          : null,
        open,
      ),
    ),
  );
}

/** Cited passages grouped by document, in order of first citation: each document once. */
function byDocument(citations) {
  const groups = new Map();
  for (const citation of citations) {
    const key = `${citation.kb ?? ""}\u0000${citation.source}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(citation);
  }
  return [...groups.values()];
}

function documentGroup(passages, kbs, messageId) {
  const first = passages[0];
  const kb = first.kb && kbs.length > 1 ? ` · ${first.kb}` : "";
  return h(
    "div",
    { class: "source-doc", "data-source": first.source },
    h(
      "div",
      { class: "source-doc-title" },
      h("span", { html: icon("file", 16) }),
      h("span", { class: "source-doc-name" }, `${first.source}${kb}`),
      h("span", { class: "faint" }, t("chat.passages", { count: passages.length })),
    ),
    passages.map((c) => citationItem(c, kbs, messageId)),
  );
}

export function renderSources(message, kbs) {
  const citations = message.citations ?? [];
  if (!citations.length) return null;
  const documents = byDocument(citations);
  return h(
    "section",
    { class: "sources", "aria-label": t("chat.sources") },
    h("div", { class: "sources-title" }, `${t("chat.sources")} · ${documents.length}`),
    documents.map((passages) => documentGroup(passages, kbs, message.id)),
  );
}

/** A click on an inline [n] marker opens that source and brings it into view. */
export function openSource(root, messageId, n) {
  const item = root.querySelector(`#src-${CSS.escape(String(messageId))}-${n}`);
  if (!item) return;
  item.open = true;
  item.classList.add("source-flash");
  setTimeout(() => item.classList.remove("source-flash"), 1200);
  item.scrollIntoView({ block: "nearest", behavior: "smooth" });
  item.querySelector("summary").focus({ preventScroll: true });
}
