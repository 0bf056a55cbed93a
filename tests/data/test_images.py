"""Images as clinics and shops produce them arrive as upright 8-bit RGB, checked pixel by pixel; files that
cannot be decoded safely are named by row before any study exists."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fusion_search import UserError
from fusion_search.cli import main
from fusion_search.data import decode_images
from tests.conftest import write_manifest


def decode(path, size: int) -> np.ndarray:
    return decode_images((path,), size)[0].astype(int)


def test_a_16_bit_gradient_keeps_its_gradient_over_the_full_8_bit_range(tmp_path):
    gradient = np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (8, 1))
    Image.fromarray(gradient).save(tmp_path / "scan.png")  # mode I;16
    assert Image.open(tmp_path / "scan.png").mode.startswith("I;16")
    pixels = decode(tmp_path / "scan.png", 64)
    row = pixels[0, :, 0]
    assert row[0] == 0 and row[-1] == 255 and np.all(np.diff(row) >= 0)
    np.testing.assert_allclose(row, np.linspace(0, 255, 64), atol=1.5)  # scaled by the 16-bit range
    assert len(np.unique(row)) > 60 and np.array_equal(pixels[..., 0], pixels[..., 2])  # gray: R = G = B


def test_a_float_image_is_stretched_to_the_full_range(tmp_path):
    Image.fromarray(np.tile(np.linspace(0.2, 0.4, 32, dtype=np.float32), (4, 1))).save(tmp_path / "f.tiff")
    row = decode(tmp_path / "f.tiff", 32)[0, :, 1]
    assert row[0] == 0 and row[-1] == 255 and np.all(np.diff(row) >= 0)


def test_an_exif_rotated_jpeg_arrives_upright(tmp_path):
    upright = np.zeros((40, 60, 3), dtype=np.uint8)
    upright[:20, :30] = (255, 0, 0)  # red block top-left of a landscape picture
    stored = Image.fromarray(upright).rotate(90, expand=True)  # the camera's sensor held sideways: 60 x 40
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    stored.save(tmp_path / "phone.jpg", exif=exif, quality=95)
    pixels = decode(tmp_path / "phone.jpg", 60)  # square output; what matters is where the red is
    assert pixels[5, 5, 0] > 200 and pixels[5, 5, 1] < 60  # top-left is red
    assert pixels[50, 50, 0] < 60  # bottom-right is black


def test_transparency_is_composited_on_white(tmp_path):
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    rgba[0, 0] = (255, 0, 0, 255)  # opaque red
    rgba[0, 1] = (255, 0, 0, 0)  # fully transparent
    rgba[1, 0] = (0, 0, 0, 128)  # half-transparent black
    rgba[1, 1] = (0, 0, 255, 255)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "logo.png")
    pixels = decode(tmp_path / "logo.png", 2)
    assert pixels[0, 0].tolist() == [255, 0, 0] and pixels[0, 1].tolist() == [255, 255, 255]
    assert pixels[1, 0].tolist() == [127, 127, 127] and pixels[1, 1].tolist() == [0, 0, 255]


def test_palette_grayscale_and_black_and_white_images_load(tmp_path):
    palette = Image.new("P", (4, 4))
    palette.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    palette.putpixel((1, 1), 1)
    palette.save(tmp_path / "p.png")
    Image.fromarray(np.full((4, 4), 77, dtype=np.uint8), "L").save(tmp_path / "l.png")
    Image.fromarray(np.eye(4, dtype=bool)).save(tmp_path / "bw.png")
    assert decode(tmp_path / "p.png", 4)[1, 1].tolist() == [10, 200, 30]
    assert decode(tmp_path / "l.png", 4)[2, 3].tolist() == [77, 77, 77]
    bw = decode(tmp_path / "bw.png", 4)
    assert bw[0, 0].tolist() == [255, 255, 255] and bw[0, 1].tolist() == [0, 0, 0]


def _manifest_with(tmp_path, broken: dict[int, str]) -> tuple:
    rng = np.random.default_rng(0)
    rows = [{"image": f"img/{i}.png", "label": i % 2, "x": float(rng.normal())} for i in range(12)]
    write_manifest(tmp_path, rows, [rng.integers(0, 255, (16, 16, 3), dtype=np.uint8) for _ in rows])
    for index, kind in broken.items():
        path = tmp_path / "img" / f"{index}.png"
        if kind == "truncated":
            Image.fromarray(rng.integers(0, 255, (30, 30, 3), dtype=np.uint8)).save(path.with_suffix(".jpg"))
            data = path.with_suffix(".jpg").read_bytes()
            path.with_suffix(".jpg").write_bytes(data[: len(data) // 2])
            rows[index]["image"] = f"img/{index}.jpg"
        elif kind == "bomb":
            Image.fromarray(np.zeros((64, 64, 3), dtype=np.uint8)).save(path)  # 4,096 pixels > 2 x the limit below
    return write_manifest(tmp_path, rows), rows


def test_a_decompression_bomb_and_a_truncated_jpeg_are_one_line_exit_2_and_no_study(tmp_path, monkeypatch,
                                                                                    capsys, tiny_space):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    manifest, _ = _manifest_with(tmp_path, {3: "bomb", 7: "truncated"})
    db = tmp_path / "study.db"
    code = main(["run", "--data", str(manifest), "--study", "s", "--space", str(tiny_space), "--trials", "3",
                 "--folds", "2", "--quiet", "--storage", f"sqlite:///{db}"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert "row 5 (3.png: too large to decode safely)" in err and "row 9 (7.jpg: truncated)" in err
    assert not db.exists()


def test_a_file_that_is_not_an_image_says_so(tmp_path):
    (tmp_path / "notes.png").write_bytes(b"not a png")
    with pytest.raises(UserError, match=r"row 2 \(notes.png: not an image\)"):
        decode_images((tmp_path / "notes.png",), 8)
