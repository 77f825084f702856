// The chat page: asks POST /v1/research and shows its server-sent events as they come.
"use strict";

const log = document.getElementById("log");
const form = document.getElementById("ask");
const input = document.getElementById("question");
const send = document.getElementById("send");
const modelSelect = document.getElementById("model");
const keyForm = document.getElementById("key-form");
const keyInput = document.getElementById("api-key");

let apiKey = sessionStorage.getItem("agentic-rag-key") || "";
let conversationId = sessionStorage.getItem("agentic-rag-conversation") || newConversationId();
let asking = false; // a question is running: the next one waits for its answer

function newConversationId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  const id = "web-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  sessionStorage.setItem("agentic-rag-conversation", id);
  return id;
}

document.getElementById("new-conversation").addEventListener("click", () => {
  conversationId = newConversationId();
  log.querySelectorAll(".turn").forEach((turn) => turn.remove());
  input.focus();
});

keyForm.addEventListener("submit", (event) => {
  event.preventDefault();
  apiKey = keyInput.value.trim();
  sessionStorage.setItem("agentic-rag-key", apiKey);
  keyForm.hidden = true;
});

input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    if (!asking) form.requestSubmit();
  }
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const question = input.value.trim();
  if (!question || asking) return;
  input.value = "";
  asking = send.disabled = true;
  try {
    await ask(question, newTurn(question));
  } finally {
    asking = send.disabled = false;
    input.focus();
  }
});

function newTurn(question) {
  const turn = document.getElementById("turn").content.firstElementChild.cloneNode(true);
  turn.querySelector(".question").textContent = question;
  log.appendChild(turn);
  turn.scrollIntoView({ block: "end" });
  return turn;
}

async function ask(question, turn) {
  const view = new TurnView(turn, question);
  const headers = { "Content-Type": "application/json" };
  if (apiKey) headers.Authorization = "Bearer " + apiKey;
  let response;
  try {
    response = await fetch("/v1/research", {
      method: "POST",
      headers,
      body: JSON.stringify({ question, model: modelSelect.value, conversation_id: conversationId }),
    });
  } catch (error) {
    view.error("the server cannot be reached (" + error.message + ")");
    return;
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    view.error((body.error && body.error.message) || response.statusText);
    if (response.status === 401) {
      keyForm.hidden = false;
      keyInput.focus();
    }
    return;
  }
  try {
    for await (const { event, data } of serverSentEvents(response)) {
      view.show(event, data);
    }
  } catch (error) {
    // a dropped connection or an event that is not JSON: say so rather than leave the turn hanging
    view.error("the answer stream broke off (" + error.message + ")");
  }
  view.finish();
}

// Server-sent events from a fetch response (EventSource cannot POST).
async function* serverSentEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) yield { event: name, data: JSON.parse(data.join("\n")) };
    }
  }
}

class TurnView {
  constructor(turn, question) {
    this.turn = turn;
    this.question = question;
    this.steps = turn.querySelector(".steps");
    this.text = turn.querySelector(".answer .text");
    this.panel = turn.querySelector(".citation");
    this.sources = turn.querySelector(".sources");
    this.meta = turn.querySelector(".meta");
    this.searches = new Map();
    this.answered = false;
    this.text.classList.add("writing");
  }

  step(kind, text, className) {
    const item = document.createElement("li");
    const label = document.createElement("span");
    label.className = "kind";
    label.textContent = kind;
    item.append(label, document.createTextNode(text));
    if (className) item.classList.add(className);
    this.steps.appendChild(item);
    return item;
  }

