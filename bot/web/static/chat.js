/* Web chat page of the campaign helpdesk.
 *
 * Plain ES2017, no dependencies, no requests other than to this page's own /api/ endpoints.
 * Every piece of text from the user or the server is put on the page with textContent, never as
 * HTML.
 */
(function () {
  "use strict";

  const SESSION_KEY = "helpdesk-session";
  const HISTORY_KEY = "helpdesk-history";
  const HISTORY_LIMIT = 200;
  const MAX_LENGTH = 2000;
  const REQUEST_TIMEOUT_MS = 30000;
  const DEFAULT_TITLE = "活动智能客服";
  const START_COMMAND = "/start";

  const TEXT = {
    network: "网络不稳定，消息没有发出去，请稍后重试。",
    retry: "重试",
    hint: "按 Enter 发送，Shift+Enter 换行",
    tooLong: function (n) {
      return "最多 " + MAX_LENGTH + " 字，已超出 " + n + " 字，请精简后再发送。";
    },
    confirmRestart: "确定要开始新的对话吗？当前页面上的记录将被清空。",
    attached: function (name) {
      return "📎 " + name;
    },
  };

  const messagesEl = document.getElementById("messages");
  const typingEl = document.getElementById("typing");
  const form = document.getElementById("composer");
  const input = document.getElementById("input");
  const sendButton = document.getElementById("send");
  const hintEl = document.getElementById("hint");
  const counterEl = document.getElementById("counter");
  const campaignEl = document.getElementById("campaign");
  const restartButton = document.getElementById("restart");
  const attachButton = document.getElementById("attach");
  const fileInput = document.getElementById("file");

  // ---- storage (localStorage may be unavailable, e.g. in some private modes) ----

  const memoryStore = {};

  function storageGet(key) {
    try {
      const value = window.localStorage.getItem(key);
      return value === null ? memoryStore[key] || null : value;
    } catch (err) {
      return memoryStore[key] || null;
    }
  }

  function storageSet(key, value) {
    memoryStore[key] = value;
    try {
      window.localStorage.setItem(key, value);
    } catch (err) {
      // Quota exceeded or storage disabled: the in-memory copy still serves this page.
    }
  }

  function storageRemove(key) {
    delete memoryStore[key];
    try {
      window.localStorage.removeItem(key);
    } catch (err) {
      // Nothing more to do.
    }
  }

  // ---- session id ----

  function randomHex(bytes) {
    let out = "";
    let i;
    if (window.crypto && typeof window.crypto.getRandomValues === "function") {
      const buf = new Uint8Array(bytes);
      window.crypto.getRandomValues(buf);
      for (i = 0; i < buf.length; i++) {
        out += (buf[i] < 16 ? "0" : "") + buf[i].toString(16);
      }
      return out;
    }
    for (i = 0; i < bytes; i++) {
      const b = Math.floor(Math.random() * 256);
      out += (b < 16 ? "0" : "") + b.toString(16);
    }
    return out;
  }

  function newSessionId() {
    // randomUUID exists only in secure contexts (https, localhost); plain http on a LAN
    // address falls back to random hex.
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      try {
        return window.crypto.randomUUID();
      } catch (err) {
        // Fall through to hex.
      }
    }
    return randomHex(16);
  }

  function loadSessionId() {
    let id = storageGet(SESSION_KEY);
    if (!id) {
      id = newSessionId();
      storageSet(SESSION_KEY, id);
    }
    return id;
  }

  let sessionId = loadSessionId();

  // ---- transcript kept across reloads, so a returning visitor sees the conversation ----

  function loadHistory() {
    const raw = storageGet(HISTORY_KEY);
    if (!raw) {
      return [];
    }
    try {
      const parsed = JSON.parse(raw);
      if (!Array.isArray(parsed)) {
        return [];
      }
      return parsed.filter(function (entry) {
        return entry && (entry.who === "user" || entry.who === "bot") &&
          typeof entry.text === "string";
      });
    } catch (err) {
      return [];
    }
  }

  let history = loadHistory();

  function remember(entry) {
    history.push(entry);
    if (history.length > HISTORY_LIMIT) {
      history = history.slice(history.length - HISTORY_LIMIT);
    }
    storageSet(HISTORY_KEY, JSON.stringify(history));
  }

  // ---- rendering ----

  function scrollToBottom() {
    messagesEl.scrollTop = messagesEl.scrollHeight;
  }

  function makeBubble(who, text, extraClass) {
    const item = document.createElement("div");
    item.className = "msg " + who + (extraClass ? " " + extraClass : "");
    const body = document.createElement("div");
    body.className = "text";
    body.textContent = text;
    item.appendChild(body);
    return item;
  }

  function appendUserBubble(text) {
    const item = makeBubble("user", text);
    messagesEl.appendChild(item);
    scrollToBottom();
    return item;
  }

  // A press names the reply its button was under (`replyId`, the server's id of it) and the
  // button's place there, so the server reads it by what it was for: 没帮助 under an earlier
  // answer rates that answer, even after other answers came. Without an id (a reply an agent
  // pushed, a page from before ids) the label is sent as text.
  function appendBotBubble(text, choices, enabled, replyId) {
    const item = makeBubble("bot", text);
    if (choices.length > 0) {
      const group = document.createElement("div");
      group.className = "choices";
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", "可选回复");
      choices.forEach(function (choice, index) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = choice;
        button.disabled = !enabled;
        button.addEventListener("click", function () {
          if (button.disabled) {
            return;
          }
          Array.prototype.forEach.call(group.querySelectorAll("button"), function (b) {
            b.disabled = true;
          });
          button.classList.add("chosen");
          button.setAttribute("aria-pressed", "true");
          const press = typeof replyId === "number" ? { reply: replyId, choice: index } : null;
          sendUserText(choice, press);
        });
        group.appendChild(button);
      });
      item.appendChild(group);
    }
    messagesEl.appendChild(item);
    scrollToBottom();
    return item;
  }

  // A retry re-sends the message with its first id, so the server answers it once and a
  // reply that was lost on the way (a timeout) comes back instead of a second answer.
  function appendErrorBubble(message, retryText, retryId, retryPress) {
    appendRetryBubble(message, retryText === null ? null : function () {
      deliver(retryText, retryId, retryPress);
    });
  }

  // `retry` (or null) sends the same message again, with its first id.
  function appendRetryBubble(message, retry) {
    const item = makeBubble("bot", message, "error");
    if (retry !== null) {
      const actions = document.createElement("div");
      actions.className = "actions";
      const button = document.createElement("button");
      button.type = "button";
      button.className = "retry";
      button.textContent = TEXT.retry;
      button.addEventListener("click", function () {
        button.disabled = true;
        if (item.parentNode) {
          item.parentNode.removeChild(item);
        }
        retry();
      });
      actions.appendChild(button);
      item.appendChild(actions);
    }
    messagesEl.appendChild(item);
    scrollToBottom();
    return item;
  }

  function normaliseChoices(value) {
    if (!Array.isArray(value)) {
      return [];
    }
    return value
      .filter(function (c) {
        return typeof c === "string" || typeof c === "number";
      })
      .map(String)
      .filter(function (c) {
        return c.trim() !== "";
      });
  }

  // ---- talking to the server ----

  let pending = 0;
  let queue = Promise.resolve();
  // Bumped by "新对话" so that answers still on their way for the old conversation are dropped.
  let generation = 0;

  function setTyping() {
    typingEl.hidden = pending === 0;
    if (pending > 0) {
      scrollToBottom();
    }
  }

  function fetchWithTimeout(url, options) {
    const controller = typeof AbortController === "function" ? new AbortController() : null;
    let timer = null;
    if (controller) {
      options.signal = controller.signal;
      timer = setTimeout(function () {
        controller.abort();
      }, REQUEST_TIMEOUT_MS);
    }
    function clear() {
      if (timer !== null) {
        clearTimeout(timer);
      }
    }
    return fetch(url, options).then(
      function (response) {
        clear();
        return response;
      },
      function (err) {
        clear();
        throw err;
      }
    );
  }

  async function readJson(response) {
    try {
      return await response.json();
    } catch (err) {
      return null;
    }
  }

  async function post(text, id, press) {
    const gen = generation;
    let response;
    try {
      response = await fetchWithTimeout("/api/messages", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(
          press ? { session: sessionId, text: text, id: id, press: press }
            : { session: sessionId, text: text, id: id }
        ),
        cache: "no-store",
        credentials: "same-origin",
      });
    } catch (err) {
      if (gen === generation) {
        appendErrorBubble(TEXT.network, text, id, press);
      }
      return;
    }
    const data = await readJson(response);
    if (gen !== generation) {
      return;
    }
    showAnswer(response, data, function () {
      deliver(text, id, press);
    });
  }

  // The server's replies to one message or upload, or why it refused it; `retry` sends the
  // same again where that can help.
  function showAnswer(response, data, retry) {
    if (response.ok && data && Array.isArray(data.replies)) {
      data.replies.forEach(function (reply) {
        if (!reply) {
          return;
        }
        const replyText = reply.text === undefined || reply.text === null ? "" : String(reply.text);
        const choices = normaliseChoices(reply.choices);
        if (replyText === "" && choices.length === 0) {
          return;
        }
        const replyId = typeof reply.reply === "number" ? reply.reply : null;
        appendBotBubble(replyText, choices, true, replyId);
        remember({ who: "bot", text: replyText, choices: choices, reply: replyId });
      });
      return;
    }
    const status = response.status;
    if (status >= 400 && status < 500 && data && typeof data.error === "string" && data.error) {
      // The server refused this message for a reason it explained (too long, too many...).
      // Only waiting can help with a timeout or a rate limit, so only those offer a retry.
      const retryable = status === 408 || status === 429;
      appendRetryBubble(data.error, retryable ? retry : null);
      return;
    }
    if (status === 503 && data && typeof data.error === "string" && data.error) {
      // The database is away for a moment: nothing was kept, the same message can go again.
      appendRetryBubble(data.error, retry);
      return;
    }
    appendRetryBubble(TEXT.network, retry);
  }

  // ---- photos, files and voice notes ----
  // Kept with the customer's open ticket; without one the server says what to do instead.

  async function postFile(file, id) {
    const gen = generation;
    const form = new FormData();
    form.append("session", sessionId);
    form.append("id", id);
    form.append("file", file, file.name);
    function retry() {
      deliverFile(file, id);
    }
    let response;
    try {
      response = await fetchWithTimeout("/api/messages/file", {
        method: "POST",
        headers: { Accept: "application/json" },
        body: form,
        cache: "no-store",
        credentials: "same-origin",
      });
    } catch (err) {
      if (gen === generation) {
        appendRetryBubble(TEXT.network, retry);
      }
      return;
    }
    const data = await readJson(response);
    if (gen === generation) {
      showAnswer(response, data, retry);
    }
  }

  function deliverFile(file, retryId) {
    const id = retryId || newSessionId();
    pending += 1;
    attachButton.disabled = true;
    setTyping();
    queue = queue
      .then(function () {
        return postFile(file, id);
      })
      .catch(function () {
        appendRetryBubble(TEXT.network, function () {
          deliverFile(file, id);
        });
      })
      .then(function () {
        pending -= 1;
        attachButton.disabled = false;
        setTyping();
      });
    return queue;
  }

  attachButton.addEventListener("click", function () {
    fileInput.click();
  });

  fileInput.addEventListener("change", function () {
    const file = fileInput.files && fileInput.files[0];
    fileInput.value = "";
    if (!file) {
      return;
    }
    const label = TEXT.attached(file.name || "");
    appendUserBubble(label);
    remember({ who: "user", text: label });
    deliverFile(file, null);
  });

  // Messages go out one at a time, in the order they were written.
  function deliver(text, retryId, press) {
    const id = retryId || newSessionId();
    pending += 1;
    setTyping();
    queue = queue
      .then(function () {
        return post(text, id, press || null);
      })
      .catch(function () {
        appendErrorBubble(TEXT.network, text, id, press || null);
      })
      .then(function () {
        pending -= 1;
        setTyping();
      });
    return queue;
  }

  function sendUserText(text, press) {
    appendUserBubble(text);
    remember({ who: "user", text: text });
    deliver(text, null, press || null);
  }

  // ---- composer ----

  function lengthOf(text) {
    // Count characters as the server does (code points), not UTF-16 units.
    return Array.from(text).length;
  }

  function updateComposer() {
    const n = lengthOf(input.value);
    const over = n - MAX_LENGTH;
    counterEl.textContent = n > 0 ? n + "/" + MAX_LENGTH : "";
    if (over > 0) {
      hintEl.textContent = TEXT.tooLong(over);
      hintEl.classList.add("warn");
      counterEl.classList.add("warn");
      input.setAttribute("aria-invalid", "true");
    } else {
      if (hintEl.classList.contains("warn")) {
        hintEl.textContent = TEXT.hint;
      }
      hintEl.classList.remove("warn");
      counterEl.classList.remove("warn");
      input.removeAttribute("aria-invalid");
    }
    sendButton.disabled = over > 0;
    autoResize();
  }

  function autoResize() {
    input.style.height = "auto";
    const max = 140;
    input.style.height = Math.min(input.scrollHeight, max) + "px";
    input.style.overflowY = input.scrollHeight > max ? "auto" : "hidden";
  }

  function submitInput() {
    const text = input.value.replace(/^\s+|\s+$/g, "");
    if (text === "") {
      input.value = "";
      updateComposer();
      input.focus();
      return;
    }
    if (lengthOf(text) > MAX_LENGTH) {
      updateComposer();
      input.focus();
      return;
    }
    input.value = "";
    updateComposer();
    sendUserText(text);
    input.focus();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    submitInput();
  });

  input.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.shiftKey) {
      return;
    }
    // Enter that confirms an IME candidate (pinyin input) must not send the message.
    if (event.isComposing || event.keyCode === 229) {
      return;
    }
    event.preventDefault();
    submitInput();
  });

  input.addEventListener("input", updateComposer);

  restartButton.addEventListener("click", function () {
    if (history.length > 0 && !window.confirm(TEXT.confirmRestart)) {
      return;
    }
    generation += 1;
    history = [];
    storageRemove(HISTORY_KEY);
    sessionId = newSessionId();
    storageSet(SESSION_KEY, sessionId);
    while (messagesEl.firstChild) {
      messagesEl.removeChild(messagesEl.firstChild);
    }
    deliver(START_COMMAND);
    input.focus();
  });

  // ---- campaign name ----

  async function loadCampaignName() {
    try {
      const response = await fetchWithTimeout("/api/info", {
        headers: { Accept: "application/json" },
        cache: "no-store",
        credentials: "same-origin",
      });
      if (!response.ok) {
        return;
      }
      const data = await readJson(response);
      if (data && typeof data.campaign === "string" && data.campaign.trim() !== "") {
        campaignEl.textContent = data.campaign.trim();
      }
    } catch (err) {
      // Keep the default title.
    }
  }

  // ---- replies from a person ----
  // An agent working this user's ticket writes from the console or the agents' chat; the
  // page asks every few seconds for what arrived and shows it like any bot reply.

  const PUSH_INTERVAL_MS = 4000;

  async function pollPushed() {
    if (document.hidden) {
      return;
    }
    try {
      const response = await fetchWithTimeout(
        "/api/messages?session=" + encodeURIComponent(sessionId),
        { headers: { Accept: "application/json" }, cache: "no-store", credentials: "same-origin" }
      );
      if (!response.ok) {
        return;
      }
      const data = await readJson(response);
      if (!data || !Array.isArray(data.replies)) {
        return;
      }
      data.replies.forEach(function (reply) {
        const replyText = reply && reply.text ? String(reply.text) : "";
        const choices = normaliseChoices(reply && reply.choices);
        if (replyText === "" && choices.length === 0) {
          return;
        }
        appendBotBubble(replyText, choices, true);
        remember({ who: "bot", text: replyText, choices: choices });
      });
    } catch (err) {
      // The next poll tries again.
    }
  }

  setInterval(pollPushed, PUSH_INTERVAL_MS);

  // ---- start ----

  campaignEl.textContent = DEFAULT_TITLE;
  hintEl.textContent = TEXT.hint;
  loadCampaignName();
  updateComposer();

  if (history.length === 0) {
    // A new conversation: let the bot greet and ask who is asking.
    deliver(START_COMMAND);
  } else {
    history.forEach(function (entry, index) {
      if (entry.who === "user") {
        appendUserBubble(entry.text);
      } else {
        // Only the latest reply's buttons still make sense to press.
        const isLast = index === history.length - 1;
        const replyId = typeof entry.reply === "number" ? entry.reply : null;
        appendBotBubble(entry.text, normaliseChoices(entry.choices), isLast, replyId);
      }
    });
  }
})();
