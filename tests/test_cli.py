"""The `bpnotes` command: check passes and fails as it must, train reaches its accuracy, bad arguments exit 2."""
import os
import re
import subprocess
import sys
from importlib.metadata import entry_points

import pytest

import bpnotes.cli as cli
import bpnotes.derivations as derivations
from bpnotes.cli import main
from bpnotes.derivations import derivation_checks
from conftest import ROOT


def test_check_passes_and_prints_the_table(capsys):
    assert main(["check", "--seed", "7"]) == 0
    out = capsys.readouterr().out
    counts = re.search(r"(\d+) of (\d+) checks passed", out)
    assert "FAIL" not in out and counts and counts[1] == counts[2] and "bpnotes check --seed 7" in out
    for row in ["three ways, phi = relu", "MLP vs backprop", "binary_cross_entropy", "erratum 2", "softmax: J^T"]:
        assert row in out
    assert max(len(line) for line in out.splitlines()) <= 80        # fits a terminal and the docs page


def test_check_fails_with_status_1_when_a_derivation_is_wrong(monkeypatch, capsys):
    right = derivations.output_layer_grads
    monkeypatch.setattr(derivations, "output_layer_grads", lambda *args: tuple(2 * g for g in right(*args)))  # off by 2
    assert main(["check", "--seed", "7"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_checks_are_fresh_and_reproducible():
    a, b = derivation_checks(seed=1), derivation_checks(seed=1)
    assert [r.error for r in a] == [r.error for r in b]
    assert [r.error for r in a] != [r.error for r in derivation_checks(seed=2)]


def test_train_digits_reaches_95_percent_and_evaluate_agrees(capsys, tmp_path):
    "Issue 19's done-when: bpnotes train --data digits --save m.npz, then evaluating m.npz, same accuracy"
    plot, model = tmp_path / "curves.png", tmp_path / "m.npz"
    assert main(["train", "--data", "digits", "--plot", str(plot), "--save", str(model)]) == 0
    captured = capsys.readouterr()
    trained = captured.out.split("train accuracy ")[-1].split(" (")[0]
    test_accuracy = float(captured.out.split("test accuracy ")[-1].split("%")[0])
    assert test_accuracy >= 95 and plot.stat().st_size > 10_000 and model.exists()
    assert captured.err.count("epoch ") == 20   # progress on stderr; not a terminal: one plain line per epoch
    assert main(["evaluate", str(model)]) == 0
    evaluated = capsys.readouterr().out.splitlines()[-1].removeprefix("train accuracy ")
    assert evaluated == trained                 # both accuracies, to the digit printed
    result = subprocess.run([sys.executable, "-m", "bpnotes", "evaluate", str(model), "-q"],
                            capture_output=True, text=True, timeout=120)   # in a new process
    assert result.returncode == 0 and result.stdout.strip() == "train accuracy " + evaluated


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
    (["check", "--seed", "abc"], "argument --seed: must be a whole number >= 0, got 'abc'"),
    (["check", "--seed", "-1"], "argument --seed: must be a whole number >= 0, got '-1'"),
    (["train", "--seed", "-1"], "argument --seed: must be a whole number >= 0, got '-1'"),
    (["train", "--plot", "curves.txt"], "--plot needs a file name ending in an image format"),
    (["train", "--plot", "noext"], "--plot needs a file name ending in an image format"),
    (["train", "--save", "model.pkl"], "--save takes a file name ending in .npz"),
    (["train", "--save", "/no/such/folder/m.npz"], "the folder of '/no/such/folder/m.npz' does not exist"),
    (["evaluate"], "the following arguments are required: model"),
    (["evaluate", "/no/such/file.npz"], "no such file: '/no/such/file.npz'"),
    (["evaluate", "pyproject.toml"], "is not a network written by MLP.save: it is not an .npz archive"),
    (["evaluate", "m.npz", "--data", "spiral"], "unrecognized arguments: --data spiral"),   # R3 S3: it did nothing
    (["grade"], "the following arguments are required: file"),
    (["grade", "/no/such/answers.py"], "no such file: '/no/such/answers.py'"),
    (["grade", "pyproject.toml"], "grade takes a .py file; got 'pyproject.toml'"),
    (["fly"], "invalid choice: 'fly'"),
    ([], "the following arguments are required"),
])
def test_bad_arguments_get_one_line_and_exit_2(argv, words, capsys, monkeypatch):
    "Issue 19, bug 6: --seed -1 gave a numpy traceback; --plot out.txt trained fully, then a traceback"
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(cli, "fit", lambda *a, **k: pytest.fail("trained before refusing the arguments"))
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and words in err[0] and err[0].startswith("bpnotes") and captured.out == ""


