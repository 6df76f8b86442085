// kefu's own browser code: only what htmx cannot do. No inline scripts (CSP).
(function () {
  "use strict";

  // Forms that ask before they submit: <form data-confirm="...">.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      e.preventDefault();
    }
  }, true);

  // Theme buttons flip the page at once; htmx stores the choice on the server.
  document.addEventListener("click", function (e) {
    var b = e.target instanceof Element ? e.target.closest("[data-theme-value]") : null;
    if (!b) return;
    document.documentElement.dataset.theme = b.dataset.themeValue;
    document.querySelectorAll("[data-theme-value]").forEach(function (x) {
      x.classList.toggle("selected", x === b);
    });
  });

  // Close the phone menu after choosing an entry.
  document.addEventListener("click", function (e) {
    var toggle = document.getElementById("nav-toggle");
    if (toggle && e.target instanceof Element && e.target.closest(".sidebar a")) toggle.checked = false;
  });

  // The user menu closes on a click elsewhere or Escape; so does the phone menu.
  document.addEventListener("click", function (e) {
    document.querySelectorAll("details.user-menu[open]").forEach(function (d) {
      if (!(e.target instanceof Node) || !d.contains(e.target)) d.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    document.querySelectorAll("details.user-menu[open]").forEach(function (d) { d.removeAttribute("open"); });
    var toggle = document.getElementById("nav-toggle");
    if (toggle) toggle.checked = false;
  });

  // <select data-autosubmit> submits its form when changed.
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t instanceof HTMLSelectElement && t.hasAttribute("data-autosubmit") && t.form) t.form.submit();
  });

  // Chat panes stay scrolled to the newest message.
  function scrollChats() {
    document.querySelectorAll(".sim-chat").forEach(function (c) { c.scrollTop = c.scrollHeight; });
  }
  document.addEventListener("DOMContentLoaded", scrollChats);
  document.addEventListener("htmx:afterSwap", scrollChats);

  // htmx errors without a fragment (network down): say so in Chinese.
  document.addEventListener("htmx:sendError", function () {
    var flash = document.getElementById("flash");
    if (flash) flash.innerHTML = '<div class="alert alert-error" role="alert">网络连接失败,请检查网络后重试</div>';
  });
})();
