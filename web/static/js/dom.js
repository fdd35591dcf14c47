// Small DOM and formatting helpers shared by the job list and the track card.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

// 75.4 -> "1:15"
export function clock(seconds) {
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// A live "n / max" character count that warns near the limit and says how far over it is.
export function showCount(node, n, max) {
  const over = n > max;
  node.textContent = over ? `${n} / ${max}: ${n - max} over the limit` : `${n} / ${max}`;
  node.classList.toggle("near", !over && n > max * 0.9);
  node.classList.toggle("over", over);
}
