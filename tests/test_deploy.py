"""deploy/: the build's PYNQ driver, run end to end off the board against the simulated
accelerator (sim/overlay.py), landmarks equal to the PyTorch model's; bad input refused with
nothing left allocated."""
from __future__ import annotations

import importlib
import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from brevitas_models.checkpoint import load_preset
from brevitas_models.data import StickFigureDataset
from brevitas_models.landmarks import decode_heatmaps
from brevitas_models.landmarks import heatmap_to_image
from modelutil import HeatmapIntegers
from sim.overlay import GoldenOverlay
from sim.overlay import SimBuffer
from sim.overlay import SimDmaError
from sim.overlay import sim_allocate


@pytest.fixture(scope="module")
def build(tiny_build_pristine, tmp_path_factory):
    return Path(shutil.copytree(tiny_build_pristine[0], tmp_path_factory.mktemp("d") / "tiny"))


@pytest.fixture(scope="module")
def driver(build):
    """The driver module as the board imports it: from the deploy/ folder itself."""
    deploy = str(build / "deploy")
    sys.path.insert(0, deploy)
    try:
        for m in ("binhg_driver", "stream_format", "landmarks"):
            sys.modules.pop(m, None)
        mod = importlib.import_module("binhg_driver")
        assert Path(mod.__file__).parent == Path(deploy)
        yield mod
    finally:
        sys.path.remove(deploy)
        for m in ("binhg_driver", "stream_format", "landmarks"):
            sys.modules.pop(m, None)


def torch_landmarks(images: np.ndarray, out: dict) -> np.ndarray:
    """The PyTorch model the build compiled (load_preset, as flow/build.py): its heatmap
    layer's integer accumulators (from the integer codes of the residual stream it reads,
    so no float noise of PyTorch's convolution decides a tie in the argmax), dequantized as
    the driver does, decoded."""
    model, cfg, _ = load_preset("hg-hpm-tiny")
    hm = HeatmapIntegers(model, (images / 255.0).astype(np.float32))
    hm.assert_close(hm.out, "PyTorch")
    scale = np.asarray(out["scale"], np.float32)
    bias = np.asarray(out["bias"], np.float32)
    heat = (hm.acc.transpose(0, 2, 3, 1).astype(np.float32) * scale + bias).transpose(0, 3, 1, 2)
    return heat_to_points(heat, cfg.input_size)


def heat_to_points(heat, input_size):
    return heatmap_to_image(decode_heatmaps(heat), input_size, heat.shape[-1])


def _images(n, seed=0):
    """n uint8 stick figures of the test split, from item `seed` on."""
    return _figures(n, seed)[0]


def _figures(n, seed=0):
    """(uint8 images [n, 3, 32, 32], true landmarks [n, 5, 2] in image pixels)."""
    ds = StickFigureDataset(32, 5, "test", seed + n)
    items = [ds[i] for i in range(seed, seed + n)]
    images = np.stack([np.rint(it["image"].numpy() * 255).astype(np.uint8) for it in items])
    truth = np.stack([heatmap_to_image(it["joints"].numpy(), 32, 8) for it in items])
    return images, truth


def test_deploy_folder(build):
    d = build / "deploy"
    assert sorted(p.name for p in d.iterdir()) == ["README.md", "accelerator.json",
                                                   "binhg_driver.py", "example.py",
                                                   "landmarks.ipynb", "landmarks.py",
                                                   "sample.png", "stream_format.py"]
    cfg = json.loads((d / "accelerator.json").read_text())
    assert cfg["landmarks"]["names"] == ["r-ankle", "l-ankle", "head-top", "r-wrist",
                                         "l-wrist"]
    assert cfg["landmarks"]["format"] == "mpii" and cfg["landmarks"]["lines"] == []
    assert cfg["bitstream_built"] is False and cfg["dma"] == "dma"
    assert cfg["input"]["dma_word_bytes"] == 4 and cfg["input"]["tdata_width"] == 24
    assert len(cfg["output"]["scale"]) == cfg["output"]["shape"][-1] == 5


