// The ask page: a question streamed from POST /ask/stream (Server-Sent Events over fetch: EventSource cannot
// POST), its answer with numbered citations, feedback to POST /feedback, and the asker's recent questions.
import { Failure, askForKey, call, show, whoami } from "./session.js";

const $ = (id) => document.getElementById(id);
const form = $("ask-form");
const question = $("question");
const answer = $("answer");
const text = $("answer-text");
const RECENT = "askdocs.recent";
let interaction = null;
let me = null;

async function ask(event) {
  event.preventDefault();
  const asked = question.value.trim();
  if (!asked) return;
  const body = { question: asked };
  if ($("quote").checked) body.mode = "extractive";
  reset();
  busy(true, "Searching the documents…");
  const started = performance.now();
  try {
    const response = await call("/ask/stream", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    await read(response, started);
    remember(asked);
  } catch (error) {
    failed(error);
  } finally {
    busy(false);
  }
}

async function read(response, started) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let finished = false;
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch {
      break; // the connection dropped: said below
    }
    if (chunk.done) break;
    buffer += chunk.value;
    for (let cut = buffer.indexOf("\n\n"); cut >= 0; cut = buffer.indexOf("\n\n")) {
      const [name, data] = parse(buffer.slice(0, cut));
      buffer = buffer.slice(cut + 2);
      finished = handle(name, data, started) || finished;
    }
  }
  if (!finished) throw new Failure("The answer was cut off: the service stopped answering. Ask again.");
}

function parse(block) {
  let name = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) name = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
  }
  return [name, data.length ? JSON.parse(data.join("\n")) : null];
}

// One event of the stream; true once the answer is complete.
function handle(name, data, started) {
  if (name === "sources") {
    answer.hidden = false;
    show($("status"), data.length ? `Reading ${data.length} passages…` : "No passage is close enough…");
    $("sources-title").textContent = "Passages being read";
    $("sources").replaceChildren(...data.map(item));
  } else if (name === "token") {
    if (!answer.dataset.firstTokenMs) answer.dataset.firstTokenMs = Math.round(performance.now() - started);
    answer.dataset.tokens = Number(answer.dataset.tokens || 0) + 1;
    text.append(data.text);
  } else if (name === "done") {
    answer.dataset.doneMs = Math.round(performance.now() - started);
    finish(data);
    return true;
  } else if (name === "error") {
    throw new Failure(`The answer failed: ${data.detail}`);
  }
  return false;
}

function finish(data) {
  answer.hidden = false;
  answer.dataset.state = "done";
  text.classList.toggle("idk", data.idk);
  const cited = new Map(data.sources.map((s) => [s.n, s]));
  text.replaceChildren(...data.answer.split(/(\[\d+\])/).map((piece) => cite(piece, cited)));
  const shown = data.idk ? data.closest : data.sources;
  $("sources-title").textContent = data.idk
    ? shown.length
      ? "The documents do not answer this. The closest passages found:"
      : "The documents do not answer this, and nothing close was found."
    : "Sources";
  $("sources").replaceChildren(...shown.map(item));
  show($("answer-note"), note(data));
  show($("status"), "");
  interaction = data.interaction_id;
  if (interaction) answer.dataset.interactionId = interaction;
  $("feedback").hidden = !interaction;
}

function note(data) {
  const how = data.mode === "extractive" ? "quoted from the documents" : `written by the language model (${data.mode})`;
  const said = [`Answer ${how}, in ${Math.round(data.timings_ms.total)} ms.`];
  if (data.degraded) said.push(`The language model failed (${data.reason}), so the answer quotes the documents.`);
  if (data.uncited) said.push("It cites none of its sources: check it against them.");
  return said.join(" ");
}

// "[n]" as a link to source n, its passage in the link's title (shown on hover); other text as it is.
function cite(piece, cited) {
  const match = /^\[(\d+)\]$/.exec(piece);
  const source = match && cited.get(Number(match[1]));
  if (!source) return piece;
  const link = document.createElement("a");
  link.className = "cite";
  link.href = `#source-${source.n}`;
  link.title = source.snippet;
  link.textContent = piece;
  link.setAttribute("aria-label", `source ${source.n}: ${source.title || source.url_or_path}`);
  link.addEventListener("click", (event) => {
    event.preventDefault();
    const target = $(`source-${source.n}`);
    target.querySelector("details").open = true;
    target.focus();
  });
  return link;
}

