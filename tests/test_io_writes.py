"""The atomic writers of forecast.io: the file a name promises, nothing left on failure."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest

from forecast import io


def test_a_csv_gz_path_gets_gzip_and_reads_back(tmp_path):
    frame = pd.DataFrame({"unit_id": ["01001", "01003"], "value": [1.5, 2.25]})
    path = io.write_csv(frame, tmp_path / "rows.csv.gz")
    with gzip.open(path, "rt") as f:  # a plain CSV under a .gz name would fail here
        assert f.readline().strip() == "unit_id,value"
    back = pd.read_csv(path, dtype={"unit_id": str})
    pd.testing.assert_frame_equal(back, frame)
    assert [p.name for p in tmp_path.iterdir()] == ["rows.csv.gz"]  # no temporary left


def test_a_failed_write_leaves_no_file_and_no_temporary(tmp_path):
    with pytest.raises(RuntimeError, match="half way"), io.atomic_path(tmp_path / "x.csv") as tmp:
        tmp.write_text("partial")
        raise RuntimeError("half way")
    assert list(tmp_path.iterdir()) == []
