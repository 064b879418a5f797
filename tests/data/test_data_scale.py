"""Image folders at real sizes (issue 16): the shape comes from the images, uint8 at rest, parallel
decoding with progress, the decoded cache (invalidated by a changed file, rebuilt when damaged),
streaming sets bigger than memory (same batches as in memory, exactly resumable, killed mid-epoch,
disjoint shards under torchrun), the hostile folders on the streaming path, flips and balance.
Speed is measured in benchmarks/data_scale.py, not here."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import ganzoo
from ganzoo.data import cache, folder, parallel
from ganzoo.data.decode import Decoder
from ganzoo.data.progress import LineProgress
from ganzoo.errors import ConfigError, DataError
from ganzoo.registry.build import load_data
from ganzoo.registry.config import resolve
from ganzoo.registry.host import PluginHost
from ganzoo.runs.launch import start
from ganzoo.training.batches import Batches
from helpers import assert_same_run, final_state, run_cli
from test_imagefolder_hostile import VALUES, _claiming, _error, _in_time, _unblock

CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))


def _img(path: Path, size=(8, 8), mode="RGB", seed=0) -> Path:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (size[1], size[0]) + ((3,) if mode == "RGB" else ())
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), "RGB" if mode == "RGB" else "L").save(path)
    return path


def _folder(root: Path, counts: dict[str, int], size=(8, 8), mode="RGB") -> Path:
    k = 0
    for c, n in counts.items():
        for i in range(n):
            _img(root / c / f"{i:03d}.png", size, mode, seed=k)
            k += 1
    return root


def _load(root, **options):
    cls = PluginHost(entry_points=[]).get("dataset", "imagefolder")
    return cls(cls.Config(root=str(root), **options)).load()


def _streamed(root, **options):
    data = _load(root, max_memory="1B", **options)
    assert data.streamed and any(n.startswith("streaming from disk: ") for n in data.notes)
    return data


def _epochs(data, n=3, seed=0, batch=8, **sampling):
    b = Batches(data.replace(**sampling) if sampling else data, batch, CPU, seed)
    out = [b.next() for _ in range(n * len(data) // batch)]
    b.close()
    return out


# -- the shape comes from the images ------------------------------------------------------------
def test_grayscale_images_give_one_channel_at_their_own_size(tmp_path):
    data = _load(_folder(tmp_path / "d", {"a": 3, "b": 2}, size=(10, 10), mode="L"))
    assert data.shape == (5, 1, 10, 10) and data.pixels.dtype == torch.uint8
    assert (
        "shape 1x10x10 from the images: every image is 10x10; every image is grayscale (set data.size or data.channels to choose)"
        in data.notes
    )


def test_rgb_images_give_three_channels_held_as_uint8(tmp_path):
    root = _folder(tmp_path / "d", {"a": 2, "b": 2}, size=(12, 12))
    data = _load(root)
    assert data.shape == (4, 3, 12, 12) and data.pixels.dtype == torch.uint8 and data.pixels.nbytes == 4 * 3 * 12 * 12
    first = np.array(Image.open(root / "a" / "000.png")).transpose(2, 0, 1)  # (3, 12, 12)
    assert torch.equal(data.pixels[0], torch.from_numpy(first))  # uint8 at rest: the file's own values
    assert torch.equal(data.images[0], torch.from_numpy(first).float() / 255 * 2 - 1)


def test_mixed_modes_and_sizes_choose_clearly_and_say_so(tmp_path):
    root = tmp_path / "d"
    for i in range(3):
        _img(root / "a" / f"sq{i}.png", (16, 16), "L", seed=i)
    _img(root / "b" / "wide.png", (20, 12), "RGB", seed=5)
    _img(root / "b" / "small.png", (8, 8), "RGB", seed=6)
    data = _load(root)
    assert data.shape == (5, 3, 16, 16)  # shorter sides 16, 16, 16, 12, 8: the most common is 16
    note = [n for n in data.notes if n.startswith("shape 3x16x16 from the images: 3 sizes (16x16 (3), ")]
    assert note and "the most common shorter side" in note[0] and "2 of 5 images in colour" in note[0], data.notes
    gray = data.pixels[0]  # a grayscale image, repeated in each channel
    assert torch.equal(gray[0], gray[1]) and torch.equal(gray[1], gray[2])


def test_images_of_one_non_square_size_use_their_shorter_side(tmp_path):
    data = _load(_folder(tmp_path / "d", {"a": 2}, size=(20, 12)))
    assert data.shape == (2, 3, 12, 12)
    assert any("every image is 20x12, centre-cropped to its shorter side" in n for n in data.notes)


def test_a_uniform_folder_is_decoded_in_one_pass_that_also_reads_the_headers(tmp_path, monkeypatch):
    calls = {"decode": 0, "census": 0}
    for name in ("_decode_all", "_census"):
        real = getattr(folder, name)
        monkeypatch.setattr(
            folder, name, lambda *a, _real=real, _name=name: calls.__setitem__(_name[1:7], calls[_name[1:7]] + 1) or _real(*a)
        )
    _load(_folder(tmp_path / "d", {"a": 50, "b": 50}, size=(10, 10)))
    assert calls == {"decode": 1, "census": 0}


def test_the_options_still_override_and_then_no_shape_note(tmp_path):
    data = _load(_folder(tmp_path / "d", {"a": 2}, size=(10, 10), mode="L"), size=8, channels=3)
    assert data.shape == (2, 3, 8, 8)
    assert not any(n.startswith("shape ") for n in data.notes)


def test_sixteen_bit_images_make_a_float_set_and_say_why(tmp_path):
    (tmp_path / "a").mkdir()
    Image.fromarray(VALUES).save(tmp_path / "a" / "deep.png")
    data = _load(tmp_path)
    assert data.shape == (1, 1, 6, 6) and data.pixels.dtype == torch.float32
    assert torch.allclose(data.images[0, 0].double(), torch.from_numpy(VALUES / 65535 * 2 - 1), atol=1e-6, rtol=0)
    assert any(n.startswith("1 image with 16-bit or float pixels: the set is held as float32") for n in data.notes)


@pytest.mark.parametrize("odd", ["colour", "16-bit", "size"])
def test_an_image_the_shape_guess_missed_makes_a_second_pass_with_the_right_shape(tmp_path, monkeypatch, odd):
    """The shape is guessed from a sample of headers, every image decoded at it while all headers are
    read; one image outside the sample that changes the choice means decoding again."""
    root = _folder(tmp_path / "d", {"a": 60, "b": 39}, size=(8, 8), mode="L")
    first = root / "a" / "001.png"  # the sample reads every third file: 000, 003, ...
    if odd == "colour":
        _img(first, (8, 8), "RGB", seed=7)
    elif odd == "16-bit":
        first.unlink()
        Image.fromarray(np.full((8, 8), 1000, dtype=np.uint16)).save(first)
    else:
        files = sorted(root.glob("*/*.png"))
        for i, f in enumerate(files):  # two thirds become 6x6, all outside the sample: it sees only 8x8
            if i % 3:
                _img(f, (6, 6), "L", seed=i)
    passes = []
    real = folder._decode_all
    monkeypatch.setattr(folder, "_decode_all", lambda *a: passes.append(a[1]) or real(*a))
    data = _load(root, workers=1, cache=True)  # the entry is written while decoding: only the second pass's is kept
    assert len(passes) == 2 and (passes[0].channels, passes[0].size, passes[0].deep) == (1, 8, False)  # the guess, then the right shape
    cached = _load(root, cache=True)
    assert (
        len(passes) == 2
        and cached.notes[-1].startswith("read the decoded images from the cache")
        and torch.equal(cached.pixels, data.pixels)
    )
    expected = {"colour": (99, 3, 8, 8), "16-bit": (99, 1, 8, 8), "size": (99, 1, 6, 6)}[odd]
    assert data.shape == expected and data.dtype == (torch.float32 if odd == "16-bit" else torch.uint8)
    told = _load(root, workers=0, size=expected[2], channels=expected[1])  # no guess needed
    assert torch.equal(data.images, told.images)


# -- parallel decoding and progress ------------------------------------------------------------
def test_worker_processes_decode_the_same_pixels_and_errors_stay_one_paragraph(tmp_path):
    root = _folder(tmp_path / "d", {"a": 30, "b": 30}, size=(9, 11))
    here = _load(root, workers=0, size=8)
    pool = _load(root, workers=2, size=8)
    assert torch.equal(here.pixels, pool.pixels) and torch.equal(here.labels, pool.labels)
    bad = root / "b" / "010.png"
    bad.write_bytes(bad.read_bytes()[:40])  # truncated: fails when decoded, in a worker
    msg = _error(lambda: _load(root, workers=2, size=8))
    assert msg.startswith(f"data=imagefolder: cannot read the image {bad}: ") and "Traceback" not in msg


def test_the_pools_report_progress_in_order():
    seen = []
    for kind in parallel.KINDS:
        got = list(
            parallel.chunks(
                lambda a, b: list(range(a, b)),
                10,
                workers=2,
                chunk=3,
                what="x",
                kind=kind,
                progress=lambda what, done, total: seen.append((done, total)),
            )
        )
        assert [s for s, _ in got] == [0, 3, 6, 9] and sum((v for _, v in got), []) == list(range(10))
    assert seen == [(0, 10), (3, 10), (6, 10), (9, 10), (10, 10)] * 2


def test_the_progress_line_shows_rate_and_eta_and_stays_quiet_for_short_work():
    now = [0.0]
    out = io.StringIO()
    line = LineProgress(out, after=1.0, every=10.0, clock=lambda: now[0])
    line("decoding images", 0, 1000)
    now[0] = 0.5
    line("decoding images", 100, 1000)
    assert out.getvalue() == ""  # under a second: nothing shown
    now[0] = 2.0
    line("decoding images", 400, 1000)
    now[0] = 3.0
    line("decoding images", 600, 1000)  # within 10 s of the last line: not repeated in a log
    now[0] = 4.0
    line("decoding images", 1000, 1000)
    assert out.getvalue().splitlines() == [
        "decoding images: 400/1,000 (40%), 200/s, 0:02 elapsed, ETA 0:03",
        "decoding images: 1,000/1,000 (100%), 250/s, 0:04 elapsed, done",
    ]


# -- the decoded cache ---------------------------------------------------------------------------
def _entries(tmp_path):
    return sorted((tmp_path / "cache" / "images").glob("*.gzimg"))


def _no_decoding(monkeypatch):
    def refuse(*_):
        raise AssertionError("decoded although cached")

    monkeypatch.setattr(Decoder, "__call__", refuse)
    monkeypatch.setattr(Decoder, "header", refuse)


def test_the_second_load_reads_the_cache_and_decodes_nothing(tmp_path, monkeypatch):
    root = _folder(tmp_path / "d", {"a": 3, "b": 4}, size=(10, 10))
    first = _load(root, cache=True)
    assert len(_entries(tmp_path)) == 1
    _no_decoding(monkeypatch)
    second = _load(root, cache=True)
    assert torch.equal(first.pixels, second.pixels) and torch.equal(first.labels, second.labels)
    assert second.notes[:-1] == first.notes and second.notes[-1].startswith("read the decoded images from the cache in ")
    assert second.key == first.key


def test_unset_cache_keeps_only_sets_that_were_slow_to_read(tmp_path, monkeypatch):
    root = _folder(tmp_path / "d", {"a": 2})
    monkeypatch.setattr(folder, "CACHE_AFTER", 1e9)
    _load(root)
    assert _entries(tmp_path) == []
    monkeypatch.setattr(folder, "CACHE_AFTER", 0.0)
    _load(root)
    assert len(_entries(tmp_path)) == 1


@pytest.mark.parametrize("change", ["content", "added", "removed"])
def test_a_changed_file_invalidates_the_cache(tmp_path, change):
    root = _folder(tmp_path / "d", {"a": 3, "b": 3})
    before = _load(root, cache=True)
    target = root / "a" / "001.png"
    if change == "content":
        stat = target.stat()
        _img(target, seed=99)  # other pixels, same size on disk or not
        os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    elif change == "added":
        _img(root / "b" / "new.png", seed=98)
    else:
        target.unlink()
    after = _load(root, cache=True)
    assert not any(n.startswith("read the decoded images from the cache") for n in after.notes)
    fresh = _load(root, cache=False)
    assert torch.equal(after.pixels, fresh.pixels) and not (after.shape == before.shape and torch.equal(after.pixels, before.pixels))
    assert len(_entries(tmp_path)) == 1  # the entry for the old file list was replaced, not kept beside it


DAMAGES = {
    "a flipped pixel byte": lambda b: b[:-5] + bytes([b[-5] ^ 0xFF]) + b[-4:],
    "truncated": lambda b: b[: len(b) - 100],
    "garbage header": lambda b: b[:16] + b"\xff" * 64 + b[80:],
    "empty": lambda b: b"",
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_a_damaged_cache_is_rebuilt_never_trusted(tmp_path, damage):
    root = _folder(tmp_path / "d", {"a": 3, "b": 3})
    good = _load(root, cache=True)
    (entry,) = _entries(tmp_path)
    entry.write_bytes(DAMAGES[damage](entry.read_bytes()))
    again = _load(root, cache=True)
    assert torch.equal(again.pixels, good.pixels)
    assert any("was damaged" in n for n in again.notes), again.notes
    third = _load(root, cache=True)  # rebuilt: read from the cache again
    assert torch.equal(third.pixels, good.pixels) and third.notes[-1].startswith("read the decoded images from the cache")


def test_an_entry_written_block_by_block_appears_only_when_finished(tmp_path):
    pixels = torch.arange(2 * 3 * 4 * 4, dtype=torch.uint8).reshape(2, 3, 4, 4)
    meta = {"key": "k", "shape": [2, 3, 4, 4], "dtype": "uint8", "notes": []}
    folder_ = tmp_path / "cache" / "images"
    with cache.Writer(folder_ / "s-k.gzimg") as w:
        w.add(memoryview(pixels[:1].numpy()).cast("B"))
    assert w.note is None and list(folder_.iterdir()) == []  # abandoned: its temporary is gone
    with cache.Writer(folder_ / "s-k.gzimg") as w:
        for row in pixels:
            w.add(memoryview(row.numpy()).cast("B"))
        w.finish(meta)
    assert [p.name for p in folder_.iterdir()] == ["s-k.gzimg"]
    assert torch.equal(cache.read_pixels(folder_ / "s-k.gzimg", cache.read_meta(folder_ / "s-k.gzimg", "k")), pixels)


def test_a_cache_folder_that_cannot_be_written_costs_a_note(tmp_path, monkeypatch):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("GANZOO_CACHE", str(blocked))
    data = _load(_folder(tmp_path / "d", {"a": 2}), cache=True)
    assert data.shape == (2, 3, 8, 8)
    assert any(n.startswith(f"could not save the decoded images in {blocked / 'images'} (") and "Set GANZOO_CACHE" in n for n in data.notes)
    assert blocked.read_text() == "a file where the cache folder would be"


def test_a_foreign_file_under_an_entry_name_is_left_alone(tmp_path):
    root = _folder(tmp_path / "d", {"a": 2})
    _load(root, cache=True)
    (entry,) = _entries(tmp_path)
    entry.write_bytes(b"somebody else's file, not ganzoo's")
    data = _load(root, cache=True)
    assert data.shape == (2, 3, 8, 8) and any("is not a ganzoo cache file, so it was left alone" in n for n in data.notes)
    assert entry.read_bytes() == b"somebody else's file, not ganzoo's"
    assert cache.is_ours(entry) is False


# -- streaming: the same batches, resumable -----------------------------------------------------
@pytest.mark.parametrize("workers", [0, 1])
@pytest.mark.parametrize("sampling", [{}, {"flip": True}, {"balance": True}])
def test_streamed_batches_equal_the_in_memory_ones(tmp_path, workers, sampling):
    root = _folder(tmp_path / "d", {"a": 14, "b": 6, "c": 4}, size=(10, 10))
    memory, streamed = _load(root), _streamed(root, workers=workers)
    assert streamed.notes[:-1] == memory.notes
    assert torch.equal(streamed.floats(torch.tensor([3, 0, 23])), memory.images[[3, 0, 23]])
    for (xm, ym), (xs, ys) in zip(_epochs(memory, **sampling), _epochs(streamed, **sampling)):
        assert torch.equal(xm, xs) and torch.equal(ym, ys) and xs.dtype == torch.float32 and xs.shape == (8, 3, 10, 10)


def test_a_streamed_set_refuses_the_whole_images_tensor(tmp_path):
    data = _streamed(_folder(tmp_path / "d", {"a": 2}))
    with pytest.raises(DataError, match="streamed from disk.*floats"):
        data.images


def test_flip_mirrors_the_odd_positions_of_each_epoch(tmp_path):
    data = _load(_folder(tmp_path / "d", {"a": 8, "b": 8}))
    plain, flipped = _epochs(data, n=2), _epochs(data, n=2, flip=True)
    for (x, y), (xf, yf) in zip(plain, flipped):
        assert torch.equal(y, yf)
        assert torch.equal(xf[0::2], x[0::2]) and torch.equal(xf[1::2], x[1::2].flip(3))


def test_balance_draws_every_class_about_equally(tmp_path):
    data = _load(_folder(tmp_path / "d", {"many": 90, "few": 10}, size=(4, 4)))
    assert data.classes == ("few", "many")
    labels = torch.cat([y for _, y in _epochs(data, n=20, batch=10, balance=True)])
    share = (labels == 0).float().mean().item()
    assert 0.45 < share < 0.55  # 2,000 draws; unbalanced the share would be 0.10
    assert (torch.cat([y for _, y in _epochs(data, n=1, batch=10)]) == 0).sum() == 10  # off: each image once per epoch


def test_the_run_options_reach_the_batches(tmp_path):
    root = _folder(tmp_path / "d", {"a": 2, "b": 2})
    host = PluginHost(entry_points=[])
    data = load_data(
        resolve(["data=imagefolder", f"data.root={root}", "data.flip=true", "data.balance=true", "train.progress=false"], host), host
    )
    assert data.flip and data.balance and not data.streamed
    with pytest.raises(ConfigError, match=r"data.max_memory.*8GB, 500MB, 1.5GiB"):
        resolve(["data=imagefolder", f"data.root={root}", "data.max_memory=lots"], host)
    assert folder.parse_bytes("1.5GiB") == 1.5 * 2**30 and folder.parse_bytes("500MB") == 500 * 10**6 and folder.parse_bytes("123") == 123


RUN = [
    "preset=wgan-gp-paper",
    "data=imagefolder",
    "data.size=8",
    "critic.width=2",
    "generator.base=32",
    "generator.z_dim=8",
    "train.batch_size=8",
    "train.n_critic=2",
    "train.progress=false",
    "train.sample_every=0",
    "train.checkpoint_every=1",
    "train.precision=fp32",
]


def test_streamed_training_equals_in_memory_and_resumes_exactly(tmp_path, one_thread):
    host = PluginHost(entry_points=[])
    root = _folder(tmp_path / "d", {"a": 20, "b": 12, "c": 8})  # 40 images: an epoch is 5 batches
    common = [*RUN, f"data.root={root}", "data.flip=true"]
    memory = start([*common, "train.steps=6", f"out={tmp_path / 'memory'}"], host)
    streamed = start([*common, "train.steps=6", "data.max_memory=1KB", "data.workers=1", f"out={tmp_path / 'streamed'}"], host)
    part = start([*common, "train.steps=2", "data.max_memory=1KB", "data.workers=1", f"out={tmp_path / 'part'}"], host)
    assert 0 < final_state(part)[1]["data_pos"] < 40  # stopped inside an epoch
    start([f"resume={part}", "train.steps=6"], host)
    assert_same_run(memory, streamed)
    assert_same_run(memory, part)


@pytest.mark.slow
def test_a_streamed_run_killed_mid_epoch_resumes_bit_identical(tmp_path, one_thread):
    root = _folder(tmp_path / "d", {"a": 30, "b": 18})  # 48 images: 6 batches, 3 generator steps an epoch
    common = [*RUN, f"data.root={root}", "train.steps=5", "data.max_memory=1KB", "data.workers=1"]
    run_dir = tmp_path / "killed"
    killed = run_cli(["run", *common, f"out={run_dir}"], fault="kill:critic_step:9")
    assert killed.returncode == -9, killed.stderr
    _, state, _ = final_state(run_dir)
    assert state["step"] == 4 and state["data_pos"] == 16  # the last checkpoint lies inside the second epoch
    resumed = run_cli(["run", f"resume={run_dir}"])
    assert resumed.returncode == 0, resumed.stderr
    unbroken = start([*common, f"out={tmp_path / 'unbroken'}"], PluginHost(entry_points=[]))
    assert_same_run(unbroken, run_dir)


def test_two_processes_read_disjoint_shards(tmp_path):
    from helpers import torchrun

    root = _folder(tmp_path / "d", {"a": 24, "b": 16})  # 40 images, 5 batches of 8 an epoch
    steps = 7  # into the second epoch
    done = torchrun(str(Path(__file__).with_name("dist_data_worker.py")), str(root), str(tmp_path), str(steps))
    assert done.returncode == 0, done.stderr[-3000:]
    one = Batches(_load(root, size=8).replace(flip=True), 8, CPU, 0)  # one process: the global batches
    reference, asked = [], []
    for _ in range(steps):
        reference.append(one.next())
        asked.append(one.perm[one.pos - 8 : one.pos].tolist())
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    reads = [[json.loads(line) for line in (tmp_path / f"read-rank{r}.jsonl").read_text().splitlines()] for r in (0, 1)]
    for k, (x, y) in enumerate(reference):
        for r in (0, 1):
            assert (
                torch.equal(torch.tensor(ranks[r]["images"][k]), x[4 * r : 4 * r + 4])
                and ranks[r]["labels"][k] == y[4 * r : 4 * r + 4].tolist()
            )
        assert reads[0][k] == asked[k][:4] and reads[1][k] == asked[k][4:]  # each rank decoded only its own half of batch k


# -- the hostile folders, streamed ---------------------------------------------------------------
def test_links_loops_and_fifos_stream_as_they_load(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    _folder(root, {"a": 4, "b": 4})
    _img(outside / "far.png", seed=50)
    os.symlink(".", root / "a" / "loop")
    os.symlink(outside / "far.png", root / "a" / "far.png")
    os.symlink("000.png", root / "a" / "again.png")
    fifo = root / "b" / "x.png"
    os.mkfifo(fifo)
    memory = _in_time(lambda: _load(root, size=8), unblock=_unblock(fifo))
    streamed = _in_time(lambda: _streamed(root, size=8, workers=1), unblock=_unblock(fifo))
    assert streamed.notes[:-1] == memory.notes and len(streamed) == len(memory) == 9
    assert any(n.startswith("skipped 1 file ") for n in streamed.notes) and any(
        n.startswith("did not follow 1 folder link") for n in streamed.notes
    )
    pairs = _in_time(lambda: list(zip(_epochs(memory, batch=3), _epochs(streamed, batch=3))), unblock=_unblock(fifo))
    assert all(torch.equal(xm, xs) and torch.equal(ym, ys) for (xm, ym), (xs, ys) in pairs)


def test_sixteen_bit_images_stream_with_their_precision(tmp_path):
    (tmp_path / "a").mkdir()
    Image.fromarray(VALUES).save(tmp_path / "a" / "deep.png")
    _img(tmp_path / "a" / "flat.png", (6, 6), "L")
    memory, streamed = _load(tmp_path), _streamed(tmp_path, workers=1)
    assert streamed.dtype == torch.float32
    assert torch.equal(streamed.floats(), memory.images)
    assert torch.allclose(streamed.floats(torch.tensor([0]))[0, 0].double(), torch.from_numpy(VALUES / 65535 * 2 - 1), atol=1e-6, rtol=0)


def test_a_bomb_is_refused_before_a_streamed_run_starts(tmp_path):
    _folder(tmp_path, {"a": 2})
    bomb = _claiming(tmp_path / "a" / "bomb.png", 30000, 30000)
    msg = _error(lambda: _load(tmp_path, max_memory="1KB", workers=1))
    assert str(bomb) in msg and "30000x30000 pixels" in msg and "data.max_pixels=900000000" in msg


@pytest.mark.parametrize("swap", ["fifo", "removed"])
def test_a_file_swapped_during_streaming_is_a_clear_error_not_a_hang(tmp_path, swap):
    root = _folder(tmp_path / "d", {"a": 6, "b": 6})
    data = _streamed(root, workers=1)
    victim = root / "b" / "002.png"
    victim.unlink()
    if swap == "fifo":
        os.mkfifo(victim)
    msg = _in_time(lambda: _error(lambda: _epochs(data, n=2, batch=4)), unblock=_unblock(victim) if swap == "fifo" else None)
    assert str(victim) in msg and ("no longer a regular file" in msg if swap == "fifo" else "cannot read the image" in msg)


# -- the engine's API for other datasets, and the evaluator --------------------------------------
def test_a_list_of_files_with_labels_from_elsewhere_loads_the_same_way(tmp_path):
    paths = [str(_img(tmp_path / f"{i}.png", (9, 9), seed=i)) for i in range(4)]
    cfg = ganzoo.FolderConfig(size=8)
    data = ganzoo.load_image_files(paths, [1, 0, 1, 0], ("x", "y"), cfg, who="data=mine")
    assert data.shape == (4, 3, 8, 8) and data.labels.tolist() == [1, 0, 1, 0] and data.classes == ("x", "y")
    msg = _error(lambda: ganzoo.load_image_files([*paths, str(tmp_path / "gone.png")], [0] * 5, ("x",), cfg, who="data=imagefolder"))
    assert "gone.png" in msg


def test_the_evaluator_reads_uint8_sets_as_the_same_floats(tmp_path):
    from ganzoo.evaluation.evaluator import dataset_key, train_classifier

    data = _load(_folder(tmp_path / "d", {"a": 6, "b": 6}))
    as_float = ganzoo.ImageData(data.images, data.labels, data.classes)
    a, acc_a = train_classifier(data, epochs=1)
    b, acc_b = train_classifier(as_float, epochs=1)
    assert acc_a == acc_b and all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())
    assert dataset_key(data) == dataset_key(_streamed(tmp_path / "d")) != dataset_key(as_float)


def test_the_image_types_are_torchvisions_imagefolder_list():
    from torchvision.datasets.folder import IMG_EXTENSIONS

    from ganzoo.data.walk import extensions

    assert set(extensions()) == set(IMG_EXTENSIONS)