function item(source) {
  const li = document.createElement("li");
  li.id = `source-${source.n}`;
  li.value = source.n;
  li.tabIndex = -1;
  li.className = source.cited ? "source cited" : "source";
  const web = /^https?:\/\//i.test(source.url_or_path);
  const title = document.createElement(web ? "a" : "span");
  title.className = "source-title";
  title.textContent = source.title || source.url_or_path;
  if (web) {
    title.href = source.url_or_path + (source.page ? `#page=${source.page}` : "");
    title.rel = "noreferrer";
    title.target = "_blank";
  }
  const where = document.createElement("span");
  where.className = "where";
  const page = source.page ? `page ${source.page}` : "";
  where.textContent = [web ? "" : source.url_or_path, page, source.heading].filter(Boolean).join(" · ");
  const details = document.createElement("details");
  const summary = document.createElement("summary");
  summary.textContent = "Passage";
  const quote = document.createElement("blockquote");
  quote.textContent = source.snippet;
  details.append(summary, quote);
  li.append(title, " ", where, details);
  return li;
}

async function rate(rating, extra = {}) {
  if (!interaction) return;
  const status = $("feedback-status");
  try {
    const response = await call("/feedback", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ interaction_id: interaction, rating, ...extra }),
    });
    const done = await response.json();
    for (const button of document.querySelectorAll("[data-rating]")) {
      button.setAttribute("aria-pressed", String(button.dataset.rating === rating));
    }
    show(status, done.replaced ? "Thanks: your new rating replaced the earlier one." : "Thanks: your rating was recorded.");
    status.dataset.rated = extra.corrected_answer ? "corrected" : rating;
  } catch (error) {
    show(status, error.message);
  }
}

function correct(event) {
  event.preventDefault();
  const comment = $("comment").value.trim();
  rate("not_helpful", { corrected_answer: $("corrected").value.trim(), ...(comment ? { comment } : {}) });
  $("correct").open = false;
}

// The asker's questions: from the interaction log for a known caller, else those asked in this browser.
async function recent() {
  let questions = [];
  if (me && me.name) {
    try {
      questions = (await (await call("/me/questions")).json()).map((q) => q.question);
    } catch {
      questions = [];
    }
  } else {
    questions = JSON.parse(localStorage.getItem(RECENT) || "[]");
  }
  list(questions);
}

function remember(asked) {
  const shown = [...$("recent").querySelectorAll("button")].map((b) => b.textContent);
  const questions = [asked, ...shown.filter((q) => q !== asked)].slice(0, 10);
  if (!(me && me.name)) localStorage.setItem(RECENT, JSON.stringify(questions));
  list(questions);
}

function list(questions) {
  const unique = [...new Set(questions)].slice(0, 10);
  $("recent").replaceChildren(
    ...unique.map((q) => {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "link";
      button.textContent = q;
      button.addEventListener("click", () => {
        question.value = q;
        form.requestSubmit();
      });
      li.append(button);
      return li;
    }),
  );
  $("recent-empty").hidden = unique.length > 0;
}

function reset() {
  interaction = null;
  answer.hidden = true;
  for (const key of ["state", "tokens", "firstTokenMs", "doneMs", "interactionId"]) delete answer.dataset[key];
  answer.dataset.asks = Number(answer.dataset.asks || 0) + 1; // what a test (or a reader of the DOM) waits on
  text.replaceChildren();
  text.classList.remove("idk");
  $("sources").replaceChildren();
  show($("notice"), "");
  show($("answer-note"), "");
  show($("feedback-status"), "");
  $("feedback").hidden = true;
  for (const button of document.querySelectorAll("[data-rating]")) button.setAttribute("aria-pressed", "false");
}

function busy(on, message = "") {
  text.setAttribute("aria-busy", String(on)); // a screen reader reads the answer once, when it is complete
  $("ask-button").disabled = on;
  if (message) show($("status"), message);
}

function failed(error) {
  show($("status"), "");
  show($("notice"), error.message || String(error));
  answer.dataset.state = "failed";
  if (error.status === 401) askForKey();
  if (error.status === 429 && error.retryAfter) wait(error.retryAfter);
}

// Rate limited: the Ask button comes back when the service said it would let the next question through.
function wait(seconds) {
  const button = $("ask-button");
  let left = seconds;
  const tick = () => {
    button.disabled = left > 0;
    button.textContent = left > 0 ? `Ask (in ${left} s)` : "Ask";
    left -= 1;
    if (left >= 0) setTimeout(tick, 1000);
  };
  setTimeout(tick, 0);
}

form.addEventListener("submit", ask);
question.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
});
for (const button of document.querySelectorAll("[data-rating]")) {
  button.addEventListener("click", () => rate(button.dataset.rating));
}
$("correct-form").addEventListener("submit", correct);

try {
  me = await whoami();
} catch (error) {
  show($("notice"), error.message);
}
await recent();
document.body.dataset.readyMs = Math.round(performance.now()); // from the navigation's start: docs/UI.md
document.body.dataset.ready = "true";
