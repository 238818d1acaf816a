// Small behaviours shared by every page; htmx does the rest.
// The Content-Security-Policy runs no inline script and no on...="" handler: a page asks for a behaviour
// with a data attribute, and a listener here (or in till.js) acts on it (docs/architecture.md, Web UI).
//   data-toggle-nav          the menu button on a narrow screen
//   data-confirm="question"  a click (a submit button's, a link's) goes ahead only when confirmed
//   data-print               prints the page
//   data-history-back        goes back one page (a link whose href is the way when there is no history)
//   data-copy="#selector"    copies that element's text; a [data-copied] next to the button then shows
//   data-submit-on-change    on a select: choosing an option submits its form
//   data-disable-on-submit   on a form: its buttons are disabled once it is sent, so it is sent once
//   data-remove-after-success  on an htmx form: removed once its request succeeded (the reveal form)
document.addEventListener("click", function (event) {
  const toggle = event.target.closest("[data-toggle-nav]");
  if (toggle) {
    document.getElementById("sidebar").classList.toggle("open");
  }
  const confirmable = event.target.closest("[data-confirm]");
  if (confirmable && !window.confirm(confirmable.dataset.confirm)) {
    event.preventDefault();
    return;
  }
  if (event.target.closest("[data-print]")) {
    window.print();
  }
  if (event.target.closest("[data-history-back]") && window.history.length > 1) {
    event.preventDefault();
    window.history.back();
  }
  const copy = event.target.closest("[data-copy]");
  if (copy) {
    copyText(copy);
  }
});
function copyText(button) {
  const text = document.querySelector(button.dataset.copy).textContent;
  const copied = button.parentElement.querySelector("[data-copied]");
  const done = function () { if (copied) { copied.hidden = false; } };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done);
    return;
  }
  // Over plain HTTP (a shop's intranet) the clipboard API is missing: copy through a selected text area.
  const area = document.createElement("textarea");
  area.value = text;
  document.body.appendChild(area);
  area.select();
  document.execCommand("copy");
  area.remove();
  done();
}
document.addEventListener("change", function (event) {
  const select = event.target.closest("[data-submit-on-change]");
  if (select && select.form) {
    select.form.submit();
  }
});
document.addEventListener("submit", function (event) {
  const form = event.target;
  if (form.matches("[data-disable-on-submit]") && !event.defaultPrevented) {
    form.querySelectorAll("button, input[type=submit]").forEach(function (button) { button.disabled = true; });
  }
});
document.addEventListener("htmx:afterRequest", function (event) {
  const form = event.detail.elt;
  if (event.detail.successful && form.matches && form.matches("[data-remove-after-success]")) {
    form.remove();
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

// Search pickers (core/widgets.py SearchPicker): type to search, click a result or press Enter to choose
// the first, × removes a choice. The chosen ids travel in one hidden input, comma-separated.
(function () {
  function parts(picker) {
    return {
      value: picker.querySelector("[data-picker-value]"),
      chosen: picker.querySelector("[data-picker-chosen]"),
      search: picker.querySelector("[data-picker-search]"),
      results: picker.querySelector("[data-picker-results]"),
    };
  }
  function syncValue(picker) {
    const p = parts(picker);
    const ids = Array.from(p.chosen.querySelectorAll("[data-id]")).map(function (chip) {
      return chip.dataset.id;
    });
    p.value.value = ids.join(",");
    p.value.dispatchEvent(new Event("change", { bubbles: true }));
  }
  function chip(picker, id, label) {
    const item = document.createElement("li");
    item.className = "chip";
    item.dataset.id = id;
    const text = document.createElement("span");
    text.textContent = label;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "chip-remove";
    remove.dataset.pickerRemove = "";
    remove.setAttribute("aria-label", picker.dataset.removeText + " " + label);
    remove.textContent = "×";
    item.append(text, remove);
    return item;
  }
  function choose(picker, id, label) {
    const p = parts(picker);
    if (picker.dataset.multiple !== "1") {
      p.chosen.replaceChildren();
    }
    if (!p.chosen.querySelector('[data-id="' + id + '"]')) {
      p.chosen.append(chip(picker, id, label));
    }
    syncValue(picker);
    p.search.value = "";
    shownFor.delete(picker);
    p.results.replaceChildren();
    p.results.hidden = true;
    p.search.focus();
  }
  function show(picker, results) {
    const p = parts(picker);
    p.results.replaceChildren();
    if (!results.length) {
      const empty = document.createElement("li");
      empty.className = "picker-empty";
      empty.textContent = picker.dataset.emptyText;
      p.results.append(empty);
    }
    results.forEach(function (result) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.pickerAdd = "";
      button.dataset.id = result.id;
      button.dataset.label = result.label;
      button.textContent = result.label;
      item.append(button);
      p.results.append(item);
    });
    p.results.hidden = false;
  }
  const timers = new WeakMap();
  const shownFor = new WeakMap(); // picker → the text its results answer
  const pickFirst = new WeakSet(); // pickers where Enter came before the results
  function search(picker) {
    const p = parts(picker);
    const text = p.search.value.trim();
    if (!text) {
      p.results.replaceChildren();
      p.results.hidden = true;
      return;
    }
    const asked = text;
    fetch(picker.dataset.searchUrl + "?q=" + encodeURIComponent(text), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        return response.ok ? response.json() : { results: [] };
      })
      .then(function (data) {
        // An answer to an older query than what the box now holds is dropped.
        if (p.search.value.trim() === asked) {
          const results = data.results || [];
          shownFor.set(picker, asked);
          if (pickFirst.has(picker) && results.length) {
            pickFirst.delete(picker);
            choose(picker, String(results[0].id), results[0].label);
          } else {
            pickFirst.delete(picker);
            show(picker, results);
          }
        }
      });
  }
  document.addEventListener("input", function (event) {
    const box = event.target.closest("[data-picker-search]");
    if (!box) return;
    const picker = box.closest("[data-picker]");
    clearTimeout(timers.get(picker));
    timers.set(picker, setTimeout(function () { search(picker); }, 200));
  });
  document.addEventListener("keydown", function (event) {
    const box = event.target.closest("[data-picker-search]");
    if (!box) return;
    const picker = box.closest("[data-picker]");
    if (event.key === "Enter") {
      // Enter picks the first result instead of submitting the form half-filled; typed faster than the
      // search answers, it picks the first result when the answer comes.
      event.preventDefault();
      const p = parts(picker);
      if (shownFor.get(picker) === p.search.value.trim()) {
        const first = p.results.querySelector("[data-picker-add]");
        if (first) choose(picker, first.dataset.id, first.dataset.label);
      } else if (p.search.value.trim()) {
        pickFirst.add(picker);
        clearTimeout(timers.get(picker));
        search(picker);
      }
    } else if (event.key === "Escape") {
      parts(picker).results.hidden = true;
    }
  });
  document.addEventListener("click", function (event) {
    const add = event.target.closest("[data-picker-add]");
    if (add) {
      choose(add.closest("[data-picker]"), add.dataset.id, add.dataset.label);
      return;
    }
    const remove = event.target.closest("[data-picker-remove]");
    if (remove) {
      const picker = remove.closest("[data-picker]");
      remove.closest("[data-id]").remove();
      syncValue(picker);
    }
  });
})();
