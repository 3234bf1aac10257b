// The modeler's view and edit tools: zoom in/out/fit, undo/redo, element search and the minimap's
// toggle as buttons; keyboard shortcuts that work without clicking the canvas first; a marker of
// unsaved changes and the browser's warning before leaving a page holding them.
(function () {
  "use strict";

  function isTyping(target) {
    if (!target || !target.closest) { return false; }
    return !!target.closest("input, textarea, select, [contenteditable=true], .djs-search-container");
  }

  function QinglianModelerToolbar(modeler, bar, marker) {
    var canvas = modeler.get("canvas");
    var commandStack = modeler.get("commandStack");
    var actions = modeler.get("editorActions");
    var keyboard = modeler.get("keyboard");
    var cleanIndex = -1;
    var self = this;

    function run(name, handler) {
      var button = bar.querySelector("[data-tool=" + name + "]");
      if (button) { button.addEventListener("click", function () { handler(); refresh(); }); }
    }
    function zoomBy(step) {
      var zoom = canvas.zoom();
      canvas.zoom(Math.max(0.2, Math.min(4, Math.round((zoom + step) * 10) / 10)), "auto");
    }
    run("zoom-in", function () { zoomBy(0.2); });
    run("zoom-out", function () { zoomBy(-0.2); });
    run("fit", function () { self.fit(); });
    run("undo", function () { commandStack.undo(); });
    run("redo", function () { commandStack.redo(); });
    // after this click has bubbled up: the search pad closes on any click it sees outside itself
    run("search", function () { setTimeout(function () { actions.trigger("find"); }, 0); });
    run("minimap", function () {
      var minimap = modeler.get("minimap", false);
      if (minimap) { minimap.toggle(); }
    });

    function refresh() {
      var undo = bar.querySelector("[data-tool=undo]");
      var redo = bar.querySelector("[data-tool=redo]");
      if (undo) { undo.disabled = !commandStack.canUndo(); }
      if (redo) { redo.disabled = !commandStack.canRedo(); }
      var zoomShown = bar.querySelector("[data-zoom]");
      if (zoomShown) { zoomShown.textContent = Math.round(canvas.zoom() * 100) + "%"; }
      var dirty = self.isDirty();
      marker.hidden = !dirty;
      document.body.dataset.dirty = dirty ? "true" : "false";
    }
    this.refresh = refresh;

    this.isDirty = function () { return commandStack._stackIdx !== cleanIndex; };
    // After loading, saving a draft or deploying: what is on the canvas is what the server has.
    this.markClean = function () { cleanIndex = commandStack._stackIdx; refresh(); };

    // A diagram opens fitted to the canvas (which takes the window's height): a large one whole,
    // then zoomed in with the buttons or Ctrl +, the minimap showing where one is.
    this.fit = function () {
      canvas.zoom("fit-viewport", "auto");
      refresh();
    };

    modeler.on("commandStack.changed", refresh);
    modeler.on("canvas.viewbox.changed", function () {
      var zoomShown = bar.querySelector("[data-zoom]");
      if (zoomShown) { zoomShown.textContent = Math.round(canvas.zoom() * 100) + "%"; }
    });

    // The canvas listens to keys only while it has the focus; a key pressed anywhere else on the page
    // (not while typing into a field) is given to it too.
    document.addEventListener("keydown", function (event) {
      if (event.defaultPrevented || isTyping(event.target)) { return; }
      var binding = keyboard.getBinding && keyboard.getBinding();
      if (binding && (event.target === binding || (binding.contains && binding.contains(event.target)))) { return; }
      keyboard._keyHandler(event);
      refresh();
    });

    window.addEventListener("beforeunload", function (event) {
      if (!self.isDirty()) { return; }
      event.preventDefault();
      event.returnValue = "";
      return "";
    });
  }

  window.QinglianModelerToolbar = QinglianModelerToolbar;
})();
