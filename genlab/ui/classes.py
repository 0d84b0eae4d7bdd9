"""This session's part in a class (genlab.lessons.classroom): the teacher who leads it, or a student who follows.

Session state: "class.code" (the class), "class.token" (only the teacher's session has it), "class.following"
(a student who has not pressed "Release to explore"), "class.student" (an anonymous random id for answers),
"class.seen" (the teacher's view counter the student last followed).
"""
from __future__ import annotations

import secrets
from urllib.parse import urlencode

import streamlit as st

from ..api import CLASS_PATH
from ..lessons import classroom
from .visitor import visitor_id

ss = st.session_state
FOLLOW_EVERY_MS = 200       # a following pad polls the class route this often


def code() -> str | None:
    return ss.get("class.code")


def is_teacher() -> bool:
    return bool(ss.get("class.code") and ss.get("class.token"))


def is_student() -> bool:
    return bool(ss.get("class.code") and not ss.get("class.token"))


def following() -> bool:
    return is_student() and bool(ss.get("class.following", True))


def student_id() -> str:
    return ss.setdefault("class.student", secrets.token_hex(8))


def leading_now() -> bool:
    """The teacher leads (the class is not paused): their drags go to the class."""
    return is_teacher() and not ss.get("class.paused", False)


def lead_query() -> dict:
    """Parameters a teacher's live drag adds to the point route (the route hands the point to the class)."""
    return {"class": ss["class.code"], "token": ss["class.token"]} if leading_now() else {}


def follow_data(model_file: str, label: int | None = None) -> dict | None:
    """The pad's `follow` for a student following the teacher, else None."""
    if not following():
        return None
    return {"url": CLASS_PATH + "?" + urlencode({"code": ss["class.code"]}), "model": model_file, "label": label,
            "every": FOLLOW_EVERY_MS}


def start() -> None:
    """Start a class with this session as its teacher (raises ClassError when the server has too many)."""
    leave()
    ss["class.code"], ss["class.token"] = classroom.start_class(ss.get("lesson.id"), owner=visitor_id())
    ss["class.paused"] = False


def restore() -> None:
    """Once per session: a teacher's new session (a reload, a typed address) leads the class they started."""
    if ss.get("class.restored"):
        return
    ss["class.restored"] = True
    if ss.get("class.code"):
        return
    try:
        found = classroom.owned_by(visitor_id())
        if found is not None:
            ss["class.code"], ss["class.token"] = found
            ss["class.paused"] = bool(classroom.view(found[0]).get("paused"))
    except (classroom.ClassError, OSError):
        pass


def join(text: str) -> None:
    """Join a class as a student (raises ClassError for a code that does not exist or has ended)."""
    wanted = classroom.normal_code(text)
    classroom.view(wanted)           # exists and has not ended
    if ss.get("class.code") == wanted and not ss.get("class.token"):
        return
    leave()
    ss["class.code"], ss["class.following"], ss["class.seen"] = wanted, True, None


def leave() -> None:
    if is_teacher():
        try:
            classroom.end_class(ss["class.code"], ss["class.token"])
        except classroom.ClassError:
            pass
    for key in ("class.code", "class.token", "class.following", "class.seen", "class.paused"):
        ss.pop(key, None)
