"""Every view is shareable (issue 14): each page reads its link once (a bad value gets a message and a
default), and writes its current view back into the link."""
import pytest

from genlab.training.jobs import JobSpec, JobStore

from .conftest import SHIPPED, open_app


@pytest.fixture(autouse=True)
def shipped(monkeypatch):
    monkeypatch.setenv("GENLAB_CHECKPOINTS", str(SHIPPED))


def warnings(at) -> str:
    return " ".join(w.value for w in at.warning)


def reopened(page, at):
    """The page opened afresh from the link the first one wrote."""
    return open_app(page, **{k: at.query_params[k] for k in at.query_params})


def test_morph_link_round_trip_and_bad_values():
    at = open_app("pages/morph.py", model="gan_3d.safetensors", a="-0.5,0.25,0.1", b="0.5,0,0", steps="8",
                  method="spherical", axis="z1")
    ss = at.session_state
    assert ss["morph.a"] == [-0.5, 0.25, 0.1] and ss["morph.b"] == [0.5, 0.0, 0.0]
    assert ss["morph.steps"] == 8 and ss["morph.method"] == "spherical" and ss["morph.axis"] == 0 and not at.warning
    assert at.query_params["a"] == ["-0.500,0.250,0.100"] or at.query_params["a"] == "-0.500,0.250,0.100"
    again = reopened("pages/morph.py", at)
    assert [again.session_state[k] for k in ("morph.a", "morph.b", "morph.steps", "morph.method", "morph.axis")] == \
        [ss[k] for k in ("morph.a", "morph.b", "morph.steps", "morph.method", "morph.axis")]
    bad = open_app("pages/morph.py", model="nope.safetensors", a="1,2,3", b="abc", steps="1e9", method="cubic")
    text = warnings(bad)
    assert "'nope.safetensors', which is not in the models folder" in text and "steps 1e+09 is outside 2 to 64" in text
    assert "'cubic' is not one of linear, spherical" in text and "B: 'abc' is not a number" in text
    assert bad.session_state["morph.steps"] == 64 and not bad.exception


def test_conditional_gan_link():
    at = open_app("pages/cgan.py", z="0.1,-0.2,0.3", label="4", map="7", axis="z2", off="generator.layers.act1|5|x2:7")
    ss = at.session_state
    assert ss["cgan.point"] == [0.1, -0.2, 0.3] and ss["cgan.label"] == 4 and ss["cgan.map_label"] == 7
    assert ss["cgan.axis"] == 1 and not at.warning
    assert ss["cgan-ablation"].zeroed == (5,) and ss["cgan-ablation"].scaled == (7,)
    again = reopened("pages/cgan.py", at)
    assert again.session_state["cgan.point"] == ss["cgan.point"] and again.session_state["cgan.label"] == 4
    assert again.session_state["cgan-ablation"] == ss["cgan-ablation"]
    bad = open_app("pages/cgan.py", z="5,5,5", label="12")
    assert "'12' is not one of 0, 1" in warnings(bad) and "lies outside the latent space" in warnings(bad)
    assert bad.session_state["cgan.point"] == [1.0, 1.0, 1.0]


def test_vae_lab_link():
    at = open_app("pages/vae_lab.py", model="vae_2d.safetensors", tab="vectors", digit="5", alpha="thickness:1.5")
    ss = at.session_state
    assert ss["vae.model"] == "vae_2d.safetensors" and ss["vae.tab"] == "Attribute vectors"
    assert ss["vae.digit"]["test_index"] == 5 and ss["vae.alpha.thickness"] == 1.5 and not at.warning
    again = reopened("pages/vae_lab.py", at)
    assert again.session_state["vae.alpha.thickness"] == 1.5 and again.session_state["vae.digit"]["test_index"] == 5
    bad = open_app("pages/vae_lab.py", tab="x", digit="99999", alpha="bold:2;slant:9")
    text = warnings(bad)
    assert "'x' is not one of digit, vectors, maps" in text and "test digit 99999 is outside" in text
    assert "'bold' is not one of" in text and "alpha of slant 9 is outside -3 to 3; using 3" in text
    assert not bad.exception


def test_music_link():
    z = ";".join(f"{i},0.5,-0.25" for i in range(10))
    at = open_app("pages/music.py", z=z, tempo="101", transpose="2", hold="0")
    ss = at.session_state
    assert ss["music.seeds"]["chords"] == 0 and ss["music.seeds"]["groove 3"] == 9
    assert ss["music.melody 1.x"] == 0.5 and ss["music.tempo"] == 100 and ss["music.transpose"] == 2
    assert ss["music.hold"] is False and not at.warning
    again = reopened("pages/music.py", at)
    assert again.session_state["music.seeds"] == ss["music.seeds"] and again.session_state["music.tempo"] == 100
    bad = open_app("pages/music.py", z="1,2", transpose="x")
    assert "z has 1 group; this model needs 10 groups of seed,x,y" in warnings(bad)
    assert "'x' is not a whole number" in warnings(bad)
    many = warnings(open_app("pages/music.py", z=";".join("1,0,0" for _ in range(1000))))   # issue 32.23
    assert "The link's z is 5,999 characters long" in many and "11" not in many, many   # too long for a link
    many = warnings(open_app("pages/music.py", z=";".join("1,0,0" for _ in range(100))))
    assert "this model needs 10 groups" in many and "11" not in many, many
    odd = warnings(open_app("pages/music.py", z=";".join(["1,0,0"] * 9 + ["1,0"])))
    assert "a group '1,0' (group 10) that is not seed,x,y" in odd, odd


