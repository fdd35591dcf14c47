// Editing a finished track: Extend, Repaint (a range dragged on the waveform) and
// Cover, each sent as an ordinary POST /api/generate with `task` and `source_job`;
// and the strip that shows an edit's kept and new segments on the track's time axis.
import { el, clock } from "./dom.js";

export const MIN_REPAINT_S = 3;
export const MAX_REPAINT_S = 90;
const DRAG_PX = 4; // a press that moves less is a click (seek), not a range

const KIND_LABEL = { kept: "Kept from the source", new: "New" };

export function validSegments(job) {
  const list = Array.isArray(job.segments) ? job.segments : [];
  return list.filter((s) => s && (s.kind === "kept" || s.kind === "new")
    && Number.isFinite(s.start) && Number.isFinite(s.end) && s.end > s.start);
}

// Kept and new parts of an edit, as proportional blocks under the waveform.
export function segmentStrip(segments) {
  const strip = el("ol", { class: "segments", "aria-label": "What this edit kept and made new" });
  return {
    node: strip,
    layout(total) {
      strip.replaceChildren();
      for (const s of segments) {
        const item = el("li", { class: "segment", "data-kind": s.kind,
          title: `${KIND_LABEL[s.kind]} ${clock(s.start)}–${clock(s.end)}`,
          text: s.kind === "new" ? "new" : "" });
        item.style.left = `${(s.start / total) * 100}%`;
        item.style.width = `${((Math.min(s.end, total) - s.start) / total) * 100}%`;
        strip.append(item);
      }
    },
  };
}

// A range dragged across the waveform (seconds, to 0.1 s). A plain click still
// seeks: the track's click handler asks `consumeDrag()` first.
export function rangeSelect(canvas, totalSeconds, onChange) {
  const shade = el("div", { class: "range", hidden: true, "aria-hidden": "true" });
  let from = null;
  let range = null;
  let dragged = false;
  const at = (event) => {
    const box = canvas.getBoundingClientRect();
    const f = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
    return { x: event.clientX, s: Math.round(f * totalSeconds() * 10) / 10 };
  };
  const draw = () => {
    const total = totalSeconds();
    shade.hidden = !range || !(total > 0);
    if (!shade.hidden) {
      shade.style.left = `${(range.start / total) * 100}%`;
      shade.style.width = `${((range.end - range.start) / total) * 100}%`;
    }
  };
  canvas.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    from = at(event);
    dragged = false;
  });
  canvas.addEventListener("pointermove", (event) => {
    if (from == null || !(event.buttons & 1)) return;
    const now = at(event);
    if (!dragged && Math.abs(now.x - from.x) < DRAG_PX) return;
    dragged = true;
    range = { start: Math.min(from.s, now.s), end: Math.max(from.s, now.s) };
    draw();
    onChange(range);
  });
  window.addEventListener("pointerup", () => { from = null; });
  return {
    node: shade,
    get range() { return range; },
    redraw: draw,
    consumeDrag() {
      const was = dragged;
      dragged = false;
      return was;
    },
  };
}

function panel(name, ...children) {
  return el("form", { class: `edit-panel edit-${name}`, hidden: true, novalidate: true },
    ...children);
}

