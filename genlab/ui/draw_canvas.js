// GenLab drawing canvas: draw a digit with the mouse, a pen or a finger (white ink on black, as in
// MNIST). At the end of each stroke the whole picture goes to Python as the state value
// "drawing" = {png: a PNG data URL, seq}; "Clear" wipes it and sends {png: null, seq}. The canvas keeps
// a fixed 280 x 280 drawing surface whatever its size on screen. When the component is mounted afresh
// (another tab was open), the last drawing comes back from Python in data.png and is painted again.

const SIZE = 280;

export default function (component) {
  const {data, parentElement, setStateValue} = component;
  const root = parentElement.querySelector(".draw-canvas");
  let s = root.__draw;
  if (!s) {
    s = root.__draw = {drawing: false, last: null, seq: 0, strokes: 0};
    s.canvas = root.querySelector("canvas");
    s.canvas.width = SIZE; s.canvas.height = SIZE;
    s.ctx = s.canvas.getContext("2d");
    s.hint = root.querySelector(".hint");
    clear(s);
    s.canvas.addEventListener("pointerdown", (e) => onDown(s, e));
    s.canvas.addEventListener("pointermove", (e) => onMove(s, e));
    s.canvas.addEventListener("pointerup", (e) => onUp(s, e));
    s.canvas.addEventListener("pointercancel", (e) => onUp(s, e));
    root.querySelector("button.clear").addEventListener("click", () => {
      clear(s);
      send(s, null);
    });
    if (data.png) restore(s, data.png);
  }
  s.setStateValue = setStateValue;
  s.data = data;
  s.seq = Math.max(s.seq, data.seq || 0);
}

function clear(s) {
  s.ctx.fillStyle = "#000";
  s.ctx.fillRect(0, 0, SIZE, SIZE);
  s.strokes = 0;
  s.hint.style.display = "block";
}

function restore(s, png) {
  const img = new Image();
  img.onload = () => { s.ctx.drawImage(img, 0, 0, SIZE, SIZE); s.strokes = 1; s.hint.style.display = "none"; };
  img.src = png;
}

function send(s, png) {
  s.seq += 1;
  s.setStateValue("drawing", {png: png, seq: s.seq});
}

function position(s, e) {
  const r = s.canvas.getBoundingClientRect();
  return [(e.clientX - r.left) / r.width * SIZE, (e.clientY - r.top) / r.height * SIZE];
}

function pen(s) {
  const ctx = s.ctx;
  ctx.strokeStyle = "#fff"; ctx.fillStyle = "#fff";
  ctx.lineWidth = s.data.pen || 18; ctx.lineCap = "round"; ctx.lineJoin = "round";
  return ctx;
}

function onDown(s, e) {
  s.drawing = true;
  s.canvas.setPointerCapture(e.pointerId);
  s.last = position(s, e);
  const ctx = pen(s);
  ctx.beginPath(); ctx.arc(s.last[0], s.last[1], ctx.lineWidth / 2, 0, 2 * Math.PI); ctx.fill();
  s.hint.style.display = "none";
  e.preventDefault();
}

function onMove(s, e) {
  if (!s.drawing) return;
  const p = position(s, e);
  const ctx = pen(s);
  ctx.beginPath(); ctx.moveTo(s.last[0], s.last[1]); ctx.lineTo(p[0], p[1]); ctx.stroke();
  s.last = p;
  e.preventDefault();
}

function onUp(s, e) {
  if (!s.drawing) return;
  s.drawing = false;
  s.strokes += 1;
  send(s, s.canvas.toDataURL("image/png"));
}
