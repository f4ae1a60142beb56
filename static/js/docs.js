// The API reference: a Copy button on each code block. The buttons are in the page,
// hidden; without this script (or a clipboard) they stay hidden.
(function () {
  "use strict";
  if (!navigator.clipboard) return;

  function copy(button) {
    var code = button.parentElement.querySelector("pre");
    var label = button.firstChild.textContent;
    navigator.clipboard.writeText(code.textContent).then(function () {
      button.firstChild.textContent = "Copied";
      setTimeout(function () { button.firstChild.textContent = label; }, 2000);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-copy-code]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () { copy(button); });
    });
  });
})();
