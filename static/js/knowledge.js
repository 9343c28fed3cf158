// Knowledge article page: report the reading with a POST once the page is shown, so that
// loading the page (a GET, which prefetchers and crawlers also make) changes nothing.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form[data-count-view]");
  if (!form) return;
  fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" })
    .catch(() => {});  // a lost count is not worth bothering the reader with
});
