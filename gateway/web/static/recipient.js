// Progressive enhancement of the recipient form: show only the secret fields the chosen
// channel type takes. Without this script every secret field stays visible and the server
// still refuses a secret the type does not take; nothing is checked here.
(function () {
  "use strict";
  function update(fieldset) {
    var select = fieldset.querySelector('select[name$="-type"]');
    if (!select) { return; }
    var type = select.value;
    fieldset.querySelectorAll(".secret[data-types]").forEach(function (field) {
      var types = field.getAttribute("data-types").split(" ");
      field.hidden = type !== "" && types.indexOf(type) === -1;
    });
  }
  document.querySelectorAll("fieldset.channel").forEach(function (fieldset) {
    update(fieldset);
    var select = fieldset.querySelector('select[name$="-type"]');
    if (select) { select.addEventListener("change", function () { update(fieldset); }); }
  });
})();
