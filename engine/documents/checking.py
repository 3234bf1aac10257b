"""An uploaded template is untrusted input: checked before it is stored, every problem at once.

- a Word document (.docx), not a macro-enabled one (.docm, a `vbaProject` part) and under the size cap;
- zip-bomb safe: the archive's entry count and uncompressed size are bounded before anything is
  unpacked, and each entry's compression ratio too;
- no external references (a relationship with `TargetMode="External"`: remote images, linked
  templates, OLE links would make Word or LibreOffice fetch a URL when the document is opened);
- placeholders only: `{{ name }}` (and `{% if name %}`, `{% for x in name %}`) — no calls, attributes,
  indexes or arithmetic, which the sandbox would refuse at render time anyway — and every name must
  be a field the process provides (an unknown one is a field-level error naming it).
"""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import PurePosixPath

from jinja2 import TemplateSyntaxError, nodes

from engine.errors import Invalid, Problem
from engine.documents import rendering

MAX_BYTES = 2 * 1024 * 1024
MAX_UNPACKED = 20 * 1024 * 1024
MAX_ENTRIES = 500
MAX_RATIO = 100
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
_EXTERNAL = re.compile(rb'TargetMode\s*=\s*["\']External["\']', re.IGNORECASE)
_ALLOWED_NODES = (nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.If, nodes.For,
                  nodes.Not, nodes.And, nodes.Or)
FIELD = "template"


def _problem(message: str, code: str, field: str = FIELD) -> Problem:
    return Problem(message, field=field, code=code)


def _archive_problems(filename: str, data: bytes) -> tuple[list[Problem], zipfile.ZipFile | None]:
    suffix = PurePosixPath((filename or "").lower()).suffix
    if suffix == ".docm" or suffix == ".dotm":
        return [_problem("不接受含宏的文档（.docm），请另存为 .docx", "macro")], None
    if suffix != ".docx":
        return [_problem(f"模板须为 Word 文档（.docx），收到 {suffix or '无扩展名'}", "file_type")], None
    if not data:
        return [_problem("文件为空", "file_empty")], None
    if len(data) > MAX_BYTES:
        return [_problem(f"模板过大（{len(data) / 1048576:.1f} MB），上限 {MAX_BYTES // 1048576} MB", "file_size")], None
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return [_problem("文件不是有效的 .docx（无法解压）", "not_docx")], None
    infos = archive.infolist()
    problems = []
    if len(infos) > MAX_ENTRIES:
        problems.append(_problem(f"文档包含的部件过多（{len(infos)} 个）", "zip_bomb"))
    total = sum(i.file_size for i in infos)
    if total > MAX_UNPACKED or any(i.compress_size and i.file_size / i.compress_size > MAX_RATIO
                                   and i.file_size > 1024 * 1024 for i in infos):
        problems.append(_problem("文档解压后过大，疑似压缩炸弹", "zip_bomb"))
    names = {i.filename for i in infos}
    if problems:
        return problems, None
    if "[Content_Types].xml" not in names or "word/document.xml" not in names:
        return [_problem("文件不是有效的 .docx（缺少 word/document.xml）", "not_docx")], None
    if any("vbaproject" in n.lower() for n in names) or b"macroEnabled" in archive.read("[Content_Types].xml"):
        problems.append(_problem("不接受含宏的文档（vbaProject），请另存为 .docx", "macro"))
    for name in sorted(n for n in names if n.endswith(".rels")):
        if _EXTERNAL.search(archive.read(name)):
            problems.append(_problem(f"文档含外部引用（{name}），请删除链接的图片、模板或对象后再上传", "external_reference"))
            break
    return problems, archive


def _syntax_problems(template: bytes, provided: set[str]) -> list[Problem]:
    from docxtpl import DocxTemplate
    env = rendering.environment()
    doc = DocxTemplate(io.BytesIO(template))
    try:
        doc.init_docx()
        xml = doc.patch_xml(doc.xml_to_string(doc.docx._element.body))
        tree = env.parse(xml)
    except TemplateSyntaxError as exc:
        return [_problem(f"占位符语法错误：{exc.message}", "template_syntax")]
    except Exception:       # noqa: BLE001 - python-docx refuses what is not a document
        return [_problem("文件不是有效的 .docx", "not_docx")]
    problems = []
    for node in tree.find_all(nodes.Node):
        if not isinstance(node, _ALLOWED_NODES):
            problems.append(_problem(f"占位符只能是字段名（如 {{{{ person_name }}}}），不能使用 {type(node).__name__} 表达式",
                                     "template_expression"))
            break
    loop_names = {n.name for f in tree.find_all(nodes.For) for n in f.target.find_all(nodes.Name)}
    for name in sorted(rendering.placeholders(template) - provided - loop_names):
        problems.append(Problem(f"占位符 {{{{ {name} }}}} 不是流程提供的字段", field=f"placeholder:{name}",
                                code="unknown_placeholder"))
    return problems


def check(filename: str, data: bytes, provided: set[str]) -> None:
    """`Invalid` with every problem of an uploaded template, else nothing."""
    problems, archive = _archive_problems(filename, data)
    if archive is not None and not problems:
        problems = _syntax_problems(data, provided)
    if problems:
        raise Invalid(f"模板有 {len(problems)} 处问题，未保存", problems)
