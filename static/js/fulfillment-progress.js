// The subscription page's fulfillment steps, live: while steps run, poll the page's small JSON
// endpoint (a GET that never writes), update each step's status and latest message, and
// announce changes in the aria-live region. Once every step is done, or the order stopped on a
// failed step (the later ones stay waiting), it stops, and
// swaps in the page's fresh status, outputs and actions in place (no reload: the announcement
// is not cut off and keyboard focus stays where it was).
document.addEventListener("DOMContentLoaded", () => {
  const list = document.querySelector("[data-live-progress]");
  if (!list) return;
  const url = list.dataset.liveProgress;
  const announce = document.querySelector("[data-live-progress-status]");
  const tones = { done: "ok", failed: "danger", waiting: "muted" };
  const INTERVAL = 3000;
  let timer = null;
  let stopped = false;

  // the statuses' words in the user's language, written by the page through gettext
  const labels = announce && announce.dataset.labels ? JSON.parse(announce.dataset.labels) : {};
  const words = (status) => labels[status] || status.replaceAll("_", " ");

  const render = (step) => {
    const item = list.querySelector(`[data-step-id="${step.id}"]`);
    if (!item) return false;
    const cell = item.querySelector("[data-step-status]");
    const message = item.querySelector("[data-step-message]");
    const label = words(step.status);
    const tag = cell.querySelector(".tag");
    let changed = !tag || tag.textContent !== label;
    if (changed) {
      const span = document.createElement("span");
      span.className = `tag ${tones[step.status] || ""}`.trim();
      span.textContent = label;
      cell.replaceChildren(span);
    }
    if (message && message.textContent !== step.message) {
      message.textContent = step.message;
      message.hidden = !step.message;
      message.className = step.status === "failed" ? "error" : "hint-inline";
      changed = true;
    }
    return changed;
  };

  // Where focus was, so that it can be found again in the refreshed parts.
  const focusKey = () => {
    const active = document.activeElement;
    if (!active || active === document.body) return null;
    if (active.id) return `#${CSS.escape(active.id)}`;
    const href = active.getAttribute("href");
    return href ? `a[href="${CSS.escape(href)}"]` : null;
  };

  const refresh = async () => {
    const response = await fetch(window.location.href, { credentials: "same-origin" });
    if (!response.ok) throw new Error(String(response.status));
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    const key = focusKey();
    const hadFocus = key && document.activeElement.closest("[data-live-refresh]");
    document.querySelectorAll("[data-live-refresh]").forEach((part) => {
      const replacement = fresh.querySelector(`[data-live-refresh="${part.dataset.liveRefresh}"]`);
      if (replacement) part.replaceWith(document.importNode(replacement, true));
    });
    if (hadFocus) document.querySelector(key)?.focus();
  };

  const poll = async () => {
    if (stopped) return;
    let progress;
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) throw new Error(String(response.status));
      progress = await response.json();
    } catch (error) {
      timer = window.setTimeout(poll, INTERVAL * 2);
      return;
    }
    const news = progress.steps
      .filter(render)
      .map((step) => `${step.name}: ${words(step.status)}${step.message ? ` — ${step.message}` : ""}`);
    if (progress.finished) {
      stopped = true;
      const status = words(progress.subscription.status);
      const failedStep = progress.order && progress.order.status === "failed";
      const said = failedStep
        ? (announce && announce.dataset.stopped) || "Fulfillment stopped: a step failed; the subscription is {status}."
        : (announce && announce.dataset.finished) || "Fulfillment finished; the subscription is {status}.";
      news.push(said.replace("{status}", status));
    }
    if (news.length && announce) announce.textContent = news.join(". ");
    if (!progress.finished) {
      timer = window.setTimeout(poll, INTERVAL);
      return;
    }
    try {
      await refresh();
    } catch (error) {
      window.location.reload();
    }
  };
  timer = window.setTimeout(poll, INTERVAL);
  window.addEventListener("pagehide", () => {
    stopped = true;
    window.clearTimeout(timer);
  });
});