def test_driver_on_the_golden_overlay_gives_the_pytorch_landmarks(build, driver):
    images = _images(3)
    with driver.Accelerator.from_deploy(build / "deploy", max_batch=4,
                                        overlay=GoldenOverlay(build),
                                        allocate=sim_allocate) as acc:
        points = acc.landmarks(images)
        single = acc.landmarks(images[1])              # one [C, H, W] image
        t = acc.throughput(batch=2, repeats=1)
    assert points.shape == (3, 5, 2)
    np.testing.assert_array_equal(points, torch_landmarks(images, acc.out))
    # the shipped trained network finds the figures' joints through the driver
    images, truth = _figures(40, seed=10)
    with driver.Accelerator.from_deploy(build / "deploy", max_batch=40,
                                        overlay=GoldenOverlay(build),
                                        allocate=sim_allocate) as acc:
        err = np.linalg.norm(acc.landmarks(images) - truth, axis=-1)
    assert np.median(err) < 4.0, f"median landmark error {np.median(err):.1f} px"
    np.testing.assert_array_equal(single[0], points[1])
    assert t["fps"] > 0 and t["batch"] == 2
    # the golden vectors the build checked, through the driver's packing and the DMA layout
    vec = np.load(build / "golden" / "vectors.npz")
    with driver.Accelerator.from_deploy(build / "deploy", overlay=GoldenOverlay(build),
                                        allocate=sim_allocate) as acc:
        codes = acc.run_codes(vec["images"])
    np.testing.assert_array_equal(codes, vec["out_acc_1"] if "out_acc_1" in vec.files else
                                  vec[[k for k in vec.files if k.startswith("out_")][0]])


def test_driver_on_the_verilator_overlay(build, driver):
    """The cycle-accurate RTL of the build behind the same driver calls."""
    from sim.harness import verilator_missing
    from sim.overlay import VerilatorOverlay

    if verilator_missing():
        pytest.skip(verilator_missing())
    images = _images(2, seed=4)
    with driver.Accelerator.from_deploy(build / "deploy", max_batch=2,
                                        overlay=VerilatorOverlay(build),
                                        allocate=sim_allocate) as acc:
        points = acc.landmarks(images)
    np.testing.assert_array_equal(points, torch_landmarks(images, acc.out))


def test_bad_input_is_refused_and_nothing_is_left_allocated(build, driver):
    before = set(SimBuffer.live)
    ol = GoldenOverlay(build)
    acc = driver.Accelerator.from_deploy(build / "deploy", max_batch=2, overlay=ol,
                                         allocate=sim_allocate)
    good = _images(1)
    cases = [(good.astype(np.float32), "uint8"),
             (good[:, :, :16], r"\[N, 3, 32, 32\]"),
             (good.transpose(0, 2, 3, 1), "channels first"),
             (_images(3), "1 to 2"),
             (np.zeros((0, 3, 32, 32), np.uint8), "1 to 2")]
    for x, msg in cases:
        with pytest.raises(driver.DriverError, match=msg):
            acc.landmarks(x)
    acc.close()
    acc.close()                                     # idempotent
    assert set(SimBuffer.live) == before
    with pytest.raises(driver.DriverError, match="closed"):
        acc.landmarks(good)


def test_an_overlay_of_another_build_is_refused(build, driver, tmp_path):
    before = set(SimBuffer.live)
    ol = GoldenOverlay(build)
    ol.build_id = "0123456789abcdef"
    with pytest.raises(driver.DriverError, match="0123456789abcdef"):
        driver.Accelerator.from_deploy(build / "deploy", overlay=ol, allocate=sim_allocate)
    assert set(SimBuffer.live) == before


def test_an_overlay_whose_dma_streams_differ_is_refused(build, driver):
    """A board overlay has no build id; its .hwh (pynq's ip_dict) gives the DMA's widths."""
    ol = GoldenOverlay(build)
    ol.build_id = None
    ol.ip_dict["dma"]["parameters"]["C_S_AXIS_S2MM_TDATA_WIDTH"] = "64"
    with pytest.raises(driver.DriverError, match="C_S_AXIS_S2MM_TDATA_WIDTH = 64"):
        driver.Accelerator.from_deploy(build / "deploy", overlay=ol, allocate=sim_allocate)


