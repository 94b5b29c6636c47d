// wxloan simulator page: a WeChat-like chat window over the simulator's JSON API.
// Every text reaches the page through textContent, never innerHTML.
"use strict";

(() => {
  const byId = (id) => document.querySelector(`[data-testid="${id}"]`);
  const log = byId("chat-log");
  const input = byId("message-input");
  const channel = byId("channel-select");
  const mode = byId("mode-select");
  const format = byId("format-select");
  const save = byId("save-test");
  const status = byId("status");
  const slowMs = Number(document.body.dataset.slowMs || 4000);
  // Driving a running wxloan (--url): nothing reads its customer-service messages back.
  const remote = document.body.dataset.remote === "true";
  const NOT_READ = "；经客服消息接口发出的消息在这里读不到（连接的是运行中的 wxloan）";
  const MODE_NAMES = { plain: "明文模式", compat: "兼容模式", safe: "安全模式" };

  const state = {
    openid: document.body.dataset.openid,
    cursor: 0,
    seen: new Set(),
    lastTime: 0,
    polling: false,
    exchanges: [], // { id, label, inspect, messages } in the order sent
  };

  // Sent messages, oldest first, recalled with ↑/↓ as in a shell; kept across reloads.
  const HISTORY_KEY = "wxloan-simulator-history";
  const HISTORY_MAX = 100;
  const history = {
    items: loadHistory(),
    index: 0, // items.length means "the line being typed"
    draft: "",
  };
  history.index = history.items.length;

  function loadHistory() {
    try {
      const saved = JSON.parse(localStorage.getItem(HISTORY_KEY) || "[]");
      return Array.isArray(saved) ? saved.filter((x) => typeof x === "string") : [];
    } catch (error) {
      return [];
    }
  }

  function remember(text) {
    if (history.items[history.items.length - 1] !== text) history.items.push(text);
    history.items.splice(0, Math.max(0, history.items.length - HISTORY_MAX));
    history.index = history.items.length;
    history.draft = "";
    try {
      localStorage.setItem(HISTORY_KEY, JSON.stringify(history.items));
    } catch (error) {
      // storage full or disabled: the history still works for this page
    }
  }

  function recall(step) {
    const next = history.index + step;
    if (next < 0 || next > history.items.length) return false;
    if (history.index === history.items.length) history.draft = input.value;
    history.index = next;
    input.value = next === history.items.length ? history.draft : history.items[next];
    input.setSelectionRange(input.value.length, input.value.length);
    return true;
  }

  function make(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function scrollDown() {
    log.scrollTop = log.scrollHeight;
  }

  function formatMs(ms) {
    if (ms === null || ms === undefined) return "";
    return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
  }

  function stamp() {
    const now = Date.now();
    if (now - state.lastTime < 3 * 60 * 1000) return;
    state.lastTime = now;
    const time = new Date(now).toTimeString().slice(0, 5);
    log.append(make("li", "stamp", time));
  }

  function row(side, text) {
    stamp();
    const item = make("li", `row ${side}`);
    item.dataset.testid = side === "user" ? "row-user" : "row-bot";
    const avatar = make("span", `avatar ${side}`, side === "user" ? "我" : "贷");
    avatar.setAttribute("aria-hidden", "true");
    const column = make("div", "column");
    const bubble = make("div", "bubble", text);
    bubble.dataset.testid = side === "user" ? "bubble-user" : "bubble-bot";
    column.append(bubble);
    item.append(avatar, column);
    log.append(item);
    scrollDown();
    return { item, column, bubble };
  }

  function meta(column, source, latency, slow) {
    const line = make("div", slow ? "meta slow" : "meta");
    const timing = make("span", "latency", `${source} · ${formatMs(latency)}`);
    timing.dataset.testid = "latency";
    line.append(timing);
    if (slow) {
      const warn = make("span", "warning",
        `⚠ 超过 ${slowMs / 1000} 秒，接近微信 5 秒上限`);
      warn.dataset.testid = "slow-warning";
      line.append(warn);
    }
    column.append(line);
  }

  function note(text, kind, slow) {
    stamp();
    const item = make("li", `note ${kind || ""}`.trim());
    item.dataset.testid = "system-note";
    item.append(make("span", "", text));
    if (slow) {
      const warn = make("span", "warning", " ⚠ 接近微信 5 秒上限");
      warn.dataset.testid = "slow-warning";
      item.append(warn);
    }
    log.append(item);
    scrollDown();
    return item;
  }

  function typing() {
    const { item } = row("bot", "");
    item.classList.add("typing");
    item.dataset.testid = "typing";
    item.querySelector(".bubble").dataset.testid = "typing-bubble";
    return item;
  }

  function showMessages(messages) {
    const shown = [];
    for (const message of messages || []) {
      state.cursor = Math.max(state.cursor, message.index + 1);
      if (state.seen.has(message.index)) continue;
      state.seen.add(message.index);
      const { column, bubble } = row("bot", message.text);
      meta(column, "客服消息接口", message.latency_ms, message.slow);
      shown.push(bubble);
    }
    return shown;
  }

  function setStatus(text) {
    status.textContent = text;
  }

  function refreshSave(turns) {
    save.href = `/api/transcript?openid=${encodeURIComponent(state.openid)}`;
    const empty = !turns;
    save.classList.toggle("disabled", empty);
    save.setAttribute("aria-disabled", String(empty));
    save.dataset.turns = String(turns || 0);
  }

  // The chat's nodes for one answer: the reply (a bubble or a note) and any API messages.
  function render(data) {
    const reply = data.reply;
    const prefix = data.retry ? `重试（同一 MsgId ${data.msg_id ?? "事件"}）· ` : "";
    let shown;
    if (reply.kind === "text") {
      const { column, bubble } = row("bot", reply.text);
      meta(column, `${prefix}被动回复`, reply.latency_ms, reply.slow);
      shown = bubble;
    } else if (reply.kind === "transfer") {
      shown = note(`${prefix}转人工客服 transfer_customer_service · ${formatMs(reply.latency_ms)}`
        + (remote ? NOT_READ : ""), "", reply.slow);
    } else if (reply.kind === "success") {
      let how = data.channel === "mp" ? "，答案经客服消息接口送达" : "（无被动回复）";
      if (remote) how = NOT_READ;
      shown = note(`${prefix}webhook 回复 success · ${formatMs(reply.latency_ms)}${how}`, "",
        reply.slow);
    } else {
      shown = note(`${prefix}webhook 出错：${reply.text}`, "error");
    }
    const nodes = [shown, ...showMessages(data.messages)];
    if (!data.retry) refreshSave(data.turns);
    return nodes;
  }

  // -- the inspector: each exchange on the wire and decrypted ------------------------

  const inspector = byId("inspector");
  const exchangeList = byId("exchange-list");

  function describe(payload) {
    const mp = channel.value === "mp";
    if (payload.kind === "text") {
      const short = payload.text.length > 18 ? `${payload.text.slice(0, 18)}…` : payload.text;
      return `文本「${short}」`;
    }
    if (payload.kind === "click") return `菜单 CLICK ${payload.key}`;
    if (payload.kind === "subscribe") return mp ? "进入会话" : "关注";
    if (payload.kind === "image") return "图片";
    return "重试";
  }

  function addExchange(label, data, nodes) {
    const id = state.exchanges.length + 1;
    const exchange = {
      id, label, inspect: data.inspect, messages: data.messages || [],
      ms: data.reply.latency_ms,
    };
    state.exchanges.push(exchange);
    for (const node of nodes) {
      if (!node) continue;
      node.dataset.exchange = String(id);
      node.title = "点击在检查器里查看这次往来";
    }
    const button = make("button", "exchange", `#${id} ${exchange.label} · ${formatMs(exchange.ms)}`);
    button.type = "button";
    button.dataset.testid = "exchange-item";
    button.dataset.exchange = String(id);
    const item = make("li");
    item.append(button);
    exchangeList.append(item);
    byId("exchange-count").textContent = String(state.exchanges.length);
    select(id);
  }

  function fill(testid, text) {
    byId(testid).textContent = text;
  }

  function select(id) {
    const exchange = state.exchanges[id - 1];
    if (!exchange) return;
    for (const node of document.querySelectorAll("[data-exchange]")) {
      const on = node.dataset.exchange === String(id);
      node.classList.toggle("selected", on);
      if (node.dataset.testid === "exchange-item") node.setAttribute("aria-pressed", String(on));
    }
    const detail = byId("inspector-detail");
    const seen = exchange.inspect;
    detail.hidden = !seen;
    if (!seen) return;
    const { request, reply, timings } = seen;
    fill("request-encrypted", request.encrypted ? "加密 · msg_signature" : "明文 · signature");
    fill("request-line", `${request.line}\nContent-Type: ${request.content_type}`);
    fill("request-wire", request.wire);
    fill("request-plain", request.plain);
    fill("reply-status", `HTTP ${reply.status}`);
    fill("reply-plain", reply.plain || "（空）");
    fill("reply-wire", reply.wire || "（空）");
    fill("timing-build", formatExactMs(timings.build_ms));
    fill("timing-http", formatExactMs(timings.http_ms));
    fill("timing-read", formatExactMs(timings.read_ms));
    fill("timing-total", formatExactMs(timings.total_ms));
    const api = byId("api-messages");
    api.replaceChildren(...exchange.messages.map((message) => {
      const pre = make("pre", "wire", `POST /cgi-bin/message/custom/send\n${message.wire}`);
      pre.dataset.testid = "api-message";
      return pre;
    }));
    byId("inspector-api").hidden = exchange.messages.length === 0;
  }

  function formatExactMs(ms) {
    return `${Number(ms).toFixed(2)} ms`;
  }

  function clearExchanges() {
    state.exchanges = [];
    exchangeList.replaceChildren();
    byId("exchange-count").textContent = "0";
    byId("inspector-detail").hidden = true;
  }

  // Clicking a bubble or a note of the chat, or an entry of the list, selects its exchange.
  function onPick(event) {
    const hit = event.target.closest("[data-exchange]");
    if (!hit) return;
    select(Number(hit.dataset.exchange));
    if (hit.closest(".log")) inspector.open = true;
  }
  log.addEventListener("click", onPick);
  exchangeList.addEventListener("click", onPick);

  async function call(method, path, payload) {
    const options = { method, headers: { Accept: "application/json" } };
    if (payload !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(payload);
    }
    const response = await fetch(path, options);
    const data = await response.json();
    if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
    return data;
  }

  async function send(payload, echo) {
    const mine = echo === undefined ? null : row("user", echo).bubble;
    const pending = typing();
    const sender = state.openid;
    const label = describe(payload);
    setStatus("发送中…");
    try {
      const data = await call("POST", "/api/send", {
        openid: sender, channel: channel.value, mode: mode.value,
        format: format.value, ...payload,
      });
      pending.remove();
      if (sender !== state.openid) return; // answered after "new user": not this chat
      addExchange(label, data, [mine, ...render(data)]);
      setStatus("");
    } catch (error) {
      pending.remove();
      note(`出错：${error.message}`, "error");
      setStatus("");
    }
  }

  async function poll() {
    if (state.polling || remote) return;
    state.polling = true;
    try {
      const query = new URLSearchParams({ openid: state.openid, after: String(state.cursor) });
      const data = await call("GET", `/api/inbox?${query}`);
      if (data.openid === state.openid) {
        showMessages(data.messages);
        state.cursor = Math.max(state.cursor, data.cursor);
      }
    } catch (error) {
      setStatus(`收件箱：${error.message}`);
    } finally {
      state.polling = false;
    }
  }

  function describeChannel() {
    const mp = channel.value === "mp";
    format.disabled = !mp;
    const label = mp ? `小程序客服 · ${MODE_NAMES[mode.value]} · ${format.value.toUpperCase()}`
      : `公众号 · ${MODE_NAMES[mode.value]}`;
    byId("channel-label").textContent = label;
    byId("subscribe-button").textContent = mp ? "进入会话" : "关注";
    byId("menu").hidden = mp; // a mini-program chat has no Official Account menu
    return label;
  }

  byId("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    remember(text);
    send({ kind: "text", text }, text);
  });

  input.addEventListener("keydown", (event) => {
    if (event.isComposing || event.altKey || event.ctrlKey || event.metaKey) return;
    const step = { ArrowUp: -1, ArrowDown: 1 }[event.key];
    if (step !== undefined && recall(step)) event.preventDefault();
  });

  for (const button of document.querySelectorAll(".menu-button")) {
    button.addEventListener("click", () => {
      // WeChat shows no bubble for a menu click: only the account's answer appears.
      send({ kind: "click", key: button.dataset.key }, undefined);
    });
  }

  byId("subscribe-button").addEventListener("click", () => {
    note(channel.value === "mp" ? "你进入了客服会话" : "你关注了公众号");
    send({ kind: "subscribe" }, undefined);
  });
  byId("image-button").addEventListener("click", () => {
    send({ kind: "image" }, "［图片］");
  });
  byId("retry-button").addEventListener("click", () => {
    note("微信重试：以同一 MsgId 重发上一条");
    send({ kind: "retry" }, undefined);
  });
  byId("reset-button").addEventListener("click", async () => {
    const data = await call("POST", "/api/reset", {});
    state.openid = data.openid;
    state.cursor = data.cursor;
    state.seen.clear();
    state.lastTime = 0;
    log.replaceChildren();
    clearExchanges();
    byId("openid").textContent = state.openid;
    refreshSave(0);
    note(`新用户 ${state.openid}`);
  });
  save.addEventListener("click", (event) => {
    if (save.classList.contains("disabled")) event.preventDefault();
  });
  for (const select of [channel, mode, format]) {
    select.addEventListener("change", () => note(`已切换：${describeChannel()}`));
  }

  // On a phone-sized screen the panel and the inspector open over the chat.
  const toggle = byId("settings-toggle");
  function showSide(open) {
    document.body.classList.toggle("side-open", open);
    toggle.setAttribute("aria-expanded", String(open));
  }
  toggle.addEventListener("click", () => showSide(!document.body.classList.contains("side-open")));
  byId("settings-close").addEventListener("click", () => showSide(false));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") showSide(false);
  });

  describeChannel();
  refreshSave(0);
  if (remote) {
    note("连接的是运行中的 wxloan：经客服消息接口发出的消息（小程序的回答、超时兜底、转人工提示）"
      + "在这里读不到");
  }
  setInterval(poll, 1500);
  document.body.dataset.ready = "true";
})();