// The Extend / Repaint / Cover buttons and their small forms. `submit(body)` sends
// the request and resolves when it was accepted (or throws an Error to show).
export function editActions(job, selection, submit) {
  const label = job.prompt || job.job_id;
  const box = el("div", { class: "edit-actions" });
  const error = el("p", { class: "edit-error", role: "alert", hidden: true });
  const buttons = el("div", { class: "edit-buttons", role: "group",
    "aria-label": `Edit: ${label}` });
  const panels = {};

  const open = (name) => {
    for (const [key, node] of Object.entries(panels)) node.hidden = key !== name || !node.hidden;
    for (const b of buttons.children) {
      b.setAttribute("aria-expanded", String(!panels[b.dataset.edit].hidden));
    }
    error.hidden = true;
  };
  const send = async (form, body) => {
    const go = form.querySelector("button[type=submit]");
    go.disabled = true;
    error.hidden = true;
    try {
      await submit({ task: form.dataset.task, source_job: job.job_id, ...body });
      form.hidden = true;
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    } finally {
      go.disabled = false;
    }
  };

  // Extend: 30 or 60 s more, from the default point (the outro) unless a second is given.
  const by = el("select", { name: "extend_by", "aria-label": "Seconds to add" },
    el("option", { value: "30", text: "30 s" }), el("option", { value: "60", text: "60 s" }));
  const from = el("input", { type: "number", name: "extend_from", min: "1",
    max: String(Math.floor(job.duration || 240)), step: "1", placeholder: "auto",
    "aria-label": "Keep the first seconds (empty: up to the outro)" });
  panels.extend = panel("extend",
    el("label", { text: "Add " }, by),
    el("label", { text: " keeping the first " }, from, " s "),
    el("button", { type: "submit", text: "Extend track" }));
  panels.extend.dataset.task = "extend";
  panels.extend.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = { extend_by: Number(by.value) };
    if (from.value !== "") body.extend_from = Number(from.value);
    send(panels.extend, body);
  });

  // Repaint: the range dragged on the waveform, optionally with a new prompt.
  const rangeText = el("p", { class: "range-text",
    text: "Drag across the waveform to choose what to repaint." });
  const repaintPrompt = el("input", { type: "text", name: "prompt", maxlength: "500",
    placeholder: "same prompt", "aria-label": "Describe the repainted part (optional)" });
  const repaintGo = el("button", { type: "submit", text: "Repaint range", disabled: true });
  panels.repaint = panel("repaint", rangeText,
    el("label", { text: "As " }, repaintPrompt), repaintGo);
  panels.repaint.dataset.task = "repaint";
  const showRange = (range) => {
    const length = range ? range.end - range.start : 0;
    const ok = range && length >= MIN_REPAINT_S && length <= MAX_REPAINT_S;
    repaintGo.disabled = !ok;
    if (range) {
      rangeText.textContent = `${clock(range.start)}–${clock(range.end)} (${length.toFixed(1)} s)`
        + (ok ? "" : `: choose ${MIN_REPAINT_S}–${MAX_REPAINT_S} s`);
    }
  };
  if (selection) selection.onChange = showRange;
  panels.repaint.addEventListener("submit", (event) => {
    event.preventDefault();
    const range = selection && selection.range;
    if (!range) return;
    const body = { start: range.start, end: range.end };
    if (repaintPrompt.value.trim()) body.prompt = repaintPrompt.value.trim();
    send(panels.repaint, body);
  });

  // Cover: a new prompt (required) and how much of the source survives.
  const coverPrompt = el("input", { type: "text", name: "prompt", maxlength: "500",
    required: true, placeholder: "e.g. smooth jazz trio", "aria-label": "Cover style" });
  const strength = el("input", { type: "range", name: "strength", min: "0", max: "1",
    step: "0.05", value: "0.5", "aria-label": "How much of the original to keep" });
  panels.cover = panel("cover",
    el("label", { text: "As " }, coverPrompt),
    el("label", { text: " keep " }, strength),
    el("button", { type: "submit", text: "Make cover" }));
  panels.cover.dataset.task = "cover";
  panels.cover.addEventListener("submit", (event) => {
    event.preventDefault();
    const prompt = coverPrompt.value.trim();
    if (!prompt) {
      error.textContent = "A cover needs a prompt: the style to play it in.";
      error.hidden = false;
      return;
    }
    send(panels.cover, { prompt, strength: Number(strength.value) });
  });

  for (const [name, text] of [["extend", "Extend"], ["repaint", "Repaint"], ["cover", "Cover"]]) {
    const b = el("button", { type: "button", class: `quiet edit-${name}-open`, text,
      "data-edit": name, "aria-expanded": "false", "aria-label": `${text}: ${label}` });
    b.addEventListener("click", () => open(name));
    buttons.append(b);
  }
  box.append(buttons, panels.extend, panels.repaint, panels.cover, error);
  return box;
}