def test_help_describes_every_option_with_its_default(capsys):
    for argv, words in [(["--help"], ["check", "train", "evaluate", "grade", "--version"]),
                        (["train", "--help"], ["--data", "--hidden", "--activation", "--epochs", "--lr",
                                               "--batch-size", "--seed", "--plot", "--save", "--quiet"]),
                        (["check", "--help"], ["--seed", "--quiet"]),
                        (["evaluate", "--help"], ["model", "--quiet",
                                                  "print the accuracies only, not the network and the data set"]),
                        (["grade", "--help"], ["file", "d_output_d_hidden", "dL_db_h", "dL_dW_h", "dL_dX",
                                               "Exit status 0"])]:
        assert main(argv) == 0
        out = " ".join(capsys.readouterr().out.split())       # argparse wraps lines: compare words
        assert all(w in out for w in words), out
    assert main(["train", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    for name, (hidden, epochs, lr, batch) in cli.DEFAULTS.items():
        for value in (hidden, epochs, lr, batch):
            assert f"{value} for {name}" in out
    assert "(default: digits)" in out and "(default: tanh)" in out and "(default: 0)" in out
    assert main(["evaluate", "--help"]) == 0 and "--data" not in capsys.readouterr().out    # R3 S3


def test_the_page_says_what_each_of_the_four_commands_does():
    "R1 1 and 17: the description named three commands of four, and claimed every check of the package"
    for name in cli._parser()._subparsers._group_actions[0].choices:
        assert f"bpnotes {name}" in cli.__doc__, name
    assert "every derivation check of the package" not in cli.__doc__
    assert "sections 1 to 4, the MLP and the mistakes gallery" in cli.__doc__
    count = len(cli._parser()._subparsers._group_actions[0].choices)
    page = (ROOT / "nbs" / "12_cli.ipynb").read_text()
    assert f"with {['no', 'one', 'two', 'three', 'four', 'five'][count]} subcommands" in page
    assert cli.__doc__.startswith(f"{['No', 'One', 'Two', 'Three', 'Four', 'Five'][count]} commands")


def test_version(capsys):
    import bpnotes
    assert main(["--version"]) == 0 and capsys.readouterr().out.strip() == f"bpnotes {bpnotes.__version__}"


def test_quiet_prints_the_result_line_only(capsys):
    assert main(["train", "--data", "xor", "--epochs", "3", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and len(captured.out.splitlines()) == 1 and "test accuracy" in captured.out
    assert main(["check", "--seed", "7", "-q"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and re.search(r"(\d+) of \1 checks passed", out[0])


def test_quiet_check_still_shows_a_failure(monkeypatch, capsys):
    right = derivations.output_layer_grads
    monkeypatch.setattr(derivations, "output_layer_grads", lambda *args: tuple(2 * g for g in right(*args)))
    assert main(["check", "--seed", "7", "--quiet"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) >= 2 and all("FAIL" in line for line in out[:-1]) and "checks passed" in out[-1]


def test_a_plot_in_any_format_matplotlib_writes(tmp_path, capsys):
    plot = tmp_path / "curves.pdf"
    assert main(["train", "--data", "xor", "--epochs", "2", "--plot", str(plot), "-q"]) == 0
    assert plot.read_bytes().startswith(b"%PDF")


def test_evaluate_refuses_files_it_cannot_judge(tmp_path, capsys):
    from bpnotes.mlp import MLP
    MLP([2, 3, 2], loss="softmax_cross_entropy").save(tmp_path / "plain.npz")     # saved from Python: no split
    assert main(["evaluate", str(tmp_path / "plain.npz")]) == 2
    assert "records no data split" in capsys.readouterr().err
    assert main(["train", "--data", "xor", "--epochs", "2", "-q", "--save", str(tmp_path / "xor.npz")]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "xor.npz"), "-q"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("train accuracy ")      # -q: the accuracies only


def test_divergence_goes_to_stderr_with_status_1_and_saves_nothing(tmp_path, capsys):
    model = tmp_path / "m.npz"
    assert main(["train", "--data", "xor", "--lr", "1e307", "--save", str(model)]) == 1
    captured = capsys.readouterr()
    assert "training overflowed during epoch 1" in captured.err and "try a smaller --lr" in captured.err
    assert "not saved" in captured.err and "test accuracy" not in captured.out and not model.exists()


def test_divergence_plots_the_curves_up_to_then(tmp_path, capsys, monkeypatch):
    "A run that diverges in epoch 3 (an overflow made to happen there): the plot shows epochs 1 and 2"
    real_fit, seen = cli.fit, {}
    def overflow(*args, **kwargs):
        raise FloatingPointError("loss_and_grads: the computation overflowed")
    def diverging_fit(net, X, y, on_epoch, **kwargs):
        def blow_up(epoch, history):
            on_epoch(epoch, history)
            seen["history"] = history
            if epoch == 2:
                net.loss_and_grads = overflow
        return real_fit(net, X, y, on_epoch=blow_up, **kwargs)
    monkeypatch.setattr(cli, "fit", diverging_fit)
    plot = tmp_path / "curves.png"
    assert main(["train", "--data", "xor", "--plot", str(plot)]) == 1
    err = capsys.readouterr().err
    assert "overflowed during epoch 3" in err and f"the curves up to then are in {plot}" in err
    assert len(seen["history"]["loss"]) == 2 and plot.stat().st_size > 10_000


def test_divergence_in_epoch_1_says_no_curves_were_drawn(tmp_path, capsys):
    "--plot with an overflow in epoch 1: no file, and the message says why (R5 10)"
    plot = tmp_path / "curves.png"
    assert main(["train", "--data", "xor", "--lr", "1e307", "--plot", str(plot)]) == 1
    err = capsys.readouterr().err
    assert "overflowed during epoch 1" in err and not plot.exists()
    assert "no epoch finished, so no curves were drawn" in err


def unwritable_paths(tmp_path):
    "(option, path, why) for files train cannot write: refused before training (R1 5, R3 B2)"
    (tmp_path / "dir.npz").mkdir()
    (tmp_path / "dir.png").mkdir()
    paths = [("--save", tmp_path / "dir.npz", "is a folder, not a file"),
             ("--plot", tmp_path / "dir.png", "is a folder, not a file")]
    if os.path.isdir("/proc"):                   # R3's case: a folder that exists, where no file can be made
        paths.append(("--plot", "/proc/x.png", "cannot be written"))
    if os.name == "posix" and os.geteuid() != 0:     # root may write anything: no permission to refuse
        (tmp_path / "locked").mkdir(mode=0o500)
        paths.append(("--save", tmp_path / "locked" / "m.npz", "cannot be written"))
    return paths


def test_a_file_that_cannot_be_written_is_refused_before_training(tmp_path, capsys, monkeypatch):
    "R1 5, R3 B2: a folder or an unwritable --save/--plot gave a traceback after training, status 1"
    monkeypatch.setattr(cli, "fit", lambda *a, **k: pytest.fail("trained before refusing the file"))
    for option, path, why in unwritable_paths(tmp_path):
        before = sorted(tmp_path.rglob("*"))
        assert main(["train", "--data", "xor", "-q", "--save", str(tmp_path / "ok.npz"), option, str(path)]) == 2
        captured = capsys.readouterr()
        err = captured.err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"bpnotes train: error: {option}: ") and why in err[0], err
        assert captured.out == "" and sorted(tmp_path.rglob("*")) == before     # the test left no file behind


def test_a_writable_file_is_accepted_and_an_existing_one_is_left_as_it_was(tmp_path, capsys, monkeypatch):
    "The test for writability opens the file to append nothing: an existing file keeps its bytes"
    monkeypatch.setattr(cli, "fit", lambda *a, **k: pytest.fail("training is not what is tested here"))
    model = tmp_path / "old.npz"
    model.write_bytes(b"old bytes")
    with pytest.raises(pytest.fail.Exception):
        main(["train", "--data", "xor", "-q", "--save", str(model), "--plot", str(tmp_path / "new.png")])
    assert model.read_bytes() == b"old bytes" and not (tmp_path / "new.png").exists()


def test_the_network_is_saved_before_the_curves_and_a_late_error_is_one_line(tmp_path, capsys, monkeypatch):
    "R3 B2: a plot that failed at the end lost the network (drawn first), with a traceback; now: saved, one line, 1"
    import errno
    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    model, plot = tmp_path / "m.npz", tmp_path / "c.png"
    monkeypatch.setattr(cli, "_draw", full_disk)
    assert main(["train", "--data", "xor", "--epochs", "2", "-q", "--save", str(model), "--plot", str(plot)]) == 1
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert err == [f"bpnotes train: error: the curves not written to {str(plot)!r}: No space left on device"]
    assert "test accuracy" in captured.out
    from bpnotes.mlp import MLP
    assert MLP.load(model).meta["data"] == "xor"                      # the network was kept
    monkeypatch.undo()
    monkeypatch.setattr(cli.MLP, "save", full_disk)                    # and the other way round
    assert main(["train", "--data", "xor", "--epochs", "2", "-q", "--save", str(tmp_path / "n.npz"),
                 "--plot", str(plot)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the network not written to" in err[0] and plot.stat().st_size > 10_000


def test_the_ctrl_c_summary_starts_its_own_line(capsys, monkeypatch):
    "R3 B5: a progress line cut short by Ctrl-C had the summary glued to its end"
    real_fit = cli.fit
    def fit_cut_short(net, X, y, on_epoch, **kwargs):
        def interrupt(epoch, history):
            on_epoch(epoch, history)
            if epoch == 2:
                sys.stderr.write("epoch 3/100  loss 0.1234  accuracy 95.0%")    # no newline yet
                raise KeyboardInterrupt
        return real_fit(net, X, y, on_epoch=interrupt, **kwargs)
    monkeypatch.setattr(cli, "fit", fit_cut_short)
    assert main(["train", "--data", "xor", "--epochs", "100"]) == 130
    err = capsys.readouterr().err.splitlines()
    assert err[-2] == "epoch 3/100  loss 0.1234  accuracy 95.0%"
    assert err[-1].startswith("interrupted during epoch 3 of 100; after epoch 2: loss "), err[-1]


@pytest.mark.parametrize("argv", [["train", "--data", "xor", "--epochs", "3"], ["check", "--seed", "3", "-q"]])
def test_a_reader_that_stops_reading_ends_the_command_quietly(argv):
    "R3 B6: bpnotes train | head -1 printed a BrokenPipeError traceback; now no word on stderr, status 141"
    proc = subprocess.Popen([sys.executable, "-m", "bpnotes", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    proc.stdout.close()                                   # the reader has gone before the first line
    err = proc.stderr.read()
    assert proc.wait(timeout=300) == 128 + 13 == cli._PIPE_CLOSED
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err, err


def test_ctrl_c_ends_with_a_one_line_summary_and_the_plot_so_far(tmp_path):
    """A real SIGINT to a real training run: one line on stderr after the progress, status 130, the plot saved.

    A test run started as a background job of a non-interactive shell inherits SIGINT ignored, and so would the
    child: Python then installs no KeyboardInterrupt handler and the run trains on to the end. So the child starts
    with SIGINT restored to its default, as in a terminal; and if it does not stop, it is killed and the test fails."""
    import signal
    import threading
    plot = tmp_path / "so_far.png"
    default_sigint = (lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)) if os.name == "posix" else None
    proc = subprocess.Popen([sys.executable, "-m", "bpnotes", "train", "--data", "spiral", "--epochs", "100000",
                             "--plot", str(plot)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_sigint)
    watchdog = threading.Timer(120, proc.kill)               # never hang on readline: kill a run that stalls
    watchdog.start()
    try:
        lines = []
        while len(lines) < 3:                                # three epochs done, one line each
            line = proc.stderr.readline()
            assert line, "the run ended (or was killed after 120 s) before it was interrupted"
            lines.append(line)
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail("the run did not stop within 60 s of SIGINT: is SIGINT ignored in the child?")
        assert proc.returncode == 130, err[-500:]
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    summary = err.strip().splitlines()[-1]
    assert re.fullmatch(r"interrupted during epoch \d+ of 100000; after epoch \d+: loss [\d.]+, "
                        r"test accuracy [\d.]+%; the curves so far are in .*so_far\.png", summary), summary
    assert "Traceback" not in err and plot.stat().st_size > 10_000


@pytest.mark.parametrize("module", ["bpnotes", "bpnotes.cli"])
def test_python_m_runs_the_command(module):
    "Issue 19, bug 6: python -m bpnotes.cli check did nothing and exited 0; python -m bpnotes had no __main__"
    result = subprocess.run([sys.executable, "-m", module, "check", "--seed", "3", "--quiet"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and re.search(r"(\d+) of \1 checks passed", result.stdout), result
    result = subprocess.run([sys.executable, "-m", module, "train", "--seed", "-1"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "must be a whole number >= 0" in result.stderr


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


# ---- bpnotes grade: a student's file of answers ----

RIGHT = """
import numpy as np

def dL_db_h(O, Y):
    return 2 * (O - Y).sum(axis=0) / O.size

def dL_dW_h(H, W_h, b_h, Y):
    return 2 / Y.size * H.T @ (H @ W_h + b_h - Y)
"""
TRANSPOSED = """
def dL_dW_h(H, W_h, b_h, Y):
    return 2 / Y.size * (H @ W_h + b_h - Y).T @ H
"""
STUB = """
def dL_dX(X, W_i, b_i, W_h, b_h, Y, phi='tanh', psi='identity', loss='mse'):
    ...
"""


def answers(tmp_path, *parts, name="answers.py"):
    "A file of answers made of the parts given (a later definition replaces an earlier one)"
    path = tmp_path / name
    path.write_text("\n".join(parts))
    return str(path)


def test_grade_passes_a_file_of_right_answers_with_status_0(tmp_path, capsys):
    assert main(["grade", answers(tmp_path, RIGHT)]) == 0
    out = capsys.readouterr().out
    assert out.count(": passed") == 2 and "FAILED" not in out
    assert out.strip().splitlines()[-1] == "2 of 2 answers passed; not in the file: d_output_d_hidden, dL_dX"


def test_grade_fails_a_wrong_answer_with_status_1_and_names_the_slip(tmp_path, capsys):
    assert main(["grade", answers(tmp_path, RIGHT, TRANSPOSED)]) == 1
    out = capsys.readouterr().out
    assert "dL_db_h (section 2, exercise 1): passed" in out
    assert "dL_dW_h (section 3, exercise 1): FAILED" in out and "diagnosis: missing transpose" in out
    assert "the gradient has shape (3, 5) but the parameter has shape (5, 3)" in out
    assert "see https://bpnotes.github.io/bpnotes/vector_case.html#weight_grad" in out
    assert "1 of 2 answers passed" in out and max(len(line) for line in out.splitlines()) <= 80


def test_grade_counts_an_unfilled_stub_as_not_passed(tmp_path, capsys):
    assert main(["grade", answers(tmp_path, RIGHT, STUB)]) == 1
    out = capsys.readouterr().out
    assert "dL_dX (section 4, exercise 1): not implemented yet (it returned None)" in out
    assert "Traceback" not in out and "2 of 3 answers passed" in out


def test_grade_reports_a_file_that_does_not_run_in_one_line_with_status_1(tmp_path, capsys):
    assert main(["grade", answers(tmp_path, RIGHT, "def dL_dX(:\n")]) == 1
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and "does not run: SyntaxError" in err[0] and captured.out == ""


def test_grade_refuses_a_file_without_exercise_functions_and_lists_them(tmp_path, capsys):
    assert main(["grade", answers(tmp_path, "def dl_db_h(O, Y):\n    return O")]) == 2     # the name is wrong
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "defines none of the exercise functions" in err[0]
    for signature in ["d_output_d_hidden(h, W_h, b_h, l, j, psi)", "dL_db_h(O, Y)", "dL_dW_h(H, W_h, b_h, Y)",
                      "dL_dX(X, W_i, b_i, W_h, b_h, Y, phi, psi, loss)"]:
        assert signature in err[0]


def test_grade_in_a_new_process_keeps_its_exit_statuses(tmp_path):
    "python -m bpnotes grade, as a student runs it: 0, 1 and 2, and main code of the file not run"
    right = answers(tmp_path, RIGHT, "if __name__ == '__main__':\n    raise SystemExit('ran')", name="right.py")
    wrong = answers(tmp_path, RIGHT, TRANSPOSED, name="wrong.py")
    empty = answers(tmp_path, "x = 1", name="empty.py")
    statuses = [subprocess.run([sys.executable, "-m", "bpnotes", "grade", file], capture_output=True, text=True,
                               timeout=120).returncode for file in (right, wrong, empty)]
    assert statuses == [0, 1, 2]
