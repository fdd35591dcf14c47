// A finished track's details, each field once, in words a musician uses:
// "D minor, 163 bpm, 4/4", "FLAC, 6.1 MB", the seed, the engine.
import { el, clock } from "./dom.js";

// Understood keys already said in another row (or drawn, for sections).
const SAID = new Set(["sections", "form", "key", "mode", "tempo", "bpm", "meter", "time_signature",
  "syllables", "seed", "duration", "genre", "lyrics", "instrumental", "vocal_language"]);

// Understood values with a unit: shown as "Loudness: -14 LUFS".
const UNITS = { loudness_lufs: ["Loudness", "LUFS"], latency_ms: ["Latency", "ms"] };

function sizeText(bytes) {
  if (!Number.isFinite(bytes) || bytes < 0) return null;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1e3))} kB`;
}

function humanKey(key) {
  const text = String(key).replace(/[_-]+/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function plain(value) {
  if (Array.isArray(value)) {
    return value.every((v) => v === null || typeof v !== "object") ? value.join(", ") : null;
  }
  if (value === null || value === undefined || typeof value === "object") return null;
  return String(value);
}

function music(job, u) {
  let key = u.key ?? job.key;
  if (key && u.mode && !/major|minor/i.test(key)) key = `${key} ${u.mode}`;
  const bpm = u.bpm ?? u.tempo ?? job.bpm;
  const meter = u.meter ?? u.time_signature ?? job.time_signature;
  const parts = [key, Number.isFinite(Number(bpm)) && bpm != null ? `${Math.round(bpm)} bpm` : null, meter];
  return parts.filter(Boolean).join(", ") || null;
}

function voice(job, u) {
  if (job.instrumental === true || (job.instrumental == null && !job.lyrics && !u.syllables)) {
    return job.instrumental === true ? "Instrumental" : null;
  }
  let language = job.vocal_language || "en";
  try {
    language = new Intl.DisplayNames(["en"], { type: "language" }).of(language) || language;
  } catch { /* the code itself is still readable */ }
  const syllables = Number.isFinite(u.syllables) ? `, ${u.syllables} syllables` : "";
  return `Sung in ${language}${syllables}`;
}

export function renderDetails(job) {
  const u = job.understood && typeof job.understood === "object" ? job.understood : {};
  const list = el("dl", { class: "understood" });
  const add = (term, value) => {
    if (value != null && value !== "") list.append(el("dt", { text: term }), el("dd", { text: value }));
  };
  add("Music", music(job, u));
  add("Voice", voice(job, u));
  if (job.lyrics && !(Array.isArray(u.sections) && u.sections.some((s) => s.lines?.length))) {
    add("Lyrics", job.lyrics);
  }
  const length = Number.isFinite(job.duration) ? clock(job.duration) : null;
  const file = [String(job.format || "wav").toUpperCase(), sizeText(job.size_bytes), length];
  add("File", file.filter(Boolean).join(", "));
  if (job.seed != null) add("Seed", String(job.seed));
  if (job.engine) add("Engine", job.model ? `${job.engine} (${job.model})` : job.engine);
  for (const [key, value] of Object.entries(u)) {
    if (SAID.has(key)) continue;
    const [term, unit] = UNITS[key] || [humanKey(key), ""];
    const text = plain(value);
    add(term, text && unit ? `${text} ${unit}` : text);
  }
  return el("details", { class: "track-details" }, el("summary", { text: "Details" }), list);
}
