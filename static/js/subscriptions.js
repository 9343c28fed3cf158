// Consume pages: a Print button on contracts, and a live list of the chosen options in the
// order form's price summary. Progressive enhancement only: both pages work without it.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-print]").forEach((button) => {
    button.hidden = false;
    button.addEventListener("click", () => window.print());
    document.querySelectorAll("[data-print-hint]").forEach((hint) => { hint.hidden = true; });
  });

  const form = document.getElementById("order-form");
  const summary = document.getElementById("chosen-options");
  if (!form || !summary) return;
  const fields = Array.from(form.querySelectorAll("fieldset.options input, fieldset.options select"));
  const render = () => {
    summary.replaceChildren();
    fields.forEach((input) => {
      if (input.disabled) return; // hidden by its condition (order-options.js): not ordered
      const label = form.querySelector(`label[for="${input.id}"]`) || input.closest("label");
      let value = input.type === "checkbox" ? (input.checked ? form.dataset.yes || "yes" : form.dataset.no || "no") : input.value.trim();
      if (input.tagName === "SELECT" && !input.value) value = "";
      if (!value) return;
      const dt = document.createElement("dt");
      dt.textContent = label ? label.textContent.replace("*", "").trim() : input.name;
      const dd = document.createElement("dd");
      dd.textContent = value;
      summary.append(dt, dd);
    });
    summary.hidden = summary.childElementCount === 0;
  };
  // after order-options.js has shown and hidden the fields this change touches
  const later = () => setTimeout(render, 0);
  fields.forEach((input) => input.addEventListener("change", later));
  fields.forEach((input) => input.addEventListener("input", later));
  render();
});
