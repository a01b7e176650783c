// The daily-counts grid: paste a column (or several) from a spreadsheet, and move down a column with Enter or
// the arrow keys, as in a spreadsheet. Without JavaScript the grid is a plain form that works the same.
(function () {
  "use strict";
  var YES = ["y", "yes", "s", "si", "sí", "1", "true", "x"];
  var NO = ["n", "no", "0", "false"];

  function cell(grid, row, col) {
    return grid.querySelector('[data-row="' + row + '"][data-col="' + col + '"]');
  }

  function setValue(input, text) {
    var value = text.trim();
    if (input.tagName === "SELECT") {
      var lower = value.toLowerCase();
      input.value = YES.indexOf(lower) >= 0 ? "Y" : (NO.indexOf(lower) >= 0 ? "N" : "");
    } else {
      input.value = value;
    }
    input.dispatchEvent(new Event("change", {bubbles: true}));
  }

  function start(grid) {
    grid.addEventListener("paste", function (event) {
      var target = event.target.closest("[data-col]");
      if (!target || !event.clipboardData) { return; }
      var lines = event.clipboardData.getData("text").replace(/\r/g, "").split("\n");
      if (lines.length && lines[lines.length - 1] === "") { lines.pop(); }
      if (lines.length < 2 && (lines[0] || "").indexOf("\t") < 0) { return; }  // one value: the browser pastes it
      event.preventDefault();
      var row = Number(target.dataset.row), col = Number(target.dataset.col);
      lines.forEach(function (line, i) {
        line.split("\t").forEach(function (value, j) {
          var input = cell(grid, row + i, col + j);
          if (input && !input.disabled) { setValue(input, value); }
        });
      });
    });
    grid.addEventListener("keydown", function (event) {
      var target = event.target.closest("[data-col]");
      if (!target) { return; }
      var step = 0;
      if (event.key === "Enter") { step = event.shiftKey ? -1 : 1; }
      else if (target.tagName === "INPUT" && event.key === "ArrowDown") { step = 1; }
      else if (target.tagName === "INPUT" && event.key === "ArrowUp") { step = -1; }
      if (!step) { return; }
      var next = cell(grid, Number(target.dataset.row) + step, target.dataset.col);
      event.preventDefault();
      if (next) { next.focus(); if (next.select) { next.select(); } }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-series-grid]").forEach(start);
  });
})();
