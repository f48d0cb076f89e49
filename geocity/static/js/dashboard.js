/* Officials' dashboard: progressive enhancement only (the page works without scripts). */
(function () {
  "use strict";
  // Custom dates: show the date fields only when "Dates…" is chosen.
  var period = document.getElementById("id_period");
  function syncDates() {
    if (!period) return;
    var custom = period.value === "custom";
    document.querySelectorAll(".field-date_from, .field-date_to").forEach(function (el) {
      el.hidden = !custom;
    });
  }
  if (period) {
    period.addEventListener("change", syncDates);
    syncDates();
  }
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
