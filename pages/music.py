"""Music: a MuseGAN's four-voice Bach-like phrases, played in the browser, steered by its latent inputs."""
from functools import partial

import streamlit as st

from genlab.checkpoints import CheckpointError
from genlab.music import studio
from genlab.music.metrics import key_name, phrase_measures
from genlab.music.midi import MidiError, midi_bytes, midi_to_pitches, musicxml_bytes
from genlab.music.plots import piano_roll_figure
from genlab.music.roll import shift_pitches
from genlab.ui.loaders import load_model
from genlab.ui.music import (cached_play, current_controls, init_state, latent_controls, morph_point,
                             music_directions, save_point, sound_settings)
from genlab.ui.widgets import model_picker
from genlab.music.controls import PAD_RANGE, control_names
from genlab.ui.links import (link_flag, link_messages, link_number, model_mismatch, page_title, read_link,
                             show_link_messages, write_link)
from genlab.ui.router import require_router

require_router()
page_title("Music")
st.write("Four-voice phrases in the style of Bach's chorales from the book's MuseGAN. Its four kinds of latent "
         "input each have a control: move one and listen to what changes.")

ss = st.session_state
link = read_link("music", ("model", "z", "tempo", "transpose", "hold"))
wanted = link.pop("model", None)
row = model_picker("music.file", kinds=("musegan",), label="MuseGAN", preferred=wanted)
if row is None:
    st.stop()
if mismatch := model_mismatch(wanted, row["file"], "a MuseGAN"):
    link_messages("music").append(mismatch)
try:
    model = load_model(row["path"]).model
    directions = music_directions(row["path"])
except CheckpointError as err:
    st.error(f"This checkpoint cannot be loaded: {err}")
    st.stop()
init_state(model)
names = control_names(model)
z = link.pop("z", None)
if z is not None:   # every latent input as seed,x,y; inputs separated by ";" (in control_names' order)
    given = z.split(";")
    groups = [g.split(",") for g in given[:len(names) + 1]]
    if len(given) != len(names) or any(len(g) != 3 for g in groups):
        wrong = next((k for k, g in enumerate(groups) if len(g) != 3), None)
        what = (f"{len(given):,} group{'s' if len(given) != 1 else ''}" if len(given) != len(names) else
                f"a group {given[wrong][:30]!r} (group {wrong + 1}) that is not seed,x,y")
        link_messages("music").append(f"The link's z has {what}; this model needs {len(names)} groups of seed,x,y "
                                      "(one per latent input); using the default phrase.")
    else:
        for name, (seed, x, y) in zip(names, groups):
            seed = link_number("music", seed, 0, 2**31 - 1, f"seed of {name}", integer=True)
            x, y = (link_number("music", v, -PAD_RANGE, PAD_RANGE, f"{name} point") for v in (x, y))
            if seed is not None:
                ss["music.seeds"][name] = seed
            ss[f"music.{name}.x"], ss[f"music.{name}.y"] = x or 0.0, y or 0.0
tempo = link_number("music", link.pop("tempo", None), 40, 160, "tempo", integer=True)
for key, value in (("music.tempo", None if tempo is None else 40 + 2 * round((tempo - 40) / 2)),   # the slider's steps
                   ("music.transpose", link_number("music", link.pop("transpose", None), -6, 6, "transpose",
                                                   integer=True)),
                   ("music.hold", link_flag("music", link.pop("hold", None), "hold"))):
    if value is not None:
        ss[key] = value
show_link_messages("music")
if model.config.same_key:
    st.caption("This MuseGAN learned from the chorales moved to C major or A minor (no sharps or flats), so its "
               "phrases use those keys' notes; the key named under a phrase is the one its notes suggest, which can "
               "be a close key with the same notes (E minor, G major, D minor...). Transpose, under Sound, moves a "
               "phrase to another key.")

controls_col, output_col = st.columns([5, 6], gap="large")
with controls_col:
    latent_controls(model)
    with st.expander("Sound: tempo, key and instruments", expanded=False):
        tempo, instruments, renderer, transpose = sound_settings()
    ss.setdefault("music.hold", True)
    hold = st.toggle("Hold notes through silent steps", key="music.hold",
                     help="On: where the generator turns no pitch of a voice on, that voice holds its last note. "
                          "Off: the book's plain argmax, a note at every sixteenth even where all of a voice's "
                          "outputs say 'off'; those notes are often an octave or two away.")
