// An admin page: its content is the fragment at data-part (rendered by the service, for admins only), fetched
// with the caller's key. Forms marked data-action are sent the same way and answer with the fragment anew;
// filter forms (method get) navigate, so a filtered page has its own address. A fragment holding an element
// with data-refresh (jobs still running) is fetched again after that many milliseconds.
import { askForKey, call, show, whoami } from "./session.js";

const part = document.getElementById("part");
const message = document.getElementById("message");
let timer = 0;

async function load(url, options = {}) {
  clearTimeout(timer);
  part.setAttribute("aria-busy", "true");
  try {
    const response = await call(url, options);
    part.innerHTML = await response.text(); // the service's own template, escaped there
    show(message, "");
    const refresh = part.querySelector("[data-refresh]");
    if (refresh) timer = setTimeout(() => load(part.dataset.part + location.search), Number(refresh.dataset.refresh));
    const focus = part.querySelector("[data-focus]");
    if (focus) focus.focus();
    part.dataset.loaded = String(Number(part.dataset.loaded || 0) + 1);
    return true;
  } catch (error) {
    if (options.method) show(message, error.message); // an action refused: the page stays as it was
    else refuse(error);
    if (error.status === 401) askForKey();
    return false;
  } finally {
    part.setAttribute("aria-busy", "false");
  }
}

// The fragment could not be had: say why, in place of the page.
function refuse(error) {
  const box = document.createElement("section");
  box.className = "refused";
  box.setAttribute("role", "alert");
  const title = document.createElement("h2");
  title.textContent = error.status === 403 ? "Admins only" : error.status === 401 ? "Sign in" : "Not available";
  const why = document.createElement("p");
  why.textContent = error.message;
  const next = document.createElement("p");
  const link = document.createElement("a");
  link.href = "/";
  link.textContent = "Ask a question";
  next.append(link, " instead, or use an admin key (under “API key” above).");
  box.append(title, why, next);
  part.replaceChildren(box);
  part.dataset.refused = String(error.status || 0);
}

part.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.matches("form[data-action]")) return;
  event.preventDefault();
  const buttons = form.querySelectorAll("button");
  for (const button of buttons) button.disabled = true;
  load(form.getAttribute("action"), { method: "POST", body: new FormData(form) }).finally(() => {
    for (const button of buttons) button.disabled = false;
  });
});

try {
  await whoami();
} catch {
  // said in the header; the fragment below says it again in place of the page
}
await load(part.dataset.part + location.search);
document.body.dataset.ready = "true";
