"""Validate a JUnit XML document against ``junit-10-subset.xsd`` (the schema Jenkins' xunit plugin reads).

No XSD library is installed (lxml and xmlschema are not dependencies), so this reads the constructs that
schema uses and checks them: global elements, each element's allowed children (``xs:element ref`` inside
``xs:sequence``/``xs:choice``), its attributes (undeclared ones are refused, ``use="required"`` ones must be
there, ``SUREFIRE_TIME`` values must match its pattern), text only in ``mixed`` or ``xs:string`` elements.
It refuses a schema construct it does not know, so it cannot silently check less than the schema says.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

__all__ = ["SCHEMA", "schema_problems"]

SCHEMA = Path(__file__).with_name("junit-10-subset.xsd")
_XS = "{http://www.w3.org/2001/XMLSchema}"
_KNOWN = {f"{_XS}{t}" for t in ("complexType", "sequence", "choice", "element", "attribute")}


def _load(path: Path) -> tuple[dict[str, dict], dict[str, re.Pattern[str]]]:
    root = ET.parse(path).getroot()
    patterns = {
        simple.get("name"): re.compile(simple.find(f"{_XS}restriction/{_XS}pattern").get("value"))
        for simple in root.findall(f"{_XS}simpleType")
    }
    elements = {}
    for element in root.findall(f"{_XS}element"):
        complex_type = element.find(f"{_XS}complexType")
        if complex_type is None:  # <xs:element name="system-out" type="xs:string"/>
            assert element.get("type") == "xs:string", element.attrib
            elements[element.get("name")] = {"children": set(), "attributes": {}, "text": True}
            continue
        for node in complex_type.iter():
            assert node.tag in _KNOWN, f"unsupported schema construct {node.tag}"
        elements[element.get("name")] = {
            "children": {e.get("ref") for e in complex_type.iter(f"{_XS}element")},
            "attributes": {
                a.get("name"): (a.get("type"), a.get("use") == "required")
                for a in complex_type.findall(f"{_XS}attribute")
            },
            "text": complex_type.get("mixed") == "true",
        }
    return elements, patterns


def schema_problems(document: bytes, schema: Path = SCHEMA) -> list[str]:
    """Every way ``document`` breaks the schema (an empty list: valid)."""
    elements, patterns = _load(schema)
    root = ET.fromstring(document)
    problems: list[str] = []

    def check(node: ET.Element, where: str) -> None:
        spec = elements.get(node.tag)
        if spec is None:
            problems.append(f"{where}: element <{node.tag}> is not declared")
            return
        for name, value in node.attrib.items():
            if name not in spec["attributes"]:
                problems.append(f"{where}: attribute {name!r} is not declared")
            elif (kind := spec["attributes"][name][0]) in patterns and not patterns[kind].fullmatch(value):
                problems.append(f"{where}: {name}={value!r} is not a {kind}")
        for name, (_, required) in spec["attributes"].items():
            if required and name not in node.attrib:
                problems.append(f"{where}: required attribute {name!r} is missing")
        texts = [node.text or "", *(child.tail or "" for child in node)]
        if not spec["text"] and any(t.strip() for t in texts):
            problems.append(f"{where}: text is not allowed in <{node.tag}>")
        for i, child in enumerate(node):
            if child.tag not in spec["children"]:
                problems.append(f"{where}: <{child.tag}> is not allowed in <{node.tag}>")
            else:
                check(child, f"{where}/{child.tag}[{i}]")

    check(root, root.tag)
    return problems
