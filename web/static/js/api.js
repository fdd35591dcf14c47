// The public API, same origin, with the session cookie. Every failure becomes an
// ApiError whose `message` is fit to show a person.

const TIMEOUT_MS = 20000;

export class ApiError extends Error {
  constructor(message, { status = 0, detail = "", retryAfter = null } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
    this.retryAfter = retryAfter;
  }
}

function parseRetryAfter(value) {
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

export function formatSeconds(total) {
  const s = Math.max(0, Math.round(total));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  const rest = s % 60;
  return rest ? `${m} min ${rest} s` : `${m} min`;
}

function describe(status, detail, retryAfter) {
  if (status === 429) {
    const wait = retryAfter != null ? ` Try again in ${formatSeconds(retryAfter)}.` : " Please wait a moment.";
    return `Too many requests: you have reached the limit of new tracks for now.${wait}`;
  }
  if (status === 422 || status === 400) return detail || "The request was not valid.";
  if (status === 403) return "This track belongs to another session.";
  if (status === 404) return detail || "Not found.";
  if (status === 409) return detail || "That is no longer possible for this track.";
  if (status === 413) return "The request is too large.";
  if (status >= 500) {
    const extra = detail ? ` (${detail})` : "";
    return `The server had a problem${extra}. Please try again shortly.`;
  }
  return detail || `Unexpected answer from the server (HTTP ${status}).`;
}

export async function request(method, path, body) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  const init = {
    method,
    credentials: "same-origin",
    headers: { Accept: "application/json" },
    signal: controller.signal,
  };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    clearTimeout(timer);
    if (err.name === "AbortError") {
      throw new ApiError("The server took too long to answer. Please try again.");
    }
    throw new ApiError("Could not reach the server. Check your connection and try again.");
  }
  let data = null;
  try {
    const text = await response.text();
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  } finally {
    clearTimeout(timer);
  }
  if (!response.ok) {
    const detail = data && typeof data.detail === "string" ? data.detail : "";
    const retryAfter = parseRetryAfter(response.headers.get("Retry-After"));
    throw new ApiError(describe(response.status, detail, retryAfter), {
      status: response.status,
      detail,
      retryAfter,
    });
  }
  return data;
}

export const api = {
  generate: (params) => request("POST", "/api/generate", params),
  listJobs: (limit, offset) => request("GET", `/api/jobs?limit=${limit}&offset=${offset}`),
  getJob: (id) => request("GET", `/api/jobs/${encodeURIComponent(id)}`),
  cancelJob: (id) => request("DELETE", `/api/jobs/${encodeURIComponent(id)}`),
  eventsUrl: (id) => `/api/jobs/${encodeURIComponent(id)}/events`,
};
