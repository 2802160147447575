// The guest's pay pages: a few lines, no framework. Without JavaScript the live page
// refreshes itself (meta refresh) and the continue page shows its button.
(function () {
  "use strict";
  var go = document.querySelector("form[data-autosubmit]");
  if (go) { go.submit(); return; }
  var live = document.getElementById("live");
  if (!live || !live.dataset.poll) { return; }
  // Asks until the card's part is done: a completed session is captured a moment later.
  if (live.dataset.settled === "yes") { return; }
  function set(id, text) {
    var node = document.getElementById(id);
    if (node && text) { node.textContent = text; }
  }
  var stop = false;
  function poll() {
    fetch(live.dataset.poll, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (!state) { return; }
        if (state.status !== live.dataset.status) { window.location.reload(); return; }
        set("energy", state.energy);
        set("cost", state.cost);
        set("card", state.card);
        if (state.settled) { stop = true; }
      })
      .catch(function () {})
      .then(function () { if (!stop) { window.setTimeout(poll, 1500); } });
  }
  window.setTimeout(poll, 1500);
})();
