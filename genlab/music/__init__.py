"""Music at the edges of the MuseGAN: piano roll <-> MIDI <-> audio <-> MusicXML, metrics, latent controls.

  roll.py      the piano-roll convention: pitches (bars, steps, tracks) <-> roll (bars, steps, pitches, tracks)
  midi.py      pitches <-> MIDI bytes (pretty_midi), MusicXML bytes (music21), refusal of bad uploads
  audio.py     MIDI notes -> audio (a SoundFont through fluidsynth when present, else a numpy synthesiser)
  metrics.py   key, in-key fraction, distinct pitches, voice ranges, chord fraction, nearest real phrase
  controls.py  the MuseGAN's latent inputs as user controls: seeds, 2D pads on main directions, morphs
  plots.py     the piano-roll figure (plotly) and a small piano-roll image
"""
