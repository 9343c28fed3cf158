// Offerdesk: the one way a destructive action asks first (docs/confirmations.md).
// A form, or one submit button of a form, with data-confirm="Question?" is submitted only after
// the person confirms in the page's <dialog id="confirm-dialog"> (templates/base.html): focus
// moves into it, Escape or Cancel close it and change nothing, the confirm button submits the
// form as the button would have. Without <dialog> support, window.confirm asks instead.
(() => {
  "use strict";

  const question = (form, submitter) =>
    (submitter && submitter.dataset && submitter.dataset.confirm) || form.dataset.confirm || "";

  const labelOf = (submitter) => {
    if (!submitter) return "";
    if (submitter.dataset.confirmLabel) return submitter.dataset.confirmLabel;
    const text = submitter.tagName === "INPUT" ? submitter.value : submitter.textContent;
    return (text || "").replace(/\s+/g, " ").trim();
  };

  function ask(dialog, message, acceptLabel, onAccept, returnFocus) {
    const text = dialog.querySelector("[data-confirm-text]");
    const accept = dialog.querySelector("[data-confirm-accept]");
    text.textContent = message;
    accept.textContent = acceptLabel || accept.dataset.defaultLabel;
    dialog.returnValue = "";
    const closed = () => {
      dialog.removeEventListener("close", closed);
      if (dialog.returnValue === "accept") onAccept();
      else if (returnFocus && typeof returnFocus.focus === "function") returnFocus.focus();
    };
    dialog.addEventListener("close", closed);
    dialog.showModal();
    dialog.querySelector("[data-confirm-cancel]").focus();
  }

  document.addEventListener(
    "submit",
    (event) => {
      const form = event.target;
      if (!(form instanceof HTMLFormElement)) return;
      const submitter = event.submitter || null;
      const message = question(form, submitter);
      if (!message) return;
      if (form.dataset.confirmed === "1") {
        delete form.dataset.confirmed; // asked and answered: let this one submission through
        return;
      }
      event.preventDefault();
      event.stopImmediatePropagation();
      const submit = () => {
        form.dataset.confirmed = "1";
        if (typeof form.requestSubmit === "function") form.requestSubmit(submitter || undefined);
        else form.submit();
      };
      const dialog = document.getElementById("confirm-dialog");
      if (!dialog || typeof dialog.showModal !== "function") {
        // Later, not now: a form ignores a new submission while its submit event still runs.
        if (window.confirm(message)) setTimeout(submit, 0);
        return;
      }
      ask(dialog, message, labelOf(submitter), submit, submitter || form);
    },
    true,
  );

  document.addEventListener("DOMContentLoaded", () => {
    const dialog = document.getElementById("confirm-dialog");
    if (!dialog) return;
    dialog.querySelector("[data-confirm-cancel]").addEventListener("click", () => dialog.close("cancel"));
    dialog.querySelector("[data-confirm-accept]").addEventListener("click", () => dialog.close("accept"));
  });
})();
