// This session's jobs, newest first, kept live with server-sent events.
//
// Browsers allow only ~6 HTTP/1.1 connections per origin, so at most
// MAX_STREAMS jobs get an EventSource; any others, and any whose stream drops,
// are polled every POLL_MS instead.
import { api, formatSeconds } from "./api.js";
import { renderDetails } from "./details.js";
import { el } from "./dom.js";
import { renderTrack } from "./track.js";

const PAGE = 10;
const MAX_STREAMS = 3;
const POLL_MS = 5000;
const TERMINAL = new Set(["finished", "failed", "canceled"]);
const DERIVED = { extend: "Extension", repaint: "Repaint", cover: "Cover" };
const LABELS = {
  queued: "Queued",
  started: "Generating",
  finished: "Ready",
  failed: "Failed",
  canceled: "Canceled",
};
const EVENTS = ["queued", "started", "progress", "finished", "failed", "canceled"];

function when(iso) {
  if (!iso) return null;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return null;
  return el("time", { datetime: iso, text: date.toLocaleString() });
}

export class JobList {
  constructor() {
    this.list = document.getElementById("job-list");
    this.empty = document.getElementById("empty");
    this.more = document.getElementById("more");
    this.totalLabel = document.getElementById("jobs-total");
    this.error = document.getElementById("list-error");
    this.jobs = new Map(); // id -> job JSON
    this.items = new Map(); // id -> <li>
    this.watchers = new Map(); // id -> {source?, timer?}
    this.total = 0;
    this.loading = false;
    this.more.addEventListener("click", () => this.loadMore());
    window.addEventListener("pagehide", () => this.stopAll());
  }

  // --- loading --------------------------------------------------------------
  async reload() {
    this.stopAll();
    this.jobs.clear();
    this.items.clear();
    this.list.replaceChildren();
    await this.loadPage(0);
  }

  async loadMore() {
    await this.loadPage(this.items.size);
  }

  async loadPage(offset) {
    if (this.loading) return;
    this.loading = true;
    this.list.setAttribute("aria-busy", "true");
    try {
      const page = await api.listJobs(PAGE, offset);
      this.hideError();
      this.total = page.total;
      for (const job of page.jobs) this.upsert(job, { append: true });
    } catch (err) {
      this.showError(`Could not load your tracks. ${err.message}`);
    } finally {
      this.loading = false;
      this.list.removeAttribute("aria-busy");
      this.updateFooter();
    }
  }

  showError(message) {
    this.error.textContent = message;
    this.error.hidden = false;
  }

  hideError() {
    this.error.hidden = true;
    this.error.textContent = "";
  }

  updateFooter() {
    const shown = this.items.size;
    this.empty.hidden = shown > 0 || this.loading;
    this.more.hidden = shown >= this.total;
    this.totalLabel.textContent = this.total ? `${this.total} in this session` : "";
  }

  // --- a new submission ---------------------------------------------------
  addSubmitted(accepted, params) {
    this.total += 1;
    this.upsert(
      {
        job_id: accepted.job_id,
        status: accepted.status || "queued",
        queue_position: accepted.queue_position,
        estimated_wait: accepted.estimated_wait,
        ...params,
        seed: accepted.seed,
        genre: params.genre ?? null,
        created_at: new Date().toISOString(),
      },
      { append: false },
    );
    this.updateFooter();
  }

  // An edit of a finished track (edit.js): a job like any other, shown at the top.
  async submitEdit(body) {
    const accepted = await api.generate(body);
    this.hideError();
    this.addSubmitted(accepted, body);
  }

  // --- rendering -------------------------------------------------------------
  upsert(update, { append = false } = {}) {
    const id = update.job_id;
    const old = this.jobs.get(id) || {};
    const job = { ...old, ...update };
    // The wait estimate comes once (on submit or a stream's first event): count it down.
    if (update.estimated_wait != null) job.readyBy = Date.now() + update.estimated_wait * 1000;
    delete job.estimated_wait;
    if (update.status && update.status !== "queued") {
      delete job.queue_position;
      delete job.readyBy;
    }
    this.jobs.set(id, job);
    const previous = this.items.get(id);
    const fresh = this.render(job, previous);
    if (previous) {
      if (fresh !== previous) {
        const focused = previous.contains(document.activeElement) ? document.activeElement : null;
        previous.replaceWith(fresh);
        // Keep keyboard focus on the same control across a re-render.
        const same = focused && focused.className && fresh.querySelector(`.${focused.className.split(" ").join(".")}`);
        if (same) same.focus();
      }
    } else if (append) {
      this.list.append(fresh);
    } else {
      this.list.prepend(fresh);
    }
    this.items.set(id, fresh);
    if (TERMINAL.has(job.status)) this.stopWatching(id);
    else this.watch(id);
  }

