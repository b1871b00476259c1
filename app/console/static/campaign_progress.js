// A campaign's progress bar, kept up to date while the page is open: polls the page's JSON
// endpoint and redraws the bar the server drew. Without script the bar shows the state of
// when the page was loaded. Plain DOM, no framework; SVG attributes only (the console's CSP
// forbids inline styles).
(function () {
  "use strict";
  var EVERY = 1500; // milliseconds between polls while the campaign is not finished
  var box = document.getElementById("campaign-progress");
  if (!box || !window.fetch) {
    return;
  }
  var url = box.getAttribute("data-progress-url");
  var bar = box.querySelector("[role=progressbar]");

  function draw(state) {
    var parts = {
      delivered: state.delivered,
      sent: state.sent - state.delivered,
      failed: state.failed,
      suppressed: state.suppressed,
      cancelled: state.cancelled
    };
    var x = 0;
    box.querySelectorAll("rect[data-segment]").forEach(function (rect) {
      var count = parts[rect.getAttribute("data-segment")] || 0;
      var width = state.total ? (100 * count) / state.total : 0;
      rect.setAttribute("x", x.toFixed(2));
      rect.setAttribute("width", width.toFixed(2));
      x += width;
    });
    bar.setAttribute("aria-valuenow", String(state.percent));
    bar.setAttribute("aria-valuetext", state.percent + "% done");
    document.querySelectorAll("[data-field]").forEach(function (field) {
      var key = field.getAttribute("data-field");
      if (Object.prototype.hasOwnProperty.call(state, key)) {
        field.textContent = String(state[key]);
      }
      if (key === "status" && field.classList.contains("campaign-status")) {
        field.className = "campaign-status status-" + state.status;
      }
    });
    hide("writing-hint", state.materialised || state.finished);
    hide("operate", state.finished); // nothing left to pause or cancel
  }

  function hide(id, hidden) {
    var element = document.getElementById(id);
    if (element && hidden) {
      element.hidden = true;
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("progress: HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (state) {
        draw(state);
        if (!state.finished) {
          window.setTimeout(poll, EVERY);
        }
      })
      .catch(function () {
        window.setTimeout(poll, EVERY * 10); // signed out or offline: try again, slowly
      });
  }

  if (box.getAttribute("data-finished") !== "true") {
    window.setTimeout(poll, EVERY);
  }
})();
