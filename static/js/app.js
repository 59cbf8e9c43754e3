// Row selection for bulk actions. The page works without it: only bulk
// selection needs JavaScript.
(function () {
  function bulkState(form) {
    var checks = form.querySelectorAll("[data-row-check]");
    var ticked = form.querySelectorAll("[data-row-check]:checked").length;
    var all = form.querySelector("[data-select-all-matching]");
    var bar = form.querySelector("[data-bulk-bar]");
    var label = form.querySelector("[data-selection-label]");
    var pageBox = form.querySelector("[data-select-page]");
    if (ticked < checks.length && all) all.value = "0";
    var matching = all && all.value === "1";
    if (pageBox) pageBox.checked = checks.length > 0 && ticked === checks.length;
    if (bar) bar.hidden = ticked === 0;
    if (label) {
      label.textContent = matching
        ? "All " + Number(form.dataset.total).toLocaleString() + " matching devices selected"
        : ticked + " selected";
    }
  }
  document.addEventListener("change", function (event) {
    var form = event.target.closest("#bulk-form");
    if (!form) return;
    if (event.target.matches("[data-select-page]")) {
      form.querySelectorAll("[data-row-check]").forEach(function (box) { box.checked = event.target.checked; });
    }
    bulkState(form);
  });
  document.addEventListener("click", function (event) {
    if (!event.target.matches("[data-select-matching]")) return;
    var form = event.target.closest("#bulk-form");
    form.querySelectorAll("[data-row-check]").forEach(function (box) { box.checked = true; });
    form.querySelector("[data-select-all-matching]").value = "1";
    bulkState(form);
  });
})();
