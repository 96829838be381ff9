/* Agents' console of the campaign helpdesk: the ticket queue, one ticket's thread and clocks,
 * and the actions an agent takes on it.
 *
 * Plain ES2020, no dependencies, no requests other than to this page's own /api/console/
 * endpoints. The session is an HttpOnly cookie the server sets at login; this script never sees
 * it. Every piece of text from a customer, an agent or the server is put on the page with
 * textContent, never as HTML.
 */
(function () {
  "use strict";

  const REQUEST_TIMEOUT_MS = 20000;
  const REFRESH_MS = 10000;
  const TICK_MS = 1000;
  const NOTICE_MS = 4000;
  const NARROW_PX = 900;
  const TIME_ZONE = "Asia/Shanghai";

  const TEXT = {
    expired: "登录已过期，请重新登录",
    network: "网络异常，请检查网络后重试。",
    badResponse: "服务器返回的内容无法识别，请稍后重试。",
    serverError: function (status) {
      return "服务器出错了（HTTP " + status + "），请稍后重试。";
    },
    emptyToken: "请输入登录令牌。",
    loggingIn: "登录中…",
    login: "登录",
    roles: { agent: "客服", supervisor: "主管" },
    unassigned: "未分配",
    none: "—",
    paused: "已暂停",
    remaining: "剩余 ",
    overdue: "已超时 ",
    updatedAt: function (time) {
      return "更新于 " + time;
    },
    empty: "暂无",
    stateNames: {
      on_track: "正常",
      due_soon: "即将到期",
      breached: "已超时",
      paused: "已暂停",
      met: "已达标",
      cancelled: "已取消",
      none: "—",
    },
    resultNames: { met: "已达标", breached: "已超时", cancelled: "已取消" },
    kindNames: { customer: "客户", agent: "客服回复", note: "内部备注", system: "系统" },
    channels: { web: "网页", telegram: "Telegram", terminal: "终端" },
    usedMinutes: function (n) {
      return "用时 " + n + " 分钟";
    },
    cycle: function (n) {
      return "第 " + n + " 轮";
    },
    due: "到期：",
    fields: {
      type: "类型",
      priority: "优先级",
      status: "状态",
      assignee: "处理人",
      channel: "渠道",
      opened: "受理时间",
      orderNo: "订单号",
      merchant: "商户",
      phone: "联系电话",
      csat: "满意度",
      summary: "问题摘要",
    },
    csat: function (n) {
      return n + " 分";
    },
    revealPhone: "显示电话",
    phoneRevealed: "本次查看已记录",
    phoneCall: function (phone) {
      return "拨打 " + phone;
    },
    phoneAssigneeOnly: function (assignee) {
      return assignee ? "仅处理人（" + assignee + "）可查看" : "仅处理人可查看，认领后可显示";
    },
  };

  // What each action button sends and says; text "required", "optional" or "none".
  const ACTIONS = {
    reply: { text: "required", empty: "请先在输入框中填写要回复客户的内容。", done: "已回复客户。" },
    note: { text: "required", empty: "请先在输入框中填写备注内容。", done: "已添加内部备注。" },
    pending: { text: "optional", done: "已设为等待客户，时限暂停计时。" },
    close: { text: "required", empty: "办结前请在输入框中填写处理结果。", done: "工单已办结。" },
    claim: { text: "none", done: "已认领，工单由您处理。" },
    reopen: { text: "none", done: "工单已重新打开。" },
  };

  const $ = function (id) {
    return document.getElementById(id);
  };

  const el = {
    account: $("account"),
    whoami: $("whoami"),
    logout: $("logout"),
    error: $("error"),
    errorText: $("error-text"),
    errorClose: $("error-close"),
    notice: $("notice"),
    loginView: $("login-view"),
    loginForm: $("login-form"),
    loginMessage: $("login-message"),
    loginToken: $("login-token"),
    loginButton: $("login-button"),
    consoleView: $("console-view"),
    tabAll: $("tab-all"),
    tabMine: $("tab-mine"),
    tabDone: $("tab-done"),
    tabSupervisor: $("tab-supervisor"),
    queuePanel: $("queue-panel"),
    queueUpdated: $("queue-updated"),
    queue: $("queue"),
    queueEmpty: $("queue-empty"),
    supervisor: $("supervisor"),
    dueSoon: $("due-soon"),
    breachedToday: $("breached-today"),
    detail: $("detail"),
    detailPlaceholder: $("detail-placeholder"),
    detailBody: $("detail-body"),
    detailRef: $("detail-ref"),
    detailStatus: $("detail-status"),
    detailFields: $("detail-fields"),
    clocks: $("clocks"),
    thread: $("thread"),
    actionText: $("action-text"),
    closeResults: $("close-results"),
    buttons: {
      reply: $("btn-reply"),
      note: $("btn-note"),
      pending: $("btn-pending"),
      close: $("btn-close"),
      claim: $("btn-claim"),
      reopen: $("btn-reopen"),
    },
  };

  // ---- state ----

  let me = null; // {name, role} while logged in
  let scope = "all"; // "all" | "mine" | "supervisor"
  let selectedRef = null;
  let currentStatus = null;
  let skewMs = 0; // server clock minus this browser's clock
  let generation = 0; // bumped at every login and logout: late answers are dropped
  let queueSeq = 0;
  let detailSeq = 0;
  let supervisorSeq = 0;
  let queueKey = "";
  let threadKey = "";
  let busy = false;
  let refreshTimer = null;
  let tickTimer = null;
  let noticeTimer = null;
  let errorSource = null;
  let revealed = null; // {ref, phone}: the call-back number this agent chose to see
  // Lists that console-search.js adds: scope name -> {panel, load}.
  const extraScopes = {};

  // ---- messages ----

  // An error stays in the banner at the top of the screen until the person dismisses it or
  // another message replaces it; only an error of a background refresh goes by itself, once
  // a refresh succeeds again.
  function showError(message, source) {
    el.errorText.textContent = message;
    el.error.hidden = false;
    errorSource = source || "action";
  }

  function clearError(source) {
    if (source && errorSource !== source) {
      return;
    }
    el.errorText.textContent = "";
    el.error.hidden = true;
    errorSource = null;
  }

  function showNotice(message) {
    el.notice.textContent = message;
    el.notice.hidden = false;
    if (noticeTimer !== null) {
      clearTimeout(noticeTimer);
    }
    noticeTimer = setTimeout(function () {
      el.notice.hidden = true;
      el.notice.textContent = "";
      noticeTimer = null;
    }, NOTICE_MS);
  }

  // ---- talking to the server ----

  class ApiError extends Error {
    constructor(status, message, expired) {
      super(message);
      this.status = status;
      this.expired = Boolean(expired);
    }
  }

  async function readJson(response) {
    try {
      return await response.json();
    } catch (err) {
      return null;
    }
  }

  async function api(method, path, body, options) {
    const allow401 = Boolean(options && options.allow401);
    const gen = generation;
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
    const controller = new AbortController();
    init.signal = controller.signal;
    const timer = setTimeout(function () {
      controller.abort();
    }, REQUEST_TIMEOUT_MS);
    let response;
    try {
      response = await fetch(path, init);
    } catch (err) {
      throw new ApiError(0, TEXT.network);
    } finally {
      clearTimeout(timer);
    }
    const data = await readJson(response);
    if (response.status === 401 && !allow401) {
      if (gen === generation) {
        expire();
      }
      throw new ApiError(401, TEXT.expired, true);
    }
    if (!response.ok) {
      const message =
        data && typeof data.error === "string" && data.error.trim() !== ""
          ? data.error
          : TEXT.serverError(response.status);
      throw new ApiError(response.status, message);
    }
    if (data === null || typeof data !== "object") {
      throw new ApiError(response.status, TEXT.badResponse);
    }
    return data;
  }

  function ticketPath(ref, action) {
    return "/api/console/tickets/" + encodeURIComponent(ref) + (action ? "/" + action : "");
  }

  // ---- time ----

  function serverNow() {
    return Date.now() + skewMs;
  }

  function parseTime(value) {
    if (typeof value !== "string" || value === "") {
      return null;
    }
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? null : ms;
  }

  let dateFormat = null;
  try {
    dateFormat = new Intl.DateTimeFormat("zh-CN", {
      timeZone: TIME_ZONE,
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    });
  } catch (err) {
    dateFormat = null;
  }

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function formatTime(value) {
    const ms = parseTime(value);
    if (ms === null) {
      return TEXT.none;
    }
    if (dateFormat !== null) {
      const parts = {};
      dateFormat.formatToParts(new Date(ms)).forEach(function (p) {
        parts[p.type] = p.value;
      });
      return parts.month + "-" + parts.day + " " + parts.hour + ":" + parts.minute;
    }
    const d = new Date(ms);
    return pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + pad(d.getHours()) + ":" +
      pad(d.getMinutes());
  }

  function formatDuration(ms) {
    const total = Math.floor(ms / 1000);
    const days = Math.floor(total / 86400);
    const hours = Math.floor((total % 86400) / 3600);
    const minutes = Math.floor((total % 3600) / 60);
    const seconds = total % 60;
    if (days > 0) {
      return days + "天" + hours + "小时";
    }
    if (hours > 0) {
      return hours + "小时" + pad(minutes) + "分";
    }
    if (minutes > 0) {
      return minutes + "分" + pad(seconds) + "秒";
    }
    return seconds + "秒";
  }

  // The text and colour of a countdown to `due` (ms or null) for a clock in `state`.
  function countdown(due, state, now) {
    if (state === "paused") {
      return { text: TEXT.paused, state: "paused", seconds: null };
    }
    if (due === null || state === "none") {
      return { text: TEXT.none, state: "none", seconds: null };
    }
    const left = due - now;
    const seconds = Math.round(left / 1000);
    if (left >= 0) {
      const shown = state === "breached" ? "breached" : state || "on_track";
      return { text: TEXT.remaining + formatDuration(left), state: shown, seconds: seconds };
    }
    return { text: TEXT.overdue + formatDuration(-left), state: "breached", seconds: seconds };
  }

  const STATES = ["on_track", "due_soon", "breached", "paused", "none"];

  function setStateClass(node, state) {
    STATES.forEach(function (s) {
      node.classList.toggle("state-" + s, s === state);
    });
  }

  function paintCountdown(node, now) {
    const due = node.dataset.due ? Number(node.dataset.due) : null;
    const c = countdown(due, node.dataset.state || "none", now);
    if (node.textContent !== c.text) {
      node.textContent = c.text;
    }
    setStateClass(node, c.state);
    if (c.seconds === null) {
      node.removeAttribute("data-seconds");
    } else {
      node.setAttribute("data-seconds", String(c.seconds));
    }
    const row = node.closest(".ticket-row");
    if (row) {
      setStateClass(row, c.state);
    }
  }

  function makeCountdown(dueValue, state) {
    const node = document.createElement("span");
    node.className = "countdown";
    const due = parseTime(dueValue);
    if (due !== null) {
      node.dataset.due = String(due);
      node.title = TEXT.due + formatTime(dueValue);
    }
    node.dataset.state = typeof state === "string" ? state : "none";
    paintCountdown(node, serverNow());
    return node;
  }

  function tick() {
    const now = serverNow();
    document.querySelectorAll(".countdown").forEach(function (node) {
      paintCountdown(node, now);
    });
  }

  // ---- small DOM helpers ----

  function span(className, text) {
    const node = document.createElement("span");
    node.className = className;
    node.textContent = text === null || text === undefined ? "" : String(text);
    return node;
  }

  function clear(node) {
    while (node.firstChild) {
      node.removeChild(node.firstChild);
    }
  }

  function str(value) {
    return value === null || value === undefined || value === "" ? TEXT.none : String(value);
  }

  function kindOf(t) {
    return str(t.type) + "·" + str(t.category);
  }

  // ---- the ticket lists (queue and supervisor view) ----

  function ticketRow(t) {
    const row = document.createElement("li");
    row.className = "ticket-row";
    row.setAttribute("data-ref", String(t.reference));
    row.setAttribute("role", "button");
    row.tabIndex = 0;
    if (t.reference === selectedRef) {
      row.classList.add("selected");
      row.setAttribute("aria-current", "true");
    }

    const top = document.createElement("div");
    top.className = "row-top";
    top.appendChild(span("ref", t.reference));
    const priority = span("priority", t.priority);
    if (typeof t.priority === "string" && /^P[1-4]$/.test(t.priority)) {
      priority.classList.add("priority-" + t.priority.toLowerCase());
    }
    top.appendChild(priority);
    top.appendChild(makeCountdown(t.next_due, t.state));
    row.appendChild(top);

    const mid = document.createElement("div");
    mid.className = "row-mid";
    mid.appendChild(span("kind", kindOf(t)));
    mid.appendChild(span("status status-" + String(t.status), str(t.status_name)));
    row.appendChild(mid);

    const bottom = document.createElement("div");
    bottom.className = "row-bottom";
    bottom.appendChild(span("assignee", t.assignee ? t.assignee : TEXT.unassigned));
    if (t.clock_name) {
      bottom.appendChild(span("clock-name", t.clock_name));
    }
    row.appendChild(bottom);

    if (t.summary) {
      row.appendChild(span("summary", t.summary));
    }
    // The countdown was painted before it had a row: colour the row now.
    paintCountdown(top.querySelector(".countdown"), serverNow());

    row.addEventListener("click", function () {
      openTicket(String(t.reference));
    });
    row.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        openTicket(String(t.reference));
      }
    });
    return row;
  }

  function renderList(list, tickets) {
    clear(list);
    tickets.forEach(function (t) {
      if (t && typeof t.reference === "string") {
        list.appendChild(ticketRow(t));
      }
    });
  }

  function markSelected() {
    document.querySelectorAll(".ticket-row").forEach(function (row) {
      const on = row.getAttribute("data-ref") === selectedRef;
      row.classList.toggle("selected", on);
      if (on) {
        row.setAttribute("aria-current", "true");
      } else {
        row.removeAttribute("aria-current");
      }
    });
  }

  function handleBackgroundError(err) {
    if (!err.expired) {
      showError(err.message, "refresh");
    }
  }

  async function loadQueue() {
    const gen = generation;
    const seq = ++queueSeq;
    const wanted = scope === "mine" ? "mine" : "all";
    const sent = Date.now();
    let data;
    try {
      data = await api("GET", "/api/console/queue?scope=" + wanted);
    } catch (err) {
      if (gen === generation && seq === queueSeq) {
        handleBackgroundError(err);
      }
      return;
    }
    if (gen !== generation || seq !== queueSeq) {
      return;
    }
    const received = Date.now();
    const now = parseTime(data.now);
    if (now !== null) {
      skewMs = now - (sent + received) / 2;
    }
    clearError("refresh");
    const tickets = Array.isArray(data.tickets) ? data.tickets : [];
    const key = wanted + "|" + JSON.stringify(tickets);
    if (key !== queueKey) {
      queueKey = key;
      renderList(el.queue, tickets);
    }
    el.queueEmpty.hidden = tickets.length > 0;
    el.queueUpdated.textContent = TEXT.updatedAt(formatTime(new Date(serverNow()).toISOString()));
  }

  function fillSupervisorList(list, tickets) {
    renderList(list, tickets);
    if (list.children.length === 0) {
      const item = document.createElement("li");
      item.className = "empty";
      item.textContent = TEXT.empty;
      list.appendChild(item);
    }
  }

  async function loadSupervisor() {
    const gen = generation;
    const seq = ++supervisorSeq;
    let data;
    try {
      data = await api("GET", "/api/console/supervisor");
    } catch (err) {
      if (gen === generation && seq === supervisorSeq) {
        handleBackgroundError(err);
      }
      return;
    }
    if (gen !== generation || seq !== supervisorSeq) {
      return;
    }
    clearError("refresh");
    fillSupervisorList(el.dueSoon, Array.isArray(data.due_within_hour) ? data.due_within_hour : []);
    fillSupervisorList(
      el.breachedToday,
      Array.isArray(data.breached_today) ? data.breached_today : []
    );
  }

  function loadList() {
    if (extraScopes[scope]) {
      return extraScopes[scope].load();
    }
    return scope === "supervisor" ? loadSupervisor() : loadQueue();
  }

  function setScope(next) {
    if (next === "supervisor" && !(me && me.role === "supervisor")) {
      next = "all";
    }
    scope = next;
    [
      [el.tabAll, "all"],
      [el.tabMine, "mine"],
      [el.tabDone, "done"],
      [el.tabSupervisor, "supervisor"],
    ].forEach(function (pair) {
      const on = pair[1] === scope;
      pair[0].classList.toggle("active", on);
      pair[0].setAttribute("aria-selected", on ? "true" : "false");
    });
    el.queuePanel.hidden = scope !== "all" && scope !== "mine";
    el.supervisor.hidden = scope !== "supervisor";
    Object.keys(extraScopes).forEach(function (name) {
      extraScopes[name].panel.hidden = name !== scope;
    });
    queueKey = "";
    return loadList();
  }

  // ---- one ticket ----

  function addField(label, value) {
    const dt = document.createElement("dt");
    dt.textContent = label;
    const dd = document.createElement("dd");
    dd.textContent = str(value);
    el.detailFields.appendChild(dt);
    el.detailFields.appendChild(dd);
  }

  // ---- the call-back phone ----

  // The number shows masked. The agent working the ticket (its assignee, as the server
  // checks) may reveal it, and every look is audited; everyone else reads why they cannot.
  function isAssignee(t) {
    return me !== null && typeof t.assignee === "string" && t.assignee === me.name;
  }

  function renderPhone(dd, t) {
    clear(dd);
    const ref = String(t.reference);
    if (revealed !== null && revealed.ref === ref && isAssignee(t)) {
      const link = document.createElement("a");
      link.className = "phone-link";
      link.href = "tel:" + revealed.phone.replace(/[^0-9+]/g, "");
      link.textContent = revealed.phone;
      link.title = TEXT.phoneCall(revealed.phone);
      dd.appendChild(link);
      dd.appendChild(span("phone-note muted small", TEXT.phoneRevealed));
      return;
    }
    dd.appendChild(span("phone-masked", t.contact_phone));
    if (!isAssignee(t)) {
      dd.appendChild(span("phone-hint muted small", TEXT.phoneAssigneeOnly(t.assignee)));
      return;
    }
    const button = document.createElement("button");
    button.type = "button";
    button.className = "reveal-phone";
    button.textContent = TEXT.revealPhone;
    button.addEventListener("click", async function () {
      const gen = generation;
      button.disabled = true;
      try {
        const data = await api("POST", ticketPath(ref, "phone"), {});
        if (gen !== generation || ref !== selectedRef || typeof data.phone !== "string") {
          return;
        }
        revealed = { ref: ref, phone: data.phone };
        renderPhone(dd, t);
      } catch (err) {
        button.disabled = false;
        if (!err.expired) {
          showError(err.message, "action");
        }
      }
    });
    dd.appendChild(button);
  }

  function renderFields(t) {
    clear(el.detailFields);
    const f = TEXT.fields;
    addField(f.type, kindOf(t));
    addField(f.priority, t.priority);
    addField(f.status, t.status_name);
    addField(f.assignee, t.assignee ? t.assignee : TEXT.unassigned);
    addField(f.channel, TEXT.channels[t.channel] || t.channel);
    addField(f.opened, formatTime(t.opened_at));
    addField(f.orderNo, t.order_no);
    addField(f.merchant, t.merchant_name);
    addField(f.phone, t.contact_phone);
    if (t.contact_phone) {
      el.detailFields.lastChild.classList.add("phone");
      renderPhone(el.detailFields.lastChild, t);
    }
    addField(f.csat, typeof t.csat === "number" ? TEXT.csat(t.csat) : null);
    addField(f.summary, t.summary);
  }

  function renderClocks(clocks) {
    clear(el.clocks);
    clocks.forEach(function (c) {
      if (!c) {
        return;
      }
      const item = document.createElement("li");
      item.className = "clock";
      item.setAttribute("data-clock", String(c.clock));
      const head = document.createElement("div");
      head.className = "clock-head";
      head.appendChild(span("clock-name", c.clock_name || c.clock));
      if (typeof c.cycle === "number" && c.cycle > 1) {
        head.appendChild(span("clock-cycle", TEXT.cycle(c.cycle)));
      }
      // A stopped clock shows how it ended; a running one counts down.
      const outcome = c.result || (c.state === "met" || c.state === "cancelled" ? c.state : null);
      if (outcome) {
        const label = TEXT.resultNames[outcome] || String(outcome);
        head.appendChild(span("clock-result result-" + String(outcome), label));
      } else {
        head.appendChild(makeCountdown(c.due_at, c.state));
      }
      item.appendChild(head);

      const info = document.createElement("div");
      info.className = "clock-info";
      info.appendChild(span("clock-due", TEXT.due + formatTime(c.due_at)));
      info.appendChild(
        span("clock-state state-" + String(c.state), TEXT.stateNames[c.state] || str(c.state))
      );
      if (typeof c.used_minutes === "number") {
        info.appendChild(span("clock-used", TEXT.usedMinutes(Math.round(c.used_minutes))));
      }
      item.appendChild(info);
      el.clocks.appendChild(item);
    });
    if (el.clocks.children.length === 0) {
      const item = document.createElement("li");
      item.className = "empty";
      item.textContent = TEXT.empty;
      el.clocks.appendChild(item);
    }
  }

  function renderThread(thread, scrollToEnd) {
    const key = JSON.stringify(thread);
    if (key === threadKey && !scrollToEnd) {
      return;
    }
    threadKey = key;
    clear(el.thread);
    thread.forEach(function (entry) {
      if (!entry) {
        return;
      }
      const kind = ["customer", "agent", "note", "system"].indexOf(entry.kind) >= 0
        ? entry.kind
        : "system";
      const item = document.createElement("li");
      item.className = "entry " + kind;
      const meta = document.createElement("div");
      meta.className = "entry-meta";
      meta.appendChild(span("entry-kind", TEXT.kindNames[kind]));
      if (entry.author && kind !== "customer" && kind !== "system") {
        meta.appendChild(span("entry-author", entry.author));
      }
      meta.appendChild(span("entry-time", formatTime(entry.at)));
      item.appendChild(meta);
      item.appendChild(span("entry-text", entry.text));
      el.thread.appendChild(item);
    });
    if (scrollToEnd && el.thread.lastElementChild) {
      el.thread.lastElementChild.scrollIntoView({ block: "nearest" });
    }
  }

  // Which actions make sense in a status; the server has the last word.
  function updateButtons() {
    const s = currentStatus;
    const finished = s === "resolved" || s === "closed";
    const enabled = {
      reply: s !== "closed",
      note: true,
      pending: !finished,
      close: s !== "closed",
      claim: !finished,
      reopen: finished,
    };
    Object.keys(el.buttons).forEach(function (name) {
      el.buttons[name].disabled = busy || selectedRef === null || !enabled[name];
    });
    showResults();
  }

  function showDetail(shown) {
    el.detailBody.hidden = !shown;
    el.detailPlaceholder.hidden = shown;
  }

  async function loadDetail(scrollToEnd) {
    if (selectedRef === null) {
      return;
    }
    const gen = generation;
    const seq = ++detailSeq;
    const ref = selectedRef;
    let data;
    try {
      data = await api("GET", ticketPath(ref));
    } catch (err) {
      if (gen !== generation || seq !== detailSeq || err.expired) {
        return;
      }
      showError(err.message, err.status === 0 ? "refresh" : "action");
      if (err.status === 404) {
        selectedRef = null;
        currentStatus = null;
        showDetail(false);
        markSelected();
        updateButtons();
      }
      return;
    }
    if (gen !== generation || seq !== detailSeq || ref !== selectedRef) {
      return;
    }
    const t = data.ticket || {};
    el.detailRef.textContent = str(t.reference);
    el.detailStatus.textContent = str(t.status_name);
    el.detailStatus.className = "status-badge status-" + String(t.status);
    currentStatus = typeof t.status === "string" ? t.status : null;
    renderFields(t);
    renderClocks(Array.isArray(data.clocks) ? data.clocks : []);
    renderThread(Array.isArray(data.thread) ? data.thread : [], scrollToEnd);
    // Other parts of the page (console-files.js) show what else the detail holds.
    document.dispatchEvent(new CustomEvent("console:ticket-detail", { detail: data }));
    showDetail(true);
    updateButtons();
  }

  function openTicket(ref) {
    if (ref !== selectedRef) {
      threadKey = "";
      el.actionText.value = "";
      revealed = null;
    }
    selectedRef = ref;
    markSelected();
    loadDetail(true).then(function () {
      if (window.innerWidth < NARROW_PX && selectedRef === ref) {
        el.detail.scrollIntoView({ block: "start" });
      }
    });
  }

  async function act(name) {
    const spec = ACTIONS[name];
    if (busy || selectedRef === null || !spec) {
      return;
    }
    const text = el.actionText.value.trim();
    if (spec.text === "required" && text === "") {
      showError(spec.empty, "action");
      el.actionText.focus();
      return;
    }
    let body;
    if (spec.text === "required" || (spec.text === "optional" && text !== "")) {
      body = { text: text };
    } else if (spec.text === "optional") {
      body = {};
    }
    const gen = generation;
    const ref = selectedRef;
    busy = true;
    updateButtons();
    clearError();
    try {
      await api("POST", ticketPath(ref, name), body);
      if (gen !== generation) {
        return;
      }
      if (spec.text !== "none" && el.actionText.value.trim() === text) {
        el.actionText.value = "";
      }
      showNotice(spec.done);
    } catch (err) {
      if (gen === generation && !err.expired) {
        showError(err.message, "action");
      }
    } finally {
      if (gen === generation) {
        busy = false;
        updateButtons();
      }
    }
    if (gen === generation) {
      await Promise.all([loadDetail(true), loadList()]);
    }
  }

  // ---- usual close results ----

  // The desk's usual results of a close, as the Telegram card offers them. A press puts the
  // result in the box (replacing what was there); 办结 sends it, so the agent can still read
  // and change it first. Without them (an old server, a failed request) typing still works.
  let closeResults = [];

  async function loadCloseResults() {
    const gen = generation;
    let data;
    try {
      data = await api("GET", "/api/console/actions");
    } catch (err) {
      return;
    }
    const close = (Array.isArray(data.actions) ? data.actions : []).find(function (a) {
      return a && a.name === "close";
    });
    if (gen !== generation || !close || !Array.isArray(close.choices)) {
      return;
    }
    closeResults = close.choices.filter(function (c) {
      return c && typeof c.label === "string" && typeof c.text === "string" && c.text !== "";
    });
    renderCloseResults();
  }

  function renderCloseResults() {
    el.closeResults.querySelectorAll(".quick-result").forEach(function (b) {
      b.remove();
    });
    closeResults.forEach(function (c) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "quick-result";
      button.textContent = c.label;
      button.title = c.text;
      button.setAttribute("data-key", String(c.key));
      button.addEventListener("click", function () {
        el.actionText.value = c.text;
        el.actionText.focus();
      });
      el.closeResults.appendChild(button);
    });
    showResults();
  }

  function showResults() {
    el.closeResults.hidden =
      closeResults.length === 0 || selectedRef === null || currentStatus === "closed";
  }

  // ---- logging in and out ----

  function stopTimers() {
    if (refreshTimer !== null) {
      clearInterval(refreshTimer);
      refreshTimer = null;
    }
    if (tickTimer !== null) {
      clearInterval(tickTimer);
      tickTimer = null;
    }
  }

  function resetConsole() {
    stopTimers();
    generation += 1;
    me = null;
    selectedRef = null;
    currentStatus = null;
    revealed = null;
    queueKey = "";
    threadKey = "";
    busy = false;
    clear(el.queue);
    clear(el.dueSoon);
    clear(el.breachedToday);
    clear(el.thread);
    clear(el.clocks);
    clear(el.detailFields);
    el.queueEmpty.hidden = true;
    el.queueUpdated.textContent = "";
    el.actionText.value = "";
    showDetail(false);
    updateButtons();
    el.account.hidden = true;
    el.whoami.textContent = "";
    el.consoleView.hidden = true;
  }

  function showLogin(message) {
    resetConsole();
    el.loginView.hidden = false;
    el.loginMessage.textContent = message || "";
    el.loginMessage.hidden = !message;
    el.loginButton.disabled = false;
    el.loginButton.textContent = TEXT.login;
    el.loginToken.focus();
  }

  function expire() {
    if (me === null) {
      return;
    }
    clearError();
    showLogin(TEXT.expired);
  }

  function enterConsole(who) {
    resetConsole();
    me = { name: String(who.name || ""), role: who.role === "supervisor" ? "supervisor" : "agent" };
    el.whoami.textContent = me.name + "（" + TEXT.roles[me.role] + "）";
    el.account.hidden = false;
    el.tabSupervisor.hidden = me.role !== "supervisor";
    el.loginView.hidden = true;
    el.loginMessage.hidden = true;
    el.loginToken.value = "";
    el.consoleView.hidden = false;
    clearError();
    setScope("all");
    loadCloseResults();
    refreshTimer = setInterval(function () {
      loadList();
      if (!busy) {
        loadDetail(false);
      }
    }, REFRESH_MS);
    tickTimer = setInterval(tick, TICK_MS);
  }

  async function login() {
    const token = el.loginToken.value.trim();
    if (token === "") {
      showError(TEXT.emptyToken, "login");
      el.loginToken.focus();
      return;
    }
    el.loginButton.disabled = true;
    el.loginButton.textContent = TEXT.loggingIn;
    clearError();
    try {
      const who = await api("POST", "/api/console/login", { token: token }, { allow401: true });
      enterConsole(who);
    } catch (err) {
      showError(err.message, "login");
      el.loginToken.select();
    } finally {
      el.loginButton.disabled = false;
      el.loginButton.textContent = TEXT.login;
    }
  }

  async function logout() {
    el.logout.disabled = true;
    try {
      await api("POST", "/api/console/logout", undefined, { allow401: true });
    } catch (err) {
      // The session is forgotten on this page either way.
    } finally {
      el.logout.disabled = false;
    }
    clearError();
    showLogin("");
  }

  async function start() {
    try {
      const who = await api("GET", "/api/console/me", undefined, { allow401: true });
      enterConsole(who);
    } catch (err) {
      showLogin("");
      if (err.status !== 401) {
        showError(err.message, "login");
      }
    }
  }

  // ---- wiring ----

  el.loginForm.addEventListener("submit", function (event) {
    event.preventDefault();
    login();
  });
  el.logout.addEventListener("click", logout);
  el.tabAll.addEventListener("click", function () {
    setScope("all");
  });
  el.tabMine.addEventListener("click", function () {
    setScope("mine");
  });
  el.tabSupervisor.addEventListener("click", function () {
    setScope("supervisor");
  });
  el.tabDone.addEventListener("click", function () {
    setScope("done");
  });
  el.errorClose.addEventListener("click", function () {
    clearError();
  });
  Object.keys(el.buttons).forEach(function (name) {
    el.buttons[name].addEventListener("click", function () {
      act(name);
    });
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && me !== null) {
      loadList();
      loadDetail(false);
    }
  });

  // What console-search.js and console-incidents.js use of this page.
  window.helpdeskConsole = {
    api: api,
    showError: showError,
    clearError: clearError,
    formatTime: formatTime,
    span: span,
    clear: clear,
    str: str,
    kindOf: kindOf,
    openTicket: openTicket,
    markSelected: markSelected,
    selected: function () {
      return selectedRef;
    },
    isSignedIn: function () {
      return me !== null;
    },
    setScope: setScope,
    addScope: function (name, panel, load) {
      extraScopes[name] = { panel: panel, load: load };
    },
  };

  updateButtons();
  start();
})();
