"""Removing a scratch copy the server filled (harness.system.safe_files.remove_tree): whatever the server left
there — many folders, a deep chain, links out — goes, in time linear in its entries, never following a link,
with a bounded number of open files and none left open."""

from __future__ import annotations

import os

import pytest

from harness.system import safe_files
from harness.system.safe_files import remove_tree


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_many_sibling_folders_are_each_read_once(tmp_path, monkeypatch):
    """A blind tester's server made 40,000 empty folders: each removal re-read their parent from the start,
    88 s for 20,000, on the next student's clock. Now every folder is read once."""
    top = tmp_path / "copy"
    for number in range(3000):
        (top / "cache" / f"d{number}").mkdir(parents=True)
    reads = []
    real_scandir = os.scandir
    monkeypatch.setattr(safe_files.os, "scandir", lambda fd: reads.append(fd) or real_scandir(fd))
    before = open_descriptors()
    remove_tree(top)
    assert not top.exists()
    assert len(reads) <= 3000 + 2 + 3, len(reads)  # the folders, cache/, copy/ (and a few readings again)
    assert open_descriptors() == before


def test_a_deep_chain_is_removed_with_few_open_files(tmp_path):
    top = tmp_path / "copy"
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    os.mkdir("copy", dir_fd=fd)
    current = os.open("copy", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
    os.close(fd)
    for _ in range(1500):  # deeper than PATH_MAX allows by name
        os.mkdir("deeper-folder-name", dir_fd=current)
        with open(os.open("f", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=current), "w") as file:
            file.write("x")
        below = os.open("deeper-folder-name", os.O_RDONLY | os.O_DIRECTORY, dir_fd=current)
        os.close(current)
        current = below
    os.close(current)
    before = open_descriptors()
    remove_tree(top)
    assert not top.exists()
    assert open_descriptors() == before


def test_links_are_removed_not_followed(tmp_path):
    outside = tmp_path / "outside"
    (outside / "keep").mkdir(parents=True)
    (outside / "keep" / "file").write_text("mine")
    top = tmp_path / "copy"
    (top / "sub").mkdir(parents=True)
    (top / "sub" / "to_outside").symlink_to(outside)
    (top / "to_file").symlink_to(outside / "keep" / "file")
    (top / "sub" / "data").write_bytes(b"\0" * 100)
    remove_tree(top)
    assert not top.exists()
    assert (outside / "keep" / "file").read_text() == "mine"


@pytest.mark.skipif(os.geteuid() == 0, reason="root removes what it cannot read")
def test_a_folder_that_cannot_be_emptied_is_left_and_the_rest_goes(tmp_path):
    top = tmp_path / "copy"
    (top / "locked" / "inner").mkdir(parents=True)
    (top / "free" / "x").mkdir(parents=True)
    (top / "locked").chmod(0o500)
    try:
        remove_tree(top)
        assert not (top / "free").exists()
        assert (top / "locked" / "inner").exists()
    finally:
        (top / "locked").chmod(0o700)
