"""The synthetic benchmark's training data as arrays: pixels, ViT labels, question rows.

Pixels come from TrainingDataExport (raw uint8, exactly the generator's rendering) or, for the
validation clips that measure the H.264 gap, from the mp4 files `glimpse eval synth-export` writes
(decoded with OpenCV where installed, else with the ffmpeg CLI).
"""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np

SHAPES = ["circle", "square", "triangle", "star", "cross", "diamond", "hexagon"]
COLORS = ["red", "green", "blue", "yellow", "purple", "orange", "white", "black"]
MAX_COUNT = 5            # SceneGenerator.MAX_OBJECTS
IMAGE = 224
FRAMES = 16


def load_items(folder: Path, split: str, kind: str) -> tuple[np.ndarray, list[dict]]:
    """(pixels uint8 [n, frames, 224, 224, 3] memory-mapped, rows) of one TrainingDataExport output."""
    rows = [json.loads(line) for line in open(folder / f"{split}-{kind}.jsonl", encoding="utf-8")]
    frames = 1 if kind == "images" else FRAMES
    pixels = np.memmap(folder / f"{split}-{kind}.u8", dtype=np.uint8, mode="r",
                       shape=(len(rows), frames, IMAGE, IMAGE, 3))
    return pixels, rows


def load_exported_clips(folder: Path, split: str) -> tuple[np.ndarray, list[dict]]:
    """Clips exported by `glimpse eval synth-export --kind clips` (mp4 + <split>.jsonl, one row per
    question), decoded to uint8 [n, 16, 224, 224, 3], and rows grouped per clip like load_items."""
    by_media: dict[str, dict] = {}
    for line in open(folder / f"{split}.jsonl", encoding="utf-8"):
        r = json.loads(line)
        item = by_media.setdefault(r["media"], {"id": r["media"], "seed": r["seed"], "truth": r["truth"],
                                                "questions": []})
        item["questions"].append({"question": r["question"], "answer": r["answer"], "type": r["type"]})
    rows = list(by_media.values())
    pixels = np.stack([decode_mp4(folder / media) for media in by_media])
    return pixels, rows


def decode_mp4(path: Path) -> np.ndarray:
    """Every frame of an mp4 as RGB uint8 [frames, h, w, 3]."""
    try:
        import cv2
    except ImportError:
        cv2 = None
    if cv2 is not None:
        cap = cv2.VideoCapture(str(path))
        frames = []
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        cap.release()
        return np.stack(frames)
    if shutil.which("ffmpeg") is None:
        raise RuntimeError(f"{path}: decoding mp4 needs opencv-python or the ffmpeg CLI")
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, IMAGE, IMAGE, 3)


# ---------------------------------------------------------------------------------------------
# ViT stage labels (from the ground truth; what the CLS token must know, and per patch, what the
# patch shows)

def third(v: float) -> int:
    return min(2, int(3 * v / IMAGE))


def vit_labels(rows: list[dict], patch: int) -> dict[str, np.ndarray]:
    """Per scene:
      multi [n, 7 + 8 + 56 + 504]  presence of each shape, colour, colour-shape pair, and of each
                                   pair in each cell of a 3x3 grid (its centre's thirds)
      count [n]                    number of objects (0..5)
      shape_count [n, 7], color_count [n, 8]   objects per shape / colour (0..5)
      patch_shape [n, P], patch_color [n, P]   per patch: 1 + class of the object whose bounding
                                   box covers most of the patch (at least a quarter of the patch,
                                   or of the object if smaller), 0 for background
    """
    n, grid = len(rows), IMAGE // patch
    n_pair = len(SHAPES) * len(COLORS)
    multi = np.zeros((n, len(SHAPES) + len(COLORS) + n_pair + 9 * n_pair), dtype=np.float32)
    count = np.zeros(n, dtype=np.int64)
    shape_count = np.zeros((n, len(SHAPES)), dtype=np.int64)
    color_count = np.zeros((n, len(COLORS)), dtype=np.int64)
    patch_shape = np.zeros((n, grid * grid), dtype=np.int64)
    patch_color = np.zeros((n, grid * grid), dtype=np.int64)
    edges = np.arange(grid + 1) * patch
    for i, row in enumerate(rows):
        objects = row["truth"]["objects"]
        count[i] = len(objects)
        best = np.zeros(grid * grid, dtype=np.float64)
        for o in objects:
            s, c = SHAPES.index(o["shape"]), COLORS.index(o["color"])
            pair = c * len(SHAPES) + s
            cell = 3 * third(o["center"][1]) + third(o["center"][0])
            multi[i, s] = 1
            multi[i, len(SHAPES) + c] = 1
            multi[i, len(SHAPES) + len(COLORS) + pair] = 1
            multi[i, len(SHAPES) + len(COLORS) + n_pair + 9 * pair + cell] = 1
            shape_count[i, s] += 1
            color_count[i, c] += 1
            x, y, w, h = o["bbox"]
            ox = np.clip(np.minimum(edges[1:], x + w) - np.maximum(edges[:-1], x), 0, None)
            oy = np.clip(np.minimum(edges[1:], y + h) - np.maximum(edges[:-1], y), 0, None)
            overlap = (oy[:, None] * ox[None, :]).reshape(-1).astype(np.float64)
            enough = overlap >= 0.25 * min(patch * patch, w * h)
            take = enough & (overlap > best)
            best[take] = overlap[take]
            patch_shape[i, take] = s + 1
            patch_color[i, take] = c + 1
    return {"multi": multi, "count": count, "shape_count": np.minimum(shape_count, MAX_COUNT),
            "color_count": np.minimum(color_count, MAX_COUNT), "patch_shape": patch_shape, "patch_color": patch_color}


def object_patch_mask(rows: list[dict], patch: int) -> np.ndarray:
    """[n, P] bool: patches a scene object's bounding box touches (for the CLS-attention report)."""
    grid = IMAGE // patch
    out = np.zeros((len(rows), grid * grid), dtype=bool)
    for i, row in enumerate(rows):
        for o in row["truth"]["objects"]:
            x, y, w, h = o["bbox"]
            c0, c1 = x // patch, min(grid - 1, (x + w - 1) // patch)
            r0, r1 = y // patch, min(grid - 1, (y + h - 1) // patch)
            for r in range(r0, r1 + 1):
                out[i, r * grid + c0: r * grid + c1 + 1] = True
    return out


def questions(rows: list[dict]) -> list[tuple[int, str, str, str]]:
    """(item index, question, answer, type) for every question of every item."""
    return [(i, q["question"], q["answer"], q["type"]) for i, row in enumerate(rows) for q in row["questions"]]


def vocabulary_lines(rows: list[dict]) -> list[str]:
    """Text the tokenizer is trained on: every question and answer, plus every word the benchmark
    can use (so a word absent from the exported items still has its own pieces)."""
    lines = [q for _, q, _, _ in questions(rows)] + [a for _, _, a, _ in questions(rows)]
    words = SHAPES + COLORS + [s + "s" for s in SHAPES] + ["crosses", "yes", "no", "left", "right", "top",
                                                            "bottom", "center"] + [str(d) for d in range(10)]
    return lines + [" ".join(words), "USER: ASSISTANT:"]
