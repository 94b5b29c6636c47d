// wxloan dashboard: draws /api/* with Chart.js. Every text goes in as text, never markup.
"use strict";

const FLOWS = { eligibility: "能否开通", rejection: "被拒诊断", limits: "提额", calculator: "还款计算" };
// the question a flow step asks (step ids as the dialogue records them)
const STEPS = {
  pay_score: "支付分", overdue: "有无逾期", inquiries_3m: "近三月查询次数", payments_per_week: "每周支付次数",
  pay_history_months: "支付历史", identity: "身份", materials: "补充资料", materials_lacking: "补充资料",
  lingqiantong_balance: "零钱通余额", ontime_periods: "按时还款期数", purpose: "借款用途",
  rejected_before: "是否被拒过", rejected_on: "被拒时间", rejection_hint: "被拒提示",
  real_name_verified: "实名认证", face_verified: "人脸识别", account_normal: "账户状态",
  verification: "实名与人脸", calc: "金额、期限、利率", "(no question)": "（没有在问的问题）",
};
// the scam patterns of knowledge/data/lexicon.toml ([scam.*]) and the two the answers add
const SCAMS = {
  upfront_fee: "先交费再放款", internal_channel: "内部渠道", fake_flow: "刷流水", verification_code: "索要验证码",
  safe_account: "安全账户", impersonation: "冒充客服/官方", phishing_link: "钓鱼链接", unknown_app: "陌生 App",
  credit_repair: "征信修复", campus_loan_cancel: "注销校园贷", refund: "退款理赔", general: "一般提醒",
  aftermath: "被骗之后",
};
const charts = {};
const state = { tab: "overview", page: 1, query: "", selected: null };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function days() { return document.getElementById("days").value; }

async function api(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  if (response.status === 401) { window.location.href = "/login?next=/"; throw new Error("unauthorised"); }
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

function draw(id, config) {
  if (charts[id]) charts[id].destroy();
  config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options || {});
  charts[id] = new window.Chart(document.getElementById(id), config);
}

function flowName(flow) { return FLOWS[flow] || flow || "—"; }
function fmt(value, unit = "") { return value === null || value === undefined ? "—" : `${value}${unit}`; }
function time(seconds) {
  return new Date(seconds * 1000).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false });
}

async function overview() {
  const s = await api(`/api/summary?days=${days()}`);
  const cards = document.getElementById("cards");
  cards.replaceChildren(...[
    ["用户", s.users, "users"], ["收到消息", s.messages_in, "messages_in"],
    ["发出回复", s.messages_out, "messages_out"], ["得到结论", s.verdicts, "verdicts"],
    ["没听懂", `${s.fallbacks}（${fmt(s.fallback_rate, "%")}）`, "fallbacks"],
    ["防骗提醒", s.scam_warnings, "scam_warnings"], ["转人工", s.handoffs, "handoffs"],
    ["耗时 p50 / p99", `${fmt(s.latency_ms.p50)} / ${fmt(s.latency_ms.p99)} ms`, "latency"],
  ].map(([label, value, id]) => el("div", { class: "card", "data-testid": `card-${id}` },
    el("span", { text: label }), el("strong", { text: String(value) }))));
  const labels = s.per_day.map((d) => d.day.slice(5));
  draw("chart-daily", { type: "bar", data: { labels, datasets: [
    { label: "收到", data: s.per_day.map((d) => d.messages_in), backgroundColor: "#07c160" },
    { label: "发出", data: s.per_day.map((d) => d.messages_out), backgroundColor: "#9be3bf" },
    { label: "用户", data: s.per_day.map((d) => d.users), type: "line", borderColor: "#576b95", backgroundColor: "#576b95", yAxisID: "y" },
  ] } });
  draw("chart-latency", { type: "line", data: { labels, datasets: [
    { label: "p50", data: s.per_day.map((d) => d.latency_ms.p50), borderColor: "#07c160", spanGaps: true },
    { label: "p99", data: s.per_day.map((d) => d.latency_ms.p99), borderColor: "#fa5151", spanGaps: true },
  ] } });
  const patterns = Object.keys(s.scam_patterns);
  draw("chart-scams", { type: "bar", data: { labels: patterns.map((p) => SCAMS[p] || p), datasets: [
    { label: "提醒次数", data: patterns.map((p) => s.scam_patterns[p]), backgroundColor: "#fa9d3b" },
  ] }, options: { indexAxis: "y" } });
  const o = s.outcomes;
  draw("chart-outcomes", { type: "bar", data: { labels: ["回复", "重复投递", "超时", "出错"], datasets: [
    { label: "次数", data: [o.replies, o.duplicates, o.late, o.errors], backgroundColor: ["#07c160", "#576b95", "#fa9d3b", "#fa5151"] },
  ] }, options: { plugins: { legend: { display: false } } } });
}

