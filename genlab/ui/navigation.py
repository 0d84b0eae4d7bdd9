"""The app's pages in one list: main.py routes with it, the home page describes each from it."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageInfo:
    path: str
    title: str
    icon: str
    summary: str           # one line for the home page


PAGES = [
    PageInfo("pages/home.py", "Home", ":material/home:",
             "What GenLab is, its pages, and the models found in checkpoints/."),
    PageInfo("pages/lessons.py", "Lessons", ":material/cast_for_education:",
             "Guided, checked lessons for a class: step by step through the pages, a presenter mode, and "
             "\"follow me\" for a classroom."),
    PageInfo("pages/explorer.py", "Latent Explorer", ":material/explore:",
             "Drag a point through a 2D, 3D or 4D latent space: image, class, activations and class-area maps follow."),
    PageInfo("pages/music.py", "Music", ":material/music_note:",
             "A MuseGAN's four-voice Bach-like phrases: steer its latent inputs, listen, morph, download MIDI."),
    PageInfo("pages/melody.py", "Melody", ":material/queue_music:",
             "The book's melody model (LSTM with attention) writes on from an opening, one note at a time."),
    PageInfo("pages/morph.py", "Morph", ":material/animation:",
             "From point A to point B: the strip of images, the path on the class map, the class chart, a GIF."),
    PageInfo("pages/vae_lab.py", "VAE Lab", ":material/draw:",
             "Draw a digit and see where a VAE puts it; attribute vectors (thicker, slanted, 4 to 9); AE vs VAE maps."),
    PageInfo("pages/cgan.py", "Conditional GAN", ":material/filter_9_plus:",
             "One latent space per class: change the number drawn and the class map shown; one point as every digit."),
    PageInfo("pages/distill.py", "Distillation", ":material/school:",
             "A teacher from a close domain helps a student with 1,000 images (clothes or digits): watch both students learn."),
    PageInfo("pages/train.py", "Train", ":material/model_training:",
             "Train a GAN, VAE, autoencoder or classifier in the browser; watch losses, samples and maps evolve."),
    PageInfo("pages/models.py", "Model card", ":material/info:",
             "One model in detail: architecture, parameter counts, loss history, metrics and random samples."),
]
