"""Classes that follow a teacher: a short code, the teacher's view and live point, and the students' answers.

A class lives in a folder of the runs folder ($GENLAB_RUNS/classes/CODE/), which every replica of a hosted
GenLab reads (as the training jobs do), so a teacher served by one replica leads students served by others:

    meta.json          created, expires, the teacher's token and the SHA-256 of the teacher's visitor id (so the
                       teacher's next session, a reload, leads the class again; the folder is never served)
    view.json          the teacher's page, link state, lesson and step, whether the class is paused; a counter
    live.json          the teacher's latest dragged point (written by the live route, genlab/api.py)
    answers/ID.json    one student's answers (e.g. where they think the 8s live), by lesson step

Only a request that carries the teacher's token can change view.json or live.json; a student's session can only
add its own answers. Everything is bounded: MAX_CLASSES live classes (the oldest expired ones are swept first),
LIFETIME seconds each, MAX_ANSWERERS answer files a class, MAX_VALUE characters a link value, and each file's
size. Writes are atomic (genlab.files); readers see the old file or the new one.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import shutil
import time
from pathlib import Path

from ..catalog import runs_folder
from ..files import read_json, write_json

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"     # no 0/O, 1/I: read off a projector
CODE_LENGTH = 6
CODE = re.compile(rf"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")
STUDENT = re.compile(r"^[0-9a-f]{8,32}$")
LIFETIME = 6 * 3600          # seconds a class lives after it starts
MAX_CLASSES = 200
MAX_ANSWERERS = 300          # students who can answer in one class
MAX_ANSWERS = 64             # answers kept per student (one per lesson step)
MAX_VALUE = 1000             # characters of one link value
MAX_QUERY = 24               # link parameters
MAX_DIM = 64                 # coordinates of a live point


class ClassError(ValueError):
    """A class that does not exist, has ended, or a change its caller may not make; the message says which."""


def classes_folder() -> Path:
    return runs_folder() / "classes"


def _folder(code: str) -> Path:
    if not isinstance(code, str) or not CODE.match(code):
        raise ClassError(f"{str(code)[:12]!r} is not a class code ({CODE_LENGTH} letters and digits, e.g. K7QH3M)")
    return classes_folder() / code


def normal_code(text: str) -> str:
    """A typed code as stored: upper case, spaces and dashes dropped."""
    return re.sub(r"[\s-]", "", str(text or ""))[:20].upper()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sweep(now: float | None = None) -> int:
    """Remove the classes that have ended; returns how many."""
    now = time.time() if now is None else now
    removed = 0
    folder = classes_folder()
    if not folder.is_dir():
        return 0
    for path in folder.iterdir():
        meta = read_json(path / "meta.json", None)
        if not isinstance(meta, dict) or meta.get("expires", 0) < now:
            if not isinstance(meta, dict) and path.stat().st_mtime > now - 60:
                continue          # being created right now
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed


def start_class(lesson: str | None = None, owner: str = "") -> tuple[str, str]:
    """A new class: (its code, the teacher's secret token). `owner`: the teacher's visitor id (genlab.ui.visitor),
    whose later sessions `owned_by` finds it for. Raises ClassError when MAX_CLASSES are running."""
    sweep()
    folder = classes_folder()
    folder.mkdir(parents=True, exist_ok=True)
    if sum(1 for _ in folder.iterdir()) >= MAX_CLASSES:
        raise ClassError(f"{MAX_CLASSES} classes are running on this server; try again later")
    for _ in range(50):
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        try:
            (folder / code).mkdir()
            break
        except FileExistsError:
            continue
    else:
        raise ClassError("no free class code; try again")
    token = secrets.token_hex(16)
    now = time.time()
    write_json(folder / code / "meta.json", {"created": now, "expires": now + LIFETIME, "token": token,
                                             "owner": _digest(owner) if owner else ""})
    write_json(folder / code / "view.json", {"seq": 0, "page": None, "query": {}, "lesson": lesson, "step": None,
                                             "paused": False, "updated": now})
    return code, token


def _meta(code: str) -> dict:
    meta = read_json(_folder(code) / "meta.json", None)
    if not isinstance(meta, dict):
        raise ClassError(f"there is no class {code}")
    if meta.get("expires", 0) < time.time():
        raise ClassError(f"class {code} has ended")
    return meta


def _teacher(code: str, token: str) -> None:
    meta = _meta(code)
    if not isinstance(token, str) or not token or not hmac.compare_digest(token.encode(),
                                                                           str(meta.get("token", "")).encode()):
        raise ClassError("only the teacher's session can lead this class")


def owned_by(owner: str) -> tuple[str, str] | None:
    """(code, token) of the newest running class this visitor started, or None."""
    folder = classes_folder()
    if not owner or not folder.is_dir():
        return None
    digest, now, best = _digest(owner), time.time(), None
    for path in list(folder.iterdir())[:MAX_CLASSES * 2]:
        meta = read_json(path / "meta.json", None)
        if (isinstance(meta, dict) and meta.get("owner") == digest and meta.get("expires", 0) > now
                and CODE.match(path.name) and (best is None or meta.get("created", 0) > best[0])):
            best = (meta.get("created", 0), path.name, str(meta.get("token", "")))
    return None if best is None else (best[1], best[2])


def is_teacher(code: str, token: str | None) -> bool:
    try:
        _teacher(code, token or "")
        return True
    except ClassError:
        return False


def _clean_query(query: dict) -> dict[str, str]:
    return {str(k)[:40]: str(v)[:MAX_VALUE] for k, v in list((query or {}).items())[:MAX_QUERY]}


def view(code: str) -> dict:
    """The teacher's view: {"seq", "page", "query", "lesson", "step", "paused", "updated"}."""
    _meta(code)
    found = read_json(_folder(code) / "view.json", None)
    if not isinstance(found, dict):
        raise ClassError(f"class {code} has no view yet")
    return found


def lead(code: str, token: str, page: str | None = None, query: dict | None = None, lesson: str | None = None,
         step: int | None = None, paused: bool | None = None) -> dict:
    """The teacher's session sets what the class sees (unchanged fields kept); the counter goes up when it changed.
    Raises ClassError for a wrong token or a class that has ended."""
    _teacher(code, token)
    current = view(code)
    wanted = dict(current)
    if page is not None:
        wanted.update(page=str(page)[:40], query=_clean_query(query or {}), lesson=lesson,
                      step=None if step is None else int(step))
    if paused is not None:
        wanted["paused"] = bool(paused)
    if all(wanted.get(k) == current.get(k) for k in ("page", "query", "lesson", "step", "paused")):
        return current
    wanted.update(seq=int(current.get("seq", 0)) + 1, updated=time.time())
    write_json(_folder(code) / "view.json", wanted)
    return wanted


def set_live(code: str, token: str, model: str, z: list[float], label: int | None = None) -> dict:
    """The teacher's dragged point (from the live route): students' pads move to it."""
    _teacher(code, token)
    if not isinstance(z, (list, tuple)) or not 0 < len(z) <= MAX_DIM:
        raise ClassError("a live point needs 1 to 64 coordinates")
    folder = _folder(code)
    previous = read_json(folder / "live.json", {}) or {}
    live = {"seq": int(previous.get("seq", 0)) + 1, "model": str(model)[:200], "z": [round(float(v), 4) for v in z],
            "label": None if label is None else int(label), "t": time.time()}
    write_json(folder / "live.json", live)
    return live


def live(code: str) -> dict | None:
    _meta(code)
    found = read_json(_folder(code) / "live.json", None)
    return found if isinstance(found, dict) else None


def follow_state(code: str) -> dict:
    """What a follower polls (the live route /genlab/api/class): the view's counter, paused, and the live point."""
    v = view(code)
    return {"seq": v.get("seq", 0), "paused": bool(v.get("paused")), "page": v.get("page"), "live": live(code)}


def answer(code: str, student: str, step_key: str, value) -> None:
    """A student's answer to a step (replacing their earlier one); value: a JSON-able small value."""
    _meta(code)
    if not isinstance(student, str) or not STUDENT.match(student):
        raise ClassError("not a student id")
    folder = _folder(code) / "answers"
    folder.mkdir(exist_ok=True)
    path = folder / f"{student}.json"
    if not path.exists() and sum(1 for _ in folder.iterdir()) >= MAX_ANSWERERS:
        raise ClassError(f"this class has {MAX_ANSWERERS} students' answers already")
    text = json.dumps(value)
    if len(text) > 2000:
        raise ClassError("an answer is at most 2,000 characters")
    mine = read_json(path, {}) or {}
    mine[str(step_key)[:100]] = value
    if len(mine) > MAX_ANSWERS:
        mine = dict(list(mine.items())[-MAX_ANSWERS:])
    write_json(path, mine)


def answers(code: str, step_key: str) -> list:
    """Every student's answer to a step (anonymous: in no particular order, without their ids)."""
    _meta(code)
    folder = _folder(code) / "answers"
    found = []
    for path in sorted(folder.glob("*.json"))[:MAX_ANSWERERS] if folder.is_dir() else []:
        mine = read_json(path, {})
        if isinstance(mine, dict) and step_key in mine:
            found.append(mine[step_key])
    return found


def end_class(code: str, token: str) -> None:
    _teacher(code, token)
    shutil.rmtree(_folder(code), ignore_errors=True)
