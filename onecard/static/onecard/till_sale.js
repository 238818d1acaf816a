// The till's sale screen (pos/till/sale.html): what is left to pay as tenders are typed, "the rest" buttons,
// change for cash, scans sent one by one through htmx, and Enter in the product search adding the first hit.
(function () {
  // Amounts typed in yuan → fen (NaN when malformed); fen → "12.34".
  function fen(text) {
    text = (text || "").trim();
    if (!text) { return 0; }
    if (!/^\d+(\.\d{1,2})?$/.test(text)) { return NaN; }
    return Math.round(Number(text) * 100);
  }
  function yuan(f) {
    var sign = f < 0 ? "-" : "";
    f = Math.abs(f);
    return sign + Math.floor(f / 100) + "." + String(f % 100).padStart(2, "0");
  }
  function rate(form) { return Number(form.dataset.rate) || 100; }
  function pointsValue(form, n) { return Math.floor(n * 100 / rate(form)); }
  function valueOf(form, input) {
    if (input.dataset.tender === "points") {
      var text = input.value.trim();
      if (!text) { return 0; }
      return /^\d+$/.test(text) ? pointsValue(form, Number(text)) : NaN;
    }
    return fen(input.value);
  }
  function tendered(form, except) {
    var total = 0;
    form.querySelectorAll("[data-tender]").forEach(function (input) {
      if (input !== except) { total += valueOf(form, input); }
    });
    return total;
  }
  function update(form) {
    var due = Number(form.dataset.due), left = due - tendered(form, null);
    var out = document.getElementById("pay-remaining");
    var label = document.getElementById("pay-remaining-label");
    var points = form.querySelector("[data-tender=points]");
    var pointsCash = document.getElementById("points-cash");
    if (points && pointsCash) {
      var v = valueOf(form, points);
      pointsCash.textContent = isNaN(v) ? "—" : "= ¥" + yuan(v);
    }
    // 找零: the notes handed over less the cash tender.
    var received = document.getElementById("cash-received"), change = document.getElementById("cash-change");
    if (received && change) {
      var r = fen(received.value), c = fen((form.querySelector("[data-tender=cash]") || {}).value);
      change.textContent = received.value.trim() && !isNaN(r) && !isNaN(c) && r >= c ? change.dataset.label + " ¥" + yuan(r - c) : "";
    }
    if (!out) { return; }
    out.classList.remove("ok", "over");
    if (isNaN(left)) { out.textContent = "—"; return; }
    if (left > 0) {
      label.textContent = form.dataset.labelLeft;
      out.textContent = "¥" + yuan(left);
    } else if (left < 0) {
      label.textContent = form.dataset.labelOver;
      out.textContent = "¥" + yuan(-left);
      out.classList.add("over");
    } else {
      label.textContent = form.dataset.labelDone;
      out.textContent = "¥0.00";
      out.classList.add("ok");
    }
  }
  // "The rest" buttons: put what is still to pay on this tender (stored value and points: as far as they go).
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-fill]");
    if (!button) { return; }
    var form = button.closest("#pay-form");
    var input = form.querySelector('[name="' + button.dataset.fill + '"]');
    var rest = Number(form.dataset.due) - tendered(form, input);
    if (isNaN(rest) || rest <= 0) {
      input.value = "";
    } else if (input.dataset.tender === "points") {
      var r = rate(form), n = Math.min(Math.ceil(rest * r / 100), Number(form.dataset.maxPoints) || 0);
      while (n > 0 && pointsValue(form, n) > rest) { n -= 1; }
      input.value = n > 0 ? String(n) : "";
    } else {
      if (input.dataset.max) { rest = Math.min(rest, Number(input.dataset.max)); }
      input.value = rest > 0 ? yuan(rest) : "";
    }
    update(form);
    input.focus();
  });
  document.addEventListener("input", function (event) {
    var form = event.target.closest("#pay-form");
    if (form) { update(form); }
  });
  function settle() {
    var form = document.getElementById("pay-form");
    if (form) { update(form); }
  }
  // A scan is sent with the code read now, and the field is emptied for the next one straight away.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.id !== "item-form" || !window.htmx) { return; }
    event.preventDefault();
    var input = document.getElementById("item-input");
    var code = input.value.trim();
    input.value = "";
    if (code) {
      htmx.ajax("POST", form.getAttribute("action"),
                {source: form, target: "#sale-workspace", swap: "innerHTML", values: {code: code}});
    }
  });
  // A keyboard-wedge scanner types the code and Enter: after each change the item field takes the next scan.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id !== "sale-workspace") { return; }
    settle();
    var field = document.getElementById("item-input");
    if (field) { field.focus(); }
  });
  // In the product search, Enter adds the first product found.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.target.id !== "product-search-input") { return; }
    event.preventDefault();
    var first = document.querySelector("#product-results [data-add]");
    if (first) { first.click(); }
  });
  document.addEventListener("DOMContentLoaded", settle);
})();
