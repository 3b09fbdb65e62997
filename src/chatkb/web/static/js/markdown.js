// A small, safe Markdown renderer for answers: every piece of source text is HTML-escaped
// before any markup is added, so model output can never inject elements or attributes.
// Supports headings, paragraphs, emphasis, inline and fenced code, block quotes, lists,
// GFM tables, links (http, https, mailto and relative only), rules and [n] citation markers.

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

const UNESCAPES = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'" };

function unescapeHtml(text) {
  return text.replace(/&(?:amp|lt|gt|quot|#39);/g, (e) => UNESCAPES[e]);
}

const SAFE_SCHEMES = new Set(["http:", "https:", "mailto:"]);

/**
 * The URL a browser would follow for `raw`, if it is http, https, mailto or relative; else
 * null. The check is the browser's own parser (control characters, whitespace and entity
 * tricks are all resolved as they would be), not a pattern.
 */
export function safeUrl(raw) {
  // What the URL standard strips: leading/trailing C0 controls and spaces, tabs and newlines.
  const url = raw.replace(/[\t\n\r]/g, "").replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, "");
  if (!url || /[\u0000-\u001f\u007f]/.test(url)) return null;
  let parsed;
  try {
    parsed = new URL(url, document.baseURI); // relative: this page's own scheme
  } catch {
    return null;
  }
  return SAFE_SCHEMES.has(parsed.protocol) ? url : null;
}

// Text is escaped first; every element made from it is then held in a slot, so that no
// later rule (emphasis, citation markers) can run inside a tag or an attribute it made.
const SLOT = /\u0000(\d+)\u0000/g;
const HAS_SLOT = /\u0000\d+\u0000/;

function renderInline(text, options) {
  const slots = [];
  const hold = (html) => `\u0000${slots.push(html) - 1}\u0000`;
  let src = String(text).replace(/\u0000/g, "");
  src = src.replace(/(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/g, (_, __, code) =>
    hold(`<code>${escapeHtml(code.trim())}</code>`),
  );
  src = escapeHtml(src);
  // Images are never loaded (answers must not fetch anything): their alt text stands in.
  src = src.replace(/!\[([^\]\n]*)\]\([^)\s]*\)/g, (_, alt) =>
    alt ? hold(`<span class="md-image">[${alt}]</span>`) : "",
  );
  src = src.replace(/\[([^\]\n]+)\]\(((?:[^()\s]|\([^()\s]*\))+)\)/g, (whole, label, href) => {
    const url = safeUrl(unescapeHtml(href));
    const inner = decorate(label, options, hold);
    if (url === null) return inner;
    return hold(
      `<a href="${escapeHtml(url)}" target="_blank" rel="noopener noreferrer">${inner}</a>`,
    );
  });
  src = decorate(src, options, hold);
  src = src.replace(/ {2,}\n|\\\n/g, "<br>").replace(/\n/g, " ");
  // Slots may hold slots (code in a link label): restore until none is left.
  while (HAS_SLOT.test(src)) src = src.replace(SLOT, (_, i) => slots[Number(i)]);
  return src;
}