  show(event, data) {
    const quote = (q) => "\u201c" + q + "\u201d";
    // in a research run the loop's steps carry the number of their sub-question
    const tag = data.subquestion && event !== "subquestion_started" && event !== "subquestion_answered"
      ? "[" + data.subquestion + "] " : "";
    if (tag && event === "token") return; // a sub-answer shows in the report, not token by token
    const step = (kind, text, className) => this.step(kind, tag + text, className);
    switch (event) {
      case "research_plan":
        this.step("plan", data.subquestions.length + " sub-questions: " +
          data.subquestions.map((q, i) => (i + 1) + ". " + q).join("  "));
        break;
      case "subquestion_started":
        this.step("start", "[" + data.subquestion + "] " + data.question, "running");
        break;
      case "subquestion_answered":
        this.step("done", "[" + data.subquestion + "] " + (data.found ? "answered" : "not found in the sources"),
          data.found ? "" : "failed");
        break;
      case "plan":
        if (data.error) step("plan", "failed (" + data.error + "); searching the question", "failed");
        else step("plan", data.searches.length ? data.searches.map((s) => quote(s.query)).join(", ") : "no search needed");
        break;
      case "tool_started":
        this.searches.set(tag + data.tool + "\u0000" + data.query,
          step("search", data.tool + " " + quote(data.query) + " \u2026", "running"));
        break;
      case "tool_finished": {
        const key = tag + data.tool + "\u0000" + data.query;
        const item = this.searches.get(key) || step("search", "");
        const outcome = data.error ? "failed: " + data.error : data.found.length + " passages";
        item.lastChild.textContent = tag + data.tool + " " + quote(data.query) + " \u2192 " + outcome;
        item.classList.remove("running");
        if (data.error) item.classList.add("failed");
        this.searches.delete(key);
        break;
      }
      case "verdict":
        if (data.skipped) step("judge", "skipped (" + data.skipped + ")");
        else step("judge", data.relevant.length + " relevant; " +
          (data.sufficient ? "enough" : "not enough" + (data.next_query ? "; next: " + quote(data.next_query) : "")));
        break;
      case "refine":
        step("refine", data.stopped ? "stop (" + data.stopped.replace(/_/g, " ") + ")"
          : data.searches.map((s) => quote(s.query)).join(", "));
        break;
      case "token":
        if (data.reset) this.text.textContent = "";
        this.text.textContent += data.text;
        break;
      case "answer":
        this.render(data.answer);
        break;
      case "error":
        this.error(data.error ? data.error.message : "the run failed");
        break;
    }
  }

  render(answer) {
    this.answered = true;
    this.text.classList.remove("writing");
    this.text.replaceChildren();
    const byMarker = new Map(answer.citations.map((c) => [c.marker, c]));
    // Markdown for detailed answers and reports; every [n] marker a button that shows the passage it cites.
    const marker = (n) => (byMarker.has(n) ? this.markerButton(byMarker.get(n)) : null);
    if (answer.style === "short") this.text.append(...inlineNodes(answer.text, marker));
    else this.text.append(...markdownNodes(answer.text, marker));
    const unsupported = (answer.claims || []).filter((c) => c.markers.length && !c.supported);
    if (unsupported.length) {
      const warning = document.createElement("p");
      warning.className = "notice unsupported-claims";
      warning.textContent = unsupported.length + " of " + answer.claims.length +
        " claims are not supported by the passages they cite: " + unsupported.map((c) => c.text).join(" / ");
      this.meta.before(warning);
    }
    for (const citation of answer.style === "report" ? [] : answer.citations) { // a report lists its own
      const item = document.createElement("li");
      item.appendChild(this.markerButton(citation));
      item.appendChild(document.createTextNode(" " + citation.source));
      if (!citation.supported) item.classList.add("unsupported");
      this.sources.appendChild(item);
    }
    const u = answer.usage;
    const parts = [answer.exit_reason.replace(/_/g, " "), u.llm_calls + (u.llm_calls === 1 ? " LLM call" : " LLM calls"),
      u.prompt_tokens + " + " + u.completion_tokens + " tokens", u.seconds.toFixed(1) + " s"];
    if (answer.question !== this.question) parts.unshift("asked as: " + answer.question);
    this.meta.textContent = parts.join(" \u00b7 ");
    if (answer.notice) {
      const notice = document.createElement("p");
      notice.className = "notice";
      notice.textContent = answer.notice;
      this.meta.before(notice);
    }
    this.turn.scrollIntoView({ block: "end" });
  }

