"""The three parse modes (HTML, MarkdownV2 and legacy Markdown): source text to plain text
and entities, with the server's error descriptions."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from tests.support.botapi.entities import byte_offset, utf16_len
from tests.support.botapi.errors import ApiError, JSONDict, cant_parse_entities

_HTML_TAGS: Final = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_HTML_ENTITY_TYPES: Final = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}
_HTML_CHAR_REF_RE: Final = re.compile(r"&(?:(lt|gt|amp|quot)|#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_NAMED_CHAR_REFS: Final = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _decode_char_ref(match: re.Match[str]) -> str | None:
    name, decimal, hexadecimal = match.groups()
    if name:
        return _NAMED_CHAR_REFS[name]
    code_point = int(decimal) if decimal else int(hexadecimal, 16)
    if 0 < code_point < 0x110000 and not 0xD800 <= code_point <= 0xDFFF:
        return chr(code_point)
    return None


def _decode_char_refs(text: str) -> str:
    return _HTML_CHAR_REF_RE.sub(lambda m: _decode_char_ref(m) or m.group(), text)


def _parse_html(source: str) -> tuple[str, list[JSONDict]]:
    """Parse Bot API HTML (the subset the server accepts) into plain text and entities."""
    out: list[str] = []
    entities: list[JSONDict] = []
    # Open tags: (name, argument, start offset in UTF-16 units of the output).
    stack: list[tuple[str, str | None, int]] = []
    pre_languages: dict[int, str] = {}
    position = 0
    length = len(source)
    cursor = 0  # output length in UTF-16 units

    def unclosed(start: int) -> ApiError:
        return cant_parse_entities(
            f"Unclosed start tag at byte offset {byte_offset(source, start)}"
        )

    while position < length:
        char = source[position]
        if char == "&":
            match = _HTML_CHAR_REF_RE.match(source, position)
            decoded = _decode_char_ref(match) if match else None
            if match and decoded is not None:
                out.append(decoded)
                cursor += utf16_len(decoded)
                position = match.end()
                continue
        if char != "<":
            out.append(char)
            cursor += utf16_len(char)
            position += 1
            continue

        tag_start = position
        position += 1
        if position < length and source[position] == "/":
            end = position + 1
            while end < length and not source[end].isspace() and source[end] != ">":
                end += 1
            name = source[position + 1 : end].lower()
            while end < length and source[end].isspace():
                end += 1
            offset = byte_offset(source, tag_start)
            if end >= length or source[end] != ">":
                raise cant_parse_entities(f"Unclosed end tag at byte offset {offset}")
            if not stack:
                raise cant_parse_entities(f"Unexpected end tag at byte offset {offset}")
            open_name, argument, start = stack.pop()
            if name and name != open_name:
                raise cant_parse_entities(
                    f'Unmatched end tag at byte offset {offset}, expected "</{open_name}>", '
                    f'found "</{name}>"'
                )
            position = end + 1
            if cursor <= start:
                continue
            entity: JSONDict = {"offset": start, "length": cursor - start}
            if open_name == "code" and stack and stack[-1][0] == "pre" and stack[-1][2] == start:
                if argument:
                    pre_languages[start] = argument
                continue
            if open_name == "a":
                if not argument:
                    continue
                entity.update(type="text_link", url=argument)
            elif open_name == "tg-emoji":
                if not argument or not argument.isdigit():
                    raise cant_parse_entities("Invalid custom emoji identifier specified")
                entity.update(type="custom_emoji", custom_emoji_id=argument)
            elif open_name == "blockquote" and argument:
                entity["type"] = "expandable_blockquote"
            else:
                entity["type"] = _HTML_ENTITY_TYPES[open_name]
            if open_name == "pre" and start in pre_languages:
                entity["language"] = pre_languages.pop(start)
            entities.append(entity)
            continue

        end = position
        while end < length and not source[end].isspace() and source[end] != ">":
            end += 1
        if end >= length:
            raise unclosed(tag_start)
        name = source[position:end].lower()
        if name not in _HTML_TAGS:
            raise cant_parse_entities(
                f'Unsupported start tag "{name}" at byte offset {byte_offset(source, tag_start)}'
            )
        attributes: dict[str, str] = {}
        while True:
            while end < length and source[end].isspace():
                end += 1
            if end >= length:
                raise unclosed(tag_start)
            if source[end] == ">":
                end += 1
                break
            attribute_start = end
            while end < length and not source[end].isspace() and source[end] not in "=>/\"'":
                end += 1
            attribute = source[attribute_start:end].lower()
            if not attribute:
                raise cant_parse_entities(
                    f'Empty attribute name in the tag "{name}" at byte offset '
                    f"{byte_offset(source, tag_start)}"
                )
            while end < length and source[end].isspace():
                end += 1
            if end >= length:
                raise unclosed(tag_start)
            if source[end] != "=":
                attributes[attribute] = ""
                continue
            end += 1
            while end < length and source[end].isspace():
                end += 1
            if end >= length:
                raise unclosed(tag_start)
            if source[end] in "\"'":
                closing = source.find(source[end], end + 1)
                if closing < 0:
                    raise unclosed(tag_start)
                attributes[attribute] = _decode_char_refs(source[end + 1 : closing])
                end = closing + 1
            else:
                value_start = end
                while end < length and (
                    (source[end].isascii() and source[end].isalnum()) or source[end] in ".-"
                ):
                    end += 1
                if end < length and not source[end].isspace() and source[end] != ">":
                    raise cant_parse_entities(
                        f"Unexpected end of name token at byte offset {byte_offset(source, end)}"
                    )
                attributes[attribute] = source[value_start:end]
        argument_value: str | None = None
        if name == "a":
            argument_value = attributes.get("href")
        elif name == "span":
            if attributes.get("class") != "tg-spoiler":
                raise cant_parse_entities(
                    f'Tag "span" must have class "tg-spoiler" at byte offset '
                    f"{byte_offset(source, tag_start)}"
                )
        elif name == "code":
            css_class = attributes.get("class", "")
            if css_class.startswith("language-"):
                argument_value = css_class.removeprefix("language-")
        elif name == "tg-emoji":
            argument_value = attributes.get("emoji-id")
        elif name == "blockquote" and "expandable" in attributes:
            argument_value = "expandable"
        stack.append((name, argument_value, cursor))
        position = end

    if stack:
        raise cant_parse_entities(
            f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"'
        )
    return "".join(out), entities


_MARKDOWN_V2_RESERVED: Final = frozenset("_*[]()~`>#+-=|{}.!")
_MARKDOWN_V2_NAMES: Final = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


def _read_link_target(source: str, position: int) -> tuple[str | None, int]:
    """Read ``(url)`` right after a closing ``]``; returns the URL and the next position."""
    if position >= len(source) or source[position] != "(":
        return None, position
    url: list[str] = []
    index = position + 1
    while index < len(source) and source[index] != ")":
        if source[index] == "\\" and index + 1 < len(source):
            index += 1
        url.append(source[index])
        index += 1
    if index >= len(source):
        return None, position
    return "".join(url), index + 1


def _parse_markdown_v2(source: str) -> tuple[str, list[JSONDict]]:
    """Parse MarkdownV2; unescaped reserved characters are rejected like the server does."""
    out: list[str] = []
    entities: list[JSONDict] = []
    # Open entities: (type, output start in UTF-16 units, byte offset in the source, language).
    stack: list[tuple[str, int, int, str | None]] = []
    cursor = 0
    position = 0
    length = len(source)
    quote_start: int | None = None

    def emit(text: str) -> None:
        nonlocal cursor
        out.append(text)
        cursor += utf16_len(text)

    while position < length:
        char = source[position]
        at_line_start = position == 0 or source[position - 1] == "\n"
        if char == "\\" and position + 1 < length and 0 < ord(source[position + 1]) <= 126:
            emit(source[position + 1])
            position += 2
            continue
        in_code = bool(stack) and stack[-1][0] in ("code", "pre")
        if char == "\n" and quote_start is not None and not source.startswith(">", position + 1):
            if cursor > quote_start:
                entities.append(
                    {"type": "blockquote", "offset": quote_start, "length": cursor - quote_start}
                )
            quote_start = None
        if (in_code and char != "`") or (not in_code and char not in _MARKDOWN_V2_RESERVED):
            emit(char)
            position += 1
            continue

        top = stack[-1][0] if stack else None
        closes = (
            (top == "bold" and char == "*")
            or (top == "italic" and char == "_" and not source.startswith("__", position))
            or (top == "underline" and source.startswith("__", position))
            or (top == "strikethrough" and char == "~")
            or (top == "spoiler" and source.startswith("||", position))
            or (top == "code" and char == "`")
            or (top == "pre" and source.startswith("```", position))
            or (top in ("text_link", "custom_emoji") and char == "]")
        )
        if closes and top is not None:
            kind, start, _, closed_language = stack.pop()
            position += {"underline": 2, "spoiler": 2, "pre": 3}.get(kind, 1)
            entity: JSONDict = {"type": kind, "offset": start, "length": cursor - start}
            if kind in ("text_link", "custom_emoji"):
                target, position = _read_link_target(source, position)
                if target is None:
                    continue
                if kind == "text_link":
                    entity["url"] = target
                else:
                    entity["custom_emoji_id"] = target.rpartition("id=")[2]
            if kind == "pre" and closed_language:
                entity["language"] = closed_language
            if entity["length"] > 0:
                entities.append(entity)
            continue

        offset = byte_offset(source, position)
        if char == ">" and at_line_start:
            if quote_start is None:
                quote_start = cursor
            position += 1
            continue
        kind_and_width: tuple[str, int] | None = None
        if char == "_":
            kind_and_width = (
                ("underline", 2) if source.startswith("__", position) else ("italic", 1)
            )
        elif char == "*":
            kind_and_width = ("bold", 1)
        elif char == "~":
            kind_and_width = ("strikethrough", 1)
        elif char == "|" and source.startswith("||", position):
            kind_and_width = ("spoiler", 2)
        elif char == "[":
            kind_and_width = ("text_link", 1)
        elif char == "!" and source.startswith("![", position):
            kind_and_width = ("custom_emoji", 2)
        elif char == "`":
            kind_and_width = ("pre", 3) if source.startswith("```", position) else ("code", 1)
        if kind_and_width is None:
            raise cant_parse_entities(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        kind, width = kind_and_width
        position += width
        language = None
        if kind == "pre":
            newline = source.find("\n", position)
            header = source[position:newline] if newline >= 0 else ""
            if newline >= 0 and header and not any(c.isspace() or c == "`" for c in header):
                language = header
                position = newline + 1
            elif newline == position:
                position += 1
        stack.append((kind, cursor, offset, language))

    if quote_start is not None and cursor > quote_start:
        entities.append(
            {"type": "blockquote", "offset": quote_start, "length": cursor - quote_start}
        )
    if stack:
        kind, _, offset, language = stack[-1]
        name = "PreCode" if kind == "pre" and language else _MARKDOWN_V2_NAMES[kind]
        raise cant_parse_entities(f"Can't find end of {name} entity at byte offset {offset}")
    return "".join(out), entities


def _parse_markdown(source: str) -> tuple[str, list[JSONDict]]:
    """Parse the legacy Markdown mode (``*bold*``, ``_italic_``, code, pre and links)."""
    out: list[str] = []
    entities: list[JSONDict] = []
    cursor = 0
    position = 0
    length = len(source)
    while position < length:
        char = source[position]
        if char == "\\" and position + 1 < length and source[position + 1] in "_*`[":
            out.append(source[position + 1])
            cursor += 1
            position += 2
            continue
        if char not in "_*`[":
            out.append(char)
            cursor += utf16_len(char)
            position += 1
            continue
        offset = byte_offset(source, position)
        is_pre = source.startswith("```", position)
        closing = "```" if is_pre else ("]" if char == "[" else char)
        content_start = position + len(closing if is_pre else char)
        language: str | None = None
        if is_pre:
            newline = source.find("\n", content_start)
            header = source[content_start:newline] if newline >= 0 else ""
            if newline >= 0 and header and not any(c.isspace() for c in header):
                language = header
                content_start = newline + 1
        content_end = source.find(closing, content_start)
        if content_end < 0:
            raise cant_parse_entities(
                f"Can't find end of the entity starting at byte offset {offset}"
            )
        content = source[content_start:content_end]
        position = content_end + len(closing)
        start = cursor
        out.append(content)
        cursor += utf16_len(content)
        entity: JSONDict = {"offset": start, "length": cursor - start}
        if char == "[":
            target, position = _read_link_target(source, position)
            if target is None:
                continue
            entity.update(type="text_link", url=target)
        elif is_pre:
            entity["type"] = "pre"
            if language:
                entity["language"] = language
        else:
            entity["type"] = {"*": "bold", "_": "italic", "`": "code"}[char]
        if entity["length"] > 0:
            entities.append(entity)
    return "".join(out), entities


PARSERS: Final[dict[str, Callable[[str], tuple[str, list[JSONDict]]]]] = {
    "html": _parse_html,
    "markdownv2": _parse_markdown_v2,
    "markdown": _parse_markdown,
}