  render(job, previous) {
    // A finished card keeps its <audio> element (and playback) once built,
    // unless its waveform has only now arrived.
    const drawn = Array.isArray(job.peaks) ? "1" : "0";
    if (previous && previous.dataset.status === "finished" && job.status === "finished"
        && previous.dataset.peaks === drawn) {
      return previous;
    }
    const status = job.status;
    const item = el("li", {
      class: `job status-${status}`,
      "data-job-id": job.job_id,
      "data-status": status,
      "data-peaks": drawn,
      "aria-labelledby": `job-${job.job_id}-prompt`,
    });
    const meta = [`${job.duration ?? "?"} s`];
    if (job.genre) meta.push(job.genre);
    // A finished track says its seed once, in its details.
    if (job.seed != null && status !== "finished") meta.push(`seed ${job.seed}`);
    item.append(
      el(
        "div",
        { class: "job-head" },
        el("span", { class: `badge badge-${status}`, text: LABELS[status] || status }),
        el("span", { class: "job-meta", text: meta.join(" · ") }),
        when(job.created_at),
      ),
      el("p", { class: "job-prompt", id: `job-${job.job_id}-prompt`, text: job.prompt || "" }),
    );
    if (job.source_job) {
      // Derived from another track: say which (by its prompt when it is listed here).
      item.dataset.source = job.source_job;
      const source = this.jobs.get(job.source_job);
      const name = source && source.prompt ? `“${source.prompt}”` : job.source_job;
      item.append(el("p", { class: "derived",
        text: `${DERIVED[job.task] || "Edit"} of ${name}` }));
    }
    item.append(this.renderState(job));
    return item;
  }

  renderState(job) {
    const box = el("div", { class: "job-state" });
    switch (job.status) {
      case "queued": {
        const parts = [];
        if (job.queue_position) parts.push(`Position ${job.queue_position} in the queue`);
        else parts.push("Waiting in the queue");
        if (job.readyBy != null) {
          const left = Math.max(1, Math.round((job.readyBy - Date.now()) / 1000));
          parts.push(`ready in about ${formatSeconds(left)}`);
        }
        const cancel = el("button", {
          type: "button",
          class: "quiet cancel",
          text: "Cancel",
          "aria-label": `Cancel: ${job.prompt || job.job_id}`,
        });
        cancel.addEventListener("click", () => this.cancel(job.job_id, cancel));
        box.append(el("p", { class: "queue-info", text: parts.join(" · ") }), cancel);
        break;
      }
      case "started": {
        const percent = Math.max(0, Math.min(100, job.progress ?? 0));
        const label = `job-${job.job_id}-progress`;
        box.append(
          el("label", { for: label, class: "progress-label", text: `Generating… ${percent}%` }),
          el("progress", { id: label, max: "100", value: String(percent) }),
        );
        break;
      }
      case "finished": {
        if (job.expired || !job.audio_url) {
          box.append(el("p", { class: "hint", text: "The audio has expired and was deleted." }));
          break;
        }
        box.append(renderTrack(job, { onEdit: (body) => this.submitEdit(body) }),
          renderDetails(job));
        break;
      }
      case "failed":
        box.append(el("p", { class: "job-error", text: job.error || "Generation failed." }));
        break;
      case "canceled":
        box.append(el("p", { class: "hint", text: "Canceled before it started." }));
        break;
      default:
        break;
    }
    return box;
  }

  async cancel(id, button) {
    button.disabled = true;
    button.textContent = "Canceling…";
    try {
      await api.cancelJob(id);
      this.hideError();
      this.upsert({ job_id: id, status: "canceled" });
    } catch (err) {
      this.showError(`Could not cancel: ${err.message}`);
      button.disabled = false;
      button.textContent = "Cancel";
      this.refreshOne(id);
    }
  }

  // --- live updates ------------------------------------------------------------
  streamCount() {
    let n = 0;
    for (const w of this.watchers.values()) if (w.source) n += 1;
    return n;
  }

  watch(id) {
    if (this.watchers.has(id)) return;
    if (typeof EventSource === "function" && this.streamCount() < MAX_STREAMS) {
      this.openStream(id);
    } else {
      this.poll(id);
    }
  }

  openStream(id) {
    const source = new EventSource(api.eventsUrl(id));
    const watcher = { source };
    this.watchers.set(id, watcher);
    const onEvent = (event) => {
      let data;
      try {
        data = JSON.parse(event.data);
      } catch {
        return;
      }
      this.upsert({ ...data, job_id: id, status: data.status || this.jobs.get(id)?.status });
    };
    for (const name of EVENTS) source.addEventListener(name, onEvent);
    source.addEventListener("error", () => {
      // Dropped or refused: poll instead (the server also ends streams after a while).
      if (this.watchers.get(id) !== watcher) return;
      source.close();
      this.watchers.delete(id);
      this.poll(id);
    });
  }

  poll(id) {
    const watcher = { timer: null };
    this.watchers.set(id, watcher);
    const tick = async () => {
      if (this.watchers.get(id) !== watcher) return;
      const done = await this.refreshOne(id);
      if (!done && this.watchers.get(id) === watcher) {
        watcher.timer = setTimeout(tick, POLL_MS);
      }
    };
    watcher.timer = setTimeout(tick, POLL_MS);
  }

  async refreshOne(id) {
    try {
      const job = await api.getJob(id);
      this.upsert(job);
      return TERMINAL.has(job.status);
    } catch (err) {
      if (err.status === 404 || err.status === 403) {
        this.stopWatching(id);
        return true;
      }
      return false; // offline or a server hiccup: try again next tick
    }
  }

  stopWatching(id) {
    const watcher = this.watchers.get(id);
    if (!watcher) return;
    this.watchers.delete(id);
    if (watcher.source) watcher.source.close();
    if (watcher.timer) clearTimeout(watcher.timer);
    // A stream slot is free: move a polled job onto a stream.
    for (const [other, w] of this.watchers) {
      if (!w.source && this.streamCount() < MAX_STREAMS && typeof EventSource === "function") {
        clearTimeout(w.timer);
        this.watchers.delete(other);
        this.openStream(other);
        break;
      }
    }
  }

  stopAll() {
    for (const watcher of this.watchers.values()) {
      if (watcher.source) watcher.source.close();
      if (watcher.timer) clearTimeout(watcher.timer);
    }
    this.watchers.clear();
  }
}
