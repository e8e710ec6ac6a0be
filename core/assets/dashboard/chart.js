// A stacked bar chart in plain SVG: one bar a day, one segment a profile.
// Colours come from the stylesheet's `.c0`..`.c7` classes (no inline styles).

const NS = "http://www.w3.org/2000/svg";
const W = 640;
const H = 220;
const M = { left: 64, right: 8, top: 12, bottom: 28 };
export const COLOURS = 8;

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

/** The smallest of 1, 2, 2.5, 5 times a power of ten that is at least `v`. */
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((x) => x >= v * (1 - 1e-9));
}

/**
 * `days`: the usage API's `daily` array. `value(x)` reads the charted number
 * from a day or from one of its `profiles` entries; `profiles` fixes the colour
 * of each profile; `format` writes an axis or tooltip number.
 */
export function barChart({ id, title, days, profiles, value, format }) {
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const max = niceMax(Math.max(0, ...days.map(value)));
  const y = (v) => M.top + plotH - (v / max) * plotH;
  const band = plotW / Math.max(days.length, 1);
  const barW = Math.min(40, Math.max(2, band * 0.7));
  const svg = s("svg", { id, class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title });
  svg.append(s("title", {}, title));

  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    svg.append(
      s("line", { class: "grid", x1: M.left, x2: W - M.right, y1: y(v), y2: y(v) }),
      s("text", { class: "axis", x: M.left - 6, y: y(v) + 4, "text-anchor": "end" }, format(v)),
    );
  }
  const labelEvery = Math.ceil(days.length / 8);
  days.forEach((day, i) => {
    const x = M.left + i * band + (band - barW) / 2;
    const total = value(day);
    const parts = day.profiles.map((p) => `${p.profile} ${format(value(p))}`).join(", ");
    const g = s("g", { class: "day", "data-date": day.date, "data-value": total });
    g.append(s("title", {}, `${day.date}: ${format(total)}${parts ? ` (${parts})` : ""}`));
    let top = y(0);
    for (const name of profiles) {
      const entry = day.profiles.find((p) => p.profile === name);
      const v = entry ? value(entry) : 0;
      if (v <= 0) continue;
      const height = Math.max(1, (v / max) * plotH);
      top -= height;
      g.append(
        s("rect", {
          class: `bar c${profiles.indexOf(name) % COLOURS}`,
          x,
          y: top,
          width: barW,
          height,
          "data-profile": name,
          "data-value": v,
        }),
      );
    }
    // An invisible full-height target so the tooltip works on empty days too.
    g.append(s("rect", { class: "hit", x: M.left + i * band, y: M.top, width: band, height: plotH }));
    svg.append(g);
    if ((days.length - 1 - i) % labelEvery === 0) {
      svg.append(s("text", { class: "axis", x: x + barW / 2, y: H - 8, "text-anchor": "middle" }, day.date.slice(5)));
    }
  });
  svg.append(s("line", { class: "baseline", x1: M.left, x2: W - M.right, y1: y(0), y2: y(0) }));
  if (!days.some((d) => value(d) > 0)) {
    svg.append(s("text", { class: "empty", x: M.left + plotW / 2, y: M.top + plotH / 2, "text-anchor": "middle" }, "No requests in these days"));
  }
  return svg;
}

/** Short USD for an axis: "$0", "$0.0004", "$1.5", "$2,000". */
export function shortUsd(v) {
  if (v === 0) return "$0";
  if (v >= 100) return `$${Math.round(v).toLocaleString("en-US")}`;
  const n = Number(v.toPrecision(2));
  return `$${n < 1e-6 ? n.toFixed(9).replace(/0+$/, "") : n}`;
}

/** Short counts for an axis: "950", "1.2K", "3.4M". */
export function shortCount(v) {
  if (v >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (v >= 1e3) return `${Number((v / 1e3).toPrecision(3))}K`;
  return String(Math.round(v * 100) / 100);
}