controls = current_controls(model)
write_link({"model": row["file"], "z": ";".join(f"{c.seed},{c.x:.3f},{c.y:.3f}" for c in controls.values()),
            "tempo": tempo, "transpose": transpose, "hold": "1" if hold else "0"})
# While a pad is dragged, each move redraws the roll and the sound waits for the release (rendering it
# was a fifth of each move's server time); the player keeps the last phrase's sound meanwhile.
dragging = ss.pop("music.dragging", False) and "music.wav" in ss
phrase = studio.compose(model, controls, directions, tempo, instruments, renderer, transpose, hold, audio=not dragging)
if phrase.wav:
    ss["music.wav"] = phrase.wav

with output_col:
    measures = phrase_measures(phrase.pitches)
    st.plotly_chart(piano_roll_figure(phrase.pitches), width="stretch", key="music.roll")
    st.audio(ss["music.wav"], format="audio/wav")
    st.caption(f"Its notes suggest {key_name(phrase.pitches)} · {measures['in_key_fraction']:.0%} of the notes "
               "in that key · "
               f"{measures['chord_fraction']:.0%} of the steps form a chord · "
               f"{measures['distinct_pitches_per_voice']:.1f} different pitches per voice")
    left, right = st.columns(2)
    left.download_button("Download MIDI (.mid)", partial(midi_bytes, phrase.pitches, tempo, instruments),
                         file_name="genlab_phrase.mid", mime="audio/midi", key="music.download_midi",
                         on_click="ignore")   # made on click, and no rerun after it
    right.download_button("Download MusicXML", partial(musicxml_bytes, phrase.pitches, tempo, instruments),
                          file_name="genlab_phrase.musicxml", mime="application/vnd.recordare.musicxml+xml",
                          key="music.download_xml", on_click="ignore")

    nearest = studio.nearest_chorale(shift_pitches(phrase.pitches, -transpose), model.config.same_key)
    with st.container(border=True):
        st.markdown(f"**Nearest real chorale phrase:** {nearest.label} — differs in "
                    f"{nearest.mismatch:.0%} of the (step, voice) cells (0% would be a copy)")
        real = shift_pitches(nearest.pitches, transpose)
        st.plotly_chart(piano_roll_figure(real, height=240), width="stretch", key="music.nearest_roll")
        st.audio(cached_play(real, tempo, instruments, renderer), format="audio/wav")

st.subheader("Morph from A to B")
st.write("The book's morph: evenly spaced points on the line from A to B, each one's phrase after the other.")
a_col, b_col, steps_col = st.columns([2, 2, 3])
a_col.button("Set A to the current phrase", key="music.set_a", on_click=save_point, args=("a", controls))
b_col.button("Set B to the current phrase", key="music.set_b", on_click=save_point, args=("b", controls))
steps = steps_col.slider("Points from A to B", 2, 8, 4, key="music.morph_steps")
if st.toggle("Play the morph", key="music.morph"):
    morph = studio.morph(model, morph_point("a", model, 0), morph_point("b", model, 1), directions, steps, tempo,
                         instruments, renderer, transpose, hold)
    st.plotly_chart(piano_roll_figure(morph.pitches), width="stretch", key="music.morph_roll")
    st.audio(morph.wav, format="audio/wav")

st.subheader("Your own MIDI")
upload = st.file_uploader("A MIDI file to encode as a four-voice piano roll and compare with the chorales",
                          type=["mid", "midi"], key="music.upload")
if upload is not None:
    try:
        pitches = midi_to_pitches(upload.getvalue())
    except MidiError as err:
        st.error(f"This file was refused: {err}")
    else:
        st.caption(f"{len(pitches)} bars (the first four instruments are the voices; at most 64 bars).")
        st.plotly_chart(piano_roll_figure(pitches), width="stretch", key="music.upload_roll")
        st.audio(cached_play(pitches, tempo, instruments, renderer), format="audio/wav")
        if len(pitches) >= 2:
            yours = studio.nearest_chorale(pitches[:2])
            st.markdown(f"Nearest real chorale phrase to its first two bars: **{yours.label}** "
                        f"({yours.mismatch:.0%} of the cells differ).")
