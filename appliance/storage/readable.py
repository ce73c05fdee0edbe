"""A period's parsed summary (the "summary" JSON, amounts in fen) made readable for an accountant.

The JSON is what the clearing job decoded from the device (the fields of ``SUMMARY`` in
``appliance.protocol.commands``). Only the fields below are turned into columns; any other
field is kept as it is under "other fields", and a field that is missing or of an unexpected
type is shown as found, so a newer or older summary never stops an export.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

from appliance.devices.models import TYPE_NAMES

TEXT = "text"
AMOUNT = "amount"  # fen in the JSON, yuan with two decimals in the export
COUNT = "count"
DATE = "date"  # YYYYMMDD int
PERIOD = "period"  # YYYYMM int


@dataclass(frozen=True)
class Column:
    """One column of the readable summary."""

    key: str
    zh: str
    en: str
    form: str

    @property
    def title(self) -> str:
        """Return the heading: Chinese first, English after."""
        return f"{self.zh} / {self.en}"


SOURCE = Column("source", "来源文件", "source file", TEXT)
TYPE_NAME = Column("type_name", "票种名称", "invoice type name", TEXT)
NOTE = Column("note", "说明", "note", TEXT)
OTHER_FIELDS = "其他字段 / other fields"
FIELD_COLUMNS = (
    Column("device_no", "设备编号", "device number", TEXT),
    Column("taxpayer_id", "纳税人识别号", "taxpayer ID", TEXT),
    Column("period", "所属期", "period", PERIOD),
    Column("type", "票种代码", "invoice type", TEXT),
    Column("bsqsrq", "报税起始日期", "report window start", DATE),
    Column("bszzrq", "报税终止日期", "report window end", DATE),
    Column("issued_count", "正数发票份数", "invoices issued", COUNT),
    Column("issued_amount", "正数发票金额（元）", "amount issued (yuan)", AMOUNT),
    Column("issued_tax", "正数发票税额（元）", "tax issued (yuan)", AMOUNT),
    Column("negative_count", "负数发票份数", "red invoices", COUNT),
    Column("negative_amount", "负数发票金额（元）", "red invoice amount (yuan)", AMOUNT),
    Column("negative_tax", "负数发票税额（元）", "red invoice tax (yuan)", AMOUNT),
    Column("void_count", "作废发票份数", "voided invoices", COUNT),
    Column("void_amount", "作废发票金额（元）", "voided amount (yuan)", AMOUNT),
    Column("stock_start", "期初库存份数", "blank invoices at start", COUNT),
    Column("bought", "领购份数", "blank invoices bought", COUNT),
    Column("returned", "退回份数", "blank invoices returned", COUNT),
    Column("stock_end", "期末库存份数", "blank invoices at end", COUNT),
)
# The type's name follows its code, so a reader does not need to know the codes.
COLUMNS = (SOURCE, *FIELD_COLUMNS[:4], TYPE_NAME, *FIELD_COLUMNS[4:], NOTE)
TITLES = tuple(column.title for column in COLUMNS)
KNOWN_KEYS = frozenset(column.key for column in FIELD_COLUMNS)


def yuan(fen: int) -> str:
    """Return an amount in fen as yuan with two decimals, exactly (no floating point)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def format_value(value: Any, form: str) -> str:
    """Return one field as text; a value of an unexpected type is shown as it is."""
    if value is None:
        return ""
    if form == AMOUNT and _is_int(value):
        return yuan(value)
    if form == DATE and _is_int(value):
        if value == 0:
            return ""
        if 10_000_000 <= value <= 99_999_999:
            return f"{value // 10000:04d}-{value // 100 % 100:02d}-{value % 100:02d}"
    if form == PERIOD and _is_int(value) and 100_000 <= value <= 999_999:
        return f"{value // 100:04d}-{value % 100:02d}"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class ReadableSummary:
    """One summary file in readable form."""

    source: str
    values: dict[str, str]  # column key -> text
    other: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    def row(self) -> list[str]:
        """Return the CSV row, in :data:`COLUMNS` order."""
        return [self.values.get(column.key, "") for column in COLUMNS]

    def to_json(self) -> dict[str, Any]:
        """Return the summary keyed by the bilingual column titles."""
        data: dict[str, Any] = {column.title: self.values.get(column.key, "") for column in COLUMNS}
        data[OTHER_FIELDS] = self.other
        return data


def read_summary(source: str, content: bytes) -> ReadableSummary:
    """Return the readable form of one "summary" JSON file."""
    try:
        data = json.loads(content.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        note = f"无法解析 / could not be read: {exc}"
        return ReadableSummary(source, {"source": source, "note": note}, note=note)
    if not isinstance(data, dict):
        note = "不是汇总数据 / not a summary object"
        return ReadableSummary(source, {"source": source, "note": note}, note=note)
    values = {"source": source}
    for column in FIELD_COLUMNS:
        values[column.key] = format_value(data.get(column.key), column.form)
    type_code = data.get("type")
    values["type_name"] = TYPE_NAMES.get(type_code, "") if isinstance(type_code, str) else ""
    other = {key: value for key, value in data.items() if key not in KNOWN_KEYS}
    return ReadableSummary(source, values, other)


def to_csv(summaries: list[tuple[str, int, ReadableSummary]]) -> bytes:
    """Return summaries as CSV for Excel: UTF-8 with a byte-order mark, CRLF line ends."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["设备目录 / device folder", "期间目录 / period folder", *TITLES])
    for device_no, period, summary in summaries:
        writer.writerow([device_no, str(period), *summary.row()])
    # Excel on Windows reads a CSV as the local code page unless it starts with a BOM.
    return out.getvalue().encode("utf-8-sig")


def to_json(device_no: str, period: int, summaries: list[ReadableSummary]) -> bytes:
    """Return one period's summaries as readable JSON (amounts as yuan strings)."""
    data = {
        "device_no": device_no,
        "period": period,
        "unit": "元 / yuan",
        "summaries": [summary.to_json() for summary in summaries],
    }
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
