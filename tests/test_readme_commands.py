"""Every command that README.md shows works as written.

The commands are every line of README.md's fenced shell blocks, and every inline code span that
starts with a command of this repository (``brats-tutorial``, ``python data_scripts/...``,
``python benchmarks/...``, ``make``). Upper-case words such as ``DIR`` or ``OUT_DIR`` are
placeholders for paths. Each command is checked by its kind, without running it:

- ``make TARGET``: ``make -n TARGET`` (a dry run: it prints the recipe, runs nothing) exits 0,
  with the command's own environment assignments (``BRATS_DATA_DIR=... make book``);
- ``brats-tutorial ARGS``: the installed entry point answers ``brats-tutorial SUBCOMMAND --help``
  and the command line's parser accepts ARGS exactly as written;
- ``python SCRIPT ARGS``: the script exists and ``python SCRIPT --help`` exits 0; a script of
  ``data_scripts/`` is a subcommand under another name, so ARGS are parsed as that subcommand's.

A code-block command of another kind fails the test, so that a new one is not skipped silently.

Then the cheap ones run for real, as subprocesses: the inline synthetic, check and zip-download
commands on synthetic data (15 to 30 s on 2 CPU cores, measured here), and, marked slow, the
"Command line" block in a temporary folder, exactly as written (50 s to 2 min on 2 CPU cores,
measured here: it trains the quick model). The block on the real BraTS sample and the Kaggle
download are only parsed: they need data or credentials, and minutes.

The ``brats-tutorial`` commands that book/real_data_on_colab.md tells Colab learners to type are
parsed the same way.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_download import TRAINING, make_kaggle_tree, make_zip

from brats_tutorial.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BIN = Path(sys.executable).parent
SHELL_LANGUAGES = {"", "bash", "sh", "shell", "console"}
#: Inline code spans that start with one of these are commands to check.
INLINE_COMMANDS = ("brats-tutorial ", "python data_scripts/", "python benchmarks/", "make ")
FENCE_PATTERN = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
ASSIGNMENT_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
PLACEHOLDER_PATTERN = re.compile(r"^[A-Z][A-Z_]*$")


@dataclass(frozen=True)
class Command:
    """A README command: its text, its leading ``NAME=value`` assignments and its words."""

    text: str
    env: dict[str, str]
    argv: tuple[str, ...]


def parse_command(text: str) -> Command:
    words = shlex.split(text, comments=True)
    env = {}
    while words and ASSIGNMENT_PATTERN.match(words[0]):
        name, value = words.pop(0).split("=", 1)
        env[name] = value
    assert words, f"no command in {text!r}"
    unsupported = {"&&", "||", ";", "|", ">", "<"} & set(words)
    assert not unsupported, f"{text!r}: one command per line, please ({unsupported})"
    shown = " ".join([*(f"{name}={value}" for name, value in env.items()), shlex.join(words)])
    return Command(text=shown, env=env, argv=tuple(words))


def readme_code_blocks(text: str | None = None) -> list[tuple[str, str]]:
    """(heading above it, body) of every fenced shell block of README.md."""
    text = README.read_text(encoding="utf-8") if text is None else text
    blocks = []
    for match in FENCE_PATTERN.finditer(text):
        if match.group(1) in SHELL_LANGUAGES:
            headings = re.findall(r"^#+ (.+)$", text[: match.start()], re.MULTILINE)
            blocks.append((headings[-1] if headings else "", match.group(2)))
    return blocks


def block_commands(body: str) -> list[Command]:
    lines = body.replace("\\\n", " ").splitlines()
    return [
        parse_command(line) for line in lines if line.strip() and not line.lstrip().startswith("#")
    ]


def inline_commands(text: str | None = None) -> list[Command]:
    """Inline code spans outside the fenced blocks that start with a command of the repository."""
    text = README.read_text(encoding="utf-8") if text is None else text
    prose = FENCE_PATTERN.sub("", text)
    spans = (" ".join(span.split()) for span in re.findall(r"`([^`]+)`", prose))
    return [parse_command(span) for span in spans if span.startswith(INLINE_COMMANDS)]


def readme_commands() -> list[Command]:
    commands = [command for _, body in readme_code_blocks() for command in block_commands(body)]
    commands += inline_commands()
    unique = {command.text: command for command in commands}
    return list(unique.values())


def command_line_block() -> list[Command]:
    """The commands of the first shell block under README.md's "Command line" heading."""
    bodies = [body for heading, body in readme_code_blocks() if heading == "Command line"]
    assert bodies, 'README.md has no shell block under "## Command line"'
    return block_commands(bodies[0])


