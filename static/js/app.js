// Offerdesk: progressive enhancement only; every page works without it.
document.addEventListener("DOMContentLoaded", () => {
  const toggle = document.querySelector(".nav-toggle");
  const nav = document.getElementById("primary-nav");
  if (toggle && nav) {
    toggle.addEventListener("click", () => {
      const open = nav.classList.toggle("open");
      toggle.setAttribute("aria-expanded", String(open));
    });
  }
  // Folded lists that stay open on a wide screen (the catalog's categories).
  if (window.matchMedia("(min-width: 901px)").matches) {
    document.querySelectorAll("details[data-open-wide]").forEach((details) => { details.open = true; });
  }
  // Destructive actions (data-confirm) ask first in static/js/confirm.js, the one place that does.
  // A second click on a submit button while the first request runs does nothing.
  document.querySelectorAll("form").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (event.defaultPrevented) return;
      if (form.dataset.submitting === "1") { event.preventDefault(); return; }
      form.dataset.submitting = "1";
      setTimeout(() => { form.dataset.submitting = ""; }, 4000);
    });
  });
  // After a refused submit, say so in the title and put the cursor in the first field to fix
  // (later, so that a tabbed page has first shown the panel holding it).
  const invalid = document.querySelector('[aria-invalid="true"]');
  if (invalid) {
    document.title = `Error: ${document.title}`;
    setTimeout(() => invalid.focus(), 0);
  }
  // Offer code fields: as the user types, fetch matching offers into the field's suggestions.
  // "several" fields hold a comma-separated list: the last code typed is the one completed.
  document.querySelectorAll("input[data-offer-suggest]").forEach((input) => {
    const list = input.list;
    if (!list || !list.dataset.url) return;
    const several = input.dataset.offerSuggest === "several";
    let timer = null;
    let asked = "";
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const words = input.value.split(/[\s,;]+/);
        const word = several ? words[words.length - 1] : input.value.trim();
        if (!word || word === asked) return;
        asked = word;
        const response = await fetch(`${list.dataset.url}?q=${encodeURIComponent(word)}`, {
          headers: { Accept: "application/json" },
        });
        if (!response.ok) return;
        const before = several ? input.value.slice(0, input.value.length - word.length) : "";
        const offers = await response.json();
        list.replaceChildren(...offers.map(({ code, name }) => {
          const option = document.createElement("option");
          option.value = before + code;
          option.textContent = name;
          return option;
        }));
      }, 150);
    });
  });
});