  markerButton(citation) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "marker";
    button.dataset.marker = citation.marker;
    button.textContent = "[" + citation.marker + "]";
    button.title = citation.source;
    button.addEventListener("click", () => this.showCitation(citation));
    return button;
  }

  showCitation(citation) {
    const open = !this.panel.hidden && this.panel.dataset.marker === String(citation.marker);
    this.panel.hidden = open;
    if (open) return;
    this.panel.dataset.marker = citation.marker;
    const heading = document.createElement("p");
    heading.className = "source";
    heading.textContent = "[" + citation.marker + "] " + citation.source + "  (" + citation.evidence_id + ")";
    const quote = document.createElement("blockquote");
    quote.textContent = citation.quote;
    this.panel.replaceChildren(heading, quote);
    if (!citation.supported) {
      const warning = document.createElement("p");
      warning.className = "warning";
      warning.textContent = "This passage does not clearly state the claim (" + citation.checked_by + " check).";
      this.panel.appendChild(warning);
    }
  }

  error(message) {
    this.text.classList.remove("writing");
    const item = this.step("error", message, "failed");
    item.setAttribute("role", "alert");
  }

  finish() {
    this.text.classList.remove("writing");
    this.steps.querySelectorAll(".running").forEach((item) => item.classList.remove("running"));
    if (!this.answered && !this.steps.querySelector(".failed")) this.error("the stream ended without an answer");
  }
}

// A small Markdown subset (headings, paragraphs, lists, tables, **bold**, *italic*, `code`) built as DOM
// nodes. Text only ever enters through text nodes, so nothing in an answer can become markup or script.
function markdownNodes(text, marker) {
  const nodes = [];
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  let paragraph = [];
  let list = null;
  const flush = () => {
    if (paragraph.length) nodes.push(element("p", inlineNodes(paragraph.join(" "), marker)));
    paragraph = [];
    list = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    const item = /^\s*([-*+]|\d+[.)])\s+(.*)$/.exec(line);
    if (!line.trim()) {
      flush();
    } else if (heading) {
      flush();
      nodes.push(element("h" + Math.min(heading[1].length + 1, 6), inlineNodes(heading[2], marker)));
    } else if (line.trim().startsWith("|") && i + 1 < lines.length && /^\s*\|?\s*:?-{2,}/.test(lines[i + 1])) {
      flush();
      const rows = [line];
      i += 1; // the separator row
      while (i + 1 < lines.length && lines[i + 1].trim().startsWith("|")) rows.push(lines[++i]);
      nodes.push(table(rows, marker));
    } else if (item) {
      if (paragraph.length) flush();
      const ordered = /\d/.test(item[1]);
      if (!list || list.ordered !== ordered) {
        list = { ordered, node: element(ordered ? "ol" : "ul", []) };
        nodes.push(list.node);
      }
      list.node.appendChild(element("li", inlineNodes(item[2], marker)));
    } else if (list && /^\s+\S/.test(line)) {
      list.node.lastChild.append(" ", ...inlineNodes(line.trim(), marker)); // an item's continued line
    } else {
      list = null;
      paragraph.push(line.trim());
    }
  }
  flush();
  return nodes;
}

function table(rows, marker) {
  const cells = (row) => row.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((c) => c.trim());
  const head = element("thead", [element("tr", cells(rows[0]).map((c) => element("th", inlineNodes(c, marker))))]);
  const body = element("tbody", rows.slice(1).map(
    (row) => element("tr", cells(row).map((c) => element("td", inlineNodes(c, marker))))));
  return element("table", [head, body]);
}

function inlineNodes(text, marker) {
  const nodes = [];
  for (const part of text.split(/(\*\*[^*]+\*\*|\*[^*\s][^*]*\*|`[^`]+`|\[\d+\])/)) {
    if (!part) continue;
    const cited = /^\[(\d+)\]$/.exec(part);
    const button = cited && marker(Number(cited[1]));
    if (button) nodes.push(button);
    else if (/^\*\*.+\*\*$/.test(part)) nodes.push(element("strong", [part.slice(2, -2)]));
    else if (/^\*.+\*$/.test(part)) nodes.push(element("em", [part.slice(1, -1)]));
    else if (/^`.+`$/.test(part)) nodes.push(element("code", [part.slice(1, -1)]));
    else nodes.push(document.createTextNode(part));
  }
  return nodes;
}

function element(tag, children) {
  const node = document.createElement(tag);
  node.append(...children); // strings become text nodes
  return node;
}
