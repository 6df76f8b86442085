// kefu's own browser code: only what htmx cannot do. No inline scripts (CSP).
(function () {
  "use strict";

  // The page's language: <body data-i18n='{"js-…": "…"}'> carries the messages
  // this file shows, drawn from the server's catalogue; "%s" marks an argument.
  var I18N = {};
  try { I18N = JSON.parse(document.body.dataset.i18n || "{}"); } catch (err) { I18N = {}; }
  function L(key, arg) {
    var text = I18N[key] || key;
    return arg === undefined ? text : text.replace("%s", arg);
  }

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

  // Chat panes stay scrolled to the newest message; the automation preview
  // reads from the top (the first automatic reply comes first).
  function scrollChats() {
    document.querySelectorAll(".sim-chat").forEach(function (c) {
      c.scrollTop = c.id === "preview" ? 0 : c.scrollHeight;
    });
  }
  document.addEventListener("DOMContentLoaded", scrollChats);
  document.addEventListener("htmx:afterSwap", scrollChats);

  // A row the live stream already put in the chat is not added twice (the
  // stream may be faster than the answer to the request that wrote it).
  document.addEventListener("htmx:beforeSwap", function (e) {
    var t = e.detail.target;
    if (!t || t.id !== "timeline" || !e.detail.xhr) return;
    var m = /id="((?:m|n)-\d+)"/.exec(e.detail.xhr.responseText || "");
    if (m && document.getElementById(m[1])) e.detail.shouldSwap = false;
  });

  // Error answers carry a fragment for #flash (the server retargets them): show it.
  document.addEventListener("htmx:beforeSwap", function (e) {
    var x = e.detail.xhr;
    if (x && x.status >= 400 && x.getResponseHeader("HX-Retarget")) {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });

  // ---------------------------------------------------------------- console

  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.content : "";
  }

  function workspace() { return document.getElementById("workspace"); }

  function setView(v) {
    var w = workspace();
    if (w) w.dataset.view = v;
  }

  function openChat() { return document.querySelector("#chat .chat"); }

  function scrollTimeline() {
    var t = document.getElementById("timeline");
    if (t) t.scrollTop = t.scrollHeight;
  }

  // Reload the lists, keeping the tab and "only mine" the user chose.
  var listsTimer = null;
  function refreshLists() {
    if (listsTimer) return;
    listsTimer = setTimeout(function () {
      listsTimer = null;
      var box = document.getElementById("lists");
      if (!box || !window.htmx) return;
      var inner = box.querySelector("[data-lists-url]");
      var url = inner ? inner.dataset.listsUrl : box.dataset.listsUrl;
      var chat = openChat();
      if (chat) url += (url.indexOf("?") < 0 ? "?" : "&") + "c=" + chat.dataset.conv;
      htmx.ajax("GET", url, { target: "#lists", swap: "innerHTML" });
    }, 150);
  }

  function refreshChat(conv) {
    var chat = openChat();
    if (!chat || !window.htmx || (conv && chat.dataset.conv !== String(conv))) return;
    var box = chat.querySelector("textarea[name=text]");
    var draft = box ? box.value : "";
    htmx.ajax("GET", "/console/c/" + chat.dataset.conv, { target: "#chat", swap: "innerHTML" }).then(function () {
      var again = document.querySelector("#chat textarea[name=text]");
      if (again && draft) again.value = draft;
    });
  }

  // Sound and desktop notification while the tab is hidden.
  function beep() {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return;
      var ctx = new Ctx(), o = ctx.createOscillator(), g = ctx.createGain();
      o.frequency.value = 880; g.gain.value = 0.08;
      o.connect(g); g.connect(ctx.destination);
      o.start(); o.stop(ctx.currentTime + 0.15);
    } catch (err) { /* no audio: fine */ }
  }
  function notify(text) {
    if (!document.hidden) return;
    beep();
    if (window.Notification && Notification.permission === "granted") {
      try { new Notification(L("js-notify-title"), { body: text, tag: "kefu" }); } catch (err) { /* ignore */ }
    }
  }

  // The budget badge follows every message; when replying becomes possible or
  // impossible, the chat re-renders (the input opens or closes with the reason).
  function refreshBudget() {
    var chat = openChat();
    var badge = chat ? chat.querySelector(".chat-head .budget") : null;
    if (!badge || chat.dataset.state !== "active") return;
    fetch("/console/c/" + chat.dataset.conv + "/budget", { headers: { "HX-Request": "true" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var tpl = document.createElement("template");
        tpl.innerHTML = html.trim();
        var fresh = tpl.content.firstElementChild;
        if (!fresh) return;
        var was = badge.dataset.allowed;
        badge.replaceWith(fresh);
        if (fresh.dataset.allowed !== was) refreshChat(chat.dataset.conv);
      });
  }

  function insertRow(data) {
    var timeline = document.getElementById("timeline");
    if (!timeline) return false;
    var sameFollower = data.follower && timeline.dataset.follower === String(data.follower);
    var chat = openChat();
    var sameConv = data.conv && chat && chat.dataset.conv === String(data.conv);
    if (!sameFollower && !sameConv) return false;
    var tpl = document.createElement("template");
    tpl.innerHTML = data.html.trim();
    var existing = document.getElementById(data.id);
    if (existing) {
      var fresh = tpl.content.querySelector("#" + data.id);
      if (fresh) existing.replaceWith(fresh);
    } else {
      var nearBottom = timeline.scrollHeight - timeline.scrollTop - timeline.clientHeight < 80;
      timeline.appendChild(tpl.content);
      if (nearBottom) scrollTimeline();
    }
    if (window.htmx) htmx.process(timeline);
    return true;
  }

  function toast(text) {
    var flash = document.getElementById("flash");
    if (!flash) return;
    var div = document.createElement("div");
    div.className = "alert alert-info";
    div.setAttribute("role", "status");
    div.textContent = text;
    flash.innerHTML = "";
    flash.appendChild(div);
    flashShown();
  }

  // In the console the flash floats over the page (it never pushes the chat
  // down), goes by itself after a while, and goes at the agent's next action:
  // a message about something done before is stale by then.
  var flashTimer = null;
  function clearFlash() {
    var flash = document.getElementById("flash");
    if (flash) flash.innerHTML = "";
    if (flashTimer) { clearTimeout(flashTimer); flashTimer = null; }
  }
  function flashShown() {
    var flash = document.getElementById("flash");
    if (!flash || !workspace()) return;
    if (flashTimer) clearTimeout(flashTimer);
    var error = flash.querySelector(".alert-error");
    flashTimer = setTimeout(clearFlash, error ? 12000 : 5000);
  }
  document.addEventListener("DOMContentLoaded", function () {
    var flash = document.getElementById("flash");
    if (flash && flash.children.length) flashShown();
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    if (e.detail.target && e.detail.target.id === "flash") flashShown();
  });
  // The next action (a click on a button or link, a form sent) ends an old message.
  function laterAction(e) {
    if (!workspace()) return;
    var el = e.target instanceof Element ? e.target : null;
    var flash = document.getElementById("flash");
    if (!flash || !flash.children.length) return;
    if (el && flash.contains(el)) { clearFlash(); return; }
    if (e.type === "click" && !(el && el.closest("button, a, summary, label, input[type=checkbox]"))) return;
    clearFlash();
  }
  document.addEventListener("click", laterAction, true);
  document.addEventListener("submit", laterAction, true);

  function connect() {
    if (!workspace() || !window.EventSource) return;
    var es = new EventSource("/console/events");
    es.addEventListener("hello", function () { workspace().dataset.live = "on"; });
    es.addEventListener("lists", refreshLists);
    es.addEventListener("resync", function () { refreshLists(); refreshChat(); });
    // A line for this user (a transfer, a timeout reminder …): always with a sound.
    es.addEventListener("toast", function (e) { toast(e.data); if (document.hidden) notify(e.data); else beep(); });
    es.addEventListener("conv", function (e) {
      var d = JSON.parse(e.data);
      refreshChat(d.conv);
      refreshLists();
    });
    es.addEventListener("msg", function (e) {
      var d = JSON.parse(e.data);
      var shown = insertRow(d);
      if (shown) refreshBudget();
      if (d.html.indexOf("row-in") >= 0) {
        notify(L("js-new-message"));
        var chat = openChat();
        if (shown && chat && !document.hidden) {
          fetch("/console/c/" + chat.dataset.conv + "/read", { method: "POST", headers: { "X-CSRF-Token": csrf() } });
        }
      }
      refreshLists();
    });
    es.addEventListener("note", function (e) { insertRow(JSON.parse(e.data)); });
    es.onopen = function () { workspace().dataset.live = "on"; };
    es.onerror = function () { workspace().dataset.live = "off"; };
  }
  document.addEventListener("DOMContentLoaded", function () { connect(); scrollTimeline(); });

  document.addEventListener("htmx:afterSwap", function (e) {
    var t = e.detail.target;
    if (t && t.id === "chat") { setView("chat"); scrollTimeline(); }
    if (t && t.id === "timeline") scrollTimeline();
    // A saved profile renames the follower: the lists and the chat header follow.
    var cfg = e.detail.requestConfig;
    var side = t && t.id === "side" ? t.querySelector(".side[data-label]") : null;
    if (side && cfg && cfg.verb === "post" && /\/profile$/.test(cfg.path || "")) {
      var head = document.querySelector('#chat .chat[data-follower="' + side.dataset.follower + '"] .chat-label');
      if (head) head.textContent = side.dataset.label;
      refreshLists();
    }
  });

  // The status dot follows the status the server accepted, without a reload.
  document.addEventListener("htmx:afterRequest", function (e) {
    var form = e.detail.elt;
    if (!(form instanceof HTMLFormElement) || !form.classList.contains("status-bar") || !e.detail.successful) return;
    var pick = form.querySelector(".status-pick");
    var sel = form.querySelector("select[name=status]");
    if (pick && sel) pick.className = "status-pick status-" + sel.value;
  });

  // A reply the server refused keeps its text; a sent one clears the box.
  document.addEventListener("htmx:afterRequest", function (e) {
    var form = e.detail.elt;
    if (!(form instanceof HTMLFormElement) || !e.detail.successful) return;
    if (form.hasAttribute("data-reset")) form.reset();
    if (form.hasAttribute("data-close-after")) {
      var d = form.closest("dialog");
      if (d) d.close();
    }
  });

  // Enter sends, Ctrl+Enter (or Shift+Enter) is a new line.
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (!(t instanceof HTMLTextAreaElement) || !t.hasAttribute("data-enter-send") || e.key !== "Enter" || e.isComposing) return;
    if (e.ctrlKey || e.shiftKey || e.metaKey) {
      if (e.ctrlKey) {
        e.preventDefault();
        var p = t.selectionStart;
        t.value = t.value.slice(0, p) + "\n" + t.value.slice(t.selectionEnd);
        t.selectionStart = t.selectionEnd = p + 1;
      }
      return;
    }
    e.preventDefault();
    if (t.value.trim() && t.form) t.form.requestSubmit();
  });

  function insertText(text) {
    var box = document.querySelector("#chat textarea[name=text]");
    if (!box) return null;
    var p = box.selectionStart || box.value.length;
    box.value = box.value.slice(0, p) + text + box.value.slice(box.selectionEnd || p);
    box.focus();
    return box;
  }

  document.addEventListener("click", function (e) {
    var el = e.target instanceof Element ? e.target : null;
    if (!el) return;
    var b;
    if ((b = el.closest("[data-open-dialog]"))) {
      var d = document.getElementById(b.dataset.openDialog);
      if (d && d.showModal) d.showModal();
      return;
    }
    if ((b = el.closest("[data-close-dialog]"))) {
      var dd = b.closest("dialog");
      if (dd) dd.close();
      return;
    }
    if ((b = el.closest("[data-toggle]"))) {
      var p = document.getElementById(b.dataset.toggle);
      if (p) p.hidden = !p.hidden;
      return;
    }
    if ((b = el.closest("[data-insert]"))) {
      insertText(b.dataset.insert);
      var picker = b.closest(".emoji-picker");
      if (picker) picker.hidden = true;
      return;
    }
    if ((b = el.closest("[data-kb-insert]"))) { insertText(b.dataset.kbInsert); return; }
    if ((b = el.closest("[data-kb-send]"))) {
      var box = document.querySelector("#chat textarea[name=text]");
      if (!box) { toast(L("js-open-chat-first")); return; }
      box.value = b.dataset.kbSend;
      box.form.requestSubmit();
      return;
    }
    if ((b = el.closest("[data-view]")) && b.tagName === "BUTTON") { setView(b.dataset.view); return; }
    if ((b = el.closest("[data-notify-permission]"))) {
      if (window.Notification && Notification.permission === "default") Notification.requestPermission();
      b.textContent = L("js-notify-requested");
      return;
    }
    var menu = document.getElementById("context-menu");
    if (menu && !menu.contains(el)) menu.remove();
  });

  // Right-click on a list entry: accept, copy the name, copy the OpenID.
  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { toast(L("js-copied", text)); });
      return;
    }
    var ta = document.createElement("textarea");
    ta.value = text; document.body.appendChild(ta); ta.select();
    try { document.execCommand("copy"); toast(L("js-copied", text)); } catch (err) { toast(text); }
    ta.remove();
  }
  // <button data-copy="…">复制</button> copies the value to paste elsewhere, as for a 公众号 binding.
  document.addEventListener("click", function (e) {
    var b = e.target instanceof Element ? e.target.closest("[data-copy]") : null;
    if (b) copy(b.dataset.copy);
  });

  document.addEventListener("contextmenu", function (e) {
    var item = e.target instanceof Element ? e.target.closest(".item[data-conv]") : null;
    var row = e.target instanceof Element ? e.target.closest("#timeline .row[data-message]") : null;
    var old = document.getElementById("context-menu");
    if (old) old.remove();
    if (row) { messageMenu(e, row); return; }
    if (!item) return;
    e.preventDefault();
    var menu = document.createElement("div");
    menu.id = "context-menu";
    menu.className = "context-menu";
    menu.style.left = e.clientX + "px";
    menu.style.top = e.clientY + "px";
    function entry(label, fn) {
      var b = document.createElement("button");
      b.type = "button"; b.textContent = label;
      b.addEventListener("click", function () { menu.remove(); fn(); });
      menu.appendChild(b);
    }
    if (item.dataset.state === "queued") {
      entry(L("js-accept"), function () {
        htmx.ajax("POST", "/console/c/" + item.dataset.conv + "/accept", { target: "#chat", swap: "innerHTML" });
      });
    }
    entry(L("js-copy-name"), function () { copy(item.dataset.label); });
    entry(L("js-copy-id"), function () { copy(item.dataset.openid); });
    document.body.appendChild(menu);
  });

  // Right-click on a message: tag this message, copy its text.
  function messageMenu(e, row) {
    var chat = openChat();
    if (!chat) return;
    e.preventDefault();
    var menu = document.createElement("div");
    menu.id = "context-menu";
    menu.className = "context-menu";
    menu.style.left = e.clientX + "px";
    menu.style.top = e.clientY + "px";
    var tagBtn = document.createElement("button");
    tagBtn.type = "button";
    tagBtn.textContent = L("js-tag-message");
    tagBtn.addEventListener("click", function () {
      menu.remove();
      var d = document.getElementById("tag-" + chat.dataset.conv);
      if (!d) return;
      d.querySelector("[data-tag-message]").value = row.dataset.message;
      var label = d.querySelector("[data-tag-message-label]");
      var text = row.querySelector(".text");
      if (label) label.textContent = L("js-tag-this", text ? text.textContent.slice(0, 30) : L("js-media-message"));
      d.showModal();
    });
    menu.appendChild(tagBtn);
    var text = row.querySelector(".text");
    if (text) {
      var copyBtn = document.createElement("button");
      copyBtn.type = "button";
      copyBtn.textContent = L("js-copy-text");
      copyBtn.addEventListener("click", function () { menu.remove(); copy(text.textContent); });
      menu.appendChild(copyBtn);
    }
    document.body.appendChild(menu);
  }

  // Images: picked, pasted or dropped into the reply box.
  function upload(url, file) {
    if (!file || !/^image\//.test(file.type)) { toast(L("js-images-only")); return; }
    if (file.size > 10 * 1024 * 1024) { toast(L("js-image-too-large")); return; }
    var fd = new FormData();
    fd.append("file", file);
    fetch(url, { method: "POST", body: fd, headers: { "X-CSRF-Token": csrf(), "HX-Request": "true" } })
      .then(function (r) { return r.text().then(function (t) { return { ok: r.ok, text: t }; }); })
      .then(function (r) {
        if (!r.ok) { var f = document.getElementById("flash"); if (f) f.innerHTML = r.text; return; }
        var timeline = document.getElementById("timeline");
        var tpl = document.createElement("template");
        tpl.innerHTML = r.text.trim();
        var row = tpl.content.querySelector(".row");
        if (timeline && row && !document.getElementById(row.id)) { timeline.appendChild(tpl.content); scrollTimeline(); }
      })
      .catch(function () { toast(L("js-image-network")); });
  }
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t instanceof HTMLInputElement && t.type === "file" && t.dataset.upload && t.files.length) {
      upload(t.dataset.upload, t.files[0]);
      t.value = "";
    }
  });
  document.addEventListener("paste", function (e) {
    var t = e.target;
    if (!(t instanceof HTMLTextAreaElement) || !t.dataset.dropUpload || !e.clipboardData) return;
    var files = e.clipboardData.files;
    if (files && files.length) { e.preventDefault(); upload(t.dataset.dropUpload, files[0]); }
  });
  document.addEventListener("dragover", function (e) {
    if (e.target instanceof Element && e.target.closest("[data-drop-upload]")) e.preventDefault();
  });
  document.addEventListener("drop", function (e) {
    var t = e.target instanceof Element ? e.target.closest("[data-drop-upload]") : null;
    if (!t || !e.dataTransfer || !e.dataTransfer.files.length) return;
    e.preventDefault();
    upload(t.dataset.dropUpload, e.dataTransfer.files[0]);
  });

  // 知识库 image entries (issue 12): sent as an image in the open chat.
  document.addEventListener("click", function (e) {
    var b = e.target instanceof Element ? e.target.closest("[data-kb-image]") : null;
    if (!b) return;
    var chat = document.querySelector("#chat .chat[data-conv]");
    if (!chat || !document.getElementById("composer")) { toast(L("js-open-chat-first")); return; }
    htmx.ajax("POST", "/console/c/" + chat.dataset.conv + "/kb", { values: { node: b.dataset.kbImage }, target: "#timeline", swap: "beforeend" });
  });

  // Phone console: the ⋯ menu of a chat closes after an entry, on a click
  // elsewhere and on Escape (the checkbox behind it does the opening).
  function closeChatMenus() {
    document.querySelectorAll(".chat-more-toggle:checked").forEach(function (t) { t.checked = false; });
  }
  document.addEventListener("click", function (e) {
    var el = e.target instanceof Element ? e.target : null;
    if (!el || el.closest(".chat-more, .chat-more-toggle")) return;
    closeChatMenus();
  });
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") closeChatMenus(); });

  // The reply box grows with its text: CSS field-sizing where the browser has
  // it, else this (phones only; a desktop keeps its three rows).
  var grows = window.CSS && CSS.supports && CSS.supports("field-sizing", "content");
  function grow(t) {
    if (grows || !window.matchMedia("(max-width: 600px)").matches) return;
    t.rows = 1;
    t.style.height = "auto";
    t.style.height = Math.min(t.scrollHeight + 2, Math.round(window.innerHeight * 0.3)) + "px";
  }
  document.addEventListener("input", function (e) {
    if (e.target instanceof HTMLTextAreaElement && e.target.hasAttribute("data-grow")) grow(e.target);
  });
  function growAll() { document.querySelectorAll("textarea[data-grow]").forEach(grow); }
  document.addEventListener("DOMContentLoaded", growAll);
  document.addEventListener("htmx:afterSwap", growAll);
  document.addEventListener("reset", function (e) {
    var box = e.target instanceof HTMLFormElement ? e.target.querySelector("textarea[data-grow]") : null;
    if (box) setTimeout(function () { grow(box); }, 0);
  });

  // htmx errors without a fragment (network down): say so in Chinese.
  document.addEventListener("htmx:sendError", function () {
    var flash = document.getElementById("flash");
    if (flash) { flash.innerHTML = '<div class="alert alert-error" role="alert"></div>'; flash.firstChild.textContent = L("js-network-failed"); }
  });
})();
