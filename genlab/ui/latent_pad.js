// GenLab latent pad: a square over two latent axes, with the class-area map drawn under its points
// (one for the explorer; A and B for a morph, with the path between them). Drag a point (mouse, pen
// or touch; the nearest one is taken), click anywhere to bring the nearest point there, or focus the
// pad and use the arrow keys (Shift: bigger steps) on the point last moved. While dragging, the point
// is sent to Python as the state value "point" = {x, y, index, seq, dragging}; a new value is sent
// only once Python has answered the previous one (its seq comes back in data.seq), so the server
// never queues stale points. Hovering shows the class and probability of the map cell under the cursor.
// With data.live (the Latent Explorer, the Conditional GAN page, the VAE Lab), a drag does not go through Python at
// all: each move asks the live route (genlab/api.py; one request in flight, the newest move kept) and
// paints its HTML into the image, class and activation panels; only the release is sent to Python, which
// commits the point and redraws the page exactly. A server without the route (404) gets every move. The
// Morph page's pad asks the morph route for the strip between its two points the same way.

function decode(b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function hexToRgb(hex) {
  const v = parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

// The map as an offscreen canvas, one pixel per grid point, shaded towards white where the
// classifier is unsure. Row 0 of the canvas is the top of the pad (the highest y).
function mapCanvas(map) {
  const nx = map.nx, ny = map.ny;
  const labels = decode(map.labels), conf = decode(map.confidence);
  const colors = map.colors.map(hexToRgb);
  const canvas = document.createElement("canvas");
  canvas.width = nx; canvas.height = ny;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(nx, ny);
  for (let i = 0; i < nx; i++) {
    for (let j = 0; j < ny; j++) {
      const k = i * ny + j;                    // labels[i][j]: i along x, j along y
      const p = ((ny - 1 - j) * nx + i) * 4;   // canvas row from the top
      const rgb = colors[labels[k] % colors.length];
      const a = 0.35 + 0.65 * (conf[k] / 255); // strong colour where the classifier is sure
      img.data[p] = Math.round(255 - a * (255 - rgb[0]));
      img.data[p + 1] = Math.round(255 - a * (255 - rgb[1]));
      img.data[p + 2] = Math.round(255 - a * (255 - rgb[2]));
      img.data[p + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
  return {canvas, labels, conf};
}

function fmt(v) { return (v >= 0 ? " " : "") + v.toFixed(2); }

export default function (component) {
  const {data, parentElement, setStateValue} = component;
  const root = parentElement.querySelector(".latent-pad");
  let s = root.__pad;
  if (!s) {
    s = root.__pad = {dragging: false, inflight: null, pending: null, seq: 0, timer: null, mapId: null, active: 0};
    s.canvas = root.querySelector("canvas");
    s.tip = root.querySelector(".tip");
    s.readout = root.querySelector(".readout");
    s.canvas.addEventListener("pointerdown", (e) => onDown(s, e));
    s.canvas.addEventListener("pointermove", (e) => onMove(s, e));
    s.canvas.addEventListener("pointerup", (e) => onUp(s, e));
    s.canvas.addEventListener("pointercancel", (e) => onUp(s, e));
    s.canvas.addEventListener("pointerleave", () => { s.tip.style.display = "none"; });
    s.canvas.addEventListener("keydown", (e) => onKey(s, e));
    new ResizeObserver(() => draw(s)).observe(s.canvas);  // redraw sharp when the column changes width
  }
  s.setStateValue = setStateValue;
  s.data = data;
  s.livePath = null;
  if (data.seq !== undefined && s.inflight !== null && data.seq >= s.inflight) {
    s.inflight = null;                         // Python has caught up with what we sent
    clearTimeout(s.timer);
    if (s.pending) { const p = s.pending; s.pending = null; send(s, p.x, p.y, p.dragging); }
  }
  if ((!s.dragging && s.inflight === null && !s.pending) || !s.points || s.points.length !== data.points.length) {
    s.points = data.points.map((p) => [p[0], p[1]]);
  }
  s.active = Math.min(s.active, s.points.length - 1);
  if (data.map && data.map.id !== s.mapId) {
    s.map = mapCanvas(data.map);
    s.mapId = data.map.id;
  } else if (!data.map) {
    s.map = null; s.mapId = null;
  }
  loadPreview(s);
  startFollow(s);
  s.canvas.setAttribute("aria-label", `latent pad over ${data.x_label} and ${data.y_label}; arrow keys move the point`);
  draw(s);
}

// Follow me (a student in a class, genlab/lessons/classroom.py): with data.follow = {url, model, label, every}, poll
// the class route every `every` ms; when the teacher's live point is newer than the one shown, move there and paint
// its answer from the point route, as a drag does. Each painted follow is recorded in window.__genlabFollow
// ({seq, teacher: the teacher's move in ms since the epoch, painted}) for the tests and bench/follow.py.
function startFollow(s) {
  const F = s.data.follow;
  const key = F ? F.url + "|" + F.model + "|" + F.label : null;
  if (key === s.followKey) return;
  clearInterval(s.followTimer);
  s.followTimer = null; s.followKey = key; s.followBusy = false;
  if (!F) return;
  s.followSeq = F.since || 0;
  s.followTimer = setInterval(() => pollFollow(s), F.every || 200);
}

function pollFollow(s) {
  if (!s.canvas.isConnected) { clearInterval(s.followTimer); s.followTimer = null; s.followKey = null; return; }
  const F = s.data.follow;
  if (!F || s.followBusy || s.dragging) return;
  s.followBusy = true;
  fetch(F.url, {credentials: "same-origin", cache: "no-store"})
    .then((r) => (r.ok ? r.json() : null))
    .then((state) => {
      if (!state || state.paused || !state.live || state.live.seq <= s.followSeq) return null;
      const T = state.live, L = s.data.live;
      s.followSeq = T.seq;
      if (!L || !L.url || L.plane || L.morph || T.model !== F.model || (T.label ?? null) !== (F.label ?? null)
          || !Array.isArray(T.z) || T.z.length !== L.point.length) return null;
      L.point = T.z.slice();
      s.points[0] = [T.z[L.axes[0]], T.z[L.axes[1]]];
      draw(s);
      return fetch(liveUrl(s, s.points[0][0], s.points[0][1]), {credentials: "same-origin"})
        .then((r) => (r.ok ? r.json() : null))
        .then((answer) => {
          if (!answer || T.seq < s.followSeq) return;
          paint(L.targets, answer);
          window.__genlabFollow = window.__genlabFollow || [];
          window.__genlabFollow.push({seq: T.seq, teacher: T.t * 1000, painted: Date.now()});
          if (window.__genlabFollow.length > 2000) window.__genlabFollow.shift();
        });
    })
    .catch(() => {})
    .finally(() => { s.followBusy = false; });
}

const MARGIN = 12;   // px around the map, so a point on the edge of the space is whole and easy to grab

function size(s) { return s.canvas.clientWidth || s.data.size; }

function toLatent(s, px, py) {
  const w = size(s) - 2 * MARGIN, d = s.data;
  const fx = Math.min(Math.max((px - MARGIN) / w, 0), 1), fy = Math.min(Math.max((py - MARGIN) / w, 0), 1);
  return [d.x_range[0] + fx * (d.x_range[1] - d.x_range[0]), d.y_range[1] - fy * (d.y_range[1] - d.y_range[0])];
}

function toPixel(s, x, y) {
  const w = size(s) - 2 * MARGIN, d = s.data;
  return [MARGIN + (x - d.x_range[0]) / (d.x_range[1] - d.x_range[0]) * w,
          MARGIN + (d.y_range[1] - y) / (d.y_range[1] - d.y_range[0]) * w];
}

// The live route's URL for the pad's point at (x, y), or for a morph's two ends as the pad has them now.
function liveUrl(s, x, y) {
  const L = s.data.live, text = (z) => z.map((v) => (+v).toFixed(4)).join(",");
  const placed = (point, px, py) => { const z = point.slice(); z[L.axes[0]] = px; z[L.axes[1]] = py; return z; };
  if (L.morph) {     // the Morph page: A and B, their other coordinates as the page has them
    return L.url + "?" + L.query + "&a=" + text(placed(L.points[0], ...s.points[0]))
           + "&b=" + text(placed(L.points[1], ...s.points[1]));
  }
  let z;
  if (L.plane) {     // a plane through the point (the VAE Lab's PCA plane): origin + x * d0 + y * d1
    const o = L.plane.origin, d = L.plane.directions;
    z = o.map((v, k) => v + x * d[0][k] + y * d[1][k]);
  } else {           // two of the point's own coordinates
    z = placed(L.point, x, y);
  }
  return L.url + "?" + L.query + "&z=" + text(z);
}

// Each drag move has a number (s.move); s.shown is the move whose image is on the page (a preview or an
// answer). An answer is painted only if its move is not older than the one shown: a slow answer never
// overwrites the preview of a newer move (the newest move's own answer follows).
function liveSend(s, x, y, move) {
  if (move === undefined) move = s.move || 0;
  if (s.liveBusy) { s.livePending = [x, y, move]; return; }
  const L = s.data.live;
  s.liveBusy = true;
  fetch(liveUrl(s, x, y), {credentials: "same-origin"})
    .then((r) => {
      if (r.status === 404) s.liveOff = true;   // no live route on this server: send moves to Python
      return r.ok ? r.json() : null;
    })
    .then((answer) => {
      if (!answer || !s.dragging || move < (s.shown || 0)) return;
      s.shown = move;
      if (L.morph) paintStrip(s, answer); else paint(L.targets, answer);
    })
    .catch(() => {})
    .finally(() => {
      s.liveBusy = false;
      if (s.livePending && s.dragging) { const p = s.livePending; s.livePending = null; liveSend(s, p[0], p[1], p[2]); }
    });
}

// Swap a live answer's HTML into the st.html of each target container (Streamlit leaves the inside of an
// st.html element to it; the release's rerun replaces it with the exact same kind of content).
function paint(targets, answer) {
  for (const [field, selector] of Object.entries(targets)) {
    const box = document.querySelector(selector + ' [data-testid="stHtml"]');
    if (box && typeof answer[field] === "string") box.innerHTML = answer[field];
  }
}

// A morph route's answer: the exact strip (one pixel per pixel, drawn crisp) and its caption, in the st.image
// of the strip's container, and its path on the pad (the release's rerun replaces them with the page's own).
function paintStrip(s, answer) {
  const L = s.data.live, targets = L.targets;
  if (Array.isArray(answer.path)) { s.livePath = answer.path.map((q) => [q[L.axes[0]], q[L.axes[1]]]); draw(s); }
  const box = document.querySelector(targets.strip + " img");
  if (!box || typeof answer.strip !== "string") return;
  unmark(box);
  box.src = answer.strip;
  box.style.imageRendering = "pixelated";
  box.classList.add("genlab-live");
  const caption = document.querySelector(targets.strip + ' [data-testid="stImageCaption"]');
  if (caption && typeof answer.caption === "string") caption.textContent = answer.caption;
}

// The preview (data.live.preview, genlab/latent/preview.py): a sprite of k x k images over the pad's plane,
// decoded once per plane; each drag move paints the bilinear blend of the four grid images around the point
// into the image panel at once, marked as a preview (a dashed outline) until the exact image replaces it.
function loadPreview(s) {
  const P = s.data.live && s.data.live.preview;
  if (!P) { s.preview = null; s.previewId = null; s.canvas.removeAttribute("data-preview"); return; }
  if (P.id === s.previewId) return;
  s.previewId = P.id;
  s.canvas.setAttribute("data-preview", P.id);      // which plane's sprite the pad paints from
  s.preview = null;
  const img = new Image();
  img.onload = () => {
    if (s.previewId !== P.id) return;
    const c = document.createElement("canvas");
    c.width = img.width; c.height = img.height;
    const ctx = c.getContext("2d", {willReadFrequently: true});
    ctx.drawImage(img, 0, 0);
    const rgba = ctx.getImageData(0, 0, c.width, c.height).data;
    const gray = new Uint8Array(c.width * c.height);
    for (let i = 0; i < gray.length; i++) gray[i] = rgba[4 * i];
    const out = document.createElement("canvas");
    out.width = 28; out.height = 28;
    s.preview = {k: P.k, x_range: P.x_range, y_range: P.y_range, width: c.width, gray, out,
                 outCtx: out.getContext("2d"), frame: out.getContext("2d").createImageData(28, 28)};
  };
  img.src = P.src;
}

// The image at (x, y) blended from the sprite into p.frame (RGBA 28 x 28).
function blendInto(p, x, y, frame, offset, rowStride) {
  const k = p.k;
  const fx = Math.min(Math.max((x - p.x_range[0]) / (p.x_range[1] - p.x_range[0]), 0), 1) * (k - 1);
  const fy = Math.min(Math.max((y - p.y_range[0]) / (p.y_range[1] - p.y_range[0]), 0), 1) * (k - 1);
  const ix = Math.min(Math.floor(fx), k - 2), iy = Math.min(Math.floor(fy), k - 2);
  const tx = fx - ix, ty = fy - iy;
  const w = [(1 - tx) * (1 - ty), tx * (1 - ty), (1 - tx) * ty, tx * ty];
  const base = [iy * 28 * p.width + ix * 28, iy * 28 * p.width + (ix + 1) * 28,
                (iy + 1) * 28 * p.width + ix * 28, (iy + 1) * 28 * p.width + (ix + 1) * 28];
  const g = p.gray;
  for (let r = 0; r < 28; r++) {
    for (let c = 0; c < 28; c++) {
      const o = r * p.width + c;
      const v = w[0] * g[base[0] + o] + w[1] * g[base[1] + o] + w[2] * g[base[2] + o] + w[3] * g[base[3] + o];
      const q = offset + 4 * (r * rowStride + c);
      frame[q] = frame[q + 1] = frame[q + 2] = v; frame[q + 3] = 255;
    }
  }
}

function unmark(img) {
  img.classList.remove("genlab-preview", "genlab-live");
  img.style.outline = ""; img.style.imageRendering = ""; img.title = "";
}

function markPreview(img, started) {
  if (!img.__previewWatch) {   // an element Streamlit keeps and gives a new src (st.image): unmark it then
    img.__previewWatch = new MutationObserver(() => { if (!img.src.startsWith("data:")) unmark(img); });
    img.__previewWatch.observe(img, {attributes: true, attributeFilter: ["src"]});
  }
  img.classList.add("genlab-preview");
  img.style.outline = "2px dashed rgba(255, 170, 0, 0.9)";
  img.style.outlineOffset = "-2px";
  img.style.imageRendering = "pixelated";
  img.title = "preview: blended from the images around this point; the exact image follows";
  window.__genlabPreviews = window.__genlabPreviews || [];
  window.__genlabPreviews.push({event: started, painted: performance.now()});
  if (window.__genlabPreviews.length > 2000) window.__genlabPreviews.shift();
}

// Returns whether a preview was painted.
function paintPreview(s, x, y, started) {
  const p = s.preview, L = s.data.live;
  if (!p || !L) return false;
  if (L.morph) return paintMorph(s, started);
  const box = document.querySelector(L.targets.image + " img");
  if (!box) return false;
  blendInto(p, x, y, p.frame.data, 0, 28);
  p.outCtx.putImageData(p.frame, 0, 0);
  box.src = p.out.toDataURL();
  markPreview(box, started);
  return true;
}

// A morph's strip (Morph page): the steps from A to B as the pad has them now, linearly between the two points
// on the pad's plane, laid out as genlab.images.image_grid lays out the strip (rows of `nrow`, 2 px black gaps).
function paintMorph(s, started) {
  const p = s.preview, M = s.data.live.morph;
  const box = document.querySelector(s.data.live.targets.strip + " img");
  if (!box || s.points.length < 2) return false;
  const n = M.steps, cols = Math.min(n, M.nrow), rows = Math.ceil(n / cols), pad = 2;
  const width = cols * (28 + pad) + pad, height = rows * (28 + pad) + pad;
  if (!p.strip || p.strip.width !== width || p.strip.height !== height) {
    p.strip = document.createElement("canvas");
    p.strip.width = width; p.strip.height = height;
    p.stripCtx = p.strip.getContext("2d");
    p.stripFrame = p.stripCtx.createImageData(width, height);
  }
  const d = p.stripFrame.data;
  for (let i = 0; i < d.length; i += 4) { d[i] = d[i + 1] = d[i + 2] = 0; d[i + 3] = 255; }
  const [a, b] = s.points;
  for (let k = 0; k < n; k++) {
    const t = n > 1 ? k / (n - 1) : 0;
    const col = k % cols, row = Math.floor(k / cols);
    const offset = 4 * ((pad + row * (28 + pad)) * width + pad + col * (28 + pad));
    blendInto(p, a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]), d, offset, width);
  }
  p.stripCtx.putImageData(p.stripFrame, 0, 0);
  box.src = p.strip.toDataURL();
  markPreview(box, started);
  return true;
}

function send(s, x, y, dragging, started) {
  if (dragging && s.data.live) {
    s.move = (s.move || 0) + 1;
    if (paintPreview(s, x, y, started === undefined ? performance.now() : started)) s.shown = s.move;
  }
  if (dragging && s.data.live && s.data.live.url && !s.liveOff) { liveSend(s, x, y); return; }
  if (s.inflight !== null && dragging) { s.pending = {x, y, dragging}; return; }
  s.seq = Math.max(s.seq, s.data.seq || 0) + 1;
  s.inflight = s.seq;
  s.pending = null;
  clearTimeout(s.timer);
  s.timer = setTimeout(() => { s.inflight = null; }, 1500);   // never wait forever on a lost answer
  s.setStateValue("point", {x: +x.toFixed(4), y: +y.toFixed(4), index: s.active, seq: s.seq, dragging: !!dragging});
}

function moveTo(s, e, dragging) {
  const r = s.canvas.getBoundingClientRect();
  s.points[s.active] = toLatent(s, e.clientX - r.left, e.clientY - r.top);
  draw(s);
  send(s, s.points[s.active][0], s.points[s.active][1], dragging, e.timeStamp);
}

function nearest(s, e) {
  const r = s.canvas.getBoundingClientRect();
  let best = 0, bestDist = Infinity;
  s.points.forEach((p, k) => {
    const [px, py] = toPixel(s, p[0], p[1]);
    const dist = (px - (e.clientX - r.left)) ** 2 + (py - (e.clientY - r.top)) ** 2;
    if (dist < bestDist) { best = k; bestDist = dist; }
  });
  return best;
}

function onDown(s, e) {
  s.active = nearest(s, e);
  s.dragging = true;
  s.canvas.setPointerCapture(e.pointerId);
  s.canvas.focus({preventScroll: true});
  moveTo(s, e, true);
  e.preventDefault();
}

function onMove(s, e) {
  if (s.dragging) { moveTo(s, e, true); }
  showTip(s, e);
}

function onUp(s, e) {
  if (!s.dragging) return;
  s.dragging = false;
  s.pending = null;
  s.livePending = null;
  s.inflight = null;                           // the release always goes out: it commits the point
  moveTo(s, e, false);
}

function onKey(s, e) {
  const d = s.data, big = e.shiftKey ? 0.1 : 0.02;
  const dx = (d.x_range[1] - d.x_range[0]) / 2 * big, dy = (d.y_range[1] - d.y_range[0]) / 2 * big;
  const step = {ArrowLeft: [-dx, 0], ArrowRight: [dx, 0], ArrowUp: [0, dy], ArrowDown: [0, -dy]}[e.key];
  if (!step) return;
  e.preventDefault();
  const p = s.points[s.active];
  const x = Math.min(Math.max(p[0] + step[0], d.x_range[0]), d.x_range[1]);
  const y = Math.min(Math.max(p[1] + step[1], d.y_range[0]), d.y_range[1]);
  s.points[s.active] = [x, y];
  draw(s);
  s.inflight = null;
  send(s, x, y, false);
}

function showTip(s, e) {
  const d = s.data, m = s.map;
  const r = s.canvas.getBoundingClientRect();
  const px = e.clientX - r.left, py = e.clientY - r.top;
  const [x, y] = toLatent(s, px, py);
  let text = `${d.x_label} ${fmt(x)}, ${d.y_label} ${fmt(y)}`;
  if (m) {
    const i = Math.min(d.map.nx - 1, Math.max(0, Math.round((x - d.x_range[0]) / (d.x_range[1] - d.x_range[0]) * (d.map.nx - 1))));
    const j = Math.min(d.map.ny - 1, Math.max(0, Math.round((y - d.y_range[0]) / (d.y_range[1] - d.y_range[0]) * (d.map.ny - 1))));
    const k = i * d.map.ny + j;
    text = `class ${d.map.names[m.labels[k]]} · p ${(m.conf[k] / 255).toFixed(2)} — ` + text;
  }
  s.tip.textContent = text;
  s.tip.style.display = "block";
  s.tip.style.left = Math.min(px + 14, size(s) - 10) + "px";
  s.tip.style.top = (py + 14) + "px";
}

function draw(s) {
  const d = s.data, w = size(s), dpr = window.devicePixelRatio || 1;
  if (s.canvas.width !== Math.round(w * dpr)) { s.canvas.width = Math.round(w * dpr); s.canvas.height = Math.round(w * dpr); }
  const ctx = s.canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, w);
  const inner = w - 2 * MARGIN;
  if (s.map) {
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(s.map.canvas, MARGIN, MARGIN, inner, inner);
  } else {
    ctx.fillStyle = "#f4f4f6"; ctx.fillRect(MARGIN, MARGIN, inner, inner);
  }
  // Axes through 0 and a faint frame.
  ctx.strokeStyle = "rgba(0,0,0,0.25)"; ctx.lineWidth = 1;
  const [ox, oy] = toPixel(s, 0, 0);
  ctx.beginPath();
  if (ox > MARGIN && ox < w - MARGIN) { ctx.moveTo(ox, MARGIN); ctx.lineTo(ox, w - MARGIN); }
  if (oy > MARGIN && oy < w - MARGIN) { ctx.moveTo(MARGIN, oy); ctx.lineTo(w - MARGIN, oy); }
  ctx.stroke();
  ctx.strokeRect(MARGIN - 0.5, MARGIN - 0.5, inner + 1, inner + 1);
  // Class names on their areas.
  if (d.map && d.map.areas) {
    ctx.font = "bold 16px sans-serif"; ctx.textAlign = "center"; ctx.textBaseline = "middle";
    for (const a of d.map.areas) {
      const [ax, ay] = toPixel(s, a.x, a.y);
      ctx.lineWidth = 4; ctx.strokeStyle = "rgba(255,255,255,0.85)"; ctx.strokeText(a.name, ax, ay);
      ctx.fillStyle = "#111"; ctx.fillText(a.name, ax, ay);
    }
  }
  // A path (a morph's line from A to B), drawn under the points.
  const path = s.livePath || d.path;   // a live morph answer's path while dragging, else the page's
  if (path && path.length > 1) {
    ctx.strokeStyle = "#111"; ctx.lineWidth = 2.5; ctx.setLineDash([]);
    ctx.beginPath();
    path.forEach((q, k) => { const [qx, qy] = toPixel(s, q[0], q[1]); if (k) ctx.lineTo(qx, qy); else ctx.moveTo(qx, qy); });
    ctx.stroke();
    ctx.fillStyle = "#111";
    for (const q of path) { const [qx, qy] = toPixel(s, q[0], q[1]); ctx.beginPath(); ctx.arc(qx, qy, 2.5, 0, 2 * Math.PI); ctx.fill(); }
  }
  // The points: a crosshair on the one last moved, a ring on each, named if they have names.
  const names = d.names || [];
  const [ax, ay] = toPixel(s, s.points[s.active][0], s.points[s.active][1]);
  ctx.strokeStyle = "rgba(0,0,0,0.55)"; ctx.lineWidth = 1; ctx.setLineDash([4, 4]);
  ctx.beginPath(); ctx.moveTo(ax, MARGIN); ctx.lineTo(ax, w - MARGIN); ctx.moveTo(MARGIN, ay); ctx.lineTo(w - MARGIN, ay); ctx.stroke();
  ctx.setLineDash([]);
  s.points.forEach((p, k) => {
    const [px, py] = toPixel(s, p[0], p[1]);
    ctx.beginPath(); ctx.arc(px, py, names[k] ? 11 : 8, 0, 2 * Math.PI);
    ctx.fillStyle = "#111"; ctx.fill();
    ctx.lineWidth = 3; ctx.strokeStyle = "#fff"; ctx.stroke();
    if (names[k]) {
      ctx.fillStyle = "#fff"; ctx.font = "bold 12px sans-serif"; ctx.textAlign = "center"; ctx.textBaseline = "middle";
      ctx.fillText(names[k], px, py + 0.5);
    }
  });
  s.readout.textContent = s.points.map((p, k) => (names[k] ? names[k] + ": " : "") +
    `${d.x_label} = ${p[0].toFixed(3)}   ${d.y_label} = ${p[1].toFixed(3)}`).join("   |   ") +
    (d.caption ? `   ·   ${d.caption}` : "");
  s.readout.parentElement.querySelector(".lo-x").textContent = d.x_range[0];
  s.readout.parentElement.querySelector(".hi-x").textContent = d.x_range[1];
  s.readout.parentElement.querySelector(".lo-y").textContent = d.y_range[0];
  s.readout.parentElement.querySelector(".hi-y").textContent = d.y_range[1];
  s.readout.parentElement.querySelector(".name-x").textContent = d.x_label;
  s.readout.parentElement.querySelector(".name-y").textContent = d.y_label;
}
