// kdbench report tables: click a header to sort, type in a filter box to hide rows. No dependencies.
// A cell sorts by its data-sort attribute when it has one (raw numbers behind formatted text), else its
// text; numbers compare as numbers, and empty cells always go last.
"use strict";

(function () {
  function cellValue(row, index) {
    const cell = row.cells[index];
    if (!cell) return "";
    return cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent.trim();
  }

  function compare(a, b) {
    if (a === "" || b === "") return a === b ? 0 : a === "" ? 1 : -1;
    const x = Number(a), y = Number(b);
    if (!Number.isNaN(x) && !Number.isNaN(y)) return x - y;
    return a.localeCompare(b, undefined, { numeric: true, sensitivity: "base" });
  }

  function sortBy(table, header) {
    const index = Array.prototype.indexOf.call(header.parentNode.children, header);
    const ascending = header.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("thead th").forEach((th) => th.removeAttribute("aria-sort"));
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    const body = table.tBodies[0];
    const rows = Array.from(body.rows).map((row, position) => ({ row, position, key: cellValue(row, index) }));
    rows.sort((p, q) => {
      if (p.key === "" || q.key === "") return compare(p.key, q.key) || p.position - q.position;
      return (ascending ? compare(p.key, q.key) : compare(q.key, p.key)) || p.position - q.position;
    });
    rows.forEach((r) => body.appendChild(r.row));
  }

  function applyFilter(input) {
    const table = document.getElementById(input.dataset.table);
    if (!table) return;
    const terms = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    const rows = Array.from(table.tBodies[0].rows);
    rows.forEach((row) => {
      const text = row.textContent.toLowerCase();
      const visible = terms.every((term) => text.includes(term));
      row.hidden = !visible;
      shown += visible ? 1 : 0;
    });
    const count = document.querySelector('.table-count[data-table="' + input.dataset.table + '"]');
    if (count) count.textContent = shown + " of " + rows.length + " rows";
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("table.sortable").forEach((table) => {
      table.querySelectorAll("thead th").forEach((th) => {
        th.setAttribute("tabindex", "0");
        th.addEventListener("click", () => sortBy(table, th));
        th.addEventListener("keydown", (event) => {
          if (event.key === "Enter" || event.key === " ") {
            event.preventDefault();
            sortBy(table, th);
          }
        });
      });
    });
    document.querySelectorAll("input.table-filter").forEach((input) => {
      input.addEventListener("input", () => applyFilter(input));
      applyFilter(input);
    });
    // "all columns": a table shows its .extra columns while the box is ticked
    document.querySelectorAll("input[data-show-all]").forEach((box) => {
      const table = document.getElementById(box.dataset.showAll);
      if (!table) return;
      const apply = () => table.classList.toggle("show-all", box.checked);
      box.addEventListener("change", apply);
      apply();
    });
  });
})();
