"""Make the docs' pictures (docs/img/*.png) from offline TEST DOUBLE runs.

Every picture comes from a real run of the harness's commands with the test double
(``testdouble/...``, not a language model: it answers right with a fixed probability), so
the numbers in them show the plumbing and the layout, nothing about any model:

- ``tfgrpo_curve.png``: the learning curve ``harness tfgrpo train`` draws (its title says TEST DOUBLE);
- ``leaderboard.png``: ``harness leaderboard --out board.html`` rendered in headless Chromium
  (``apt-get install chromium``);
- ``passk.png``: pass@k against k, read from the logs of three AIME-format evals at 32 epochs.

    python3 docs/make_pictures.py [--keep DIR]

Takes about a minute; needs chromium for the leaderboard screenshot (skipped with a message
when it is absent).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMG = ROOT / "docs" / "img"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]
P_CORRECT = {"p30": 0.3, "p60": 0.6, "p90": 0.9}  # the test double's name after testdouble/ is free


def run(cmd: list[str], cwd: Path) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def shrink(png: Path) -> None:
    """Palette PNG (the pictures are flat colours): keeps each file well under 200 KB."""
    from PIL import Image

    Image.open(png).convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(png, optimize=True)
    print(f"{png.relative_to(ROOT)}: {png.stat().st_size / 1024:.0f} KB")


def crop(png: Path, margin: int = 16) -> None:
    """Cut the page's empty space below and right of the content (a screenshot has a fixed window)."""
    from PIL import Image, ImageChops

    img = Image.open(png).convert("RGB")
    box = ImageChops.difference(img, Image.new("RGB", img.size, img.getpixel((img.width - 1, img.height - 1)))).getbbox()
    if box:
        img.crop((0, 0, min(img.width, box[2] + margin), min(img.height, box[3] + margin))).save(png)


def learning_curve(work: Path) -> None:
    out = IMG / "tfgrpo_curve.png"
    run(["harness", "tfgrpo", "train", "--task", "dapo100", "--data", "offline/dapo.jsonl", "--model",
         "testdouble/oracle", "-M", "p_correct=0.5", "--epochs", "3", "--batch-size", "2", "--group-size", "3",
         "--out", "curve.json", "--plot", str(out), "--no-progress"], work)
    shrink(out)


def evals(work: Path) -> list[Path]:
    for name, p in P_CORRECT.items():
        run(["inspect", "eval", "harness/aime", "-T", "data=offline/aime.jsonl", "--model", f"testdouble/{name}",
             "-M", f"p_correct={p}", "--epochs", "32", "--log-dir", "logs"], work)
    return sorted((work / "logs").glob("*.eval"))


def passk(logs: list[Path]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from inspect_ai.log import read_eval_log

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for path in logs:
        log = read_eval_log(str(path), header_only=True)
        points = sorted((int(s.reducer.removeprefix("pass_at_")), 100 * s.metrics["accuracy"].value)
                        for s in log.results.scores if s.reducer and s.reducer.startswith("pass_at_"))
        ks, values = zip(*points)
        ax.plot(ks, values, marker="o", label=f"{log.eval.model} ({log.eval.model_args.get('p_correct')})")
    ax.set_xscale("log", base=2)
    ax.set_xticks([1, 2, 4, 8, 16, 32], labels=["1", "2", "4", "8", "16", "32"])
    ax.set_xlabel("k (epochs = 32)")
    ax.set_ylabel("pass@k (%)")
    ax.set_ylim(0, 105)
    ax.grid(alpha=0.3)
    ax.legend(title="model (p_correct)", loc="lower right")
    ax.set_title("TEST DOUBLE (not a language model): pass@k on 8 AIME-format problems", fontsize=10)
    fig.tight_layout()
    out = IMG / "passk.png"
    fig.savefig(out, dpi=100)
    shrink(out)


def leaderboard(work: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("chromium not found (apt-get install chromium): leaderboard screenshot skipped", file=sys.stderr)
        return
    run(["harness", "leaderboard", "logs", "--out", "board.html"], work)
    out = IMG / "leaderboard.png"
    subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={work / 'chrome'}", "--window-size=1400,1000",
                    f"--screenshot={out}", (work / "board.html").as_uri()],
                   check=True, capture_output=True, timeout=120)
    crop(out)
    shrink(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep", help="work in this folder and keep it (default: a temp folder, removed)")
    args = ap.parse_args()
    IMG.mkdir(parents=True, exist_ok=True)
    work = Path(args.keep or tempfile.mkdtemp(prefix="harness-pictures-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        run(["harness", "offline-data", "offline"], work)
        learning_curve(work)
        logs = evals(work)
        passk(logs)
        leaderboard(work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
