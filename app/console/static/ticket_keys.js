// The complaint form in a few keystrokes: Enter in the description logs the complaint (as it
// does in the form's other fields); Shift+Enter still starts a new line. Without script the
// button does the same.
(function () {
  "use strict";
  var text = document.getElementById("description");
  if (!text || !text.form) {
    return;
  }
  text.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      text.form.requestSubmit();
    }
  });
})();
