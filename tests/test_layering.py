"""Imports run one way (issue 31): the core library (genlab, without genlab.ui) never imports genlab.ui or
streamlit, and no genlab modules import each other in a circle. Read from the source (every import statement,
those inside functions too), so a late import cannot hide a turn back."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "genlab"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules `name` imports (genlab ones resolved to the deepest known module; others by top name)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            targets = [f"{stem}.{alias.name}" if f"{stem}.{alias.name}" in known else stem for alias in node.names]
        else:
            continue
        for target in targets:
            while target not in known and "." in target and target.startswith("genlab"):
                target = target.rsplit(".", 1)[0]
            found.add(target if target.startswith("genlab") else target.split(".")[0])
    found.discard(name)
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(name, path, known) for name, path in mods.items()}


def test_the_core_never_imports_the_ui_or_streamlit():
    wrong = {name: sorted(t for t in targets if t == "streamlit" or t.startswith("genlab.ui"))
             for name, targets in graph().items() if not name.startswith("genlab.ui")}
    assert not {k: v for k, v in wrong.items() if v}, wrong


def test_no_modules_import_each_other_in_a_circle():
    edges = {name: {t for t in targets if t.startswith("genlab")} for name, targets in graph().items()}
    # a package's __init__ importing its own modules is how a package is built, not a circle
    edges = {name: {t for t in targets if not t.startswith(name + ".")} for name, targets in edges.items()}
    index, low, stack, on_stack, circles, counter = {}, {}, [], set(), [], [0]

    def visit(v):                                    # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    assert not circles, circles


def test_the_check_sees_a_late_import_that_turns_back(tmp_path):
    """The scan reads imports inside functions too: a core module with a late `from .ui import x` is caught."""
    source = "def f():\n    from .ui.loaders import load_model\n    return load_model\n"
    path = tmp_path / "genlab" / "late.py"
    path.parent.mkdir()
    path.write_text(source)
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert "genlab.ui.loaders" in imports_of("genlab.late", path, {"genlab.late", "genlab.ui.loaders"})
    finally:
        ROOT = saved


def test_pages_stay_thin():
    """Issue 31: a page keeps its widgets and layout; its logic lives in genlab/ui or the core (the fattest
    pages were 270 and 220 lines)."""
    fat = {p.name: n for p in (ROOT / "pages").glob("*.py") if (n := len(p.read_text().splitlines())) > 150}
    assert not fat, fat
