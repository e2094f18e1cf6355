// The Validate page's drop zone: progressive enhancement only. A file dropped on the zone
// is put into the form's file input, as if it had been picked; the form is sent as it is
// without this script. No validation happens here: the server validates.
(function () {
  "use strict";
  var zone = document.querySelector("[data-dropzone]");
  var input = document.getElementById("file");
  var status = document.getElementById("drop-status");
  if (!zone || !input || !window.DataTransfer || !("files" in input)) {
    return;
  }
  var hint = zone.querySelector(".drop-hint");
  if (hint) {
    hint.hidden = false;
  }
  function chosen() {
    if (status) {
      status.textContent = input.files.length ? "Chosen: " + input.files[0].name : "";
    }
  }
  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (event) {
      event.preventDefault();
      zone.classList.add("drag-over");
    });
  });
  ["dragleave", "dragend"].forEach(function (name) {
    zone.addEventListener(name, function () {
      zone.classList.remove("drag-over");
    });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    zone.classList.remove("drag-over");
    var files = event.dataTransfer && event.dataTransfer.files;
    if (!files || !files.length) {
      return;
    }
    var kept = new DataTransfer();
    kept.items.add(files[0]);
    input.files = kept.files;
    chosen();
    input.focus();
  });
  input.addEventListener("change", chosen);
})();
