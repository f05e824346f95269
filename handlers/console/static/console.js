// 医保掌上办 staff console: the invoice image viewer (zoom, rotate) and keyboard shortcuts.
// Everything else is server-rendered HTML and htmx.
(function () {
  "use strict";
  var state = new WeakMap();

  function apply(img) {
    var s = state.get(img) || { scale: 1, rotate: 0 };
    img.style.transform = "scale(" + s.scale + ") rotate(" + s.rotate + "deg)";
    img.dataset.scale = String(s.scale);
    img.dataset.rotate = String(s.rotate);
  }

  function viewerAction(button) {
    var box = button.closest("[data-viewer]");
    var img = box && box.querySelector("img");
    if (!img) return;
    var s = state.get(img) || { scale: 1, rotate: 0 };
    var action = button.dataset.viewerAction;
    if (action === "zoom-in") s.scale = Math.min(4, s.scale * 1.25);
    if (action === "zoom-out") s.scale = Math.max(0.25, s.scale / 1.25);
    if (action === "rotate") s.rotate = (s.rotate + 90) % 360;
    if (action === "reset") s = { scale: 1, rotate: 0 };
    state.set(img, s);
    apply(img);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-viewer-action]");
    if (button) { event.preventDefault(); viewerAction(button); }
  });

  // Single-key shortcuts, only while no field has the focus: an element with
  // data-shortcut="k" is clicked (buttons, links) or focused (fields).
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var t = event.target;
    if (t && (t.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(t.tagName))) return;
    var target = document.querySelector('[data-shortcut="' + event.key.toLowerCase() + '"]');
    if (!target) return;
    event.preventDefault();
    if (/^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName)) target.focus();
    else target.click();
  });
})();
