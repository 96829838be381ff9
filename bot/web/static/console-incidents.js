// The console's incidents view (应急事件): the open incidents, declaring one, and working
// one through the emergency plan (ack, mitigate, resolve, level, progress, ETA, approval).
// It shares the console's session cookie; console.js owns sign-in and expiry.
(function () {
  "use strict";

  const REFRESH_MS = 5000;
  const COLOURS = { I: "#c62f2f", II: "#e8590c", III: "#d4a106", IV: "#1c7ed6" };
  const KINDS = {
    open: "发生",
    notify: "通知",
    ack: "确认",
    mitigate: "缓解",
    resolve: "解决",
    level: "级别",
    note: "进展",
    eta: "预计恢复",
    signal: "新信号",
    report: "报告",
  };
  const REPORTS = { first: "初报", follow_up: "续报", final: "终报" };
  const SOURCES = { declared: "人工上报", detected: "自动监测", alert: "外部告警" };
  const DONE = {
    ack: "已确认，预案通知链已停止。",
    mitigate: "已标记为已缓解。",
    resolve: "已标记为已解决，终报已起草。",
    up: "已升级。",
    down: "已降级。",
    note: "进展已写入时间线。",
    eta: "预计恢复时间已更新。",
    approve: "报告已审核，报送状态见下方“报送主管部门的报告”。",
  };

  const $ = function (id) {
    return document.getElementById(id);
  };
  const el = {
    loginView: $("login-view"),
    consoleView: $("console-view"),
    view: $("incidents-view"),
    viewTickets: $("view-tickets"),
    viewIncidents: $("view-incidents"),
    count: $("incident-count"),
    notice: $("incident-notice"),
    list: $("incident-list"),
    empty: $("incident-empty"),
    form: $("declare-form"),
    level: $("declare-level"),
    criteria: $("declare-criteria"),
    title: $("declare-title"),
    category: $("declare-category"),
    detail: $("declare-detail"),
    declareButton: $("declare-button"),
    box: $("incident-detail"),
    ref: $("incident-ref"),
    status: $("incident-status"),
    incidentTitle: $("incident-title"),
    facts: $("incident-facts"),
    text: $("incident-text"),
    timeline: $("incident-timeline"),
    reports: $("incident-reports"),
  };
  let levels = [];
  let selected = null;
  let timer = null;
  let busy = false;

  // Errors go to the console's banner at the top of the screen (console.js). A refresh's
  // error goes once a refresh works again; any other stays until dismissed or replaced.
  const shared = window.helpdeskConsole;

  function showError(message, source) {
    const from = source || "incidents";
    if (message) {
      shared.showError(message, from);
      el.notice.hidden = true;
    } else {
      shared.clearError(from);
    }
  }

  async function api(method, path, body) {
    const init = {
      method: method,
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      cache: "no-store",
    };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (err) {
      throw new Error("网络连接失败，请检查网络后重试。");
    }
    let data = null;
    try {
      data = await response.json();
    } catch (err) {
      data = null;
    }
    if (response.status === 401) {
      showView(false);
      throw new Error("登录已过期，请重新登录。");
    }
    if (!response.ok) {
      throw new Error(
        data && typeof data.error === "string" ? data.error : "服务器出错（" + response.status + "），请稍后重试。"
      );
    }
    return data;
  }

  function time(value) {
    if (!value) {
      return "—";
    }
    const d = new Date(value);
    const parts = new Intl.DateTimeFormat("zh-CN", {
      timeZone: "Asia/Shanghai",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hour12: false,
    }).format(d);
    return parts;
  }

  function clear(node) {
    while (node.firstChild) {
      node.removeChild(node.firstChild);
    }
  }

  function item(tag, className, text) {
    const node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function renderLevels() {
    clear(el.level);
    levels.forEach(function (l) {
      const option = item("option", "", l.label);
      option.value = l.key;
      el.level.appendChild(option);
    });
    if (levels.length) {
      el.level.value = "III";
    }
    showCriteria();
  }

  function showCriteria() {
    const found = levels.find(function (l) {
      return l.key === el.level.value;
    });
    el.criteria.textContent = found ? "适用情形：" + found.criteria : "";
  }

  function renderList(incidents) {
    clear(el.list);
    el.empty.hidden = incidents.length > 0;
    el.count.hidden = incidents.length === 0;
    el.count.textContent = String(incidents.length);
    incidents.forEach(function (i) {
      const row = item("li", "incident-row");
      row.tabIndex = 0;
      row.dataset.ref = i.reference;
      row.setAttribute("aria-selected", String(i.reference === selected));
      row.style.setProperty("--level-colour", COLOURS[i.level] || "");
      const head = item("div");
      head.appendChild(item("span", "level", i.label));
      head.appendChild(document.createTextNode(" " + i.reference + " · " + i.status_name));
      row.appendChild(head);
      row.appendChild(item("div", "", i.title));
      row.appendChild(
        item("div", "muted small", time(i.opened_at) + " · " + (SOURCES[i.source] || i.source))
      );
      (i.unsent_reports || []).forEach(function (r) {
        if (r.delivery !== "draft") {
          row.appendChild(item("div", "small unsent", r.name + "：" + r.delivery_name));
        }
      });
      const open = function () {
        selected = i.reference;
        loadDetail();
        loadList();
      };
      row.addEventListener("click", open);
      row.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          open();
        }
      });
      el.list.appendChild(row);
    });
  }

  async function loadList() {
    try {
      const data = await api("GET", "/api/console/incidents");
      if (!levels.length) {
        levels = data.levels || [];
        renderLevels();
      }
      renderList(data.incidents || []);
      showError("", "incidents-refresh");
    } catch (err) {
      showError(err.message, "incidents-refresh");
    }
  }

  function fact(label, value) {
    el.facts.appendChild(item("dt", "", label));
    el.facts.appendChild(item("dd", "", value));
  }

  function renderDetail(data) {
    const i = data.incident;
    el.box.hidden = false;
    el.ref.textContent = i.reference + " · " + i.label;
    el.status.textContent = i.status_name;
    el.status.dataset.status = i.status;
    el.incidentTitle.textContent = i.title;
    clear(el.facts);
    fact("类别", i.category || "—");
    fact("来源", SOURCES[i.source] || i.source);
    fact("发生时间", time(i.opened_at));
    fact("确认时间", time(i.acknowledged_at));
    fact("解决时间", time(i.resolved_at));
    fact("预计恢复", time(i.eta));
    fact("影响范围", "工单 " + data.tickets + " 件，用户 " + data.users + " 人，咨询 " + data.messages + " 条");
    clear(el.timeline);
    data.timeline.forEach(function (e) {
      const row = item("li", "entry");
      row.dataset.kind = e.kind;
      row.appendChild(item("div", "muted small", time(e.at) + " · " + (KINDS[e.kind] || e.kind)));
      row.appendChild(item("div", "", e.detail));
      el.timeline.appendChild(row);
    });
    clear(el.reports);
    data.reports.forEach(function (r) {
      const row = item("li");
      row.dataset.kind = r.kind;
      row.dataset.status = r.status;
      row.dataset.delivery = r.delivery;
      row.appendChild(
        item("strong", "", (REPORTS[r.kind] || r.kind) + "（第" + r.seq + "号） " + r.delivery_name)
      );
      if (r.due_at) {
        const late = r.deadline_met === false ? "（未按时报送）" : "";
        row.appendChild(item("div", "muted small", "报送时限：" + time(r.due_at) + late));
      }
      row.appendChild(item("pre", "", r.text));
      el.reports.appendChild(row);
    });
    const resolved = i.status === "resolved";
    el.box.querySelectorAll("button[data-action]").forEach(function (b) {
      const action = b.dataset.action;
      b.disabled =
        (resolved && action !== "note" && action !== "approve") ||
        (action === "ack" && i.status !== "open");
    });
  }

  async function loadDetail() {
    if (!selected) {
      el.box.hidden = true;
      return;
    }
    try {
      renderDetail(await api("GET", "/api/console/incidents/" + encodeURIComponent(selected)));
    } catch (err) {
      showError(err.message, "incidents-refresh");
    }
  }

  async function act(action) {
    if (busy || !selected) {
      return;
    }
    busy = true;
    try {
      await api(
        "POST",
        "/api/console/incidents/" + encodeURIComponent(selected) + "/" + action,
        { text: el.text.value.trim() }
      );
      el.text.value = "";
      showError("");
      el.notice.textContent = DONE[action] || "";
      el.notice.hidden = false;
      await loadDetail();
      await loadList();
    } catch (err) {
      showError(err.message);
    } finally {
      busy = false;
    }
  }

  async function declare(event) {
    event.preventDefault();
    const title = el.title.value.trim();
    if (!title) {
      showError("请填写事件标题，例如：平台无法领取补贴。");
      el.title.focus();
      return;
    }
    el.declareButton.disabled = true;
    try {
      const data = await api("POST", "/api/console/incidents", {
        level: el.level.value,
        title: title,
        category: el.category.value.trim() || null,
        detail: el.detail.value.trim(),
      });
      el.title.value = "";
      el.category.value = "";
      el.detail.value = "";
      selected = data.incident.reference;
      showError("");
      await loadList();
      await loadDetail();
    } catch (err) {
      showError(err.message);
    } finally {
      el.declareButton.disabled = false;
    }
  }

  function showView(incidents) {
    el.view.hidden = !incidents;
    el.consoleView.hidden = incidents || !el.loginView.hidden;
    el.viewIncidents.setAttribute("aria-pressed", String(incidents));
    el.viewTickets.setAttribute("aria-pressed", String(!incidents));
    if (timer) {
      clearInterval(timer);
      timer = null;
    }
    if (incidents) {
      loadList();
      loadDetail();
      timer = setInterval(function () {
        loadList();
        if (!busy) {
          loadDetail();
        }
      }, REFRESH_MS);
    }
  }

  el.viewIncidents.addEventListener("click", function () {
    showView(true);
  });
  el.viewTickets.addEventListener("click", function () {
    showView(false);
  });
  el.level.addEventListener("change", showCriteria);
  el.form.addEventListener("submit", declare);
  el.box.querySelectorAll("button[data-action]").forEach(function (b) {
    b.addEventListener("click", function () {
      act(b.dataset.action);
    });
  });
  // Signing out or an expired session shows the login form: leave this view too.
  new MutationObserver(function () {
    if (!el.loginView.hidden) {
      el.view.hidden = true;
      if (timer) {
        clearInterval(timer);
        timer = null;
      }
    }
  }).observe(el.loginView, { attributes: true, attributeFilter: ["hidden"] });
})();
