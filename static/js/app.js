/* Team pages: small enhancements on top of htmx. Every page works without this file. */
(function () {
  "use strict";

  var csrfMeta = document.querySelector('meta[name="csrf-token"]');

  // CSRF: htmx requests that change something carry the token in a header.
  document.addEventListener("htmx:configRequest", function (evt) {
    if (csrfMeta && evt.detail.verb !== "get") {
      evt.detail.headers["X-CSRFToken"] = csrfMeta.content;
    }
  });

  // ------------------------------------------------------------ request errors

  var MESSAGES = {
    400: "The request was refused, perhaps because the page is old. Reload the page and try again.",
    403: "You are not allowed to do that.",
    404: "That item no longer exists. Reload the page to see the current state.",
    413: "The upload is too large. Split it into smaller files.",
    429: "Too many requests. Wait a moment and try again.",
  };

  function showError(message) {
    var box = document.getElementById("request-error");
    if (!box) return;
    box.textContent = message;
    box.hidden = false;
    box.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("htmx:beforeRequest", function () {
    var box = document.getElementById("request-error");
    if (box) box.hidden = true;
  });

  document.addEventListener("htmx:responseError", function (evt) {
    var status = evt.detail.xhr.status;
    showError(MESSAGES[status] ||
      (status >= 500 ? "Something went wrong on the server. Please try again." :
        "The request failed (" + status + "). Reload the page and try again."));
  });

  document.addEventListener("htmx:sendError", function () {
    showError("The server could not be reached. Check your connection and try again.");
  });

  // A form's submit empties the message area at once: an earlier "Added …" must not sit
  // above the answer to this one (the answers empty it too, for slow connections).
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var flashes = document.getElementById("flashes");
    if (flashes && evt.detail.elt.tagName === "FORM") flashes.textContent = "";
  });

  // ------------------------------------------------------------ menus

  // The menus are <details> (they open and close without this file). Escape closes an open
  // one and gives the focus back to its button, also when the focus moved out of it (a
  // swap that settled meanwhile); a click elsewhere closes it.
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Escape") return;
    var menu = (evt.target.closest && evt.target.closest("details[data-menu][open]")) ||
      document.querySelector("details[data-menu][open]");
    if (menu) {
      menu.open = false;
      menu.querySelector("summary").focus();
    }
  });

  document.addEventListener("click", function (evt) {
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      if (!menu.contains(evt.target)) menu.open = false;
    });
  });

  // Escape in an inline form with a Cancel (the removal's) cancels it; the row that comes
  // back gives the focus to its Remove button (below).
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Escape" || !evt.target.closest) return;
    var form = evt.target.closest("form");
    var cancel = form && form.querySelector("[data-cancel]");
    if (cancel) {
      evt.preventDefault();
      cancel.click();
    }
  });

  // ------------------------------------------------------------ focus after swaps

  // A swap removes the element that had the focus (the button pressed, a page link), and
  // the browser would put it on the body. The answer marks where it goes instead:
  // [data-focus] on a swapped-in element (a message, a row; "actions": the row's first
  // visible action), or data-then-focus="selector" on the link that asked (a page link:
  // the range line, with the list's top scrolled into view).
  function firstVisible(root, selector) {
    var found = root.querySelectorAll(selector);
    for (var i = 0; i < found.length; i++) {
      if (found[i].getClientRects().length) return found[i];
    }
    return null;
  }

  document.addEventListener("htmx:afterSettle", function (evt) {
    var marked = document.querySelector("[data-focus]");
    if (marked) {
      var kind = marked.getAttribute("data-focus");
      marked.removeAttribute("data-focus");
      var target = kind === "actions" ? firstVisible(marked, ".row-actions a, .row-actions summary") : marked;
      if (target) target.focus();
      return;
    }
    var config = evt.detail.requestConfig;
    var selector = config && config.elt && config.elt.getAttribute("data-then-focus");
    var then = selector && document.querySelector(selector);
    if (then && then !== document.activeElement) {
      then.focus({ preventScroll: true });
      then.scrollIntoView({ block: "start" });
    }
  });

  // ------------------------------------------------------------ upload progress

  // A form's upload starts its bar at 0 (not a bar that a step of counting shows).
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var form = evt.target.tagName === "FORM" ? evt.target : null;
    var bar = form && form.querySelector("progress");
    if (bar) bar.value = 0;
  });

  document.addEventListener("htmx:xhr:progress", function (evt) {
    var form = evt.target.closest && evt.target.closest("form");
    var bar = form && form.querySelector("progress");
    if (!bar || !evt.detail.lengthComputable || !evt.detail.total) return;
    // Upload and download both report progress: the bar only moves forward.
    var percent = Math.round((evt.detail.loaded / evt.detail.total) * 100);
    bar.value = Math.max(bar.value, percent);
    var text = form.querySelector("[data-progress-text]");
    if (text) {
      text.textContent = bar.value < 100 ? "Uploading… " + bar.value + "%" : "Checking the URLs…";
    }
  });

  // ------------------------------------------------------------ copy buttons

  function copyText(text, button) {
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { selectFallback(button); });
    } else {
      selectFallback(button);
    }
  }

  // Without the clipboard API (plain HTTP on a LAN address): select the text for Ctrl+C.
  function selectFallback(button) {
    var field = button.parentElement && button.parentElement.querySelector("input");
    if (field) {
      field.focus();
      field.select();
    }
    button.textContent = "Press Ctrl+C";
  }

  document.addEventListener("click", function (evt) {
    var button = evt.target.closest && evt.target.closest("[data-copy]");
    if (button) copyText(button.getAttribute("data-copy"), button);
  });

  document.addEventListener("focusin", function (evt) {
    if (evt.target.matches && evt.target.matches("[data-select-on-focus]")) evt.target.select();
  });

  // ------------------------------------------------------------ announcements

  // Swapped-in results replace their own container, so they cannot be a live region
  // themselves: their summary line is read out through the page's #live-status.
  function announce(root) {
    var live = document.getElementById("live-status");
    if (!live || root === document.body || !root.querySelector) return;
    var line = root.matches("[data-announce]") ? root : root.querySelector("[data-announce]");
    if (line) live.textContent = line.textContent.replace(/\s+/g, " ").trim();
  }

  // ------------------------------------------------------------ local times

  var formatter = window.Intl ? new Intl.DateTimeFormat(undefined, {
    day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
  }) : null;

  // The server writes UTC; show the reader's own time zone, with UTC on hover.
  function localizeTimes(root) {
    if (!formatter || !root.querySelectorAll) return;
    root.querySelectorAll("time[datetime]:not([data-local])").forEach(function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (isNaN(date.getTime())) return;
      el.title = el.textContent.trim();
      el.textContent = formatter.format(date);
      el.setAttribute("data-local", "");
    });
  }

  if (window.htmx) {
    window.htmx.onLoad(function (root) {
      localizeTimes(root);
      announce(root);
    });
  } else {
    document.addEventListener("DOMContentLoaded", function () { localizeTimes(document); });
  }
})();

// Removing many (web/_remove_many_form.html): a checkbox in the table's head checks every
// row of the page; without this script the form's "Remove all on this page" does it.
(function () {
  function setUp(root) {
    root.querySelectorAll("[data-select-all][hidden]").forEach(function (el) {
      el.hidden = false;
    });
  }
  document.addEventListener("change", function (evt) {
    var box = evt.target;
    if (box.matches && box.matches("input[data-select-all]")) {
      document.querySelectorAll("input[data-select-row]").forEach(function (row) {
        row.checked = box.checked;
      });
    }
  });
  if (window.htmx) {
    window.htmx.onLoad(setUp);
  } else {
    document.addEventListener("DOMContentLoaded", function () { setUp(document); });
  }
})();
