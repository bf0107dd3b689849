// Behaviour of the Console's pages that HTML alone cannot give: copy buttons, the upload
// progress bar, env rows, focus after a form is swapped, and the live log tail.
(function () {
  "use strict";

  function announce(text) {
    var region = document.getElementById("announcer");
    if (!region) return;
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);
  }

  function copyText(text, button) {
    function done() {
      var previous = button.textContent;
      button.textContent = "Copied";
      announce("Copied to the clipboard");
      window.setTimeout(function () { button.textContent = previous; }, 1500);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text); done(); });
    } else {
      fallbackCopy(text);
      done();
    }
  }

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } catch (error) { /* nothing else to try */ }
    document.body.removeChild(area);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy], [data-copy-target]");
    if (button) {
      var text = button.getAttribute("data-copy");
      if (text === null) {
        var target = document.getElementById(button.getAttribute("data-copy-target"));
        text = target ? target.textContent : "";
      }
      copyText(text, button);
      return;
    }
    var add = event.target.closest("#add-env");
    if (add) {
      addEnvRow();
      return;
    }
    var remove = event.target.closest(".remove-env");
    if (remove) {
      var row = remove.closest(".env-row");
      var list = row.parentNode;
      row.parentNode.removeChild(row);
      renumberEnvRows(list);
      announce("Variable removed");
    }
  });

  function addEnvRow() {
    var template = document.getElementById("env-row-template");
    var list = document.getElementById("env-rows");
    if (!template || !list) return;
    list.appendChild(template.content.cloneNode(true));
    renumberEnvRows(list);
    var inputs = list.lastElementChild.querySelectorAll("input");
    inputs[0].focus();
  }

  function renumberEnvRows(list) {
    Array.prototype.forEach.call(list.querySelectorAll(".env-row"), function (row, index) {
      var labels = row.querySelectorAll("label");
      var inputs = row.querySelectorAll("input");
      ["envKey", "envValue"].forEach(function (name, position) {
        inputs[position].id = name + "-" + index;
        labels[position].setAttribute("for", name + "-" + index);
        labels[position].textContent = (position === 0 ? "Key " : "Value ") + (index + 1);
      });
      row.querySelector(".remove-env").setAttribute("aria-label", "Remove variable " + (index + 1));
    });
  }

  // Upload progress of a function form with a ZIP (htmx sends it with XMLHttpRequest).
  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = event.target.closest ? event.target.closest("form[data-upload]") : null;
    if (!form || !event.detail.lengthComputable) return;
    showProgress(Math.round((event.detail.loaded / event.detail.total) * 100));
  });

  // Percent of the last upload of a function form, or null when it sent no file.
  var lastUpload = null;

  function showProgress(percent, label) {
    lastUpload = percent;
    var box = document.getElementById("upload");
    var bar = document.getElementById("upload-progress");
    var text = document.getElementById("upload-percent");
    var labelElement = document.getElementById("upload-label");
    if (!box || !bar) return;
    box.hidden = false;
    bar.value = percent;
    bar.textContent = percent + "%";
    text.textContent = percent + "%";
    labelElement.textContent = label || (percent >= 100 ? "Uploaded, checking the form" : "Uploading");
  }

  // A newly chosen ZIP has not been uploaded yet, so an old progress bar would mislead.
  document.addEventListener("change", function (event) {
    if (event.target.id === "code" && event.target.closest("form[data-upload]")) {
      var box = document.getElementById("upload");
      if (box) box.hidden = true;
    }
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.target.matches && event.target.matches("form[data-upload]")) {
      lastUpload = null;
      if (document.getElementById("code").files.length) showProgress(0);
    }
  });

  // After a form comes back with errors, move focus to its summary. A returned function
  // form has an empty file field again, so the progress bar's label asks for the ZIP again.
  document.addEventListener("htmx:afterSwap", function () {
    var summary = document.getElementById("error-summary");
    if (lastUpload !== null && document.querySelector("form[data-upload]")) {
      showProgress(lastUpload, "Uploaded; choose the ZIP again after fixing the fields");
    }
    if (summary) summary.focus();
  });

  // Live log tail over server-sent events.
  function startTail() {
    var list = document.getElementById("log-lines");
    if (!list || !window.EventSource) return;
    var status = document.getElementById("tail-status");
    var toggle = document.getElementById("tail-toggle");
    var empty = document.getElementById("log-empty");
    var logsUrl = list.getAttribute("data-logs-url");
    var url = list.getAttribute("data-tail-url");
    var source = null;
    var lastId = null;

    function atBottom() {
      return list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    }

    function append(line) {
      var follow = atBottom();
      var item = document.createElement("li");
      item.className = "log-line stream-" + line.stream;
      item.setAttribute("data-id", line.id);
      var time = document.createElement("time");
      time.setAttribute("datetime", line.timestamp);
      time.textContent = line.timestamp.slice(11, 23);
      var stream = document.createElement("span");
      stream.className = "stream";
      stream.textContent = line.stream;
      var request = document.createElement("a");
      request.className = "request";
      request.href = logsUrl + "?requestId=" + encodeURIComponent(line.requestId);
      request.title = "Show only request " + line.requestId;
      request.textContent = line.requestId.slice(-8);
      var message = document.createElement("span");
      message.className = "message";
      message.textContent = line.message;
      item.append(time, stream, request, message);
      list.appendChild(item);
      if (empty) empty.hidden = true;
      if (follow) list.scrollTop = list.scrollHeight;
    }

    function connect() {
      var target = url;
      if (lastId !== null) target = target.replace(/after=\d*/, "after=" + lastId);
      source = new EventSource(target);
      source.onopen = function () { status.textContent = "Live: new lines appear as they are written"; };
      source.onmessage = function (event) {
        var line = JSON.parse(event.data);
        lastId = line.id;
        append(line);
      };
      source.onerror = function () {
        if (source.readyState === EventSource.CLOSED) status.textContent = "Disconnected; reload the page to reconnect";
      };
    }

    toggle.addEventListener("click", function () {
      if (source) {
        source.close();
        source = null;
        toggle.textContent = "Resume";
        toggle.setAttribute("aria-pressed", "true");
        status.textContent = "Paused";
      } else {
        connect();
        toggle.textContent = "Pause";
        toggle.setAttribute("aria-pressed", "false");
      }
    });
    list.scrollTop = list.scrollHeight;
    connect();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", startTail);
  } else {
    startTail();
  }
})();
