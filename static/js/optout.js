// The public opt-out page's small additions to htmx (the page works without them).
(function () {
  "use strict";

  // htmx does not swap 4xx answers by default. The form's own answers (400: a field to
  // correct or "press again"; 413; 429) are meant to replace the form in place.
  var SWAPPED_STATUSES = [400, 413, 429];

  function isPanelRequest(detail) {
    return detail.target && detail.target.id === "optout-panel";
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    if (isPanelRequest(detail) && SWAPPED_STATUSES.indexOf(detail.xhr.status) !== -1) {
      detail.shouldSwap = true;
      detail.isError = false;
    }
  });

  // Any other failure (server error, network): fall back to the ordinary form post, so
  // the person always sees an answer.
  function fallBack(event) {
    var form = event.detail.elt;
    if (form && form.tagName === "FORM" && form.closest("#optout-panel")) {
      form.submit();
    }
  }
  document.addEventListener("htmx:responseError", fallBack);
  document.addEventListener("htmx:sendError", fallBack);

  // Inline URL check: mark the field invalid for assistive technology, too.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "url-feedback") {
      return;
    }
    var input = document.getElementById("url");
    if (!input) {
      return;
    }
    if (target.querySelector("[data-valid='false']")) {
      input.setAttribute("aria-invalid", "true");
    } else {
      input.removeAttribute("aria-invalid");
    }
  });

  // The receipt: "Copy reference" and "Print" (hidden without this script).
  function showReceiptActions(root) {
    var actions = root.querySelector && root.querySelector("[data-receipt-actions]");
    if (actions) {
      actions.hidden = false;
      if (!navigator.clipboard) {
        actions.querySelector("[data-copy-reference]").hidden = true;
      }
    }
  }
  document.addEventListener("DOMContentLoaded", function () { showReceiptActions(document); });
  document.addEventListener("htmx:afterSwap", function (event) {
    showReceiptActions(event.detail.target.parentElement || document);
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy-reference], [data-print]");
    if (!button) {
      return;
    }
    if (button.hasAttribute("data-print")) {
      window.print();
      return;
    }
    var reference = document.querySelector("[data-reference]").textContent.trim();
    var label = button.textContent;
    navigator.clipboard.writeText(reference).then(function () {
      button.textContent = button.getAttribute("data-copied-label");
      setTimeout(function () { button.textContent = label; }, 2000);
    });
  });
})();
