// The order form as the consumer types: fields shown and hidden by their conditions, fields
// required by a condition marked, a dependent choice's choices following its parent, a long
// choice list searched as one types, and the price total kept up to date.
// Progressive enhancement: without this script the whole form shows and the server decides.
// evaluate() mirrors app/conditions.py; tests/fixtures/conditions.json holds the cases both pass.
(function () {
  "use strict";

  const TRUE_WORDS = ["true", "yes", "on", "1"];
  const FALSE_WORDS = ["false", "no", "off", "0"];
  const NUMBER_RE = /^-?\d+(\.\d+)?$/;

  const missing = (value) =>
    value === undefined || value === null || (typeof value === "string" && value.trim() === "");

  const asNumber = (value) => {
    if (typeof value === "boolean") return null;
    if (typeof value === "number") return Number.isFinite(value) ? value : null;
    if (typeof value === "string" && NUMBER_RE.test(value.trim())) return parseFloat(value.trim());
    return null;
  };

  const asFlag = (value) => {
    if (typeof value === "boolean") return value;
    if (typeof value === "number") return value !== 0;
    if (typeof value === "string") {
      const word = value.trim().toLowerCase();
      if (TRUE_WORDS.includes(word)) return true;
      if (FALSE_WORDS.includes(word)) return false;
    }
    return null;
  };

  const asText = (value) => {
    if (typeof value === "boolean") return value ? "true" : "false";
    if (typeof value === "number") return String(value);
    return String(value).trim();
  };

  function same(value, expected) {
    if (missing(value) || expected === null || expected === undefined) return false;
    if (typeof expected === "boolean" || typeof value === "boolean") {
      const left = asFlag(value);
      return left !== null && left === asFlag(expected);
    }
    const left = asNumber(value);
    const right = asNumber(expected);
    if (left !== null && right !== null) return left === right;
    return asText(value) === asText(expected);
  }

  function compare(value, bound, greater) {
    const left = asNumber(value);
    const right = asNumber(bound);
    if (missing(value) || left === null || right === null) return false;
    return greater ? left > right : left < right;
  }

  function evaluate(condition, values) {
    if (!condition || Object.keys(condition).length === 0) return true;
    if ("all" in condition) return condition.all.every((part) => evaluate(part, values));
    if ("any" in condition) return condition.any.some((part) => evaluate(part, values));
    if ("not" in condition) return !evaluate(condition.not, values);
    const value = Object.prototype.hasOwnProperty.call(values, condition.field) ? values[condition.field] : undefined;
    if ("equals" in condition) return same(value, condition.equals);
    if ("not_equals" in condition) return !same(value, condition.not_equals);
    if ("in" in condition) return (condition.in || []).some((item) => same(value, item));
    if ("greater_than" in condition) return compare(value, condition.greater_than, true);
    if ("less_than" in condition) return compare(value, condition.less_than, false);
    if ("is_set" in condition) return !missing(value) === Boolean(condition.is_set);
    return false;
  }

  function fieldsNamed(condition, names = []) {
    if (!condition || typeof condition !== "object") return names;
    ["all", "any"].forEach((group) => (condition[group] || []).forEach((part) => fieldsNamed(part, names)));
    if (condition.not) fieldsNamed(condition.not, names);
    if (typeof condition.field === "string" && !names.includes(condition.field)) names.push(condition.field);
    return names;
  }

  // Definitions in the order they must be settled: every field after those it reads.
  function settlingOrder(definitions) {
    const byKey = new Map(definitions.map((option) => [option.key, option]));
    const order = [];
    const seen = new Set();
    const visit = (option) => {
      if (seen.has(option.key)) return;
      seen.add(option.key);
      const reads = fieldsNamed(option.visible_when, fieldsNamed(option.required_when, option.depends_on ? [option.depends_on] : []));
      reads.forEach((key) => { if (byKey.has(key)) visit(byKey.get(key)); });
      order.push(option);
    };
    definitions.forEach(visit);
    return order;
  }

  // Which fields show, which are required, and the values that count (hidden ones dropped).
  function settle(definitions, values) {
    const kept = {};
    const state = {};
    settlingOrder(definitions).forEach((option) => {
      const visible = evaluate(option.visible_when, kept);
      const required = visible && (Boolean(option.required) || (option.required_when ? evaluate(option.required_when, kept) : false));
      let choices = null;
      if (option.depends_on) choices = (option.choice_map || {})[asText(kept[option.depends_on] ?? "")] || [];
      state[option.key] = { visible, required, choices };
      if (visible && !missing(values[option.key])) kept[option.key] = values[option.key];
    });
    return { kept, state };
  }

  // The priced breakdown: what each chosen value adds, once and monthly (catalog/options' prices).
  function priceLines(definitions, kept) {
    const lines = [];
    definitions.forEach((option) => {
      if (!option.prices || !(option.key in kept)) return;
      const value = kept[option.key];
      const key = option.type === "boolean" ? (asFlag(value) ? "true" : "") : asText(value);
      const price = option.prices[key];
      if (price) lines.push({ key: option.key, one_time: parseFloat(price.one_time || 0), monthly: parseFloat(price.monthly || 0) });
    });
    return lines;
  }

  function readValues(form) {
    const values = {};
    form.querySelectorAll("[data-option]").forEach((box) => {
      const input = box.querySelector("input, select");
      if (!input) return;
      values[box.dataset.option] = input.type === "checkbox" ? input.checked : input.value;
    });
    return values;
  }

  function fillChoices(select, choices, chooseLabel) {
    const current = select.value;
    const wanted = ["", ...choices];
    const have = Array.from(select.options).map((option) => option.value);
    if (wanted.length === have.length && wanted.every((value, i) => value === have[i])) return;
    select.replaceChildren();
    wanted.forEach((value) => {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = value || chooseLabel;
      if (value === current) option.selected = true;
      select.append(option);
    });
  }

  // The amount written as the page writes money: the server's "0.00 EUR" / "0,00 €" with the number put in.
  const money = (amount, totals, locale) => {
    const number = amount.toLocaleString(locale || undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    const zero = totals.dataset.moneyZero || "";
    return /0[.,]00/.test(zero) ? zero.replace(/0[.,]00/, number) : `${number} ${totals.dataset.currency}`;
  };

  function apply(form, definitions) {
    const { kept, state } = settle(definitions, readValues(form));
    definitions.forEach((option) => {
      const box = form.querySelector(`[data-option="${option.key}"]`);
      if (!box) return;
      const { visible, required, choices } = state[option.key];
      box.hidden = !visible;
      box.querySelectorAll("input, select").forEach((input) => {
        input.disabled = !visible; // a hidden field is not sent
        if (required) input.setAttribute("aria-required", "true");
        else input.removeAttribute("aria-required");
      });
      const marker = box.querySelector("[data-required-marker]");
      if (marker) marker.hidden = !required;
      const select = box.querySelector("select");
      if (select && choices !== null) fillChoices(select, choices, form.dataset.choose || "—");
    });
    const totals = form.querySelector("[data-price-totals]");
    if (totals) {
      const base = { one_time: parseFloat(totals.dataset.baseOneTime || 0), monthly: parseFloat(totals.dataset.baseMonthly || 0) };
      priceLines(definitions, kept).forEach((line) => { base.one_time += line.one_time; base.monthly += line.monthly; });
      ["one_time", "monthly"].forEach((period) => {
        const out = totals.querySelector(`[data-total="${period}"]`);
        if (!out) return;
        out.textContent = money(base[period], totals, document.documentElement.lang);
        out.closest("[data-total-row]").hidden = base[period] === 0 && period === "one_time";
      });
    }
  }

  // A long choice list: a text input with a datalist filled from the search endpoint.
  function wireSearch(input) {
    const list = document.getElementById(input.getAttribute("list"));
    if (!list || !input.dataset.searchUrl) return;
    let timer = null;
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const url = `${input.dataset.searchUrl}?q=${encodeURIComponent(input.value.trim())}`;
        const response = await fetch(url, { headers: { Accept: "application/json" } });
        if (!response.ok) return;
        const body = await response.json();
        list.replaceChildren(...body.entries.map((entry) => {
          const option = document.createElement("option");
          option.value = entry.value;
          if (entry.label && entry.label !== entry.value) option.label = entry.label;
          return option;
        }));
      }, 200);
    });
  }

  function start() {
    document.querySelectorAll("form[data-order-options]").forEach((form) => {
      const source = document.getElementById(form.dataset.orderOptions);
      if (!source) return;
      const definitions = JSON.parse(source.textContent);
      const update = () => apply(form, definitions);
      if (form.hasAttribute("data-preview")) form.addEventListener("submit", (event) => event.preventDefault());
      form.addEventListener("change", update);
      form.addEventListener("input", update);
      form.querySelectorAll("input[data-search-url]").forEach(wireSearch);
      update();
    });
  }

  window.OrderOptions = { evaluate, settle, priceLines, fieldsNamed };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
