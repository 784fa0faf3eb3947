// Who is asking, and every request the pages make. The caller is an API key kept in this browser (sent as the
// API's own Authorization header), or nobody: behind the company's sign-in proxy, the proxy adds the user and
// groups to each request on its way. The pages hold no data of their own; all of it comes through `call`.

const STORE = "askdocs.key";

export function apiKey() {
  try {
    return localStorage.getItem(STORE) || "";
  } catch {
    return "";
  }
}

export class Failure extends Error {
  constructor(message, status = 0, retryAfter = 0) {
    super(message);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

// fetch with the key; a refusal or a failure becomes a Failure that says what happened and what to do.
export async function call(url, options = {}) {
  const headers = { "X-Askdocs-Page": "1", ...(options.headers || {}) };
  const key = apiKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  let response;
  try {
    response = await fetch(url, { ...options, headers });
  } catch {
    throw new Failure("The service cannot be reached: check your connection, or whether askdocs is running.");
  }
  if (!response.ok) throw await failure(response);
  return response;
}

async function failure(response) {
  let detail = "";
  try {
    detail = describe((await response.json()).detail);
  } catch {
    detail = "";
  }
  const wait = Number(response.headers.get("Retry-After") || 0);
  return new Failure(explain(response.status, detail, wait), response.status, wait);
}

function describe(detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return detail.map((e) => `${(e.loc || []).slice(1).join(".")}: ${e.msg}`).join("; ");
  return detail ? JSON.stringify(detail) : "";
}

function explain(status, detail, wait) {
  if (status === 401 && /needs an API key/.test(detail)) {
    return "This service needs an API key: enter yours under “API key” above.";
  }
  if (status === 401) return `Your API key was refused: ${detail}. Enter another under “API key” above.`;
  if (status === 429) return `Too many requests: ${detail || `retry in ${wait} s`}.`;
  if (status === 502 || status === 503) return `The service cannot answer right now: ${detail}.`;
  if (status >= 500) return `The service failed (HTTP ${status}): ${detail || "see its log"}.`;
  return detail || `The request was refused (HTTP ${status}).`;
}

// The header's sign-in: a key typed once is kept in localStorage until forgotten.
function setUpSignIn() {
  const form = document.getElementById("key-form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    localStorage.setItem(STORE, document.getElementById("key").value.trim());
    location.reload();
  });
  document.getElementById("forget-key").addEventListener("click", () => {
    localStorage.removeItem(STORE);
    location.reload();
  });
}

export function askForKey() {
  const details = document.getElementById("signin");
  details.open = true;
  document.getElementById("key").focus();
}

// Who the service says the caller is, shown in the header; null when it cannot tell (no key, not reachable).
export async function whoami() {
  setUpSignIn();
  const who = document.getElementById("who");
  try {
    const me = await (await call("/me")).json();
    who.textContent = caption(me);
    if (me.admin) document.querySelector(".admin-nav").hidden = false;
    return me;
  } catch (error) {
    who.textContent = error.status === 401 ? "Not signed in" : "";
    if (error.status === 401) askForKey();
    throw error;
  }
}

function caption(me) {
  const groups = me.groups.length ? `; groups ${me.groups.join(", ")}` : "";
  if (me.scope === "anonymous") return "Open service: no key needed";
  if (me.scope === "proxy") return `Signed in as ${me.name}${groups}`;
  return `Key “${me.name}” (${me.scope}${groups})`;
}

export function show(element, text) {
  element.textContent = text;
  element.hidden = !text;
}