async function funnel() {
  const f = await api(`/api/funnel?days=${days()}`);
  document.getElementById("funnel-rows").replaceChildren(...f.flows.map((row) => el("tr",
    { "data-testid": `funnel-${row.flow}` },
    el("td", { text: flowName(row.flow) }), el("td", { text: String(row.started) }),
    el("td", { text: String(row.reached) }), el("td", { text: fmt(row.rate, "%") }),
    el("td", { text: fmt(row.median_turns) }),
    el("td", { text: row.stopped_at.slice(0, 3).map((s) => `${STEPS[s.step] || s.step} ×${s.users}`).join("，") || "—" }))));
  const most = Math.max(1, ...f.flows.flatMap((row) => row.turns_to_verdict.map((t) => t.turns)));
  const labels = Array.from({ length: most }, (_, i) => `${i + 1} 轮`);
  const colours = ["#07c160", "#576b95", "#fa9d3b", "#10aeff"];
  draw("chart-turns", { type: "bar", data: { labels, datasets: f.flows.map((row, i) => ({
    label: flowName(row.flow), backgroundColor: colours[i % colours.length],
    data: labels.map((_, n) => (row.turns_to_verdict.find((t) => t.turns === n + 1) || { users: 0 }).users),
  })) } });
}

async function understanding() {
  const u = await api(`/api/understanding?days=${days()}`);
  document.getElementById("export").setAttribute("href", `/api/understanding/export?days=${days()}`);
  document.getElementById("unsure-note").textContent =
    `没听懂、追问过或把握不大的消息 ${u.messages} 条` +
    (u.grouped < u.messages ? `，其中最近的 ${u.grouped} 条` : "") +
    `归成 ${u.group_count} 组（最常见的在前；已打码）。`;
  document.getElementById("group-rows").replaceChildren(...u.groups.map((g, i) => el("tr",
    { "data-testid": "group" },
    el("td", { text: String(i + 1) }), el("td", { text: String(g.messages) }),
    el("td", { text: String(g.users) }),
    el("td", { text: g.example, title: g.variants.map((v) => `${v.count}× ${v.text}`).join("\n") }),
    el("td", { text: g.guesses.map((x) => `${x.intent} ${x.confidence}`).join("，") || "（没有）" }))));
  const names = Object.keys(u.intents);
  draw("chart-intents", { type: "bar", data: { labels: names, datasets: [
    { label: "消息数", data: names.map((n) => u.intents[n]), backgroundColor: "#10aeff" },
  ] }, options: { indexAxis: "y", plugins: { legend: { display: false } } } });
}

async function conversations() {
  const q = encodeURIComponent(state.query);
  const list = await api(`/api/conversations?days=${days()}&q=${q}&page=${state.page}`);
  const pages = Math.max(1, Math.ceil(list.total / list.per_page));
  document.getElementById("page").textContent = `第 ${list.page} / ${pages} 页，共 ${list.total} 人`;
  document.getElementById("prev").disabled = list.page <= 1;
  document.getElementById("next").disabled = list.page >= pages;
  document.getElementById("conversation-rows").replaceChildren(...list.items.map((item) => {
    const row = el("tr", { "data-testid": "conversation", tabindex: "0" },
      el("td", { text: item.ref }), el("td", { text: item.openid, class: "openid" }),
      el("td", { text: time(item.last_seen) }), el("td", { text: String(item.messages) }),
      el("td", { text: flowName(item.flow) }), el("td", { text: item.verdict ? "有" : "—" }));
    row.addEventListener("click", () => show(item.ref));
    row.addEventListener("keydown", (event) => { if (event.key === "Enter") show(item.ref); });
    return row;
  }));
}

async function show(ref) {
  const c = await api(`/api/conversations/${encodeURIComponent(ref)}`);
  const chat = document.getElementById("chat");
  chat.replaceChildren(el("h2", { text: `对话 ${c.ref}`, "data-testid": "chat-title" }),
    ...c.messages.map((m) => {
      const hover = m.direction === "in"
        ? [`意图：${m.intent || "—"}`, `流程：${flowName(m.flow)}`, `耗时：${fmt(m.ms === undefined ? null : Math.round(m.ms), " ms")}`, time(m.created_at)].join("\n")
        : time(m.created_at);
      return el("div", { class: `bubble ${m.direction}`, title: hover, "data-testid": `bubble-${m.direction}` },
        el("p", { text: m.content || `[${m.msg_type}]` }));
    }));
}

const LOADERS = { overview, funnel, understanding, conversations };

async function load() {
  document.body.dataset.ready = "false";
  try {
    await LOADERS[state.tab]();
    document.body.dataset.error = "";
  } catch (error) {
    document.body.dataset.error = String(error);
  }
  document.body.dataset.ready = "true";
}

function select(tab) {
  state.tab = tab;
  for (const button of document.querySelectorAll("[data-tab]")) {
    button.setAttribute("aria-selected", String(button.dataset.tab === tab));
  }
  for (const section of document.querySelectorAll("main > section")) section.hidden = section.id !== tab;
  load();
}

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-tab]")) {
    button.addEventListener("click", () => select(button.dataset.tab));
  }
  document.getElementById("days").addEventListener("change", () => { state.page = 1; load(); });
  document.getElementById("search").addEventListener("submit", (event) => {
    event.preventDefault();
    state.query = document.getElementById("q").value;
    state.page = 1;
    load();
  });
  document.getElementById("prev").addEventListener("click", () => { state.page -= 1; load(); });
  document.getElementById("next").addEventListener("click", () => { state.page += 1; load(); });
  select("overview");
});
