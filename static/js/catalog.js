// Offer editor enhancements; the page works fully without them.
// - the section links become tabs (one section at a time, the URL hash remembers which);
// - order-form and fulfillment rows show only the fields their type or mode uses;
// - the margin follows the price and cost as they are typed.
document.addEventListener("DOMContentLoaded", () => {
  const tabs = document.querySelector(".tabs");
  const panels = Array.from(document.querySelectorAll("[data-panel]"));
  if (tabs && panels.length) {
    const links = Array.from(tabs.querySelectorAll("a[data-tab]"));
    const names = links.map((link) => link.dataset.tab);
    const saveBars = document.querySelectorAll("[data-panels]");
    const sectionInput = document.querySelector("[data-section-input]");
    const show = (name, focus) => {
      panels.forEach((panel) => { panel.hidden = panel.dataset.panel !== name; });
      saveBars.forEach((bar) => { bar.hidden = !bar.dataset.panels.split(" ").includes(name); });
      links.forEach((link) => {
        if (link.dataset.tab === name) link.setAttribute("aria-current", "true");
        else link.removeAttribute("aria-current");
      });
      if (sectionInput) sectionInput.value = name;
      if (focus) {
        const heading = document.querySelector(`[data-panel="${name}"] h2`);
        if (heading) { heading.tabIndex = -1; heading.focus(); }
      }
    };
    document.body.classList.add("tabs-on");
    links.forEach((link) => {
      link.addEventListener("click", (event) => {
        event.preventDefault();
        history.replaceState(null, "", `#${link.dataset.tab}`);
        show(link.dataset.tab, true);
      });
    });
    const fromHash = location.hash.slice(1);
    const hashPanel = document.getElementById(fromHash);
    const hashName = hashPanel && hashPanel.dataset.panel;
    const withError = document.querySelector("[data-panel] .has-error, [data-panel] .flash-error");
    const errorName = withError && withError.closest("[data-panel]").dataset.panel;
    const initial = errorName || (names.includes(hashName) ? hashName : names[0]);
    show(initial, false);
  }

  document.querySelectorAll("[data-switch-row]").forEach((row) => {
    const select = row.querySelector("select[data-switch]");
    if (!select) return;
    const update = () => {
      row.querySelectorAll("[data-show-for]").forEach((part) => {
        const hasError = part.querySelector(".has-error");
        part.hidden = !hasError && !part.dataset.showFor.split(" ").includes(select.value);
      });
    };
    select.addEventListener("change", update);
    update();
  });

  const margin = document.querySelector("output[data-margin]");
  const price = document.getElementById("price");
  const cost = document.getElementById("cost");
  const currency = document.getElementById("currency");
  if (margin && price && cost) {
    const update = () => {
      const p = parseFloat(price.value);
      const c = parseFloat(cost.value || "0");
      const unit = currency ? currency.value : margin.dataset.currency;
      if (Number.isNaN(p) || Number.isNaN(c)) { margin.textContent = "—"; return; }
      const pct = p > 0 ? ` (${(((p - c) / p) * 100).toFixed(1)} %)` : "";
      margin.textContent = `${(p - c).toFixed(2)} ${unit}${pct}`;
    };
    [price, cost, currency].forEach((input) => input && input.addEventListener("input", update));
    [price, cost, currency].forEach((input) => input && input.addEventListener("change", update));
  }
});
