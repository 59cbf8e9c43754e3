// Row selection for bulk actions. The page works without it: only bulk
// selection needs JavaScript. Row checkboxes belong to #bulk-form through
// their form attribute, so rows can hold forms of their own.
(function () {
  function rowChecks() { return document.querySelectorAll("[data-row-check]"); }
  function bulkState() {
    var form = document.getElementById("bulk-form");
    if (!form) return;
    var checks = rowChecks();
    var ticked = document.querySelectorAll("[data-row-check]:checked").length;
    var all = form.querySelector("[data-select-all-matching]");
    var bar = form.querySelector("[data-bulk-bar]");
    var label = form.querySelector("[data-selection-label]");
    var pageBox = document.querySelector("[data-select-page]");
    if (ticked < checks.length && all) all.value = "0";
    var matching = all && all.value === "1";
    if (pageBox) pageBox.checked = checks.length > 0 && ticked === checks.length;
    if (bar) bar.hidden = ticked === 0;
    if (label) {
      label.textContent = matching
        ? "All " + form.dataset.totalText + " matching devices selected"
        : ticked + " selected";
    }
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-select-page]")) {
      rowChecks().forEach(function (box) { box.checked = event.target.checked; });
    }
    if (event.target.matches("[data-select-page], [data-row-check]")) bulkState();
  });
  document.addEventListener("click", function (event) {
    if (!event.target.matches("[data-select-matching]")) return;
    rowChecks().forEach(function (box) { box.checked = true; });
    document.querySelector("[data-select-all-matching]").value = "1";
    bulkState();
  });
})();

// Copy a remediation link, and print the share card.
document.addEventListener("click", function (event) {
  var copy = event.target.closest("[data-copy]");
  if (copy) {
    var text = copy.getAttribute("data-copy");
    var status = copy.parentElement.querySelector(".copy-status");
    var done = function () { if (status) status.textContent = "Copied."; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { if (status) status.textContent = "Copy failed: select the link and copy it."; });
    } else {
      // Plain-HTTP pages have no Clipboard API: copy through a selection.
      var area = document.createElement("textarea");
      area.value = text; area.setAttribute("readonly", ""); area.style.position = "fixed"; area.style.opacity = "0";
      document.body.appendChild(area); area.select();
      try { document.execCommand("copy"); done(); } finally { document.body.removeChild(area); }
    }
  }
  if (event.target.closest("[data-print]")) window.print();
});

// htmx swaps nothing when an answer is an error or never comes: without this
// a refused click or a failing poll would look like nothing happened.
(function () {
  function say(text) {
    var region = document.getElementById("request-error");
    if (!region) return;
    region.className = "request-error message error";
    region.textContent = "";
    var message = document.createElement("span");
    message.textContent = text;
    var dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "link";
    dismiss.textContent = "Dismiss";
    dismiss.addEventListener("click", function () { region.textContent = ""; });
    region.append(message, dismiss);
  }
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    if (status === 403) {
      say("Refused (403): you may not do this, or the page is out of date. Nothing changed; reload the page and try again.");
    } else if (status === 404) {
      say("Not found (404): it may have been deleted. Reload the page.");
    } else if (status >= 500) {
      say("The server failed (" + status + "). Nothing may have changed; try again, and tell an administrator if it goes on.");
    } else {
      say("The request was refused (" + status + "). Reload the page and try again.");
    }
  });
  document.addEventListener("htmx:sendError", function () {
    say("The server could not be reached. Check the connection; the page is not up to date.");
  });
})();

// A form with data-confirm asks before it submits (the Content-Security-Policy
// allows no onsubmit attribute).
document.addEventListener("submit", function (event) {
  var form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
});

// Escape closes an open row "Actions" menu and puts focus back on its summary.
document.addEventListener("keydown", function (event) {
  if (event.key !== "Escape") return;
  var menu = document.activeElement && document.activeElement.closest("details.row-actions[open]");
  menu = menu || document.querySelector("details.row-actions[open]");
  if (!menu) return;
  menu.open = false;
  menu.querySelector("summary").focus();
});

// Toasts: notices (a bulk job ended, a sync ended, sending paused or resumed)
// polled from the feed named by <body data-notices>. Each stays until
// dismissed, across pages of this tab (sessionStorage); only notices written
// after the tab's first page was rendered are shown, and only new ones are
// announced (restored ones would repeat on every page).
(function () {
  var feed = document.body.dataset.notices;
  var list = document.querySelector("[data-toast-list]");
  var announcer = document.querySelector("[data-toast-announcer]");
  if (!feed || !list) return;
  var KEY = "gearsdash.notices";
  var EVERY = 5000;
  var state = null;
  try { state = JSON.parse(sessionStorage.getItem(KEY)); } catch (error) { state = null; }
  if (!state || !Array.isArray(state.toasts)) {
    state = { after: null, since: document.body.dataset.noticesSince, toasts: [] };
  }
  function save() {
    try { sessionStorage.setItem(KEY, JSON.stringify(state)); } catch (error) { /* private mode: this page only */ }
  }
  function dismiss(id, item) {
    state.toasts = state.toasts.filter(function (toast) { return toast.id !== id; });
    save();
    var next = item.nextElementSibling || item.previousElementSibling;
    var hadFocus = item.contains(document.activeElement);
    item.remove();
    if (hadFocus) (next ? next.querySelector("button") : document.getElementById("main")).focus();
  }
  function show(toast) {
    var item = document.createElement("li");
    item.className = "toast message " + toast.tone;
    item.dataset.noticeId = toast.id;
    var text = document.createElement(toast.link ? "a" : "span");
    text.className = "toast-text";
    text.textContent = toast.text;
    if (toast.link) text.href = toast.link;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "Dismiss notification");
    close.textContent = "×";
    close.addEventListener("click", function () { dismiss(toast.id, item); });
    item.append(text, close);
    list.append(item);
  }
  state.toasts.forEach(show);
  var timer = null;
  function poll() {
    if (document.hidden) return;
    var query = state.after !== null ? "after=" + encodeURIComponent(state.after) : "since=" + encodeURIComponent(state.since);
    fetch(feed + "?" + query, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
        // Logged out (a redirect to the login page) or refused: no more polling on this page.
        if (response.redirected || !json || response.status === 403) { clearInterval(timer); return null; }
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (!data) return;
        data.notices.forEach(function (notice) {
          if (state.toasts.some(function (toast) { return toast.id === notice.id; })) return;
          var toast = { id: notice.id, text: notice.text, link: notice.link, tone: notice.tone };
          state.toasts.push(toast);
          show(toast);
          if (announcer) announcer.textContent = notice.text;
        });
        state.after = data.last;
        save();
      })
      .catch(function () { /* the next poll tries again */ });
  }
  timer = setInterval(poll, EVERY);
  poll();
  document.addEventListener("visibilitychange", function () { if (!document.hidden) poll(); });
})();
