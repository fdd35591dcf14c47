// A finished track drawn as a listener would look at it: the waveform overview
// (the job's `peaks`) with the play position over it, the song's form as a strip
// of sections on the same time axis, the player and the download links (the
// audio, and the MIDI file and stems when the job asked for them).
import { el, clock } from "./dom.js";
import { editActions, rangeSelect, segmentStrip, validSegments } from "./edit.js";

const SEEK_STEP_S = 5;
// Export name -> [link text, the download's file name suffix].
const EXPORTS = { midi: ["Download MIDI", ".mid"], stems: ["Download stems", "_stems.zip"] };

// A link per export that was made; a note saying why for one that could not be.
function exportLinks(job) {
  const out = [];
  const exports = job.exports && typeof job.exports === "object" ? job.exports : {};
  for (const [name, [text, suffix]] of Object.entries(EXPORTS)) {
    const entry = exports[name];
    if (!entry || typeof entry !== "object") continue;
    if (typeof entry.url === "string" && entry.url.startsWith("/api/audio/")) {
      out.push(el("a", { class: "button download", href: entry.url,
        download: `music_${job.job_id}${suffix}`, text,
        "data-export": name }));
    } else if (entry.unavailable) {
      const what = name === "midi" ? "MIDI" : "Stems";
      out.push(el("span", { class: "hint export-note", "data-export": name,
        text: `${what} unavailable: ${String(entry.reason || "this engine cannot make it")}` }));
    }
  }
  return out;
}

function totalSeconds(audio, job, sections) {
  if (Number.isFinite(audio.duration) && audio.duration > 0) return audio.duration;
  if (job.duration > 0) return job.duration;
  return sections.length ? sections[sections.length - 1].end : 0;
}

function validPeaks(peaks) {
  return Array.isArray(peaks) && peaks.length > 0 && peaks.every((p) => Number.isFinite(p));
}

function validSections(understood) {
  const list = understood && Array.isArray(understood.sections) ? understood.sections : [];
  return list.filter((s) => s && typeof s.name === "string"
    && Number.isFinite(s.start) && Number.isFinite(s.end) && s.end > s.start);
}

function drawWave(canvas, peaks, fraction) {
  const dpr = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(canvas.clientWidth * dpr));
  const height = Math.max(1, Math.round(canvas.clientHeight * dpr));
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  const ctx = canvas.getContext("2d");
  const style = getComputedStyle(canvas);
  const played = style.getPropertyValue("--wave-played").trim() || "#4338ca";
  const rest = style.getPropertyValue("--wave-rest").trim() || "#9a98a8";
  ctx.clearRect(0, 0, width, height);
  const step = width / peaks.length;
  const bar = Math.max(1, step * 0.7);
  const middle = height / 2;
  const split = fraction * width;
  peaks.forEach((peak, i) => {
    const x = i * step;
    const half = Math.max(dpr, (Math.min(100, Math.max(0, peak)) / 100) * middle);
    ctx.fillStyle = x + bar / 2 <= split ? played : rest;
    ctx.fillRect(x, middle - half, bar, half * 2);
  });
}

function sectionStrip(sections, onSeek) {
  const strip = el("ol", { class: "sections", "aria-label": "Form of the piece" });
  return {
    node: strip,
    layout(total) {
      strip.replaceChildren();
      let cursor = 0;
      for (const section of sections) {
        if (section.start > cursor + 0.05) {
          const gap = el("li", { class: "section-gap", "aria-hidden": "true" });
          gap.style.flexBasis = `${((section.start - cursor) / total) * 100}%`;
          strip.append(gap);
        }
        const lines = Array.isArray(section.lines) ? section.lines.map(String) : [];
        const name = section.name.charAt(0).toUpperCase() + section.name.slice(1);
        const item = el("li", {
          class: "section",
          "data-name": section.name.toLowerCase(),
          title: [`${name} ${clock(section.start)}–${clock(section.end)}`, ...lines].join("\n"),
        });
        item.style.flexBasis = `${((Math.min(section.end, total) - section.start) / total) * 100}%`;
        const jump = el("button", { type: "button", class: "section-name", text: name,
          "aria-label": `${name}, from ${clock(section.start)}` });
        jump.addEventListener("click", () => onSeek(section.start));
        item.append(jump);
        if (lines.length) {
          item.append(el("ul", { class: "lines" }, ...lines.map((text) => el("li", { text }))));
        }
        strip.append(item);
        cursor = section.end;
      }
    },
  };
}

