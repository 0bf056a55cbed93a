"""The built-in demo dataset, shaped like the question: image-only AUC near 0.73, numeric-only near 0.65,
and an image x numeric interaction so that a good fusion reaches about 0.8.

Each sample has an image latent a and a numeric latent b (both standard normal); the label is drawn
from P(y=1) = sigmoid(1.6·a + 0.9·b + 1.6·a·b). The image shows a disc whose brightness encodes a on a
noisy background; the numeric columns hold b (measured with noise) and two distractors, one with gaps.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image

WEIGHT_IMAGE, WEIGHT_NUMERIC, WEIGHT_INTERACTION = 1.6, 0.9, 1.6


def make_demo_dataset(folder: Path, rows: int = 400, image_size: int = 32, seed: int = 0) -> Path:
    """Write images/ and manifest.csv under folder; return the manifest path."""
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    a, b = rng.normal(size=rows), rng.normal(size=rows)
    logit = WEIGHT_IMAGE * a + WEIGHT_NUMERIC * b + WEIGHT_INTERACTION * a * b
    labels = (rng.random(rows) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    manifest = folder / "manifest.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "label", "measurement", "noise_a", "noise_b"])
        for i in range(rows):
            name = f"images/{i:05d}.png"
            Image.fromarray(disc_image(a[i], image_size, rng)).save(folder / name)
            gap = "" if rng.random() < 0.1 else f"{rng.normal():.4f}"
            writer.writerow([name, labels[i], f"{b[i] + 0.2 * rng.normal():.4f}", f"{rng.normal():.4f}", gap])
    return manifest


LESION_NAMES = ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc")  # HAM10000's seven diagnoses, as string labels


def make_multiclass_dataset(folder: Path, rows: int = 300, classes: int = 3, image_size: int = 32,
                            seed: int = 0) -> Path:
    """A K-class table with string labels and a string column, where each input tells only part of the classes:
    the image's disc brightness shows the pair of a class (classes 0-1, 2-3, ...: class // 2), and the numeric
    column `measurement` its parity (class % 2), so only a design that reads both tells every class apart; `site`
    (strings) and `noise` carry nothing. Writes images/ and manifest.csv under folder; returns the manifest path."""
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    names = LESION_NAMES if classes <= len(LESION_NAMES) else tuple(f"class_{i}" for i in range(classes))
    label = np.arange(rows) % classes
    rng.shuffle(label)
    pairs = (classes + 1) // 2
    image_latent = (label // 2 - (pairs - 1) / 2) / max(1.0, (pairs - 1) / 2) * 1.6 + 0.35 * rng.normal(size=rows)
    measurement = 1.5 * (label % 2) + rng.normal(size=rows)
    manifest = folder / "manifest.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "diagnosis", "measurement", "site", "noise"])
        for i in range(rows):
            name = f"images/{i:05d}.png"
            Image.fromarray(disc_image(image_latent[i], image_size, rng)).save(folder / name)
            writer.writerow([name, names[label[i]], f"{measurement[i]:.4f}", rng.choice(["north", "south", "east"]),
                             f"{rng.normal():.4f}"])
    return manifest


def disc_image(latent: float, size: int, rng: np.random.Generator) -> np.ndarray:
    """A noisy background with a disc at a random place whose brightness rises with the latent."""
    image = rng.normal(90, 25, size=(size, size, 3))
    radius = size / 5
    cy, cx = rng.uniform(radius, size - radius, size=2)
    yy, xx = np.mgrid[:size, :size]
    inside = (yy - cy) ** 2 + (xx - cx) ** 2 <= radius ** 2
    brightness = 150 + 45 * np.clip(latent, -2.5, 2.5)
    image[inside] = brightness + rng.normal(0, 12, size=(int(inside.sum()), 3))
    return np.clip(image, 0, 255).astype(np.uint8)
