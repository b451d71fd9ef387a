import json

import datasets
import pytest

from data_tools.errors import UserError
from data_tools.schema import make_record, read_records, record_id, write_jsonl_atomic
from data_tools.taxonomy import LLAMA_GUARD3, check_languages, mix_languages


def _rec(lang="de", split="train", **kw):
    return make_record(source_id="gen-1", lang=lang, category="S2", style="Role Play",
                       prompt="Stell dir vor, du bist ...", chosen="Dabei kann ich nicht helfen.",
                       rejected="Sure, here is how ... Step 1: [details omitted]", split=split, **kw)


def test_ids_are_stable_and_content_derived():
    assert _rec()["id"] == _rec()["id"]
    assert _rec()["id"] != _rec(lang="fr")["id"]
    assert record_id(lang="de", source_id="a", prompt="p", chosen="c", rejected="r") != \
        record_id(lang="de", source_id="b", prompt="p", chosen="c", rejected="r")


def test_jsonl_parquet_and_dataset_dir_read_back_the_same(tmp_path):
    records = [_rec(), _rec(lang="lv", split="test", labels={"prompt": {"llama_guard": "unsafe"}})]
    write_jsonl_atomic(tmp_path / "r.jsonl", records)
    assert read_records(tmp_path / "r.jsonl") == records
    ds = datasets.Dataset.from_list([dict(r, labels=json.dumps(r["labels"]), meta=json.dumps(r["meta"]))
                                     for r in records])
    ds.to_parquet(str(tmp_path / "r.parquet"))
    assert read_records(tmp_path / "r.parquet") == records
    datasets.DatasetDict({"train": ds.select([0]), "test": ds.select([1])}).save_to_disk(str(tmp_path / "dd"))
    assert read_records(tmp_path / "dd") == records


@pytest.mark.parametrize("mutate, message", [
    (lambda r: r.pop("chosen"), "missing key 'chosen'"),
    (lambda r: r.update(lang="xx"), "unknown language 'xx'"),
    (lambda r: r.update(split="dev"), "key 'split'"),
    (lambda r: r.update(group="S1/Slang"), "key 'group'"),
    (lambda r: r.update(rejected=[{"role": "assistant", "content": "  "}]), "empty 'assistant' message"),
    (lambda r: r.update(prompt=[{"role": "assistant", "content": "x"}]), "must end with a 'user' message"),
])
def test_bad_records_name_file_line_and_key(tmp_path, mutate, message):
    good, bad = _rec(), _rec(lang="fr")
    mutate(bad)
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(UserError, match=f"r.jsonl:2: .*{message}"):
        read_records(path)


def test_malformed_json_line_and_missing_file(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(_rec()) + "\n{not json\n")
    with pytest.raises(UserError, match=r"r.jsonl:2: malformed JSON"):
        read_records(path)
    with pytest.raises(UserError, match="no such file"):
        read_records(tmp_path / "missing.jsonl")


def test_taxonomy_check_and_duplicate_ids(tmp_path):
    rec = _rec()
    path = tmp_path / "dup.jsonl"
    write_jsonl_atomic(path, [rec, rec])
    with pytest.raises(UserError, match="duplicate record id"):
        read_records(path)
    other = dict(_rec(), category="violence_and_hate", group="violence_and_hate/Role Play")
    write_jsonl_atomic(path, [other])
    with pytest.raises(UserError, match="not in taxonomy 'llama_guard3'"):
        read_records(path, taxonomy=LLAMA_GUARD3)


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "r.jsonl"
    write_jsonl_atomic(path, [_rec()])

    def exploding():
        yield _rec(lang="fr")
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        write_jsonl_atomic(path, exploding())
    assert [r["lang"] for r in read_records(path)] == ["de"]
    assert [p.name for p in tmp_path.iterdir()] == ["r.jsonl"]


def test_mixes_and_language_checks():
    assert len(mix_languages("balanced")) == 12
    assert mix_languages("high_resource") == ("en", "de", "fr", "it", "es", "pt")
    assert mix_languages("high_resource", high_resource=("en", "de")) == ("en", "de")
    assert "en" not in mix_languages("no_en") and len(mix_languages("no_en")) == 11
    assert mix_languages("single:sl") == ("sl",)
    with pytest.raises(UserError, match="unknown mix"):
        mix_languages("everything")
    with pytest.raises(UserError, match="unknown language code 'xx'"):
        check_languages("en,xx")
    assert check_languages("all") == check_languages(list(mix_languages("balanced")))


def test_atomic_writes_get_normal_permissions(tmp_path):
    import os

    old = os.umask(0o022)
    try:
        write_jsonl_atomic(tmp_path / "r.jsonl", [_rec()])
    finally:
        os.umask(old)
    assert (tmp_path / "r.jsonl").stat().st_mode & 0o777 == 0o644