// `onEdit(body)`: send an edit of this track (the Extend / Repaint / Cover actions).
export function renderTrack(job, { onEdit = null } = {}) {
  const ext = String(job.format || "wav").toLowerCase();
  const label = job.prompt || job.job_id;
  const audio = el("audio", { controls: true, preload: "metadata", src: job.audio_url,
    "aria-label": `Play: ${label}` });
  const download = el("a", { class: "button download", href: job.audio_url,
    download: `music_${job.job_id}.${ext}`, text: `Download ${ext.toUpperCase()}` });
  const track = el("div", { class: "track" });
  const peaks = validPeaks(job.peaks) ? job.peaks : null;
  const sections = validSections(job.understood);
  let pending = null;

  const seek = (seconds) => {
    const total = totalSeconds(audio, job, sections);
    const target = Math.max(0, Math.min(total, seconds));
    if (Number.isFinite(audio.duration) && audio.duration > 0) audio.currentTime = target;
    else pending = target; // applied once the metadata arrives
    update();
  };
  const fraction = () => {
    const total = totalSeconds(audio, job, sections);
    const at = pending ?? audio.currentTime;
    return total > 0 ? Math.min(1, at / total) : 0;
  };

  const timeline = el("div", { class: "timeline" });
  const playhead = el("div", { class: "playhead", "aria-hidden": "true" });
  let canvas = null;
  let selection = null;
  if (peaks) {
    canvas = el("canvas", { class: "wave", tabindex: "0", role: "slider",
      "aria-label": `Waveform of ${label}. Click, or use the arrow keys, to move the play position.`,
      "aria-valuemin": "0" });
    canvas.addEventListener("click", (event) => {
      if (selection && selection.consumeDrag()) return; // the end of a range drag
      const box = canvas.getBoundingClientRect();
      seek(((event.clientX - box.left) / box.width) * totalSeconds(audio, job, sections));
    });
    canvas.addEventListener("keydown", (event) => {
      const total = totalSeconds(audio, job, sections);
      const now = pending ?? audio.currentTime;
      const moves = { ArrowLeft: now - SEEK_STEP_S, ArrowDown: now - SEEK_STEP_S,
        ArrowRight: now + SEEK_STEP_S, ArrowUp: now + SEEK_STEP_S,
        PageDown: now - total / 10, PageUp: now + total / 10, Home: 0, End: total };
      if (!(event.key in moves)) return;
      event.preventDefault();
      seek(moves[event.key]);
    });
    timeline.append(canvas);
    if (onEdit) {
      const relay = (range) => selection.onChange && selection.onChange(range);
      selection = rangeSelect(canvas, () => totalSeconds(audio, job, sections), relay);
      timeline.append(selection.node);
    }
  }
  const segments = validSegments(job);
  const parts = segments.length ? segmentStrip(segments) : null;
  if (parts) timeline.append(parts.node);
  const strip = sections.length ? sectionStrip(sections, seek) : null;
  if (strip) timeline.append(strip.node);
  if (canvas || strip) {
    timeline.append(playhead);
    track.append(timeline);
  }
  track.append(audio, el("div", { class: "job-actions" }, download, ...exportLinks(job)));
  if (onEdit) track.append(editActions(job, selection, onEdit));

  function update() {
    const total = totalSeconds(audio, job, sections);
    const f = fraction();
    playhead.style.left = `${f * 100}%`;
    if (canvas) {
      drawWave(canvas, peaks, f);
      const at = pending ?? audio.currentTime;
      canvas.setAttribute("aria-valuemax", String(Math.round(total)));
      canvas.setAttribute("aria-valuenow", String(Math.round(at)));
      canvas.setAttribute("aria-valuetext", `${clock(at)} of ${clock(total)}`);
    }
  }
  let frame = 0;
  const animate = () => {
    update();
    frame = audio.paused ? 0 : requestAnimationFrame(animate);
  };
  audio.addEventListener("play", () => { if (!frame) frame = requestAnimationFrame(animate); });
  for (const name of ["timeupdate", "seeked", "pause", "ended"]) audio.addEventListener(name, update);
  const layout = () => {
    const total = totalSeconds(audio, job, sections);
    if (strip) strip.layout(total);
    if (parts && total > 0) parts.layout(total);
    if (selection) selection.redraw();
  };
  audio.addEventListener("loadedmetadata", () => {
    layout();
    if (pending != null) {
      audio.currentTime = Math.min(pending, audio.duration);
      pending = null;
    }
    update();
  });
  layout();
  // Drawn once the card is in the page (it needs a size), and again on resize.
  if (canvas && typeof ResizeObserver === "function") {
    new ResizeObserver(() => update()).observe(canvas);
  } else {
    requestAnimationFrame(update);
  }
  return track;
}