def test_a_batch_beyond_the_dma_limit_is_refused_before_allocating(build, driver):
    before = set(SimBuffer.live)
    ol = GoldenOverlay(build)
    ol.dma.buffer_max_size = 10_000                 # bytes; one frame in is 4,096
    with pytest.raises(driver.DriverError, match="at most 2 frames"):
        driver.Accelerator.from_deploy(build / "deploy", max_batch=3, overlay=ol,
                                       allocate=sim_allocate)
    assert set(SimBuffer.live) == before


def test_a_failing_allocation_frees_what_it_took(build, driver):
    before = set(SimBuffer.live)
    calls = []

    def allocate(shape, dtype):
        if calls:
            raise MemoryError("CMA exhausted")
        calls.append(shape)
        return sim_allocate(shape, dtype)

    with pytest.raises(MemoryError):
        driver.Accelerator.from_deploy(build / "deploy", overlay=GoldenOverlay(build),
                                       allocate=allocate)
    assert set(SimBuffer.live) == before


def test_without_a_bitstream_the_driver_says_so(build, driver):
    with pytest.raises(driver.DriverError, match="no bitstream"):
        driver.Accelerator.from_deploy(build / "deploy")


def test_the_simulated_dma_refuses_what_the_board_would_hang_on(build):
    ol = GoldenOverlay(build)
    out = sim_allocate((10, 4), np.uint8)
    ol.dma.recvchannel.transfer(out)
    with pytest.raises(SimDmaError, match="no input was sent"):
        ol.dma.recvchannel.wait()
    src = sim_allocate((1024, 4), np.uint8)
    ol.dma.sendchannel.transfer(src)
    ol.dma.recvchannel.transfer(out)                # 40 bytes asked for a whole frame
    ol.dma.sendchannel.wait()
    o = ol.cfg["output"]              # the frame as the folding of the last layer packs it
    frame = o["beats_per_frame"] * o["dma_word_bytes"]
    assert frame > 40
    with pytest.raises(SimDmaError, match=f"shorter than the {frame}-byte frame"):
        ol.dma.recvchannel.wait()
    out.freebuffer()
    src.freebuffer()


def test_the_driver_uses_pynqs_real_api():
    """The calls the driver makes exist, with those parameters, in the pynq package the
    install puts here (4.0.0; on x86 it imports, but finds no device)."""
    import inspect
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # "No devices found, is the XRT environment sourced?"
        import pynq
        from pynq.buffer import PynqBuffer
        from pynq.lib.dma import DMA
        from pynq.lib.dma import _SDMAChannel
    assert {"shape", "dtype"} <= set(inspect.signature(pynq.allocate).parameters)
    assert {"array", "start", "nbytes"} <= set(inspect.signature(_SDMAChannel.transfer).parameters)
    assert callable(_SDMAChannel.wait)
    assert all(callable(getattr(PynqBuffer, m)) for m in ("flush", "invalidate", "freebuffer"))
    src = inspect.getsource(DMA)
    assert all(a in src for a in ("self.sendchannel", "self.recvchannel", "buffer_max_size"))
    assert inspect.isclass(pynq.Overlay)


def test_off_the_board_pynq_fails_with_a_clear_error(build, driver, tmp_path):
    """With a bitstream present but no board, PYNQ's own error is named, with the file."""
    d = Path(shutil.copytree(build / "deploy", tmp_path / "deploy"))
    (d / "accelerator.bit").write_bytes(b"\0" * 64)
    with pytest.raises(driver.DriverError, match="PYNQ could not load .*accelerator.bit"):
        driver.Accelerator.from_deploy(d)


