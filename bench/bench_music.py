"""Music speed figures on this machine: from a change of a latent control to playable audio (the budget is
300 ms), the Music page's whole rerun after a pad move, exports, and a MuseGAN training step.

    python bench/bench_music.py [--threads N] [--checkpoint PATH] [--out bench/results/music.json]

Prints a table and writes JSON. Uses the shipped MuseGAN (or a fresh one when missing).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from timing import times  # noqa: E402  (bench/timing.py)
from genlab.checkpoints import load_checkpoint  # noqa: E402
from genlab.models import build_model  # noqa: E402
from genlab.music import audio, controls as C, studio  # noqa: E402
from genlab.music.midi import DEFAULT_INSTRUMENTS, midi_bytes, musicxml_bytes  # noqa: E402
from genlab.training.config import TrainConfig  # noqa: E402
from genlab.training.loop import STEPS, _make_optimizers, _wrap  # noqa: E402

BUDGET_MS = 300
CHECKPOINT = ROOT / "checkpoints" / "musegan_chorales.safetensors"


def _page_rerun_ms(checkpoint: Path, repeat: int, dragging: bool = False) -> list[float]:
    """Server-side time of the Music page's rerun after the soprano's melody pad moves (Streamlit's AppTest;
    the pad's move is set as the browser sends it: a release, or a move while `dragging`, whose rerun
    leaves the sound for the release)."""
    from streamlit.testing.v1 import AppTest

    folder = Path(tempfile.mkdtemp())
    shutil.copy2(checkpoint, folder / checkpoint.name)   # a copy: the models folder refuses links that leave it
    os.environ["GENLAB_CHECKPOINTS"] = str(folder)
    at = AppTest.from_file(str(ROOT / "main.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/music.py").run()
    if not at.get("audio"):
        raise RuntimeError("the Music page drew no phrase: " + "; ".join(w.value for w in at.warning))
    out = []
    for i in range(repeat + 1):
        at.session_state["music.melody 0.pad"] = {"point": {"x": round(-2.5 + 0.5 * i, 1), "y": 0.0, "index": 0,
                                                            "seq": i + 1, "dragging": dragging}}
        start = time.perf_counter()
        at.run()
        out.append(time.perf_counter() - start)
        assert not at.exception, at.exception
    return out[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch CPU threads")
    parser.add_argument("--checkpoint", default=str(CHECKPOINT), help="a MuseGAN checkpoint")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "music.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    checkpoint = Path(args.checkpoint)
    if not checkpoint.exists():
        sys.exit(f"no MuseGAN at {checkpoint}; train one (docs/guide/music.md) or pass --checkpoint")
    rows = []
    start = time.perf_counter()
    model = load_checkpoint(checkpoint).model
    rows.append(("load + validate the MuseGAN checkpoint", (time.perf_counter() - start) * 1e3, "ms"))
    t = times(lambda: C.main_directions(model), 5)
    rows.append(("main directions of the 10 latent inputs (once per model)", statistics.median(t) * 1e3, "ms"))

    controls = C.default_controls(model)
    moves = iter(range(10**6))

    def moved():   # every call moves the soprano's melody pad: a new phrase each time
        i = next(moves)
        return {**controls, "melody 0": replace(controls["melody 0"], x=-3 + (i % 60) * 0.1)}

    directions = C.main_directions(model)
    t = times(lambda: C.generate_pitches(model, C.compose_z(model, moved(), directions)), 50)
    rows.append(("control change -> phrase (generator)", statistics.median(t) * 1e3, "ms (median of 50)"))
    pitches = C.generate_pitches(model, C.compose_z(model, controls, directions))[0]
    t = times(lambda: audio.wav_bytes(audio.render(pitches, 72, DEFAULT_INSTRUMENTS, "synth")), 50)
    rows.append(("phrase -> WAV (numpy synthesiser, 2 bars at 72 bpm)", statistics.median(t) * 1e3,
                 "ms (median of 50)"))
    t = times(lambda: studio.compose(model, moved(), directions, 72, DEFAULT_INSTRUMENTS), 50)
    change_ms = [v * 1e3 for v in t]
    rows.append(("control change -> playable audio (median)", statistics.median(change_ms), "ms (median of 50)"))
    rows.append(("control change -> playable audio (95th percentile)", sorted(change_ms)[int(0.95 * len(t)) - 1],
                 f"ms (budget {BUDGET_MS} ms)"))
    page = [v * 1e3 for v in _page_rerun_ms(checkpoint, 5)]
    rows.append(("Music page rerun after a pad move (server side, all of it)", statistics.median(page),
                 "ms (median of 5)"))
    page = [v * 1e3 for v in _page_rerun_ms(checkpoint, 5, dragging=True)]
    rows.append(("the same while dragging (the roll follows, the sound waits for the release)",
                 statistics.median(page), "ms (median of 5)"))
    t = times(lambda: midi_bytes(pitches, 72), 20)
    rows.append(("MIDI export", statistics.median(t) * 1e3, "ms"))
    t = times(lambda: musicxml_bytes(pitches, 72), 5)
    rows.append(("MusicXML export (music21)", statistics.median(t) * 1e3, "ms"))
    t = times(lambda: studio.morph(model, controls, C.default_controls(model, 1), directions, 4, 72,
                                    DEFAULT_INSTRUMENTS), 5)
    rows.append(("morph A -> B, 4 points (8 bars) with audio", statistics.median(t) * 1e3, "ms"))
    t = times(lambda: studio.nearest_chorale(pitches), 20)
    rows.append(("nearest real chorale phrase (of ~3,000)", statistics.median(t) * 1e3, "ms"))

    cfg = TrainConfig("musegan", dataset="chorales", batch_size=32, critic_steps=3)
    train_model = build_model("musegan").train()
    optimizers, nets = _make_optimizers(train_model, cfg), _wrap(train_model, 1, torch.device("cpu"), None)
    x = torch.randint(48, 72, (cfg.batch_size * cfg.critic_steps, 2, 16, 4))
    low = replace(cfg, precision="bfloat16")
    step = {c.precision: (lambda c=c: STEPS["musegan"](nets, optimizers, x, None, c, train_model)) for c in (cfg, low)}
    t = {name: [] for name in step}
    for _ in range(3):              # interleaved, so the ratio holds on a busy machine
        for name, fn in step.items():
            t[name] += times(fn, 1)
    rows.append(("train: one generator step (3 critic steps, batch 32), float32", statistics.median(t["float32"]), "s"))
    rows.append(("train: the same step, --precision bfloat16", statistics.median(t["bfloat16"]), "s"))
    rows.append(("train: bfloat16 speed-up", statistics.median(t["float32"]) / statistics.median(t["bfloat16"]), "x"))

    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>9}  unit")
    for name, value, unit in rows:
        print(f"{name:<{width}}  {value:>9.1f}  {unit}")
    worst = sorted(change_ms)[int(0.95 * len(change_ms)) - 1]
    print(f"\ncontrol change -> audio, 95th percentile {worst:.0f} ms: "
          f"{'within' if worst <= BUDGET_MS else 'OVER'} the {BUDGET_MS} ms budget")
    result = {"machine": {"cpu_threads": torch.get_num_threads(), "cuda": torch.cuda.is_available(),
                          "python": platform.python_version(), "torch": torch.__version__,
                          "renderer": "soundfont" if audio.soundfont_available() else "numpy synthesiser"},
              "budget_ms": BUDGET_MS,
              "rows": [{"measure": n, "value": round(v, 2), "unit": u} for n, v, u in rows]}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