// Emphasis and citation markers over escaped text (tags already made are in slots).
function decorate(src, options, hold) {
  let out = src
    .replace(/\*\*([^*\n]+)\*\*/g, "<strong>$1</strong>")
    .replace(/__([^_\n]+)__/g, "<strong>$1</strong>")
    .replace(/(^|[^*\w])\*([^*\n]+)\*(?!\w)/g, "$1<em>$2</em>")
    .replace(/(^|[^_\w])_([^_\n]+)_(?!\w)/g, "$1<em>$2</em>")
    .replace(/~~([^~\n]+)~~/g, "<del>$1</del>");
  if (options.citations) {
    out = out.replace(/\[(\d{1,3})\](?!\()/g, (whole, n) =>
      options.citations.has(Number(n))
        ? hold(
            `<button type="button" class="cite-marker" data-cite="${n}" aria-label="${escapeHtml(
              options.citeLabel(n),
            )}">${n}</button>`,
          )
        : whole,
    );
  }
  return out;
}

const FENCE = /^\s{0,3}(```|~~~)\s*([\w+#.-]*)\s*$/;
const HEADING = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const RULE = /^\s{0,3}([-*_])(\s*\1){2,}\s*$/;
const QUOTE = /^\s{0,3}>\s?(.*)$/;
const LIST_ITEM = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;
const TABLE_DIVIDER = /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/;

function splitRow(line) {
  let row = line.trim();
  if (row.startsWith("|")) row = row.slice(1);
  if (row.endsWith("|") && !row.endsWith("\\|")) row = row.slice(0, -1);
  return row.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, "|"));
}

function renderTable(lines, options) {
  const head = splitRow(lines[0]);
  const aligns = splitRow(lines[1]).map((cell) => {
    if (cell.startsWith(":") && cell.endsWith(":")) return "center";
    if (cell.endsWith(":")) return "right";
    return "";
  });
  const cell = (tag, text, i) => {
    const align = aligns[i] ? ` style="text-align:${aligns[i]}"` : "";
    return `<${tag}${align}>${renderInline(text, options)}</${tag}>`;
  };
  const body = lines
    .slice(2)
    .map((line) => {
      const cells = splitRow(line);
      return `<tr>${head.map((_, i) => cell("td", cells[i] ?? "", i)).join("")}</tr>`;
    })
    .join("");
  const header = `<tr>${head.map((text, i) => cell("th", text, i)).join("")}</tr>`;
  return `<div class="md-table"><table><thead>${header}</thead><tbody>${body}</tbody></table></div>`;
}

function renderList(lines, options) {
  const ordered = /^\s*\d/.test(lines[0]);
  const baseIndent = lines[0].match(/^\s*/)[0].length;
  const items = [];
  for (const line of lines) {
    const match = line.match(LIST_ITEM);
    if (match && match[1].length <= baseIndent + 1) items.push([match[3]]);
    else items[items.length - 1].push(line.replace(/^\s{1,4}/, ""));
  }
  const tag = ordered ? "ol" : "ul";
  const start = ordered ? Number.parseInt(lines[0].trim(), 10) : 1;
  const startAttr = ordered && start !== 1 ? ` start="${start}"` : "";
  const html = items
    .map(([first, ...rest]) => {
      const nested = rest.length ? renderBlocks(rest, options) : "";
      return `<li>${renderInline(first, options)}${nested}</li>`;
    })
    .join("");
  return `<${tag}${startAttr}>${html}</${tag}>`;
}

function takeWhile(lines, start, test) {
  let end = start;
  while (end < lines.length && test(lines[end], end)) end += 1;
  return end;
}

function renderCode(lines, start) {
  const [, fence, lang] = lines[start].match(FENCE);
  const end = takeWhile(lines, start + 1, (line) => !line.trim().startsWith(fence));
  const code = escapeHtml(lines.slice(start + 1, end).join("\n"));
  const langClass = lang ? ` class="language-${escapeHtml(lang)}"` : "";
  const label = lang ? `<span class="code-lang">${escapeHtml(lang)}</span>` : "";
  return [`<pre class="md-code">${label}<code${langClass}>${code}</code></pre>`, end + 1];
}

// A list goes on with items of its own kind at its indent, or with indented lines.
function continuesList(first, line) {
  const indent = first.match(/^\s*/)[0].length;
  const item = line.match(LIST_ITEM);
  if (item && item[1].length <= indent + 1) {
    return /\d/.test(item[2]) === /\d/.test(first.match(LIST_ITEM)[2]);
  }
  return item !== null || (/^\s+\S/.test(line) && line.match(/^\s*/)[0].length > indent);
}

function isBlockStart(line, next) {
  return (
    FENCE.test(line) ||
    HEADING.test(line) ||
    RULE.test(line) ||
    QUOTE.test(line) ||
    LIST_ITEM.test(line) ||
    (line.includes("|") && next !== undefined && TABLE_DIVIDER.test(next))
  );
}

// One block at lines[i]: returns [html, next index].
function renderBlock(lines, i, options) {
  const line = lines[i];
  if (FENCE.test(line)) return renderCode(lines, i);
  const heading = line.match(HEADING);
  if (heading) {
    const level = Math.min(heading[1].length + 2, 6);
    return [`<h${level}>${renderInline(heading[2], options)}</h${level}>`, i + 1];
  }
  if (RULE.test(line)) return ["<hr>", i + 1];
  if (QUOTE.test(line)) {
    const end = takeWhile(lines, i, (l) => QUOTE.test(l));
    const inner = lines.slice(i, end).map((l) => l.match(QUOTE)[1]);
    return [`<blockquote>${renderBlocks(inner, options)}</blockquote>`, end];
  }
  if (line.includes("|") && TABLE_DIVIDER.test(lines[i + 1] ?? "")) {
    const end = takeWhile(lines, i + 2, (l) => l.trim() !== "" && l.includes("|"));
    return [renderTable(lines.slice(i, end), options), end];
  }
  if (LIST_ITEM.test(line)) {
    const end = takeWhile(lines, i + 1, (l) => continuesList(line, l));
    return [renderList(lines.slice(i, end), options), end];
  }
  const end = takeWhile(lines, i + 1, (l, j) => l.trim() !== "" && !isBlockStart(l, lines[j + 1]));
  return [`<p>${renderInline(lines.slice(i, end).join("\n"), options)}</p>`, end];
}

function renderBlocks(lines, options) {
  const out = [];
  let i = 0;
  while (i < lines.length) {
    if (lines[i].trim() === "") {
      i += 1;
      continue;
    }
    const [html, next] = renderBlock(lines, i, options);
    out.push(html);
    i = next;
  }
  return out.join("");
}

/**
 * Markdown source → an HTML string safe to assign to innerHTML.
 * options.citations: a Set of citation numbers to turn `[n]` into marker buttons;
 * options.citeLabel(n): the accessible label of a marker.
 */
export function renderMarkdown(source, options = {}) {
  const opts = { citations: null, citeLabel: (n) => `[${n}]`, ...options };
  const lines = String(source ?? "")
    .replace(/\r\n?/g, "\n")
    .split("\n");
  return renderBlocks(lines, opts);
}
