"""Which bureau endpoint serves a taxpayer: per-province URLs keyed on the region code.

Like the real system, each province-level tax authority runs its own service, and the five
cities with their own tax bureau (计划单列市: Dalian, Ningbo, Xiamen, Qingdao, Shenzhen) run theirs.
A taxpayer's 6-digit region code selects the longest matching prefix of the table: ``4403..``
goes to Shenzhen, any other ``44....`` to Guangdong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from appliance.jsonfile import JsonFileError, load_capped

# Prefix of the region code -> (path name used by the simulator, name of the tax authority).
AUTHORITIES: dict[str, tuple[str, str]] = {
    "11": ("beijing", "北京市"),
    "12": ("tianjin", "天津市"),
    "13": ("hebei", "河北省"),
    "14": ("shanxi", "山西省"),
    "15": ("neimenggu", "内蒙古自治区"),
    "21": ("liaoning", "辽宁省"),
    "2102": ("dalian", "大连市"),
    "22": ("jilin", "吉林省"),
    "23": ("heilongjiang", "黑龙江省"),
    "31": ("shanghai", "上海市"),
    "32": ("jiangsu", "江苏省"),
    "33": ("zhejiang", "浙江省"),
    "3302": ("ningbo", "宁波市"),
    "34": ("anhui", "安徽省"),
    "35": ("fujian", "福建省"),
    "3502": ("xiamen", "厦门市"),
    "36": ("jiangxi", "江西省"),
    "37": ("shandong", "山东省"),
    "3702": ("qingdao", "青岛市"),
    "41": ("henan", "河南省"),
    "42": ("hubei", "湖北省"),
    "43": ("hunan", "湖南省"),
    "44": ("guangdong", "广东省"),
    "4403": ("shenzhen", "深圳市"),
    "45": ("guangxi", "广西壮族自治区"),
    "46": ("hainan", "海南省"),
    "50": ("chongqing", "重庆市"),
    "51": ("sichuan", "四川省"),
    "52": ("guizhou", "贵州省"),
    "53": ("yunnan", "云南省"),
    "54": ("xizang", "西藏自治区"),
    "61": ("shaanxi", "陕西省"),
    "62": ("gansu", "甘肃省"),
    "63": ("qinghai", "青海省"),
    "64": ("ningxia", "宁夏回族自治区"),
    "65": ("xinjiang", "新疆维吾尔自治区"),
}

_REGION = re.compile(r"\d{6}")
_PREFIX = re.compile(r"\d{2}(?:\d{2})?")
# An endpoint table lists a few dozen URLs; 64 KiB is far above any real one.
_MAX_TABLE_BYTES = 64 * 1024


class EndpointError(ValueError):
    """No endpoint for a region, or an endpoint table that cannot be used."""


def authority_prefix(region: str) -> str:
    """Return the key of :data:`AUTHORITIES` responsible for a 6-digit region code."""
    if not _REGION.fullmatch(region):
        raise EndpointError(f"region code {region!r} is not 6 digits")
    for prefix in (region[:4], region[:2]):
        if prefix in AUTHORITIES:
            return prefix
    raise EndpointError(f"region code {region} belongs to no known tax authority")


def authority_name(prefix: str) -> str:
    """Return the full name of the tax authority of ``prefix``."""
    return f"国家税务总局{AUTHORITIES[prefix][1]}税务局"


@dataclass(frozen=True)
class EndpointTable:
    """Region-code prefix -> base URL of that authority's service."""

    urls: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for prefix, url in self.urls.items():
            if not _PREFIX.fullmatch(prefix):
                raise EndpointError(f"endpoint key {prefix!r} is not a 2- or 4-digit prefix")
            parts = urlsplit(url)
            if parts.scheme != "https" or not parts.hostname:
                raise EndpointError(f"endpoint {url!r} for {prefix} is not an https URL")

    def url_for(self, region: str) -> str:
        """Return the base URL serving ``region`` (longest matching prefix)."""
        if not _REGION.fullmatch(region):
            raise EndpointError(f"region code {region!r} is not 6 digits")
        for prefix in (region[:4], region[:2]):
            if prefix in self.urls:
                return self.urls[prefix].rstrip("/")
        raise EndpointError(f"no bureau endpoint is configured for region {region}")

    @classmethod
    def from_mapping(cls, data: object) -> EndpointTable:
        """Build from ``{"42": "https://...", ...}``."""
        if not isinstance(data, dict) or not all(
            isinstance(key, str) and isinstance(url, str) for key, url in data.items()
        ):
            raise EndpointError("endpoint table is not a mapping of prefixes to URLs")
        return cls(dict(data))

    @classmethod
    def from_file(cls, path: Path) -> EndpointTable:
        """Load a JSON endpoint table (at most 64 KiB)."""
        try:
            data = load_capped(path, _MAX_TABLE_BYTES, "endpoint table")
        except JsonFileError as exc:
            raise EndpointError(str(exc)) from None
        return cls.from_mapping(data)

    @classmethod
    def per_authority(cls, base_url: str) -> EndpointTable:
        """Return the table of a server hosting every authority under ``base_url/<name>``."""
        base = base_url.rstrip("/")
        return cls({prefix: f"{base}/{name}" for prefix, (name, _) in AUTHORITIES.items()})