def data_script_subcommand(script: Path) -> str:
    """The ``SUBCOMMAND`` a ``data_scripts/`` script stands for (read from the script)."""
    spec = importlib.util.spec_from_file_location(f"readme_{script.stem}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SUBCOMMAND


def run(argv, *, env=None, cwd=ROOT, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(item) for item in argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_parses(argv: list[str], shown: str, where: str = "README.md") -> None:
    try:
        build_parser().parse_args(argv)
    except SystemExit as exit_info:  # --help exits with 0 after printing the help
        if exit_info.code != 0:
            pytest.fail(f"{where}: `{shown}`: the command line rejects it (exit {exit_info.code})")


#: make options a README command may use, each with whether it takes the next word as its value.
MAKE_OPTIONS = {"-j": True, "--jobs": True, "-k": False, "--keep-going": False}


def split_make_arguments(arguments, shown: str) -> tuple[list[str], list[str], list[str]]:
    """(options, ``NAME=value`` assignments, targets) of a ``make`` command's arguments.

    Options outside :data:`MAKE_OPTIONS` (and ``--output-sync=...``) fail the test, so that a new
    one is looked at before it is accepted.
    """
    options, assignments, targets = [], [], []
    words = list(arguments)
    while words:
        word = words.pop(0)
        if word.startswith("--output-sync"):
            options.append(word)
        elif word.startswith("-"):
            assert word in MAKE_OPTIONS, f"`{shown}`: make option {word} is not checked"
            options.append(word)
            if MAKE_OPTIONS[word] and words and words[0].isdigit():
                options.append(words.pop(0))
        elif ASSIGNMENT_PATTERN.match(word):
            assignments.append(word)
        else:
            targets.append(word)
    return options, assignments, targets


def test_make_arguments_are_split_into_options_assignments_and_targets():
    assert split_make_arguments(["-j", "2", "test", "WITH_BOOK=1", "book"], "make") == (
        ["-j", "2"],
        ["WITH_BOOK=1"],
        ["test", "book"],
    )
    with pytest.raises(AssertionError, match="not checked"):
        split_make_arguments(["-B", "test"], "make -B test")


def command_id(command: Command) -> str:
    return command.text


COMMANDS = readme_commands()


def test_the_readme_shows_commands_of_every_kind():
    programs = {command.argv[0] for command in COMMANDS}
    assert {"make", "brats-tutorial", "python"} <= programs, programs
    assert len(command_line_block()) >= 5


@pytest.mark.parametrize("command", COMMANDS, ids=command_id)
def test_readme_command_is_accepted(command: Command):
    program, *arguments = command.argv
    if program == "make":
        options, assignments, targets = split_make_arguments(arguments, command.text)
        assert targets, f"`{command.text}`: name the target"
        for target in targets:
            result = run(
                ["make", "-n", *options, *assignments, target], env={**os.environ, **command.env}
            )
            assert result.returncode == 0, f"`{command.text}`: make -n {target}: {result.stderr}"
    elif program == "brats-tutorial":
        entry_point = BIN / "brats-tutorial"
        assert entry_point.is_file(), f"no {entry_point}: install the package (pip install -e .)"
        assert arguments, f"`{command.text}`: name a subcommand"
        result = run([entry_point, arguments[0], "--help"])
        assert result.returncode == 0, f"`{command.text}`: --help: {result.stderr}"
        assert_parses(arguments, command.text)
    elif program == "python":
        assert arguments and arguments[0].endswith(".py"), f"`{command.text}`: not a script"
        script = ROOT / arguments[0]
        assert script.is_file(), f"`{command.text}`: no file {arguments[0]}"
        result = run([sys.executable, script, "--help"])
        assert result.returncode == 0, f"`{command.text}`: --help: {result.stderr}"
        if script.parent.name == "data_scripts":
            assert_parses([data_script_subcommand(script), *arguments[1:]], command.text)
    else:
        pytest.fail(f"README.md: `{command.text}`: a kind of command this test does not check")


def fill_placeholders(command: Command, values: dict[str, Path]) -> list[str]:
    """The command's words with each placeholder (``DIR``) replaced by its path."""
    words = []
    for word in command.argv:
        if PLACEHOLDER_PATTERN.match(word):
            assert word in values, f"`{command.text}`: no value for the placeholder {word}"
            word = str(values[word])
        words.append(word)
    return words


def as_subprocess(words: list[str]) -> list[str]:
    """``brats-tutorial ...`` and ``python ...`` run with this environment's executables."""
    program, *arguments = words
    if program == "brats-tutorial":
        return [str(BIN / "brats-tutorial"), *arguments]
    if program == "python":
        return [sys.executable, *arguments]
    return words


def quiet_environment(work_dir: Path) -> dict[str, str]:
    """os.environ without the data and profile settings, generated files in ``work_dir``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("BRATS_DATA_DIR", "BRATS_PROFILE", "BRATS_SYNTHETIC")
    }
    env.update(
        BRATS_WORK_DIR=str(work_dir),
        TF_CPP_MIN_LOG_LEVEL="3",
        MPLBACKEND="Agg",
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def test_readme_data_commands_run_on_synthetic_data(tmp_path):
    """The inline synthetic, check and zip commands, run as written (paths filled in)."""
    env = quiet_environment(tmp_path / "work")
    inline = {command.text: command for command in inline_commands()}.values()
    synthetic = [c for c in inline if c.argv[:2] == ("brats-tutorial", "synthetic")]
    checks = [c for c in inline if c.argv[:2] == ("brats-tutorial", "check")]
    from_zip = [c for c in inline if "--zip" in c.argv]
    assert synthetic and checks and from_zip, "README.md lost its data commands"

    for index, command in enumerate(synthetic):
        folder = tmp_path / f"synthetic_{index}"
        words = fill_placeholders(command, {"OUT_DIR": folder})
        result = run(as_subprocess(words), env=env, timeout=300)
        assert result.returncode == 0, f"`{command.text}`: {result.stderr}"
        for check in checks:
            words = fill_placeholders(check, {"DIR": folder, "DATA_DIR": folder})
            result = run(as_subprocess(words), env=env)
            assert result.returncode == 0, f"`{check.text}`: {result.stdout}{result.stderr}"

    zip_path = make_zip(make_kaggle_tree(tmp_path / "kaggle"), tmp_path / "archive.zip")
    for index, command in enumerate(from_zip):
        destination = tmp_path / f"unpacked_{index}"
        words = fill_placeholders(command, {"PATH": zip_path, "DIR": destination})
        result = run(as_subprocess(words), env=env)
        assert result.returncode == 0, f"`{command.text}`: {result.stdout}{result.stderr}"
        assert f"Training data: {destination / TRAINING}" in result.stdout


@pytest.mark.slow
def test_readme_command_line_block_runs_as_written(tmp_path):
    """The "Command line" block, line by line, in an empty folder: synthetic data to scores.

    It is also the command line's end-to-end test on the BraTS 2018-2020 layout (the other
    releases: tests/test_release_cli.py): one prediction file per test patient of the run's
    split, on the data's grid, with the course's labels, and a score per region.
    """
    env = quiet_environment(tmp_path / "work")
    outputs = ""
    for command in command_line_block():
        assert not any(PLACEHOLDER_PATTERN.match(word) for word in command.argv), command.text
        result = run(as_subprocess(list(command.argv)), env=env, cwd=tmp_path, timeout=900)
        assert result.returncode == 0, (
            f"`{command.text}`: {result.stdout[-2000:]}{result.stderr[-4000:]}"
        )
        outputs += result.stdout
    import json

    import nibabel as nib
    import numpy as np

    run_dir = tmp_path / "runs" / "quick"
    assert (run_dir / "best.keras").exists()
    test_ids = json.loads((run_dir / "split.json").read_text())["test"]
    written = sorted((run_dir / "predictions").glob("*.nii.gz"))
    assert [p.name for p in written] == [f"{case}.nii.gz" for case in sorted(test_ids)]
    labels = np.asanyarray(nib.load(written[0]).dataobj)
    assert labels.shape == (240, 240, 155) and set(np.unique(labels)) <= {0, 1, 2, 4}
    assert "Dice" in outputs and "HD95" in outputs


COLAB_PAGE = ROOT / "book" / "real_data_on_colab.md"


def colab_page_commands() -> list[Command]:
    """The ``brats-tutorial`` commands of the Colab page: ``!brats-tutorial ...`` lines in its
    code blocks and inline code spans."""
    text = COLAB_PAGE.read_text(encoding="utf-8")
    shown = re.findall(r"^\s*!(brats-tutorial\b[^\n]*)$", text, re.MULTILINE)
    shown += [
        " ".join(span.split()) for span in re.findall(r"`([^`]+)`", FENCE_PATTERN.sub("", text))
    ]
    # A bare "brats-tutorial" names the program in the prose; it is no command to check.
    commands = [parse_command(line) for line in shown if line.startswith("brats-tutorial ")]
    return list({command.text: command for command in commands}.values())


def test_colab_page_commands_are_accepted():
    """What the Colab page tells learners to type is what the command line accepts."""
    commands = colab_page_commands()
    subcommands = {command.argv[1] for command in commands if len(command.argv) > 1}
    assert {"download", "check"} <= subcommands, subcommands
    for command in commands:
        assert_parses(list(command.argv[1:]), command.text, where=COLAB_PAGE.name)
