// Settings, "Logo and colour": a live preview of the public page as the colour or the
// logo file change, before saving. Without this file the form saves all the same and
// the preview shows the saved look.
//
// The colours mirror dnc_app/domain/branding/colours.py (WCAG contrast), which decides them for
// the public page itself.
(function () {
  "use strict";

  var BLACK = "#000000", WHITE = "#ffffff";
  var LIGHT_SURFACES = ["#ffffff", "#f6f7f9"], DARK_SURFACES = ["#1f2226", "#15171a"];
  var TEXT_CONTRAST = 4.5, NON_TEXT_CONTRAST = 3.0, STEPS = 100;
  var LOGO_TYPES = ["image/png", "image/jpeg", "image/webp"];

  function rgb(colour) {
    return [1, 3, 5].map(function (i) { return parseInt(colour.slice(i, i + 2), 16); });
  }

  function hex(channels) {
    return "#" + channels.map(function (c) {
      // Python's round() rounds halves to even; so does this (shades match the server's).
      var r = Math.round(c);
      if (Math.abs(c % 1) === 0.5 && r % 2 === 1) r -= 1;
      return ("0" + r.toString(16)).slice(-2);
    }).join("");
  }

  function luminance(colour) {
    var lin = rgb(colour).map(function (channel) {
      var c = channel / 255;
      return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
  }

  function contrast(a, b) {
    var la = luminance(a), lb = luminance(b);
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }

  function mix(colour, towards, fraction) {
    var from = rgb(colour), to = rgb(towards);
    return hex(from.map(function (c, i) { return c + (to[i] - c) * fraction; }));
  }

  function readableShade(colour, surfaces, minimum, towards) {
    for (var step = 0; step <= STEPS; step++) {
      var shade = mix(colour, towards, step / STEPS);
      if (surfaces.every(function (s) { return contrast(shade, s) >= minimum; })) return shade;
    }
    return towards;
  }

  function themeFor(accent, dark) {
    var onAccent = contrast(WHITE, accent) > contrast(BLACK, accent) ? WHITE : BLACK;
    var hover = mix(accent, onAccent === WHITE ? BLACK : WHITE, 0.15);
    if (hover === accent) hover = mix(accent, onAccent, 0.15);
    var surfaces = dark ? DARK_SURFACES : LIGHT_SURFACES, towards = dark ? WHITE : BLACK;
    var link = readableShade(accent, surfaces, TEXT_CONTRAST, towards);
    return {
      accent: accent, onAccent: onAccent, onAccentContrast: contrast(accent, onAccent),
      hover: hover, link: link, ring: readableShade(accent, surfaces, NON_TEXT_CONTRAST, towards),
    };
  }

  var form = document.querySelector("[data-look-form]");
  var page = document.querySelector("[data-preview-page]");
  if (!form || !page) return;
  var colourInput = form.querySelector("input[type=color]");
  var fileInput = form.querySelector("input[type=file]");
  var logo = page.querySelector("[data-preview-logo]");
  var state = document.querySelector("[data-preview-state]");
  var darkScheme = window.matchMedia("(prefers-color-scheme: dark)");
  var objectUrl = null;

  function markUnsaved() {
    state.textContent = "(not saved yet)";
  }

  function showColour() {
    var accent = colourInput.value.toLowerCase();
    if (!/^#[0-9a-f]{6}$/.test(accent)) return;
    var theme = themeFor(accent, darkScheme.matches);
    page.style.setProperty("--brand-accent", theme.accent);
    page.style.setProperty("--brand-on-accent", theme.onAccent);
    page.style.setProperty("--brand-band", theme.accent);
    page.style.setProperty("--brand-link", theme.link);
    page.style.setProperty("--brand-ring", theme.ring);
    document.querySelector("[data-preview-on-accent]").textContent =
      theme.onAccent === BLACK ? "black" : "white";
    document.querySelector("[data-preview-contrast]").textContent =
      theme.onAccentContrast.toFixed(1);
    document.querySelector("[data-preview-link]").textContent = theme.link;
    document.querySelector("[data-preview-shade]").textContent =
      theme.link === theme.accent ? "" : " (a readable shade of " + theme.accent + ")";
  }

  function logoProblem(file) {
    if (LOGO_TYPES.indexOf(file.type) === -1) {
      return "This file is not a PNG, JPEG or WebP image: it will be refused.";
    }
    var max = parseInt(fileInput.getAttribute("data-max-bytes"), 10);
    if (file.size > max) {
      return "This file is larger than " + Math.round(max / 1024) + " KiB: it will be refused.";
    }
    return "";
  }

  function showLogo() {
    var file = fileInput.files && fileInput.files[0];
    var error = form.querySelector("[data-logo-error]");
    if (!file) return;
    var problem = logoProblem(file);
    error.textContent = problem;
    error.hidden = !problem;
    if (problem) error.setAttribute("role", "alert");
    if (problem) return;
    if (objectUrl) URL.revokeObjectURL(objectUrl);
    objectUrl = URL.createObjectURL(file);
    // The chosen file's own proportions, not the saved logo's.
    logo.removeAttribute("width");
    logo.removeAttribute("height");
    logo.src = objectUrl;
    logo.hidden = false;
    markUnsaved();
  }

  // The hex code field and the picker follow each other (the server reads `0b57d0` and
  // `#08f` too: settings.py, _take_hex_code).
  var hexInput = form.querySelector("[data-hex-input]");

  function hexColour(code) {
    var digits = code.trim().toLowerCase().replace(/^#/, "");
    if (/^[0-9a-f]{3}$/.test(digits)) digits = digits.replace(/./g, "$&$&");
    return /^[0-9a-f]{6}$/.test(digits) ? "#" + digits : null;
  }

  colourInput.addEventListener("input", function () {
    if (hexInput) hexInput.value = colourInput.value.toLowerCase();
    showColour();
    markUnsaved();
  });
  if (hexInput) {
    hexInput.addEventListener("input", function () {
      var colour = hexColour(hexInput.value);
      if (!colour || colour === colourInput.value.toLowerCase()) return;
      colourInput.value = colour;
      showColour();
      markUnsaved();
    });
  }
  fileInput.addEventListener("change", showLogo);
  darkScheme.addEventListener("change", showColour);
  // A colour that is not the saved one (a refused form shows what was sent; the browser
  // may restore a choice on going back): show it.
  if (colourInput.value.toLowerCase() !== form.getAttribute("data-saved-accent")) {
    showColour();
    markUnsaved();
  }
})();