def test_model_card_and_train_links(monkeypatch, tmp_path):
    at = open_app("pages/models.py", model="gan_3d.safetensors", seed="7")
    assert at.session_state["models.file"] == "gan_3d.safetensors" and at.session_state["models.seed"] == 7
    assert "which is not in the models folder" in warnings(open_app("pages/models.py", model="../etc/passwd"))
    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path))
    store = JobStore(tmp_path, python="/bin/true")
    job = store.submit(JobSpec("linked", {"kind": "vae", "epochs": 1}, {}))
    at = open_app("pages/train.py", run=job.id)
    assert at.session_state["train.view"] == "Watch a run" and at.session_state["train.job"] == job.id
    assert "linked" in " ".join(m.value for m in at.markdown)
    assert "does not exist here" in warnings(open_app("pages/train.py", run="../../etc"))


@pytest.mark.parametrize("page, key, usual", [
    ("pages/explorer.py", "explorer.model", "gan_2d.safetensors"), ("pages/morph.py", "morph.model", "gan_2d.safetensors"),
    ("pages/vae_lab.py", "vae.model", "vae_16.safetensors"), ("pages/cgan.py", "cgan.model", "cgan_3d.safetensors"),
    ("pages/models.py", "models.file", "gan_2d.safetensors")])
def test_a_bad_model_in_a_link_falls_back_to_the_pages_usual_model(page, key, usual):
    """Issue 32.15: not the first file of the listing (ae_2d), but what the page opens on without a link."""
    at = open_app(page, model="nope.safetensors")
    assert at.session_state[key] == usual and not at.exception
    assert f"showing {usual} instead" in warnings(at)


def test_the_hosted_demo_shows_no_server_paths_in_the_sidebar(monkeypatch, tmp_path):
    """Issue 32.21: the folders' paths are for the machine's owner, not for the demo's visitors."""
    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path / "runs"))
    text = lambda at: " ".join(c.value for c in at.sidebar.caption)   # noqa: E731
    assert str(SHIPPED) in text(open_app("pages/home.py"))
    monkeypatch.setenv("GENLAB_DEMO", "1")
    shown = text(open_app("pages/home.py"))
    assert "Models: the shipped ones" in shown and str(SHIPPED) not in shown and str(tmp_path) not in shown


def test_the_multiply_cgan_opens_where_its_labels_differ_and_says_why_it_mixes_them():
    """Issue 32.10: at (0, 0, 0) every label of the thesis' multiply CGAN draws the same digit."""
    at = open_app("pages/cgan.py", model="cgan_3d_multiply.safetensors")
    assert at.session_state["cgan.point"] == [0.6, -0.6, 0.45]
    recognised = next(m.value for m in at.markdown if "The strong classifier recognises" in m.value)
    hits = int(recognised.split("**")[1].split(" of ")[0])
    assert hits >= 6, recognised
    note = " ".join(i.value for i in at.info)
    assert "multiplied" in note and "No generator of this design" in note and "17%" in note
    ceiling = int(note.split("more than **")[1].split("%")[0])
    assert 50 <= ceiling <= 65, note                                   # the report's 57.8%, estimated
    plain = open_app("pages/cgan.py", model="cgan_3d.safetensors")
    assert plain.session_state["cgan.point"] == [0.0, 0.0, 0.0] and "multiplied" not in " ".join(i.value for i in plain.info)


def test_a_train_link_to_a_distillation_comparison_says_so(monkeypatch, tmp_path):
    """Issue 32.17: it showed another run (the newest training run) without a word."""
    monkeypatch.setenv("GENLAB_RUNS", str(tmp_path))
    store = JobStore(tmp_path, python="/bin/true")
    training = store.submit(JobSpec("a_training_run", {"kind": "vae", "epochs": 1}, {}))
    comparison = store.submit(JobSpec("distill_noise_x", {"kind": "classifier", "epochs": 1}, {},
                                      distill={"setting": "noise", "lambda": 0.5, "temperature": 4.0,
                                               "student": "weak", "seed": 0}))
    at = open_app("pages/train.py", run=comparison.id)
    assert "is a distillation comparison" in " ".join(i.value for i in at.info)
    assert at.session_state["distill.job"] == comparison.id
    assert at.session_state["train.view"] == "New run"                  # not some other run
    assert open_app("pages/train.py", run=training.id).session_state["train.job"] == training.id
