"""The generation material of one language: category and style names and descriptions, and seed examples.

English material comes straight from the taxonomy and the seeds; other languages come from `material.json`, which
the translate step writes in native mode.
"""

from __future__ import annotations

from data_tools.taxonomy import get_style, get_taxonomy


def english_material(cfg, seeds: list[dict]) -> dict:
    taxonomy = get_taxonomy(cfg.taxonomy)
    categories = {}
    for cid in cfg.category_ids:
        cat = taxonomy.get(cid)
        categories[cid] = {"name": cat.name, "description": cat.description}
    styles = {}
    for name in cfg.style_names:
        style = get_style(name)
        styles[name] = {"name": style.name, "description": style.description}
    return {"categories": categories, "styles": styles,
            "seeds": {s["id"]: s["prompt"] for s in seeds if s["lang"] == "en"}}


def material_texts(english: dict) -> list[tuple[tuple, str]]:
    """Every translatable text of the English material with its address inside the material dict."""
    items = []
    for cid, entry in english["categories"].items():
        items += [(("categories", cid, "name"), entry["name"]), (("categories", cid, "description"), entry["description"])]
    for name, entry in english["styles"].items():
        items += [(("styles", name, "name"), entry["name"]), (("styles", name, "description"), entry["description"])]
    items += [(("seeds", sid), text) for sid, text in english["seeds"].items()]
    return items


def place(material: dict, address: tuple, text: str) -> None:
    node = material
    for key in address[:-1]:
        node = node.setdefault(key, {})
    node[address[-1]] = text
