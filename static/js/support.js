// Support pages: live article suggestions while a consumer types a request, and a size check on
// attachments before upload. Progressive enhancement only: without it, "Find articles" submits
// the form and the server lists the same suggestions; the server checks every file again.
(function () {
  "use strict";
  const labels = {};

  function debounce(fn, wait) {
    let timer = null;
    return function (...args) {
      clearTimeout(timer);
      timer = setTimeout(() => fn.apply(this, args), wait);
    };
  }

  function sizeText(bytes) {
    if (bytes >= 1048576) return `${(bytes / 1048576).toFixed(1).replace(/\.0$/, "")} MB`;
    if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
    return `${bytes} bytes`;
  }

  // Attachments: name the too-large files at once instead of after a long upload.
  function watchAttachments(form) {
    const max = Number(form.dataset.maxBytes || 0);
    const input = form.querySelector('input[type="file"]');
    const message = form.querySelector('[data-role="attachments-client-error"], #attachments-client-error');
    if (!max || !input || !message) return;
    const check = () => {
      const big = Array.from(input.files || []).filter((file) => file.size > max);
      if (big.length) {
        const template = form.dataset.tooLarge || "{files}: larger than {size}. Choose smaller files.";
        message.textContent = template.replace("{files}", big.map((file) => file.name).join(", ")).replace("{size}", sizeText(max));
        message.hidden = false;
      } else {
        message.textContent = "";
        message.hidden = true;
      }
      return big.length === 0;
    };
    input.addEventListener("change", check);
    // Capture phase: runs before app.js's double-submit guard, which then sees the cancel.
    form.addEventListener("submit", (event) => {
      if (!check()) {
        event.preventDefault();
        input.focus();
      }
    }, true);
  }

  function suggestionItem(article) {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = article.url;
    link.target = "_blank";
    link.rel = "noopener";
    link.textContent = article.title;
    const excerpt = document.createElement("p");
    excerpt.className = "hint";
    excerpt.textContent = article.excerpt;
    const button = document.createElement("button");
    button.type = "submit";
    button.className = "button small";
    button.setAttribute("form", "deflect-form");
    button.name = "article_id";
    button.value = String(article.id);
    button.textContent = labels.answered || "This answered my question";
    item.append(link, excerpt, button);
    return item;
  }

  function liveSuggestions(form) {
    const url = form.dataset.suggestUrl;
    // the page's words, in the user's language (the template writes them through gettext)
    labels.answered = form.dataset.answeredLabel;
    labels.noMatch = form.dataset.noMatchLabel;
    const list = document.querySelector('[data-role="suggestion-list"]');
    const empty = document.querySelector('[data-role="suggestion-empty"]');
    const subscription = form.querySelector('select[name="subscription_id"]');
    const subject = form.querySelector('[name="subject"]');
    const description = form.querySelector('[name="description"]');
    const deflectSubscription = document.querySelector('[data-role="deflect-subscription"]');
    const deflectQuery = document.querySelector('[data-role="deflect-query"]');
    if (!url || !list || !subscription || !subject || !description) return;
    let controller = null;
    let lastKey = "";

    const refresh = () => {
      const text = `${subject.value} ${description.value}`.trim();
      if (deflectSubscription) deflectSubscription.value = subscription.value;
      if (deflectQuery) deflectQuery.value = subject.value.slice(0, 300);
      const key = `${subscription.value}|${text}`;
      if (!subscription.value || key === lastKey) return;
      lastKey = key;
      if (controller) controller.abort();
      controller = new AbortController();
      const params = new URLSearchParams({ subscription: subscription.value, q: text.slice(0, 2000) });
      fetch(`${url}?${params}`, { headers: { Accept: "application/json" }, signal: controller.signal, credentials: "same-origin" })
        .then((response) => (response.ok ? response.json() : { articles: [] }))
        .then((data) => {
          list.replaceChildren(...data.articles.map(suggestionItem));
          if (empty) {
            empty.hidden = data.articles.length > 0;
            empty.textContent = data.articles.length ? "" : labels.noMatch || "No matching article yet: send your request and we will help.";
          }
        })
        .catch((error) => {
          if (error.name !== "AbortError") lastKey = "";
        });
    };
    const later = debounce(refresh, 350);
    subject.addEventListener("input", later);
    description.addEventListener("input", later);
    subscription.addEventListener("change", refresh);
    if (subscription.value && !list.children.length) refresh();
  }

  document.addEventListener("DOMContentLoaded", () => {
    const requestForm = document.getElementById("request-form");
    if (requestForm) liveSuggestions(requestForm);
    document.querySelectorAll("form[data-max-bytes]").forEach(watchAttachments);
  });
})();
