"""Format the number tokens of report sentences with the report's one formatter, numbers.js,
run by node (the page runs the same file). Tests that need it skip without node."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from forecast.report import text as tx

NUMBERS_JS = Path(tx.__file__).with_name("numbers.js")
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(
    NODE is None, reason="node is not installed (apt-get install nodejs): numbers.js runs in it"
)

SCRIPT = """
const N = require(process.argv[1]);
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const out = {kinds: N.KINDS, texts: {}};
for (const lang of Object.keys(input.words)) {
  const f = N.formatter(input.words[lang]);
  out.texts[lang] = input.texts.map((t) => f.render(t));
}
process.stdout.write(JSON.stringify(out));
"""


def run_numbers_js(texts: list[str], langs=tx.LANGS) -> dict:
    """{kinds: numbers.js's token kinds, texts: {lang: [each text, formatted]}}."""
    words = {lang: {k: tx.ui(lang)[k] for k in ("num", "unit_pp", "unit_km")} for lang in langs}
    res = subprocess.run(
        [NODE, "-e", SCRIPT, str(NUMBERS_JS)],
        input=json.dumps({"words": words, "texts": list(texts)}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def render(texts: list[str], lang: str) -> list[str]:
    """The texts as the page shows them in `lang`."""
    return run_numbers_js(texts, [lang])["texts"][lang]
