// A small modal form: a title, a few fields, and a submit button. The
// answer is the fields' values, or null when it was cancelled.

import { el } from "./view.js";

/**
 * formDialog shows fields ({name, label, type, value, options, required,
 * maxLength, placeholder}) and resolves to {name: value} or null.
 */
export function formDialog({ title, text = "", fields = [], submit = "OK", testid = "dialog" }) {
  return new Promise((resolve) => {
    const inputs = fields.map(field);
    const form = el(
      "form",
      { method: "dialog", className: "dialog-form" },
      el("h2", { textContent: title }),
      text && el("p", { textContent: text }),
      ...inputs.map((i) => i.label),
      el(
        "div",
        { className: "dialog-buttons" },
        el("button", { type: "button", testid: "dialog-cancel", textContent: "Cancel", on: { click: () => d.close("") } }),
        el("button", { type: "submit", testid: "dialog-submit", value: "ok", textContent: submit }),
      ),
    );
    const d = el("dialog", { className: "dialog", testid }, form);
    d.addEventListener("close", () => {
      const ok = d.returnValue === "ok";
      d.remove();
      resolve(ok ? Object.fromEntries(inputs.map((i) => [i.name, i.value()])) : null);
    });
    document.body.append(d);
    d.showModal();
  });
}

function field(f) {
  let control;
  if (f.options) {
    control = el("select", { name: f.name, data: { testid: `dialog-${f.name}` } }, ...f.options.map(([v, t]) => el("option", { value: v, textContent: t })));
    if (f.value) control.value = f.value;
  } else {
    control = el("input", {
      name: f.name,
      type: f.type || "text",
      value: f.value || "",
      required: !!f.required,
      maxLength: f.maxLength || 500,
      placeholder: f.placeholder || "",
      autocomplete: "off",
      data: { testid: `dialog-${f.name}` },
    });
  }
  return { name: f.name, label: el("label", {}, f.label, control), value: () => control.value.trim() };
}

/** confirmDialog asks a yes-or-no question and resolves to a boolean. */
export async function confirmDialog(title, text, submit) {
  return (await formDialog({ title, text, submit, testid: "confirm-dialog" })) !== null;
}