def test_a_built_bitstream_goes_into_deploy(build, tmp_path):
    """When the bitstream step made bitfile/accelerator.{bit,hwh} (faked here: no Vivado),
    the deploy step ships them and says so."""
    import subprocess

    b = Path(shutil.copytree(build, tmp_path / "b"))
    (b / "bitfile").mkdir()
    for ext in ("bit", "hwh"):
        (b / "bitfile" / f"accelerator.{ext}").write_text(ext)
    r = subprocess.run([sys.executable, "flow/build.py", "--board", "pynq-z2", "--model",
                        "hg-hpm-tiny", "--output", str(b), "--from", "deploy"],
                       cwd=Path(__file__).parents[1], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads((b / "deploy" / "accelerator.json").read_text())["bitstream_built"]
    assert (b / "deploy" / "accelerator.hwh").read_text() == "hwh"


def _photo(shape=(90, 130)):
    """A non-square photo: the sample's figure letterboxed into another frame."""
    from PIL import Image

    from brevitas_models.photos import sample_photo

    return np.asarray(Image.fromarray(sample_photo(5, 32)).resize(shape[::-1]))


def test_the_driver_takes_photos_of_any_size(build, driver):
    """landmarks_in_image: letterbox in, the PyTorch network's landmarks (through the same
    crop) out in the photo's pixels; grey frames too; bad frames refused by what is wrong."""
    from brevitas_models.landmarks import apply_matrix
    from brevitas_models.landmarks import photo_crop

    with driver.Accelerator.from_deploy(build / "deploy", max_batch=2,
                                        overlay=GoldenOverlay(build),
                                        allocate=sim_allocate) as acc:
        for shape in ((90, 130), (200, 64), (32, 32), (7, 300)):
            photo = _photo(shape)
            got = acc.landmarks_in_image(photo)
            crop, back = photo_crop(photo, 32)
            want = apply_matrix(back, torch_landmarks(crop.transpose(2, 0, 1)[None],
                                                      acc.out)[0])
            np.testing.assert_allclose(got, want, atol=1e-3)
        grey = _photo()[..., 0]
        assert acc.landmarks_in_image(grey).shape == (5, 2)
        with pytest.raises(driver.DriverError, match="uint8"):
            acc.landmarks_in_image(_photo().astype(np.float32))
        with pytest.raises(driver.DriverError, match=r"\[H, W, 3\]"):
            acc.landmarks_in_image(_photo().transpose(2, 0, 1))


def test_example_draws_a_photo_off_the_board(build, tmp_path):
    """deploy/example.py on a photo, through the simulated overlay (--sim)."""
    import subprocess

    from PIL import Image

    photo = tmp_path / "photo.jpg"
    Image.fromarray(_photo((120, 200))).save(photo)
    r = subprocess.run([sys.executable, str(build / "deploy" / "example.py"), str(photo),
                        "--sim", str(build), "--out", str(tmp_path / "out")],
                       cwd=Path(__file__).parents[1], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "photo.jpg (200 x 120)" in r.stdout and "frames/s" in r.stdout
    with Image.open(tmp_path / "out" / "photo.landmarks.png") as im:
        assert im.size == (200, 120)


def test_the_notebook_runs_against_the_simulated_overlay(build, driver, monkeypatch, capsys):
    """deploy/landmarks.ipynb: a valid notebook whose code cells, run in order off the board
    (the parameters cell's overlay replaced by the simulated one), show the sample photo
    with its landmarks and print the frame rates."""
    import nbformat
    from PIL import Image

    nb = nbformat.read(build / "deploy" / "landmarks.ipynb", as_version=4)
    nbformat.validate(nb)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert "overlay, allocate = None, None" in code[0]
    monkeypatch.chdir(build / "deploy")
    ns = {}
    exec(code[0], ns)
    ns.update(overlay=GoldenOverlay(build), allocate=sim_allocate, repeats=2)
    for src in code[1:]:
        exec(src, ns)
    assert isinstance(ns["picture"], Image.Image)
    assert ns["picture"].size == Image.open("sample.png").size
    assert ns["points"].shape == (5, 2) and ns["acc"]._bufs == []
    out = capsys.readouterr().out
    assert "head-top" in out and "photo to landmarks" in out


@pytest.mark.parametrize("damage,field", [
    (lambda text, cfg: text[:len(text) // 2], "not valid JSON"),
    (lambda text, cfg: "", "not valid JSON"),
    (lambda text, cfg: "[1, 2]", "'(top level)' must be an object"),
    (lambda text, cfg: json.dumps({k: v for k, v in cfg.items() if k != "input"}),
     "'input' must be an object"),
    (lambda text, cfg: json.dumps({**cfg, "input": {**cfg["input"], "shape": [32, 32]}}),
     "'input.shape' must be [height, width, channels]"),
    (lambda text, cfg: json.dumps({**cfg, "input": {**cfg["input"], "bits": "8"}}),
     "'input.bits' must be a whole number"),
    (lambda text, cfg: json.dumps({**cfg, "output": {**cfg["output"], "signed": 1}}),
     "'output.signed' must be true or false"),
    (lambda text, cfg: json.dumps({**cfg, "input": {**cfg["input"], "beats_per_frame": 7}}),
     "'input.beats_per_frame' must be 1024"),
    (lambda text, cfg: json.dumps({**cfg, "output": {**cfg["output"],
                                                     "scale": cfg["output"]["scale"][:3]}}),
     "'output.scale' must be a list of 5 finite numbers"),
    (lambda text, cfg: json.dumps({**cfg, "output": {**cfg["output"],
                                                     "bias": [None] * 5}}),
     "'output.bias' must be a list of 5 finite numbers"),
    (lambda text, cfg: json.dumps({**cfg, "bitfile": "../../x.bit"}),
     "'bitfile' must be a plain file name"),
    (lambda text, cfg: json.dumps({**cfg, "dma": 3}), "'dma' must be a non-empty string"),
])
def test_a_broken_accelerator_json_is_refused_field_by_field(build, driver, tmp_path, damage,
                                                             field):
    """A truncated, empty or hand-edited accelerator.json: a DriverError naming the field,
    before anything is allocated (it was a JSONDecodeError, KeyError or TypeError, or a
    scale of the wrong length was taken)."""
    d = Path(shutil.copytree(build / "deploy", tmp_path / "deploy"))
    text = (d / "accelerator.json").read_text()
    (d / "accelerator.json").write_text(damage(text, json.loads(text)))
    before = set(SimBuffer.live)
    with pytest.raises(driver.DriverError, match=re.escape(field)):
        driver.Accelerator.from_deploy(d, overlay=GoldenOverlay(build), allocate=sim_allocate)
    assert set(SimBuffer.live) == before


def test_the_drivers_numeric_arguments_are_checked(build, driver):
    ol = GoldenOverlay(build)
    for bad in (True, 0, -1, 2.0, "2"):
        with pytest.raises(driver.DriverError, match="max_batch must be a whole number"):
            driver.Accelerator.from_deploy(build / "deploy", max_batch=bad, overlay=ol,
                                           allocate=sim_allocate)
    with driver.Accelerator.from_deploy(build / "deploy", max_batch=2, overlay=ol,
                                        allocate=sim_allocate) as acc:
        for kw, msg in (({"repeats": 0}, "repeats must be a whole number at least 1"),
                        ({"repeats": 1.5}, "repeats must be"),
                        ({"batch": 3}, "batch must be a whole number 1 to 2"),
                        ({"batch": 0}, "batch must be"), ({"batch": False}, "batch must be")):
            with pytest.raises(driver.DriverError, match=msg):
                acc.throughput(**kw)
        assert acc.throughput(batch=1, repeats=1)["fps"] > 0


@pytest.mark.slow
def test_soak_the_verilator_overlay_equals_the_golden_one(build, driver):
    """Soak: 112 frames in batches of 8 and 14 single calls through the driver on the
    cycle-accurate RTL (sim/overlay.py's Verilator overlay) equal the golden overlay's, code
    for code: random frames and stick figures, the DMA buffers reused call after call."""
    from sim.harness import verilator_missing
    from sim.overlay import VerilatorOverlay

    if verilator_missing():
        pytest.skip(verilator_missing())
    rng = np.random.default_rng(17)
    frames = np.concatenate([rng.integers(0, 256, (56, 3, 32, 32), dtype=np.uint8),
                             _images(56, seed=100)])
    with driver.Accelerator.from_deploy(build / "deploy", overlay=VerilatorOverlay(build),
                                        allocate=sim_allocate) as rtl, \
            driver.Accelerator.from_deploy(build / "deploy", overlay=GoldenOverlay(build),
                                           allocate=sim_allocate) as gold:
        for i in range(0, len(frames), 8):
            np.testing.assert_array_equal(rtl.run_codes(frames[i:i + 8]),
                                          gold.run_codes(frames[i:i + 8]), err_msg=f"batch {i}")
        for i in range(0, len(frames), 8):
            np.testing.assert_array_equal(rtl.landmarks(frames[i]), gold.landmarks(frames[i]),
                                          err_msg=f"single frame {i}")
