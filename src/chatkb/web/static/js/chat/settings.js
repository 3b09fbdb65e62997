// Per-conversation answer settings: top-k, score threshold, temperature, model.
import { h, uid } from "../dom.js";
import { icon } from "../icons.js";
import { t } from "../i18n.js";

export const DEFAULT_SETTINGS = { top_k: 5, score_threshold: 0, temperature: 0.2, model: "" };

function slider({ key, label, hint, min, max, step, value, onInput }) {
  const id = uid(key);
  const out = h("output", { for: id }, String(value));
  const input = h("input", {
    id,
    type: "range",
    min,
    max,
    step,
    value,
    "data-setting": key,
    oninput: (e) => {
      out.textContent = e.target.value;
      onInput(Number(e.target.value));
    },
  });
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    h("div", { class: "range-row" }, input, out),
    hint ? h("span", { class: "hint" }, hint) : null,
  );
}

function modelSelect(models, value, onChange) {
  const id = uid("model");
  const options = [h("option", { value: "" }, t("chat.modelDefault"))].concat(
    models.map((m) =>
      h("option", { value: m.id, selected: m.id === value ? true : null }, m.label ?? m.id),
    ),
  );
  const select = h(
    "select",
    { id, class: "select", "data-setting": "model", onchange: (e) => onChange(e.target.value) },
    options,
  );
  select.value = value ?? "";
  return h("div", { class: "field" }, h("label", { for: id }, t("chat.model")), select);
}

/** The settings drawer; onChange(key, value) after every edit; onClose() for its close button. */
export function settingsPanel({ settings, models, onChange, onClose }) {
  const current = { ...DEFAULT_SETTINGS, ...settings };
  const set = (key) => (value) => onChange(key, value);
  return h(
    "aside",
    { class: "chat-settings", "aria-labelledby": "chat-settings-title" },
    h(
      "div",
      { class: "chat-settings-head" },
      h("h2", { id: "chat-settings-title" }, t("chat.settings")),
      h("button", {
        type: "button",
        class: "icon-btn",
        "aria-label": t("common.close"),
        onclick: onClose,
        html: icon("close"),
      }),
    ),
    h("p", { class: "faint" }, t("chat.settingsHint")),
    slider({
      key: "top_k",
      label: t("chat.topK"),
      min: 1,
      max: 20,
      step: 1,
      value: current.top_k,
      onInput: set("top_k"),
    }),
    slider({
      key: "score_threshold",
      label: t("chat.threshold"),
      hint: t("chat.thresholdHint"),
      min: 0,
      max: 1,
      step: 0.05,
      value: current.score_threshold,
      onInput: set("score_threshold"),
    }),
    slider({
      key: "temperature",
      label: t("chat.temperature"),
      min: 0,
      max: 2,
      step: 0.1,
      value: current.temperature,
      onInput: set("temperature"),
    }),
    modelSelect(models, current.model, set("model")),
  );
}
