// GenLab feature maps: one layer's feature maps as a grid (a PNG laid out as genlab.images.tile lays it out),
// clickable. Click a map: switch that channel off (click again: on). Shift-click: double it. Drag a box inside
// one map: that region is zeroed in every map. Each edit is sent to Python as the state value
// "edit" = {op: "zero" | "scale" | "box", channel, box: [top, left, bottom, right] (fractions of a map), seq,
// layer}; Python applies an edit once (its seq).
// Channels switched off are crossed out in red, doubled ones framed in green, the box drawn in every map.

export default function (component) {
  const {data, parentElement, setStateValue} = component;
  const root = parentElement.querySelector(".feature-maps");
  let s = root.__maps;
  if (!s) {
    s = root.__maps = {seq: 0, start: null};
    s.img = root.querySelector("img");
    s.canvas = root.querySelector("canvas");
    s.canvas.addEventListener("pointerdown", (e) => {
      s.canvas.setPointerCapture(e.pointerId);
      s.start = where(s, e); s.now = s.start; draw(s);
    });
    s.canvas.addEventListener("pointermove", (e) => {
      if (s.start) { s.now = where(s, e); draw(s); }
      const c = where(s, e);
      s.canvas.title = c.channel === null ? "" : `channel ${c.channel}: click to switch it off or on, shift-click to double it`;
    });
    s.canvas.addEventListener("pointerup", (e) => onUp(s, e));
    s.canvas.addEventListener("pointercancel", () => { s.start = null; draw(s); });
    s.img.addEventListener("load", () => draw(s));
    new ResizeObserver(() => draw(s)).observe(s.img);
  }
  s.setStateValue = setStateValue;
  s.data = data;
  if (s.img.getAttribute("src") !== data.src) s.img.setAttribute("src", data.src);
  s.img.setAttribute("alt", `feature maps of ${data.layer}; click one to switch it off`);
  s.seq = Math.max(s.seq, data.seq || 0);
  draw(s);
}

// Grid geometry in image pixels: cells of (h + pad) x (w + pad), the map in each cell after `pad` pixels.
function where(s, e) {
  const d = s.data, r = s.canvas.getBoundingClientRect();
  const k = d.width / r.width;                       // image pixels per CSS pixel
  const x = (e.clientX - r.left) * k, y = (e.clientY - r.top) * k;
  const col = Math.floor(x / (d.w + d.pad)), row = Math.floor(y / (d.h + d.pad));
  const fx = (x - col * (d.w + d.pad) - d.pad) / d.w, fy = (y - row * (d.h + d.pad) - d.pad) / d.h;
  const channel = row * d.cols + col;
  const inside = col >= 0 && col < d.cols && channel >= 0 && channel < d.n;
  return {channel: inside ? channel : null, row, col, fx: Math.min(Math.max(fx, 0), 1), fy: Math.min(Math.max(fy, 0), 1),
          x: e.clientX - r.left, y: e.clientY - r.top};
}

function onUp(s, e) {
  const a = s.start;
  s.start = null;
  if (!a) return;
  const b = where(s, e);
  const moved = Math.hypot(b.x - a.x, b.y - a.y);
  if (a.channel === null) { draw(s); return; }
  s.seq += 1;
  if (moved < 5 || !s.data.spatial) {
    s.setStateValue("edit", {op: e.shiftKey ? "scale" : "zero", channel: a.channel, box: null, seq: s.seq, layer: s.data.layer});
  } else {
    // the box inside the map where the drag began (the end is taken in that map's coordinates)
    const d = s.data, r = s.canvas.getBoundingClientRect(), k = d.width / r.width;
    const fx = Math.min(Math.max((b.x * k - a.col * (d.w + d.pad) - d.pad) / d.w, 0), 1);
    const fy = Math.min(Math.max((b.y * k - a.row * (d.h + d.pad) - d.pad) / d.h, 0), 1);
    const box = [Math.min(a.fy, fy), Math.min(a.fx, fx), Math.max(a.fy, fy), Math.max(a.fx, fx)];
    if (box[2] - box[0] < 0.02 || box[3] - box[1] < 0.02) { draw(s); return; }
    s.setStateValue("edit", {op: "box", channel: a.channel, box, seq: s.seq, layer: s.data.layer});
  }
  draw(s);
}

function draw(s) {
  const d = s.data, img = s.img, c = s.canvas;
  const w = img.clientWidth, h = img.clientHeight;
  if (!w || !h) return;
  const ratio = window.devicePixelRatio || 1;
  c.width = Math.round(w * ratio); c.height = Math.round(h * ratio);
  c.style.width = w + "px"; c.style.height = h + "px";
  const ctx = c.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const k = w / d.width;                             // CSS pixels per image pixel
  const cell = (ch) => {
    const row = Math.floor(ch / d.cols), col = ch % d.cols;
    return [(col * (d.w + d.pad) + d.pad) * k, (row * (d.h + d.pad) + d.pad) * k, d.w * k, d.h * k];
  };
  ctx.lineWidth = 2;
  for (const ch of d.zeroed || []) {
    if (ch >= d.n) continue;
    const [x, y, cw, chh] = cell(ch);
    ctx.fillStyle = "rgba(220, 40, 40, 0.45)"; ctx.fillRect(x, y, cw, chh);
    ctx.strokeStyle = "#e02828";
    ctx.beginPath(); ctx.moveTo(x, y); ctx.lineTo(x + cw, y + chh); ctx.moveTo(x + cw, y); ctx.lineTo(x, y + chh); ctx.stroke();
  }
  for (const ch of d.scaled || []) {
    if (ch >= d.n) continue;
    const [x, y, cw, chh] = cell(ch);
    ctx.strokeStyle = "#1fa34a"; ctx.strokeRect(x + 1, y + 1, cw - 2, chh - 2);
  }
  const box = d.box;
  if (box && d.spatial) {
    ctx.strokeStyle = "rgba(255, 170, 0, 0.95)"; ctx.lineWidth = 1;
    for (let ch = 0; ch < d.n; ch++) {
      const [x, y, cw, chh] = cell(ch);
      ctx.strokeRect(x + box[1] * cw, y + box[0] * chh, (box[3] - box[1]) * cw, (box[2] - box[0]) * chh);
    }
  }
  if (s.start && s.now && s.start.channel !== null) {   // the box being dragged
    ctx.strokeStyle = "#ffaa00"; ctx.lineWidth = 2; ctx.setLineDash([4, 3]);
    ctx.strokeRect(Math.min(s.start.x, s.now.x), Math.min(s.start.y, s.now.y), Math.abs(s.now.x - s.start.x), Math.abs(s.now.y - s.start.y));
    ctx.setLineDash([]);
  }
}
