// The live incident feed: new entries appear at the top of the list without a reload.
//
// The list (<ol data-feed-list>) names its event stream (data-stream-url) and, as a fallback, a
// fragment address to poll (data-fragment-url). Each server-sent `entry` event carries the entry's
// HTML; EventSource reconnects by itself and sends Last-Event-ID, so nothing posted meanwhile is
// missed. After repeated stream errors the page polls the fragment every 5 seconds instead.
// A filtered page shows only the live entries that match its filters.
(function () {
  "use strict";

  var MAX_STREAM_ERRORS = 3;
  var POLL_MS = 5000;
  var HIGHLIGHT_MS = 6000;

  function start(list) {
    var lastId = parseInt(list.getAttribute("data-last-id"), 10) || 0;
    var filters = {
      kind: list.getAttribute("data-filter-kind") || "",
      priority: list.getAttribute("data-filter-priority") || "",
      agency: list.getAttribute("data-filter-agency") || ""
    };
    var section = list.closest("section") || document;
    var announcer = section.querySelector("[data-feed-announcer]");
    var source = null;
    var errors = 0;
    var pollTimer = null;

    function matches(entry) {
      return (
        (!filters.kind || entry.getAttribute("data-kind") === filters.kind) &&
        (!filters.priority || entry.getAttribute("data-priority") === filters.priority) &&
        (!filters.agency || entry.getAttribute("data-agency") === filters.agency)
      );
    }

    function announce(text) {
      if (!announcer) {
        return;
      }
      // Cleared first so that the same words twice are read twice.
      announcer.textContent = "";
      window.setTimeout(function () {
        announcer.textContent = text;
      }, 50);
    }

    function entriesIn(html) {
      var template = document.createElement("template");
      template.innerHTML = html.trim();
      return Array.prototype.slice.call(template.content.querySelectorAll("li[data-entry-id]"));
    }

    function show(entry) {
      var id = parseInt(entry.getAttribute("data-entry-id"), 10) || 0;
      if (id > lastId) {
        lastId = id;
      }
      if (list.querySelector('[data-entry-id="' + id + '"]') || !matches(entry)) {
        return;
      }
      list.insertBefore(entry, list.firstElementChild);
      if (window.htmx) {
        window.htmx.process(entry);
      }
      entry.classList.add("fh-entry--new");
      window.setTimeout(function () {
        entry.classList.remove("fh-entry--new");
      }, HIGHLIGHT_MS);
      var empty = section.querySelector("[data-feed-empty]");
      if (empty) {
        empty.remove();
      }
      var title = entry.querySelector(".fh-entry__title");
      var priority = entry.getAttribute("data-priority");
      announce((priority === "flash" ? "New flash entry: " : "New entry: ") + (title ? title.textContent.trim() : ""));
    }

    // Oldest first, so that the newest ends up at the top.
    function showAll(html, newestFirst) {
      var entries = entriesIn(html);
      if (newestFirst) {
        entries.reverse();
      }
      entries.forEach(show);
    }

    function poll() {
      var url = new URL(list.getAttribute("data-fragment-url"), window.location.href);
      url.searchParams.set("after", String(lastId));
      fetch(url.toString(), { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) {
          return response.ok ? response.text() : "";
        })
        .then(function (html) {
          if (html) {
            showAll(html, true);
          }
        })
        .catch(function () {
          // The next round tries again.
        })
        .then(function () {
          pollTimer = window.setTimeout(poll, POLL_MS);
        });
    }

    function fallBackToPolling() {
      if (source) {
        source.close();
        source = null;
      }
      if (pollTimer === null) {
        list.setAttribute("data-live-mode", "polling");
        pollTimer = window.setTimeout(poll, 0);
      }
    }

    function connect() {
      var url = new URL(list.getAttribute("data-stream-url"), window.location.href);
      // What the page already shows; a reconnection sends Last-Event-ID instead.
      url.searchParams.set("after", String(lastId));
      source = new EventSource(url.toString());
      list.setAttribute("data-live-mode", "stream");
      source.addEventListener("open", function () {
        errors = 0;
        list.setAttribute("data-live-state", "open");
      });
      source.addEventListener("entry", function (event) {
        errors = 0;
        showAll(event.data, false);
      });
      source.addEventListener("error", function () {
        errors += 1;
        list.setAttribute("data-live-state", "error");
        // CLOSED: the server refused (signed out, say); the browser will not retry by itself.
        if (errors >= MAX_STREAM_ERRORS || source.readyState === EventSource.CLOSED) {
          fallBackToPolling();
        }
      });
    }

    if (typeof window.EventSource === "function" && list.getAttribute("data-stream-url")) {
      connect();
    } else {
      fallBackToPolling();
    }
    window.addEventListener("pagehide", function () {
      if (source) {
        source.close();
      }
    });
  }

  // After "Acknowledge" swaps an entry in place, keep the keyboard where it was.
  document.addEventListener("htmx:afterSettle", function (event) {
    var entry = event.detail && event.detail.elt;
    if (!entry || !entry.matches || !entry.matches("li[data-entry-id]")) {
      return;
    }
    var status = entry.querySelector("[data-ack-status]");
    if (status) {
      status.focus();
    }
  });

  document.querySelectorAll("[data-feed-list]").forEach(function (list) {
    if (list.getAttribute("data-live") === "on") {
      start(list);
    }
  });
})();
