"""Finding and reading fleet files: folders, stdin, the size limit, and UTF-8 only."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from clawctl.adapters import sources
from clawctl.adapters.sources import Source, decode_check, discover, read
from clawctl.core.errors import ExitCode, InputError


def touch(path: Path, data: bytes = b"a: 1\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# -- discover ---------------------------------------------------------------------------------------


def test_folders_are_walked_sorted_skipping_hidden_and_vendored(tmp_path):
    for rel in ["b.yaml", "a.yml", "sub/c.yaml", "notes.txt", ".hidden.yaml", ".git/x.yaml",
                "node_modules/y.yaml", ".cache/z.yaml", "venv/v.yaml", "sub/deeper/d.YAML"]:
        touch(tmp_path / rel)
    found = discover([str(tmp_path)])
    assert [Path(s.name).relative_to(tmp_path).as_posix() for s in found] == ["a.yml", "b.yaml", "sub/c.yaml"]
    assert all(s.path is not None for s in found)


def test_order_of_arguments_is_kept_and_duplicates_dropped(tmp_path):
    a, b = touch(tmp_path / "a.yaml"), touch(tmp_path / "b.yaml")
    found = discover([str(b), str(a), str(tmp_path), str(tmp_path / "." / "b.yaml")])
    assert [s.name for s in found] == [str(b), str(a)]


def test_explicit_file_with_any_suffix(tmp_path):
    f = touch(tmp_path / "fleet.txt")
    assert discover([str(f)]) == [Source(str(f), f)]


def test_stdin_entry():
    assert discover(["-"]) == [Source("<stdin>", None)]
    assert discover(["-"], stdin_filename="fleet.yaml") == [Source("fleet.yaml", None)]


def test_missing_path(tmp_path):
    with pytest.raises(InputError, match="nope.yaml: no such file or folder") as info:
        discover([str(tmp_path / "nope.yaml")])
    assert info.value.exit_code == ExitCode.UNREADABLE


def test_folder_without_yaml(tmp_path):
    touch(tmp_path / "notes.txt")
    touch(tmp_path / ".hidden" / "x.yaml")
    with pytest.raises(InputError, match="folder holds no"):
        discover([str(tmp_path)])


def test_broken_link_is_found_then_refused_on_read(tmp_path):
    link = tmp_path / "fleet.yaml"
    link.symlink_to(tmp_path / "gone.yaml")
    (src,) = discover([str(link)])
    with pytest.raises(InputError, match="no such file"):
        read(src)


# -- read ---------------------------------------------------------------------------------------------


def test_read_file(tmp_path):
    f = touch(tmp_path / "f.yaml", b"a: 1\n")
    assert read(Source("f.yaml", f)) == b"a: 1\n"


def test_size_limit_before_reading(tmp_path, monkeypatch):
    f = touch(tmp_path / "f.yaml", b"#" * 2048)
    monkeypatch.setattr(sources, "_read_bounded", lambda *a: pytest.fail("read a file over the limit"))
    with pytest.raises(InputError, match=r"f\.yaml: .* over the 0 MiB limit"):
        read(Source("f.yaml", f), max_bytes=1024)


def test_default_limit_is_16_mib():
    assert sources.MAX_BYTES == 16 * 1024 * 1024


def test_exactly_at_the_limit_is_fine(tmp_path):
    f = touch(tmp_path / "f.yaml", b"#" * 1024)
    assert len(read(Source("f.yaml", f), max_bytes=1024)) == 1024


def test_stdin_stream_and_its_limit():
    assert read(Source("fleet.yaml", None), stdin=io.BytesIO(b"a: 1\n")) == b"a: 1\n"
    with pytest.raises(InputError, match="fleet.yaml: the input is over the 0 MiB limit"):
        read(Source("fleet.yaml", None), stdin=io.BytesIO(b"#" * 1025), max_bytes=1024)


def test_stdin_closed(monkeypatch):
    monkeypatch.setattr("sys.stdin", None)
    with pytest.raises(InputError, match="<stdin>: no standard input"):
        read(Source("<stdin>", None))


def test_stdin_read_error():
    class Broken(io.RawIOBase):
        def read(self, size=-1):
            raise IsADirectoryError(21, "Is a directory")

    with pytest.raises(InputError, match="cannot read standard input: Is a directory"):
        read(Source("<stdin>", None), stdin=Broken())


def test_folder_as_file(tmp_path):
    with pytest.raises(InputError, match="is a folder"):
        read(Source("d", tmp_path))


# -- decode_check -------------------------------------------------------------------------------------


def test_utf8_passes_unchanged():
    data = "agents:\n  a:\n    region: café 日本\n".encode()
    assert decode_check("f", data) is data


def test_utf8_bom_is_dropped():
    assert decode_check("f", b"\xef\xbb\xbfa: 1\n") == b"a: 1\n"
    assert decode_check("f", b"\xef\xbb\xbf") == b""


@pytest.mark.parametrize("data", ["a: 1\n".encode("utf-16"), b"\xfe\xff" + "a: 1\n".encode("utf-16-be"),
                                  "a: 1\n".encode("utf-32"), b"\x00\x00\xfe\xff" + "a".encode("utf-32-be")],
                         ids=["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_utf16_and_utf32_are_refused(data):
    with pytest.raises(InputError, match="f: UTF-16/UTF-32 text"):
        decode_check("f", data)


def test_utf16_without_bom_is_binary():
    with pytest.raises(InputError, match=r"NUL byte at offset 1\)"):
        decode_check("f", "a: 1\n".encode("utf-16-le"))


def test_nul_byte_names_its_offset():
    with pytest.raises(InputError, match=r"f: binary data \(a NUL byte at offset 8\)"):
        decode_check("f", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")


def test_latin1_names_byte_offset_and_line():
    with pytest.raises(InputError) as info:
        decode_check("fleet.yaml", b"agents:\n  a:\n    region: caf\xe9\n")
    assert str(info.value) == ("fleet.yaml: not UTF-8: byte 0xe9 at offset 28 (line 3); fleet files are UTF-8")


@pytest.mark.parametrize("data, offset", [(b"a: \xc3\x28", 3), (b"\xed\xa0\x80", 0), (b"ok\n\xf0\x9f\x98", 3),
                                          (b"\xc0\xaf", 0)],
                         ids=["bad-continuation", "encoded-surrogate", "truncated", "overlong"])
def test_invalid_utf8_sequences(data, offset):
    with pytest.raises(InputError, match=f"at offset {offset} "):
        decode_check("f", data)


# -- inputs that are not regular files: every read is bounded -----------------------------------------
# (attack report item 7: `validate /dev/zero` read without bound; pipes must keep working like stdin)

FLEET = b"agents:\n  a:\n    domain: sales\n    region: us-east\n    channels: [email]\n"


def test_dev_zero_is_refused_after_the_limit_plus_one_byte():
    with pytest.raises(InputError, match="/dev/zero: the input is over the 0 MiB limit"):
        read(Source("/dev/zero", Path("/dev/zero")), max_bytes=4096)


def test_dev_zero_through_the_cli_is_exit_3(cli):
    result = cli("validate", "/dev/zero")  # the real 16 MiB limit: 16 MiB + 1 byte read, then refused
    assert result.code == ExitCode.UNREADABLE
    assert result.err.strip() == ("clawctl: error: /dev/zero: the input is over the 16 MiB limit for one "
                                  "fleet file; split the fleet into several files")


def test_dev_null_is_an_empty_file():
    assert read(Source("/dev/null", Path("/dev/null"))) == b""


def test_read_stops_at_the_bound_whatever_the_stream_gives():
    class Endless(io.RawIOBase):
        calls = 0

        def readinto(self, b):  # a pipe: small reads, never an end
            Endless.calls += 1
            n = min(len(b), 7)
            b[:n] = b"#" * n
            return n

        def readable(self):
            return True

    with pytest.raises(InputError, match="over the 0 MiB limit"):
        read(Source("<stdin>", None), stdin=Endless(), max_bytes=1000)
    assert Endless.calls <= 1001 // 7 + 2


def _writer(path: Path, data: bytes) -> threading.Thread:
    def run():
        try:
            with open(path, "wb") as f:
                f.write(data)
        except BrokenPipeError:  # the reader stopped at its bound and closed its end
            pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_fifo_is_read_like_stdin(tmp_path):
    fifo = tmp_path / "fleet.yaml"
    os.mkfifo(fifo)
    writer = _writer(fifo, FLEET)
    assert read(Source(str(fifo), fifo)) == FLEET
    writer.join(5)


def test_fifo_over_the_limit_is_refused_without_reading_it_all(tmp_path):
    fifo = tmp_path / "fleet.yaml"
    os.mkfifo(fifo)
    writer = _writer(fifo, b"#" * 10_000)
    with pytest.raises(InputError, match="the input is over the 0 MiB limit"):
        read(Source(str(fifo), fifo), max_bytes=4096)
    writer.join(5)
    assert not writer.is_alive()


def test_fifo_through_the_cli(cli, tmp_path):
    fifo = tmp_path / "fleet.yaml"
    os.mkfifo(fifo)
    writer = _writer(fifo, FLEET)
    result = cli("validate", str(fifo), "--format", "json", "--select", "Y,S")
    writer.join(5)
    assert result.code == ExitCode.OK, result.err
    assert result.json()["findings"] == []


def test_a_pipe_named_by_dev_fd_is_read(cli):
    # What a process substitution hands over: /dev/fd/N, the read end of a pipe.
    read_end, write_end = os.pipe()
    try:
        writer = threading.Thread(target=lambda: (os.write(write_end, FLEET), os.close(write_end)), daemon=True)
        writer.start()
        result = cli("validate", f"/dev/fd/{read_end}", "--format", "json", "--select", "Y,S")
        writer.join(5)
    finally:
        os.close(read_end)
    assert result.code == ExitCode.OK, result.err
    assert result.json()["files"] == [f"/dev/fd/{read_end}"]


@pytest.mark.skipif(not Path("/bin/bash").exists(), reason="needs bash for a process substitution")
def test_process_substitution_for_real(tmp_path):
    fleet = touch(tmp_path / "fleet.yaml", FLEET)
    script = f'exec "{sys.executable}" -m clawctl.cli.main validate <(cat "{fleet}") --format json --select Y,S'
    run = subprocess.run(["/bin/bash", "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert '"findings": []' in run.stdout


@pytest.mark.skipif(not Path("/bin/bash").exists(), reason="needs bash for a process substitution")
def test_process_substitution_of_an_endless_generator_is_exit_3(tmp_path):
    script = f'exec "{sys.executable}" -m clawctl.cli.main validate <(yes "a: 1")'
    run = subprocess.run(["/bin/bash", "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == ExitCode.UNREADABLE, run.stderr
    assert "over the 16 MiB limit" in run.stderr


def test_folder_walk_skips_fifos(tmp_path):
    touch(tmp_path / "a.yaml")
    os.mkfifo(tmp_path / "b.yaml")  # read, it would wait for a writer for ever
    assert [Path(s.name).name for s in discover([str(tmp_path)])] == ["a.yaml"]
