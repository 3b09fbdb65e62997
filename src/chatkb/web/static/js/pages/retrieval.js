// Retrieval testing: a query against one or more knowledge bases → ranked passages with
// their fused score, the vector and keyword scores behind it, and where they come from.
import * as api from "../api.js";
import { citationUrl } from "../chat/citations.js";
import { clear, formatScore, h, uid } from "../dom.js";
import { icon } from "../icons.js";
import { t } from "../i18n.js";
import { kbBreadcrumbs } from "../widgets.js";

function hitCard(hit, kbs) {
  const url = citationUrl(hit, kbs);
  const where = [
    hit.kb && kbs.length > 1 ? hit.kb : null,
    hit.page ? t("common.page", { page: hit.page }) : null,
  ]
    .filter(Boolean)
    .join(" · ");
  return h(
    "li",
    { class: "card hit", "data-rank": hit.rank },
    h(
      "div",
      { class: "hit-head" },
      h("span", { class: "hit-rank" }, String(hit.rank)),
      h(
        "div",
        { class: "hit-score", title: t("common.score", { score: formatScore(hit.score) }) },
        h("span", { class: "hit-bar", style: `--pct:${Math.round(hit.score * 100)}%` }),
        h("strong", {}, formatScore(hit.score)),
      ),
      h("span", { class: "badge" }, t("search.dense", { score: formatScore(hit.dense_score) })),
      h(
        "span",
        { class: "badge" },
        t("search.keyword", {
          score: hit.keyword_score === null ? "—" : Number(hit.keyword_score).toFixed(2),
        }),
      ),
    ),
    h(
      "div",
      { class: "hit-source" },
      h("span", { html: icon("file", 16) }),
      url
        ? h("a", { href: url, target: "_blank", rel: "noopener" }, hit.source)
        : h("span", {}, hit.source),
      where ? h("span", { class: "faint" }, where) : null,
    ),
    hit.heading_path?.length
      ? h("div", { class: "faint hit-headings" }, hit.heading_path.join(" › "))
      : null,
    h("div", { class: "hit-text" }, hit.text),
  );
}

function kbChoices(all, selected) {
  return h(
    "fieldset",
    { class: "kb-choices" },
    h("legend", { class: "field-label" }, t("chat.kbPicker")),
    all.map((kb) =>
      h(
        "label",
        { class: "chip" },
        h("input", {
          type: "checkbox",
          name: "kb",
          value: kb.name,
          checked: selected.includes(kb.name),
        }),
        h("span", {}, kb.name),
      ),
    ),
  );
}

async function run(form, results) {
  const data = new FormData(form);
  const kbs = data.getAll("kb").map(String);
  const query = String(data.get("query")).trim();
  if (!query || !kbs.length) return;
  clear(
    results,
    h("div", { class: "loading" }, h("span", { class: "spinner" }), t("common.loading")),
  );
  const started = performance.now();
  try {
    const hits = await api.search({ query, kbs, top_k: Number(data.get("top_k")) || 10 });
    const ms = Math.round(performance.now() - started);
    clear(
      results,
      h(
        "p",
        { class: "faint", "data-testid": "search-summary" },
        t("search.results", { n: hits.length, ms }),
      ),
      hits.length
        ? h(
            "ol",
            { class: "hit-list", role: "list" },
            hits.map((hit) => hitCard(hit, kbs)),
          )
        : h("div", { class: "card empty" }, t("search.empty")),
    );
  } catch (err) {
    clear(
      results,
      h("div", { class: "notice notice-danger" }, t("common.error", { message: err.message })),
    );
  }
}

export function renderRetrieval(root, { name }) {
  const results = h("div", { class: "results", "aria-live": "polite" });
  const formSlot = h("div");
  const queryId = uid("q");
  const topId = uid("k");
  root.append(
    h(
      "div",
      { class: "page-inner" },
      name ? kbBreadcrumbs(name) : null,
      h("div", { class: "page-head" }, h("h1", {}, t("search.title"))),
      h("p", { class: "muted" }, t("search.hint")),
      formSlot,
      results,
    ),
  );
  api.listKbs().then((all) => {
    const form = h(
      "form",
      {
        class: "card card-pad search-form",
        onsubmit: (e) => (e.preventDefault(), run(e.target, results)),
      },
      h(
        "div",
        { class: "search-row" },
        h(
          "div",
          { class: "field search-query" },
          h("label", { for: queryId }, t("search.query")),
          h("input", {
            id: queryId,
            class: "input",
            name: "query",
            type: "search",
            required: true,
            autocomplete: "off",
            "data-testid": "search-query",
          }),
        ),
        h(
          "div",
          { class: "field search-topk" },
          h("label", { for: topId }, t("search.topK")),
          h("input", {
            id: topId,
            class: "input",
            name: "top_k",
            type: "number",
            min: 1,
            max: 200,
            value: 10,
          }),
        ),
        h(
          "button",
          { type: "submit", class: "btn btn-primary search-btn", "data-action": "run-search" },
          h("span", { html: icon("search", 18) }),
          t("search.run"),
        ),
      ),
      kbChoices(all, name ? [name] : all.map((kb) => kb.name)),
    );
    clear(formSlot, form);
    form.querySelector("input[name=query]").focus();
  });
}
