// Which knowledge bases a conversation asks: a button that opens a checklist popover.
import { h } from "../dom.js";
import { icon } from "../icons.js";
import { t } from "../i18n.js";

function summary(selected) {
  if (!selected.length) return t("chat.kbNone");
  if (selected.length <= 2) return selected.join(", ");
  return t("chat.kbCount", { n: selected.length });
}

/** kbs: [{name, documents}], selected: [name]; onChange(names) after each toggle. */
export function kbPicker({ kbs, selected, onChange }) {
  let chosen = [...selected];
  const label = h("span", { class: "kb-picker-label" }, summary(chosen));
  const button = h(
    "button",
    {
      type: "button",
      class: "kb-picker-btn",
      "aria-haspopup": "true",
      "aria-expanded": "false",
      "data-action": "pick-kbs",
    },
    h("span", { html: icon(chosen.length ? "books" : "sparkle", 18) }),
    label,
    h("span", { html: icon("chevronDown", 16) }),
  );
  const update = () => {
    label.textContent = summary(chosen);
    onChange([...chosen]);
  };
  const options = kbs.map((kb) =>
    h(
      "label",
      { class: "checkbox" },
      h("input", {
        type: "checkbox",
        value: kb.name,
        checked: chosen.includes(kb.name),
        onchange: (e) => {
          chosen = e.target.checked ? [...chosen, kb.name] : chosen.filter((n) => n !== kb.name);
          update();
        },
      }),
      h("span", { class: "kb-option-name" }, kb.name),
      h("span", { class: "faint" }, t("kb.documents", { n: kb.documents ?? 0 })),
    ),
  );
  const panel = h(
    "div",
    { class: "popover kb-popover", hidden: true },
    h(
      "fieldset",
      {},
      h("legend", { class: "popover-title" }, t("chat.kbPicker")),
      kbs.length ? options : h("p", { class: "faint" }, t("chat.noKbs")),
    ),
    h("p", { class: "faint popover-foot" }, t("chat.plainLlm")),
  );
  const setOpen = (open) => {
    panel.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
    if (open) panel.querySelector("input")?.focus();
  };
  button.addEventListener("click", () => setOpen(panel.hidden));
  const root = h("div", { class: "kb-picker" }, button, panel);
  root.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !panel.hidden) {
      setOpen(false);
      button.focus();
    }
  });
  document.addEventListener("click", function outside(e) {
    if (!root.isConnected) return document.removeEventListener("click", outside);
    if (!root.contains(e.target)) setOpen(false);
  });
  return root;
}
