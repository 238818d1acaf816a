// The till's confirmation step (充值, 消费, 收款): a form marked data-confirm-dialog="title" is sent only
// after the cashier has seen, in #till-confirm, what it does: amount, tenders, card and member. Enter
// confirms (the confirm button has the focus), Esc cancels and gives the focus back to the form.
// Without this script the form posts at once; the one-time token keeps a resubmit to one operation.
// Rows come from the form's elements marked data-confirm-label ("" takes the field's <label>) and those
// its data-confirm-fields selector picks: a field shows its value (a select its option's text, a decimal
// field yuan with ¥), other elements their data-confirm-value or their text; empty values are left out;
// data-confirm-total is the big line. An element with data-confirm-match="#field" data-confirm-fen="N"
// (a quote fetched for an amount) counts only while that field still holds N fen: never a stale quote.
// Any page: <dialog data-dialog-open="id"> buttons open a dialog, [data-dialog-close] closes it.
// A keyboard-wedge reader types the number and Enter: after htmx swaps an answer into an element marked
// data-scan-field="#card-input", that field is selected for the next scan (the cashier desk's panel).
(function () {
  var pending = null;

  function labelOf(el) {
    if (el.dataset.confirmLabel) { return el.dataset.confirmLabel; }
    // A label holds its hint (the points' cash value) in <small>: the row takes the label's own words.
    var label = el.id && document.querySelector('label[for="' + el.id + '"]');
    if (!label) { return el.name || ""; }
    var words = label.cloneNode(true);
    words.querySelectorAll("small").forEach(function (hint) { hint.remove(); });
    return words.textContent.trim();
  }

  function valueOf(el) {
    var value;
    if (el.tagName === "SELECT") {
      value = el.selectedIndex >= 0 ? el.options[el.selectedIndex].text : "";
    } else if (el.tagName === "INPUT" || el.tagName === "TEXTAREA") {
      value = el.value;
    } else {
      value = el.dataset.confirmValue !== undefined ? el.dataset.confirmValue : el.textContent;
    }
    value = (value || "").trim().replace(/\s+/g, " ");
    return value && el.getAttribute("inputmode") === "decimal" ? "¥" + value : value;
  }

  function fen(text) {
    text = (text || "").trim();
    return /^\d+(\.\d{1,2})?$/.test(text) ? Math.round(Number(text) * 100) : NaN;
  }

  function current(el) {
    if (!el.dataset.confirmMatch) { return true; }
    var field = document.querySelector(el.dataset.confirmMatch);
    return !!field && fen(field.value) === Number(el.dataset.confirmFen);
  }

  function fill(dialog, form) {
    var rows = dialog.querySelector("#till-confirm-rows");
    var total = dialog.querySelector("#till-confirm-total");
    dialog.querySelector("#till-confirm-title").textContent = form.dataset.confirmDialog;
    rows.textContent = "";
    total.textContent = "";
    var picked = "[data-confirm-label]" + (form.dataset.confirmFields ? ", " + form.dataset.confirmFields : "");
    form.querySelectorAll(picked).forEach(function (el) {
      var value = valueOf(el);
      if (!value || !current(el)) { return; }
      if (el.hasAttribute("data-confirm-total")) {
        total.textContent = value;
        return;
      }
      var dt = document.createElement("dt"), dd = document.createElement("dd");
      dt.textContent = labelOf(el);
      dd.textContent = value;
      dd.dataset.row = el.name || el.id || "";
      rows.append(dt, dd);
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var dialog = document.getElementById("till-confirm");
    if (!form.matches("form[data-confirm-dialog]") || !dialog || !dialog.showModal) { return; }
    if (form.dataset.confirmed === "1") {
      delete form.dataset.confirmed;
      return;
    }
    event.preventDefault();
    pending = {form: form, submitter: event.submitter || null};
    fill(dialog, form);
    dialog.returnValue = "";
    dialog.showModal();
    dialog.querySelector("#till-confirm-ok").focus();
  });

  document.addEventListener("DOMContentLoaded", function () {
    var dialog = document.getElementById("till-confirm");
    if (!dialog) { return; }
    dialog.addEventListener("close", function () {
      var done = pending;
      pending = null;
      if (!done) { return; }
      if (dialog.returnValue === "ok") {
        done.form.dataset.confirmed = "1";
        done.form.requestSubmit(done.submitter);
      } else {
        var field = done.form.querySelector("input:not([type=hidden]), select");
        if (field) { field.focus(); }
      }
    });
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var selector = event.detail.target.dataset && event.detail.target.dataset.scanField;
    var field = selector && document.querySelector(selector);
    if (field) { field.select(); }
  });

  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-dialog-open]");
    if (opener) {
      var dialog = document.getElementById(opener.dataset.dialogOpen);
      dialog.showModal();
      var first = dialog.querySelector("input:not([type=hidden]), button[type=submit]");
      if (first) { first.focus(); }
    }
    var closer = event.target.closest("[data-dialog-close]");
    if (closer) { closer.closest("dialog").close(); }
  });
})();
