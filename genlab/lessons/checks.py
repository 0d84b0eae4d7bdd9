"""A lesson step's check, evaluated on the live model against what the student did.

Each kind of check (genlab.lessons.format.CHECK_FIELDS) is a function of the step's parameters and an
`Observation`: what the student's page shows (its model, point, label, units switched off, morph ends, drawing,
or a marked point). The answer is passed or not, with a sentence that says what the model did (so a failed check
is a hint, not just "wrong"). Nothing here imports Streamlit; the step bar gathers the observation.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..generate import GenerateError
from ..latent.conditional import every_class
from ..inspect import Ablation
from ..latent.maps import ClassAreaMap
from ..latent.morph import morph
from ..latent.point import explore_point
from .format import Check

MIN_P = 0.9              # default probability a point_class check asks for
BORDER_MARGIN = 0.1      # default: the top two probabilities within this of each other
MAX_UNITS = 3            # default units a switch_off check allows
WITHIN = 0.15            # default distance (latent units) a predict_area mark may lie from the class's area


@dataclass
class Observation:
    """What the student's page shows. Only what the check's kind reads has to be set."""
    model: object = None                 # the generative model (torch module) the page shows
    model_file: str = ""                 # its file name (to name it in messages, and to match a check's model)
    classifier: object = None            # the strong classifier (torch module)
    class_names: tuple[str, ...] = tuple(str(c) for c in range(10))
    point: list[float] | None = None     # the explorer's or CGAN page's point
    label: int | None = None             # the class a conditional GAN draws
    ablation: Ablation | None = None     # units switched off at the point
    a: list[float] | None = None         # a morph's ends, steps and method
    b: list[float] | None = None
    steps: int = 16
    method: str = "linear"
    drawing: torch.Tensor | None = None  # the VAE Lab's digit (1, 1, 28, 28), in [0, 1]
    mark: tuple[float, float] | None = None   # a predict step's marked point
    class_map: ClassAreaMap | None = None     # the 2D map a predict step reveals
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    passed: bool
    message: str         # what the model did, in a sentence; with the step's hint appended when it failed
    score: float | None = None   # a predict step's distance to the area (latent units)


def _class_index(names: tuple[str, ...], name: str) -> int:
    if name in names:
        return names.index(name)
    raise ValueError(f"the check names class {name!r}, which the classifier does not have ({', '.join(names)})")


def _p_text(p: float) -> str:
    return f"p {p:.2f}"


def _top(probabilities) -> list[tuple[int, float]]:
    p = np.asarray(probabilities, dtype=float)
    order = p.argsort()[::-1]
    return [(int(i), float(p[i])) for i in order[:2]]


def _need(obs: Observation, *names: str) -> Verdict | None:
    """The verdict that says what the page does not show yet (None when it shows all of `names`)."""
    missing = [n for n in names if getattr(obs, n) is None]
    if missing:
        return Verdict(False, {"point": "No point yet: open the step's page and move the point.",
                "a": "No morph yet: open the Morph page.", "b": "No morph yet: open the Morph page.",
                "drawing": "Nothing drawn yet: draw a digit on the canvas (or pick a test digit) and encode it.",
                "mark": "No mark yet: click the small pad to mark your guess.",
                "classifier": "There is no strong classifier to judge with (checkpoints/classifier_strong).",
                "model": "The page shows no model yet.",
                "class_map": "There is no class-area map to compare with."}.get(missing[0], f"{missing[0]} is missing"))
    return None


def _point_view(obs: Observation):
    """(the point's view, None), or (None, the verdict saying what is missing)."""
    if (refused := _need(obs, "model", "classifier", "point")):
        return None, refused
    return explore_point(obs.model, obs.point, obs.classifier, label=obs.label), None


def point_class(params: dict, obs: Observation) -> Verdict:
    """The point's image is read as `class` with p >= min_p."""
    view, refused = _point_view(obs)
    if refused:
        return refused
    want = _class_index(obs.class_names, params["class"])
    min_p = params.get("min_p", MIN_P)
    (top, p), _ = _top(view.probabilities)
    got = obs.class_names[top]
    p_want = float(view.probabilities[want])
    if top == want and p_want >= min_p:
        return Verdict(True, f"Yes: the classifier reads this point's image as a {got} ({_p_text(p_want)}).")
    if top == want:
        return Verdict(False, f"It is a {got}, but only at {_p_text(p_want)}: move further into the {got}s' area, "
                              f"where the colour is strong, until p is at least {min_p:.2f}.")
    return Verdict(False, f"The classifier reads this point as a {got} ({_p_text(p)}); a {params['class']} gets "
                          f"{_p_text(p_want)}.")


def border(params: dict, obs: Observation) -> Verdict:
    """The top two classes' probabilities are within `margin` (and are `classes`, when given)."""
    view, refused = _point_view(obs)
    if refused:
        return refused
    margin = params.get("margin", BORDER_MARGIN)
    (c1, p1), (c2, p2) = _top(view.probabilities)
    n1, n2 = obs.class_names[c1], obs.class_names[c2]
    wanted = params.get("classes")
    if wanted and {n1, n2} != set(wanted) and n1 in wanted:
        other = wanted[1] if n1 == wanted[0] else wanted[0]
        return Verdict(False, f"Not quite on the border: still inside the {n1}s' area ({n1} {_p_text(p1)}, "
                              f"{other} {_p_text(float(view.probabilities[obs.class_names.index(other)]))}); "
                              f"move towards the {other}s.")
    if wanted and {n1, n2} != set(wanted):
        return Verdict(False, f"Here the top two are {n1} ({_p_text(p1)}) and {n2} ({_p_text(p2)}), not "
                              f"{wanted[0]} and {wanted[1]}: find where the {wanted[0]}s' and the {wanted[1]}s' areas meet.")
    if p1 - p2 <= margin:
        return Verdict(True, f"Yes: on the border, {n1} {_p_text(p1)} against {n2} {_p_text(p2)} "
                             f"(within {margin:.2f}): the image is half one, half the other.")
    return Verdict(False, f"Not quite on the border: {n1} {_p_text(p1)} against {n2} {_p_text(p2)}, "
                          f"{p1 - p2:.2f} apart; a border point has them within {margin:.2f}.")


def switch_off(params: dict, obs: Observation) -> Verdict:
    """At the point the image is `from_class`; with at most `max_units` units switched off it is `to_class`."""
    if (refused := _need(obs, "model", "classifier", "point")):
        return refused
    source = _class_index(obs.class_names, params["from_class"])
    target = _class_index(obs.class_names, params["to_class"])
    limit = params.get("max_units", MAX_UNITS)
    plain = explore_point(obs.model, obs.point, obs.classifier, label=obs.label)
    (before, pb), _ = _top(plain.probabilities)
    if before != source:
        return Verdict(False, f"Start from a {params['from_class']}: this point's image is a "
                              f"{obs.class_names[before]} ({_p_text(pb)}) before any unit is switched off.")
    ablation = obs.ablation
    if ablation is None or ablation.empty:
        return Verdict(False, f"No unit is switched off yet: turn on 'Switch units off' and click units in a layer "
                              f"(at most {limit}).")
    units = len(ablation.zeroed) + len(ablation.scaled) + (1 if ablation.box is not None else 0)
    changed = explore_point(obs.model, obs.point, obs.classifier, label=obs.label, ablation=ablation)
    (after, pa), _ = _top(changed.probabilities)
    if units > limit:
        return Verdict(False, f"{units} changes in {ablation.layer}; the task allows at most {limit}.")
    if after == target:
        return Verdict(True, f"Yes: with {units} unit{'s' if units != 1 else ''} of {ablation.layer} off, the "
                             f"{params['from_class']} became a {obs.class_names[after]} ({_p_text(pa)}).")
    return Verdict(False, f"With {units} unit{'s' if units != 1 else ''} of {ablation.layer} off the image is a "
                          f"{obs.class_names[after]} ({_p_text(pa)}), not a {params['to_class']}.")


def morph_classes(params: dict, obs: Observation) -> Verdict:
    """The morph's steps pass through exactly `count` different classes."""
    if (refused := _need(obs, "model", "classifier", "a", "b")):
        return refused
    result = morph(obs.model, obs.a, obs.b, int(obs.steps), obs.method, obs.classifier, obs.label)
    seen = list(dict.fromkeys(result.classes))       # the classes in the order the morph meets them
    names = " → ".join(obs.class_names[c] for c in seen)
    want = params["count"]
    if len(seen) == want:
        return Verdict(True, f"Yes: from A to B the morph passes {want} classes: {names}.")
    return Verdict(False, f"This morph passes {len(seen)} class{'es' if len(seen) != 1 else ''} ({names}), not {want}: "
                          f"move A or B {'across more areas' if len(seen) < want else 'so the line crosses fewer areas'}.")


@torch.inference_mode()
def labels_agree(params: dict, obs: Observation) -> Verdict:
    """At the point, a conditional GAN's image for at least `at_least` of its labels is read as that label."""
    if (refused := _need(obs, "model", "classifier", "point")):
        return refused
    if not getattr(obs.model, "conditional", False):
        return Verdict(False, f"{obs.model_file} is not a conditional GAN: choose one on the Conditional GAN page.")
    _, read, _ = every_class(obs.model, obs.point, obs.classifier)     # what the page's "One point, every class" shows
    n, want = len(read), params["at_least"]
    agree = sum(read[c] == c for c in range(n))
    shown = ", ".join(f"{obs.class_names[c]}→{obs.class_names[read[c]]}" for c in range(n))
    if agree >= want:
        return Verdict(True, f"Yes: at this point {agree} of the {n} labels are drawn as themselves ({shown}).")
    return Verdict(False, f"At this point {agree} of the {n} labels are drawn as themselves ({shown}); the task "
                          f"asks for {want}.")


@torch.inference_mode()
def draw_reads_back(params: dict, obs: Observation) -> Verdict:
    """The classifier reads the VAE's reconstruction of the drawing as the class it reads the drawing as."""
    if (refused := _need(obs, "model", "classifier", "drawing")):
        return refused
    if not hasattr(obs.model, "encode"):
        return Verdict(False, f"{obs.model_file} has no encoder: choose a VAE.")
    min_p = params.get("min_p", 0.8)
    drawing = obs.drawing.reshape(1, 1, 28, 28).float()
    code = obs.model.encode(drawing)
    back = obs.model.generate(code, None)
    p = torch.softmax(obs.classifier(torch.cat([drawing, back])), 1)
    c_draw, c_back = int(p[0].argmax()), int(p[1].argmax())
    n_draw, n_back = obs.class_names[c_draw], obs.class_names[c_back]
    if p[0, c_draw] < min_p:
        return Verdict(False, f"The classifier is not sure what your drawing is (a {n_draw} at {_p_text(float(p[0, c_draw]))}): "
                              "draw the digit larger and clearer, in the middle of the canvas.")
    if c_back == c_draw and p[1, c_back] >= min_p:
        return Verdict(True, f"Yes: your {n_draw} comes back from the VAE as a {n_back} ({_p_text(float(p[1, c_back]))}).")
    return Verdict(False, f"Your drawing is a {n_draw}, but the VAE gives back a {n_back} "
                          f"({_p_text(float(p[1, c_back]))}): its code landed in another class's area.")


def predict_area(params: dict, obs: Observation) -> Verdict:
    """The student's mark lies in (or within `within` of) the area where the map's class is `class`."""
    if (refused := _need(obs, "mark", "class_map")):
        return refused
    m = obs.class_map
    want = _class_index(obs.class_names, params["class"])
    within = params.get("within", WITHIN)
    xs, ys = m.coords[0], m.coords[1]
    inside = m.labels == want
    x, y = float(obs.mark[0]), float(obs.mark[1])
    if not inside.any():
        return Verdict(False, f"This model's map has no {params['class']}s at all.", None)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    distance = np.sqrt((gx - x) ** 2 + (gy - y) ** 2)
    nearest = float(distance[inside].min())
    centre = (float(gx[inside].mean()), float(gy[inside].mean()))
    i, j = int(np.abs(xs - x).argmin()), int(np.abs(ys - y).argmin())
    here = obs.class_names[int(m.labels[i, j])]
    share = float(inside.mean())
    about = (f"The {params['class']}s fill {share:.0%} of the map, around ({centre[0]:.2f}, {centre[1]:.2f}); "
             f"your mark at ({x:.2f}, {y:.2f}) is on a {here}")
    if nearest == 0 or here == params["class"]:
        return Verdict(True, f"Yes: right in the {params['class']}s' area. {about}.", 0.0)
    if nearest <= within:
        return Verdict(True, f"Close enough: {nearest:.2f} from the {params['class']}s' area. {about}.", nearest)
    return Verdict(False, f"{about}, {nearest:.2f} from the nearest {params['class']} (within {within:.2f} passes).",
                   nearest)


KINDS = {"point_class": point_class, "border": border, "switch_off": switch_off, "morph_classes": morph_classes,
         "labels_agree": labels_agree, "draw_reads_back": draw_reads_back, "predict_area": predict_area}


def evaluate(check: Check, obs: Observation) -> Verdict:
    """The check's verdict on what the student's page shows; a failed one ends with the step's hint."""
    try:
        verdict = KINDS[check.kind](check.params, obs)
    except (GenerateError, ValueError) as err:
        verdict = Verdict(False, f"This cannot be checked here: {err}.")
    if not verdict.passed and check.hint:
        verdict = Verdict(False, f"{verdict.message} Hint: {check.hint}", verdict.score)
    return verdict
