// The form's "Advanced" section: lyrics, instrumental, vocal language, tempo,
// key, meter, format and the MIDI/stems exports. Only what the person set is
// sent, so a default submit is exactly the guide's plain request.
import { ApiError } from "./api.js";
import { showCount } from "./dom.js";

export const MAX_LYRICS = 3000;
const MIN_BPM = 40;
const MAX_BPM = 220;
// ACE-Step 1.5's vocal languages (inference/contract.py); "unknown" is its
// instrumental marker, so it is not offered.
const LANGUAGES = [
  "ar", "az", "bg", "bn", "ca", "cs", "da", "de", "el", "en", "es", "fa", "fi", "fr",
  "he", "hi", "hr", "ht", "hu", "id", "is", "it", "ja", "ko", "la", "lt", "ms", "ne",
  "nl", "no", "pa", "pl", "pt", "ro", "ru", "sa", "sk", "sr", "sv", "sw", "ta", "te",
  "th", "tl", "tr", "uk", "ur", "vi", "yue", "zh",
];
// Each of the 24 keys once, in the spelling musicians usually write.
const TONICS = ["C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"];
const MINOR_TONICS = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B"];

function option(value, text) {
  const node = document.createElement("option");
  node.value = value;
  node.textContent = text;
  return node;
}

function languageName(code) {
  try {
    const name = new Intl.DisplayNames(["en"], { type: "language" }).of(code);
    return name && name !== code ? `${name} (${code})` : code;
  } catch {
    return code;
  }
}

export function setupAdvanced() {
  const box = document.getElementById("advanced");
  const lyrics = document.getElementById("lyrics");
  const count = document.getElementById("lyrics-count");
  const instrumental = document.getElementById("instrumental");
  const instrumentalHint = document.getElementById("instrumental-hint");
  const languageField = document.getElementById("language-field");
  const language = document.getElementById("vocal_language");
  const bpm = document.getElementById("bpm");
  const key = document.getElementById("key");
  const meter = document.getElementById("time_signature");
  const format = document.getElementById("format");
  const exportSwitches = [document.getElementById("export-midi"),
    document.getElementById("export-stems")];

  language.append(option("", "Default (English)"));
  const named = LANGUAGES.map((code) => [code, languageName(code)]);
  named.sort((a, b) => a[1].localeCompare(b[1]));
  for (const [code, name] of named) language.append(option(code, name));
  key.append(option("", "Auto"));
  TONICS.forEach((tonic, i) => {
    key.append(option(`${tonic} major`, `${tonic} major`));
    key.append(option(`${MINOR_TONICS[i]} minor`, `${MINOR_TONICS[i]} minor`));
  });

  const hasLyrics = () => lyrics.value.trim() !== "";

  // Lyrics are sung, so they turn the switch off and hold it there: the
  // server refuses lyrics with instrumental on.
  function sync() {
    showCount(count, lyrics.value.length, MAX_LYRICS);
    if (hasLyrics()) instrumental.checked = false;
    else if (instrumental.disabled) instrumental.checked = true;
    instrumental.disabled = hasLyrics();
    instrumentalHint.textContent = hasLyrics()
      ? "Off: lyrics are sung. Clear them for an instrumental."
      : instrumental.checked ? "No vocals." : "Vocals without given lyrics.";
    languageField.hidden = instrumental.checked;
  }
  lyrics.addEventListener("input", sync);
  instrumental.addEventListener("change", sync);

  function invalid(field, message) {
    box.open = true;
    field.setAttribute("aria-invalid", "true");
    field.focus();
    return new ApiError(message);
  }

  return {
    clearErrors() {
      for (const field of [lyrics, bpm]) field.removeAttribute("aria-invalid");
    },
    // Adds the set fields to params; throws ApiError for what the server would refuse.
    collect(params) {
      if (lyrics.value.length > MAX_LYRICS) {
        throw invalid(lyrics, `The lyrics are ${lyrics.value.length} characters long; the limit is ${MAX_LYRICS}.`);
      }
      if (hasLyrics()) params.lyrics = lyrics.value;
      else if (!instrumental.checked) params.instrumental = false;
      if (!instrumental.checked && language.value) params.vocal_language = language.value;
      const bpmText = bpm.value.trim();
      if (bpmText || bpm.validity.badInput) {
        const value = Number(bpmText);
        if (!/^\d+$/.test(bpmText) || value < MIN_BPM || value > MAX_BPM) {
          throw invalid(bpm, `The tempo must be a whole number of bpm from ${MIN_BPM} to ${MAX_BPM}.`);
        }
        params.bpm = value;
      }
      if (key.value) params.key = key.value;
      if (meter.value) params.time_signature = meter.value;
      if (format.value !== "wav") params.format = format.value;
      const exports = exportSwitches.filter((box) => box.checked).map((box) => box.value);
      if (exports.length) params.exports = exports;
      return params;
    },
  };
}
