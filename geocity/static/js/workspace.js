/* Department workspace: queue selection, the bulk form and response templates. The pages
   work without it (the template texts are also listed on the ticket page). The map of the
   queue is workspace-map.js. */
(function () {
  "use strict";

  // --- Selection and the bulk form -------------------------------------------------------
  var bulk = document.getElementById("bulk-form");
  if (bulk) {
    var boxes = function () {
      return Array.prototype.slice.call(document.querySelectorAll('input[name="ids"][form="bulk-form"]'));
    };
    var counter = bulk.querySelector("[data-bulk-count] output");
    var refresh = function () {
      if (counter) counter.value = boxes().filter(function (b) { return b.checked; }).length;
    };
    document.addEventListener("change", function (event) {
      if (event.target.matches("[data-select-all]")) {
        boxes().forEach(function (b) { b.checked = event.target.checked; });
      }
      refresh();
    });
    var action = bulk.querySelector("[data-bulk-action]");
    var sync = function () {
      bulk.querySelectorAll("[data-bulk-when]").forEach(function (el) {
        var on = el.getAttribute("data-bulk-when") === action.value;
        el.hidden = !on;
        el.querySelectorAll("select, input").forEach(function (input) { input.disabled = !on; });
      });
    };
    action.addEventListener("change", sync);
    sync();
    bulk.addEventListener("submit", function (event) {
      var n = boxes().filter(function (b) { return b.checked; }).length;
      if (!n) { event.preventDefault(); if (counter) counter.focus(); return; }
      var question = bulk.getAttribute("data-confirm");
      if (question && !window.confirm(question + " (" + n + ")")) event.preventDefault();
    });
    refresh();
  }

  // --- Response templates: insert at the cursor of the target textarea ---------------------
  document.querySelectorAll(".template-picker").forEach(function (picker) {
    picker.addEventListener("change", function () {
      var option = picker.options[picker.selectedIndex];
      var target = document.getElementById(picker.getAttribute("data-target"));
      if (!option || !option.getAttribute("data-text") || !target) return;
      var text = option.getAttribute("data-text");
      var start = target.selectionStart || target.value.length;
      var end = target.selectionEnd || target.value.length;
      var before = target.value.slice(0, start);
      var glue = before && !/\s$/.test(before) ? " " : "";
      target.value = before + glue + text + target.value.slice(end);
      target.focus();
      picker.selectedIndex = 0;
    });
  });
})();
