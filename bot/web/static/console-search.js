/* The console's search (by reference, the call-back phone's last four digits, merchant or
 * text) and its list of finished tickets with filters, a page at a time.
 *
 * It uses what console.js shares as window.helpdeskConsole (requests, the error banner,
 * opening a ticket, the list scopes); every text from the server goes in with textContent.
 */
(function () {
  "use strict";

  const C = window.helpdeskConsole;
  if (!C) {
    return;
  }

  const TEXT = {
    searching: "搜索中…",
    searched: function (query, total) {
      return "“" + query + "”：共 " + total + " 条";
    },
    kinds: { reference: "按工单号", phone: "按电话后四位", merchant: "按商户", text: "按内容", any: "" },
    doneTotal: function (total) {
      return "共 " + total + " 条已结束工单";
    },
    page: function (page, pages) {
      return "第 " + page + " / " + pages + " 页";
    },
    opened: "受理 ",
    done: "结束 ",
    merchant: "商户：",
    phone: "电话 ",
    unassigned: "未分配",
    emptyQuery: "请输入工单号、电话后四位、商户名称或问题中的文字再搜索。",
    allOption: "全部",
    filtersOn: function (n) {
      return "（已选 " + n + " 项）";
    },
  };

  const $ = function (id) {
    return document.getElementById(id);
  };

  const el = {
    form: $("search-form"),
    query: $("search-q"),
    kind: $("search-kind"),
    button: $("search-button"),
    searchPanel: $("search-panel"),
    searchSummary: $("search-summary"),
    searchBack: $("search-back"),
    searchResults: $("search-results"),
    searchEmpty: $("search-empty"),
    searchPager: $("search-pager"),
    donePanel: $("done-panel"),
    doneFilters: $("done-filters"),
    doneFilterSummary: $("done-filter-summary"),
    doneForm: $("done-form"),
    doneStatus: $("done-status"),
    doneFrom: $("done-from"),
    doneTo: $("done-to"),
    doneCategory: $("done-category"),
    doneAssignee: $("done-assignee"),
    donePriority: $("done-priority"),
    doneReset: $("done-reset"),
    doneSummary: $("done-summary"),
    doneList: $("done-list"),
    doneEmpty: $("done-empty"),
    donePager: $("done-pager"),
  };

  // ---- rows ----

  function resultRow(t) {
    const row = document.createElement("li");
    row.className = "ticket-row result-row";
    row.setAttribute("data-ref", String(t.reference));
    row.setAttribute("role", "button");
    row.tabIndex = 0;
    if (t.reference === C.selected()) {
      row.classList.add("selected");
    }
    const top = document.createElement("div");
    top.className = "row-top";
    top.appendChild(C.span("ref", t.reference));
    const priority = C.span("priority", t.priority);
    if (typeof t.priority === "string" && /^P[1-4]$/.test(t.priority)) {
      priority.classList.add("priority-" + t.priority.toLowerCase());
    }
    top.appendChild(priority);
    top.appendChild(C.span("status-badge status-" + String(t.status), C.str(t.status_name)));
    row.appendChild(top);

    const mid = document.createElement("div");
    mid.className = "row-mid";
    mid.appendChild(C.span("kind", C.kindOf(t)));
    mid.appendChild(C.span("assignee", t.assignee ? t.assignee : TEXT.unassigned));
    row.appendChild(mid);

    const more = [];
    if (t.merchant_name) {
      more.push(TEXT.merchant + t.merchant_name);
    }
    if (t.contact_phone) {
      more.push(TEXT.phone + t.contact_phone);
    }
    if (more.length) {
      row.appendChild(C.span("merchant", more.join(" · ")));
    }
    const bottom = document.createElement("div");
    bottom.className = "row-bottom";
    bottom.appendChild(C.span("opened", TEXT.opened + C.formatTime(t.opened_at)));
    if (t.done_at) {
      bottom.appendChild(C.span("done-at", TEXT.done + C.formatTime(t.done_at)));
    }
    row.appendChild(bottom);
    if (t.summary) {
      row.appendChild(C.span("summary", t.summary));
    }
    const open = function () {
      C.openTicket(String(t.reference));
    };
    row.addEventListener("click", open);
    row.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        open();
      }
    });
    return row;
  }

  // One paged list: its elements, the request it repeats, and the last answer's key (a
  // refresh that changes nothing leaves the rows, and the reader's place, alone).
  function pagedList(list, empty, pager, summary, describe) {
    const state = { page: 1, pages: 1, path: null, key: "", seq: 0 };

    function render(data) {
      const tickets = Array.isArray(data.tickets) ? data.tickets : [];
      const key = JSON.stringify(data);
      if (key !== state.key) {
        state.key = key;
        C.clear(list);
        tickets.forEach(function (t) {
          if (t && typeof t.reference === "string") {
            list.appendChild(resultRow(t));
          }
        });
      }
      state.page = typeof data.page === "number" ? data.page : 1;
      state.pages = typeof data.pages === "number" ? data.pages : 1;
      empty.hidden = tickets.length > 0;
      pager.hidden = state.pages <= 1;
      pager.querySelector(".pager-text").textContent = TEXT.page(state.page, state.pages);
      pager.querySelector('[data-step="-1"]').disabled = state.page <= 1;
      pager.querySelector('[data-step="1"]').disabled = state.page >= state.pages;
      summary.textContent = describe(data);
    }

    async function load() {
      if (state.path === null) {
        return;
      }
      const seq = ++state.seq;
      const sep = state.path.indexOf("?") >= 0 ? "&" : "?";
      let data;
      try {
        data = await C.api("GET", state.path + sep + "page=" + state.page);
      } catch (err) {
        if (seq === state.seq && !err.expired) {
          summary.textContent = "";
          C.showError(err.message, "action");
        }
        return;
      }
      if (seq === state.seq) {
        render(data);
      }
    }

    pager.querySelectorAll("button[data-step]").forEach(function (button) {
      button.addEventListener("click", function () {
        const next = state.page + Number(button.getAttribute("data-step"));
        if (next >= 1 && next <= state.pages) {
          state.page = next;
          load().then(function () {
            list.scrollTop = 0;
          });
        }
      });
    });

    return {
      state: state,
      load: load,
      start: function (path) {
        state.path = path;
        state.page = 1;
        state.key = "";
        return load();
      },
    };
  }

  // ---- search ----

  let lastQuery = "";
  const search = pagedList(
    el.searchResults,
    el.searchEmpty,
    el.searchPager,
    el.searchSummary,
    function (data) {
      const how = TEXT.kinds[data.kind] || "";
      return (how ? how + " " : "") + TEXT.searched(lastQuery, Number(data.total) || 0);
    }
  );
  C.addScope("search", el.searchPanel, search.load);

  async function runSearch(event) {
    event.preventDefault();
    const query = el.query.value.trim();
    if (query === "") {
      C.showError(TEXT.emptyQuery, "action");
      el.query.focus();
      return;
    }
    lastQuery = query;
    el.searchSummary.textContent = TEXT.searching;
    el.button.disabled = true;
    const params = new URLSearchParams({ q: query, kind: el.kind.value });
    search.state.path = null; // the panel shows; the search runs once, below
    try {
      await C.setScope("search");
      await search.start("/api/console/search?" + params.toString());
    } finally {
      el.button.disabled = false;
    }
  }

  // ---- the finished list ----

  function filterParams() {
    const params = new URLSearchParams({ status: el.doneStatus.value });
    [
      ["from", el.doneFrom],
      ["to", el.doneTo],
      ["category", el.doneCategory],
      ["assignee", el.doneAssignee],
      ["priority", el.donePriority],
    ].forEach(function (pair) {
      if (pair[1].value) {
        params.set(pair[0], pair[1].value);
      }
    });
    return params;
  }

  function showFilterCount() {
    let n = el.doneStatus.value !== "done" ? 1 : 0;
    [el.doneFrom, el.doneTo, el.doneCategory, el.doneAssignee, el.donePriority].forEach(
      function (input) {
        n += input.value ? 1 : 0;
      }
    );
    el.doneFilterSummary.textContent = n ? TEXT.filtersOn(n) : "";
  }

  const done = pagedList(el.doneList, el.doneEmpty, el.donePager, el.doneSummary, function (data) {
    return TEXT.doneTotal(Number(data.total) || 0);
  });

  function fillSelect(select, values, names) {
    const kept = select.value;
    C.clear(select);
    const all = document.createElement("option");
    all.value = "";
    all.textContent = TEXT.allOption;
    select.appendChild(all);
    values.forEach(function (value) {
      const option = document.createElement("option");
      option.value = String(value);
      option.textContent = names && names[value] ? names[value] : String(value);
      select.appendChild(option);
    });
    select.value = values.indexOf(kept) >= 0 ? kept : "";
  }

  let optionsLoaded = false;

  async function loadOptions() {
    try {
      const data = await C.api("GET", "/api/console/done/options");
      fillSelect(el.doneCategory, Array.isArray(data.categories) ? data.categories : []);
      fillSelect(el.doneAssignee, Array.isArray(data.assignees) ? data.assignees : []);
      fillSelect(el.donePriority, Array.isArray(data.priorities) ? data.priorities : []);
      optionsLoaded = true;
    } catch (err) {
      if (!err.expired) {
        C.showError(err.message, "action");
      }
    }
  }

  function loadDone() {
    if (!optionsLoaded) {
      loadOptions();
    }
    if (done.state.path === null) {
      return done.start("/api/console/done?" + filterParams().toString());
    }
    return done.load();
  }
  C.addScope("done", el.donePanel, loadDone);

  function applyFilters(event) {
    if (event) {
      event.preventDefault();
    }
    showFilterCount();
    return done.start("/api/console/done?" + filterParams().toString());
  }

  // ---- wiring ----

  el.form.addEventListener("submit", runSearch);
  el.searchBack.addEventListener("click", function () {
    C.setScope("all");
  });
  el.doneForm.addEventListener("submit", applyFilters);
  el.doneReset.addEventListener("click", function () {
    el.doneForm.reset();
    applyFilters();
  });
})();
