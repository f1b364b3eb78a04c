// The booking form, for an agent on the phone: the server checks each field as it is left
// (the same rules as the API), errors appear without a reload, the commune is chosen from a
// keyboard list. Without JavaScript the form still posts and the page shows the same errors.
(function () {
  "use strict";

  var form = document.getElementById("booking-form");
  if (!form) { return; }
  var summary = document.getElementById("error-summary");
  var conflict = document.getElementById("conflict");
  var statusLine = document.getElementById("booking-status");
  var submitButton = document.getElementById("submit-booking");
  var touched = {};
  var showAll = false;
  var checkTimer = null;
  var checkSequence = 0;

  function csrfToken() {
    return form.querySelector("input[name=csrf_token]").value;
  }

  function post(url) {
    return fetch(url, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": csrfToken() }
    });
  }

  function readJson(response) {
    var type = response.headers.get("Content-Type") || "";
    if (type.indexOf("application/json") === -1) {
      throw new Error("Votre session a expiré : rechargez la page et reconnectez-vous.");
    }
    return response.json();
  }

  function fieldKey(element) {
    var box = element.closest("[data-field]");
    return box ? box.getAttribute("data-field") : null;
  }

  function errorText(error) {
    var text = error.message;
    if (error.suggestions && error.suggestions.length) {
      text += " Suggestions : " + error.suggestions.join(", ") + ".";
    }
    return text;
  }

  function showErrors(errors) {
    var byField = {};
    errors.forEach(function (error) {
      (byField[error.field] = byField[error.field] || []).push(error);
    });
    form.querySelectorAll("[data-errors-for]").forEach(function (list) {
      var key = list.getAttribute("data-errors-for");
      var shown = (showAll || touched[key]) ? (byField[key] || []) : [];
      var box = list.closest("[data-field]");
      list.textContent = "";
      shown.forEach(function (error) {
        var item = document.createElement("li");
        item.textContent = errorText(error);
        list.appendChild(item);
      });
      list.hidden = shown.length === 0;
      box.classList.toggle("has-error", shown.length > 0);
      box.querySelectorAll("input, select, textarea").forEach(function (input) {
        if (shown.length) { input.setAttribute("aria-invalid", "true"); }
        else { input.removeAttribute("aria-invalid"); }
      });
    });
    var general = summary.querySelector("ul");
    general.textContent = "";
    (byField[""] || []).forEach(function (error) {
      var item = document.createElement("li");
      item.textContent = errorText(error);
      general.appendChild(item);
    });
    summary.hidden = !showAll || errors.length === 0;
  }

  function showConflict(found) {
    conflict.hidden = !found;
    if (!found) { return; }
    document.getElementById("conflict-detail").textContent = found.detail;
    var link = document.getElementById("conflict-link");
    link.hidden = !found.url;
    if (found.url) { link.href = found.url; }
  }

  function check() {
    var sequence = ++checkSequence;
    post(form.getAttribute("data-check-url")).then(readJson).then(function (result) {
      if (sequence !== checkSequence) { return; }
      showErrors(result.errors);
      showConflict(result.conflict);
    }).catch(function () { /* the check is a help; submitting still validates */ });
  }

  function scheduleCheck() {
    clearTimeout(checkTimer);
    checkTimer = setTimeout(check, 250);
  }

  form.addEventListener("focusout", function (event) {
    var key = fieldKey(event.target);
    if (key && event.target.value !== "") { touched[key] = true; }
    if (key && touched[key]) { scheduleCheck(); }
  });
  form.addEventListener("change", function (event) {
    var key = fieldKey(event.target);
    if (key) { touched[key] = true; scheduleCheck(); }
  });

  function focusFirstError() {
    var invalid = form.querySelector("[aria-invalid=true]");
    if (invalid) { invalid.focus(); } else if (!summary.hidden) { summary.focus(); }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (submitButton.disabled) { return; }
    showAll = true;
    checkSequence++;
    submitButton.disabled = true;
    statusLine.textContent = "Enregistrement…";
    post(form.action).then(function (response) {
      return readJson(response).then(function (body) { return [response.status, body]; });
    }).then(function (answer) {
      var status = answer[0], body = answer[1];
      if (status === 201) {
        statusLine.textContent = "Demande n° " + body.id + " enregistrée.";
        window.location.assign(body.url);
        return;
      }
      submitButton.disabled = false;
      showErrors(body.errors || []);
      showConflict(body.conflict || null);
      var count = (body.errors || []).length;
      statusLine.textContent = body.conflict ? body.conflict.detail :
        count + (count > 1 ? " erreurs à corriger." : " erreur à corriger.");
      if (body.conflict) { conflict.focus(); } else { focusFirstError(); }
    }).catch(function (error) {
      submitButton.disabled = false;
      statusLine.textContent = error.message.indexOf("session") !== -1 ? error.message :
        "Connexion au serveur impossible : la demande n'est pas enregistrée, réessayez.";
    });
  });

  // Ctrl+Entrée in the notes saves, as Entrée does in every other field.
  form.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.ctrlKey && event.target.tagName === "TEXTAREA") {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  // Commune combobox (ARIA 1.2 pattern): type, ↓/↑ to move, Entrée to choose, Échap to close.
  var commune = document.getElementById("address-commune");
  var postal = document.getElementById("address-postal_code");
  var listbox = document.getElementById("commune-options");
  var options = [];
  var active = -1;
  var searchTimer = null;
  var searchSequence = 0;

  function closeList() {
    listbox.hidden = true;
    commune.setAttribute("aria-expanded", "false");
    commune.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function highlight(index) {
    active = index;
    listbox.querySelectorAll("[role=option]").forEach(function (item, position) {
      item.setAttribute("aria-selected", position === index ? "true" : "false");
    });
    if (index >= 0) {
      commune.setAttribute("aria-activedescendant", "commune-option-" + index);
      document.getElementById("commune-option-" + index).scrollIntoView({ block: "nearest" });
    } else {
      commune.removeAttribute("aria-activedescendant");
    }
  }

  function choose(index) {
    var item = options[index];
    commune.value = item.name;
    if (item.postal_codes.length && item.postal_codes.indexOf(postal.value) === -1) {
      postal.value = item.postal_codes[0];
    }
    closeList();
    touched["address.commune"] = touched["address.postal_code"] = true;
    scheduleCheck();
  }

  function showOptions(items) {
    options = items;
    listbox.textContent = "";
    items.forEach(function (item, index) {
      var option = document.createElement("li");
      option.id = "commune-option-" + index;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      option.textContent = item.name + " — " + item.postal_codes.join(", ") +
        " (" + item.department + ")";
      option.addEventListener("mousedown", function (event) {
        event.preventDefault();
        choose(index);
      });
      listbox.appendChild(option);
    });
    if (items.length) {
      listbox.hidden = false;
      commune.setAttribute("aria-expanded", "true");
      highlight(-1);
    } else {
      closeList();
    }
  }

  function search(text, then) {
    var sequence = ++searchSequence;
    var url = form.getAttribute("data-communes-url") + "?q=" + encodeURIComponent(text);
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(readJson)
      .then(function (result) { if (sequence === searchSequence) { then(result.items); } })
      .catch(function () { closeList(); });
  }

  commune.addEventListener("input", function () {
    clearTimeout(searchTimer);
    var text = commune.value.trim();
    if (text.length < 2) { closeList(); return; }
    searchTimer = setTimeout(function () { search(text, showOptions); }, 150);
  });

  commune.addEventListener("keydown", function (event) {
    var open = !listbox.hidden && options.length > 0;
    if (event.key === "ArrowDown") {
      event.preventDefault();
      if (!open && commune.value.trim().length >= 2) { search(commune.value.trim(), showOptions); return; }
      if (open) { highlight(Math.min(active + 1, options.length - 1)); }
    } else if (event.key === "ArrowUp" && open) {
      event.preventDefault();
      highlight(Math.max(active - 1, 0));
    } else if (event.key === "Enter" && open && active >= 0) {
      event.preventDefault();
      choose(active);
    } else if (event.key === "Escape" && open) {
      event.preventDefault();
      closeList();
    } else if (event.key === "Tab" && open && active >= 0) {
      choose(active);
    }
  });

  commune.addEventListener("blur", function () { setTimeout(closeList, 100); });

  // A postal code of one commune fills it; of several, offers them.
  postal.addEventListener("input", function () {
    if (!/^\d{5}$/.test(postal.value) || commune.value.trim()) { return; }
    search(postal.value, function (items) {
      var here = items.filter(function (item) { return item.postal_codes.indexOf(postal.value) !== -1; });
      if (here.length === 1) {
        commune.value = here[0].name;
        touched["address.commune"] = true;
        scheduleCheck();
      } else if (here.length > 1) {
        showOptions(here);
      }
    });
  });
}());
