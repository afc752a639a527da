/*
 * Conv Course's accessibility plug-in for JupyterLab, written by hand as a module-federation container
 * (the two functions `init` and `get` JupyterLab calls on a prebuilt extension), so it needs no build.
 *
 * Why: ipywidgets draws a slider's handle as role="slider" with no accessible name (its description
 * is a <label> tied to nothing), so a screen reader says "slider, 7" (axe: aria-input-field-name).
 * This plug-in watches the page and, for every ipywidgets slider, names the handle by its label
 * (aria-labelledby) and describes it by the widget's tooltip; and it makes every element of class
 * cc-live (each explorer's one-line result, helpers/widgets.py) a polite live region, so the new
 * result is read out after each move. It also names what JupyterLab leaves unnamed in a notebook: each
 * cell's editor ("Cell input, code") and the button that folds a heading's section. And it keeps the keys a
 * widget's own control uses (arrows, Home, End, Page Up/Down, Space, a typed character) with that control:
 * JupyterLab treats a focused drop-down or toggle button in an output as command mode, so ArrowDown on the
 * explorer's "digit" menu moved to the next cell and "8" made the cell a heading, instead of choosing a digit.
 * It touches nothing else.
 */
var _JUPYTERLAB;
(function () {
  "use strict";
  var counter = 0;

  function idOf(element) {
    if (!element.id) {
      counter += 1;
      element.id = "cc-a11y-" + counter;
    }
    return element.id;
  }

  var CONTROL_KEYS = ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Home", "End", "PageUp", "PageDown", " "];

  function keepKeys(event) {
    var target = event.target;
    if (!(target instanceof Element) || event.ctrlKey || event.altKey || event.metaKey) {
      return;
    }
    var control = target.matches("select, button, [role='slider'], [role='radio'], input[type='checkbox']");
    var own = CONTROL_KEYS.indexOf(event.key) >= 0 || (event.key.length === 1 && target.matches("select"));
    if (control && own && target.closest(".jupyter-widgets")) {
      event.stopPropagation(); // the control still acts on it; JupyterLab's notebook shortcuts do not
    }
  }

  function mend(root) {
    root.querySelectorAll(".jp-OutputArea-output:not([data-cc-keys])").forEach(function (output) {
      if (output.querySelector(".jupyter-widgets")) {
        output.setAttribute("data-cc-keys", "");
        output.addEventListener("keydown", keepKeys);
      }
    });
    root.querySelectorAll(".widget-slider, .jupyter-widget-slider").forEach(function (slider) {
      var label = slider.querySelector(".widget-label");
      var handles = slider.querySelectorAll(".noUi-handle");
      if (!label || !handles.length || !label.textContent.trim()) {
        return;
      }
      handles.forEach(function (handle) {
        if (handle.getAttribute("aria-labelledby") !== idOf(label)) {
          handle.setAttribute("aria-labelledby", label.id);
        }
        if (label.title && handle.title !== label.title) {
          handle.title = label.title; // the accessible description
        }
      });
    });
    // JupyterLab's cell editors are text boxes without a name (axe: aria-input-field-name, one per cell)
    root.querySelectorAll(".jp-Cell .cm-content[contenteditable]:not([aria-label])").forEach(function (editor) {
      var cell = editor.closest(".jp-Cell");
      var kind = cell.classList.contains("jp-CodeCell") ? "code" : cell.classList.contains("jp-MarkdownCell")
        ? "text (Markdown)" : "raw";
      editor.setAttribute("aria-label", "Cell input, " + kind);
    });
    // the button that folds a Markdown heading's section has no name either (axe: button-name)
    root.querySelectorAll(".jp-collapseHeadingButton:not([aria-label])").forEach(function (button) {
      button.setAttribute("aria-label", "Fold or unfold this section");
    });
    root.querySelectorAll(".cc-live").forEach(function (region) {
      if (region.getAttribute("aria-live") !== "polite") {
        region.setAttribute("role", "status");
        region.setAttribute("aria-live", "polite");
        region.setAttribute("aria-atomic", "true");
      }
    });
  }

  var plugin = {
    id: "conv-course-a11y:widgets",
    description: "Accessible names for ipywidgets sliders and live results for the course's explorers.",
    autoStart: true,
    activate: function () {
      var pending = false;
      var observer = new MutationObserver(function () {
        if (!pending) {
          pending = true;
          window.requestAnimationFrame(function () {
            pending = false;
            mend(document.body);
          });
        }
      });
      observer.observe(document.body, { childList: true, subtree: true });
      mend(document.body);
    }
  };

  _JUPYTERLAB = window._JUPYTERLAB = window._JUPYTERLAB || {};
  _JUPYTERLAB["conv-course-a11y"] = {
    init: function () {
      return Promise.resolve();
    },
    get: function (module) {
      if (module !== "./extension") {
        return Promise.reject(new Error("conv-course-a11y has no module " + module));
      }
      return Promise.resolve(function () {
        return { __esModule: true, default: [plugin] };
      });
    }
  };
})();
