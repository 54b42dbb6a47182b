"""The `bpnotes` command: check passes and fails as it must, train reaches its accuracy, bad arguments exit 2."""
import os
import re
import subprocess
import sys
from importlib.metadata import entry_points

import pytest

import bpnotes.cli as cli
from bpnotes.cli import derivation_checks, main


def test_check_passes_and_prints_the_table(capsys):
    assert main(["check", "--seed", "7"]) == 0
    out = capsys.readouterr().out
    counts = re.search(r"(\d+) of (\d+) checks passed", out)
    assert "FAIL" not in out and counts and counts[1] == counts[2] and "bpnotes check --seed 7" in out
    for row in ["three ways, phi = relu", "MLP vs backprop", "binary_cross_entropy", "erratum 2", "softmax: J^T"]:
        assert row in out
    assert max(len(line) for line in out.splitlines()) <= 80        # fits a terminal and the docs page


def test_check_fails_with_status_1_when_a_derivation_is_wrong(monkeypatch, capsys):
    right = cli.output_layer_grads
    monkeypatch.setattr(cli, "output_layer_grads", lambda *args: tuple(2 * g for g in right(*args)))   # off by 2
    assert main(["check", "--seed", "7"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_checks_are_fresh_and_reproducible():
    a, b = derivation_checks(seed=1), derivation_checks(seed=1)
    assert [r.error for r in a] == [r.error for r in b]
    assert [r.error for r in a] != [r.error for r in derivation_checks(seed=2)]


def test_train_digits_reaches_95_percent(capsys, tmp_path):
    plot = tmp_path / "curves.png"
    assert main(["train", "--data", "digits", "--plot", str(plot)]) == 0
    captured = capsys.readouterr()
    test_accuracy = float(captured.out.split("test accuracy ")[-1].split("%")[0])
    assert test_accuracy >= 95 and plot.stat().st_size > 10_000
    assert captured.err.count("epoch ") == 20   # progress on stderr; not a terminal: one plain line per epoch


@pytest.mark.parametrize("argv, words", [
    (["train", "--data", "mnist"], "invalid choice: 'mnist'"),
    (["train", "--lr", "-1"], "--lr must be a number > 0"),
    (["train", "--lr", "nan"], "--lr must be a number > 0"),
    (["train", "--hidden", "0"], "--hidden takes widths >= 1"),
    (["train", "--hidden", "64,x"], "--hidden takes widths >= 1"),
    (["train", "--epochs", "0"], "--epochs must be >= 1"),
    (["train", "--epochs", "ten"], "invalid int value: 'ten'"),
    (["train", "--batch-size", "-4"], "--batch-size must be >= 1"),
    (["train", "--activation", "swish"], "invalid choice: 'swish'"),
    (["train", "--plot", "/no/such/folder/x.png"], "the folder of '/no/such/folder/x.png' does not exist"),
    (["check", "--seed", "abc"], "invalid int value: 'abc'"),
    (["fly"], "invalid choice: 'fly'"),
    ([], "the following arguments are required"),
])
def test_bad_arguments_get_one_line_and_exit_2(argv, words, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0] and err[0].startswith("bpnotes")


def test_help_describes_every_option(capsys):
    for argv, words in [(["--help"], ["check", "train"]),
                        (["train", "--help"], ["--data", "--hidden", "--activation", "--epochs", "--lr",
                                               "--batch-size", "--seed", "--plot"]),
                        (["check", "--help"], ["--seed"])]:
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert all(w in out for w in words), out


def test_the_console_script_is_installed():
    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "bpnotes"]
    assert script.value == "bpnotes.cli:main"
    exe = os.path.join(os.path.dirname(sys.executable), "bpnotes")
    if not os.path.exists(exe):
        pytest.skip("the bpnotes script is not next to this Python (not installed with pip install -e .)")
    result = subprocess.run([exe, "train", "--data", "xor", "--epochs", "3"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "test accuracy" in result.stdout
    result = subprocess.run([exe, "train", "--lr", "-2"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
