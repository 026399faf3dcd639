"""XML 1.0 cannot carry some characters at all (NULs, the ANSI escapes of tool output, a
control character in a resource's name): no escape helps, so JUnit writers replace them."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

__all__ = ["make_xml_safe"]

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def make_xml_safe(root: ET.Element) -> None:
    """Replace what XML cannot carry with U+FFFD, in every text and attribute under `root`."""
    for element in root.iter():
        if element.text:
            element.text = _NOT_XML.sub("\ufffd", element.text)
        for key, value in element.attrib.items():
            element.set(key, _NOT_XML.sub("\ufffd", value))
