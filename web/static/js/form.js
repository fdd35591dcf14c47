// The prompt form: live character count, examples, client-side checks, submit.
import { api, ApiError, formatSeconds } from "./api.js";
import { setupAdvanced } from "./advanced.js";
import { showCount } from "./dom.js";
import { EXAMPLES } from "./examples.js";

export const MAX_PROMPT = 500;
const MAX_SEED = 2147483647;

export function setupForm({ onSubmitted }) {
  const form = document.getElementById("generate-form");
  const prompt = document.getElementById("prompt");
  const count = document.getElementById("prompt-count");
  const genre = document.getElementById("genre");
  const seed = document.getElementById("seed");
  const submit = document.getElementById("submit");
  const error = document.getElementById("form-error");
  const status = document.getElementById("form-status");
  const advanced = setupAdvanced();
  let busy = false;
  let blockedUntil = 0;
  let countdown = null;

  function showError(message) {
    error.textContent = message;
    error.hidden = false;
  }

  function clearError() {
    error.hidden = true;
    error.textContent = "";
    prompt.removeAttribute("aria-invalid");
    seed.removeAttribute("aria-invalid");
    advanced.clearErrors();
  }

  function updateCount() {
    showCount(count, prompt.value.length, MAX_PROMPT);
  }

  function updateButton() {
    const waiting = Date.now() < blockedUntil;
    submit.disabled = busy || waiting;
    submit.textContent = busy ? "Submitting…" : "Generate";
    form.setAttribute("aria-busy", busy ? "true" : "false");
  }

  function blockFor(seconds) {
    blockedUntil = Date.now() + seconds * 1000;
    clearInterval(countdown);
    const tick = () => {
      const left = Math.ceil((blockedUntil - Date.now()) / 1000);
      if (left <= 0) {
        clearInterval(countdown);
        status.textContent = "You can submit again.";
      } else {
        status.textContent = `Generate is available again in ${formatSeconds(left)}.`;
      }
      updateButton();
    };
    countdown = setInterval(tick, 1000);
    tick();
  }

  // Examples: one click fills the prompt (and genre) and returns focus to it.
  const list = document.getElementById("examples");
  const genres = document.getElementById("genre-list");
  for (const example of EXAMPLES) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "chip";
    button.textContent = example.genre;
    button.title = example.prompt;
    button.setAttribute("aria-label", `Use example: ${example.prompt}`);
    button.addEventListener("click", () => {
      prompt.value = example.prompt;
      genre.value = example.genre.toLowerCase();
      updateCount();
      clearError();
      prompt.focus();
    });
    item.append(button);
    list.append(item);
    const option = document.createElement("option");
    option.value = example.genre.toLowerCase();
    genres.append(option);
  }

  prompt.addEventListener("input", updateCount);
  prompt.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  function collect() {
    const text = prompt.value.trim();
    if (!text) {
      prompt.setAttribute("aria-invalid", "true");
      prompt.focus();
      throw new ApiError("Please describe the music you want in the prompt.");
    }
    if (text.length > MAX_PROMPT) {
      prompt.setAttribute("aria-invalid", "true");
      prompt.focus();
      throw new ApiError(
        `The prompt is ${text.length} characters long; the limit is ${MAX_PROMPT}.`,
      );
    }
    const params = {
      prompt: text,
      duration: Number(form.querySelector("input[name=duration]:checked")?.value || 60),
    };
    if (genre.value.trim()) params.genre = genre.value.trim();
    const seedText = seed.value.trim();
    if (seedText) {
      if (!/^\d+$/.test(seedText) || Number(seedText) > MAX_SEED) {
        seed.setAttribute("aria-invalid", "true");
        seed.focus();
        throw new ApiError(`The seed must be a whole number from 0 to ${MAX_SEED}.`);
      }
      params.seed = Number(seedText);
    }
    return advanced.collect(params);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy || Date.now() < blockedUntil) return;
    clearError();
    let params;
    try {
      params = collect();
    } catch (err) {
      showError(err.message);
      return;
    }
    busy = true;
    status.textContent = "";
    updateButton();
    try {
      const accepted = await api.generate(params);
      status.textContent = "Queued. Your track is at the top of the list.";
      onSubmitted(accepted, params);
    } catch (err) {
      showError(err.message || "Something went wrong.");
      if (err.status === 429) blockFor(err.retryAfter ?? 10);
    } finally {
      busy = false;
      updateButton();
    }
  });

  updateCount();
  updateButton();
}
