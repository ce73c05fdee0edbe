"""What stored files and verification findings mean, in Chinese and English."""

from __future__ import annotations

from appliance.storage.records import (
    KIND_CLEARING_DATA,
    KIND_IDENTITY,
    KIND_MONITOR,
    KIND_RAW_DEVICE,
    KIND_RECEIPT,
    KIND_SUMMARY,
    Problem,
)

# kind -> (Chinese, English)
KIND_WORDS: dict[str, tuple[str, str]] = {
    KIND_RAW_DEVICE: (
        "税控设备的原始应答数据，未经任何改动",
        "the tax device's answer exactly as it sent it, unaltered",
    ),
    KIND_SUMMARY: (
        "从税控设备读出的本期汇总数据（解析后的字段，金额单位：分）",
        "the period summary read from the tax device (decoded fields, amounts in fen)",
    ),
    KIND_RECEIPT: ("税务局的上报回执", "the tax bureau's receipt of the upload"),
    KIND_CLEARING_DATA: (
        "税务局下发、写入税控设备的清卡数据（反写数据）",
        "the clearing data the tax bureau issued and the box wrote to the device",
    ),
    KIND_MONITOR: ("税控设备的监控数据", "the tax device's monitor data"),
    KIND_IDENTITY: (
        "税控设备和纳税人的身份信息",
        "the identity of the tax device and its taxpayer",
    ),
}
UNKNOWN_KIND = ("其他数据", "other data")

# problem -> (label zh, label en, explanation zh, explanation en)
PROBLEM_WORDS: dict[Problem, tuple[str, str, str, str]] = {
    Problem.MISSING: (
        "缺失",
        "missing",
        "清单中有记录，但文件不存在",
        "listed in the manifest, but the file is gone",
    ),
    Problem.CORRUPT: (
        "损坏",
        "corrupt",
        "文件内容与记录的校验和不符",
        "the file does not match the checksum recorded",
    ),
    # Not "left by an interrupted save": those are pending or temporary files no one is shown.
    # A file the manifest does not list was put there; it is kept for a person to judge.
    Problem.EXTRA: (
        "多余",
        "extra",
        "清单中没有这个文件（不是本机保存的；已保留，请人工查看）",
        "not listed in the manifest (not saved by the box; kept for a person to look at)",
    ),
    Problem.STRAY: (
        "无关条目",
        "stray",
        "不属于任何备份期间（已保留，请人工查看）",
        "not part of any period's backup (kept for a person to look at)",
    ),
    Problem.MANIFEST_MISSING: (
        "清单缺失",
        "manifest missing",
        "本期整体未导出，其文件仍保留在本机",
        "the whole period was left out; its files stay on the box",
    ),
    Problem.MANIFEST_DAMAGED: (
        "清单损坏",
        "manifest damaged",
        "本期整体未导出，其文件仍保留在本机",
        "the whole period was left out; its files stay on the box",
    ),
}


def kind_words(kind: str) -> tuple[str, str]:
    """Return what a stored file of ``kind`` is, in Chinese and English."""
    return KIND_WORDS.get(kind, UNKNOWN_KIND)
