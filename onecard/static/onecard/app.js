// Small behaviours shared by every page; htmx does the rest.
document.addEventListener("click", function (event) {
  const toggle = event.target.closest("[data-toggle-nav]");
  if (toggle) {
    document.getElementById("sidebar").classList.toggle("open");
  }
  const confirmable = event.target.closest("[data-confirm]");
  if (confirmable && !window.confirm(confirmable.dataset.confirm)) {
    event.preventDefault();
  }
});
// Select-all checkboxes for bulk actions: <input type="checkbox" data-check-all="name">
document.addEventListener("change", function (event) {
  const all = event.target.closest("[data-check-all]");
  if (all) {
    document.querySelectorAll('input[name="' + all.dataset.checkAll + '"]').forEach(function (box) {
      box.checked = all.checked;
    });
  }
});
