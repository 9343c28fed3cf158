// The subscription page's fulfillment steps, live: while steps run, poll the page's small JSON
// endpoint (a GET that never writes) and update each step's status and latest message, and
// announce changes in the aria-live region. Stops once every step is done or failed, and
// reloads once then so the page shows the outputs and the actions of the new status.
document.addEventListener("DOMContentLoaded", () => {
  const table = document.querySelector("[data-live-progress]");
  if (!table) return;
  const url = table.dataset.liveProgress;
  const announce = document.querySelector("[data-live-progress-status]");
  const tones = { done: "ok", failed: "danger", waiting: "muted" };
  const INTERVAL = 3000;
  let timer = null;

  const render = (step) => {
    const row = table.querySelector(`tr[data-step-id="${step.id}"]`);
    if (!row) return false;
    const cell = row.querySelector("[data-step-status]");
    const message = row.querySelector("[data-step-message]");
    const label = step.status.replace("_", " ");
    const tag = cell.querySelector(".tag");
    const changed = !tag || tag.textContent !== label;
    if (changed) {
      const span = document.createElement("span");
      span.className = `tag ${tones[step.status] || ""}`.trim();
      span.textContent = label;
      cell.replaceChildren(span);
    }
    if (message && message.textContent !== step.message) {
      message.textContent = step.message;
      message.hidden = !step.message;
      return true;
    }
    return changed;
  };

  const poll = async () => {
    let document_;
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) throw new Error(String(response.status));
      document_ = await response.json();
    } catch (error) {
      timer = window.setTimeout(poll, INTERVAL * 2);
      return;
    }
    const news = document_.steps.filter(render);
    if (news.length && announce) {
      announce.textContent = news
        .map((step) => `${step.name}: ${step.status.replace("_", " ")}${step.message ? ` — ${step.message}` : ""}`)
        .join(". ");
    }
    if (document_.finished) {
      window.location.reload();
      return;
    }
    timer = window.setTimeout(poll, INTERVAL);
  };
  timer = window.setTimeout(poll, INTERVAL);
  window.addEventListener("pagehide", () => window.clearTimeout(timer));
});
